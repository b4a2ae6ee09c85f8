/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The reverb: RT60 measured by Schroeder backward integration (ISO 3382-1
 * T30: fit -5 to -35 dB, extrapolate to -60 dB) against the set decay;
 * frequency-dependent decay with damping; L/R decorrelation; mix 0 = dry;
 * stability over a minute of noise; the tail ends in exact zeros without
 * denormals. */
#include "lathe_test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/biquad.h"

#define NAMES(...) ((const char *const[]){__VA_ARGS__})
#define VALS(...) ((const double[]){__VA_ARGS__})

static const double RATE = 48000;

/* Stereo impulse response (impulse in both channels), mix 100 %. */
static float **ir(double decay, double damping, double width, long n)
{
    lathe_proc *p = lt_proc("reverb", RATE, 2, NAMES("decay", "damping", "width", "mix", "predelay"),
                            VALS(decay, damping, width, 100, 0), 5);
    float **b = lt_alloc(2, n);
    b[0][0] = b[1][0] = 1.0f;
    lathe_proc_process(p, b, NULL, n);
    lathe_proc_free(p);
    return b;
}

/* T30 (ISO 3382-1): Schroeder energy decay curve, least-squares line through
 * the part between -5 and -35 dB, extrapolated to 60 dB. */
static double t30(const float *x, long n)
{
    double *edc = malloc((size_t)n * sizeof *edc);
    assert_non_null(edc);
    double acc = 0;
    for (long i = n - 1; i >= 0; i--) {
        acc += (double)x[i] * x[i];
        edc[i] = acc;
    }
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    long m = 0;
    for (long i = 0; i < n; i++) {
        double db = 10 * log10(edc[i] / edc[0]);
        if (db > -5) continue;
        if (db < -35) break;
        double t = (double)i / RATE;
        sx += t, sy += db, sxx += t * t, sxy += t * db, m++;
    }
    free(edc);
    assert_true(m > 100);
    double slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
    return -60.0 / slope;
}

static void reverb_t30_matches_decay_within_15_percent(void **s)
{
    (void)s;
    const double decays[] = {0.5, 1.8, 4.0};
    for (int k = 0; k < 3; k++) {
        long n = (long)((1.3 * decays[k] + 0.5) * RATE);
        float **b = ir(decays[k], 0, 100, n);
        for (int c = 0; c < 2; c++) {
            double t = t30(b[c], n);
            print_message("decay %.1f s: T30 ch%d %.4f s (%+.2f %%)\n", decays[k], c, t,
                          100 * (t / decays[k] - 1));
            if (fabs(t / decays[k] - 1) > 0.15)
                fail_msg("decay %g s: T30 %g s", decays[k], t);
        }
        /* broadband: the mono sum as well */
        for (long i = 0; i < n; i++) b[0][i] += b[1][i];
        double t = t30(b[0], n);
        if (fabs(t / decays[k] - 1) > 0.15) fail_msg("decay %g s: T30 of L+R %g s", decays[k], t);
        lt_free(b, 2);
    }
}

/* T30 of x filtered by a biquad (a band of interest). */
static double t30_band(const float *x, long n, lathe_bq_type t, double f0)
{
    lathe_bq c;
    lathe_bq_state st = {0, 0};
    lathe_bq_design(&c, t, RATE, f0, M_SQRT1_2, 0);
    float *y = malloc((size_t)n * sizeof *y);
    assert_non_null(y);
    for (long i = 0; i < n; i++) y[i] = (float)lathe_bq_tick(&c, &st, x[i]);
    double r = t30(y, n);
    free(y);
    return r;
}

