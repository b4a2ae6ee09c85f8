/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The session loader: the schema example resolved to indices and units, and
 * every diagnostic with its exact text and line:column. */
#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lathe/io.h"
#include "lathe/param.h"
#include "lathe/session.h"

static char tmp[256], oldcwd[1024];
static lathe_diags D;

/* A short mono or stereo file of silence. */
static void make_stem(const char *path, int channels, double rate) {
    lathe_writer_spec spec = {LATHE_FILE_AUTO, LATHE_SAMPLE_PCM16, rate, channels, 1};
    lathe_error err = {0};
    lathe_writer *w = lathe_writer_open(path, &spec, &err);
    if (!w) fail_msg("%s", err.msg);
    float buf[2][480] = {{0}};
    const float *in[2] = {buf[0], buf[1]};
    assert_int_equal(lathe_writer_write(w, in, 480, &err), LATHE_OK);
    assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);
}

/* Each test runs in a fresh folder holding stems/. */
static int setup(void **s) {
    (void)s;
    if (!getcwd(oldcwd, sizeof oldcwd)) return -1;
    lt_tmpdir(tmp, sizeof tmp);
    if (chdir(tmp) != 0) return -1;
    mkdir("stems", 0755);
    mkdir("sub", 0755);
    mkdir("sub/stems", 0755);
    make_stem("stems/kick.wav", 1, 44100);
    make_stem("stems/bass.wav", 1, 44100);
    make_stem("stems/vocal.wav", 2, 44100);
    make_stem("stems/kick.flac", 1, 44100);
    make_stem("sub/stems/kick.wav", 1, 44100);
    return 0;
}

static int teardown(void **s) {
    (void)s;
    if (chdir(oldcwd) != 0) return -1;
    lt_rmdir(tmp);
    return 0;
}

static lathe_session *parse(const char *text) {
    return lathe_session_parse(text, strlen(text), "session.yaml", &D);
}

static void print_diags(void) {
    char buf[700];
    for (int i = 0; i < D.count; i++)
        print_message("  %s\n", lathe_diag_format(&D, i, buf, sizeof buf));
}

static lathe_session *parse_ok(const char *text) {
    lathe_session *s = parse(text);
    if (!s || D.count) {
        print_diags();
        fail_msg("expected the session to load, got %d diagnostics", D.count);
    }
    return s;
}

/* The text must fail with exactly these diagnostics, in this order. */
static void expect(const char *text, const char *const *want, int n) {
    lathe_session *s = parse(text);
    char buf[700];
    int bad = s != NULL || D.count != n;
    for (int i = 0; !bad && i < n; i++)
        bad = strcmp(lathe_diag_format(&D, i, buf, sizeof buf), want[i]) != 0;
    if (bad) {
        print_message("got %d (want %d):\n", D.count, n);
        print_diags();
        for (int i = 0; i < n; i++)
            print_message("want %s\n", want[i]);
        lathe_session_free(s);
        lathe_diags_free(&D);
        fail_msg("diagnostics differ");
    }
    lathe_diags_free(&D);
}

#define EXPECT1(text, msg)                                                                         \
    do {                                                                                           \
        const char *const w_[] = {msg};                                                            \
        expect(text, w_, 1);                                                                       \
    } while (0)

static int pidx(const lathe_chain_entry *ce, const char *name) {
    int i = lathe_proc_param_index(ce->desc, name);
    if (i < 0) fail_msg("%s has no param %s", ce->desc->name, name);
    return i;
}

static double val(const lathe_chain_entry *ce, const char *name) {
    return ce->values[pidx(ce, name)];
}

static double choice(const lathe_chain_entry *ce, const char *name, const char *option) {
    const lathe_param_desc *p = &ce->desc->params[pidx(ce, name)];
    for (int i = 0; p->choices[i]; i++)
        if (strcmp(p->choices[i], option) == 0) return i;
    fail_msg("no choice %s", option);
    return -1;
}

/* The schema example, completed with the `vocal` track its automation names
 * and with the sidechained compressor on a `bass` track (keyed by the kick):
 * in the schema it sits on the kick itself, keyed by the kick, which is a
 * cycle (see session_schema_example_verbatim_reports_self_key_and_vocal). */
