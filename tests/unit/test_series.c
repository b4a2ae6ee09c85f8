/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Report series (lathe/series.h) against known signals: a sine's momentary
 * and short-term loudness from the K-weighting's closed-form response,
 * correlation of identical / inverted / independent channels, per-hop sample
 * and true peaks, the spectrum peak of a tone at its bin and level, octave
 * mid/side balance of a side-only band, hop bookkeeping and gain-reduction
 * curves. */
#include "lathe_test.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/kmeter.h"
#include "lathe/series.h"

static lathe_series *run(double rate, int ch, float **x, long n, long piece)
{
    lathe_error err;
    lathe_series *s = lathe_series_new(rate, ch, &err);
    assert_non_null(s);
    for (long off = 0; off < n; off += piece) {
        long k = n - off < piece ? n - off : piece;
        const float *blk[8];
        for (int c = 0; c < ch; c++) blk[c] = x[c] + off;
        assert_int_equal(lathe_series_add(s, blk, k), LATHE_OK);
    }
    lathe_series_finish(s);
    return s;
}

/* |H(f)|^2 of the two K-weighting biquads, evaluated on the unit circle. */
static double kweight_power(double rate, double f)
{
    lathe_kfilter a, b;
    lathe_kweight_design(rate, &a, &b);
    double complex z = cexp(-I * 2 * M_PI * f / rate), z2 = z * z;
    double complex h1 = (a.b0 + a.b1 * z + a.b2 * z2) / (1 + a.a1 * z + a.a2 * z2);
    double complex h2 = (b.b0 + b.b1 * z + b.b2 * z2) / (1 + b.a1 * z + b.a2 * z2);
    double m = cabs(h1 * h2);
    return m * m;
}

static void series_sine_momentary_and_short_term_within_0_02_lu(void **st)
{
    (void)st;
    const double rate = 48000, f = 1000, amp = 0.5;
    const long n = (long)(5 * rate);
    float **x = lt_alloc(2, n);
    lt_sine(x[0], n, rate, f, amp, 0);
    lt_sine(x[1], n, rate, f, amp, 0);
    lathe_series *s = run(rate, 2, x, n, 1000);
    /* BS.1770: L = -0.691 + 10 log10(sum_c G_c * mean(y_c^2)), y = K-weighted */
    double want = -0.691 + 10 * log10(2 * amp * amp / 2 * kweight_power(rate, f));
    const float *m = lathe_series_momentary(s), *sl = lathe_series_short_term(s);
    long hops = lathe_series_hops(s);
    assert_int_equal(hops, 50);
    print_message("sine 1 kHz: want %.4f LUFS, momentary %.4f, short-term %.4f\n", want, m[40],
                  sl[40]);
    for (long i = 5; i < hops; i++) assert_true(fabs(m[i] - want) < 0.02);
    for (long i = 31; i < hops; i++) assert_true(fabs(sl[i] - want) < 0.02);
    /* the first 400 ms window is still filling: lower */
    assert_true(m[1] < want - 3);
    lathe_series_free(s);
    lt_free(x, 2);
}

static void series_correlation_is_plus1_minus1_and_near_0(void **st)
{
    (void)st;
    const double rate = 44100;
    const long n = (long)(3 * rate);
    uint64_t seed = 12345;
    float **x = lt_alloc(2, n);
    lt_noise(x[0], n, 0.5, &seed);
    /* identical */
    memcpy(x[1], x[0], sizeof(float) * (size_t)n);
    lathe_series *s = run(rate, 2, x, n, 4096);
    const float *c = lathe_series_correlation(s);
    for (long i = 4; i < lathe_series_hops(s); i++) assert_true(fabs(c[i] - 1) < 1e-5);
    lathe_series_free(s);
    /* inverted */
    for (long i = 0; i < n; i++) x[1][i] = -x[0][i];
    s = run(rate, 2, x, n, 4096);
    c = lathe_series_correlation(s);
    for (long i = 4; i < lathe_series_hops(s); i++) assert_true(fabs(c[i] + 1) < 1e-5);
    lathe_series_free(s);
    /* independent: |r| ~ 1/sqrt(17640) = 0.0075 per 400 ms window */
    lt_noise(x[1], n, 0.5, &seed);
    s = run(rate, 2, x, n, 4096);
    c = lathe_series_correlation(s);
    for (long i = 4; i < lathe_series_hops(s); i++) assert_true(fabs(c[i]) < 0.04);
    lathe_series_free(s);
    /* silence: undefined */
    memset(x[0], 0, sizeof(float) * (size_t)n);
    s = run(rate, 2, x, n, 4096);
    assert_true(isnan(lathe_series_correlation(s)[10]));
    lathe_series_free(s);
    lt_free(x, 2);
}

