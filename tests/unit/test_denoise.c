/* SPDX-License-Identifier: GPL-3.0-or-later */
/* denoise: SNR improvement on music plus white noise, the music's smoothed
 * spectrum kept, reduction of pure noise, latency and exact pass-through,
 * block-size invariance, NaN recovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/fft.h"
#include "dsp/restore.h"
#include "lathe/io.h"

#define RATE 44100.0


/* Writes a profile of `noise` (2 channels, n frames) into dir/noise.prof. */
static void make_profile(float **noise, long n, char *path, size_t len, char *dir, size_t dlen) {
    lt_tmpdir(dir, dlen);
    snprintf(path, len, "%s/noise.prof", dir);
    lathe_noise_profile *p = lathe_noise_profile_new(RATE, 2);
    assert_non_null(p);
    lathe_noise_profile_add(p, (const float *const *)noise, n);
    lathe_error err = {0};
    assert_int_equal(lathe_noise_profile_save(p, path, &err), LATHE_OK);
    lathe_noise_profile_free(p);
}

static lathe_proc *denoiser(const char *profile, double amount) {
    const lathe_proc_desc *d = lathe_processor_find("denoise");
    assert_non_null(d);
    int idx[1] = {lathe_proc_param_index(d, "amount")};
    double v[1] = {amount};
    const char *names[1] = {"profile"}, *vals[1] = {profile};
    lathe_error err = {0};
    lathe_proc *p = lathe_proc_new_full(d, RATE, 2, 1024, idx, v, 1, names, vals, profile ? 1 : 0, &err);
    if (!p) fail_msg("denoise: %s", err.msg);
    return p;
}

/* Welch power spectrum (Hann, 4096, hop 2048) of x[0..n). psd: 2049 bins. */
static void welch(const float *x, long n, double *psd) {
    const int N = 4096;
    lathe_fft f;
    assert_int_equal(lathe_fft_init(&f, N), 0);
    float *fr = fftwf_malloc(sizeof(float) * N);
    fftwf_complex *sp = fftwf_malloc(sizeof(fftwf_complex) * (N / 2 + 1));
    memset(psd, 0, sizeof(double) * (N / 2 + 1));
    for (long s = 0; s + N <= n; s += N / 2) {
        for (int i = 0; i < N; i++) fr[i] = x[s + i] * (float)(0.5 - 0.5 * cos(2 * M_PI * i / N));
        lathe_fft_forward(&f, fr, sp);
        for (int k = 0; k <= N / 2; k++) psd[k] += (double)sp[k][0] * sp[k][0] + (double)sp[k][1] * sp[k][1];
    }
    fftwf_free(fr);
    fftwf_free(sp);
    lathe_fft_destroy(&f);
}

/* Third-octave band powers (centres 50 Hz .. 16 kHz, 26 bands) from a 4096 Welch psd. */
static int bands(const double *psd, double *out) {
    int nb = 0;
    for (int b = -13; b <= 12; b++) {
        double fc = 1000.0 * pow(2.0, b / 3.0), lo = fc * pow(2.0, -1.0 / 6), hi = fc * pow(2.0, 1.0 / 6);
        double s = 0;
        for (int k = 1; k < 2048; k++) {
            double f = k * RATE / 4096;
            if (f >= lo && f < hi) s += psd[k];
        }
        out[nb++] = s;
    }
    return nb;
}

typedef struct {
    double snr_in, snr_out, max_dev;
    int nbands;
} result;

/* music + white noise at 20 dB SNR through denoise; SNR in and out, and the
 * largest third-octave deviation of the output from the music where the
 * music is at least 20 dB above the noise. */
