/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The multiband compressor: Linkwitz-Riley band sum flat (all-pass), band
 * solo responses against the LR4 closed form (-6.02 dB at the crossover,
 * 24 dB/oct), the per-band static curve of Giannoulis et al. 2012 (eq. 4),
 * attack/release time constants fitted in the log domain, stereo link,
 * parallel mix, click-free param changes, NaN recovery and block-size
 * invariance.
 *
 * Levels: in peak mode the detector level of a sine of amplitude A is
 * 20 log10 A; output levels are tone amplitudes (least squares, lt_tone_amp). */
#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE 48000.0

/* Steady-state gain (dB) at `freq` of a mono instance: 0.2 s settle, 0.1 s
 * measured (least squares is exact for a steady sine over any length). */
static double gain_db(const char *const *names, const double *vals, int n, double rate, double freq,
                      double amp) {
    lathe_proc *p = lt_proc("multiband", rate, 1, names, vals, n);
    long settle = (long)(0.2 * rate), meas = (long)(0.1 * rate), total = settle + meas;
    float **b = lt_alloc(1, total);
    lt_sine(b[0], total, rate, freq, amp, 0);
    lathe_proc_process(p, b, NULL, total);
    double a = lt_tone_amp(b[0] + settle, meas, rate, freq, NULL);
    lt_free(b, 1);
    lathe_proc_free(p);
    return lt_db(a / amp);
}

/* No compression (ratio 1 in every band): the bands sum to an all-pass, so
 * |H| = 0 dB at every frequency; 1/6-octave sines 20 Hz-20 kHz plus each
 * crossover and the half-octave points around it. */
static void multiband_band_sum_flat_within_0_01_db(void **s) {
    (void)s;
    const char *names[] = {"bands",       "xover1",      "xover2",      "xover3",
                           "band1.ratio", "band2.ratio", "band3.ratio", "band4.ratio"};
    const double rates[] = {44100, 48000};
    for (int r = 0; r < 2; r++) {
        for (int nb = 2; nb <= 4; nb++) {
            double vals[] = {nb, 120, 1000, 6000, 1, 1, 1, 1};
            double worst = 0, at = 0;
            double fs[80];
            int nf = 0;
            for (double f = 20; f <= 20000 * 1.0001; f *= pow(2.0, 1.0 / 6))
                fs[nf++] = f;
            for (int k = 0; k < nb - 1; k++) {
                fs[nf++] = vals[1 + k];
                fs[nf++] = vals[1 + k] * M_SQRT2;
                fs[nf++] = vals[1 + k] / M_SQRT2;
            }
            for (int i = 0; i < nf; i++) {
                double g = gain_db(names, vals, 8, rates[r], fs[i], 0.25);
                if (fabs(g) > worst) worst = fabs(g), at = fs[i];
            }
            print_message("band sum, %d bands at %g Hz: worst |H| deviation %.2e dB (at %.0f Hz)\n",
                          nb, rates[r], worst, at);
            assert_true(worst < 0.01);
        }
    }
}

/* Analog LR4 magnitudes (dB): |LP|^2 = 1/(1 + r^4) twice = 1/(1 + r^4), r = f/fc. */
static double lr4_lp_db(double f, double fc) {
    double r = f / fc;
    return -20.0 * log10(1.0 + r * r * r * r);
}

/* Band b (0-based) in closed form: the LR4 high-passes of the crossovers below
 * it, its own low-pass (all-passes have |H| = 1). HP(f, fc) = LP(fc, f). */
static double band_db(int b, int nb, const double *xo, double f) {
    double g = 0;
    for (int j = 0; j < b; j++)
        g += lr4_lp_db(xo[j], f);
    if (b < nb - 1) g += lr4_lp_db(f, xo[b]);
    return g;
}

/* Each band soloed: -6.02 dB (+-0.1) at each of its crossovers, >= 40 dB down
 * two octaves outside them; and the passband near the closed form. */
