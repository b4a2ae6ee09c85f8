/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe master, end to end: every preset reaches its target (+-0.1 LU) under
 * its ceiling as libebur128 reads the file; worst cases (square waves,
 * clipped noise, the EBU Tech 3341 inter-sample-peak signals) stay under the
 * ceiling; the limiter is bit-transparent where nothing is over (a null test
 * against the same master with the limiter switched off); a sine driven 6 dB
 * into the limiter keeps THD under 0.1 %; the findings fire on inputs built
 * to trigger them and stay silent on a clean one; 16-bit output carries a
 * TPDF floor and float output none; chain-file errors name FILE:LINE:COL; on
 * the material, ffmpeg's ebur128=peak=true (192 kHz) agrees. */
#include "lathe_test.h"

#include <ebur128.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lathe/analysis.h"
#include "lathe/io.h"
#include "lathe/targets.h"

static char dir[256];

/* Under the sanitizers (5-10x slower) the synthetic signals are shorter and
 * one material song is checked instead of three: the same checks. */
static double dur(double seconds)
{
    return getenv("LATHE_SANITIZED") ? seconds * 0.4 : seconds;
}

static int setup(void **s)
{
    (void)s;
    lt_tmpdir(dir, sizeof dir);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    lt_rmdir(dir);
    return 0;
}

static void write_file(const char *path, float **b, int ch, long n, double rate)
{
    lt_write_wav(path, b, ch, n, rate, LATHE_SAMPLE_FLOAT32);
}

typedef lt_measured measured;
#define measure lt_measure_file

/* "key": number inside the object that follows "obj": */
static double json_in(const char *json, const char *obj, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\": {", obj);
    const char *p = strstr(json, pat);
    if (!p) fail_msg("JSON has no object '%s'", obj);
    return lt_json_num(p, key);
}

static lt_run_result master(const char *in, const char *out, const char *args)
{
    return lt_run("'%s' master '%s' -o '%s' --force --json %s", lt_lathe_exe(), in, out, args);
}

/* A music-like test signal: pink-ish noise (three octave-spaced one-pole
 * bands), a 55 Hz bass in the mid, a 4 Hz level swing and kick-like bursts,
 * so it has dynamics (PLR ~ 14 dB), no DC and a positive correlation. */
static float **musicish(long n, double rate, double level)
{
    float **b = lt_alloc(2, n);
    uint64_t seed = 12345;
    float *w = malloc(sizeof(float) * (size_t)n * 2);
    lt_noise(w, n * 2, 1.0, &seed);
    double z1 = 0, z2 = 0, z3 = 0, y1 = 0, y2 = 0, y3 = 0;
    for (long i = 0; i < n; i++) {
        double t = (double)i / rate;
        double a = w[i], c = w[n + i];
        z1 = 0.99 * z1 + 0.05 * a, z2 = 0.9 * z2 + 0.2 * a, z3 = 0.5 * z3 + 0.4 * a;
        y1 = 0.99 * y1 + 0.05 * c, y2 = 0.9 * y2 + 0.2 * c, y3 = 0.5 * y3 + 0.4 * c;
        double env = 0.6 + 0.4 * sin(2 * M_PI * 0.25 * t);
        double beat = fmod(t, 0.5), kick = beat < 0.12 ? exp(-beat * 30) * sin(2 * M_PI * 60 * beat) : 0;
        double bass = 0.25 * sin(2 * M_PI * 55 * t);
        double common = 0.6 * (z1 + z2 + z3);
        b[0][i] = (float)(level * (env * (common + 0.4 * (y1 + y2 + y3)) + bass + 1.5 * kick));
        b[1][i] = (float)(level * (env * (common - 0.1 * (y1 + y2 + y3)) + bass + 1.5 * kick));
    }
    free(w);
    /* no DC: the kick's decaying sine has a mean of its own */
    for (int c = 0; c < 2; c++) {
        double m = 0;
        for (long i = 0; i < n; i++) m += b[c][i];
        m /= (double)n;
        for (long i = 0; i < n; i++) b[c][i] = (float)(b[c][i] - m);
    }
    return b;
}