static int music_through(const char *profile_mode, double amount, result *res) {
    long n;
    float **m = lt_load_music("lincity-ng_02_robert-van-herk_city-blues.ogg", 40.0, 12.0, &n);
    if (!m) return 0;
    long s0 = (long)(2 * RATE), len = n - 4096 - s0;
    double pm = 0;
    for (int c = 0; c < 2; c++) pm += lt_rms(m[c] + s0, len) * lt_rms(m[c] + s0, len) / 2;
    double amp = sqrt(pm / 100.0) * sqrt(3.0); /* uniform [-a, a): rms a/sqrt(3); 20 dB below */
    uint64_t seed = 12345;
    long nn = (long)(4 * RATE);
    float **noise = lt_alloc(2, n), **pnoise = lt_alloc(2, nn), **x = lt_alloc(2, n);
    for (int c = 0; c < 2; c++) lt_noise(noise[c], n, amp, &seed);
    for (int c = 0; c < 2; c++) lt_noise(pnoise[c], nn, amp, &seed); /* a separate noise-only stretch */
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++) x[c][i] = m[c][i] + noise[c][i];
    char dir[256], path[512];
    const char *prof = NULL;
    if (!strcmp(profile_mode, "profile")) {
        make_profile(pnoise, nn, path, sizeof path, dir, sizeof dir);
        prof = path;
    }
    lathe_proc *p = denoiser(prof, amount);
    int L = lathe_proc_latency(p);
    lathe_proc_process(p, x, NULL, n);
    double ps = 0, pn = 0, pe = 0;
    for (int c = 0; c < 2; c++)
        for (long i = s0; i < s0 + len; i++) {
            ps += (double)m[c][i] * m[c][i];
            pn += (double)noise[c][i] * noise[c][i];
            double e = (double)x[c][i + L] - m[c][i];
            pe += e * e;
        }
    res->snr_in = 10 * log10(ps / pn);
    res->snr_out = 10 * log10(ps / pe);
    double pc[2049], pnz[2049], po[2049], bc[32], bn[32], bo[32];
    res->max_dev = 0;
    res->nbands = 0;
    for (int c = 0; c < 2; c++) {
        welch(m[c] + s0, len, pc);
        welch(noise[c] + s0, len, pnz);
        welch(x[c] + s0 + L, len, po);
        int nb = bands(pc, bc);
        bands(pnz, bn);
        bands(po, bo);
        for (int b = 0; b < nb; b++) {
            if (bc[b] < bn[b] * 100.0) continue;
            double dev = 10 * log10(bo[b] / bc[b]);
            if (fabs(dev) > fabs(res->max_dev)) res->max_dev = dev;
            res->nbands++;
        }
    }
    lathe_proc_free(p);
    if (prof) lt_rmdir(dir);
    lt_free(m, 2);
    lt_free(noise, 2);
    lt_free(pnoise, 2);
    lt_free(x, 2);
    return 1;
}

static void denoise_profile_music_snr_up_8_db_spectrum_within_1_db(void **s) {
    (void)s;
    result r;
    if (!music_through("profile", 20, &r)) skip();
    print_message("profile: SNR %.2f dB -> %.2f dB (+%.2f dB); %d bands with music 20 dB above the "
                  "noise, largest deviation %+.3f dB\n",
                  r.snr_in, r.snr_out, r.snr_out - r.snr_in, r.nbands, r.max_dev);
    assert_true(fabs(r.snr_in - 20.0) < 0.1);
    assert_true(r.snr_out - r.snr_in >= 8.0);
    assert_true(r.nbands >= 10);
    assert_true(fabs(r.max_dev) <= 1.0);
}

static void denoise_minimum_statistics_music_snr_up_6_db_spectrum_within_1_db(void **s) {
    (void)s;
    result r;
    if (!music_through("auto", 20, &r)) skip();
    print_message("auto (minimum statistics): SNR %.2f dB -> %.2f dB (+%.2f dB); %d bands, largest "
                  "deviation %+.3f dB\n",
                  r.snr_in, r.snr_out, r.snr_out - r.snr_in, r.nbands, r.max_dev);
    /* streaming minimum statistics on sustained music: a little weaker than a profile */
    assert_true(r.snr_out - r.snr_in >= 6.0);
    assert_true(r.nbands >= 10);
    assert_true(fabs(r.max_dev) <= 1.0);
}

