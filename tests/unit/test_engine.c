/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The mix engine on sessions built in code: latency compensation (a
 * lookahead limiter that does not act, against an inverted dry copy, nulls),
 * sums and pan laws, sends, sidechain alignment, mute/solo, tails, and the
 * same bytes for every thread count. */
#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/engine.h"
#include "lathe/io.h"
#include "lathe/session.h"

static char *const dir = lt_dir;

static const char *path(const char *name)
{
    static char p[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void write_wav(const char *file, int ch, double rate, float **b, long n)
{
    lt_write_wav(file, b, ch, n, rate, LATHE_SAMPLE_FLOAT32);
}

static float **read_all(const char *file, long *n)
{
    lathe_error err;
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(file, &info, &err);
    if (!r) fail_msg("%s", err.msg);
    float **b = lt_alloc(info.channels, info.frames + 1);
    *n = lathe_reader_read(r, b, info.frames, &err);
    lathe_reader_close(r);
    return b;
}

/* ---- building sessions in code ---- */

static lathe_chain_entry entry(const char *proc, const char *const *names, const double *vals,
                               int n, int key)
{
    lathe_chain_entry e;
    memset(&e, 0, sizeof e);
    e.desc = lathe_processor_find(proc);
    assert_non_null(e.desc);
    e.label = (char *)proc;
    e.values = calloc((size_t)e.desc->nparams, sizeof(double));
    for (int i = 0; i < e.desc->nparams; i++) e.values[i] = e.desc->params[i].def;
    for (int i = 0; i < n; i++) {
        int k = lathe_proc_param_index(e.desc, names[i]);
        assert_true(k >= 0);
        e.values[k] = vals[i];
    }
    e.key_node = key;
    return e;
}

static lathe_node track(const char *name, const char *file, int out)
{
    lathe_node n;
    memset(&n, 0, sizeof n);
    n.name = (char *)name;
    n.kind = LATHE_NODE_TRACK;
    n.file = (char *)file;
    n.out = out;
    return n;
}

static lathe_node bus(const char *name, lathe_node_kind kind, int out)
{
    lathe_node n;
    memset(&n, 0, sizeof n);
    n.name = (char *)name;
    n.kind = kind;
    n.out = out;
    return n;
}

static void free_chains(lathe_node *nodes, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < nodes[i].nchain; k++) free(nodes[i].chain[k].values);
}

static lathe_session session(lathe_node *nodes, int n, double rate)
{
    lathe_session s;
    memset(&s, 0, sizeof s);
    s.rate = rate;
    s.tempo_bpm = 120;
    s.beats_per_bar = 4;
    s.range_end_s = -1;
    s.tail_s = 0;
    s.nodes = nodes;
    s.nnodes = n;
    s.master = n - 1;
    return s;
}

static void render(const lathe_session *s, const char *out, int threads, lathe_mix_report *rep)
{
    lathe_error err;
    lathe_mix_options o = {.threads = threads, .sample = LATHE_SAMPLE_FLOAT32, .overwrite = 1, .channels = 2};
    lathe_status st = lathe_mix_render(s, out, &o, rep, &err);
    if (st != LATHE_OK) fail_msg("render: %s", err.msg);
}

/* ---- tests ---- */

static void engine_lookahead_path_nulls_against_inverted_dry_copy(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 48000;
    float **b = lt_alloc(2, n);
    uint64_t seed = 3;
    lt_noise(b[0], n, 0.25, &seed); /* well under the ceiling: the limiter does not act */
    lt_noise(b[1], n, 0.25, &seed);
    write_wav(path("src.wav"), 2, rate, b, n);
    lathe_node nodes[3] = {track("lim", path("src.wav"), 2), track("dry", path("src.wav"), 2),
                           bus("master", LATHE_NODE_MASTER, -1)};
    const char *ln[] = {"lookahead", "ceiling"};
    const double lv[] = {5.0, -1.0};
    lathe_chain_entry ce = entry("limiter", ln, lv, 2, -1);
    nodes[0].chain = &ce, nodes[0].nchain = 1;
    nodes[1].invert = 1;
    lathe_session ses = session(nodes, 3, rate);
    lathe_mix_report rep;
    render(&ses, path("null.wav"), 1, &rep);
    assert_true(rep.latency >= 240); /* 5 ms of lookahead at least */
    long m;
    float **o = read_all(path("null.wav"), &m);
    assert_int_equal(m, n);
    double peak = fmax(lt_peak(o[0], m), lt_peak(o[1], m));
    if (peak != 0.0) fail_msg("residual peak %g (%.1f dBFS), want exact silence", peak, lt_db(peak));
    lathe_mix_report_free(&rep);
    free_chains(nodes, 3);
    lt_free(o, 2);
    lt_free(b, 2);
}

static void engine_sums_mono_tracks_with_the_pan_law(void **s)
{
    (void)s;
    const double rate = 44100;
    const long n = 44100;
    float **b = lt_alloc(1, n);
    lt_sine(b[0], n, rate, 1000, 0.5, 0);
    write_wav(path("mono.wav"), 1, rate, b, n);
    lathe_node nodes[3] = {track("c", path("mono.wav"), 2), track("l", path("mono.wav"), 2),
                           bus("master", LATHE_NODE_MASTER, -1)};
    nodes[0].pan = 0, nodes[1].pan = -100, nodes[1].gain_db = -6;
    lathe_session ses = session(nodes, 3, rate);
    render(&ses, path("pan.wav"), 2, NULL);
    long m;
    float **o = read_all(path("pan.wav"), &m);
    /* L = 0.5 (0.7071 + 0.5012), R = 0.5 * 0.7071 */
    double l = lt_tone_amp(o[0] + 1000, m - 2000, rate, 1000, NULL);
    double r = lt_tone_amp(o[1] + 1000, m - 2000, rate, 1000, NULL);
    assert_true(fabs(l - 0.5 * (M_SQRT1_2 + pow(10, -6 / 20.0))) < 1e-5);
    assert_true(fabs(r - 0.5 * M_SQRT1_2) < 1e-5);
    lt_free(o, 2);
    lt_free(b, 1);
}

static void engine_sends_pre_and_post_fader_and_mute(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 24000;
    float **b = lt_alloc(2, n);
    lt_sine(b[0], n, rate, 500, 0.5, 0);
    lt_sine(b[1], n, rate, 500, 0.5, 0);
    write_wav(path("st.wav"), 2, rate, b, n);
    /* track (fader -inf) -> master; pre-fader send -6 dB to fx; fx -> master */
    lathe_node nodes[3] = {track("t", path("st.wav"), 2), bus("fx", LATHE_NODE_BUS, 2),
                           bus("master", LATHE_NODE_MASTER, -1)};
    lathe_send snd = {1, -6.0, 1, 0, 0};
    nodes[0].sends = &snd, nodes[0].nsends = 1;
    nodes[0].gain_db = -INFINITY;
    lathe_session ses = session(nodes, 3, rate);
    render(&ses, path("send.wav"), 1, NULL);
    long m;
    float **o = read_all(path("send.wav"), &m);
    double a = lt_tone_amp(o[0] + 100, m - 200, rate, 500, NULL);
    assert_true(fabs(lt_db(a / 0.5) - (-6.0)) < 0.001);
    lt_free(o, 2);
    /* post-fader: the -inf fader silences the send */
    snd.pre_fader = 0;
    render(&ses, path("send2.wav"), 1, NULL);
    o = read_all(path("send2.wav"), &m);
    assert_true(lt_peak(o[0], m) == 0.0);
    lt_free(o, 2);
    /* mute kills pre-fader sends too */
    snd.pre_fader = 1, nodes[0].mute = 1;
    render(&ses, path("send3.wav"), 1, NULL);
    o = read_all(path("send3.wav"), &m);
    assert_true(lt_peak(o[0], m) == 0.0);
    lt_free(o, 2);
    lt_free(b, 2);
}

static void engine_output_is_identical_for_every_thread_count(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 3 * 48000;
    lathe_node nodes[8];
    char names[6][16], files[6][64];
    uint64_t seed = 11;
    for (int t = 0; t < 6; t++) {
        float **b = lt_alloc(2, n);
        lt_noise(b[0], n, 0.3, &seed), lt_noise(b[1], n, 0.3, &seed);
        snprintf(names[t], sizeof names[t], "t%d", t);
        snprintf(files[t], sizeof files[t], "n%d.wav", t);
        write_wav(path(files[t]), 2, rate, b, n);
        lt_free(b, 2);
    }
    lathe_chain_entry chains[6][2];
    const char *cn[] = {"threshold", "ratio"};
    const double cv[] = {-20, 4};
    const char *en[] = {"band1.type", "band1.freq", "band1.gain"};
    const double ev[] = {1, 800, 4};
    for (int t = 0; t < 6; t++) {
        nodes[t] = track(names[t], strdup(path(files[t])), t < 3 ? 6 : 7);
        chains[t][0] = entry("eq", en, ev, 3, -1);
        chains[t][1] = entry("compressor", cn, cv, 2, t == 4 ? 0 : -1); /* t4 keyed by t0 */
        nodes[t].chain = chains[t], nodes[t].nchain = 2;
        nodes[t].pan = -50 + 20 * t;
    }
    nodes[6] = bus("drums", LATHE_NODE_BUS, 7);
    lathe_chain_entry lim = entry("limiter", NULL, NULL, 0, -1);
    nodes[7] = bus("master", LATHE_NODE_MASTER, -1);
    nodes[7].chain = &lim, nodes[7].nchain = 1;
    lathe_session ses = session(nodes, 8, rate);
    render(&ses, path("th1.wav"), 1, NULL);
    render(&ses, path("th2.wav"), 2, NULL);
    render(&ses, path("th4.wav"), 4, NULL);
    long m1, m2, m4;
    float **a = read_all(path("th1.wav"), &m1), **b2 = read_all(path("th2.wav"), &m2),
          **b4 = read_all(path("th4.wav"), &m4);
    assert_int_equal(m1, m2);
    assert_int_equal(m1, m4);
    for (int c = 0; c < 2; c++) {
        assert_memory_equal(a[c], b2[c], (size_t)m1 * sizeof(float));
        assert_memory_equal(a[c], b4[c], (size_t)m1 * sizeof(float));
    }
    assert_true(lt_peak(a[0], m1) > 0.1);
    lt_free(a, 2), lt_free(b2, 2), lt_free(b4, 2);
    for (int t = 0; t < 6; t++) free(nodes[t].file);
    free_chains(nodes, 8);
}

/* A render's first steps have more items each (a level more of a line of
 * buses, then the sink): a worker late from one step, looking for another
 * item, once found the next step's list growing and took an item of it
 * before the step began. The writer then ran twice on one block (a file
 * 32 KB too long) or on two threads at once (a crash in the FLAC encoder),
 * in about 3 % of the masters of a 4-second file. Many short renders of a
 * line of cheap buses, with eight threads on fewer cores (so that
 * workers are often preempted late), must all equal the one-thread file;
 * before the fix, two of three runs had 2 to 4 renders that differed. */
static void engine_steps_never_run_an_item_twice(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 48000;
    float **b = lt_alloc(1, n);
    uint64_t seed = 5;
    lt_noise(b[0], n, 0.1, &seed);
    write_wav(path("one.wav"), 1, rate, b, n);
    lt_free(b, 1);
    enum { LINE = 6 };
    lathe_node nodes[LINE + 2];
    char names[LINE][8];
    nodes[0] = track("one", strdup(path("one.wav")), 1);
    for (int i = 1; i <= LINE; i++) {
        snprintf(names[i - 1], sizeof names[i - 1], "b%d", i);
        nodes[i] = bus(names[i - 1], LATHE_NODE_BUS, i + 1);
        nodes[i].gain_db = -0.5;
    }
    nodes[LINE + 1] = bus("master", LATHE_NODE_MASTER, -1);
    lathe_session ses = session(nodes, LINE + 2, rate);
    render(&ses, path("st1.wav"), 1, NULL);
    long m1;
    float **a = read_all(path("st1.wav"), &m1);
    assert_int_equal(m1, n);
    int bad = 0;
#if defined(__SANITIZE_THREAD__)
    const int renders = 20; /* TSan reports the unordered accesses themselves, in any render */
#else
    const int renders = lt_sanitized() ? 300 : 600; /* ASan: 36 s for 600 under CI load */
#endif
    for (int r = 0; r < renders; r++) {
        render(&ses, path("st2.wav"), 8, NULL);
        long m2;
        float **x = read_all(path("st2.wav"), &m2);
        int same = m2 == m1;
        for (int c = 0; c < 2 && same; c++) same = memcmp(a[c], x[c], (size_t)m1 * sizeof(float)) == 0;
        if (!same) print_message("  render %d: %ld frames, differs from the one-thread file\n", r, m2);
        bad += !same;
        lt_free(x, 2);
    }
    lt_free(a, 2);
    free(nodes[0].file);
    assert_int_equal(bad, 0);
}

static void engine_renders_reverb_tail_until_it_decays(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 4800; /* a 0.1 s burst */
    float **b = lt_alloc(2, n);
    uint64_t seed = 5;
    lt_noise(b[0], n, 0.5, &seed), lt_noise(b[1], n, 0.5, &seed);
    write_wav(path("burst.wav"), 2, rate, b, n);
    lathe_node nodes[2] = {track("b", path("burst.wav"), 1), bus("master", LATHE_NODE_MASTER, -1)};
    const char *rn[] = {"decay", "mix"};
    const double rv[] = {1.0, 100};
    lathe_chain_entry rev = entry("reverb", rn, rv, 2, -1);
    nodes[0].chain = &rev, nodes[0].nchain = 1;
    lathe_session ses = session(nodes, 2, rate);
    ses.tail_s = -1; /* auto */
    lathe_mix_report rep;
    render(&ses, path("tail.wav"), 1, &rep);
    /* RT60 1 s: -90 dB takes about 1.5 s after the burst */
    if (!(rep.tail_s > 1.0 && rep.tail_s < 3.5)) fail_msg("tail %.2f s", rep.tail_s);
    long m;
    float **o = read_all(path("tail.wav"), &m);
    double last = fmax(lt_peak(o[0] + m - 4800, 4800), lt_peak(o[1] + m - 4800, 4800));
    if (last > 1e-4) fail_msg("the last 100 ms peak at %.1f dBFS", lt_db(last));
    lathe_mix_report_free(&rep);
    free_chains(nodes, 2);
    lt_free(o, 2);
    lt_free(b, 2);
}

static void engine_resamples_tracks_at_other_rates(void **s)
{
    (void)s;
    const long n = 44100;
    float **b = lt_alloc(1, n);
    lt_sine(b[0], n, 44100, 1000, 0.5, 0);
    write_wav(path("r441.wav"), 1, 44100, b, n);
    lathe_node nodes[2] = {track("a", path("r441.wav"), 1), bus("master", LATHE_NODE_MASTER, -1)};
    lathe_session ses = session(nodes, 2, 48000);
    render(&ses, path("r48.wav"), 1, NULL);
    long m;
    float **o = read_all(path("r48.wav"), &m);
    assert_true(labs(m - 48000) <= 1);
    double a = lt_tone_amp(o[0] + 4800, 38400, 48000, 1000, NULL);
    assert_true(fabs(a - 0.5 * M_SQRT1_2) < 1e-3);
    lt_free(o, 2);
    lt_free(b, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(engine_lookahead_path_nulls_against_inverted_dry_copy),
        cmocka_unit_test(engine_sums_mono_tracks_with_the_pan_law),
        cmocka_unit_test(engine_sends_pre_and_post_fader_and_mute),
        cmocka_unit_test(engine_output_is_identical_for_every_thread_count),
        cmocka_unit_test(engine_steps_never_run_an_item_twice),
        cmocka_unit_test(engine_renders_reverb_tail_until_it_decays),
        cmocka_unit_test(engine_resamples_tracks_at_other_rates),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