static void reverb_damping_shortens_high_frequency_decay(void **s)
{
    (void)s;
    const double decay = 2.0;
    long n = (long)((1.3 * decay + 0.5) * RATE);
    /* no damping: lows and highs decay alike */
    float **b = ir(decay, 0, 100, n);
    double lo = t30_band(b[0], n, LATHE_BQ_LOWPASS, 300), hi = t30_band(b[0], n, LATHE_BQ_HIGHPASS, 8000);
    print_message("damping 0: T30 <300 Hz %.3f s, >8 kHz %.3f s\n", lo, hi);
    assert_true(fabs(lo / decay - 1) < 0.15 && fabs(hi / decay - 1) < 0.15);
    lt_free(b, 2);
    /* damping 100 %: RT60 at Nyquist is 0.1 x decay; at 8 kHz the one-pole
     * gives a clearly shorter decay, while the lows keep `decay` */
    b = ir(decay, 100, 100, n);
    lo = t30_band(b[0], n, LATHE_BQ_LOWPASS, 300);
    hi = t30_band(b[0], n, LATHE_BQ_HIGHPASS, 8000);
    print_message("damping 100: T30 <300 Hz %.3f s, >8 kHz %.3f s\n", lo, hi);
    assert_true(fabs(lo / decay - 1) < 0.15);
    assert_true(hi < 0.5 * lo);
    lt_free(b, 2);
}

static double correlation(const float *a, const float *b, long n)
{
    double ab = 0, aa = 0, bb = 0;
    for (long i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / sqrt(aa * bb);
}

static void reverb_stereo_decorrelated_at_full_width(void **s)
{
    (void)s;
    long n = (long)(2.0 * RATE);
    float **b = ir(1.8, 40, 100, n);
    double r = correlation(b[0], b[1], n);
    print_message("L/R correlation at width 100 %%: %.4f\n", r);
    assert_true(fabs(r) < 0.5);
    lt_free(b, 2);
    b = ir(1.8, 40, 0, n);
    r = correlation(b[0], b[1], n);
    assert_true(r > 0.9999); /* width 0: mono */
    lt_free(b, 2);
}

static void reverb_mix_0_is_the_dry_signal_exactly(void **s)
{
    (void)s;
    lathe_proc *p = lt_proc("reverb", RATE, 2, NAMES("mix"), VALS(0), 1);
    long n = 24000;
    float **b = lt_alloc(2, n), **ref = lt_alloc(2, n);
    uint64_t seed = 11;
    for (int c = 0; c < 2; c++) {
        lt_noise(b[c], n, 1.0, &seed);
        memcpy(ref[c], b[c], (size_t)n * sizeof(float));
    }
    lathe_proc_process(p, b, NULL, n);
    for (int c = 0; c < 2; c++) assert_memory_equal(b[c], ref[c], (size_t)n * sizeof(float));
    lt_free(b, 2);
    lt_free(ref, 2);
    lathe_proc_free(p);
}

static void reverb_60_s_of_noise_stays_finite_and_bounded(void **s)
{
    (void)s;
    lathe_proc *p = lt_proc("reverb", RATE, 2, NAMES("decay", "damping", "size", "mix"),
                            VALS(20, 0, 100, 100), 4);
    long blk = 48000;
    float **b = lt_alloc(2, blk);
    uint64_t seed = 5;
    double peak = 0, last_rms = 0;
    for (int sec = 0; sec < 60; sec++) {
        lt_noise(b[0], blk, 1.0, &seed);
        lt_noise(b[1], blk, 1.0, &seed);
        lathe_proc_process(p, b, NULL, blk);
        for (int c = 0; c < 2; c++)
            for (long i = 0; i < blk; i++)
                if (!isfinite(b[c][i])) fail_msg("non-finite output at %d s", sec);
        peak = fmax(peak, fmax(lt_peak(b[0], blk), lt_peak(b[1], blk)));
        last_rms = lt_rms(b[0], blk);
    }
    print_message("60 s noise, decay 20 s: peak %.2f, final rms %.3f\n", peak, last_rms);
    /* a stable network settles to a steady level; a blow-up would grow without bound */
    assert_true(peak < 100.0 && last_rms > 0.01);
    lt_free(b, 2);
    lathe_proc_free(p);
}

static void reverb_tail_decays_to_exact_zero_without_denormals(void **s)
{
    (void)s;
    /* This test runs without FTZ/DAZ: subnormals would show in the output. */
    lathe_proc *p = lt_proc("reverb", RATE, 2, NAMES("decay", "damping", "mix", "low_cut"),
                            VALS(0.5, 50, 100, 80), 4);
    long n = 10 * 48000;
    float **b = lt_alloc(2, n);
    uint64_t seed = 9;
    lt_noise(b[0], 4800, 1.0, &seed);
    lt_noise(b[1], 4800, 1.0, &seed);
    lathe_proc_process(p, b, NULL, n);
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++)
            if (fpclassify(b[c][i]) == FP_SUBNORMAL) fail_msg("subnormal output at frame %ld", i);
    /* 0.5 s RT60 reaches the -360 dB floor after ~3 s: from then on, exact zeros */
    for (int c = 0; c < 2; c++)
        for (long i = 8 * 48000; i < n; i++)
            if (b[c][i] != 0.0f) fail_msg("ch%d frame %ld: %g after the tail", c, i, b[c][i]);
    /* tail_s bounds the -90 dB point of the output */
    double tail = lathe_proc_tail_s(p), peak = lt_peak(b[0], n);
    long last = 0;
    for (long i = 0; i < n; i++)
        if (fabs(b[0][i]) > peak * lt_undb(-90)) last = i;
    print_message("tail_s %.3f s, last sample above -90 dB re peak at %.3f s\n", tail,
                  (double)last / RATE);
    assert_true((double)last / RATE < tail + 0.1);
    lt_free(b, 2);
    lathe_proc_free(p);
}

