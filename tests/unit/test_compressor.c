/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The compressor against Giannoulis, Massberg & Reiss 2012: the static curve
 * (eq. 4) measured with steady tones, attack/release time constants fitted
 * in the log domain, external key, sidechain high-pass, mix nulls,
 * lookahead, stereo link, click-free parameter changes.
 *
 * Level definitions used here: in peak mode the detector level of a sine of
 * amplitude A is 20 log10 A (its peak); in rms mode it is 20 log10 (A/sqrt 2).
 * The output level is the amplitude of the tone (least squares, lt_tone_amp). */
#include "lathe_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/biquad.h"
#include "dsp/dynamics.h"

#define RATE 48000.0

/* eq. 4 written out independently of the implementation: output level. */
static double curve_out(double x, double t, double r, double w) {
    double inv = isinf(r) ? 0.0 : 1.0 / r;
    if (2.0 * (x - t) < -w) return x;
    if (2.0 * fabs(x - t) <= w) {
        double u = x - t + w / 2.0;
        return x + (inv - 1.0) * u * u / (2.0 * w);
    }
    return t + (x - t) * inv;
}

/* Steady-state output level (dB of the tone amplitude) for a 1 kHz sine at
 * `level_db` (its peak). */
static double steady_out_db(const char *const *names, const double *vals, int n, double level_db,
                            double freq) {
    lathe_proc *p = lt_proc("compressor", RATE, 1, names, vals, n);
    long total = (long)(0.25 * RATE), meas = (long)(0.05 * RATE);
    float **b = lt_alloc(1, total);
    double amp = lt_undb(level_db);
    lt_sine(b[0], total, RATE, freq, amp, 0);
    lathe_proc_process(p, b, NULL, total);
    double a = lt_tone_amp(b[0] + total - meas, meas, RATE, freq, NULL);
    lt_free(b, 1);
    lathe_proc_free(p);
    return lt_db(a);
}

static void check_curve(double t, double r, double w, int rms) {
    const char *names[] = {"threshold", "ratio", "knee", "attack", "release", "detect", "window"};
    double vals[] = {t, r, w, 2, 20, rms, rms ? 20 : 5};
    double worst = 0;
    /* -60..0 dB in 1 dB steps, then 0.25 dB steps across the knee */
    for (int pass = 0; pass < 2; pass++) {
        double lo = pass ? t - w / 2 - 0.5 : -60, hi = pass ? fmin(t + w / 2 + 0.5, 0) : 0;
        double step = pass ? 0.25 : 1.0;
        for (double in = lo; in <= hi + 1e-9; in += step) {
            double det = rms ? in - 10.0 * log10(2.0) : in;
            double want = in + (curve_out(det, t, r, w) - det);
            double got = steady_out_db(names, vals, 7, in, 1000.0);
            double e = fabs(got - want);
            if (e > worst) worst = e;
            if (e > 0.1)
                fail_msg("T %g R %g W %g %s: in %.2f dB: out %.3f dB, eq. 4 gives %.3f", t, r, w,
                         rms ? "rms" : "peak", in, got, want);
        }
    }
    print_message("static curve T %g R %g W %g %s: worst error %.4f dB\n", t, r, w,
                  rms ? "rms" : "peak", worst);
}

static void compressor_static_curve_peak_within_0_1_db_of_eq4(void **s) {
    (void)s;
    check_curve(-18, 4, 6, 0);
    check_curve(-30, 2, 12, 0);
    check_curve(-10, INFINITY, 0, 0);
    check_curve(-24, 10, 24, 0);
}

static void compressor_static_curve_rms_within_0_1_db_of_eq4(void **s) {
    (void)s;
    check_curve(-20, 3, 10, 1);
}

/* A square wave of amplitude `amp` (|x| constant), period 96 frames. */
static void square(float *x, long n, double amp) {
    for (long i = 0; i < n; i++)
        x[i] = (float)((i / 48) % 2 ? -amp : amp);
}