static const char *const EXAMPLE =
    "lathe: 1\n"
    "rate: 48000\n"
    "tempo: 128\n"
    "meter: 4/4\n"
    "range: { start: 0:00, end: 1:30 }\n"
    "tail: auto\n"
    "tracks:\n"
    "  - name: kick\n"
    "    file: stems/kick.wav\n"
    "    start: 0\n"
    "    gain: -3 dB\n"
    "    pan: -10 %\n"
    "    mute: false\n"
    "    solo: false\n"
    "    invert: false\n"
    "    chain:\n"
    "      - eq: { bands: [ { type: highpass, freq: 30 Hz }, { type: bell, freq: 60 Hz, gain: 2 "
    "dB, q: 1 } ] }\n"
    "      - compressor: { threshold: -18 dB, ratio: 4, attack: 10 ms, release: 120 ms }\n"
    "      - gate: { threshold: -50 dB, bypass: true }\n"
    "    sends: { plate: -12 dB }\n"
    "    out: drums\n"
    "  - name: bass\n"
    "    file: stems/bass.wav\n"
    "    start: 2|1\n"
    "    chain:\n"
    "      - compressor: { threshold: -24 dB, ratio: 6, key: kick }\n"
    "    sends: [ { to: plate, level: -12 dB, pre: true } ]\n"
    "    out: drums\n"
    "  - name: vocal\n"
    "    file: stems/vocal.wav\n"
    "    start: 1:02.5\n"
    "    chain:\n"
    "      - eq: { bands: [ { type: lowshelf, freq: 200 Hz }, { type: bell, freq: 3 kHz } ] }\n"
    "      - compressor: { ratio: 3 }\n"
    "      - eq: { output: -1 dB }\n"
    "buses:\n"
    "  - name: drums\n"
    "    chain: [ { compressor: { ratio: 2, threshold: -12 dB } } ]\n"
    "    gain: 0 dB\n"
    "    pan: 0 %\n"
    "    out: master\n"
    "    sends: { plate: -20 dB }\n"
    "  - { name: plate, chain: [ { reverb: { decay: 1.8 s, predelay: 20 ms, mix: 100 % } } ] }\n"
    "master:\n"
    "  gain: 0 dB\n"
    "  chain: [ { limiter: { ceiling: -1 dB } } ]\n"
    "automation:\n"
    "  - target: vocal.gain\n"
    "    curve: linear\n"
    "    points: [ [0:00, -inf dB], [0:02, 0 dB], [1:30, 0 dB, smooth], [1:34, -6 dB] ]\n"
    "  - target: vocal.eq.band2.gain\n"
    "    points: [ [16|1, 0 dB], [24|1, 3 dB] ]\n"
    "  - target: vocal.eq#2.output\n"
    "    curve: hold\n"
    "    points: [ [0, -1 dB], [10 s, -2 dB] ]\n"
    "  - target: kick.send.plate\n"
    "    points: [ [0, -12 dB] ]\n"
    "  - target: bass.compressor.threshold\n"
    "    curve: exp\n"
    "    points: [ [0, -24 dB], [500 ms, -30 dB] ]\n";

