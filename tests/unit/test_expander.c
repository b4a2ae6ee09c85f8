/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The expander's static curve (the eq. 4 soft knee of Giannoulis et al. 2012,
 * mirrored for downward expansion, with the range floor) and its attack,
 * hold and release; the gate's open/close timing, hysteresis against
 * chatter, and the external key for both.
 *
 * Levels: in peak mode a sine of amplitude A reads 20 log10 A. The gain per
 * sample is measured as out/in on square waves (|x| constant). */
#include "lathe_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/biquad.h"

#define RATE 48000.0

/* Expander output level, written out independently: below the knee the
 * output falls r dB per input dB, quadratic joint across the knee, floor. */
static double exp_curve_out(double x, double t, double r, double w, double range) {
    double att;
    if (2.0 * (x - t) > w)
        att = 0;
    else if (2.0 * (x - t) < -w)
        att = (r - 1.0) * (t - x);
    else {
        double u = x - t - w / 2.0;
        att = (r - 1.0) * u * u / (2.0 * w);
    }
    if (att > -range) att = -range;
    return x - att;
}

static double steady_out_db(const char *proc, const char *const *names, const double *vals, int n,
                            double level_db, double freq) {
    lathe_proc *p = lt_proc(proc, RATE, 1, names, vals, n);
    long total = (long)(0.3 * RATE), meas = (long)(0.05 * RATE);
    float **b = lt_alloc(1, total);
    lt_sine(b[0], total, RATE, freq, lt_undb(level_db), 0);
    lathe_proc_process(p, b, NULL, total);
    double a = lt_tone_amp(b[0] + total - meas, meas, RATE, freq, NULL);
    lt_free(b, 1);
    lathe_proc_free(p);
    return lt_db(a);
}

static void check_exp_curve(double t, double r, double w, double range) {
    const char *names[] = {"threshold", "ratio", "knee",    "range",
                           "attack",    "hold",  "release", "window"};
    double vals[] = {t, r, w, range, 1, 0, 20, 5};
    double worst = 0;
    for (int pass = 0; pass < 2; pass++) {
        double lo = pass ? t - w / 2 - 0.5 : -90, hi = pass ? fmin(t + w / 2 + 0.5, 0) : 0;
        double step = pass ? 0.25 : 1.0;
        for (double in = lo; in <= hi + 1e-9; in += step) {
            double want = exp_curve_out(in, t, r, w, range);
            double got = steady_out_db("expander", names, vals, 8, in, 1000);
            double e = fabs(got - want);
            worst = fmax(worst, e);
            if (e > 0.1)
                fail_msg("T %g R %g W %g range %g: in %.2f dB: out %.3f dB, expected %.3f", t, r, w,
                         range, in, got, want);
        }
    }
    print_message("expander T %g R %g W %g range %g: worst error %.4f dB\n", t, r, w, range, worst);
}

static void expander_static_curve_and_range_floor_within_0_1_db(void **s) {
    (void)s;
    check_exp_curve(-40, 2, 0, -30);
    check_exp_curve(-30, 4, 10, -INFINITY);
    check_exp_curve(-50, 1.5, 6, -20);
    check_exp_curve(-20, 10, 24, -60);
}

static void square(float *x, long n, double amp) {
    for (long i = 0; i < n; i++)
        x[i] = (float)((i / 48) % 2 ? -amp : amp);
}

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

/* -10 dB, then -60 dB (closing: hold, then release), then -10 dB (attack). */
static void expander_attack_hold_release_times(void **s) {
    (void)s;
    const double attack = 5, hold = 30, release = 80, window = 1;
    const char *names[] = {"threshold", "ratio", "knee",    "range",
                           "attack",    "hold",  "release", "window"};
    double vals[] = {-40, 2, 0, -100, attack, hold, release, window};
    lathe_proc *p = lt_proc("expander", RATE, 1, names, vals, 8);
    long n1 = 4800, n2 = (long)(RATE * 1.2), n3 = (long)(RATE * 0.2), total = n1 + n2 + n3;
    float **b = lt_alloc(1, total), **in = lt_alloc(1, total);
    square(in[0], n1, lt_undb(-10));
    square(in[0] + n1, n2, lt_undb(-60));
    square(in[0] + n1 + n2, n3, lt_undb(-10));
    memcpy(b[0], in[0], sizeof(float) * (size_t)total);
    lathe_proc_process(p, b, NULL, total);
    double *v = malloc(sizeof(double) * (size_t)total);
    for (long i = 0; i < total; i++)
        v[i] = -lt_db(b[0][i] / in[0][i]); /* attenuation */
    const double g = 20.0;                 /* (2-1)(-40+60) */
    long start = -1;
    for (long i = n1; i < n1 + n2 && start < 0; i++)
        if (v[i] > 1e-6) start = i - n1;
    double start_ms = start * 1e3 / RATE;
    double *u = malloc(sizeof(double) * (size_t)total);
    for (long i = 0; i < n2; i++)
        u[i] = 1.0 - v[n1 + i] / g;
    double tau_r = -1.0 / log_slope(u, n2, 0.1, 0.9) / RATE * 1e3;
    for (long i = 0; i < n3; i++)
        u[i] = v[n1 + n2 + i] / g;
    double tau_a = -1.0 / log_slope(u, n3, 0.1, 0.9) / RATE * 1e3;
    print_message("release starts %.3f ms after the drop (window %g + hold %g); release tau "
                  "%.3f ms, attack tau %.3f ms; settled attenuation %.4f dB\n",
                  start_ms, window, hold, tau_r, tau_a, v[n1 + n2 - 1]);
    assert_true(fabs(start_ms - (window + hold)) < 1.0);
    assert_true(fabs(tau_r / release - 1) < 0.05);
    assert_true(fabs(tau_a / attack - 1) < 0.05);
    assert_true(fabs(v[n1 + n2 - 1] - g) < 0.01);
    free(u);
    free(v);
    lt_free(b, 1);
    lt_free(in, 1);
    lathe_proc_free(p);
}