static void master_meets_every_preset_on_a_synthetic_mix(void **s)
{
    (void)s;
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/mix.wav", dir);
    const double rate = 48000;
    const long n = (long)(dur(20) * rate);
    float **b = musicish(n, rate, 0.12);
    write_file(in, b, 2, n, rate);
    lt_free(b, 2);
    int nt = 0;
    const lathe_target *t = lathe_targets(&nt);
    for (int i = 0; i < nt; i++) {
        const char *ext = strcmp(t[i].name, "cd") == 0 ? "flac" : "wav";
        snprintf(out, sizeof out, "%s/m-%s.%s", dir, t[i].name, ext);
        char args[64];
        snprintf(args, sizeof args, "--target %s", t[i].name);
        lt_run_result r = master(in, out, args);
        if (r.status != 0) fail_msg("%s: exit %d: %s", t[i].name, r.status, r.err);
        measured m = measure(out, 0);
        print_message("  %-12s %7.2f LUFS (target %.1f) %6.2f dBTP (ceiling %.1f) %.0f Hz, %s passes\n",
                      t[i].name, m.lufs, t[i].lufs, m.tp, t[i].ceiling_dbtp, m.rate,
                      strstr(r.out, "\"passes\": ") + 10);
        if (fabs(m.lufs - t[i].lufs) > 0.1)
            fail_msg("%s: %.3f LUFS, target %.1f", t[i].name, m.lufs, t[i].lufs);
        if (m.tp > t[i].ceiling_dbtp)
            fail_msg("%s: true peak %.3f dBTP over the ceiling %.1f", t[i].name, m.tp, t[i].ceiling_dbtp);
        assert_true(m.rate == (t[i].rate > 0 ? t[i].rate : rate));
        assert_int_equal(m.channels, 2);
        /* the report agrees with libebur128 */
        assert_true(fabs(json_in(r.out, "after", "integrated_lufs") - m.lufs) < 0.02);
        lt_run_free(&r);
    }
}

/* Every preset on the material too: an excerpt of a real song (the loud
 * part of wesnoth_journeys_end, which clips at the source). */
static void master_meets_every_preset_on_the_material(void **s)
{
    (void)s;
    long n = 0;
    float **b = lt_load_music("wesnoth_journeys_end.ogg", 60.0, dur(20), &n);
    if (!b) skip();
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/song.wav", dir);
    write_file(in, b, 2, n, 44100);
    lt_free(b, 2);
    int nt = 0;
    const lathe_target *t = lathe_targets(&nt);
    for (int i = 0; i < nt; i++) {
        snprintf(out, sizeof out, "%s/song-%s.flac", dir, t[i].name);
        char args[64];
        snprintf(args, sizeof args, "--target %s", t[i].name);
        lt_run_result r = master(in, out, args);
        if (r.status != 0) fail_msg("%s: exit %d: %s", t[i].name, r.status, r.err);
        measured m = measure(out, 0);
        print_message("  %-12s %7.2f LUFS (target %.1f) %6.2f dBTP (ceiling %.1f)\n", t[i].name, m.lufs,
                      t[i].lufs, m.tp, t[i].ceiling_dbtp);
        if (fabs(m.lufs - t[i].lufs) > 0.1) fail_msg("%s: %.3f LUFS, target %.1f", t[i].name, m.lufs, t[i].lufs);
        if (m.tp > t[i].ceiling_dbtp)
            fail_msg("%s: true peak %.3f dBTP over the ceiling %.1f", t[i].name, m.tp, t[i].ceiling_dbtp);
        lt_run_free(&r);
    }
}

static void master_mono_podcast_targets_minus_19_and_stays_mono(void **s)
{
    (void)s;
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/voice.wav", dir);
    snprintf(out, sizeof out, "%s/voice-m.wav", dir);
    const double rate = 48000;
    const long n = (long)(dur(15) * rate);
    float **b = musicish(n, rate, 0.05);
    write_file(in, b, 1, n, rate);
    lt_free(b, 2);
    lt_run_result r = master(in, out, "--target podcast");
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    measured m = measure(out, 0);
    print_message("  mono podcast: %.2f LUFS, %.2f dBTP, %.0f Hz, %d channel\n", m.lufs, m.tp, m.rate,
                  m.channels);
    assert_int_equal(m.channels, 1);
    assert_true(m.rate == 44100);
    assert_true(fabs(m.lufs - -19.0) <= 0.1);
    assert_true(m.tp <= -1.0);
    lt_run_free(&r);
}

/* Worst cases for a true-peak limiter, each brought to -10 LUFS under a
 * -0.3 dBTP ceiling (the CD preset's) and to -14 under -1. */