static void series_peaks_per_hop_and_true_peak_of_quarter_rate_sine(void **st)
{
    (void)st;
    /* fs/4 sine at 45 degrees: samples are +-0.7071 A, the waveform peaks at A (+3 dB) */
    const double rate = 48000, amp = 0.8;
    const long n = (long)rate;
    float **x = lt_alloc(1, n);
    lt_sine(x[0], n, rate, rate / 4, amp, M_PI / 4);
    lathe_series *s = run(rate, 1, x, n, 777);
    long hops = lathe_series_hops(s);
    assert_int_equal(hops, 10);
    const float *mn = lathe_series_sample_min(s, 0), *mx = lathe_series_sample_max(s, 0);
    const float *tp = lathe_series_true_peak(s, 0);
    print_message("fs/4 sine: sample max %.5f, true peak error %.4f dB\n", mx[5],
                  20 * log10(tp[5] / amp));
    for (long i = 1; i < hops; i++) {
        assert_true(fabs(mx[i] - amp * M_SQRT1_2) < 1e-4);
        assert_true(fabs(mn[i] + amp * M_SQRT1_2) < 1e-4);
        assert_true(fabs(20 * log10(tp[i] / amp)) < 0.1); /* true peak within 0.1 dB */
    }
    assert_null(lathe_series_correlation(s));
    lathe_series_free(s);
    lt_free(x, 1);
}

static void series_spectrum_peak_of_tone_at_its_bin_and_level(void **st)
{
    (void)st;
    const double rate = 48000, amp = 0.25;
    const int k0 = 93; /* 1089.84 Hz: on a bin centre */
    const double f = k0 * rate / LATHE_SERIES_FFT;
    const long n = (long)(2 * rate);
    float **x = lt_alloc(2, n);
    lt_sine(x[0], n, rate, f, amp, 0.3);
    lt_sine(x[1], n, rate, 3000.3, amp, 0.0); /* off a bin: scalloping <= 1.42 dB */
    lathe_series *s = run(rate, 2, x, n, 1234);
    int bins;
    double bhz;
    const float *L = lathe_series_spectrum(s, LATHE_SPEC_LEFT, &bins, &bhz);
    assert_non_null(L);
    assert_int_equal(bins, LATHE_SERIES_FFT / 2 + 1);
    assert_true(fabs(bhz - rate / LATHE_SERIES_FFT) < 1e-9);
    int arg = 0;
    for (int b = 1; b < bins; b++)
        if (L[b] > L[arg]) arg = b;
    assert_int_equal(arg, k0);
    print_message("tone on bin %d: %.4f dB (want %.4f)\n", k0, L[k0], 20 * log10(amp));
    assert_true(fabs(L[k0] - 20 * log10(amp)) < 0.01);
    /* far from the tone the Hann sidelobes are way down */
    assert_true(L[k0 + 40] < L[k0] - 90);
    const float *R = lathe_series_spectrum(s, LATHE_SPEC_RIGHT, &bins, &bhz);
    arg = 0;
    for (int b = 1; b < bins; b++)
        if (R[b] > R[arg]) arg = b;
    assert_true(abs(arg - (int)lround(3000.3 / bhz)) <= 1);
    assert_true(R[arg] < 20 * log10(amp) + 0.01 && R[arg] > 20 * log10(amp) - 1.45);
    lathe_series_free(s);
    lt_free(x, 2);
}

