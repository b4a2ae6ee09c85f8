/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dither: output on the word-length grid (and through a 16/24-bit WAV bit
 * for bit), TPDF error statistics against the closed forms (mean 0, power
 * LSB^2/4 whatever the input, the triangle-convolved-with-uniform
 * histogram), distortion of a -90 dBFS sine removed, noise spectra against
 * |NTF|^2 of each shape, exact silence, uncorrelated channels, determinism,
 * stability under overload and NaN. Errors are measured in LSB. */
#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/fft.h"
#include "lathe/io.h"

static const double RATE = 44100;

enum { TPDF = 0, HIGHPASS = 1, FWEIGHTED = 2 };
static const char *const SHAPE_NAME[] = {"tpdf", "highpass", "fweighted"};

/* Wannamaker 1992 F-weighted error-feedback filter (the published table). */
static const double FW_H[9] = {2.412, -3.370, 3.937, -4.174, 3.353, -2.205, 1.281, -0.569, 0.0847};

static lathe_proc *dither_at(double rate, int bits, int shape, int mute, int channels) {
    const char *names[] = {"bits", "shape", "mute_silence"};
    double v[] = {bits, shape, mute};
    return lt_proc("dither", rate, channels, names, v, 3);
}

static lathe_proc *dither(int bits, int shape, int mute, int channels) {
    return dither_at(RATE, bits, shape, mute, channels);
}

/* Runs a fresh instance over a copy of in (channels x n) into out. */
static void run(int bits, int shape, int mute, int channels, float *const *in, float **out,
                long n) {
    lathe_proc *p = dither(bits, shape, mute, channels);
    for (int c = 0; c < channels; c++)
        memcpy(out[c], in[c], (size_t)n * sizeof(float));
    lathe_proc_process(p, out, NULL, n);
    lathe_proc_free(p);
}

/* Total error (out - in) in LSB of a `bits` grid. */
static double *error_lsb(const float *out, const float *in, long n, int bits) {
    double *e = malloc((size_t)n * sizeof *e);
    assert_non_null(e);
    double scale = ldexp(1.0, bits - 1);
    for (long i = 0; i < n; i++)
        e[i] = ((double)out[i] - (double)in[i]) * scale;
    return e;
}

static void mean_var(const double *e, long n, double *mean, double *var) {
    double s = 0, s2 = 0;
    for (long i = 0; i < n; i++)
        s += e[i];
    double m = s / (double)n;
    for (long i = 0; i < n; i++)
        s2 += (e[i] - m) * (e[i] - m);
    *mean = m;
    *var = s2 / (double)n;
}

static double corr(const double *a, const double *b, long n) {
    double ma, mb, va, vb, ab = 0;
    mean_var(a, n, &ma, &va);
    mean_var(b, n, &mb, &vb);
    for (long i = 0; i < n; i++)
        ab += (a[i] - ma) * (b[i] - mb);
    return ab / (double)n / sqrt(va * vb);
}

/* ---- spectra: Welch, Hann, 4096 points, 50 % overlap ---- */

#define NFFT 4096

/* psd[k] (k = 0..NFFT/2) normalised so that white noise of variance s2 reads
 * s2 in every bin: average |X_k|^2 / sum(w^2). */
static void welch(const double *x, long n, double *psd) {
    lathe_fft f;
    assert_int_equal(lathe_fft_init(&f, NFFT), 0);
    float *buf = fftwf_malloc(NFFT * sizeof(float));
    fftwf_complex *spec = fftwf_malloc((NFFT / 2 + 1) * sizeof(fftwf_complex));
    double w[NFFT], w2 = 0;
    for (int i = 0; i < NFFT; i++) {
        w[i] = 0.5 - 0.5 * cos(2.0 * M_PI * i / NFFT);
        w2 += w[i] * w[i];
    }
    for (int k = 0; k <= NFFT / 2; k++)
        psd[k] = 0;
    int frames = 0;
    for (long off = 0; off + NFFT <= n; off += NFFT / 2, frames++) {
        for (int i = 0; i < NFFT; i++)
            buf[i] = (float)(x[off + i] * w[i]);
        lathe_fft_forward(&f, buf, spec);
        for (int k = 0; k <= NFFT / 2; k++)
            psd[k] += (double)spec[k][0] * spec[k][0] + (double)spec[k][1] * spec[k][1];
    }
    assert_true(frames > 0);
    for (int k = 0; k <= NFFT / 2; k++)
        psd[k] /= frames * w2;
    fftwf_free(buf);
    fftwf_free(spec);
    lathe_fft_destroy(&f);
}

