/* SPDX-License-Identifier: GPL-3.0-or-later */
/* saturate: aliasing against the same curve run naively, low-level gain,
 * static curves against their formulas, mix alignment and nulls, huge
 * inputs, smoothing. */
#include "lathe_test.h"

#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/proc.h"

static const char *const curves[] = {"tape", "tube", "softclip", "hardclip"};

/* The curves as the processor documents them (x = driven input). */
static double ref_curve(int curve, double x, double b)
{
    switch (curve) {
    case 0: return tanh(x);
    case 1: return (tanh(x + b) - tanh(b)) / (1.0 - tanh(b) * tanh(b));
    case 2: return fabs(x) >= 1.5 ? (x > 0 ? 1.0 : -1.0) : x - 4.0 / 27.0 * x * x * x;
    default: return fmax(-1.0, fmin(1.0, x));
    }
}

static lathe_proc *sat(double rate, int ch, int curve, double drive, double output, double mix,
                       int os)
{
    const char *names[] = {"curve", "drive", "output", "mix", "oversample"};
    const double vals[] = {curve, drive, output, mix, os};
    return lt_proc("saturate", rate, ch, names, vals, 5);
}

/* Energy of the components that are not harmonics of f0 (nor DC): x must be
 * periodic in n (n * f0 / rate integer, all products on integer-Hz bins), so a
 * rectangular window is exact. */
static double alias_energy(const float *x, int n, double rate, double f0, double *harm)
{
    float *in = fftwf_alloc_real((size_t)n);
    fftwf_complex *out = fftwf_alloc_complex((size_t)n / 2 + 1);
    fftwf_plan p = fftwf_plan_dft_r2c_1d(n, in, out, FFTW_ESTIMATE);
    memcpy(in, x, (size_t)n * sizeof *in);
    fftwf_execute(p);
    double bin = rate / n, alias = 0, h = 0;
    for (int k = 1; k <= n / 2; k++) {
        double e = (double)out[k][0] * out[k][0] + (double)out[k][1] * out[k][1];
        double f = k * bin, r = f / f0;
        if (fabs(r - lround(r)) * f0 < 0.5 * bin)
            h += e;
        else
            alias += e;
    }
    fftwf_destroy_plan(p);
    fftwf_free(in);
    fftwf_free(out);
    if (harm) *harm = h;
    return alias;
}

static void saturate_aliasing_30_db_below_naive_curve(void **s)
{
    (void)s;
    const double rate = 44100, f0 = 5000, drive_db = 24, amp = 0.5;
    const int n = 44100; /* 1 s: 5 kHz and all its aliases sit on 1 Hz bins */
    const long settle = 22050, total = n + settle; /* the tube's DC blocker settles */
    static const int tested[] = {3, 0, 2, 1};
    for (int t = 0; t < 4; t++) {
        int curve = tested[t];
        float **b = lt_alloc(1, total);
        float *naive = malloc((size_t)n * sizeof *naive);
        assert_non_null(naive);
        lt_sine(b[0], total, rate, f0, amp, 0);
        const double g = lt_undb(drive_db), bias = 0.2;
        for (int i = 0; i < n; i++) naive[i] = (float)ref_curve(curve, g * b[0][settle + i], bias);
        double h_naive, a_naive = alias_energy(naive, n, rate, f0, &h_naive);
        for (int os = 0; os < 3; os++) {
            float **y = lt_alloc(1, total);
            memcpy(y[0], b[0], (size_t)total * sizeof(float));
            lathe_proc *p = sat(rate, 1, curve, drive_db, 0, 100, os);
            lathe_proc_process(p, y, NULL, total);
            double h, a = alias_energy(y[0] + settle, n, rate, f0, &h);
            double gain = 10 * log10(a_naive / a);
            print_message("  %-8s drive 24 dB, 5 kHz at 44.1 kHz, %dx: aliases %.1f dB (naive %.1f dB) "
                          "below the harmonics: %.1f dB less\n",
                          curves[curve], 2 << os, 10 * log10(h / a), 10 * log10(h_naive / a_naive),
                          gain);
            /* the harmonics themselves survive (same energy within 1 dB) */
            assert_true(fabs(10 * log10(h / h_naive)) < 1.0);
            assert_true(gain >= 30.0);
            lathe_proc_free(p);
            lt_free(y, 1);
        }
        free(naive);
        lt_free(b, 1);
    }
}