static void check_solo(double rate, int nb, const double *xo) {
    const char *names[] = {"bands",       "xover1",      "xover2",      "xover3",
                           "band1.solo",  "band2.solo",  "band3.solo",  "band4.solo",
                           "band1.ratio", "band2.ratio", "band3.ratio", "band4.ratio"};
    double worst_x = 0, least_stop = 1e9;
    for (int b = 0; b < nb; b++) {
        double vals[12] = {nb, xo[0], xo[1], xo[2], 0, 0, 0, 0, 1, 1, 1, 1};
        vals[4 + b] = 1;
        /* lower crossover (b > 0) and upper crossover (b < nb - 1) */
        for (int side = 0; side < 2; side++) {
            int k = side ? b : b - 1;
            if (k < 0 || k >= nb - 1) continue;
            double fc = xo[k];
            double g = gain_db(names, vals, 12, rate, fc, 0.25);
            double want = band_db(b, nb, xo, fc);
            print_message("%g Hz, %d bands: band %d at crossover %g Hz: %.4f dB (LR4: %.4f)\n",
                          rate, nb, b + 1, fc, g, want);
            worst_x = fmax(worst_x, fabs(g - want));
            assert_true(fabs(g - want) < 0.1);
            assert_true(fabs(g + 6.0206) < 0.1);
            /* two octaves outside the band */
            double fo = side ? fc * 4 : fc / 4;
            if (fo > 0.45 * rate) continue;
            double go = gain_db(names, vals, 12, rate, fo, 0.25);
            print_message("    two octaves %s: %g Hz: %.2f dB\n", side ? "above" : "below", fo, go);
            least_stop = fmin(least_stop, -go);
            assert_true(go <= -40.0);
        }
    }
    print_message("%g Hz %d bands: worst crossover error %.4f dB, least stop-band "
                  "attenuation two octaves out %.1f dB\n",
                  rate, nb, worst_x, least_stop);
}

static void multiband_solo_minus_6_02_db_at_crossovers_40_db_down_two_octaves_out(void **s) {
    (void)s;
    const double a[] = {100, 800, 4000}, b[] = {120, 1000, 6000}, c[] = {250, 0, 0};
    check_solo(48000, 4, a);
    check_solo(44100, 3, b);
    check_solo(48000, 2, c);
}

/* Tone amplitude (dB) over the last 50 ms of a 0.4 s run. */
static double out_level_db(const char *const *names, const double *vals, int n, double freq,
                           double level_db) {
    lathe_proc *p = lt_proc("multiband", RATE, 1, names, vals, n);
    long total = (long)(0.4 * RATE), meas = (long)(0.05 * RATE);
    float **b = lt_alloc(1, total);
    lt_sine(b[0], total, RATE, freq, lt_undb(level_db), 0);
    lathe_proc_process(p, b, NULL, total);
    double a = lt_tone_amp(b[0] + total - meas, meas, RATE, freq, NULL);
    lt_free(b, 1);
    lathe_proc_free(p);
    return lt_db(a);
}

/* Hard knee: a steady tone in band 2 above band 2's threshold is reduced by
 * (L - T)(1 - 1/R), L the band's level (the tone through the band filter,
 * measured with ratio 1); a tone in band 1 below its threshold passes. */