static void session_schema_example_resolves_indices_units_sends_keys(void **st) {
    (void)st;
    lathe_session *s = parse_ok(EXAMPLE);
    assert_int_equal(s->nnodes, 6);
    const char *names[] = {"kick", "bass", "vocal", "drums", "plate", "master"};
    const lathe_node_kind kinds[] = {LATHE_NODE_TRACK, LATHE_NODE_TRACK, LATHE_NODE_TRACK,
                                     LATHE_NODE_BUS,   LATHE_NODE_BUS,   LATHE_NODE_MASTER};
    for (int i = 0; i < 6; i++) {
        assert_string_equal(s->nodes[i].name, names[i]);
        assert_int_equal(s->nodes[i].kind, kinds[i]);
    }
    assert_int_equal(s->master, 5);
    assert_float_equal(s->rate, 48000, 0);
    assert_float_equal(s->tempo_bpm, 128, 0);
    assert_int_equal(s->beats_per_bar, 4);
    assert_float_equal(s->range_start_s, 0, 0);
    assert_float_equal(s->range_end_s, 90, 1e-12);
    assert_true(s->tail_s < 0);

    const lathe_node *kick = &s->nodes[0], *bass = &s->nodes[1], *vocal = &s->nodes[2];
    const lathe_node *drums = &s->nodes[3], *plate = &s->nodes[4], *master = &s->nodes[5];
    assert_string_equal(kick->file, "stems/kick.wav");
    assert_float_equal(kick->start_s, 0, 0);
    assert_float_equal(kick->gain_db, -3, 0);
    assert_float_equal(kick->pan, -10, 0);
    assert_int_equal(kick->mute + kick->solo + kick->invert, 0);
    assert_int_equal(kick->out, 3);
    assert_int_equal(kick->line, 8);
    assert_int_equal(kick->col, 5);
    /* bass starts at bar 2 at 128 bpm 4/4: 4 beats of 60/128 s */
    assert_float_equal(bass->start_s, 4 * 60.0 / 128, 1e-12);
    assert_float_equal(vocal->start_s, 62.5, 1e-12);
    assert_int_equal(vocal->out, 5); /* default: the master */
    assert_int_equal(drums->out, 5);
    assert_int_equal(plate->out, 5);
    assert_int_equal(master->out, -1);

    /* kick chain: eq (two bands), compressor, gate (bypassed) */
    assert_int_equal(kick->nchain, 3);
    const lathe_chain_entry *eq = &kick->chain[0];
    assert_string_equal(eq->desc->name, "eq");
    assert_string_equal(eq->label, "eq");
    assert_float_equal(val(eq, "band1.type"), choice(eq, "band1.type", "highpass"), 0);
    assert_float_equal(val(eq, "band1.freq"), 30, 0);
    assert_float_equal(val(eq, "band2.type"), choice(eq, "band2.type", "bell"), 0);
    assert_float_equal(val(eq, "band2.freq"), 60, 0);
    assert_float_equal(val(eq, "band2.gain"), 2, 0);
    assert_float_equal(val(eq, "band2.q"), 1, 0);
    /* untouched params keep the descriptor defaults */
    int q3 = pidx(eq, "band3.q"), out = pidx(eq, "output");
    assert_float_equal(eq->values[q3], eq->desc->params[q3].def, 0);
    assert_float_equal(eq->values[out], eq->desc->params[out].def, 0);
    const lathe_chain_entry *comp = &kick->chain[1];
    assert_float_equal(val(comp, "threshold"), -18, 0);
    assert_float_equal(val(comp, "ratio"), 4, 0);
    assert_float_equal(val(comp, "attack"), 10, 0);
    assert_float_equal(val(comp, "release"), 120, 0);
    assert_int_equal(comp->key_node, -1);
    assert_int_equal(comp->bypass, 0);
    assert_int_equal(comp->line, 18);
    assert_int_equal(comp->col, 9);
    assert_string_equal(kick->chain[2].label, "gate");
    assert_int_equal(kick->chain[2].bypass, 1);
    assert_float_equal(val(&kick->chain[2], "threshold"), -50, 0);

    /* sends: short form (post-fader) and long form (pre) */
    assert_int_equal(kick->nsends, 1);
    assert_int_equal(kick->sends[0].dest, 4);
    assert_float_equal(kick->sends[0].level_db, -12, 0);
    assert_int_equal(kick->sends[0].pre_fader, 0);
    assert_int_equal(bass->nsends, 1);
    assert_int_equal(bass->sends[0].dest, 4);
    assert_int_equal(bass->sends[0].pre_fader, 1);
    assert_int_equal(drums->nsends, 1);
    assert_float_equal(drums->sends[0].level_db, -20, 0);

    /* sidechain key: bass's compressor is keyed by the kick */
    assert_int_equal(bass->chain[0].key_node, 0);
    assert_float_equal(val(&bass->chain[0], "ratio"), 6, 0);

    /* labels for repeated processors */
    assert_int_equal(vocal->nchain, 3);
    assert_string_equal(vocal->chain[0].label, "eq");
    assert_string_equal(vocal->chain[1].label, "compressor");
    assert_string_equal(vocal->chain[2].label, "eq#2");
    assert_float_equal(val(&vocal->chain[2], "output"), -1, 0);

    assert_float_equal(val(&drums->chain[0], "ratio"), 2, 0);
    assert_float_equal(val(&plate->chain[0], "decay"), 1.8, 0);
    assert_float_equal(val(&plate->chain[0], "predelay"), 20, 0);
    assert_float_equal(val(&plate->chain[0], "mix"), 100, 0);
    assert_float_equal(val(&master->chain[0], "ceiling"), -1, 0);

    /* automation lanes, in file order */
    assert_int_equal(s->nautos, 5);
    const lathe_automation *a = &s->autos[0];
    assert_string_equal(a->text, "vocal.gain");
    assert_int_equal(a->node, 2);
    assert_int_equal(a->kind, LATHE_TARGET_NODE_GAIN);
    assert_int_equal(a->npoints, 4);
    assert_true(isinf(a->points[0].value) && a->points[0].value < 0);
    assert_float_equal(a->points[1].time_s, 2, 0);
    assert_float_equal(a->points[2].time_s, 90, 0);
    assert_float_equal(a->points[3].time_s, 94, 0);
    assert_float_equal(a->points[3].value, -6, 0);
    assert_int_equal(a->points[0].curve, LATHE_CURVE_LINEAR);
    assert_int_equal(a->points[2].curve, LATHE_CURVE_SMOOTH);
    assert_int_equal(a->line, 48);
    assert_int_equal(a->col, 13);

    a = &s->autos[1];
    assert_int_equal(a->kind, LATHE_TARGET_PROC_PARAM);
    assert_int_equal(a->node, 2);
    assert_int_equal(a->index, 0);
    assert_string_equal(vocal->chain[0].desc->params[a->param].name, "band2.gain");
    /* 16|1 and 24|1 at 128 bpm 4/4: 60 and 92 beats */
    assert_float_equal(a->points[0].time_s, 60 * 60.0 / 128, 1e-12);
    assert_float_equal(a->points[1].time_s, 92 * 60.0 / 128, 1e-12);
    assert_float_equal(a->points[1].value, 3, 0);

    a = &s->autos[2];
    assert_int_equal(a->index, 2); /* eq#2 is the third entry */
    assert_string_equal(vocal->chain[2].desc->params[a->param].name, "output");
    assert_int_equal(a->points[0].curve, LATHE_CURVE_HOLD);

    a = &s->autos[3];
    assert_int_equal(a->kind, LATHE_TARGET_SEND);
    assert_int_equal(a->node, 0);
    assert_int_equal(a->index, 0);

    a = &s->autos[4];
    assert_int_equal(a->node, 1);
    assert_int_equal(a->points[0].curve, LATHE_CURVE_EXP);
    assert_float_equal(a->points[1].time_s, 0.5, 1e-15);

    lathe_session_free(s);
    lathe_diags_free(&D);
}