/* Least-squares slope of ln(v) over samples whose v lies in (lo, hi). */
static double log_slope(const double *v, long n, double lo, double hi) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    long m = 0;
    for (long i = 0; i < n; i++) {
        if (!(v[i] > lo && v[i] < hi)) continue;
        double y = log(v[i]);
        sx += (double)i, sy += y, sxx += (double)i * i, sxy += (double)i * y, m++;
    }
    assert_true(m > 10);
    return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

static void check_times(double attack, double release) {
    const char *names[] = {"threshold", "ratio", "knee", "attack", "release", "window"};
    double vals[] = {-20, 4, 0, attack, release, 1};
    lathe_proc *p = lt_proc("compressor", RATE, 1, names, vals, 6);
    long n1 = (long)(0.1 * RATE), n2 = (long)(0.1 * RATE + 12 * attack * 1e-3 * RATE),
         n3 = (long)(12 * release * 1e-3 * RATE), total = n1 + n2 + n3;
    float **b = lt_alloc(1, total), **in = lt_alloc(1, total);
    square(in[0], n1, lt_undb(-40));
    square(in[0] + n1, n2, 1.0);
    square(in[0] + n1 + n2, n3, lt_undb(-40));
    memcpy(b[0], in[0], sizeof(float) * (size_t)total);
    lathe_proc_process(p, b, NULL, total);
    /* gain reduction in dB, relative to its final value */
    const double g = 15.0; /* (0 - (-20)) (1 - 1/4) */
    double *v = malloc(sizeof(double) * (size_t)total);
    for (long i = 0; i < total; i++)
        v[i] = -lt_db(b[0][i] / in[0][i]);
    /* steady reduction just before the fall */
    assert_true(fabs(v[n1 + n2 - 1] - g) < 0.01);
    /* attack: 1 - GR/G decays as exp(-t/tau) */
    double *u = malloc(sizeof(double) * (size_t)n2);
    for (long i = 0; i < n2; i++)
        u[i] = 1.0 - v[n1 + i] / g;
    double tau_a = -1.0 / log_slope(u, n2, 0.1, 0.9) / RATE * 1e3;
    /* release: GR/G decays as exp(-t/tau) once the peak has left the window */
    for (long i = 0; i < n3; i++)
        v[i] = v[n1 + n2 + i] / g;
    double tau_r = -1.0 / log_slope(v, n3, 0.1, 0.9) / RATE * 1e3;
    print_message("attack %g ms: fitted %.4f ms; release %g ms: fitted %.4f ms\n", attack, tau_a,
                  release, tau_r);
    assert_true(fabs(tau_a / attack - 1) < 0.05);
    assert_true(fabs(tau_r / release - 1) < 0.05);
    free(u);
    free(v);
    lt_free(b, 1);
    lt_free(in, 1);
    lathe_proc_free(p);
}

static void compressor_attack_release_time_constants_within_5_percent(void **s) {
    (void)s;
    check_times(10, 100);
    check_times(1, 300);
    check_times(30, 50);
}

/* quiet input, loud key: reduction per the static curve; silent key: none */
static void compressor_external_key_drives_reduction(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio", "knee", "attack", "release"};
    double vals[] = {-30, 4, 0, 1, 50};
    long total = (long)(0.3 * RATE), meas = (long)(0.05 * RATE);
    for (int loud = 0; loud < 2; loud++) {
        lathe_proc *p = lt_proc("compressor", RATE, 1, names, vals, 5);
        float **b = lt_alloc(1, total), **k = lt_alloc(1, total);
        lt_sine(b[0], total, RATE, 440, lt_undb(-50), 0);
        if (loud) lt_sine(k[0], total, RATE, 1000, lt_undb(-6), 0);
        lathe_proc_process(p, b, (const float *const *)k, total);
        double out = lt_db(lt_tone_amp(b[0] + total - meas, meas, RATE, 440, NULL));
        /* gain = curve_out(key) - key level, applied to the input */
        double want = -50 + (loud ? curve_out(-6, -30, 4, 0) + 6 : 0);
        print_message("key %s: out %.4f dB, expected %.4f dB, reduction_db %.4f\n",
                      loud ? "-6 dB" : "silent", out, want, lathe_proc_reduction_db(p));
        assert_true(fabs(out - want) < 0.1);
        if (!loud)
            assert_true(lathe_proc_reduction_db(p) == 0.0);
        else
            assert_true(fabs(lathe_proc_reduction_db(p) - 18.0) < 0.1);
        lt_free(b, 1);
        lt_free(k, 1);
        lathe_proc_free(p);
    }
}