/* Mean of psd over the bins in [f1, f2] (Hz) at `rate`. */
static double band_at(double rate, const double *psd, double f1, double f2) {
    double s = 0;
    int cnt = 0;
    for (int k = 0; k <= NFFT / 2; k++) {
        double f = k * rate / NFFT;
        if (f >= f1 && f <= f2) s += psd[k], cnt++;
    }
    return s / cnt;
}

static double band(const double *psd, double f1, double f2) {
    return band_at(RATE, psd, f1, f2);
}

/* |NTF|^2 = |1 - sum h_k z^-k|^2 at f (Hz) and `rate`. */
static double ntf2(double rate, const double *h, int nh, double f) {
    double w = 2.0 * M_PI * f / rate, re = 1, im = 0;
    for (int k = 0; k < nh; k++) {
        re -= h[k] * cos(w * (k + 1));
        im += h[k] * sin(w * (k + 1));
    }
    return re * re + im * im;
}

/* Mean of |NTF|^2 over the same bins as band_at(). */
static double ntf2_band_at(double rate, const double *h, int nh, double f1, double f2) {
    double s = 0;
    int cnt = 0;
    for (int k = 0; k <= NFFT / 2; k++) {
        double f = k * rate / NFFT;
        if (f >= f1 && f <= f2) s += ntf2(rate, h, nh, f), cnt++;
    }
    return s / cnt;
}

/* ---- tests ---- */

static void dither_output_on_grid_and_in_range_for_8_16_20_24_bits(void **state) {
    (void)state;
    long n = 22050;
    float **in = lt_alloc(2, n), **out = lt_alloc(2, n);
    uint64_t seed = 3;
    lt_noise(in[0], n, 0.3, &seed);
    lt_sine(in[1], n, RATE, 997, 1.4, 0); /* overloads: must clip onto the grid */
    for (long i = 0; i < n; i++)
        in[0][i] += 0.9f * (float)sin(2 * M_PI * 3.0 * i / RATE); /* and overloads too */
    const int bits[] = {8, 16, 20, 24};
    for (int s = 0; s < 3; s++)
        for (int b = 0; b < 4; b++) {
            run(bits[b], s, 1, 2, in, out, n);
            double scale = ldexp(1.0, bits[b] - 1);
            long at_max = 0, at_min = 0, offgrid = 0, outside = 0;
            for (int c = 0; c < 2; c++)
                for (long i = 0; i < n; i++) {
                    double k = (double)out[c][i] * scale;
                    offgrid += k != floor(k);
                    outside += k < -scale || k > scale - 1;
                    at_max += k == scale - 1;
                    at_min += k == -scale;
                }
            print_message("%s %d bits: off grid %ld, out of range %ld, at +max %ld, at -max %ld\n",
                          SHAPE_NAME[s], bits[b], offgrid, outside, at_max, at_min);
            assert_int_equal(offgrid, 0);
            assert_int_equal(outside, 0);
            assert_true(at_max > 0 && at_min > 0); /* the clip points themselves are used */
        }
    lt_free(in, 2);
    lt_free(out, 2);
}

