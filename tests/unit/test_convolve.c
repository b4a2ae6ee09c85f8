/* SPDX-License-Identifier: GPL-3.0-or-later */
/* convolve: a unit impulse IR returns the input; noise through a random 2 s
 * IR matches direct convolution (in double) within -100 dB; stereo IRs map
 * L->L, R->R; an IR at 44.1 kHz is resampled for 48 kHz; a missing file is
 * an error naming it; a 10 s IR runs and is still exact. IR files are
 * written by the test with libsndfile into its own temporary directory. */
#include "lathe_test.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static int setup(void **s)
{
    (void)s;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lathe-test-convolve-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **s)
{
    (void)s;
    rmdir(tmpdir); /* the tests remove their own files */
    return 0;
}

/* Writes an interleaved float WAV; returns its path (static buffer per call slot). */
static const char *write_ir(const char *name, const float *x, long frames, int ch, int rate)
{
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    SF_INFO info = {0};
    info.samplerate = rate;
    info.channels = ch;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE *f = sf_open(p, SFM_WRITE, &info);
    if (!f) fail_msg("cannot write %s: %s", p, sf_strerror(NULL));
    assert_int_equal(sf_writef_float(f, x, frames), frames);
    sf_close(f);
    return p;
}

static lathe_proc *conv(const char *ir, double rate, int ch, int normalize)
{
    const lathe_proc_desc *d = lathe_processor_find("convolve");
    assert_non_null(d);
    const char *names[] = {"ir"}, *vals[] = {ir};
    lathe_error err = {0};
    lathe_proc *p = lathe_proc_new(d, rate, ch, 512, names, vals, 1, &err);
    if (!p) fail_msg("convolve: %s", err.msg);
    if (normalize) lathe_proc_set(p, lathe_proc_param_index(d, "normalize"), 1);
    return p;
}

/* Processes x in irregular chunks (exercises partial partitions). */
static void run_chunks(lathe_proc *p, float **b, int ch, long n)
{
    static const long sizes[] = {100, 317, 512, 3, 1, 64, 511, 1000};
    long off = 0;
    for (int k = 0; off < n; k++) {
        long m = sizes[k % 8];
        if (m > n - off) m = n - off;
        float *io[8];
        for (int c = 0; c < ch; c++) io[c] = b[c] + off;
        lathe_proc_process(p, io, NULL, m);
        off += m;
    }
}

static void convolve_unit_impulse_returns_input_within_1e_6(void **s)
{
    (void)s;
    float one = 1.0f;
    const char *path = write_ir("unit.wav", &one, 1, 1, 48000);
    lathe_proc *p = conv(path, 48000, 2, 0);
    int lat = lathe_proc_latency(p);
    assert_int_equal(lat, 512);
    long n = 20000;
    float **b = lt_alloc(2, n), **ref = lt_alloc(2, n);
    uint64_t seed = 17;
    for (int c = 0; c < 2; c++) {
        lt_noise(b[c], n, 1.0, &seed);
        memcpy(ref[c], b[c], sizeof(float) * (size_t)n);
    }
    run_chunks(p, b, 2, n);
    double maxerr = 0;
    for (int c = 0; c < 2; c++) {
        for (long i = 0; i < lat; i++) assert_true(b[c][i] == 0.0f);
        for (long i = lat; i < n; i++) maxerr = fmax(maxerr, fabs(b[c][i] - ref[c][i - lat]));
    }
    print_message("unit impulse: max error %.3g\n", maxerr);
    assert_true(maxerr < 1e-6);
    assert_true(fabs(lathe_proc_tail_s(p) - 1.0 / 48000) < 1e-12);
    lt_free(b, 2);
    lt_free(ref, 2);
    lathe_proc_free(p);
    unlink(path);
}

/* Error energy of y (latency-compensated) against direct convolution in
 * double at every `step`-th output sample, relative to the signal energy. */
static double direct_error_db(const float *x, long n, const float *h, long L, const float *y, int lat,
                              long step)
{
    double e = 0, sig = 0;
    for (long i = 0; i + lat < n; i += step) {
        double a = 0;
        long k0 = i - (n - 1) > 0 ? i - (n - 1) : 0;
        for (long k = k0; k < L && k <= i; k++) a += (double)h[k] * x[i - k];
        double d = y[i + lat] - a;
        e += d * d;
        sig += a * a;
    }
    return 10 * log10(e / sig);
}