/* 50 Hz at -6 dB through a 200 Hz sidechain high-pass: the detector sees
 * the level lowered by the high-pass's exact magnitude at 50 Hz. */
static void compressor_sidechain_highpass_lowers_detected_bass(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio", "knee", "attack", "release", "window", "sc_hpf"};
    double vals[] = {-40, 4,  0,  2,
                     10,  25, 200}; /* short release: the filter's onset transient passes */
    lathe_bq hp;
    lathe_bq_design(&hp, LATHE_BQ_HIGHPASS, RATE, 200, M_SQRT1_2, 0);
    double det = -6 + lathe_bq_mag_db(&hp, RATE, 50);
    double want = -6 + curve_out(det, -40, 4, 0) - det;
    double got = steady_out_db(names, vals, 7, -6, 50);
    vals[6] = 0;
    double off = steady_out_db(names, vals, 7, -6, 50);
    print_message("sc_hpf 200 Hz, 50 Hz tone: out %.4f dB (expected %.4f); without: %.4f dB\n", got,
                  want, off);
    assert_true(fabs(got - want) < 0.1);
    assert_true(fabs(off - curve_out(-6, -40, 4, 0)) < 0.1);
}

static void compressor_mix_0_nulls_with_and_without_lookahead(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio", "attack", "mix", "lookahead", "makeup"};
    for (int la = 0; la < 2; la++) {
        double vals[] = {-50, 20, 0.1, 0, la ? 5 : 0, 12};
        lathe_proc *p = lt_proc("compressor", RATE, 2, names, vals, 6);
        int lat = lathe_proc_latency(p);
        assert_int_equal(lat, la ? 240 : 0);
        long n = 20000;
        float **b = lt_alloc(2, n), **in = lt_alloc(2, n);
        uint64_t seed = 7;
        for (int c = 0; c < 2; c++) {
            lt_noise(in[c], n, 0.9, &seed);
            memcpy(b[c], in[c], sizeof(float) * (size_t)n);
        }
        lathe_proc_process(p, b, NULL, n);
        double err = 0;
        for (int c = 0; c < 2; c++)
            for (long i = 0; i < n; i++) {
                double ref = i >= lat ? in[c][i - lat] : 0.0;
                err = fmax(err, fabs(b[c][i] - ref));
            }
        print_message("mix 0, lookahead %d frames: max |out - delayed in| = %g\n", lat, err);
        assert_true(err == 0.0);
        /* and the wet path really is compressing: mix 100 % differs a lot */
        assert_true(lathe_proc_reduction_db(p) > 20);
        lt_free(b, 2);
        lt_free(in, 2);
        lathe_proc_free(p);
    }
}

/* A 0 dB square burst after -40 dB: overshoot of the output peak above the
 * static curve's level, with and without lookahead. */
static double onset_overshoot_db(double lookahead_ms, int *latency) {
    const char *names[] = {"threshold", "ratio", "knee", "attack", "release", "lookahead"};
    double vals[] = {-20, 10, 0, 0.5, 100, lookahead_ms};
    lathe_proc *p = lt_proc("compressor", RATE, 1, names, vals, 6);
    *latency = lathe_proc_latency(p);
    long n1 = 4800, n2 = 4800, total = n1 + n2 + 1000;
    float **b = lt_alloc(1, total);
    square(b[0], n1, lt_undb(-40));
    square(b[0] + n1, n2, 1.0);
    lathe_proc_process(p, b, NULL, total);
    double peak = lt_db(lt_peak(b[0] + n1 + *latency, n2));
    lathe_proc_free(p);
    lt_free(b, 1);
    return peak - curve_out(0, -20, 10, 0);
}

