/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe clean, end to end: a noise profile from a range of the input and
 * from a noise-only file each raise the SNR of tonal music in white noise
 * at 20 dB by at least 8 dB; --dehum auto finds and removes 60 Hz hum; the
 * whole chain keeps the input's length (latency compensated) and its timing
 * (a null against the input where nothing needs repair); --report writes
 * a before/after HTML report; errors: the input
 * as output, a missing input, nothing to do, a bad range. */
#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/io.h"

#define RATE 44100.0

static char *const dir = lt_dir;

static void write_file(const char *path, float **b, int ch, long n) {
    lt_write_wav(path, b, ch, n, RATE, LATHE_SAMPLE_FLOAT32);
}

static float **read_file(const char *path, int ch, long *n) {
    lathe_error err;
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(path, &info, &err);
    if (!r) fail_msg("%s", err.msg);
    assert_int_equal(info.channels, ch);
    float **b = lt_alloc(ch, info.frames);
    long got = 0;
    while (got < info.frames) {
        float *o[2] = {b[0] + got, ch > 1 ? b[1] + got : NULL};
        long k = lathe_reader_read(r, o, info.frames - got, &err);
        if (k <= 0) break;
        got += k;
    }
    lathe_reader_close(r);
    *n = got;
    return b;
}

/* Tonal "music": three notes with harmonics, swelling and fading. */
static void music(float **x, long n, long from) {
    const double f[3] = {246.94, 311.13, 369.99}; /* B3 D#4 F#4: no harmonic within 20 Hz of 60 k Hz */
    for (int c = 0; c < 2; c++)
        for (long i = from; i < n; i++) {
            double t = (i - from) / RATE, v = 0;
            for (int k = 0; k < 3; k++) {
                double env = 0.5 + 0.5 * sin(2 * M_PI * (0.3 + 0.1 * k) * t + k + c);
                for (int h = 1; h <= 5; h++) v += env * 0.08 / h * sin(2 * M_PI * f[k] * h * t + h * k);
            }
            x[c][i] = (float)v;
        }
}

/* SNR of y (aligned with clean, from `from`) against clean */
static double snr(float **clean, float **y, long from, long n) {
    double ps = 0, pe = 0;
    for (int c = 0; c < 2; c++)
        for (long i = from; i < n; i++) {
            ps += (double)clean[c][i] * clean[c][i];
            double e = (double)y[c][i] - clean[c][i];
            pe += e * e;
        }
    return 10 * log10(ps / pe);
}

static void run_denoise(const char *profile_opt, int noise_file) {
    long head = (long)RATE, n = head + (long)(8 * RATE);
    float **clean = lt_alloc(2, n), **x = lt_alloc(2, n), **nz = lt_alloc(2, n);
    music(clean, n, head);
    double pm = 0;
    for (int c = 0; c < 2; c++) pm += lt_rms(clean[c] + head, n - head) * lt_rms(clean[c] + head, n - head) / 2;
    uint64_t seed = 42;
    double amp = sqrt(pm / 100.0 * 3.0);
    for (int c = 0; c < 2; c++) lt_noise(nz[c], n, amp, &seed);
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++) x[c][i] = clean[c][i] + nz[c][i];
    char in[512], out[512], nf[512];
    snprintf(in, sizeof in, "%s/noisy.wav", dir);
    snprintf(out, sizeof out, "%s/clean.wav", dir);
    write_file(in, x, 2, n);
    if (noise_file) {
        float **nn = lt_alloc(2, (long)(2 * RATE));
        for (int c = 0; c < 2; c++) lt_noise(nn[c], (long)(2 * RATE), amp, &seed);
        snprintf(nf, sizeof nf, "%s/noise-only.wav", dir);
        write_file(nf, nn, 2, (long)(2 * RATE));
        lt_free(nn, 2);
        profile_opt = nf;
    }
    lt_run_result r = lt_run("'%s' clean '%s' -o '%s' --denoise 20 --noise-profile '%s' --force",
                             lt_lathe_exe(), in, out, profile_opt);
    print_message("%s", r.out);
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    long m;
    float **y = read_file(out, 2, &m);
    assert_int_equal(m, n);
    long from = head + (long)RATE;
    double si = snr(clean, x, from, n), so = snr(clean, y, from, n);
    print_message("--noise-profile %s: SNR %.2f dB -> %.2f dB (+%.2f dB)\n",
                  noise_file ? "FILE" : profile_opt, si, so, so - si);
    assert_true(so - si >= 8.0);
    lt_run_free(&r);
    lt_free(y, 2);
    lt_free(clean, 2);
    lt_free(x, 2);
    lt_free(nz, 2);
}

static void clean_denoise_range_profile_snr_up_8_db(void **s) {
    (void)s;
    run_denoise("0-0:01", 0);
}

static void clean_denoise_noise_file_profile_snr_up_8_db(void **s) {
    (void)s;
    run_denoise(NULL, 1);
}