static void session_schema_example_verbatim_reports_self_key_and_vocal(void **st) {
    (void)st;
    /* The schema's text as given (stems/kick.flac exists in the test folder). */
    const char *text =
        "lathe: 1                 # format version (required)\n"
        "rate: 48000\n"
        "tempo: 128\n"
        "meter: 4/4\n"
        "range: { start: 0:00, end: 1:30 }\n"
        "tail: auto\n"
        "tracks:\n"
        "  - name: kick\n"
        "    file: stems/kick.flac\n"
        "    start: 0\n"
        "    gain: -3 dB\n"
        "    pan: -10 %\n"
        "    mute: false\n"
        "    solo: false\n"
        "    invert: false\n"
        "    chain:\n"
        "      - eq: { bands: [ { type: highpass, freq: 30 Hz }, { type: bell, freq: 60 Hz, gain: "
        "2 dB, q: 1 } ] }\n"
        "      - compressor: { threshold: -18 dB, ratio: 4, attack: 10 ms, release: 120 ms }\n"
        "      - compressor: { threshold: -24 dB, ratio: 6, key: kick }   # key: sidechain source\n"
        "      - gate: { threshold: -50 dB, bypass: true }\n"
        "    sends: { plate: -12 dB }\n"
        "    # long form: sends: [ { to: plate, level: -12 dB, pre: true } ]\n"
        "    out: drums\n"
        "buses:\n"
        "  - name: drums\n"
        "    chain: [ { compressor: { ratio: 2, threshold: -12 dB } } ]\n"
        "    gain: 0 dB\n"
        "    pan: 0 %\n"
        "    out: master\n"
        "    sends: { plate: -20 dB }\n"
        "  - { name: plate, chain: [ { reverb: { decay: 1.8 s, predelay: 20 ms, mix: 100 % } } ] "
        "}\n"
        "master:\n"
        "  gain: 0 dB\n"
        "  chain: [ { limiter: { ceiling: -1 dB } } ]\n"
        "automation:\n"
        "  - target: vocal.gain\n"
        "    curve: linear\n"
        "    points: [ [0:00, -inf dB], [0:02, 0 dB], [1:30, 0 dB, smooth], [1:34, -6 dB] ]\n"
        "  - target: vocal.eq.band2.gain\n"
        "    points: [ [16|1, 0 dB], [24|1, 3 dB] ]\n";
    const char *const want[] = {
        "session.yaml:19:57: compressor#2: the sidechain key 'kick' is this track itself (a key "
        "must come from another track or bus)",
        "session.yaml:36:13: automation target 'vocal.gain': no track or bus named 'vocal'",
        "session.yaml:39:13: automation target 'vocal.eq.band2.gain': no track or bus named "
        "'vocal'",
    };
    expect(text, want, 3);
}