static void multiband_static_reduction_matches_eq4_and_quiet_band_passes(void **s) {
    (void)s;
    const char *names[] = {"xover1",     "xover2",         "band2.threshold", "band2.ratio",
                           "band2.knee", "band2.attack",   "band2.release",   "window",
                           "band2.solo", "band1.threshold"};
    struct {
        double x1, x2, f, in, t, r, solo;
    } cases[] = {
        {100, 10000, 1000, -10, -30, 4, 0}, /* wide band 2: tone level = band level */
        {100, 10000, 1000, -6, -20, 2, 0},
        {120, 1000, 346, -12, -30, 3, 1}, /* default crossovers, band 2 soloed */
        {120, 1000, 346, -3, -24, INFINITY, 1},
    };
    double worst = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double v[] = {cases[k].x1, cases[k].x2, cases[k].t, cases[k].r,    0,
                      5,           50,          5,          cases[k].solo, -20};
        double v1[10];
        memcpy(v1, v, sizeof v);
        v1[3] = 1; /* reference: no compression */
        v1[8] = 1;
        double got = out_level_db(names, v, 10, cases[k].f, cases[k].in);
        /* band level: the tone through band 2 alone, uncompressed */
        double L = out_level_db(names, v1, 10, cases[k].f, cases[k].in);
        double sl = isinf(cases[k].r) ? 1.0 : 1.0 - 1.0 / cases[k].r;
        double want = (L - cases[k].t) * sl;
        /* the band's output level is L - reduction (the other bands leak < -80 dB) */
        double red = L - got;
        double e = fabs(red - want);
        worst = fmax(worst, e);
        print_message("tone %g Hz at %g dB (band level %.4f dB), T %g R %g: reduction %.4f dB, "
                      "eq. 4 %.4f dB\n",
                      cases[k].f, cases[k].in, L, cases[k].t, cases[k].r, red, want);
        assert_true(e < 0.2);
    }
    /* band 1 below its threshold (-20 dB, knee 6): the whole output is the
     * all-pass sum, 0 dB; a 50 Hz tone leaks -30 dB into band 2, far below it */
    const char *n2[] = {"band1.threshold", "band1.ratio", "band2.threshold"};
    double v2[] = {-20, 4, -20};
    double g = out_level_db(n2, v2, 3, 50, -30) + 30;
    print_message("band 1 tone below threshold: gain %.5f dB; worst band 2 error %.4f dB\n", g,
                  worst);
    assert_true(fabs(g) < 0.01);
    /* and the same tone above band 1's threshold is reduced (the test can fail) */
    g = out_level_db(n2, v2, 3, 50, -6) + 6;
    assert_true(g < -3);
}

/* Least-squares slope of log(u[i]) over samples with lo < u < hi and ok[i]. */
static double log_slope(const double *u, const char *ok, long n, double lo, double hi) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
    for (long i = 0; i < n; i++) {
        if (!ok[i] || !(u[i] > lo && u[i] < hi)) continue;
        double y = log(u[i]);
        sx += (double)i, sy += y, sxx += (double)i * i, sxy += (double)i * y, m++;
    }
    assert_true(m > 10);
    return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

/* A 1 kHz burst (-40 -> 0 -> -40 dB) in band 2 soloed; the reduction is
 * out/ref per sample, ref an uncompressed instance (same band signal). */