static void write_read_back_equals(int bits, int shape) {
    long n = 44100;
    float **in = lt_alloc(2, n), **out = lt_alloc(2, n), **back = lt_alloc(2, n);
    uint64_t seed = 17;
    lt_noise(in[0], n, 0.4, &seed);
    lt_sine(in[1], n, RATE, 440, 1.2, 0.5); /* clips */
    for (long i = 0; i < n; i++)
        in[0][i] += (float)(0.6 * sin(2 * M_PI * 55.0 * i / RATE));
    run(bits, shape, 1, 2, in, out, n);
    char dir[64], path[128];
    lt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.wav", dir);
    lathe_writer_spec spec = {LATHE_FILE_WAV, bits == 16 ? LATHE_SAMPLE_PCM16 : LATHE_SAMPLE_PCM24,
                              RATE, 2, 0};
    lathe_error err = {0};
    lathe_writer *w = lathe_writer_open(path, &spec, &err);
    if (!w) fail_msg("writer: %s", err.msg);
    assert_int_equal(lathe_writer_write(w, (const float *const *)out, n, &err), LATHE_OK);
    long long clipped = lathe_writer_clipped(w);
    assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(path, &info, &err);
    if (!r) fail_msg("reader: %s", err.msg);
    assert_int_equal(info.bits, bits);
    long got = 0;
    while (got < n) {
        float *o[2] = {back[0] + got, back[1] + got};
        long k = lathe_reader_read(r, o, n - got, &err);
        assert_true(k >= 0);
        if (k == 0) break;
        got += k;
    }
    lathe_reader_close(r);
    lt_rmdir(dir);
    long diff = 0;
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++)
            diff += memcmp(&out[c][i], &back[c][i], sizeof(float)) != 0;
    print_message("%d-bit WAV, %s: %ld frames read back, %ld samples differ, writer clipped %lld\n",
                  bits, SHAPE_NAME[shape], got, diff, clipped);
    assert_int_equal(got, n);
    assert_int_equal(diff, 0);
    assert_int_equal(clipped, 0);
    lt_free(in, 2);
    lt_free(out, 2);
    lt_free(back, 2);
}

static void dither_16_and_24_bit_wav_round_trip_is_bit_exact(void **state) {
    (void)state;
    write_read_back_equals(16, TPDF);
    write_read_back_equals(16, FWEIGHTED);
    write_read_back_equals(24, HIGHPASS);
}

/* Density of d + r, d triangular on [-1, 1], r uniform on [-0.5, 0.5]. */
static double tri_cdf(double t) {
    if (t <= -1) return 0;
    if (t <= 0) return (1 + t) * (1 + t) / 2;
    if (t <= 1) return 1 - (1 - t) * (1 - t) / 2;
    return 1;
}

static double total_error_density(double e) {
    return tri_cdf(e + 0.5) - tri_cdf(e - 0.5);
}

static void dither_tpdf_error_mean_0_power_quarter_lsb2_triangular_histogram(void **state) {
    (void)state;
    long n = (long)(4 * RATE);
    float **in = lt_alloc(1, n), **out = lt_alloc(1, n);
    /* slowly varying: a 0.37 Hz sine sweeping 16000 LSB */
    lt_sine(in[0], n, RATE, 0.37, 0.25, 0.1);
    run(16, TPDF, 1, 1, in, out, n);
    double *e = error_lsb(out[0], in[0], n, 16);
    double mean, var, emax = 0;
    mean_var(e, n, &mean, &var);
    enum { NB = 12 };
    long hist[NB] = {0};
    for (long i = 0; i < n; i++) {
        emax = fmax(emax, fabs(e[i]));
        int b = (int)floor((e[i] + 1.5) / 0.25);
        if (b >= 0 && b < NB) hist[b]++;
    }
    print_message("tpdf error: mean %.5f LSB, variance %.5f LSB^2 (0.25), max |e| %.4f LSB\n", mean,
                  var, emax);
    assert_true(fabs(mean) < 0.01);
    assert_true(fabs(var / 0.25 - 1) < 0.05);
    assert_true(emax <= 1.5);
    double worst = 0;
    for (int b = 0; b < NB; b++) {
        double lo = -1.5 + 0.25 * b, p = 0;
        for (int j = 0; j < 200; j++)
            p += total_error_density(lo + 0.25 * (j + 0.5) / 200) * 0.25 / 200;
        double got = (double)hist[b] / n;
        print_message("  [%+.2f, %+.2f): %.4f (closed form %.4f)\n", lo, lo + 0.25, got, p);
        worst = fmax(worst, fabs(got - p));
    }
    assert_true(worst < 0.005);
    free(e);
    /* TPDF makes the power independent of the input: constant inputs at
     * offsets 0, 1/4 and 1/2 LSB give the same mean (0) and power. */
    const double offs[] = {0.0, 0.25, 0.5};
    for (int k = 0; k < 3; k++) {
        long m = 88200;
        float **dc = lt_alloc(1, m), **o = lt_alloc(1, m);
        for (long i = 0; i < m; i++)
            dc[0][i] = (float)((1000.0 + offs[k]) / 32768.0);
        run(16, TPDF, 1, 1, dc, o, m);
        double *ed = error_lsb(o[0], dc[0], m, 16), em, ev, e2;
        mean_var(ed, m, &em, &ev);
        e2 = ev + em * em;
        print_message("dc at +%.2f LSB: mean error %.4f LSB, power %.4f LSB^2\n", offs[k], em, e2);
        assert_true(fabs(em) < 0.01);
        assert_true(fabs(e2 / 0.25 - 1) < 0.05);
        free(ed);
        lt_free(dc, 1);
        lt_free(o, 1);
    }
    lt_free(in, 1);
    lt_free(out, 1);
}