static void compressor_lookahead_reports_latency_and_catches_transient(void **s) {
    (void)s;
    int l0, l5;
    double o0 = onset_overshoot_db(0, &l0), o5 = onset_overshoot_db(5, &l5);
    print_message("overshoot above the curve: %.3f dB without lookahead, %.3f dB with 5 ms "
                  "(latency %d frames)\n",
                  o0, o5, l5);
    assert_int_equal(l0, 0);
    assert_int_equal(l5, 240);
    assert_true(o0 > 10);
    assert_true(o5 < 0.1);
}

static void compressor_link_100_same_gain_link_0_independent(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio", "knee", "attack", "release", "link"};
    long total = (long)(0.3 * RATE), meas = (long)(0.05 * RATE);
    for (int linked = 0; linked < 2; linked++) {
        double vals[] = {-20, 4, 0, 1, 50, linked ? 100 : 0};
        lathe_proc *p = lt_proc("compressor", RATE, 2, names, vals, 6);
        float **b = lt_alloc(2, total);
        lt_sine(b[0], total, RATE, 1000, lt_undb(-4), 0);
        lt_sine(b[1], total, RATE, 1000, lt_undb(-30), 0);
        lathe_proc_process(p, b, NULL, total);
        double gl = lt_db(lt_tone_amp(b[0] + total - meas, meas, RATE, 1000, NULL)) + 4;
        double gr = lt_db(lt_tone_amp(b[1] + total - meas, meas, RATE, 1000, NULL)) + 30;
        double loud = curve_out(-4, -20, 4, 0) + 4; /* -12 dB */
        print_message("link %d %%: gain L %.4f dB, R %.4f dB\n", linked ? 100 : 0, gl, gr);
        if (linked) {
            assert_true(fabs(gl - gr) < 1e-3);
            /* and per sample: out/in identical in both channels */
            float **x = lt_alloc(2, total);
            lt_sine(x[0], total, RATE, 1000, lt_undb(-4), 0);
            lt_sine(x[1], total, RATE, 1000, lt_undb(-30), 0);
            double worst = 0;
            for (long i = 0; i < total; i++)
                if (fabs(x[1][i]) > 1e-3)
                    worst = fmax(worst, fabs(b[0][i] / x[0][i] - b[1][i] / x[1][i]));
            assert_true(worst < 1e-5);
            lt_free(x, 2);
            assert_true(fabs(gl - loud) < 0.1);
        } else {
            assert_true(fabs(gl - loud) < 0.1);
            assert_true(fabs(gr) < 0.01);
        }
        lt_free(b, 2);
        lathe_proc_free(p);
    }
}

/* Threshold -10 -> -40 dB and makeup 0 -> +12 dB at once, with a 0.01 ms
 * attack: the per-sample gain still moves smoothly (no click). */
static void compressor_param_changes_are_smoothed(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio", "knee", "attack", "release"};
    double vals[] = {-10, 8, 0, 0.01, 50};
    lathe_proc *p = lt_proc("compressor", RATE, 1, names, vals, 5);
    long n = 4800 + 24000;
    float **b = lt_alloc(1, n), **in = lt_alloc(1, n);
    square(in[0], n, lt_undb(-6));
    memcpy(b[0], in[0], sizeof(float) * (size_t)n);
    lathe_proc_process(p, b, NULL, 4800);
    lathe_proc_set(p, lathe_proc_param_index(lathe_proc_descriptor(p), "threshold"), -40);
    lathe_proc_set(p, lathe_proc_param_index(lathe_proc_descriptor(p), "makeup"), 12);
    float *rest[1] = {b[0] + 4800};
    lathe_proc_process(p, rest, NULL, n - 4800);
    double step = 0;
    for (long i = 4801; i < n; i++)
        step = fmax(step, fabs(lt_db(b[0][i] / in[0][i]) - lt_db(b[0][i - 1] / in[0][i - 1])));
    double final = lt_db(b[0][n - 1] / in[0][n - 1]);
    double want = 12 + curve_out(-6, -40, 8, 0) + 6;
    print_message("largest per-sample gain step %.4f dB; final gain %.3f dB (expected %.3f)\n",
                  step, final, want);
    assert_true(step < 0.05);
    assert_true(fabs(final - want) < 0.05);
    lt_free(b, 1);
    lt_free(in, 1);
    lathe_proc_free(p);
}