static void saturate_low_level_gain_is_drive_times_output(void **s)
{
    (void)s;
    for (int curve = 0; curve < 4; curve++) {
        const char *names[] = {"curve", "drive", "output"};
        const double vals[] = {curve, 12.0, -6.0};
        double db = lt_proc_gain_db(lathe_processor_find("saturate"), 44100, names, vals, 3, 1000,
                                    0.01);
        print_message("  %-8s -40 dBFS at 1 kHz, drive 12 dB, output -6 dB: gain %+.4f dB\n",
                      curves[curve], db);
        assert_true(fabs(db - 6.0) < 0.02);
    }
}

static void saturate_static_curves_match_formulas(void **s)
{
    (void)s;
    /* a slow sine sweeps the curve; the output is the curve of the input,
     * delayed by the latency (band-limiting and ADAA cost little at 50 Hz) */
    const double rate = 48000, drive_db = 6;
    const long n = 48000;
    for (int curve = 0; curve < 4; curve++) {
        if (curve == 1) continue; /* tube: its DC blocker shifts low frequencies; see below */
        float **b = lt_alloc(1, n), **in = lt_alloc(1, n);
        lt_sine(in[0], n, rate, 50, 1.0, 0.1);
        memcpy(b[0], in[0], (size_t)n * sizeof(float));
        lathe_proc *p = sat(rate, 1, curve, drive_db, 0, 100, 1);
        int lat = lathe_proc_latency(p);
        lathe_proc_process(p, b, NULL, n);
        double err = 0;
        for (long i = 4800; i < n; i++)
            err = fmax(err, fabs(b[0][i] - ref_curve(curve, lt_undb(drive_db) * in[0][i - lat], 0)));
        print_message("  %-8s 50 Hz through the curve at +6 dB: largest error %.2e\n", curves[curve],
                      err);
        assert_true(err < (curve == 3 ? 5e-3 : 1e-3));
        lathe_proc_free(p);
        lt_free(b, 1);
        lt_free(in, 1);
    }
}

static void saturate_tube_makes_even_harmonics_tape_does_not(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 48000, from = 24000;
    for (int curve = 0; curve < 2; curve++) {
        float **b = lt_alloc(1, n);
        lt_sine(b[0], n, rate, 1000, 0.5, 0);
        lathe_proc *p = sat(rate, 1, curve, 6.0, 0, 100, 1);
        lathe_proc_process(p, b, NULL, n);
        double h1 = lt_tone_amp(b[0] + from, n - from, rate, 1000, NULL);
        double h2 = lt_tone_amp(b[0] + from, n - from, rate, 2000, NULL);
        double h3 = lt_tone_amp(b[0] + from, n - from, rate, 3000, NULL);
        double dc = 0;
        for (long i = from; i < n; i++) dc += b[0][i];
        dc /= (double)(n - from);
        print_message("  %-8s H2 %.1f dB, H3 %.1f dB re H1, DC %.1e\n", curves[curve],
                      lt_db(h2 / h1), lt_db(h3 / h1), dc);
        assert_true(lt_db(h3 / h1) > -40.0);
        if (curve == 0)
            assert_true(lt_db(h2 / h1) < -100.0);
        else
            assert_true(lt_db(h2 / h1) > -30.0);
        assert_true(fabs(dc) < 1e-3); /* the tube's DC is blocked */
        lathe_proc_free(p);
        lt_free(b, 1);
    }
}

static void saturate_mix_0_is_exact_delayed_dry(void **s)
{
    (void)s;
    const double rate = 44100;
    const long n = 20000;
    for (int curve = 0; curve < 4; curve++) {
        float **b = lt_alloc(2, n), **in = lt_alloc(2, n);
        uint64_t seed = 42;
        lt_noise(in[0], n, 0.9, &seed);
        lt_sine(in[1], n, rate, 440, 0.7, 0);
        for (int c = 0; c < 2; c++) memcpy(b[c], in[c], (size_t)n * sizeof(float));
        lathe_proc *p = sat(rate, 2, curve, 0.0, 0, 0, 1);
        int lat = lathe_proc_latency(p);
        assert_int_equal(lat, 64);
        lathe_proc_process(p, b, NULL, n);
        for (int c = 0; c < 2; c++)
            assert_memory_equal(b[c] + lat, in[c], (size_t)(n - lat) * sizeof(float));
        lathe_proc_free(p);
        lt_free(b, 2);
        lt_free(in, 2);
    }
}