static void reverb_reset_returns_to_silence(void **s)
{
    (void)s;
    lathe_proc *p = lt_proc("reverb", RATE, 2, NAMES("mix"), VALS(100), 1);
    long n = 9600;
    float **b = lt_alloc(2, n);
    uint64_t seed = 1;
    lt_noise(b[0], n, 1.0, &seed);
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) > 0.01);
    lathe_proc_reset(p);
    memset(b[0], 0, (size_t)n * sizeof(float));
    memset(b[1], 0, (size_t)n * sizeof(float));
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) == 0.0 && lt_peak(b[1], n) == 0.0);
    lt_free(b, 2);
    lathe_proc_free(p);
}

static void reverb_decay_change_is_smooth(void **s)
{
    (void)s;
    /* a decay change while running glides: the output of steady noise has no
     * step in level larger than a few dB between 10 ms windows */
    lathe_proc *p = lt_proc("reverb", RATE, 1, NAMES("decay", "mix"), VALS(4, 100), 2);
    int di = lathe_proc_param_index(lathe_proc_descriptor(p), "decay");
    long n = 3 * 48000;
    float **b = lt_alloc(1, n);
    uint64_t seed = 2;
    lt_noise(b[0], n, 0.5, &seed);
    lathe_proc_process(p, b, NULL, 96000);
    lathe_proc_set(p, di, 0.3);
    float *rest[1] = {b[0] + 96000};
    lathe_proc_process(p, rest, NULL, n - 96000);
    for (int c = 0; c < 1; c++)
        for (long i = 0; i < n; i++) assert_true(isfinite(b[c][i]));
    double prev = lt_rms(b[0] + 96000 - 480, 480);
    for (long w = 96000; w + 480 <= n; w += 480) {
        double r = lt_rms(b[0] + w, 480);
        if (fabs(lt_db(r / prev)) > 3.0) fail_msg("level step %g dB at %ld", lt_db(r / prev), w);
        prev = r;
    }
    lt_free(b, 1);
    lathe_proc_free(p);
}

static long first_nonzero(double predelay_ms)
{
    lathe_proc *p = lt_proc("reverb", RATE, 1, NAMES("mix", "predelay"), VALS(100, predelay_ms), 2);
    long n = 30000;
    float **b = lt_alloc(1, n);
    b[0][0] = 1.0f;
    lathe_proc_process(p, b, NULL, n);
    long i = 0;
    while (i < n && b[0][i] == 0.0f) i++;
    lt_free(b, 1);
    lathe_proc_free(p);
    return i;
}