static void master_holds_the_ceiling_on_worst_cases(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = (long)(dur(6) * rate);
    const char *names[] = {"square",       "clipped-noise", "tp-case15", "tp-case16", "tp-case17",
                           "tp-case18",    "tp-case19",     "tp-case20", "tp-case21", "tp-case22",
                           "tp-case23"};
    for (int k = 0; k < 11; k++) {
        float **b = lt_alloc(2, n);
        if (k == 0) {
            for (long i = 0; i < n; i++) b[0][i] = b[1][i] = (i / 24) % 2 ? 0.5f : -0.5f; /* 1 kHz */
        } else if (k == 1) {
            uint64_t seed = 99;
            lt_noise(b[0], n, 4.0, &seed);
            lt_noise(b[1], n, 4.0, &seed);
            for (int c = 0; c < 2; c++)
                for (long i = 0; i < n; i++) b[c][i] = fmaxf(-1.0f, fminf(1.0f, b[c][i]));
        } else if (k <= 6) {
            static const double div[] = {4, 4, 6, 8, 4}, amp[] = {0.5, 0.5, 0.5, 0.5, 1.0},
                                ph[] = {0, 45, 60, 67.5, 45};
            lt_tech3341_sine(b[0], n, div[k - 2], amp[k - 2], ph[k - 2]);
            memcpy(b[1], b[0], sizeof(float) * (size_t)n);
        } else {
            /* the 1 s burst signal, repeated */
            float *x = malloc(sizeof(float) * 48000);
            lt_tech3341_burst(x, k - 7);
            for (long i = 0; i < n; i++) b[0][i] = b[1][i] = x[i % 48000];
            free(x);
        }
        char in[512], out[512];
        snprintf(in, sizeof in, "%s/%s.wav", dir, names[k]);
        write_file(in, b, 2, n, rate);
        lt_free(b, 2);
        for (int p = 0; p < 2; p++) {
            snprintf(out, sizeof out, "%s/%s-m%d.wav", dir, names[k], p);
            lt_run_result r = master(in, out, p ? "--lufs -10 --ceiling -0.3" : "--lufs -14 --ceiling -1");
            if (r.status != 0) fail_msg("%s: exit %d: %s", names[k], r.status, r.err);
            measured m = measure(out, 0);
            double want = p ? -10 : -14, ceil = p ? -0.3 : -1;
            print_message("  %-14s %7.2f LUFS %6.2f dBTP (limiter max %.1f dB)\n", names[k], m.lufs, m.tp,
                          lt_json_num(r.out, "limiter_max_db"));
            if (m.tp > ceil) fail_msg("%s: %.3f dBTP over %.1f", names[k], m.tp, ceil);
            if (fabs(m.lufs - want) > 0.1) fail_msg("%s: %.3f LUFS, want %.1f", names[k], m.lufs, want);
            lt_run_free(&r);
        }
    }
}