/* auto_makeup: a 0 dBFS sine comes out at 0 dBFS (hard and soft knee). */
static void compressor_auto_makeup_restores_full_scale(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio", "knee", "auto_makeup", "attack", "release"};
    double knees[] = {0, 24};
    for (int k = 0; k < 2; k++) {
        double vals[] = {-12, 3, knees[k], 1, 2, 20};
        double out = steady_out_db(names, vals, 6, 0, 1000);
        double at_m10 = steady_out_db(names, vals, 6, -30, 1000);
        double m = -curve_out(0, -12, 3, knees[k]);
        print_message("knee %g: 0 dBFS in -> %.4f dB out; makeup %.3f dB\n", knees[k], out, m);
        assert_true(fabs(out) < 0.05);
        assert_true(fabs(at_m10 - (curve_out(-30, -12, 3, knees[k]) + m)) < 0.1);
    }
}

static void compressor_reset_returns_to_silence_and_output_finite(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio", "release", "lookahead", "detect"};
    double vals[] = {-40, INFINITY, 2000, 3, 1};
    lathe_proc *p = lt_proc("compressor", RATE, 2, names, vals, 5);
    long n = 9600;
    float **b = lt_alloc(2, n);
    uint64_t seed = 3;
    lt_noise(b[0], n, 1.0, &seed);
    lt_noise(b[1], n, 1.0, &seed);
    lathe_proc_process(p, b, NULL, n);
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++)
            assert_true(isfinite(b[c][i]));
    assert_true(lathe_proc_reduction_db(p) > 30);
    lathe_proc_reset(p);
    /* silence in, silence out (the lookahead line was cleared) */
    memset(b[0], 0, sizeof(float) * (size_t)n);
    memset(b[1], 0, sizeof(float) * (size_t)n);
    lathe_proc_process(p, b, NULL, 1000);
    assert_true(lt_peak(b[0], 1000) == 0 && lt_peak(b[1], 1000) == 0);
    /* the reduction state was cleared: a quiet tone passes at unity right away */
    lt_sine(b[0], 2000, RATE, 1000, lt_undb(-60), 0);
    lt_sine(b[1], 2000, RATE, 1000, lt_undb(-60), 0);
    lathe_proc_process(p, b, NULL, 2000);
    assert_true(lathe_proc_reduction_db(p) == 0.0);
    lt_free(b, 2);
    lathe_proc_free(p);
}

/* Odd block sizes give the same bytes as 512-frame blocks (state carries
 * over correctly: peak-hold deque, lookahead line, ballistics). */
static void compressor_output_independent_of_block_size(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio",  "attack", "release",
                           "lookahead", "window", "sc_hpf"};
    double vals[] = {-30, 6, 3, 80, 2.5, 7, 80};
    lathe_proc *a = lt_proc("compressor", RATE, 2, names, vals, 7);
    lathe_proc *b = lt_proc("compressor", RATE, 2, names, vals, 7);
    long n = 30000;
    float **x = lt_alloc(2, n), **y = lt_alloc(2, n);
    uint64_t seed = 11;
    for (int c = 0; c < 2; c++) {
        lt_noise(x[c], n, 0.5, &seed);
        for (long i = 0; i < n; i++)
            x[c][i] *= (float)(0.5 + 0.5 * sin(i * 1e-3 * (c + 1)));
        memcpy(y[c], x[c], sizeof(float) * (size_t)n);
    }
    lathe_proc_process(a, x, NULL, n);
    for (long off = 0; off < n;) {
        long m = off % 3 ? 37 : 1;
        if (off + m > n) m = n - off;
        float *blk[2] = {y[0] + off, y[1] + off};
        lathe_proc_process(b, blk, NULL, m);
        off += m;
    }
    for (int c = 0; c < 2; c++)
        assert_memory_equal(x[c], y[c], sizeof(float) * (size_t)n);
    lt_free(x, 2);
    lt_free(y, 2);
    lathe_proc_free(a);
    lathe_proc_free(b);
}