static void reverb_predelay_shifts_the_onset_by_exactly_its_length(void **s)
{
    (void)s;
    long i0 = first_nonzero(0), i1 = first_nonzero(100), i2 = first_nonzero(12.5),
         i3 = first_nonzero(500);
    print_message("onset: %ld, %ld, %ld, %ld frames\n", i0, i1, i2, i3);
    assert_true(i0 > 0 && i0 < 2000); /* the shortest line at size 50 %: ~21 ms */
    assert_int_equal(i1 - i0, 4800);
    assert_int_equal(i2 - i0, 600);
    assert_int_equal(i3 - i0, 24000); /* the longest pre-delay: the ring holds it and a block */
}

/* The network runs in blocks (bounded by the shortest line and diffuser):
 * any split of the host's calls gives the same bytes, also at 8 kHz with
 * the smallest size, where the diffusers (29 frames) bound the block, and
 * with the low cut on. */
static void reverb_output_does_not_depend_on_block_size(void **s)
{
    (void)s;
    const double rates[] = {48000, 8000, 22050};
    for (int k = 0; k < 3; k++) {
        long n = (long)(0.7 * rates[k]);
        float **in = lt_alloc(2, n);
        uint64_t seed = 21 + (uint64_t)k;
        lt_noise(in[0], n, 0.5, &seed);
        lt_noise(in[1], n, 0.5, &seed);
        lt_check_block_sizes("reverb", rates[k], NAMES("size", "mix", "low_cut", "predelay"),
                             VALS(k == 1 ? 0 : 70, 100, k == 2 ? 120 : 0, 3), 4, in, n);
        lt_free(in, 2);
    }
}

static void reverb_recovers_from_nan_and_inf(void **s)
{
    (void)s;
    /* a NaN or inf sample never reaches the network: the wet sine 1 s later is
     * the same as without it */
    lt_check_recovers_from_nan("reverb", RATE, 997, NAMES("mix"), VALS(50), 1);
}

static void reverb_float_max_input_stays_finite_and_decays_to_zero(void **s)
{
    (void)s;
    lathe_proc *p = lt_proc("reverb", RATE, 2, NAMES("decay", "mix", "size"), VALS(0.5, 100, 0), 3);
    long n = 10 * 48000, burst = 4800;
    float **b = lt_alloc(2, n);
    uint64_t seed = 3;
    lt_noise(b[0], burst, 1.0, &seed);
    for (long i = 0; i < burst; i++) {
        b[0][i] = b[0][i] < 0 ? -FLT_MAX : FLT_MAX; /* full-scale float noise */
        b[1][i] = (i % 3) ? FLT_MAX : -FLT_MAX;
    }
    lathe_proc_process(p, b, NULL, n);
    for (int c = 0; c < 2; c++) {
        for (long i = 0; i < n; i++)
            if (!isfinite(b[c][i])) fail_msg("ch%d frame %ld: %g", c, i, b[c][i]);
        /* nothing stuck in the diffusers or lines: the tail still ends */
        for (long i = 8 * 48000; i < n; i++)
            if (b[c][i] != 0.0f) fail_msg("ch%d frame %ld: %g after the tail", c, i, b[c][i]);
    }
    print_message("float-max burst: wet peak %g\n", fmax(lt_peak(b[0], n), lt_peak(b[1], n)));
    lt_free(b, 2);
    lathe_proc_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reverb_t30_matches_decay_within_15_percent),
        cmocka_unit_test(reverb_damping_shortens_high_frequency_decay),
        cmocka_unit_test(reverb_stereo_decorrelated_at_full_width),
        cmocka_unit_test(reverb_mix_0_is_the_dry_signal_exactly),
        cmocka_unit_test(reverb_60_s_of_noise_stays_finite_and_bounded),
        cmocka_unit_test(reverb_tail_decays_to_exact_zero_without_denormals),
        cmocka_unit_test(reverb_reset_returns_to_silence),
        cmocka_unit_test(reverb_decay_change_is_smooth),
        cmocka_unit_test(reverb_predelay_shifts_the_onset_by_exactly_its_length),
        cmocka_unit_test(reverb_output_does_not_depend_on_block_size),
        cmocka_unit_test(reverb_recovers_from_nan_and_inf),
        cmocka_unit_test(reverb_float_max_input_stays_finite_and_decays_to_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