static void session_paths_resolve_from_the_session_folder(void **st) {
    (void)st;
    const char *text = "lathe: 1\ntracks:\n  - { name: kick, file: stems/kick.wav }\n";
    lathe_session *s = lathe_session_parse(text, strlen(text), "sub/session.yaml", &D);
    if (!s) print_diags();
    assert_non_null(s);
    assert_string_equal(s->nodes[0].file, "sub/stems/kick.wav");
    assert_string_equal(s->dir, "sub");
    /* rate defaults to the first track's */
    assert_float_equal(s->rate, 44100, 0);
    assert_float_equal(s->tempo_bpm, 120, 0);
    assert_int_equal(s->nnodes, 2);
    assert_int_equal(s->nodes[0].out, 1);
    lathe_session_free(s);
    lathe_diags_free(&D);

    /* the same through lathe_session_load, from a file, with an absolute path */
    char path[600];
    snprintf(path, sizeof path, "%s/sub/session.yaml", tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    s = lathe_session_load(path, &D);
    if (!s) print_diags();
    assert_non_null(s);
    char want[700];
    snprintf(want, sizeof want, "%s/sub/stems/kick.wav", tmp);
    assert_string_equal(s->nodes[0].file, want);
    lathe_session_free(s);
    lathe_diags_free(&D);

    /* text params (convolve's ir) are paths resolved the same way, and checked */
    const char *conv =
        "lathe: 1\nbuses:\n  - { name: room, chain: [ { convolve: { ir: stems/kick.wav } } ] }\n";
    s = lathe_session_parse(conv, strlen(conv), "sub/session.yaml", &D);
    if (!s) print_diags();
    assert_non_null(s);
    const lathe_chain_entry *ce = &s->nodes[0].chain[0];
    assert_string_equal(ce->strings[lathe_proc_param_index(ce->desc, "ir")], "sub/stems/kick.wav");
    lathe_session_free(s);
    lathe_diags_free(&D);
    EXPECT1(
        "lathe: 1\nbuses:\n  - { name: room, chain: [ { convolve: { ir: stems/none.wav } } ] }\n",
        "session.yaml:3:46: convolve: ir: stems/none.wav: no such file");
}

/* ---- one test per diagnostic ---- */

#define HEAD "lathe: 1\ntracks:\n  - name: kick\n    file: stems/kick.wav\n"

static void session_diag_yaml_syntax_error_at_libyaml_mark(void **st) {
    (void)st;
    EXPECT1("lathe: 1\ntracks:\n  - name: kick\n   file: x.wav\n",
            "session.yaml:4:4: YAML syntax error: did not find expected '-' indicator (while "
            "parsing a block collection at line 3)");
    EXPECT1("lathe: 1\ntracks: [ { name: kick }\n",
            "session.yaml:3:1: YAML syntax error: did not find expected ',' or ']' (while parsing "
            "a flow sequence at line 2)");
}

static void session_diag_unknown_key_suggests_nearest(void **st) {
    (void)st;
    EXPECT1(HEAD "    gian: -3 dB\n",
            "session.yaml:5:5: unknown key 'gian' (did you mean 'gain'?)");
    EXPECT1("lathe: 1\ntempp: 120\n",
            "session.yaml:2:1: unknown key 'tempp' (did you mean 'tempo'?)");
    EXPECT1(HEAD "    colour: red\n",
            "session.yaml:5:5: unknown key 'colour' (valid here: name, file, start, gain, pan, "
            "mute, solo, invert, chain, sends, out)");
}

static void session_diag_unknown_processor_and_parameter(void **st) {
    (void)st;
    EXPECT1(HEAD "    chain: [ { compresor: { ratio: 4 } } ]\n",
            "session.yaml:5:16: unknown processor 'compresor' (did you mean 'compressor'?)");
    EXPECT1(HEAD "    chain: [ { wobble: {} } ]\n",
            "session.yaml:5:16: unknown processor 'wobble' (`lathe processors` lists them)");
    EXPECT1(
        HEAD "    chain: [ { compressor: { treshold: -10 dB } } ]\n",
        "session.yaml:5:30: compressor has no parameter 'treshold' (did you mean 'threshold'?)");
    EXPECT1(HEAD "    chain: [ { eq: { bands: [ { type: bell, frq: 1 kHz } ] } } ]\n",
            "session.yaml:5:45: eq has no band parameter 'frq' (did you mean 'freq'?)");
    EXPECT1(HEAD "    chain: [ { eq: { band: [] } } ]\n",
            "session.yaml:5:22: eq has no parameter 'band' (did you mean 'bands'?)");
}

static void session_diag_wrong_types(void **st) {
    (void)st;
    EXPECT1("lathe: 1\ntracks: kick\n",
            "session.yaml:2:9: 'tracks' must be a list, not a single value");
    EXPECT1("lathe: 1\nmaster: [ 1 ]\n", "session.yaml:2:9: 'master' must be a map, not a list");
    EXPECT1(HEAD "    gain: [ 1, 2 ]\n",
            "session.yaml:5:11: 'gain' must be a single value, not a list");
    EXPECT1(
        HEAD "    chain: [ eq ]\n",
        "session.yaml:5:14: each chain entry is one processor: '- NAME: { param: value, ... }'");
    EXPECT1(HEAD "    mute: maybe\n", "session.yaml:5:11: mute: 'maybe' is not on or off");
}

static void session_diag_value_out_of_range_states_range_and_unit(void **st) {
    (void)st;
    EXPECT1(HEAD "    chain: [ { compressor: { threshold: -90 dB } } ]\n",
            "session.yaml:5:41: compressor: threshold: -90 dB is out of range (-60 dB to 0 dB)");
    EXPECT1(HEAD "    pan: 120 %\n",
            "session.yaml:5:10: pan: 120 % is out of range (-100 % to 100 %)");
    EXPECT1(HEAD "    gain: 30 dB\n",
            "session.yaml:5:11: gain: 30 dB is out of range (-inf dB to 24 dB)");
    EXPECT1(HEAD "    chain: [ { eq: { bands: [ {}, { gain: 40 dB } ] } } ]\n",
            "session.yaml:5:43: eq: band2.gain: 40 dB is out of range (-24 dB to 24 dB)");
    EXPECT1(
        HEAD "    chain: [ { compressor: { attack: 10 Hz } } ]\n",
        "session.yaml:5:38: compressor: attack: '10 Hz' is not a time (write e.g. 10 ms or 1.5 s)");
    EXPECT1("lathe: 1\ntempo: 5\n",
            "session.yaml:2:8: tempo: 5 bpm is out of range (20 bpm to 999 bpm)");
}

static void session_diag_missing_or_unreadable_audio_file(void **st) {
    (void)st;
    EXPECT1("lathe: 1\ntracks:\n  - name: kick\n    file: stems/kik.wav\n",
            "session.yaml:4:11: track 'kick': stems/kik.wav: no such file");
    EXPECT1("lathe: 1\ntracks:\n  - name: kick\n    file: stems\n",
            "session.yaml:4:11: track 'kick': stems: is a directory, not an audio file");
    FILE *f = fopen("stems/text.wav", "w");
    assert_non_null(f);
    fputs("this is not audio, just some words in a file named like one\n", f);
    fclose(f);
    lathe_session *s = parse("lathe: 1\ntracks:\n  - name: kick\n    file: stems/text.wav\n");
    assert_null(s);
    assert_int_equal(D.count, 1);
    char buf[700];
    lathe_diag_format(&D, 0, buf, sizeof buf);
    assert_non_null(strstr(buf, "session.yaml:4:11: track 'kick': stems/text.wav: "));
    lathe_diags_free(&D);
    EXPECT1("lathe: 1\ntracks:\n  - name: kick\n", "session.yaml:3:5: track 'kick' needs a 'file'");
}

static void session_diag_unknown_bus_and_sidechain_source(void **st) {
    (void)st;
    EXPECT1(HEAD "    out: drms\nbuses: [ { name: drums } ]\n",
            "session.yaml:5:10: unknown bus 'drms' in out (did you mean 'drums'?)");
    EXPECT1(HEAD "    sends: { plat: -3 dB }\nbuses: [ { name: plate } ]\n",
            "session.yaml:5:14: unknown bus 'plat' in sends (did you mean 'plate'?)");
    EXPECT1(HEAD "    sends: [ { to: kick } ]\n",
            "session.yaml:5:20: 'kick' is a track; sends must name a bus or master");
    EXPECT1(
        HEAD
        "  - name: bass\n    file: stems/bass.wav\n    chain: [ { compressor: { key: kik } } ]\n",
        "session.yaml:7:35: unknown sidechain source 'kik' (did you mean 'kick'?)");
    EXPECT1(HEAD "  - name: bass\n    file: stems/bass.wav\n    chain: [ { eq: { key: kick } } ]\n",
            "session.yaml:7:22: eq does not take a sidechain key (only compressor, expander, gate "
            "and deesser do)");
}

static void session_diag_duplicate_and_reserved_names(void **st) {
    (void)st;
    EXPECT1(HEAD "buses:\n  - name: kick\n",
            "session.yaml:6:11: duplicate name 'kick' (already used at line 3)");
    EXPECT1(
        HEAD "buses:\n  - name: master\n",
        "session.yaml:6:11: 'master' is reserved for the master bus; give this bus another name");
    EXPECT1(HEAD "buses:\n  - name: my bus\n",
            "session.yaml:6:11: name 'my bus' may only use letters, digits, '_' and '-'");
    EXPECT1(HEAD "    gain: 1 dB\n    gain: 2 dB\n",
            "session.yaml:6:5: duplicate key 'gain' (first given at line 5)");
}

static void session_diag_routing_cycles_through_out_sends_and_keys(void **st) {
    (void)st;
    /* out edges */
    EXPECT1("lathe: 1\nbuses:\n  - { name: drums, out: fx }\n  - { name: fx, out: drums }\n",
            "session.yaml:4:22: routing cycle: drums -> fx -> drums");
    /* a send closes the loop */
    EXPECT1("lathe: 1\nbuses:\n  - { name: drums, out: fx }\n  - { name: fx, sends: { drums: -6 dB "
            "} }\n",
            "session.yaml:4:26: routing cycle: drums -> fx -> drums");
    /* a key edge: drums is keyed by fx, which is fed by drums */
    EXPECT1("lathe: 1\nbuses:\n  - { name: drums, out: fx, chain: [ { gate: { key: fx } } ] }\n"
            "  - { name: fx }\n",
            "session.yaml:3:53: routing cycle: drums -> fx -> drums");
    /* three nodes */
    EXPECT1("lathe: 1\nbuses:\n  - { name: a, out: b }\n  - { name: b, out: c }\n  - { name: c, "
            "sends: [ { to: a } ] }\n",
            "session.yaml:5:31: routing cycle: a -> b -> c -> a");
    /* no cycle: a key from a sibling that does not depend on the keyed node */
    const char *ok = HEAD
        "  - name: bass\n    file: stems/bass.wav\n    chain: [ { compressor: { key: kick } } ]\n";
    lathe_session *s = parse_ok(ok);
    assert_int_equal(s->nodes[1].chain[0].key_node, 0);
    lathe_session_free(s);
    lathe_diags_free(&D);
}

static void session_diag_automation_target_names_the_wrong_part(void **st) {
    (void)st;
    const char *h =
        HEAD "    chain: [ { eq: {} }, { eq: {} }, { gate: {} } ]\n    sends: { fx: -6 dB }\n"
             "buses: [ { name: fx } ]\nautomation:\n";
    char text[1200];
#define LANE(t)                                                                                    \
    (snprintf(text, sizeof text, "%s  - { target: %s, points: [ [0, 0] ] }\n", h, t), text)
    EXPECT1(LANE("kik.gain"), "session.yaml:9:15: automation target 'kik.gain': no track or bus "
                              "named 'kik' (did you mean 'kick'?)");
    EXPECT1(LANE("kick.gian"), "session.yaml:9:15: automation target 'kick.gian': kick has no "
                               "'gian' (did you mean 'gain'?)");
    EXPECT1(LANE("kick"), "session.yaml:9:15: automation target 'kick': write NODE.gain, NODE.pan, "
                          "NODE.send.BUS or NODE.PROC.PARAM");
    EXPECT1(LANE("kick.send.fz"), "session.yaml:9:15: automation target 'kick.send.fz': kick has "
                                  "no send to 'fz' (did you mean 'fx'?)");
    EXPECT1(LANE("kick.eq#3.output"), "session.yaml:9:15: automation target 'kick.eq#3.output': "
                                      "kick has no processor 'eq#3' (did you mean 'eq#2'?)");
    EXPECT1(LANE("kick.eq#2.band2.gian"),
            "session.yaml:9:15: automation target 'kick.eq#2.band2.gian': eq#2 has no parameter "
            "'band2.gian' (did you mean 'band2.gain'?)");
    EXPECT1(LANE("kick.eq.band1.type"),
            "session.yaml:9:15: automation target 'kick.eq.band1.type': eq.band1.type cannot be "
            "automated (it is fixed at the start)");
    EXPECT1(
        LANE("kick.eq"),
        "session.yaml:9:15: automation target 'kick.eq': name a parameter of eq (kick.eq.PARAM)");
#undef LANE
}

static void session_diag_automation_points_out_of_order_and_bad_values(void **st) {
    (void)st;
    const char *h = HEAD "automation:\n  - target: kick.gain\n";
    char text[800];
    snprintf(text, sizeof text, "%s    points: [ [0:02, 0 dB], [0:01, -3 dB] ]\n", h);
    EXPECT1(text, "session.yaml:7:30: automation point at 0:01 is earlier than the point before it "
                  "(0:02); list points in time order");
    snprintf(text, sizeof text, "%s    points: [ [0:02, 0 dB], [0:03, 30 dB] ]\n", h);
    EXPECT1(text, "session.yaml:7:36: gain: 30 dB is out of range (-inf dB to 24 dB)");
    snprintf(text, sizeof text, "%s    points: [ [0:02, 0 dB, wiggle] ]\n", h);
    EXPECT1(text, "session.yaml:7:28: unknown curve 'wiggle' (curves: linear, exp, hold, smooth)");
    snprintf(text, sizeof text, "%s    curve: lin\n    points: [ [0:02] ]\n", h);
    const char *const want[] = {
        "session.yaml:7:12: unknown curve 'lin' (did you mean 'linear'?)",
        "session.yaml:8:15: an automation point is [time, value] or [time, value, curve]",
    };
    expect(text, want, 2);
    snprintf(text, sizeof text, "%s    points: [ [1:75, 0 dB] ]\n", h);
    EXPECT1(text, "session.yaml:7:16: time: '1:75' is not a time (seconds must be below 60)");
    snprintf(text, sizeof text, "%s    points: []\n", h);
    EXPECT1(text, "session.yaml:7:13: an automation lane needs at least one point in 'points'");
    snprintf(text, sizeof text,
             "%s    points: [ [0, 0] ]\n  - { target: kick.gain, points: [ [0, 1] ] }\n", h);
    EXPECT1(text, "session.yaml:8:15: duplicate automation target 'kick.gain' (first at line 6)");
}

static void session_diag_version_missing_or_other(void **st) {
    (void)st;
    EXPECT1("rate: 48000\n",
            "session.yaml:1:1: missing 'lathe: 1' (the format version) at the top of the file");
    EXPECT1("lathe: 2\n",
            "session.yaml:1:8: unsupported format version '2' (this lathe reads 'lathe: 1')");
    EXPECT1("", "session.yaml:1:1: the session is empty: it needs at least 'lathe: 1'");
    EXPECT1("- 1\n", "session.yaml:1:1: a session must be a map of keys, starting with 'lathe: 1'");
}

static void session_reports_every_problem_in_one_pass(void **st) {
    (void)st;
    const char *text = "tempo: 128\n"                                        /* 1: no lathe: 1 */
                       "tracks:\n"                                           /* 2 */
                       "  - name: kick\n"                                    /* 3 */
                       "    file: stems/none.wav\n"                          /* 4: missing file */
                       "    gian: 3 dB\n"                                    /* 5: unknown key */
                       "    out: drms\n"                                     /* 6: unknown bus */
                       "    chain: [ { compressor: { ratio: 0.5 } } ]\n"     /* 7: out of range */
                       "buses:\n"                                            /* 8 */
                       "  - { name: drums, out: fx }\n"                      /* 9 */
                       "  - { name: fx, out: drums }\n"                      /* 10: cycle */
                       "automation:\n"                                       /* 11 */
                       "  - { target: kick.eq.gain, points: [ [0, 0] ] }\n"; /* 12 */
    const char *const want[] = {
        "session.yaml:1:1: missing 'lathe: 1' (the format version) at the top of the file",
        "session.yaml:4:11: track 'kick': stems/none.wav: no such file",
        "session.yaml:5:5: unknown key 'gian' (did you mean 'gain'?)",
        "session.yaml:6:10: unknown bus 'drms' in out (did you mean 'drums'?)",
        "session.yaml:7:37: compressor: ratio: 0.5:1 is out of range (1:1 to inf:1)",
        "session.yaml:10:22: routing cycle: drums -> fx -> drums",
        "session.yaml:12:15: automation target 'kick.eq.gain': kick has no processor 'eq'",
    };
    expect(text, want, 7);
}

static void session_diag_format_without_place_and_load_of_missing_file(void **st) {
    (void)st;
    lathe_session *s = lathe_session_load("no/such/session.yaml", &D);
    assert_null(s);
    assert_int_equal(D.count, 1);
    char buf[700];
    assert_string_equal(
        lathe_diag_format(&D, 0, buf, sizeof buf),
        "no/such/session.yaml: cannot read the session file: No such file or directory");
    lathe_diags_free(&D);
}

static void session_globals_note_values_stepped_choices_and_defaults(void **st) {
    (void)st;
    const char *text =
        "lathe: 1\n"
        "tempo: 128 bpm\n"
        "meter: 3/4\n"
        "tail: 3 s\n"
        "range: { start: 2|1 }\n"
        "buses:\n"
        "  - name: fx\n"
        "    chain: [ { delay: { time: 1/8., feedback: 20 % } }, { deesser: { mode: wide } } ]\n"
        "automation:\n"
        "  - { target: fx.deesser.mode, points: [ [0, split], [1 s, wide] ] }\n";
    lathe_session *s = parse_ok(text);
    assert_float_equal(s->rate, 48000, 0); /* no tracks: 48 kHz */
    assert_int_equal(s->beats_per_bar, 3);
    assert_float_equal(s->tail_s, 3, 0);
    assert_float_equal(s->range_start_s, 3 * 60.0 / 128, 1e-12);
    assert_true(s->range_end_s < 0);
    const lathe_chain_entry *d = &s->nodes[0].chain[0];
    /* a dotted eighth at 128 bpm: 0.75 beats of 60000/128 ms */
    assert_float_equal(val(d, "time"), 0.75 * 60000.0 / 128, 1e-9);
    assert_float_equal(val(d, "feedback"), 20, 0);
    assert_float_equal(val(&s->nodes[0].chain[1], "mode"),
                       choice(&s->nodes[0].chain[1], "mode", "wide"), 0);
    /* a choice steps: the lane holds, whatever the default curve */
    const lathe_automation *a = &s->autos[0];
    assert_int_equal(a->points[0].curve, LATHE_CURVE_HOLD);
    assert_float_equal(lathe_automation_value(a, 0.9), 0, 0);
    assert_float_equal(lathe_automation_value(a, 1.0), 1, 0);
    lathe_session_free(s);
    lathe_diags_free(&D);

    EXPECT1("lathe: 1\nmeter: 4-4\n",
            "session.yaml:2:8: meter: '4-4' is not a meter (write e.g. 4/4, 3/4 or 6/8)");
    EXPECT1("lathe: 1\nrange: { start: 0:10, end: 0:05 }\n",
            "session.yaml:2:28: range: end (0:05) must be after start (0:10)");
    EXPECT1("lathe: 1\ntail: forever\n", "session.yaml:2:7: tail: 'forever' is not a time (write "
                                         "e.g. 12.5 s, 500 ms, 1:30.250 or 33|1)");
    EXPECT1("lathe: 1\ntracks:\n  - file: stems/kick.wav\n",
            "session.yaml:3:5: this track needs a 'name'");
    EXPECT1(HEAD "    sends: [ { level: -3 dB } ]\n",
            "session.yaml:5:14: a send needs 'to' (the bus it feeds)");
}

/* Every prefix of the example (cut anywhere, mid-token too) either loads or
 * fails with diagnostics that point inside the text; never both, never a crash
 * (this runs under ASan too). */
static void session_every_prefix_and_mutation_of_the_example_fails_cleanly(void **st) {
    (void)st;
    size_t n = strlen(EXAMPLE);
    int lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += EXAMPLE[i] == '\n';
    int loaded = 0;
    for (size_t len = 0; len <= n; len += 3) {
        lathe_session *s = lathe_session_parse(EXAMPLE, len, "session.yaml", &D);
        if (s) {
            assert_int_equal(D.count, 0);
            loaded++;
        } else {
            assert_true(D.count > 0);
        }
        for (int i = 0; i < D.count; i++) {
            assert_true(D.items[i].line >= 0 && D.items[i].line <= lines);
            assert_true(strlen(D.items[i].msg) > 0);
        }
        lathe_session_free(s);
        lathe_diags_free(&D);
    }
    assert_true(loaded > 0);

    /* one character changed, anywhere, to something YAML cares about */
    static char buf[8192];
    const char repl[] = "[]{}:-,# \n\t*&|x0";
    assert_true(n < sizeof buf);
    for (size_t pos = 0; pos < n; pos += 5) {
        for (size_t r = 0; r < sizeof repl - 1; r += 3) {
            memcpy(buf, EXAMPLE, n + 1);
            buf[pos] = repl[(r + pos) % (sizeof repl - 1)];
            lathe_session *s = lathe_session_parse(buf, n, "session.yaml", &D);
            assert_true((s != NULL) == (D.count == 0));
            for (int i = 0; i < D.count; i++)
                assert_true(D.items[i].line >= 0 && D.items[i].line <= lines + 1);
            lathe_session_free(s);
            lathe_diags_free(&D);
        }
    }
}

/* The example in docs/session.md loads (stems/kick.flac, bass.wav and
 * vocal.wav exist in the test folder), so the documentation stays true. */
static void session_docs_example_loads(void **st) {
    (void)st;
    const char *src = getenv("LATHE_SOURCE_DIR");
    if (!src) skip();
    char path[1200];
    snprintf(path, sizeof path, "%s/docs/session.md", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char md[65536];
    size_t n = fread(md, 1, sizeof md - 1, f);
    fclose(f);
    md[n] = '\0';
    char *a = strstr(md, "```yaml\n");
    assert_non_null(a);
    a += 8;
    char *b = strstr(a, "```");
    assert_non_null(b);
    lathe_session *s = lathe_session_parse(a, (size_t)(b - a), "session.yaml", &D);
    if (!s) print_diags();
    assert_non_null(s);
    assert_int_equal(s->nnodes, 6);
    assert_int_equal(s->nodes[1].chain[0].key_node, 0);
    assert_int_equal(s->nautos, 2);
    lathe_session_free(s);
    lathe_diags_free(&D);

    /* too many bands */
    char text[2000];
    int len = snprintf(text, sizeof text, "%s    chain: [ { eq: { bands: [", HEAD);
    for (int i = 0; i < 17; i++)
        len += snprintf(text + len, sizeof text - (size_t)len, "%s{}", i ? ", " : " ");
    snprintf(text + len, sizeof text - (size_t)len, " ] } } ]\n");
    EXPECT1(text, "session.yaml:5:95: eq: too many bands (at most 16)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(session_schema_example_resolves_indices_units_sends_keys,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(session_schema_example_verbatim_reports_self_key_and_vocal,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(session_paths_resolve_from_the_session_folder, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(session_diag_yaml_syntax_error_at_libyaml_mark, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(session_diag_unknown_key_suggests_nearest, setup, teardown),
        cmocka_unit_test_setup_teardown(session_diag_unknown_processor_and_parameter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(session_diag_wrong_types, setup, teardown),
        cmocka_unit_test_setup_teardown(session_diag_value_out_of_range_states_range_and_unit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(session_diag_missing_or_unreadable_audio_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(session_diag_unknown_bus_and_sidechain_source, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(session_diag_duplicate_and_reserved_names, setup, teardown),
        cmocka_unit_test_setup_teardown(session_diag_routing_cycles_through_out_sends_and_keys,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(session_diag_automation_target_names_the_wrong_part, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(session_diag_automation_points_out_of_order_and_bad_values,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(session_diag_version_missing_or_other, setup, teardown),
        cmocka_unit_test_setup_teardown(session_reports_every_problem_in_one_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(session_diag_format_without_place_and_load_of_missing_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(session_globals_note_values_stepped_choices_and_defaults,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            session_every_prefix_and_mutation_of_the_example_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(session_docs_example_loads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