/* A 10 kHz tone (10007 Hz, so that the sample grid meets its peaks: the
 * detector reads sample peaks) at -20 dB with threshold -30: a 1 kHz
 * sidechain low-pass lowers the detected level by the filter's exact
 * magnitude, so the tone is expanded. */
static void expander_sidechain_lowpass_follows_filter_magnitude(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio",   "range",  "attack",
                           "hold",      "release", "window", "sc_lpf"};
    double vals[] = {-30, 2, -60, 1, 0, 20, 5, 1000};
    lathe_bq lp;
    lathe_bq_design(&lp, LATHE_BQ_LOWPASS, RATE, 1000, M_SQRT1_2, 0);
    double det = -20 + lathe_bq_mag_db(&lp, RATE, 10007);
    double want = -20 + exp_curve_out(det, -30, 2, 0, -60) - det;
    double got = steady_out_db("expander", names, vals, 8, -20, 10007);
    print_message("sc_lpf 1 kHz, 10 kHz tone: out %.4f dB, expected %.4f dB\n", got, want);
    assert_true(fabs(got - want) < 0.1);
    assert_true(want < -25); /* the filter matters */
}

/* gate: per-sample gain of a square wave that goes -60 -> -10 -> -60 dB */
static void gate_opens_and_closes_at_set_times(void **s) {
    (void)s;
    const double attack = 5, hold = 50, release = 100, window = 1;
    const char *names[] = {"threshold", "hysteresis", "range", "attack",
                           "hold",      "release",    "window"};
    double vals[] = {-40, 3, -80, attack, hold, release, window};
    lathe_proc *p = lt_proc("gate", RATE, 1, names, vals, 7);
    long n1 = 4800, n2 = 14400, n3 = 24000, total = n1 + n2 + n3;
    float **b = lt_alloc(1, total), **in = lt_alloc(1, total);
    square(in[0], n1, lt_undb(-60));
    square(in[0] + n1, n2, lt_undb(-10));
    square(in[0] + n1 + n2, n3, lt_undb(-60));
    memcpy(b[0], in[0], sizeof(float) * (size_t)total);
    lathe_proc_process(p, b, NULL, total);
    const double fl = lt_undb(-80);
    long open_start = -1, open_full = -1, close_start = -1, close_full = -1;
    for (long i = 0; i < total; i++) {
        double g = b[0][i] / in[0][i];
        if (i < n1) assert_true(fabs(g - fl) < 1e-6 * fl + 1e-9);
        if (open_start < 0 && g > fl * 1.001) open_start = i;
        if (open_full < 0 && g > 0.99999) open_full = i;
        if (i >= n1 + n2 && close_start < 0 && g < 0.99999) close_start = i;
        if (i >= n1 + n2 && close_full < 0 && g < fl * 1.001) close_full = i;
    }
    double ms = 1e3 / RATE;
    double os = (open_start - n1) * ms, of = (open_full - n1) * ms;
    double cs = (close_start - n1 - n2) * ms, cf = (close_full - n1 - n2) * ms;
    print_message("gate: opens %.3f ms after the rise, fully open at %.3f ms (attack %g); "
                  "closing starts %.3f ms after the fall (hold %g), closed at %.3f ms "
                  "(hold + release %g)\n",
                  os, of, attack, cs, hold, cf, hold + release);
    assert_true(fabs(os) < 0.1);
    assert_true(fabs(of - attack) < 1.0);
    assert_true(fabs(cs - hold) < window + 1.0);
    assert_true(fabs(cf - (hold + release)) < window + 1.0);
    assert_true(lathe_proc_reduction_db(p) > 79.9);
    lt_free(b, 1);
    lt_free(in, 1);
    lathe_proc_free(p);
}