static void dither_tpdf_removes_3rd_harmonic_of_minus_90_dbfs_sine_floor_flat(void **state) {
    (void)state;
    long n = (long)(16 * RATE); /* long: the dithered harmonic is noise, ~1/sqrt(n) */
    double amp = pow(10.0, -90.0 / 20.0);
    float **in = lt_alloc(1, n), **out = lt_alloc(1, n), **plain = lt_alloc(1, n);
    lt_sine(in[0], n, RATE, 1000, amp, 0);
    for (long i = 0; i < n; i++) /* undithered: plain rounding to 16 bits */
        plain[0][i] = (float)(nearbyint((double)in[0][i] * 32768.0) / 32768.0);
    run(16, TPDF, 1, 1, in, out, n);
    double h3_plain = lt_tone_amp(plain[0], n, RATE, 3000, NULL);
    double h3_dith = lt_tone_amp(out[0], n, RATE, 3000, NULL);
    double h1_dith = lt_tone_amp(out[0], n, RATE, 1000, NULL);
    print_message("-90 dBFS 1 kHz at 16 bits: 3rd harmonic %.1f dBFS rounded, %.1f dBFS dithered "
                  "(%.1f dB lower); fundamental %.3f dB vs input\n",
                  lt_db(h3_plain), lt_db(h3_dith), lt_db(h3_plain / h3_dith), lt_db(h1_dith / amp));
    assert_true(lt_db(h3_plain / h3_dith) >= 20.0);
    assert_true(fabs(lt_db(h1_dith / amp)) < 0.2);
    /* the floor: total error spectrum flat and at the closed-form LSB^2/4 */
    double *e = error_lsb(out[0], in[0], n, 16);
    static double psd[NFFT / 2 + 1];
    welch(e, n, psd);
    double lo = band(psd, 1000, 3000), hi = band(psd, 10000, 15000);
    print_message("error density 1-3 kHz %.2f dB, 10-15 kHz %.2f dB re LSB^2/4 (difference %.2f "
                  "dB)\n",
                  10 * log10(lo / 0.25), 10 * log10(hi / 0.25), 10 * log10(lo / hi));
    assert_true(fabs(10 * log10(lo / hi)) < 1.0);
    assert_true(fabs(10 * log10(lo / 0.25)) < 0.5);
    assert_true(fabs(10 * log10(hi / 0.25)) < 0.5);
    free(e);
    lt_free(in, 1);
    lt_free(out, 1);
    lt_free(plain, 1);
}