static void write_chain(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int same_bytes(const char *a, const char *b)
{
    lt_run_result r = lt_run("cmp -s '%s' '%s'", a, b);
    int same = r.status == 0;
    lt_run_free(&r);
    return same;
}

/* Under the ceiling the limiter is bit-transparent: the same master with the
 * limiter switched off gives the same bytes. A louder-than-target input is
 * turned down with no limiting, and the report says so. */
static void master_limiter_null_test_and_turning_down(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = (long)(8 * rate);
    float **b = lt_alloc(2, n);
    for (long i = 0; i < n; i++) {
        double t = (double)i / rate;
        b[0][i] = (float)(0.03 * sin(2 * M_PI * 220 * t) + 0.02 * sin(2 * M_PI * 1330 * t));
        b[1][i] = (float)(0.03 * sin(2 * M_PI * 220 * t) + 0.02 * sin(2 * M_PI * 2210 * t));
    }
    char in[512], a[512], bb[512], ca[512], cb[512];
    snprintf(in, sizeof in, "%s/tones.wav", dir);
    write_file(in, b, 2, n, rate);
    lt_free(b, 2);
    snprintf(ca, sizeof ca, "%s/lim-on.yaml", dir);
    snprintf(cb, sizeof cb, "%s/lim-off.yaml", dir);
    write_chain(ca, "highpass: off\nglue: off\n");
    write_chain(cb, "highpass: off\nglue: off\nlimiter: off\n");
    for (int up = 0; up < 2; up++) {
        /* the tones measure about -28 LUFS with peaks at -26 dBFS: up to -14
         * needs gain (peaks stay under -1 dBTP), down to -40 a cut */
        const char *lufs = up ? "--lufs -14" : "--lufs -40";
        snprintf(a, sizeof a, "%s/null-on-%d.wav", dir, up);
        snprintf(bb, sizeof bb, "%s/null-off-%d.wav", dir, up);
        char args[1024];
        snprintf(args, sizeof args, "%s --bits 32 --chain '%s'", lufs, ca);
        lt_run_result r1 = master(in, a, args);
        snprintf(args, sizeof args, "%s --bits 32 --chain '%s'", lufs, cb);
        lt_run_result r2 = master(in, bb, args);
        if (r1.status || r2.status) fail_msg("exit %d/%d: %s %s", r1.status, r2.status, r1.err, r2.err);
        double g = lt_json_num(r1.out, "gain_db");
        print_message("  gain %+.2f dB: limiter on and off give %s bytes, limiter max %.3f dB\n", g,
                      same_bytes(a, bb) ? "the same" : "DIFFERENT", lt_json_num(r1.out, "limiter_max_db"));
        assert_true(same_bytes(a, bb));
        assert_true(lt_json_num(r1.out, "limiter_max_db") == 0);
        assert_int_equal(lt_json_num(r1.out, "passes"), 1); /* linear: on target at once */
        if (!up) {
            assert_true(g < -1);
            assert_non_null(strstr(r1.out, "\"turned_down\": true"));
            assert_non_null(strstr(r1.out, "\"code\": \"turned-down\""));
        } else {
            assert_non_null(strstr(r1.out, "\"turned_down\": false"));
            assert_null(strstr(r1.out, "turned-down"));
        }
        lt_run_free(&r1);
        lt_run_free(&r2);
    }
}

/* A 1 kHz sine held 6 dB over the ceiling by the solved drive: once the
 * release has settled, THD < 0.1 %. The signal is 6 s at level a, then 4 s
 * at a + 12 dB; the target is what the output measures when the quiet part
 * sits 6 dB under the ceiling (so the loud part is driven 6 dB in). */
static void master_thd_of_a_sine_driven_6_db_into_the_limiter(void **s)
{
    (void)s;
    const double rate = 48000, f = 1000;
    const long n1 = (long)(6 * rate), n = (long)(10 * rate);
    const double ceil_db = -1.0, a = 0.1;
    float **b = lt_alloc(2, n), **e = lt_alloc(2, n);
    const double quiet_out = pow(10, (ceil_db - 0.1 - 6) / 20), loud_out = pow(10, (ceil_db - 0.1) / 20);
    for (long i = 0; i < n; i++) {
        double v = sin(2 * M_PI * f * (double)i / rate);
        b[0][i] = b[1][i] = (float)((i < n1 ? a : 4 * a) * v);
        e[0][i] = e[1][i] = (float)((i < n1 ? quiet_out : loud_out) * v);
    }
    /* the loudness that output would measure */
    lathe_error err;
    lathe_analyzer *an = lathe_analyzer_new(rate, 2, &err);
    lathe_analyzer_add(an, (const float *const *)e, n);
    lathe_analysis ea;
    lathe_analyzer_result(an, &ea);
    lathe_analyzer_free(an);
    lt_free(e, 2);
    char in[512], out[512], chain[512], args[1024];
    snprintf(in, sizeof in, "%s/sine-step.wav", dir);
    snprintf(out, sizeof out, "%s/sine-step-m.wav", dir);
    snprintf(chain, sizeof chain, "%s/plain.yaml", dir);
    write_file(in, b, 2, n, rate);
    lt_free(b, 2);
    write_chain(chain, "highpass: off\nglue: off\n");
    snprintf(args, sizeof args, "--lufs %.3f --ceiling %.1f --bits 32 --chain '%s'", ea.integrated_lufs,
             ceil_db, chain);
    lt_run_result r = master(in, out, args);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    double g = lt_json_num(r.out, "gain_db");
    double over = 20 * log10(4 * a) + g - ceil_db;
    measured m = measure(out, 1);
    /* THD over the last 2 s: harmonics 2..10 against the fundamental */
    const long from = n - (long)(2 * rate), len = (long)(2 * rate);
    double fund = lt_tone_amp(m.b[0] + from, len, rate, f, NULL), h = 0;
    for (int k = 2; k <= 10; k++) {
        double x = lt_tone_amp(m.b[0] + from, len, rate, k * f, NULL);
        h += x * x;
    }
    double thd = 100 * sqrt(h) / fund;
    print_message("  drive puts the loud part %.2f dB over the ceiling; THD %.4f %%, level %.2f dBFS\n", over,
                  thd, 20 * log10(fund));
    assert_true(over > 5.5 && over < 6.5);
    assert_true(thd < 0.1);
    lt_free(m.b, m.channels);
    lt_run_free(&r);
}

/* Findings: each fires on an input made to trigger it, and a clean input
 * gets none. */
static void master_findings_fire_when_due_and_stay_silent_otherwise(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = (long)(dur(10) * rate);
    static const char *const cases[] = {"clean", "clipped-source", "dc-offset", "phase", "side-bass",
                                        "already-limited", "heavy-limiting"};
    for (int k = 0; k < 7; k++) {
        float **b = musicish(n, rate, 0.1);
        uint64_t seed = 7;
        switch (k) {
        case 1: /* clipped: driven into full scale */
            for (int c = 0; c < 2; c++)
                for (long i = 0; i < n; i++) b[c][i] = fmaxf(-1.0f, fminf(1.0f, 8 * b[c][i]));
            break;
        case 2:
            for (int c = 0; c < 2; c++)
                for (long i = 0; i < n; i++) b[c][i] += 0.01f;
            break;
        case 3: /* the right channel mostly inverted */
            for (long i = 0; i < n; i++) b[1][i] = -b[0][i] + 0.2f * b[1][i];
            break;
        case 4: /* an out-of-phase bass */
            for (long i = 0; i < n; i++) {
                float bass = (float)(0.2 * sin(2 * M_PI * 50 * (double)i / rate));
                b[0][i] += bass, b[1][i] -= bass;
            }
            break;
        case 5: /* saturated: a smashed, already limited source */
            for (int c = 0; c < 2; c++)
                for (long i = 0; i < n; i++) b[c][i] = 0.8f * tanhf(12 * b[c][i]);
            break;
        case 6: { /* quiet with sharp spikes: the target needs a lot of limiting */
            for (int c = 0; c < 2; c++)
                for (long i = 0; i < n; i++) b[c][i] *= 0.1f;
            lt_noise(b[0], 1, 0, &seed);
            for (long i = 0; i < n; i += 4800)
                for (int c = 0; c < 2; c++) b[c][i] = 0.9f, b[c][i + 1] = -0.9f;
            break;
        }
        default: break;
        }
        char in[512], out[512];
        snprintf(in, sizeof in, "%s/find-%d.wav", dir, k);
        snprintf(out, sizeof out, "%s/find-%d-m.wav", dir, k);
        write_file(in, b, 2, n, rate);
        lt_free(b, 2);
        lt_run_result r = master(in, out, "--target spotify");
        if (r.status) fail_msg("%s: exit %d: %s", cases[k], r.status, r.err);
        /* the codes present */
        char codes[512] = "";
        for (const char *p = strstr(r.out, "\"code\": \""); p; p = strstr(p + 1, "\"code\": \"")) {
            const char *q = p + 9, *e = strchr(q, '"');
            size_t u = strlen(codes);
            snprintf(codes + u, sizeof codes - u, "%s%.*s", u ? "," : "", (int)(e - q), q);
        }
        print_message("  %-16s -> [%s]\n", cases[k], codes);
        if (k == 0) {
            if (codes[0]) fail_msg("a clean input got findings: %s", codes);
        } else {
            char pat[64];
            snprintf(pat, sizeof pat, "\"code\": \"%s\"", cases[k]);
            if (!strstr(r.out, pat)) fail_msg("%s did not fire (got [%s])", cases[k], codes);
        }
        lt_run_free(&r);
    }
}

/* 16-bit output carries TPDF dither: in a steady tone, the error against
 * the fitted tone has a power of LSB^2/4 (rounding's LSB^2/12 plus the
 * dither's LSB^2/6); digital silence stays exact zero. The same master in
 * float has no floor at all. */
static void master_dithers_16_bit_and_not_float(void **s)
{
    (void)s;
    const double rate = 44100, f = 1000;
    const long n = (long)(6 * rate), n0 = (long)(1 * rate);
    float **b = lt_alloc(2, n);
    for (long i = n0; i < n; i++)
        b[0][i] = b[1][i] = (float)(0.25 * sin(2 * M_PI * f * (double)(i - n0) / rate));
    char in[512], chain[512];
    snprintf(in, sizeof in, "%s/silence-tone.wav", dir);
    snprintf(chain, sizeof chain, "%s/plain2.yaml", dir);
    write_file(in, b, 2, n, rate);
    lt_free(b, 2);
    write_chain(chain, "highpass: off\nglue: off\n");
    for (int bits = 16; bits <= 32; bits += 16) {
        char out[512], args[1024];
        snprintf(out, sizeof out, "%s/st-%d.wav", dir, bits);
        snprintf(args, sizeof args, "--lufs -20 --bits %d --chain '%s'", bits, chain);
        lt_run_result r = master(in, out, args);
        if (r.status) fail_msg("exit %d: %s", r.status, r.err);
        measured m = measure(out, 1);
        /* residual against the fitted tone over 4 s of steady tone */
        const long from = n0 + (long)rate, len = (long)(4 * rate);
        double ph, amp = lt_tone_amp(m.b[0] + from, len, rate, f, &ph), e = 0;
        for (long i = 0; i < len; i++) {
            double d = m.b[0][from + i] - amp * sin(2 * M_PI * f * (double)i / rate + ph);
            e += d * d;
        }
        double lsb = 1.0 / 32768, ratio = e / len / (lsb * lsb);
        int zeros = 1;
        for (long i = 100; i < n0 - 100; i++) zeros &= m.b[0][i] == 0.0f && m.b[1][i] == 0.0f;
        print_message("  %d-bit: error power %.3f LSB16^2 (TPDF: 0.25), silence %s, dither \"%s\"\n", bits,
                      ratio, zeros ? "exact" : "not exact", strstr(r.out, "\"dither\": ") + 11);
        if (bits == 16) {
            assert_true(ratio > 0.22 && ratio < 0.28);
            assert_null(strstr(r.out, "\"dither\": \"off\""));
        } else {
            assert_true(ratio < 1e-3);
            assert_non_null(strstr(r.out, "\"dither\": \"off\""));
        }
        assert_true(zeros);
        lt_free(m.b, m.channels);
        lt_run_free(&r);
    }
}

static void master_chain_file_errors_and_outputs_left_alone(void **s)
{
    (void)s;
    char in[512], out[512], chain[512];
    snprintf(in, sizeof in, "%s/mix.wav", dir);
    struct stat st;
    if (stat(in, &st) != 0) {
        float **b = musicish(48000 * 5, 48000, 0.1);
        write_file(in, b, 2, 48000 * 5, 48000);
        lt_free(b, 2);
    }
    snprintf(out, sizeof out, "%s/never.wav", dir);
    snprintf(chain, sizeof chain, "%s/bad.yaml", dir);
    write_chain(chain, "glue: { ratio: 2, treshold: -20 dB }\nlimitter: on\nstereo: { width: 500 % }\n");
    lt_run_result r = lt_run("'%s' master '%s' -o '%s' --chain '%s'", lt_lathe_exe(), in, out, chain);
    char want[2048];
    snprintf(want, sizeof want,
             "%s:1:19: glue has no parameter 'treshold' (did you mean 'threshold'?)\n"
             "%s:2:1: unknown key 'limitter' (did you mean 'limiter'?)\n"
             "%s:3:18: stereo: width: 500 %% is out of range (0 %% to 200 %%)\n",
             chain, chain, chain);
    print_message("  stderr:\n%s", r.err);
    assert_int_equal(r.status, 65);
    assert_string_equal(r.err, want);
    assert_int_equal(stat(out, &st), -1);
    lt_run_free(&r);
    /* never the input, never an existing file without --force */
    r = lt_run("'%s' master '%s' -o '%s'", lt_lathe_exe(), in, in);
    assert_int_equal(r.status, 73);
    lt_run_free(&r);
    r = lt_run("'%s' master '%s' -o '%s' --target nowhere", lt_lathe_exe(), in, out);
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "unknown target 'nowhere'"));
    lt_run_free(&r);
}