/* Number of open/close changes for a carrier whose level wobbles +-1 dB
 * (3 Hz) around the threshold, over 2 s. */
static int gate_changes(double hysteresis) {
    const char *names[] = {"threshold", "hysteresis", "range", "attack",
                           "hold",      "release",    "window"};
    double vals[] = {-40, hysteresis, -60, 0.5, 0, 5, 1};
    lathe_proc *p = lt_proc("gate", RATE, 1, names, vals, 7);
    long n = (long)(2 * RATE);
    float **b = lt_alloc(1, n), **in = lt_alloc(1, n);
    for (long i = 0; i < n; i++) {
        double lev = -40 + sin(2 * M_PI * 3 * (double)i / RATE - 0.5);
        in[0][i] = b[0][i] = (float)(((i / 48) % 2 ? -1 : 1) * lt_undb(lev));
    }
    lathe_proc_process(p, b, NULL, n);
    const double mid = (1 + lt_undb(-60)) / 2;
    int changes = 0, state = 0;
    for (long i = 0; i < n; i++) {
        int now = b[0][i] / in[0][i] > mid;
        if (now != state) changes++, state = now;
    }
    lt_free(b, 1);
    lt_free(in, 1);
    lathe_proc_free(p);
    return changes;
}

static void gate_hovering_level_with_hysteresis_does_not_chatter(void **s) {
    (void)s;
    int with = gate_changes(3), without = gate_changes(0);
    print_message("level wobbling +-1 dB at the threshold: %d state changes with 3 dB "
                  "hysteresis, %d without\n",
                  with, without);
    assert_true(with <= 1);
    assert_true(without >= 6); /* the measurement sees chatter when there is some */
}

/* Loud input, key silent then loud: the key alone opens the gate / expander. */
static void check_key(const char *proc, const char *const *names, const double *vals, int n,
                      double closed_db) {
    lathe_proc *p = lt_proc(proc, RATE, 1, names, vals, n);
    long half = (long)(0.5 * RATE), meas = (long)(0.1 * RATE);
    float **b = lt_alloc(1, 2 * half), **k = lt_alloc(1, 2 * half);
    lt_sine(b[0], 2 * half, RATE, 440, lt_undb(-20), 0);
    lt_sine(k[0] + half, half, RATE, 1000, lt_undb(-10), 0);
    lathe_proc_process(p, b, (const float *const *)k, 2 * half);
    double off = lt_db(lt_tone_amp(b[0] + half - meas, meas, RATE, 440, NULL));
    double on = lt_db(lt_tone_amp(b[0] + 2 * half - meas, meas, RATE, 440, NULL));
    print_message("%s keyed: key silent -> %.3f dB (expected %.1f), key loud -> %.4f dB "
                  "(expected -20)\n",
                  proc, off, -20 + closed_db, on);
    assert_true(fabs(off - (-20 + closed_db)) < 0.1);
    assert_true(fabs(on - -20) < 0.01);
    lt_free(b, 1);
    lt_free(k, 1);
    lathe_proc_free(p);
}

static void gate_and_expander_key_drives_the_gain(void **s) {
    (void)s;
    const char *gn[] = {"threshold", "range", "attack", "hold", "release"};
    double gv[] = {-40, -70, 1, 10, 50};
    check_key("gate", gn, gv, 5, -70);
    const char *en[] = {"threshold", "ratio", "range", "attack", "hold", "release"};
    double ev[] = {-40, 4, -50, 1, 10, 30};
    check_key("expander", en, ev, 6, -50);
}

/* Threshold -40 -> -60 dB at once with 0.01 ms attack: the gain still moves
 * smoothly (the threshold is smoothed), and ends at unity. */