static void dither_shaped_noise_follows_ntf_fweighted_and_highpass(void **state) {
    (void)state;
    long n = (long)(4 * RATE);
    float **in = lt_alloc(1, n), **out = lt_alloc(1, n);
    lt_sine(in[0], n, RATE, 211, 0.1, 0);
    static double psd[3][NFFT / 2 + 1];
    for (int s = 0; s < 3; s++) {
        run(16, s, 1, 1, in, out, n);
        double *e = error_lsb(out[0], in[0], n, 16);
        welch(e, n, psd[s]);
        free(e);
    }
    static const double hp_h[1] = {1.0};
    /* the brief's comparisons */
    double t25 = band(psd[TPDF], 2000, 5000), f25 = band(psd[FWEIGHTED], 2000, 5000);
    double t15 = band(psd[TPDF], 15000, 22050), f15 = band(psd[FWEIGHTED], 15000, 22050);
    double t02 = band(psd[TPDF], 20, 2000), h02 = band(psd[HIGHPASS], 20, 2000);
    print_message("fweighted vs tpdf: 2-5 kHz %.2f dB, 15-22 kHz %+.2f dB; highpass vs tpdf "
                  "below 2 kHz %.2f dB\n",
                  10 * log10(f25 / t25), 10 * log10(f15 / t15), 10 * log10(h02 / t02));
    assert_true(10 * log10(f25 / t25) <= -10.0);
    assert_true(f15 > t15);
    assert_true(h02 < t02);
    /* and each band against the closed form 0.25 |NTF|^2 */
    const double edges[][2] = {{20, 500},     {500, 2000},    {2000, 5000},   {5000, 8000},
                               {8000, 12000}, {12000, 15000}, {15000, 18000}, {18000, 22000}};
    double worst = 0;
    for (int b = 0; b < 8; b++) {
        double f1 = edges[b][0], f2 = edges[b][1];
        double want_f = ntf2_band_at(RATE, FW_H, 9, f1, f2),
               want_h = ntf2_band_at(RATE, hp_h, 1, f1, f2);
        double got_t = band(psd[TPDF], f1, f2) / 0.25, got_f = band(psd[FWEIGHTED], f1, f2) / 0.25,
               got_h = band(psd[HIGHPASS], f1, f2) / 0.25;
        print_message("  %5.0f-%5.0f Hz: tpdf %+6.2f dB; highpass %+6.2f dB (|NTF|^2 %+6.2f); "
                      "fweighted %+6.2f dB (|NTF|^2 %+6.2f)\n",
                      f1, f2, 10 * log10(got_t), 10 * log10(got_h), 10 * log10(want_h),
                      10 * log10(got_f), 10 * log10(want_f));
        worst = fmax(worst, fabs(10 * log10(got_t)));
        worst = fmax(worst, fabs(10 * log10(got_h / want_h)));
        worst = fmax(worst, fabs(10 * log10(got_f / want_f)));
    }
    print_message("worst deviation from 0.25 |NTF|^2: %.3f dB\n", worst);
    assert_true(worst < 0.5);
    lt_free(in, 1);
    lt_free(out, 1);
}

/* The F-weighted coefficients are fixed, so at other rates the curve scales
 * with rate / 44.1 kHz: measured bands against |NTF|^2 at that rate; at 96 kHz
 * the noise below 5 kHz is still at least 12 dB under flat TPDF. */
static void dither_fweighted_curve_scales_with_rate(void **state) {
    (void)state;
    const double rates[] = {48000, 96000};
    static double psd[NFFT / 2 + 1];
    for (int r = 0; r < 2; r++) {
        double rate = rates[r];
        long n = (long)(2 * rate);
        float **in = lt_alloc(1, n);
        lt_sine(in[0], n, rate, 211, 0.1, 0);
        float *keep = malloc((size_t)n * sizeof(float));
        assert_non_null(keep);
        memcpy(keep, in[0], (size_t)n * sizeof(float));
        lathe_proc *p = dither_at(rate, 16, FWEIGHTED, 1, 1);
        lathe_proc_process(p, in, NULL, n);
        lathe_proc_free(p);
        double *e = error_lsb(in[0], keep, n, 16);
        welch(e, n, psd);
        double worst = 0, low = -INFINITY;
        const double edges[][2] = {{100, 1000},    {1000, 2500},   {2500, 5000},   {5000, 10000},
                                   {10000, 16000}, {16000, 20000}, {20000, 30000}, {30000, 45000}};
        for (int b = 0; b < 8; b++) {
            double f1 = edges[b][0], f2 = edges[b][1];
            if (f2 > rate / 2) continue;
            double got = band_at(rate, psd, f1, f2) / 0.25;
            double want = ntf2_band_at(rate, FW_H, 9, f1, f2);
            worst = fmax(worst, fabs(10 * log10(got / want)));
            if (f2 <= 5000) low = fmax(low, 10 * log10(got));
        }
        double fmin = 0, gmin = INFINITY;
        for (double f = 500; f < 10000; f += 50) {
            double g = ntf2(rate, FW_H, 9, f);
            if (g < gmin) gmin = g, fmin = f;
        }
        print_message("fweighted at %.0f Hz: bands within %.3f dB of |NTF|^2, noise below 5 kHz at "
                      "most %.2f dB re flat TPDF, deepest dip %.0f Hz (%.0f Hz at 44.1 kHz)\n",
                      rate, worst, low, fmin, fmin * 44100 / rate);
        assert_true(worst < 0.5);
        assert_true(low <= -12.0);
        free(e);
        free(keep);
        lt_free(in, 1);
    }
}