static void saturate_wet_is_aligned_with_dry_at_every_factor(void **s)
{
    (void)s;
    /* at low level and drive 0 dB the wet path is (almost) a delay: 50 %
     * wet against the inverted 50 % dry nulls if, and only if, they line up */
    const double rate = 44100;
    const long n = 44100, from = 4410;
    for (int os = 0; os < 3; os++) {
        for (int k = 0; k < 4; k++) {
            const double f = (double[]){100.0, 1000.0, 10000.0, 18000.0}[k];
            float **w = lt_alloc(1, n), **d = lt_alloc(1, n);
            lt_sine(w[0], n, rate, f, 0.001, 0);
            memcpy(d[0], w[0], (size_t)n * sizeof(float));
            lathe_proc *pw = sat(rate, 1, 0, 0.0, 0, 100, os);
            lathe_proc *pd = sat(rate, 1, 0, 0.0, 0, 0, os);
            lathe_proc_process(pw, w, NULL, n);
            lathe_proc_process(pd, d, NULL, n);
            for (long i = 0; i < n; i++) w[0][i] -= d[0][i];
            double res = lt_db(lt_rms(w[0] + from, n - from) / lt_rms(d[0] + from, n - from));
            print_message("  %dx, %5.0f Hz: wet - dry residual %.1f dB\n", 2 << os, f, res);
            assert_true(res < (f > 15000 ? -40.0 : -60.0));
            lathe_proc_free(pw);
            lathe_proc_free(pd);
            lt_free(w, 1);
            lt_free(d, 1);
        }
    }
}

static void saturate_huge_input_stays_finite(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 4096;
    for (int curve = 0; curve < 4; curve++) {
        float **b = lt_alloc(1, n);
        for (long i = 0; i < n; i++) b[0][i] = (i % 5 < 2) ? 3e38f : (i % 5 == 2 ? -1e30f : 1e-3f);
        lathe_proc *p = sat(rate, 1, curve, 36.0, 12.0, 50, 2);
        lathe_proc_process(p, b, NULL, n);
        for (long i = 64; i < n; i++) assert_true(isfinite(b[0][i]));
        lathe_proc_reset(p);
        memset(b[0], 0, (size_t)n * sizeof(float));
        lathe_proc_process(p, b, NULL, n);
        for (long i = 0; i < n; i++) assert_true(b[0][i] == 0.0f);
        lathe_proc_free(p);
        lt_free(b, 1);
    }
}

static void saturate_drive_change_is_smoothed(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 48000, half = 24000;
    float **b = lt_alloc(1, n);
    lt_sine(b[0], n, rate, 500, 0.01, 0);
    lathe_proc *p = sat(rate, 1, 0, 0.0, 0, 100, 1);
    int di = lathe_proc_param_index(lathe_proc_descriptor(p), "drive");
    float *io[1] = {b[0]};
    lathe_proc_process(p, io, NULL, half);
    lathe_proc_set(p, di, 12.0);
    io[0] = b[0] + half;
    lathe_proc_process(p, io, NULL, n - half);
    double maxd = 0;
    for (long i = 1; i < n; i++) maxd = fmax(maxd, fabs((double)b[0][i] - b[0][i - 1]));
    double lim = lt_undb(12) * 0.01 * 2 * M_PI * 500 / rate;
    print_message("  largest step %.6f (the +12 dB sine alone %.6f)\n", maxd, lim);
    assert_true(maxd < lim * 1.01);
    double a = lt_tone_amp(b[0] + n - 4800, 4800, rate, 500, NULL);
    assert_true(fabs(lt_db(a / 0.01) - 12.0) < 0.02);
    lathe_proc_free(p);
    lt_free(b, 1);
}

static void saturate_output_does_not_depend_on_block_size(void **s)
{
    (void)s;
    const double rate = 44100;
    const long n = 20000;
    float **in = lt_alloc(2, n);
    for (int c = 0; c < 2; c++)
        lt_sine(in[c], n, rate, 997.0 + 300 * c, 0.8, 0);
    lt_check_block_sizes("saturate", rate, (const char *const[]){"curve", "drive"}, (const double[]){1, 18.0}, 2, in, n);
    lt_free(in, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(saturate_output_does_not_depend_on_block_size),
        cmocka_unit_test(saturate_aliasing_30_db_below_naive_curve),
        cmocka_unit_test(saturate_low_level_gain_is_drive_times_output),
        cmocka_unit_test(saturate_static_curves_match_formulas),
        cmocka_unit_test(saturate_tube_makes_even_harmonics_tape_does_not),
        cmocka_unit_test(saturate_mix_0_is_exact_delayed_dry),
        cmocka_unit_test(saturate_wet_is_aligned_with_dry_at_every_factor),
        cmocka_unit_test(saturate_huge_input_stays_finite),
        cmocka_unit_test(saturate_drive_change_is_smoothed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