static void series_side_only_octave_band_reads_side_not_mid(void **st)
{
    (void)st;
    /* 1 kHz in opposite polarity (side only) and 250 Hz in phase (mid only) */
    const double rate = 44100, a = 0.3;
    const long n = (long)(2 * rate);
    float **x = lt_alloc(2, n);
    float *t = malloc(sizeof(float) * (size_t)n);
    lt_sine(x[0], n, rate, 250, a, 0);
    lt_sine(x[1], n, rate, 250, a, 0);
    lt_sine(t, n, rate, 1000, a, 0.1);
    for (long i = 0; i < n; i++) x[0][i] += t[i], x[1][i] -= t[i];
    lathe_series *s = run(rate, 2, x, n, 4410);
    const double *fc, *md, *sd;
    int nb = lathe_series_bands(s, &fc, &md, &sd);
    assert_int_equal(nb, 10);
    int b1k = -1, b250 = -1;
    for (int b = 0; b < nb; b++) {
        if (fc[b] == 1000) b1k = b;
        if (fc[b] == 250) b250 = b;
    }
    assert_true(b1k >= 0 && b250 >= 0);
    print_message("1 kHz band side-mid %.1f dB, 250 Hz band %.1f dB; side level %.3f dB (want %.3f)\n",
                  sd[b1k] - md[b1k], sd[b250] - md[b250], sd[b1k], 20 * log10(a));
    assert_true(sd[b1k] - md[b1k] > 60);   /* side only */
    assert_true(sd[b250] - md[b250] < -60); /* mid only */
    /* a tone inside a band reads its own level there (ENBW-corrected sum) */
    assert_true(fabs(sd[b1k] - 20 * log10(a)) < 0.2);
    assert_true(fabs(md[b250] - 20 * log10(a)) < 0.2);
    /* the spectra agree: the side spectrum has the 1 kHz tone, mid the 250 Hz one */
    int bins;
    double bhz;
    const float *S = lathe_series_spectrum(s, LATHE_SPEC_SIDE, &bins, &bhz);
    const float *M = lathe_series_spectrum(s, LATHE_SPEC_MID, &bins, &bhz);
    int k1 = (int)lround(1000 / bhz), k2 = (int)lround(250 / bhz);
    assert_true(S[k1] > M[k1] + 60);
    assert_true(M[k2] > S[k2] + 60);
    free(t);
    lathe_series_free(s);
    lt_free(x, 2);
}

static void series_hops_follow_the_kmeter_grid_and_partial_hop_counts(void **st)
{
    (void)st;
    const double rates[] = {44100, 48000, 22050, 96000};
    for (int r = 0; r < 4; r++) {
        const double rate = rates[r];
        lathe_series *s = lathe_series_new(rate, 1, NULL);
        assert_non_null(s);
        long hop = lathe_series_hop_frames(s);
        assert_int_equal(hop, 10 * lrint(rate / 100));
        long n = hop * 7 + hop / 3;
        float **x = lt_alloc(1, n);
        lt_sine(x[0], n, rate, 100, 0.1, 0);
        for (long off = 0; off < n; off += 333) {
            const float *blk[1] = {x[0] + off};
            lathe_series_add(s, blk, n - off < 333 ? n - off : 333);
        }
        assert_int_equal(lathe_series_hops(s), 7);
        lathe_series_finish(s);
        assert_int_equal(lathe_series_hops(s), 8);
        assert_int_equal(lathe_series_frames(s), n);
        assert_true(isfinite(lathe_series_momentary(s)[7]));
        lathe_series_free(s);
        lt_free(x, 1);
    }
}