static void dither_mute_silence_keeps_zeros_exact_and_resumes_on_first_nonzero(void **state) {
    (void)state;
    const long mute_len = 44; /* 1 ms at 44.1 kHz */
    /* zeros in -> zeros out, every shape */
    long n = 44100;
    float **in = lt_alloc(2, n), **out = lt_alloc(2, n);
    for (int s = 0; s < 3; s++) {
        run(16, s, 1, 2, in, out, n);
        assert_true(lt_peak(out[0], n) == 0 && lt_peak(out[1], n) == 0);
    }
    /* mute_silence off: the zeros get the TPDF floor (round(d): power 1/4 LSB^2) */
    run(16, TPDF, 0, 2, in, out, n);
    double p = lt_rms(out[0], n) * 32768;
    print_message("zeros with mute_silence off: %.4f LSB RMS (0.5)\n", p);
    assert_true(fabs(p * p / 0.25 - 1) < 0.05);
    lt_free(in, 2);
    lt_free(out, 2);

    /* isolated 0.3 LSB samples, 99 zeros apart: each is dithered (their mean
     * output is 0.3 LSB; rounding would give 0), the first 44 zeros after it
     * still carry dither, the rest are exact zeros */
    const long gap = 100, reps = 2000;
    n = gap * reps;
    in = lt_alloc(1, n), out = lt_alloc(1, n);
    for (long r = 0; r < reps; r++)
        in[0][r * gap] = (float)(0.3 / 32768.0);
    for (int s = 0; s < 3; s++) {
        run(16, s, 1, 1, in, out, n);
        double sum = 0;
        long noisy = 0, late = 0;
        for (long r = 0; r < reps; r++) {
            sum += out[0][r * gap] * 32768.0;
            for (long k = 1; k <= mute_len; k++)
                noisy += out[0][r * gap + k] != 0;
            for (long k = mute_len + 1; k < gap; k++)
                late += out[0][r * gap + k] != 0;
        }
        print_message("%s: mean output at the 0.3 LSB samples %.3f LSB, non-zero in the first "
                      "1 ms of zeros %ld of %ld, after it %ld\n",
                      SHAPE_NAME[s], sum / reps, noisy, reps * mute_len, late);
        assert_int_equal(late, 0);
        assert_true(noisy > reps * mute_len / 10);
        if (s == TPDF) assert_true(fabs(sum / reps - 0.3) < 0.05);
    }
    lt_free(in, 1);
    lt_free(out, 1);
}

static void dither_silence_plus_tone_has_tpdf_floor_in_tone(void **state) {
    (void)state;
    long z = (long)(0.5 * RATE), t = (long)(1.5 * RATE), n = z + t + z;
    float **in = lt_alloc(1, n), **out = lt_alloc(1, n);
    lt_sine(in[0] + z, t, RATE, 1000, pow(10.0, -30.0 / 20.0), 0.3);
    run(16, TPDF, 1, 1, in, out, n);
    assert_true(lt_peak(out[0], z) == 0);
    assert_true(lt_peak(out[0] + z + t + 44, z - 44) == 0);
    double *e = error_lsb(out[0] + z, in[0] + z, t, 16), m, v;
    mean_var(e, t, &m, &v);
    print_message("tone after silence: error mean %.4f LSB, variance %.4f LSB^2 (0.25)\n", m, v);
    assert_true(fabs(v / 0.25 - 1) < 0.05);
    /* the tone part is exactly what an instance without muting gives */
    float **ref = lt_alloc(1, n);
    run(16, TPDF, 0, 1, in, ref, n);
    double *er = error_lsb(ref[0] + z, in[0] + z, t, 16), mr, vr;
    mean_var(er, t, &mr, &vr);
    assert_true(fabs(vr / v - 1) < 0.05);
    free(e);
    free(er);
    lt_free(in, 1);
    lt_free(out, 1);
    lt_free(ref, 1);
}