/* The same bytes for one thread and two. */
static void master_is_deterministic_across_threads(void **s)
{
    (void)s;
    char in[512], a[512], b2[512];
    snprintf(in, sizeof in, "%s/mix.wav", dir);
    snprintf(a, sizeof a, "%s/t1.flac", dir);
    snprintf(b2, sizeof b2, "%s/t2.flac", dir);
    lt_run_result r1 = master(in, a, "--threads 1 --target cd");
    lt_run_result r2 = master(in, b2, "--threads 2 --target cd");
    assert_int_equal(r1.status, 0);
    assert_int_equal(r2.status, 0);
    assert_true(same_bytes(a, b2));
    lt_run_free(&r1);
    lt_run_free(&r2);
}

/* On the material: on target, and under the ceiling as ffmpeg reads it
 * (ebur128=peak=true resamples to 192 kHz). */
static void master_material_under_the_ceiling_by_ffmpeg(void **s)
{
    (void)s;
    const char *mat = lt_material_dir();
    if (!mat || !lt_have("ffmpeg")) skip();
    static const char *const songs[] = {"lincity-ng_02_robert-van-herk_city-blues.ogg",
                                        "wesnoth_journeys_end.ogg", "hedgewars_nature.ogg"};
    for (int k = getenv("LATHE_SANITIZED") ? 2 : 0; k < 3; k++) {
        char in[1024], out[512];
        snprintf(in, sizeof in, "%s/music/%s", mat, songs[k]);
        snprintf(out, sizeof out, "%s/song%d.wav", dir, k);
        lt_run_result r = master(in, out, "--target spotify");
        if (r.status) fail_msg("%s: exit %d: %s", songs[k], r.status, r.err);
        lt_run_free(&r);
        measured m = measure(out, 0);
        r = lt_run("ffmpeg -nostats -hide_banner -i '%s' -af ebur128=peak=true -f null - 2>&1 | "
                   "grep -A20 Summary",
                   out);
        const char *pi = strstr(r.out, "I:"), *pp = strstr(r.out, "Peak:");
        assert_non_null(pi);
        assert_non_null(pp);
        double fi = strtod(pi + 2, NULL), fp = strtod(pp + 5, NULL);
        print_message("  %-46s libebur128 %.2f LUFS %.2f dBTP; ffmpeg %.1f LUFS %.1f dBTP\n", songs[k], m.lufs,
                      m.tp, fi, fp);
        assert_true(fabs(m.lufs - -14) <= 0.1);
        assert_true(m.tp <= -1.0);
        assert_true(fabs(fi - -14) <= 0.1);
        assert_true(fp <= -1.0);
        lt_run_free(&r);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    t[fread(t, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return t;
}

/* --report: before against after in every section (a plot in each), the
 * chain, the findings, and the gain reduction of the limiter and the glue
 * over time. */
static void master_report_compares_before_and_after(void **s)
{
    (void)s;
    char in[512], out[512], html[512];
    snprintf(in, sizeof in, "%s/rep-in.wav", dir);
    snprintf(out, sizeof out, "%s/rep-out.wav", dir);
    snprintf(html, sizeof html, "%s/rep.html", dir);
    const double rate = 48000;
    const long n = (long)(dur(10) * rate);
    float **b = musicish(n, rate, 0.05);
    write_file(in, b, 2, n, rate);
    lt_free(b, 2);
    lt_run_result r = lt_run("'%s' master '%s' -o '%s' --quiet --report '%s'", lt_lathe_exe(), in, out, html);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    lt_run_free(&r);
    char *h = slurp(html);
    assert_non_null(h);
    static const char *const ids[] = {"loudness", "waveform", "spectrum", "dynamics", "stereo"};
    for (int i = 0; i < 5; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "<section id=\"%s\"", ids[i]);
        const char *sec = strstr(h, pat), *next = sec ? strstr(sec + 1, "<section") : NULL;
        const char *svg = sec ? strstr(sec, "<svg") : NULL;
        if (!sec || !svg || (next && svg > next)) fail_msg("section %s missing or without a plot", ids[i]);
    }
    assert_non_null(strstr(h, ">before<"));
    assert_non_null(strstr(h, ">after<"));
    assert_non_null(strstr(h, ">glue<"));    /* the chain table */
    assert_non_null(strstr(h, ">limiter<"));
    /* both gain-reduction curves are in the dynamics plot's legend */
    const char *dyn = strstr(h, "<section id=\"dynamics\"");
    assert_non_null(strstr(dyn, "limiter"));
    assert_non_null(strstr(dyn, "glue"));
    free(h);
    r = lt_run("'%s' master '%s' -o '%s/rep-out2.wav' --quiet --report '%s'", lt_lathe_exe(), in, dir, html);
    assert_int_equal(r.status, 73);
    lt_run_free(&r);
}

/* --reference on the command line: the reference's loudness becomes the
 * target, the match stage appears with a per-band table (JSON), --amount 0
 * leaves it out; bad flags are usage errors. */
static void master_reference_flags(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = (long)(dur(12) * rate);
    char mix[512], ref[512], out[512];
    snprintf(mix, sizeof mix, "%s/ref-mix.wav", dir);
    snprintf(ref, sizeof ref, "%s/ref-ref.wav", dir);
    snprintf(out, sizeof out, "%s/ref-out.wav", dir);
    float **b = musicish(n, rate, 0.05);
    write_file(mix, b, 2, n, rate);
    /* the reference: the same music, brighter (first difference added) and louder */
    for (int c = 0; c < 2; c++)
        for (long i = n - 1; i > 0; i--) b[c][i] = 4.0f * (b[c][i] + 0.8f * (b[c][i] - b[c][i - 1]));
    write_file(ref, b, 2, n, rate);
    lt_free(b, 2);
    measured mr = measure(ref, 0);
    char args[1200];
    snprintf(args, sizeof args, "--reference '%s'", ref);
    lt_run_result r = master(mix, out, args);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    measured mo = measure(out, 0);
    print_message("  reference %.2f LUFS, master %.2f LUFS (%.2f dBTP)\n", mr.lufs, mo.lufs, mo.tp);
    assert_true(fabs(mo.lufs - mr.lufs) <= 0.15);
    assert_true(mo.tp <= -1.0);
    assert_non_null(strstr(r.out, "\"stage\": \"match\""));
    assert_non_null(strstr(r.out, "\"reference\": {\"bands\": ["));
    lt_run_free(&r);
    snprintf(args, sizeof args, "--reference '%s' --amount 0 --target spotify", ref);
    r = master(mix, out, args);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    assert_null(strstr(r.out, "\"stage\": \"match\""));
    assert_true(fabs(json_in(r.out, "after", "integrated_lufs") - -14) <= 0.1); /* --target wins */
    lt_run_free(&r);
    r = master(mix, out, "--tone-target dull");
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "--tone-target: unknown target 'dull'"));
    lt_run_free(&r);
    r = master(mix, out, "--tone-target warm --match tone,colour");
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "--match: unknown dimension 'colour'"));
    lt_run_free(&r);
    r = master(mix, out, "--tone-target warm");
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "\"stage\": \"match\""));
    lt_run_free(&r);
}

