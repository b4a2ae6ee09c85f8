/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `lathe mix` end to end: the 26 Francium stems (../shared/material) with a
 * drum bus, a plate send and the sine bass ducked by the kick: the ducking
 * lowers the bass during kicks by at least the amount set; the same bytes
 * for 1 and 2 threads; validation output and exit codes; never overwrite. */
#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/io.h"

static char *const dir = lt_dir;

static char *slurp_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    s[fread(s, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return s;
}

/* Replaces the first `from` in s by `to` (s is reallocated). */
static char *replace(char *s, const char *from, const char *to)
{
    char *p = strstr(s, from);
    if (!p) fail_msg("'%s' not found in the session", from);
    size_t a = (size_t)(p - s), n = strlen(s) + strlen(to) + 1;
    char *r = malloc(n);
    snprintf(r, n, "%.*s%s%s", (int)a, s, to, p + strlen(from));
    free(s);
    return r;
}

static float **read_all(const char *path, long *n, int *ch)
{
    lathe_error err;
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(path, &info, &err);
    if (!r) fail_msg("%s", err.msg);
    float **b = lt_alloc(info.channels, info.frames + 1);
    *n = lathe_reader_read(r, b, info.frames, &err);
    *ch = info.channels;
    lathe_reader_close(r);
    return b;
}

/* The Francium session with absolute stem paths, the ducker's threshold set,
 * and the ducker bypassed or not. */
static void francium_session(const char *out, const char *mat, double threshold, int bypass)
{
    char src[4096];
    snprintf(src, sizeof src, "%s/tests/e2e/francium.yaml", getenv("LATHE_SOURCE_DIR"));
    char *s = slurp_file(src);
    assert_non_null(s);
    char abs[4096];
    snprintf(abs, sizeof abs, "%s/francium/", mat);
    while (strstr(s, "../../../shared/material/francium/"))
        s = replace(s, "../../../shared/material/francium/", abs);
    char duck[256];
    snprintf(duck, sizeof duck, "threshold: %.2f dB, ratio: inf%s", threshold,
             bypass ? ", bypass: true" : "");
    s = replace(s, "threshold: -40 dB, ratio: inf", duck); /* minilogue_synth */
    s = replace(s, "threshold: -40 dB, ratio: inf", duck); /* sine */
    lt_write_text(out, s);
    free(s);
}

static void mix_francium_ducks_the_bass_under_the_kick_by_the_set_amount(void **st)
{
    (void)st;
    const char *mat = lt_material_dir();
    if (!mat) {
        print_message("skipped: ../shared/material is absent\n");
        skip();
    }
    /* Kick onsets and peaks from the kick stem (the key: its chain leaves the
     * peaks within a fraction of a dB). */
    char kick[4096];
    snprintf(kick, sizeof kick, "%s/francium/kick.flac", mat);
    long n;
    int ch;
    float **k = read_all(kick, &n, &ch);
    double gpeak = 0;
    for (long i = 0; i < n; i++) gpeak = fmax(gpeak, fmax(fabs(k[0][i]), fabs(k[ch - 1][i])));
    long onset[512];
    double peak[512];
    int nk = 0;
    for (long i = 0, last = -48000; i < n && nk < 512; i++) {
        double a = fmax(fabs(k[0][i]), fabs(k[ch - 1][i]));
        if (a > 0.3 * gpeak && i - last > 7200) { /* at least 150 ms after the last onset */
            double p = 0;
            long at = i;
            for (long j = i; j < i + 1440 && j < n; j++) { /* peak in the next 30 ms */
                double b = fmax(fabs(k[0][j]), fabs(k[ch - 1][j]));
                if (b > p) p = b, at = j;
            }
            onset[nk] = at, peak[nk++] = 20 * log10(p);
            last = i;
        }
    }
    lt_free(k, ch);
    assert_true(nk >= 50);
    double minpk = 0;
    for (int i = 0; i < nk; i++) minpk = i ? fmin(minpk, peak[i]) : peak[i];
    /* The set amount: ratio inf with the threshold 10 dB under the quietest
     * kick peak, so every kick must duck the bass by at least 10 dB. */
    const double amount = 10.0, threshold = minpk - amount;

    char ses[600], ses0[600], cmd[4096];
    snprintf(ses, sizeof ses, "%s/duck.yaml", dir);
    snprintf(ses0, sizeof ses0, "%s/noduck.yaml", dir);
    francium_session(ses, mat, threshold, 0);
    francium_session(ses0, mat, threshold, 1);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/s1 %s/s0", dir, dir);
    assert_int_equal(system(cmd), 0);
    lt_run_result r = lt_run("'%s' mix '%s' -o '%s/duck.wav' --stems '%s/s1' --threads 2 --json",
                             lt_lathe_exe(), ses, dir, dir);
    if (r.status != 0) fail_msg("lathe mix: %s", r.err);
    lt_run_free(&r);
    r = lt_run("'%s' mix '%s' -o '%s/noduck.wav' --stems '%s/s0' --quiet", lt_lathe_exe(), ses0,
               dir, dir);
    if (r.status != 0) fail_msg("lathe mix: %s", r.err);
    lt_run_free(&r);

    char p1[700], p0[700];
    snprintf(p1, sizeof p1, "%s/s1/bass.wav", dir);
    snprintf(p0, sizeof p0, "%s/s0/bass.wav", dir);
    long n1, n0;
    int c1, c0;
    float **d = read_all(p1, &n1, &c1), **u = read_all(p0, &n0, &c0);
    /* Per kick: the deepest reduction of the bass (2 ms RMS windows, ducked
     * against not ducked) from 5 ms before to 20 ms after the kick's peak. */
    double red[512];
    int m = 0;
    for (int i = 0; i < nk; i++) {
        double best = -1e9;
        int audible = 0;
        for (long t = onset[i] - 240; t < onset[i] + 960; t += 24) {
            if (t < 0 || t + 96 > n1 || t + 96 > n0) continue;
            double e1 = 0, e0 = 0;
            for (long j = t; j < t + 96; j++) e1 += (double)d[0][j] * d[0][j], e0 += (double)u[0][j] * u[0][j];
            if (e0 < 96 * 1e-6) continue; /* bass below -60 dBFS here: nothing to duck */
            audible = 1;
            double rd = 10 * log10(e0 / fmax(e1, 1e-30));
            if (rd > best) best = rd;
        }
        if (audible) red[m++] = best;
    }
    print_message("%d kick onsets, %d over audible bass; stems %ld and %ld frames\n", nk, m, n1, n0);
    assert_true(m >= 15);
    /* sort for the median and the 10th percentile */
    for (int i = 1; i < m; i++)
        for (int j = i; j > 0 && red[j] < red[j - 1]; j--) {
            double x = red[j];
            red[j] = red[j - 1], red[j - 1] = x;
        }
    print_message("%d kicks under the bass: reduction median %.1f dB, 10th pct %.1f dB, min %.1f "
                  "(set %.0f dB)\n",
                  m, red[m / 2], red[m / 10], red[0], amount);
    /* 0.5 dB for the kick's own EQ and compressor, which the key passes through */
    if (red[m / 10] < amount - 0.5)
        fail_msg("ducking: 10th percentile %.2f dB < %.1f dB", red[m / 10], amount - 0.5);
    lt_free(d, c1), lt_free(u, c0);
}

static void mix_bytes_are_identical_for_1_and_2_threads(void **st)
{
    (void)st;
    const char *mat = lt_material_dir();
    if (!mat) {
        print_message("skipped: ../shared/material is absent\n");
        skip();
    }
    char ses[600];
    snprintf(ses, sizeof ses, "%s/det.yaml", dir);
    francium_session(ses, mat, -40, 0);
    lt_run_result a = lt_run("'%s' mix '%s' -o '%s/t1.wav' --threads 1 --quiet && cmp '%s/t1.wav' "
                             "'%s/t1.wav' && '%s' mix '%s' -o '%s/t2.wav' --threads 2 --quiet && "
                             "cmp '%s/t1.wav' '%s/t2.wav'",
                             lt_lathe_exe(), ses, dir, dir, dir, lt_lathe_exe(), ses, dir, dir, dir);
    if (a.status != 0) fail_msg("outputs differ: %s%s", a.out, a.err);
    lt_run_free(&a);
}

static void mix_check_reports_every_problem_with_line_and_column(void **st)
{
    (void)st;
    char ses[600];
    snprintf(ses, sizeof ses, "%s/bad.yaml", dir);
    lt_write_text(ses, "lathe: 1\n"
                    "tracks:\n"
                    "  - name: a\n"
                    "    file: nowhere.wav\n"
                    "    gian: 3 dB\n"
                    "    chain: [ { compressor: { threshold: -90 dB } } ]\n"
                    "    out: drms\n");
    lt_run_result r = lt_run("'%s' mix --check '%s'", lt_lathe_exe(), ses);
    assert_int_equal(r.status, 65);
    char want[4096];
    snprintf(want, sizeof want,
             "%s:4:11: track 'a': %s/nowhere.wav: no such file\n"
             "%s:5:5: unknown key 'gian' (did you mean 'gain'?)\n"
             "%s:6:41: compressor: threshold: -90 dB is out of range (-60 dB to 0 dB)\n"
             "%s:7:10: unknown bus 'drms' in out\n",
             ses, dir, ses, ses, ses);
    if (strcmp(r.err, want) != 0) fail_msg("got:\n%s\nwant:\n%s", r.err, want);
    assert_string_equal(r.out, "");
    lt_run_free(&r);
}

static void mix_refuses_to_overwrite_an_input_or_an_existing_file(void **st)
{
    (void)st;
    char ses[600], wav[600];
    snprintf(ses, sizeof ses, "%s/ok.yaml", dir);
    snprintf(wav, sizeof wav, "%s/tone.wav", dir);
    lathe_error err;
    lathe_writer_spec spec = {LATHE_FILE_WAV, LATHE_SAMPLE_PCM24, 48000, 1, 1};
    lathe_writer *w = lathe_writer_open(wav, &spec, &err);
    float **b = lt_alloc(1, 4800);
    lt_sine(b[0], 4800, 48000, 440, 0.1, 0);
    lathe_writer_write(w, (const float *const *)b, 4800, &err);
    lathe_writer_commit(w, &err);
    lt_free(b, 1);
    lt_write_text(ses, "lathe: 1\ntracks:\n  - { name: t, file: tone.wav }\n");
    lt_run_result r = lt_run("'%s' mix '%s' -o '%s'", lt_lathe_exe(), ses, wav);
    assert_int_equal(r.status, 73);
    char want[2048];
    snprintf(want, sizeof want,
             "lathe: %s: output is the input file; lathe never overwrites an input\n", wav);
    assert_string_equal(r.err, want);
    lt_run_free(&r);
    r = lt_run("'%s' mix '%s' -o '%s/m.wav' --quiet && '%s' mix '%s' -o '%s/m.wav' --quiet",
               lt_lathe_exe(), ses, dir, lt_lathe_exe(), ses, dir);
    assert_int_equal(r.status, 73);
    snprintf(want, sizeof want, "lathe: %s/m.wav: exists (use --force to overwrite it)\n", dir);
    assert_string_equal(r.err, want);
    lt_run_free(&r);
}

/* --report: one HTML file holding the mix's sections (a plot in each) and
 * the desk: every node's levels, the gain reduction of the master chain. */
static void mix_report_has_every_section_and_the_desk(void **st)
{
    (void)st;
    char ses[600], wav[600], html[600];
    snprintf(ses, sizeof ses, "%s/rep.yaml", dir);
    snprintf(wav, sizeof wav, "%s/noise.wav", dir);
    snprintf(html, sizeof html, "%s/rep.html", dir);
    lathe_error err;
    lathe_writer_spec spec = {LATHE_FILE_WAV, LATHE_SAMPLE_FLOAT32, 48000, 2, 1};
    lathe_writer *w = lathe_writer_open(wav, &spec, &err);
    const long n = 48000 * 4;
    float **b = lt_alloc(2, n);
    uint64_t seed = 3;
    lt_noise(b[0], n, 0.9, &seed); /* loud: the master limiter acts */
    lt_noise(b[1], n, 0.9, &seed);
    lathe_writer_write(w, (const float *const *)b, n, &err);
    lathe_writer_commit(w, &err);
    lt_free(b, 2);
    lt_write_text(ses, "lathe: 1\ntracks:\n  - { name: drums, file: noise.wav, out: bus }\n"
                    "  - { name: keys, file: noise.wav, gain: -12 dB }\nbuses:\n  - { name: bus }\n"
                    "master:\n  chain: [ { limiter: { ceiling: -3 dB } } ]\n");
    lt_run_result r = lt_run("'%s' mix '%s' -o '%s/rep.wav' --quiet --report '%s'", lt_lathe_exe(), ses, dir, html);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    lt_run_free(&r);
    char *h = slurp_file(html);
    assert_non_null(h);
    static const char *const ids[] = {"summary", "loudness", "waveform", "spectrum", "dynamics",
                                      "stereo", "mix-levels"};
    for (int i = 0; i < 7; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "<section id=\"%s\"", ids[i]);
        const char *sec = strstr(h, pat);
        if (!sec) fail_msg("no section %s", ids[i]);
        const char *next = strstr(sec + 1, "<section");
        const char *svg = strstr(sec, "<svg");
        if (ids[i][0] != 's' || strcmp(ids[i], "summary")) /* every section but the summary has a plot */
            if (!svg || (next && svg > next)) fail_msg("section %s has no plot", ids[i]);
    }
    /* the desk names every node; the master limiter's reduction is a curve */
    assert_non_null(strstr(h, ">drums<"));
    assert_non_null(strstr(h, ">keys<"));
    assert_non_null(strstr(h, ">bus<"));
    assert_non_null(strstr(h, "limiter"));
    /* the limiter holds -3 dBTP (aiming 0.1 dB under) */
    const char *hr = strstr(h, "Headroom at the master: ");
    assert_non_null(hr);
    double headroom = strtod(hr + 24, NULL);
    if (!(headroom >= 3.0 && headroom <= 3.2)) fail_msg("headroom %.2f dB", headroom);
    free(h);
    /* not over an existing report without --force */
    r = lt_run("'%s' mix '%s' -o '%s/rep2.wav' --quiet --report '%s'", lt_lathe_exe(), ses, dir, html);
    assert_int_equal(r.status, 73);
    lt_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mix_francium_ducks_the_bass_under_the_kick_by_the_set_amount),
        cmocka_unit_test(mix_bytes_are_identical_for_1_and_2_threads),
        cmocka_unit_test(mix_check_reports_every_problem_with_line_and_column),
        cmocka_unit_test(mix_refuses_to_overwrite_an_input_or_an_existing_file),
        cmocka_unit_test(mix_report_has_every_section_and_the_desk),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