static void check_times(double attack, double release) {
    const char *names[] = {"xover1",        "xover2",     "band2.threshold",
                           "band2.ratio",   "band2.knee", "band2.attack",
                           "band2.release", "window",     "band2.solo"};
    double vals[] = {100, 10000, -20, 4, 0, attack, release, 1, 1};
    double rv[9];
    memcpy(rv, vals, sizeof vals);
    rv[3] = 1;
    lathe_proc *p = lt_proc("multiband", RATE, 1, names, vals, 9);
    lathe_proc *q = lt_proc("multiband", RATE, 1, names, rv, 9);
    long n1 = (long)(0.1 * RATE), n2 = (long)(12 * attack * 1e-3 * RATE),
         n3 = (long)(12 * release * 1e-3 * RATE), total = n1 + n2 + n3;
    assert_true(total > 0); /* and GCC -O2 knows the sizes below are not negative */
    if (total <= 0) return;
    float **b = lt_alloc(1, total), **r = lt_alloc(1, total);
    lt_sine(b[0], total, RATE, 1000, 1.0, 0);
    for (long i = 0; i < total; i++)
        if (i < n1 || i >= n1 + n2) b[0][i] *= 0.01f;
    memcpy(r[0], b[0], sizeof(float) * (size_t)total);
    lathe_proc_process(p, b, NULL, total);
    lathe_proc_process(q, r, NULL, total);
    double *v = malloc(sizeof(double) * (size_t)total), *u = malloc(sizeof(double) * (size_t)total);
    char *ok = malloc((size_t)total);
    for (long i = 0; i < total; i++) {
        double amp = (i < n1 || i >= n1 + n2) ? 0.01 : 1.0;
        ok[i] = fabs(r[0][i]) > 0.3 * amp;
        v[i] = ok[i] ? -lt_db(b[0][i] / r[0][i]) : 0;
    }
    /* the steady reduction at the end of the burst */
    double g = 0;
    long cnt = 0;
    for (long i = n1 + n2 - 200; i < n1 + n2; i++)
        if (ok[i]) g += v[i], cnt++;
    g /= (double)cnt;
    assert_true(fabs(g - 15.0) < 0.05); /* (0 - (-20)) (1 - 1/4) */
    for (long i = 0; i < n2; i++)
        u[i] = 1.0 - v[n1 + i] / g;
    double tau_a = -1.0 / log_slope(u, ok + n1, n2, 0.1, 0.9) / RATE * 1e3;
    for (long i = 0; i < n3; i++)
        u[i] = v[n1 + n2 + i] / g;
    double tau_r = -1.0 / log_slope(u, ok + n1 + n2, n3, 0.1, 0.9) / RATE * 1e3;
    print_message("band 2 attack %g ms: fitted %.3f ms (%+.2f %%); release %g ms: fitted %.3f ms "
                  "(%+.2f %%)\n",
                  attack, tau_a, 100 * (tau_a / attack - 1), release, tau_r,
                  100 * (tau_r / release - 1));
    assert_true(fabs(tau_a / attack - 1) < 0.10);
    assert_true(fabs(tau_r / release - 1) < 0.10);
    /* reduction_db: the last block's largest reduction (release tail, < g) */
    assert_true(lathe_proc_reduction_db(p) >= 0 && lathe_proc_reduction_db(p) < g);
    free(u);
    free(v);
    free(ok);
    lt_free(b, 1);
    lt_free(r, 1);
    lathe_proc_free(p);
    lathe_proc_free(q);
}

static void multiband_attack_release_time_constants_within_10_percent(void **s) {
    (void)s;
    check_times(25, 200);
    check_times(5, 60);
    check_times(50, 400);
}

/* Link 100 %: the quiet channel gets the loud channel's gain; 0 %: it passes. */
static void multiband_link_100_same_gain_link_0_independent(void **s) {
    (void)s;
    const char *names[] = {"xover1",     "xover2",       "band2.threshold", "band2.ratio",
                           "band2.knee", "band2.attack", "band2.release",   "link"};
    long total = (long)(0.4 * RATE), meas = (long)(0.05 * RATE);
    for (int linked = 0; linked < 2; linked++) {
        double vals[] = {100, 10000, -20, 4, 0, 2, 50, linked ? 100 : 0};
        lathe_proc *p = lt_proc("multiband", RATE, 2, names, vals, 8);
        float **b = lt_alloc(2, total);
        lt_sine(b[0], total, RATE, 1000, lt_undb(-4), 0);
        lt_sine(b[1], total, RATE, 1000, lt_undb(-30), 0);
        lathe_proc_process(p, b, NULL, total);
        double gl = lt_db(lt_tone_amp(b[0] + total - meas, meas, RATE, 1000, NULL)) + 4;
        double gr = lt_db(lt_tone_amp(b[1] + total - meas, meas, RATE, 1000, NULL)) + 30;
        double loud = -12.0; /* -(-4 - (-20)) (1 - 1/4) */
        print_message("link %d %%: gain L %.4f dB, R %.4f dB (loud channel formula %.1f dB)\n",
                      linked ? 100 : 0, gl, gr, loud);
        assert_true(fabs(gl - loud) < 0.1);
        if (linked)
            assert_true(fabs(gl - gr) < 1e-3);
        else
            assert_true(fabs(gr) < 0.01);
        lt_free(b, 2);
        lathe_proc_free(p);
    }
}

/* Mix 0 % with heavy compression: the dry path is the all-pass band sum, so
 * the response stays flat (no comb filtering against a delayed dry). */