static void clean_dehum_auto_removes_60_hz_hum_by_30_db(void **s) {
    (void)s;
    long n = (long)(8 * RATE);
    float **clean = lt_alloc(2, n), **x = lt_alloc(2, n);
    music(clean, n, 0);
    const double a = lt_undb(-30);
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++) {
            double h = 0;
            for (int k = 1; k <= 11; k++) h += a * sin(2 * M_PI * 60 * k * i / RATE + k);
            x[c][i] = (float)(clean[c][i] + h);
        }
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/hum.wav", dir);
    snprintf(out, sizeof out, "%s/dehum.wav", dir);
    write_file(in, x, 2, n);
    char rep[512];
    snprintf(rep, sizeof rep, "%s/clean.html", dir);
    lt_run_result r = lt_run("'%s' clean '%s' -o '%s' --dehum auto --report '%s' --force", lt_lathe_exe(),
                             in, out, rep);
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    /* the report: one HTML file naming the input, the output and the chain */
    FILE *f = fopen(rep, "r");
    assert_non_null(f);
    static char html[1 << 20];
    size_t hn = fread(html, 1, sizeof html - 1, f);
    html[hn] = 0;
    fclose(f);
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "hum.wav"));
    assert_non_null(strstr(html, "dehum.wav"));
    assert_non_null(strstr(html, "Chain: dehum"));
    long m;
    float **y = read_file(out, 2, &m);
    assert_int_equal(m, n);
    long from = (long)(3 * RATE);
    double worst = INFINITY;
    for (int k = 1; k <= 11; k++) {
        /* 60 k Hz is not a note's harmonic here, so the output's component
         * there is the hum left over */
        double amp = lt_tone_amp(y[0] + from, n - from, RATE, 60.0 * k, NULL);
        worst = fmin(worst, lt_db(a / amp));
    }
    print_message("--dehum auto on 60 Hz + 10 harmonics at -30 dBFS: smallest line reduction %.1f dB\n", worst);
    assert_true(worst >= 30.0);
    lt_run_free(&r);
    lt_free(y, 2);
    lt_free(clean, 2);
    lt_free(x, 2);
}

static void clean_whole_chain_keeps_length_and_timing(void **s) {
    (void)s;
    long n = (long)(3 * RATE) + 123;
    float **x = lt_alloc(2, n);
    music(x, n, 0);
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/tone.wav", dir);
    snprintf(out, sizeof out, "%s/tone-clean.flac", dir);
    write_file(in, x, 2, n);
    lt_run_result r = lt_run("'%s' clean '%s' -o '%s' --declip --declick --force --quiet", lt_lathe_exe(), in, out);
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    long m;
    float **y = read_file(out, 2, &m);
    assert_int_equal(m, n);
    /* nothing to repair: the output is the input 6 dB down (declip's headroom),
     * sample-aligned, to 24-bit FLAC precision; the file's first and last
     * moments are left out: declick sees a step from and to silence there */
    double g = lt_undb(-6), maxe = 0;
    for (int c = 0; c < 2; c++)
        for (long i = (long)(0.1 * RATE); i < n - (long)(0.005 * RATE); i++) {
            if (fabs(y[c][i] - x[c][i] * g) > maxe && getenv("CLEAN_DEBUG")) print_message("c%d i %ld %g\n", c, i, y[c][i] - x[c][i] * g);
            maxe = fmax(maxe, fabs(y[c][i] - x[c][i] * g));
        }
    print_message("declip + declick on clean tones: %ld frames in and out, largest difference %.2e\n", m, maxe);
    assert_true(maxe < 1e-6);
    lt_run_free(&r);
    lt_free(y, 2);
    lt_free(x, 2);
}

static void clean_errors_name_the_file_and_exit_codes(void **s) {
    (void)s;
    long n = (long)RATE;
    float **x = lt_alloc(2, n);
    music(x, n, 0);
    char in[512];
    snprintf(in, sizeof in, "%s/in.wav", dir);
    write_file(in, x, 2, n);
    lt_run_result r = lt_run("'%s' clean '%s' -o '%s' --denoise", lt_lathe_exe(), in, in);
    assert_int_equal(r.status, 73);
    assert_non_null(strstr(r.err, "in.wav"));
    lt_run_free(&r);
    r = lt_run("'%s' clean '%s/missing.wav' -o '%s/o.wav' --declick", lt_lathe_exe(), dir, dir);
    assert_int_equal(r.status, 66);
    assert_non_null(strstr(r.err, "missing.wav"));
    lt_run_free(&r);
    r = lt_run("'%s' clean '%s' -o '%s/o.wav'", lt_lathe_exe(), in, dir);
    assert_int_equal(r.status, 64);
    lt_run_free(&r);
    r = lt_run("'%s' clean '%s' -o '%s/o.wav' --denoise --noise-profile 0.5-9", lt_lathe_exe(), in, dir);
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "in.wav"));
    lt_run_free(&r);
    r = lt_run("'%s' clean '%s' -o '%s/o.wav' --dehum 55", lt_lathe_exe(), in, dir);
    assert_int_equal(r.status, 64);
    lt_run_free(&r);
    r = lt_run("'%s' clean '%s' -o '%s/o.wav' --declick --report '%s'", lt_lathe_exe(), in, dir, in);
    assert_int_equal(r.status, 64); /* not an .html name */
    lt_run_free(&r);
    lt_free(x, 2);
}

int main(void) {
    if (!lt_lathe_exe()) {
        fprintf(stderr, "LATHE_EXE not set\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_denoise_range_profile_snr_up_8_db),
        cmocka_unit_test(clean_denoise_noise_file_profile_snr_up_8_db),
        cmocka_unit_test(clean_dehum_auto_removes_60_hz_hum_by_30_db),
        cmocka_unit_test(clean_whole_chain_keeps_length_and_timing),
        cmocka_unit_test(clean_errors_name_the_file_and_exit_codes),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