static void dither_channels_uncorrelated_and_error_white(void **state) {
    (void)state;
    long n = (long)(4 * RATE);
    const int ch = 8;
    float **in = lt_alloc(ch, n), **out = lt_alloc(ch, n);
    for (int c = 0; c < ch; c++) /* the same signal everywhere */
        lt_sine(in[c], n, RATE, 0.5, 0.2, 0);
    for (int s = 0; s < 3; s++) {
        run(16, s, 1, ch, in, out, n);
        double *e[8];
        for (int c = 0; c < ch; c++)
            e[c] = error_lsb(out[c], in[c], n, 16);
        double worst = 0, worst_lag = 0;
        for (int a = 0; a < ch; a++)
            for (int b = a + 1; b < ch; b++)
                worst = fmax(worst, fabs(corr(e[a], e[b], n)));
        if (s == TPDF)
            for (int lag = 1; lag <= 8; lag++)
                worst_lag = fmax(worst_lag, fabs(corr(e[0], e[0] + lag, n - lag)));
        print_message("%s: largest |corr| between the errors of 8 channels %.4f\n", SHAPE_NAME[s],
                      worst);
        if (s == TPDF) print_message("tpdf error autocorrelation, lags 1-8: %.4f\n", worst_lag);
        assert_true(worst < 0.02);
        assert_true(worst_lag < 0.02);
        for (int c = 0; c < ch; c++)
            free(e[c]);
    }
    lt_free(in, ch);
    lt_free(out, ch);
}

static void dither_deterministic_reset_repeats_any_block_size(void **state) {
    (void)state;
    long n = 20000;
    float **in = lt_alloc(2, n), **a = lt_alloc(2, n), **b = lt_alloc(2, n);
    uint64_t seed = 99;
    lt_noise(in[0], n, 0.5, &seed);
    lt_sine(in[1], n, RATE, 1234, 0.01, 0);
    for (int s = 0; s < 3; s++) {
        run(20, s, 1, 2, in, a, n);
        run(20, s, 1, 2, in, b, n);
        for (int c = 0; c < 2; c++)
            assert_memory_equal(a[c], b[c], (size_t)n * sizeof(float));
        /* reset restarts the noise (and keeps bits = 20) */
        lathe_proc *p = dither(20, s, 1, 2);
        for (int c = 0; c < 2; c++)
            memcpy(b[c], in[c], (size_t)n * sizeof(float));
        lathe_proc_process(p, b, NULL, n);
        lathe_proc_reset(p);
        for (int c = 0; c < 2; c++)
            memcpy(b[c], in[c], (size_t)n * sizeof(float));
        lathe_proc_process(p, b, NULL, n);
        for (int c = 0; c < 2; c++)
            assert_memory_equal(a[c], b[c], (size_t)n * sizeof(float));
        lathe_proc_free(p);
        /* the noise is really there: a third of the samples (E|d| = 1/3 for
         * flat TPDF) or more differ from plain rounding */
        long differs = 0;
        for (long i = 0; i < n; i++)
            differs += a[1][i] != (float)(nearbyint(in[1][i] * 524288.0) / 524288.0);
        assert_true(differs > n / 4);
        const char *names[] = {"shape"};
        double v[] = {s};
        lt_check_block_sizes("dither", RATE, names, v, 1, in, n);
    }
    lt_free(in, 2);
    lt_free(a, 2);
    lt_free(b, 2);
}