static void multiband_mix_0_is_flat_despite_compression(void **s) {
    (void)s;
    const char *names[] = {"mix",         "band1.threshold", "band2.threshold", "band3.threshold",
                           "band1.ratio", "band2.ratio",     "band3.ratio"};
    double vals[] = {0, -50, -50, -50, 10, 10, 10};
    double worst = 0;
    for (double f = 30; f < 16000; f *= 1.5)
        worst = fmax(worst, fabs(gain_db(names, vals, 7, RATE, f, 0.5)));
    /* mix 100 % with the same settings does compress (the test can fail) */
    vals[0] = 100;
    double wet = gain_db(names, vals, 7, RATE, 1000, 0.5);
    print_message("mix 0 %%: worst |H| deviation %.2e dB; mix 100 %%: %.2f dB at 1 kHz\n", worst,
                  wet);
    assert_true(worst < 0.01);
    assert_true(wet < -20);
}

/* band2.makeup 0 -> +12 dB and output 0 -> -6 dB mid-tone: the gain ramps
 * (no sample step larger than the steady sine's own). */
static void multiband_param_changes_are_smoothed(void **s) {
    (void)s;
    const char *names[] = {"xover1", "xover2", "band2.ratio"};
    double vals[] = {100, 10000, 1};
    lathe_proc *p = lt_proc("multiband", RATE, 1, names, vals, 3);
    const lathe_proc_desc *d = lathe_processor_find("multiband");
    long n = (long)(0.3 * RATE), half = n / 2;
    const double a = 0.1;
    float **b = lt_alloc(1, n);
    lt_sine(b[0], n, RATE, 1000, a, 0);
    lathe_proc_process(p, b, NULL, half);
    lathe_proc_set(p, lathe_proc_param_index(d, "band2.makeup"), 12);
    lathe_proc_set(p, lathe_proc_param_index(d, "output"), -6);
    float *io[1] = {b[0] + half};
    lathe_proc_process(p, io, NULL, n - half);
    /* largest |dy| of a sine of amplitude A: A 2 sin(pi f / rate) */
    const double step = 2 * sin(M_PI * 1000 / RATE);
    double worst = 0;
    for (long i = half; i < n - 1; i++)
        worst = fmax(worst, fabs((double)b[0][i + 1] - b[0][i]));
    double final = lt_tone_amp(b[0] + n - 2400, 2400, RATE, 1000, NULL);
    print_message("after +12/-6 dB: largest step %.5f (sine bound at the final level %.5f), "
                  "final gain %.3f dB\n",
                  worst, final * step, lt_db(final / a));
    assert_true(fabs(lt_db(final / a) - 6.0) < 0.05);
    assert_true(worst < 1.01 * final * step);
    lt_free(b, 1);
    lathe_proc_free(p);
}

/* Crossovers given out of order are sorted (same output, bit for bit);
 * a bypassed band passes uncompressed while its neighbours still compress. */
static void multiband_crossovers_sorted_and_bypass_passes_band(void **s) {
    (void)s;
    const char *names[] = {"xover1", "xover2", "band2.threshold", "band2.ratio", "band2.bypass"};
    double va[] = {120, 1000, -40, 8, 0}, vb[] = {1000, 120, -40, 8, 0};
    long n = (long)(0.3 * RATE);
    float **a = lt_alloc(1, n), **b = lt_alloc(1, n);
    uint64_t seed = 99;
    lt_noise(a[0], n, 0.5, &seed);
    memcpy(b[0], a[0], sizeof(float) * (size_t)n);
    lathe_proc *pa = lt_proc("multiband", RATE, 1, names, va, 5);
    lathe_proc *pb = lt_proc("multiband", RATE, 1, names, vb, 5);
    lathe_proc_process(pa, a, NULL, n);
    lathe_proc_process(pb, b, NULL, n);
    assert_memory_equal(a[0], b[0], sizeof(float) * (size_t)n);
    lathe_proc_free(pa);
    lathe_proc_free(pb);
    lt_free(a, 1);
    lt_free(b, 1);
    /* a 346 Hz tone at -6 dB: band 2 reduced by ~30 dB (the output, with the
     * skirts of bands 1 and 3, falls > 20 dB); bypassed: 0 dB */
    double on = gain_db(names, va, 5, RATE, 346, 0.5);
    va[4] = 1;
    double off = gain_db(names, va, 5, RATE, 346, 0.5);
    print_message("band 2 at 346 Hz: %.2f dB compressed, %.5f dB bypassed\n", on, off);
    assert_true(on < -20);
    assert_true(fabs(off) < 0.01);
}