static void convolve_noise_with_2_s_ir_matches_direct_within_minus_100_db(void **s)
{
    (void)s;
    const int rate = 48000;
    long L = 2 * rate, n = 3 * rate;
    float *h = malloc(sizeof(float) * (size_t)L);
    assert_non_null(h);
    uint64_t seed = 99;
    lt_noise(h, L, 1.0, &seed);
    for (long i = 0; i < L; i++) h[i] *= (float)exp(-3.0 * (double)i / (double)L); /* decaying */
    const char *path = write_ir("noise2s.wav", h, L, 1, rate);
    lathe_proc *p = conv(path, rate, 1, 0);
    float **b = lt_alloc(1, n), **x = lt_alloc(1, n);
    lt_noise(x[0], n, 0.5, &seed);
    memcpy(b[0], x[0], sizeof(float) * (size_t)n);
    run_chunks(p, b, 1, n);
    double db = direct_error_db(x[0], n, h, L, b[0], lathe_proc_latency(p), 97);
    print_message("2 s IR: error %.1f dB re signal\n", db);
    assert_true(db < -100.0);
    lt_free(b, 1);
    lt_free(x, 1);
    free(h);
    lathe_proc_free(p);
    unlink(path);
}

static void convolve_stereo_ir_maps_left_to_left_right_to_right(void **s)
{
    (void)s;
    /* L: impulse at 0 (gain 1); R: impulse at 10 (gain 0.5) */
    float ir[2 * 11] = {0};
    ir[0] = 1.0f;
    ir[2 * 10 + 1] = 0.5f;
    const char *path = write_ir("stereo.wav", ir, 11, 2, 48000);
    lathe_proc *p = conv(path, 48000, 2, 0);
    int lat = lathe_proc_latency(p);
    long n = 4096;
    float **b = lt_alloc(2, n);
    b[0][0] = 1.0f;
    b[1][100] = 1.0f;
    lathe_proc_process(p, b, NULL, n);
    for (long i = 0; i < n; i++) {
        float wl = i == lat ? 1.0f : 0.0f, wr = i == lat + 110 ? 0.5f : 0.0f;
        if (fabsf(b[0][i] - wl) > 1e-6f || fabsf(b[1][i] - wr) > 1e-6f)
            fail_msg("frame %ld: L %g R %g, want %g %g", i, b[0][i], b[1][i], wl, wr);
    }
    lt_free(b, 2);
    lathe_proc_free(p);
    unlink(path);
}

static void convolve_ir_at_44100_is_resampled_for_48000(void **s)
{
    (void)s;
    /* 1 s at 44.1 kHz with impulses at 0.1 s and 0.5 s: at 48 kHz the IR is
     * 48000 frames long and the impulses land at 4800 and 24000 */
    long L = 44100;
    float *h = calloc((size_t)L, sizeof(float));
    assert_non_null(h);
    h[4410] = 1.0f;
    h[22050] = -0.5f;
    const char *path = write_ir("r44k.wav", h, L, 1, 44100);
    lathe_proc *p = conv(path, 48000, 1, 0);
    double tail = lathe_proc_tail_s(p);
    print_message("44.1 kHz IR at 48 kHz: %.6f s (%ld frames)\n", tail, lround(tail * 48000));
    assert_true(labs(lround(tail * 48000) - 48000) <= 1);
    int lat = lathe_proc_latency(p);
    long n = 30000;
    float **b = lt_alloc(1, n);
    b[0][0] = 1.0f;
    lathe_proc_process(p, b, NULL, n);
    long a1 = 0, a2 = 0;
    for (long i = 0; i < n; i++) {
        if (b[0][i] > b[0][a1]) a1 = i;
        if (b[0][i] < b[0][a2]) a2 = i;
    }
    print_message("peaks at %ld (%.4f) and %ld (%.4f)\n", a1 - lat, b[0][a1], a2 - lat, b[0][a2]);
    assert_int_equal(a1 - lat, 4800);
    assert_int_equal(a2 - lat, 24000);
    /* a band-limited impulse keeps its area (DC gain of the resampler ~1) */
    double area = 0;
    for (long i = a1 - 200; i <= a1 + 200; i++) area += b[0][i];
    assert_true(fabs(area - 48000.0 / 44100.0) < 0.01);
    lt_free(b, 1);
    free(h);
    lathe_proc_free(p);
    unlink(path);
}

static void convolve_missing_ir_file_is_an_error_naming_it(void **s)
{
    (void)s;
    const lathe_proc_desc *d = lathe_processor_find("convolve");
    char path[512];
    snprintf(path, sizeof path, "%s/no-such-ir.wav", tmpdir);
    const char *names[] = {"ir"}, *vals[] = {path};
    lathe_error err = {0};
    lathe_proc *p = lathe_proc_new(d, 48000, 2, 512, names, vals, 1, &err);
    assert_null(p);
    char want[600];
    snprintf(want, sizeof want, "ir: %s: no such file", path);
    assert_string_equal(err.msg, want);
    assert_int_equal(err.code, LATHE_E_IO);
    /* no file at all */
    p = lathe_proc_new(d, 48000, 2, 512, NULL, NULL, 0, &err);
    assert_null(p);
    assert_non_null(strstr(err.msg, "ir:"));
}

/* The whole life cycle by hand (proc.h): string and number params before
 * init, which lathe_proc_new / lathe_proc_new_with cannot do together. */