static void series_block_size_does_not_change_values(void **st)
{
    (void)st;
    const double rate = 48000;
    const long n = (long)(4 * rate);
    uint64_t seed = 99;
    float **x = lt_alloc(2, n);
    lt_noise(x[0], n, 0.4, &seed);
    lt_noise(x[1], n, 0.4, &seed);
    lathe_series *a = run(rate, 2, x, n, n), *b = run(rate, 2, x, n, 37);
    long h = lathe_series_hops(a);
    assert_int_equal(h, lathe_series_hops(b));
    assert_memory_equal(lathe_series_momentary(a), lathe_series_momentary(b), h * sizeof(float));
    assert_memory_equal(lathe_series_short_term(a), lathe_series_short_term(b), h * sizeof(float));
    assert_memory_equal(lathe_series_true_peak(a, 1), lathe_series_true_peak(b, 1), h * sizeof(float));
    assert_memory_equal(lathe_series_sample_min(a, 0), lathe_series_sample_min(b, 0), h * sizeof(float));
    int bins;
    const float *sa = lathe_series_spectrum(a, LATHE_SPEC_SIDE, &bins, NULL);
    const float *sb = lathe_series_spectrum(b, LATHE_SPEC_SIDE, &bins, NULL);
    assert_memory_equal(sa, sb, (size_t)bins * sizeof(float));
    lathe_series_free(a);
    lathe_series_free(b);
    lt_free(x, 2);
}

static void series_gain_reduction_curves_append_per_name(void **st)
{
    (void)st;
    lathe_series *s = lathe_series_new(48000, 2, NULL);
    const float a[3] = {0, 1.5f, 3}, b[2] = {6, 7};
    assert_int_equal(lathe_series_add_gr(s, "limiter", a, 3), LATHE_OK);
    assert_int_equal(lathe_series_add_gr(s, "compressor", b, 2), LATHE_OK);
    assert_int_equal(lathe_series_add_gr(s, "limiter", b, 1), LATHE_OK);
    assert_int_equal(lathe_series_gr_count(s), 2);
    long n;
    const float *v = lathe_series_gr(s, 0, &n);
    assert_string_equal(lathe_series_gr_name(s, 0), "limiter");
    assert_int_equal(n, 4);
    assert_true(v[1] == 1.5f && v[3] == 6);
    v = lathe_series_gr(s, 1, &n);
    assert_int_equal(n, 2);
    assert_null(lathe_series_gr(s, 2, &n));
    assert_int_equal(n, 0);
    for (int i = 2; i < LATHE_SERIES_MAX_GR; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        assert_int_equal(lathe_series_add_gr(s, name, a, 1), LATHE_OK);
    }
    assert_int_equal(lathe_series_add_gr(s, "one too many", a, 1), LATHE_E_RANGE);
    lathe_series_free(s);
}

static void series_mono_has_one_spectrum_and_no_bands_and_rejects_bad_formats(void **st)
{
    (void)st;
    const long n = 1000; /* shorter than one FFT segment: zero-padded */
    float **x = lt_alloc(1, n);
    lt_sine(x[0], n, 48000, 3000, 0.5, 0);
    lathe_series *s = run(48000, 1, x, n, n);
    int bins;
    assert_non_null(lathe_series_spectrum(s, LATHE_SPEC_LEFT, &bins, NULL));
    assert_null(lathe_series_spectrum(s, LATHE_SPEC_SIDE, &bins, NULL));
    assert_int_equal(bins, 0);
    assert_int_equal(lathe_series_bands(s, NULL, NULL, NULL), 0);
    assert_int_equal(lathe_series_hops(s), 1);
    lathe_series_free(s);
    lt_free(x, 1);
    lathe_error err;
    assert_null(lathe_series_new(48000, 9, &err));
    assert_int_equal(err.code, LATHE_E_INVALID);
    assert_null(lathe_series_new(1000, 2, &err));
    lathe_series_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(series_sine_momentary_and_short_term_within_0_02_lu),
        cmocka_unit_test(series_correlation_is_plus1_minus1_and_near_0),
        cmocka_unit_test(series_peaks_per_hop_and_true_peak_of_quarter_rate_sine),
        cmocka_unit_test(series_spectrum_peak_of_tone_at_its_bin_and_level),
        cmocka_unit_test(series_side_only_octave_band_reads_side_not_mid),
        cmocka_unit_test(series_hops_follow_the_kmeter_grid_and_partial_hop_counts),
        cmocka_unit_test(series_block_size_does_not_change_values),
        cmocka_unit_test(series_gain_reduction_curves_append_per_name),
        cmocka_unit_test(series_mono_has_one_spectrum_and_no_bands_and_rejects_bad_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