static void dither_overload_and_nan_keep_feedback_stable(void **state) {
    (void)state;
    for (int s = 0; s < 3; s++) {
        const char *names[] = {"shape"};
        double v[] = {s};
        lt_check_recovers_from_nan("dither", RATE, 1000, names, v, 1);
    }
    /* fweighted, 0.5 s of a +-2 full-scale square, then a -20 dBFS sine: the
     * output stays finite and clipped to the grid, and once the overload is
     * over the noise returns to 0.25 (1 + sum h^2) LSB^2 */
    long o = (long)(0.5 * RATE), t = (long)(1.5 * RATE), n = o + t;
    float **in = lt_alloc(1, n), **out = lt_alloc(1, n);
    for (long i = 0; i < o; i++)
        in[0][i] = (i / 50) % 2 ? 2.0f : -2.0f;
    in[0][o / 3] = NAN;
    in[0][o / 2] = INFINITY;
    in[0][o / 2 + 1] = -INFINITY;
    lt_sine(in[0] + o, t, RATE, 1000, 0.1, 0);
    run(16, FWEIGHTED, 1, 1, in, out, n);
    long bad = 0;
    for (long i = 0; i < n; i++)
        bad += !isfinite(out[0][i]) || out[0][i] * 32768.0f != floorf(out[0][i] * 32768.0f);
    assert_int_equal(bad, 0);
    long clipped_ok = 0;
    for (long i = 200; i < o; i++)
        if (i % 50 > 20) clipped_ok += out[0][i] == 1.0f - 1.0f / 32768 || out[0][i] == -1.0f;
    double sum_h2 = 1, sum_abs = 1;
    for (int k = 0; k < 9; k++)
        sum_h2 += FW_H[k] * FW_H[k], sum_abs += fabs(FW_H[k]);
    /* from the first sample after the overload the error obeys the bound
     * that the bounded feedback guarantees: |e| (1 + sum |h|) <= 1.5 * 22.4 */
    double *ea = error_lsb(out[0] + o, in[0] + o, t, 16), emax = 0;
    for (long i = 0; i < t; i++)
        emax = fmax(emax, fabs(ea[i]));
    free(ea);
    print_message("fweighted after overload: largest error %.2f LSB (bound %.2f)\n", emax,
                  1.5 * sum_abs);
    assert_true(emax <= 1.5 * sum_abs);
    long tail = (long)RATE;
    double *e = error_lsb(out[0] + n - tail, in[0] + n - tail, tail, 16), m, var;
    mean_var(e, tail, &m, &var);
    print_message("fweighted after overload: error variance %.3f LSB^2 (closed form %.3f); "
                  "%ld clipped samples at full scale\n",
                  var, 0.25 * sum_h2, clipped_ok);
    assert_true(fabs(var / (0.25 * sum_h2) - 1) < 0.05);
    assert_true(clipped_ok > (o - 200) / 2);
    free(e);
    lt_free(in, 1);
    lt_free(out, 1);
}

static void dither_descriptor_no_latency_fixed_params(void **state) {
    (void)state;
    const lathe_proc_desc *d = lathe_processor_find("dither");
    assert_non_null(d);
    assert_int_equal(d->nparams, 3);
    for (int i = 0; i < d->nparams; i++)
        assert_int_equal(d->params[i].flags & LATHE_PARAM_AUTOMATABLE, 0);
    int b = lathe_proc_param_index(d, "bits"), s = lathe_proc_param_index(d, "shape"),
        m = lathe_proc_param_index(d, "mute_silence");
    assert_true(b >= 0 && s >= 0 && m >= 0);
    assert_true(d->params[b].min == 8 && d->params[b].max == 24 && d->params[b].def == 16);
    assert_int_equal(d->params[s].def, TPDF);
    for (int k = 0; k < 3; k++)
        assert_string_equal(d->params[s].choices[k], SHAPE_NAME[k]);
    assert_null(d->params[s].choices[3]);
    assert_int_equal(d->params[m].def, 1);
    lathe_proc *p = dither(16, FWEIGHTED, 1, 2);
    assert_int_equal(lathe_proc_latency(p), 0);
    lathe_proc_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dither_output_on_grid_and_in_range_for_8_16_20_24_bits),
        cmocka_unit_test(dither_16_and_24_bit_wav_round_trip_is_bit_exact),
        cmocka_unit_test(dither_tpdf_error_mean_0_power_quarter_lsb2_triangular_histogram),
        cmocka_unit_test(dither_tpdf_removes_3rd_harmonic_of_minus_90_dbfs_sine_floor_flat),
        cmocka_unit_test(dither_shaped_noise_follows_ntf_fweighted_and_highpass),
        cmocka_unit_test(dither_fweighted_curve_scales_with_rate),
        cmocka_unit_test(dither_mute_silence_keeps_zeros_exact_and_resumes_on_first_nonzero),
        cmocka_unit_test(dither_silence_plus_tone_has_tpdf_floor_in_tone),
        cmocka_unit_test(dither_channels_uncorrelated_and_error_white),
        cmocka_unit_test(dither_deterministic_reset_repeats_any_block_size),
        cmocka_unit_test(dither_overload_and_nan_keep_feedback_stable),
        cmocka_unit_test(dither_descriptor_no_latency_fixed_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