static void expander_param_changes_are_smoothed(void **s) {
    (void)s;
    const char *names[] = {"threshold", "ratio", "range", "attack", "hold", "release"};
    double vals[] = {-40, 2, -60, 0.01, 0, 1};
    lathe_proc *p = lt_proc("expander", RATE, 1, names, vals, 6);
    long n = 4800 + 24000;
    float **b = lt_alloc(1, n), **in = lt_alloc(1, n);
    square(in[0], n, lt_undb(-50));
    memcpy(b[0], in[0], sizeof(float) * (size_t)n);
    lathe_proc_process(p, b, NULL, 4800);
    double before = lt_db(b[0][4799] / in[0][4799]);
    lathe_proc_set(p, lathe_proc_param_index(lathe_proc_descriptor(p), "threshold"), -60);
    float *rest[1] = {b[0] + 4800};
    lathe_proc_process(p, rest, NULL, n - 4800);
    double step = 0;
    for (long i = 4801; i < n; i++)
        step = fmax(step, fabs(lt_db(b[0][i] / in[0][i]) - lt_db(b[0][i - 1] / in[0][i - 1])));
    double final = lt_db(b[0][n - 1] / in[0][n - 1]);
    print_message("gain %.3f dB before, largest per-sample step %.4f dB, final %.4f dB\n", before,
                  step, final);
    assert_true(fabs(before - -10) < 0.01);
    assert_true(step < 0.05);
    assert_true(fabs(final) < 0.01);
    lt_free(b, 1);
    lt_free(in, 1);
    lathe_proc_free(p);
}


static void expander_and_gate_recover_from_nan_input(void **s) {
    (void)s;
    const char *names[] = {"sc_hpf", "sc_lpf", "threshold"};
    double vals[] = {100, 5000, 0}; /* threshold 0 dB: the -6 dB tone is expanded */
    lt_check_recovers_from_nan("expander", RATE, 997, names, vals, 3);
    lt_check_recovers_from_nan("gate", RATE, 997, names, vals, 3);
    const char *rn[] = {"detect", "link"};
    double rv[] = {1, 0};
    lt_check_recovers_from_nan("expander", RATE, 997, rn, rv, 2);
}

/* Noise with extreme settings: finite output, identical bytes for odd block
 * sizes, and reset returns to silence (gate closed, expander attenuation 0). */
static void check_blocks_finite_reset(const char *proc, const char *const *names,
                                      const double *vals, int nv) {
    lathe_proc *a = lt_proc(proc, RATE, 2, names, vals, nv);
    lathe_proc *b = lt_proc(proc, RATE, 2, names, vals, nv);
    long n = 30000;
    float **x = lt_alloc(2, n), **y = lt_alloc(2, n);
    uint64_t seed = 9;
    for (int c = 0; c < 2; c++) {
        lt_noise(x[c], n, 1.0, &seed);
        for (long i = 0; i < n; i++)
            x[c][i] *= (float)pow(sin(i * 3e-4 * (c + 1)), 4);
        memcpy(y[c], x[c], sizeof(float) * (size_t)n);
    }
    lathe_proc_process(a, x, NULL, n);
    for (long off = 0; off < n;) {
        long m = off % 2 ? 41 : 2;
        if (off + m > n) m = n - off;
        float *blk[2] = {y[0] + off, y[1] + off};
        lathe_proc_process(b, blk, NULL, m);
        off += m;
    }
    for (int c = 0; c < 2; c++) {
        assert_memory_equal(x[c], y[c], sizeof(float) * (size_t)n);
        for (long i = 0; i < n; i++)
            assert_true(isfinite(x[c][i]));
    }
    lathe_proc_reset(a);
    memset(x[0], 0, sizeof(float) * (size_t)n);
    memset(x[1], 0, sizeof(float) * (size_t)n);
    lathe_proc_process(a, x, NULL, 1000);
    assert_true(lt_peak(x[0], 1000) == 0 && lt_peak(x[1], 1000) == 0);
    lt_free(x, 2);
    lt_free(y, 2);
    lathe_proc_free(a);
    lathe_proc_free(b);
}

static void expander_and_gate_block_size_independent_finite_and_reset(void **s) {
    (void)s;
    const char *en[] = {"threshold", "ratio",  "range",  "knee",  "hold",
                        "link",      "sc_hpf", "sc_lpf", "detect"};
    double ev[] = {-20, 20, -INFINITY, 12, 5, 50, 100, 5000, 1};
    check_blocks_finite_reset("expander", en, ev, 9);
    const char *gn[] = {"threshold", "range", "hold", "link", "sc_hpf", "release"};
    double gv[] = {-20, -INFINITY, 5, 0, 300, 10};
    check_blocks_finite_reset("gate", gn, gv, 6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expander_static_curve_and_range_floor_within_0_1_db),
        cmocka_unit_test(expander_attack_hold_release_times),
        cmocka_unit_test(expander_sidechain_lowpass_follows_filter_magnitude),
        cmocka_unit_test(gate_opens_and_closes_at_set_times),
        cmocka_unit_test(gate_hovering_level_with_hysteresis_does_not_chatter),
        cmocka_unit_test(gate_and_expander_key_drives_the_gain),
        cmocka_unit_test(expander_param_changes_are_smoothed),
        cmocka_unit_test(expander_and_gate_recover_from_nan_input),
        cmocka_unit_test(expander_and_gate_block_size_independent_finite_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