/* The reference settings in a chain file give the same bytes as the same
 * settings by flags (file relative to the chain file, phase through the
 * match stage); flags win over the file; the file's mistakes are
 * diagnosed at their line and column. */
static void master_reference_in_the_chain_file_as_by_flags(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = (long)(dur(10) * rate);
    char mix[512], ref[512], sub[512], chain[512], phase[512], a[512], b[512], args[2400];
    snprintf(mix, sizeof mix, "%s/cref-mix.wav", dir);
    snprintf(ref, sizeof ref, "%s/cref-ref.wav", dir);
    snprintf(sub, sizeof sub, "%s/chains", dir);
    snprintf(chain, sizeof chain, "%s/chains/ref.yaml", dir);
    snprintf(phase, sizeof phase, "%s/chains/phase.yaml", dir);
    snprintf(a, sizeof a, "%s/cref-a.wav", dir);
    snprintf(b, sizeof b, "%s/cref-b.wav", dir);
    mkdir(sub, 0755);
    float **x = musicish(n, rate, 0.05);
    write_file(mix, x, 2, n, rate);
    for (int c = 0; c < 2; c++)
        for (long i = n - 1; i > 0; i--) x[c][i] = 3.0f * (x[c][i] + 0.6f * (x[c][i] - x[c][i - 1]));
    write_file(ref, x, 2, n, rate);
    lt_free(x, 2);

    write_chain(chain, "glue: { ratio: 1.5 }\n"
                       "reference:\n"
                       "  file: ../cref-ref.wav\n"
                       "  match: [loudness, tone, width]\n"
                       "  amount: 60 %\n"
                       "  amount_width: 30 %\n"
                       "  max_eq: 4 dB\n"
                       "  phase: minimum\n");
    write_chain(phase, "glue: { ratio: 1.5 }\nmatch: { phase: minimum }\n");
    snprintf(args, sizeof args, "--chain '%s'", chain);
    lt_run_result r = master(mix, a, args);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "\"stage\": \"match\""));
    assert_non_null(strstr(r.out, "phase: minimum"));
    lt_run_free(&r);
    snprintf(args, sizeof args,
             "--chain '%s' --reference '%s' --match loudness,tone,width --amount 60 --amount-width 30 "
             "--max-eq 4",
             phase, ref);
    r = master(mix, b, args);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    lt_run_free(&r);
    assert_true(same_bytes(a, b));

    /* flags win: the file says amount 0 % and another file; --amount-tone 60
     * and --reference make it run a again (its width 30 % stays the file's) */
    write_chain(chain, "glue: { ratio: 1.5 }\nreference: { file: ../cref-mix.wav, amount: 0 %, max_eq: 4 dB, "
                       "amount_width: 30 %, phase: minimum }\n");
    snprintf(args, sizeof args, "--chain '%s' --reference '%s' --amount-tone 60", chain, ref);
    r = master(mix, b, args);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    lt_run_free(&r);
    assert_true(same_bytes(a, b));

    write_chain(chain, "reference:\n  file: ../nowhere.wav\n  match: [tone, widht]\n  amount: 130 %\n"
                       "  maxeq: 3 dB\n");
    r = lt_run("'%s' master '%s' -o '%s/never.wav' --chain '%s'", lt_lathe_exe(), mix, dir, chain);
    char want[4096];
    snprintf(want, sizeof want,
             "%s:2:9: reference: file: %s/chains/../nowhere.wav: no such file\n"
             "%s:3:17: reference: match: 'widht' is not one of: loudness, tone, width, dynamics (did "
             "you mean 'width'?)\n"
             "%s:4:11: reference: amount: 130 %% is out of range (0 %% to 100 %%)\n"
             "%s:5:3: reference has no parameter 'maxeq' (did you mean 'max_eq'?)\n",
             chain, dir, chain, chain, chain);
    print_message("  stderr:\n%s", r.err);
    assert_int_equal(r.status, 65);
    assert_string_equal(r.err, want);
    lt_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(master_meets_every_preset_on_a_synthetic_mix),
        cmocka_unit_test(master_meets_every_preset_on_the_material),
        cmocka_unit_test(master_mono_podcast_targets_minus_19_and_stays_mono),
        cmocka_unit_test(master_holds_the_ceiling_on_worst_cases),
        cmocka_unit_test(master_limiter_null_test_and_turning_down),
        cmocka_unit_test(master_thd_of_a_sine_driven_6_db_into_the_limiter),
        cmocka_unit_test(master_findings_fire_when_due_and_stay_silent_otherwise),
        cmocka_unit_test(master_dithers_16_bit_and_not_float),
        cmocka_unit_test(master_chain_file_errors_and_outputs_left_alone),
        cmocka_unit_test(master_is_deterministic_across_threads),
        cmocka_unit_test(master_material_under_the_ceiling_by_ffmpeg),
        cmocka_unit_test(master_report_compares_before_and_after),
        cmocka_unit_test(master_reference_flags),
        cmocka_unit_test(master_reference_in_the_chain_file_as_by_flags),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