static void impulse_by_hand(const char *ir, const char *const *names, const double *vals, int nv,
                            float *out, int n)
{
    const lathe_proc_desc *d = lathe_processor_find("convolve");
    void *st = calloc(1, d->state_size);
    assert_non_null(st);
    for (int i = 0; i < d->nparams; i++)
        if (d->params[i].kind != LATHE_PARAM_STRING) d->set(st, i, d->params[i].def);
    for (int i = 0; i < nv; i++) d->set(st, lathe_proc_param_index(d, names[i]), vals[i]);
    lathe_error err = {0};
    assert_int_equal(d->set_string(st, lathe_proc_param_index(d, "ir"), ir, &err), LATHE_OK);
    if (d->init(st, 48000, 1, 256, &err) != LATHE_OK) fail_msg("%s", err.msg);
    assert_int_equal(d->latency(st), 256);
    memset(out, 0, sizeof(float) * (size_t)n);
    out[0] = 1.0f;
    for (int off = 0; off < n; off += 256) {
        float *io[1] = {out + off};
        d->process(st, io, NULL, n - off < 256 ? n - off : 256);
    }
    d->fini(st);
    free(st);
}

static void convolve_normalize_and_predelay(void **s)
{
    (void)s;
    float h[3] = {3.0f, 0.0f, 4.0f}; /* energy 25: normalised to 0.6, 0, 0.8 */
    const char *path = write_ir("norm.wav", h, 3, 1, 48000);
    float y[2048];
    impulse_by_hand(path, (const char *const[]){"normalize"}, (const double[]){1}, 1, y, 2048);
    for (int i = 0; i < 2048; i++) {
        float w = i == 256 ? 0.6f : i == 258 ? 0.8f : 0.0f;
        if (fabsf(y[i] - w) > 1e-6f) fail_msg("normalize: y[%d] = %g, want %g", i, y[i], w);
    }
    /* 5 ms pre-delay = 240 frames at 48 kHz; gain -6.0206 dB = 0.5 */
    impulse_by_hand(path, (const char *const[]){"predelay", "gain"}, (const double[]){5, -20 * log10(2.0)},
                    2, y, 2048);
    for (int i = 0; i < 2048; i++) {
        float w = i == 256 + 240 ? 1.5f : i == 258 + 240 ? 2.0f : 0.0f;
        if (fabsf(y[i] - w) > 1e-6f) fail_msg("predelay: y[%d] = %g, want %g", i, y[i], w);
    }
    unlink(path);
}

static void convolve_10_s_ir_runs_and_stays_exact(void **s)
{
    (void)s;
    const int rate = 48000;
    long L = 10L * rate, n = rate;
    float *h = malloc(sizeof(float) * (size_t)L);
    assert_non_null(h);
    uint64_t seed = 123;
    lt_noise(h, L, 0.1, &seed);
    const char *path = write_ir("long10s.wav", h, L, 1, rate);
    lathe_proc *p = conv(path, rate, 2, 0);
    assert_true(fabs(lathe_proc_tail_s(p) - 10.0) < 1e-9);
    float **b = lt_alloc(2, n), **x = lt_alloc(2, n);
    lt_noise(x[0], n, 0.5, &seed);
    lt_noise(x[1], n, 0.5, &seed);
    memcpy(b[0], x[0], sizeof(float) * (size_t)n);
    memcpy(b[1], x[1], sizeof(float) * (size_t)n);
    lathe_proc_process(p, b, NULL, n);
    for (int c = 0; c < 2; c++) {
        double db = direct_error_db(x[c], n, h, L, b[c], lathe_proc_latency(p), 1009);
        print_message("10 s IR ch%d: error %.1f dB\n", c, db);
        assert_true(db < -100.0);
    }
    lt_free(b, 2);
    lt_free(x, 2);
    free(h);
    lathe_proc_free(p);
    unlink(path);
}

static void convolve_reset_returns_to_silence(void **s)
{
    (void)s;
    float h[4] = {0.5f, 0.25f, 0.125f, 0.0625f};
    const char *path = write_ir("short.wav", h, 4, 1, 48000);
    lathe_proc *p = conv(path, 48000, 1, 0);
    long n = 3000;
    float **b = lt_alloc(1, n);
    uint64_t seed = 4;
    lt_noise(b[0], n, 1.0, &seed);
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) > 0.1);
    lathe_proc_reset(p);
    memset(b[0], 0, sizeof(float) * (size_t)n);
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) == 0.0);
    lt_free(b, 1);
    lathe_proc_free(p);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(convolve_unit_impulse_returns_input_within_1e_6),
        cmocka_unit_test(convolve_noise_with_2_s_ir_matches_direct_within_minus_100_db),
        cmocka_unit_test(convolve_stereo_ir_maps_left_to_left_right_to_right),
        cmocka_unit_test(convolve_ir_at_44100_is_resampled_for_48000),
        cmocka_unit_test(convolve_missing_ir_file_is_an_error_naming_it),
        cmocka_unit_test(convolve_normalize_and_predelay),
        cmocka_unit_test(convolve_10_s_ir_runs_and_stays_exact),
        cmocka_unit_test(convolve_reset_returns_to_silence),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