/* link 50 %: the quiet channel's detector level moves half way (in dB) to
 * the loud one's: -30 + 0.5 (-4 + 30) = -17 dB, 3 dB over the threshold. */
static void compressor_link_50_moves_level_half_way(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio", "knee", "attack", "release", "link"};
    double vals[] = {-20, 4, 0, 1, 50, 50};
    long total = (long)(0.3 * RATE), meas = (long)(0.05 * RATE);
    lathe_proc *p = lt_proc("compressor", RATE, 2, names, vals, 6);
    float **b = lt_alloc(2, total);
    lt_sine(b[0], total, RATE, 1000, lt_undb(-4), 0);
    lt_sine(b[1], total, RATE, 1000, lt_undb(-30), 0);
    lathe_proc_process(p, b, NULL, total);
    double gl = lt_db(lt_tone_amp(b[0] + total - meas, meas, RATE, 1000, NULL)) + 4;
    double gr = lt_db(lt_tone_amp(b[1] + total - meas, meas, RATE, 1000, NULL)) + 30;
    double want_l = curve_out(-4, -20, 4, 0) + 4, want_r = curve_out(-17, -20, 4, 0) + 17;
    print_message("link 50 %%: gain L %.4f dB (expected %.4f), R %.4f dB (expected %.4f)\n", gl,
                  want_l, gr, want_r);
    assert_true(fabs(gl - want_l) < 0.1);
    assert_true(fabs(gr - want_r) < 0.1);
    lt_free(b, 2);
    lathe_proc_free(p);
}


static void compressor_recovers_from_nan_input(void **s) {
    (void)s;
    const char *names[] = {"sc_hpf", "lookahead", "detect", "link", "threshold"};
    double vals[][5] = {{100, 5, 0, 100, -30}, {100, 0, 1, 0, -30}};
    for (int k = 0; k < 2; k++)
        lt_check_recovers_from_nan("compressor", RATE, 997, names, vals[k], 5);
}

static void dynamics_fast_log2_exp2_accurate(void **s) {
    (void)s;
    double el = 0, ee = 0;
    for (double x = 1e-12; x < 1e3; x *= 1.0137)
        el = fmax(el, fabs(lathe_dyn_log2(x) - log2(x)));
    for (double x = -200; x < 200; x += 0.0173)
        ee = fmax(ee, fabs(lathe_dyn_exp2(x) / exp2(x) - 1));
    print_message("fast log2 abs error %.3g, exp2 rel error %.3g\n", el, ee);
    assert_true(el < 1e-8);
    assert_true(ee < 1e-8);
    assert_true(lathe_dyn_exp2(0) == 1.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dynamics_fast_log2_exp2_accurate),
        cmocka_unit_test(compressor_static_curve_peak_within_0_1_db_of_eq4),
        cmocka_unit_test(compressor_static_curve_rms_within_0_1_db_of_eq4),
        cmocka_unit_test(compressor_attack_release_time_constants_within_5_percent),
        cmocka_unit_test(compressor_external_key_drives_reduction),
        cmocka_unit_test(compressor_sidechain_highpass_lowers_detected_bass),
        cmocka_unit_test(compressor_mix_0_nulls_with_and_without_lookahead),
        cmocka_unit_test(compressor_lookahead_reports_latency_and_catches_transient),
        cmocka_unit_test(compressor_link_100_same_gain_link_0_independent),
        cmocka_unit_test(compressor_link_50_moves_level_half_way),
        cmocka_unit_test(compressor_recovers_from_nan_input),
        cmocka_unit_test(compressor_param_changes_are_smoothed),
        cmocka_unit_test(compressor_auto_makeup_restores_full_scale),
        cmocka_unit_test(compressor_reset_returns_to_silence_and_output_finite),
        cmocka_unit_test(compressor_output_independent_of_block_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