/* Pure white noise with its profile is lowered by `amount` (the floor). */
static void denoise_noise_only_lowered_by_amount_within_1_db_profile_1_5_db_tracked(void **s) {
    (void)s;
    long n = (long)(8 * RATE);
    float **x = lt_alloc(2, n), **pn = lt_alloc(2, n);
    uint64_t seed = 777;
    for (int c = 0; c < 2; c++) lt_noise(pn[c], n, 0.1, &seed);
    for (int c = 0; c < 2; c++) lt_noise(x[c], n, 0.1, &seed);
    char dir[256], path[512];
    make_profile(pn, n, path, sizeof path, dir, sizeof dir);
    const double amounts[] = {6, 12, 24, 6, 12, 24};
    for (int a = 0; a < 6; a++) {
        float **y = lt_alloc(2, n);
        for (int c = 0; c < 2; c++) memcpy(y[c], x[c], sizeof(float) * n);
        lathe_proc *p = denoiser(a < 3 ? path : NULL, amounts[a]);
        lathe_proc_process(p, y, NULL, n);
        long s0 = (long)(2 * RATE) + lathe_proc_latency(p);
        double g = lt_db(lt_rms(y[0] + s0, n - s0) / lt_rms(x[0], n - s0));
        print_message("white noise, %s, amount %.0f dB: output %+.3f dB\n",
                      a < 3 ? "profile" : "minimum statistics", amounts[a], g);
        assert_true(fabs(g + amounts[a]) <= (a < 3 ? 1.0 : 1.5));
        lathe_proc_free(p);
        lt_free(y, 2);
    }
    lt_rmdir(dir);
    lt_free(x, 2);
    lt_free(pn, 2);
}

/* amount 0: the output is the input delayed by exactly latency() frames. */
static void denoise_amount_0_is_input_delayed_by_latency(void **s) {
    (void)s;
    long n = (long)(2 * RATE);
    float **x = lt_alloc(2, n), **y = lt_alloc(2, n);
    uint64_t seed = 99;
    for (int c = 0; c < 2; c++) {
        lt_noise(x[c], n, 0.3, &seed);
        memcpy(y[c], x[c], sizeof(float) * n);
    }
    lathe_proc *p = denoiser(NULL, 0);
    int L = lathe_proc_latency(p);
    lathe_proc_process(p, y, NULL, n);
    double maxe = 0;
    for (int c = 0; c < 2; c++)
        for (long i = 0; i + L < n; i++) maxe = fmax(maxe, fabs((double)y[c][i + L] - x[c][i]));
    print_message("latency %d frames (%.1f ms); largest difference from the delayed input %.2e\n", L,
                  1000.0 * L / RATE, maxe);
    assert_int_equal(L, lathe_denoise_fft_size(RATE));
    assert_true(maxe < 1e-5);
    lathe_proc_free(p);
    lt_free(x, 2);
    lt_free(y, 2);
}

static void denoise_block_size_invariant_and_recovers_from_nan(void **s) {
    (void)s;
    long n = (long)(1.5 * RATE);
    float **x = lt_alloc(2, n);
    uint64_t seed = 5;
    for (int c = 0; c < 2; c++) {
        lt_noise(x[c], n, 0.05, &seed);
        float t[1];
        (void)t;
        for (long i = 0; i < n; i++) x[c][i] += (float)(0.3 * sin(2 * M_PI * 440 * i / RATE));
    }
    const char *names[] = {"amount"};
    double vals[] = {18};
    lt_check_block_sizes("denoise", RATE, names, vals, 1, x, n);
    lt_check_recovers_from_nan("denoise", RATE, 1000, names, vals, 1);
    lt_free(x, 2);
}

static void denoise_bad_profile_file_is_an_error_naming_it(void **s) {
    (void)s;
    char dir[256], path[512];
    lt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.prof", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a profile\n", f);
    fclose(f);
    const lathe_proc_desc *d = lathe_processor_find("denoise");
    const char *names[1] = {"profile"}, *vals[1] = {path};
    lathe_error err = {0};
    lathe_proc *p = lathe_proc_new(d, RATE, 2, 512, names, vals, 1, &err);
    assert_null(p);
    print_message("%s\n", err.msg);
    assert_non_null(strstr(err.msg, "bad.prof"));
    lt_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(denoise_profile_music_snr_up_8_db_spectrum_within_1_db),
        cmocka_unit_test(denoise_minimum_statistics_music_snr_up_6_db_spectrum_within_1_db),
        cmocka_unit_test(denoise_noise_only_lowered_by_amount_within_1_db_profile_1_5_db_tracked),
        cmocka_unit_test(denoise_amount_0_is_input_delayed_by_latency),
        cmocka_unit_test(denoise_block_size_invariant_and_recovers_from_nan),
        cmocka_unit_test(denoise_bad_profile_file_is_an_error_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