static void multiband_reset_returns_to_silence_latency_0(void **s) {
    (void)s;
    lathe_proc *p = lt_proc("multiband", RATE, 2, NULL, NULL, 0);
    assert_int_equal(lathe_proc_latency(p), 0);
    long n = 4800;
    float **b = lt_alloc(2, n);
    lt_sine(b[0], n, RATE, 300, 0.9, 0);
    lt_sine(b[1], n, RATE, 3000, 0.9, 0);
    lathe_proc_process(p, b, NULL, n);
    assert_true(lathe_proc_reduction_db(p) > 1);
    lathe_proc_reset(p);
    memset(b[0], 0, sizeof(float) * (size_t)n);
    memset(b[1], 0, sizeof(float) * (size_t)n);
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) == 0 && lt_peak(b[1], n) == 0);
    assert_true(lathe_proc_reduction_db(p) == 0);
    lt_free(b, 2);
    lathe_proc_free(p);
}

static void multiband_recovers_from_nan_and_is_block_size_invariant(void **s) {
    (void)s;
    const char *names[] = {"bands", "detect", "link", "band2.threshold", "band3.threshold"};
    double vals[][5] = {{4, 0, 100, -30, -30}, {3, 1, 0, -30, -30}, {2, 0, 50, -30, -30}};
    for (int k = 0; k < 3; k++)
        lt_check_recovers_from_nan("multiband", RATE, 997, names, vals[k], 5);
    /* bad samples enter as zeros: every output sample stays finite */
    {
        lathe_proc *p = lt_proc("multiband", RATE, 2, names, vals[0], 5);
        long m = 4096;
        float **b = lt_alloc(2, m);
        lt_sine(b[0], m, RATE, 997, 0.5, 0);
        lt_sine(b[1], m, RATE, 997, 0.5, 0);
        b[0][100] = NAN, b[0][101] = INFINITY, b[1][2000] = -INFINITY;
        lathe_proc_process(p, b, NULL, m);
        for (long i = 0; i < m; i++)
            assert_true(isfinite(b[0][i]) && isfinite(b[1][i]));
        lt_free(b, 2);
        lathe_proc_free(p);
    }
    long n = (long)(0.5 * RATE);
    float **in = lt_alloc(2, n);
    uint64_t seed = 12345;
    lt_noise(in[0], n, 0.7, &seed);
    lt_noise(in[1], n, 0.3, &seed);
    for (int k = 0; k < 3; k++)
        lt_check_block_sizes("multiband", RATE, names, vals[k], 5, in, n);
    lt_free(in, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(multiband_band_sum_flat_within_0_01_db),
        cmocka_unit_test(multiband_solo_minus_6_02_db_at_crossovers_40_db_down_two_octaves_out),
        cmocka_unit_test(multiband_static_reduction_matches_eq4_and_quiet_band_passes),
        cmocka_unit_test(multiband_attack_release_time_constants_within_10_percent),
        cmocka_unit_test(multiband_link_100_same_gain_link_0_independent),
        cmocka_unit_test(multiband_mix_0_is_flat_despite_compression),
        cmocka_unit_test(multiband_param_changes_are_smoothed),
        cmocka_unit_test(multiband_crossovers_sorted_and_bypass_passes_band),
        cmocka_unit_test(multiband_reset_returns_to_silence_latency_0),
        cmocka_unit_test(multiband_recovers_from_nan_and_is_block_size_invariant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
