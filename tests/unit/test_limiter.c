/* SPDX-License-Identifier: GPL-3.0-or-later */
/* limiter: the true-peak ceiling as an independent meter (libebur128) reads
 * it, bit-exact pass-through under the ceiling, THD of a limited sine,
 * release time constant, latency, stereo link and smoothing. */
#include "lathe_test.h"

#include <ebur128.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/truepeak.h"
#include "lathe/proc.h"

/* True peak (linear, max over channels) of planar buffers, by libebur128. */
static double ebu_true_peak(float **b, int ch, long n, double rate, double *sample_peak)
{
    ebur128_state *st = ebur128_init((unsigned)ch, (unsigned long)rate,
                                     EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_SAMPLE_PEAK);
    assert_non_null(st);
    float *il = malloc((size_t)n * (size_t)ch * sizeof *il);
    assert_non_null(il);
    for (long i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) il[i * ch + c] = b[c][i];
    assert_int_equal(ebur128_add_frames_float(st, il, (size_t)n), EBUR128_SUCCESS);
    double tp = 0, sp = 0;
    for (int c = 0; c < ch; c++) {
        double v = 0;
        assert_int_equal(ebur128_true_peak(st, (unsigned)c, &v), EBUR128_SUCCESS);
        tp = fmax(tp, v);
        assert_int_equal(ebur128_sample_peak(st, (unsigned)c, &v), EBUR128_SUCCESS);
        sp = fmax(sp, v);
    }
    free(il);
    ebur128_destroy(&st);
    if (sample_peak) *sample_peak = sp;
    return tp;
}

static void square(float *x, long n, double rate, double f, double amp)
{
    for (long i = 0; i < n; i++) {
        double ph = fmod((double)i * f / rate, 1.0);
        x[i] = (float)(ph < 0.5 ? amp : -amp);
    }
}

/* Tones plus enveloped noise bursts: something like a mix. */
static void music(float *x, long n, double rate, double amp, uint64_t seed)
{
    static const double f[] = {55.0, 110.5, 220.0, 441.3, 1234.5, 3301.0, 5555.5, 9876.0};
    static const double a[] = {0.30, 0.20, 0.15, 0.10, 0.08, 0.05, 0.04, 0.03};
    float *nz = malloc((size_t)n * sizeof *nz);
    assert_non_null(nz);
    lt_noise(nz, n, 1.0, &seed);
    for (long i = 0; i < n; i++) {
        double t = (double)i / rate, v = 0;
        for (int k = 0; k < 8; k++) v += a[k] * sin(2 * M_PI * f[k] * t + k);
        /* a drum-like burst every 250 ms, decaying in 40 ms */
        double tb = fmod(t, 0.25);
        v += 0.6 * exp(-tb / 0.04) * nz[i];
        x[i] = (float)(amp * v);
    }
    free(nz);
}

typedef struct {
    const char *what;
    double rate;
    double gain_db;
} tp_case;

/* Runs a stereo/mono buffer through a default limiter (ceiling -1 dB,
 * true peak on) at gain_db and checks libebur128's true peak and sample
 * peak against the ceiling. Returns the true-peak headroom in dB. */
static double check_ceiling_with(const char *what, float **b, int ch, long n, double rate,
                                 double gain_db, double ceiling_db, int fast)
{
    /* fast: the shortest lookahead and release, no hold: the most gain modulation */
    const char *names[] = {"gain", "ceiling", "lookahead", "release", "hold"};
    const double vals[] = {gain_db, ceiling_db, 0.5, 1.0, 0.0};
    lathe_proc *p = lt_proc("limiter", rate, ch, names, vals, fast ? 5 : 2);
    lathe_proc_process(p, b, NULL, n);
    double sp = 0, tp = ebu_true_peak(b, ch, n, rate, &sp);
    double cl = lt_undb(ceiling_db);
    print_message("  %-40s true peak %+.3f dBTP, sample peak %+.3f dBFS (ceiling %+.1f)\n", what,
                  lt_db(tp), lt_db(sp), ceiling_db);
    if (!(tp <= cl)) fail_msg("%s: true peak %.4f dBTP over the ceiling", what, lt_db(tp));
    assert_true(sp <= cl);
    /* And it really limited: the peak is within 1 dB of the ceiling. */
    assert_true(tp > lt_undb(ceiling_db - 1.0));
    lathe_proc_free(p);
    return lt_db(cl / tp);
}

static double check_ceiling(const char *what, float **b, int ch, long n, double rate,
                            double gain_db, double ceiling_db)
{
    return check_ceiling_with(what, b, ch, n, rate, gain_db, ceiling_db, 0);
}

static void limiter_true_peak_never_exceeds_ceiling_by_libebur128(void **s)
{
    (void)s;
    const double r48 = 48000.0;
    const long n = 48000;
    float **b = lt_alloc(2, n);
    double worst = 1e9;

    square(b[0], n, r48, 1000.0, 1.0);
    worst = fmin(worst, check_ceiling("square 1 kHz full scale", b, 1, n, r48, 0.0, -1.0));
    square(b[0], n, r48, 1000.0, 2.0);
    worst = fmin(worst, check_ceiling("square 1 kHz +6 dB", b, 1, n, r48, 0.0, -1.0));
    square(b[0], n, r48, 997.0, 1.0);
    worst = fmin(worst, check_ceiling("square 997 Hz, ceiling -0.1", b, 1, n, r48, 0.0, -0.1));

    uint64_t seed = 12345;
    lt_noise(b[0], n, 2.0, &seed);
    lt_noise(b[1], n, 2.0, &seed);
    for (long i = 0; i < n; i++) {
        b[0][i] = fmaxf(-1.0f, fminf(1.0f, b[0][i]));
        b[1][i] = fmaxf(-1.0f, fminf(1.0f, b[1][i]));
    }
    worst = fmin(worst, check_ceiling("clipped white noise +12 dB", b, 2, n, r48, 12.0, -1.0));

    /* Inter-sample-peak sines (EBU Tech 3341 cases 15-19 style). */
    static const struct { double div, phase_deg; } isp[] = {{4, 45}, {6, 60}, {8, 67.5}, {4, 0}};
    static const double amps[] = {0.5, 1.41};
    for (size_t k = 0; k < sizeof isp / sizeof isp[0]; k++)
        for (int a = 0; a < 2; a++) {
            char what[64];
            snprintf(what, sizeof what, "sine fs/%g at %g deg, %.2f", isp[k].div,
                     isp[k].phase_deg, amps[a]);
            lt_sine(b[0], n, r48, r48 / isp[k].div, amps[a], isp[k].phase_deg * M_PI / 180.0);
            /* the 0.5 sines need drive to reach the ceiling */
            worst = fmin(worst, check_ceiling(what, b, 1, n, r48, amps[a] < 1 ? 9.0 : 0.0, -1.0));
        }

    const long n44 = 44100;
    lt_sine(b[0], n44, 44100.0, 10000.0, 1.0, 0.3);
    worst = fmin(worst, check_ceiling("sine 10 kHz at 44.1 kHz +6 dB", b, 1, n44, 44100.0, 6.0, -1.0));

    music(b[0], n, r48, 1.0, 99);
    music(b[1], n, r48, 0.9, 7);
    worst = fmin(worst, check_ceiling("music-like, +10 dB", b, 2, n, r48, 10.0, -1.0));
    worst = fmin(worst, check_ceiling("music-like, +20 dB, ceiling -0.3", b, 2, n, r48, 20.0, -0.3));
    music(b[0], n, r48, 1.0, 11);
    music(b[1], n, r48, 1.0, 12);
    worst = fmin(worst, check_ceiling_with("music-like +24 dB, 0.5 ms/1 ms/no hold", b, 2, n, r48,
                                           24.0, -1.0, 1));
    uint64_t seed2 = 777;
    lt_noise(b[0], n, 1.0, &seed2);
    for (long i = 0; i < n; i++) b[0][i] *= (i % 441 < 44) ? 1.0f : 0.05f; /* noise clicks */
    worst = fmin(worst, check_ceiling_with("noise clicks +6 dB, 0.5 ms/1 ms/no hold", b, 1, n, r48,
                                           6.0, -1.0, 1));
    {
        const char *names[] = {"gain", "auto_release", "release"};
        const double vals[] = {18.0, 1.0, 40.0};
        music(b[0], n, r48, 1.0, 21);
        music(b[1], n, r48, 1.0, 22);
        lathe_proc *p = lt_proc("limiter", r48, 2, names, vals, 3);
        lathe_proc_process(p, b, NULL, n);
        double tp = ebu_true_peak(b, 2, n, r48, NULL);
        print_message("  %-40s true peak %+.3f dBTP\n", "music-like +18 dB, auto release", lt_db(tp));
        assert_true(tp <= lt_undb(-1.0));
        worst = fmin(worst, -1.0 - lt_db(tp));
        lathe_proc_free(p);
    }
    print_message("  smallest true-peak headroom under the ceiling: %.3f dB\n", worst);
    lt_free(b, 2);
}

static void limiter_under_ceiling_is_bit_exact_delay(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 96000;
    float **in = lt_alloc(2, n), **b = lt_alloc(2, n);
    music(in[0], n, rate, 0.55, 1);
    music(in[1], n, rate, 0.5, 2);
    for (int c = 0; c < 2; c++) memcpy(b[c], in[c], (size_t)n * sizeof(float));
    lathe_proc *p = lt_proc("limiter", rate, 2, NULL, NULL, 0);
    int lat = lathe_proc_latency(p);
    lathe_proc_process(p, b, NULL, n);
    for (int c = 0; c < 2; c++) {
        for (int i = 0; i < lat; i++) assert_true(b[c][i] == 0.0f);
        assert_memory_equal(b[c] + lat, in[c], (size_t)(n - lat) * sizeof(float));
    }
    assert_true(lathe_proc_reduction_db(p) == 0.0);
    lathe_proc_free(p);
    lt_free(in, 2);
    lt_free(b, 2);
}

static void limiter_returns_to_exact_unity_after_a_burst(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 3 * 48000;
    float **in = lt_alloc(1, n), **b = lt_alloc(1, n);
    lt_sine(in[0], n, rate, 440.0, 0.3, 0);
    for (long i = 4800; i < 9600; i++) in[0][i] *= 6.0f; /* 100 ms at +5.6 dBFS */
    memcpy(b[0], in[0], (size_t)n * sizeof(float));
    const char *names[] = {"release", "auto_release"};
    const double vals[] = {50.0, 1.0};
    lathe_proc *p = lt_proc("limiter", rate, 1, names, vals, 2);
    int lat = lathe_proc_latency(p);
    lathe_proc_process(p, b, NULL, n);
    /* (with auto release, whose average also lands exactly on 1) 50 ms release reaches 1e-7 in 16 time constants (0.8 s): the last second is exact */
    long from = 2 * 48000;
    assert_memory_equal(b[0] + from, in[0] + from - lat, (size_t)(n - from) * sizeof(float));
    lathe_proc_free(p);
    lt_free(in, 1);
    lt_free(b, 1);
}

static double thd_of_limited_sine(double rate, double f, double over_db)
{
    const long n = (long)(2.0 * rate);
    float **b = lt_alloc(1, n);
    const double ceil_db = -1.0;
    lt_sine(b[0], n, rate, f, lt_undb(ceil_db + over_db), 0);
    lathe_proc *p = lt_proc("limiter", rate, 1, NULL, NULL, 0);
    lathe_proc_process(p, b, NULL, n);
    long from = (long)(1.5 * rate), m = n - from;
    double a1 = lt_tone_amp(b[0] + from, m, rate, f, NULL), h2 = 0;
    for (int k = 2; k <= 10 && k * f < rate / 2; k++) {
        double a = lt_tone_amp(b[0] + from, m, rate, k * f, NULL);
        h2 += a * a;
    }
    double red = lathe_proc_reduction_db(p);
    print_message("  %.0f Hz +%.0f dB at %.1f kHz: THD %.2e %%, out %.3f dBFS, reduction %.3f dB\n", f,
                  over_db, rate / 1000, 100 * sqrt(h2) / a1, lt_db(a1), red);
    /* the reduction is the overdrive plus the 0.1 dB detector margin */
    assert_true(red > over_db + 0.05 && red < over_db + 0.25);
    lathe_proc_free(p);
    lt_free(b, 1);
    return sqrt(h2) / a1;
}

static void limiter_thd_of_sine_6db_over_below_0_1_percent(void **s)
{
    (void)s;
    assert_true(thd_of_limited_sine(48000, 1000, 6.0) < 0.001);
    assert_true(thd_of_limited_sine(44100, 1000, 6.0) < 0.001);
    assert_true(thd_of_limited_sine(44100, 3000, 6.0) < 0.001);
    /* low tones whose half period (up to 10 ms) the default 10 ms hold covers */
    assert_true(thd_of_limited_sine(48000, 100, 6.0) < 0.001);
    assert_true(thd_of_limited_sine(48000, 50, 6.0) < 0.001);
}

static void limiter_release_time_constant_within_10_percent(void **s)
{
    (void)s;
    const double rate = 48000;
    static const double rel_ms[] = {50.0, 100.0, 400.0};
    for (int k = 0; k < 3; k++) {
        const long n = (long)(rate * (0.3 + 6 * rel_ms[k] * 1e-3));
        float **b = lt_alloc(1, n);
        const float probe = 0.05f; /* DC probe: out/in is the gain, sample by sample */
        for (long i = 0; i < n; i++) b[0][i] = probe;
        long b0 = (long)(0.1 * rate), b1 = (long)(0.2 * rate);
        for (long i = b0; i < b1; i++) b[0][i] += (float)(2.0 * sin(2 * M_PI * 1000 * i / rate));
        const char *names[] = {"release"};
        const double vals[] = {rel_ms[k]};
        lathe_proc *p = lt_proc("limiter", rate, 1, names, vals, 1);
        int lat = lathe_proc_latency(p);
        lathe_proc_process(p, b, NULL, n);
        /* burst ends at b1 (input time); hold 10 ms + lookahead 2 ms, then exponential */
        double t1 = 0.02 + 0.2 * rel_ms[k] * 1e-3, t2 = t1 + 2.0 * rel_ms[k] * 1e-3;
        long i1 = b1 + lat + (long)(t1 * rate), i2 = b1 + lat + (long)(t2 * rate);
        double g1 = b[0][i1] / probe, g2 = b[0][i2] / probe;
        double tau = (t2 - t1) / log((1.0 - g1) / (1.0 - g2)) * 1e3;
        print_message("  release %.0f ms: measured time constant %.2f ms (g %.4f -> %.4f)\n",
                      rel_ms[k], tau, g1, g2);
        assert_true(fabs(tau / rel_ms[k] - 1.0) < 0.10);
        lathe_proc_free(p);
        lt_free(b, 1);
    }
}

static void limiter_latency_is_lookahead_plus_detector(void **s)
{
    (void)s;
    static const double rates[] = {44100, 48000, 96000};
    for (int k = 0; k < 3; k++) {
        for (int tp = 0; tp < 2; tp++) {
            const char *names[] = {"lookahead", "true_peak"};
            const double vals[] = {3.0, tp};
            lathe_proc *p = lt_proc("limiter", rates[k], 1, names, vals, 2);
            int want = (int)lround(3e-3 * rates[k]) + (tp ? 16 : 0);
            assert_int_equal(lathe_proc_latency(p), want);
            /* a click comes out exactly `latency` frames later, unchanged */
            const long n = 4096;
            float **b = lt_alloc(1, n);
            b[0][100] = 0.25f;
            lathe_proc_process(p, b, NULL, n);
            for (long i = 0; i < n; i++) assert_true(b[0][i] == (i == 100 + want ? 0.25f : 0.0f));
            lathe_proc_free(p);
            lt_free(b, 1);
        }
    }
}

static void limiter_sample_peak_mode_clamps_every_sample(void **s)
{
    (void)s;
    const double rate = 44100;
    const long n = 44100;
    float **b = lt_alloc(2, n);
    music(b[0], n, rate, 1.0, 5);
    music(b[1], n, rate, 1.0, 6);
    const char *names[] = {"true_peak", "gain", "ceiling"};
    const double vals[] = {0, 18.0, -3.0};
    lathe_proc *p = lt_proc("limiter", rate, 2, names, vals, 3);
    lathe_proc_process(p, b, NULL, n);
    double pk = fmax(lt_peak(b[0], n), lt_peak(b[1], n));
    print_message("  sample-peak mode, +18 dB drive: peak %.4f dBFS (ceiling -3)\n", lt_db(pk));
    assert_true(pk <= lt_undb(-3.0));
    assert_true(pk > lt_undb(-3.05));
    lathe_proc_free(p);
    lt_free(b, 2);
}

static void limiter_link_100_same_gain_link_0_independent(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 48000;
    for (int linked = 0; linked < 2; linked++) {
        float **b = lt_alloc(2, n), **in = lt_alloc(2, n);
        lt_sine(in[0], n, rate, 1000, 2.0, 0);
        lt_sine(in[1], n, rate, 700, 0.1, 0);
        for (int c = 0; c < 2; c++) memcpy(b[c], in[c], (size_t)n * sizeof(float));
        const char *names[] = {"link"};
        const double vals[] = {linked ? 100.0 : 0.0};
        lathe_proc *p = lt_proc("limiter", rate, 2, names, vals, 1);
        int lat = lathe_proc_latency(p);
        lathe_proc_process(p, b, NULL, n);
        long from = n / 2, m = n / 2;
        double g0 = lt_tone_amp(b[0] + from, m, rate, 1000, NULL) / 2.0;
        double g1 = lt_tone_amp(b[1] + from, m, rate, 700, NULL) / 0.1;
        print_message("  link %3d %%: gain ch0 %.3f dB, ch1 %.3f dB\n", linked ? 100 : 0, lt_db(g0),
                      lt_db(g1));
        if (linked) {
            assert_true(fabs(lt_db(g0) - lt_db(g1)) < 0.01);
        } else {
            assert_true(lt_db(g0) < -6.5);
            assert_memory_equal(b[1] + lat, in[1], (size_t)(n - lat) * sizeof(float));
        }
        lathe_proc_free(p);
        lt_free(b, 2);
        lt_free(in, 2);
    }
}

/* Linked at 100 %, one gain computer serves both channels; a link change
 * hands its state to every channel. With the same signal on both channels
 * the gains stay equal whatever the link, so both outputs must match a mono
 * limiter bit for bit through 100 % -> 50 % -> 100 %. */
static void limiter_link_change_keeps_identical_channels_equal_to_mono(void **s)
{
    (void)s;
    const double rate = 44100;
    const long n = 44100, cut[4] = {0, 14999, 30001, 44100};
    float **b = lt_alloc(2, n), **m = lt_alloc(1, n);
    music(m[0], n, rate, 1.0, 7);
    memcpy(b[0], m[0], (size_t)n * sizeof(float));
    memcpy(b[1], m[0], (size_t)n * sizeof(float));
    const char *names[] = {"gain", "auto_release"};
    const double vals[] = {12.0, 1.0};
    lathe_proc *st = lt_proc("limiter", rate, 2, names, vals, 2);
    lathe_proc *mo = lt_proc("limiter", rate, 1, names, vals, 2);
    const int li = lathe_proc_param_index(lathe_proc_descriptor(st), "link");
    static const double link[3] = {100.0, 50.0, 100.0};
    for (int k = 0; k < 3; k++) {
        lathe_proc_set(st, li, link[k]);
        float *io[2] = {b[0] + cut[k], b[1] + cut[k]}, *mio[1] = {m[0] + cut[k]};
        lathe_proc_process(st, io, NULL, (int)(cut[k + 1] - cut[k]));
        lathe_proc_process(mo, mio, NULL, (int)(cut[k + 1] - cut[k]));
    }
    print_message("  reduction %.2f dB (stereo), %.2f dB (mono)\n", lathe_proc_reduction_db(st),
                  lathe_proc_reduction_db(mo));
    assert_true(lathe_proc_reduction_db(mo) > 3.0); /* it limited in the last block */
    assert_memory_equal(b[0], m[0], (size_t)n * sizeof(float));
    assert_memory_equal(b[1], m[0], (size_t)n * sizeof(float));
    lathe_proc_free(st);
    lathe_proc_free(mo);
    lt_free(b, 2);
    lt_free(m, 1);
}

static void limiter_gain_change_is_smoothed(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 48000, half = 24000;
    float **b = lt_alloc(1, n);
    lt_sine(b[0], n, rate, 1000, 0.1, 0);
    lathe_proc *p = lt_proc("limiter", rate, 1, NULL, NULL, 0);
    int gi = lathe_proc_param_index(lathe_proc_descriptor(p), "gain");
    float *io[1] = {b[0]};
    lathe_proc_process(p, io, NULL, half);
    lathe_proc_set(p, gi, 6.0);
    io[0] = b[0] + half;
    lathe_proc_process(p, io, NULL, n - half);
    /* After the step the level is 0.2; a sine's largest step is 0.2 * 2 pi f / fs. */
    double maxd = 0;
    for (long i = 1; i < n; i++) maxd = fmax(maxd, fabs((double)b[0][i] - b[0][i - 1]));
    double lim = 0.2 * 2 * M_PI * 1000 / rate * 1.01;
    print_message("  largest sample step %.5f (sine alone %.5f)\n", maxd, lim / 1.01);
    assert_true(maxd < lim);
    /* and it reaches +6 dB */
    double a = lt_tone_amp(b[0] + n - 4800, 4800, rate, 1000, NULL);
    assert_true(fabs(lt_db(a / 0.1) - 6.0) < 0.01);
    lathe_proc_free(p);
    lt_free(b, 1);
}

static void limiter_huge_input_stays_finite_and_reset_clears(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 4800;
    float **b = lt_alloc(2, n);
    for (long i = 0; i < n; i++) {
        b[0][i] = (i % 7 < 3) ? 3e38f : -1e30f;
        b[1][i] = (float)(1e20 * sin(i * 0.3));
    }
    const char *names[] = {"gain"};
    const double vals[] = {36.0};
    lathe_proc *p = lt_proc("limiter", rate, 2, names, vals, 1);
    lathe_proc_process(p, b, NULL, n);
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++) {
            assert_true(isfinite(b[c][i]));
            assert_true(fabsf(b[c][i]) <= (float)lt_undb(-1.0));
        }
    print_message("  reduction on absurd input: %.1f dB\n", lathe_proc_reduction_db(p));
    assert_true(lathe_proc_reduction_db(p) > 100.0);
    lathe_proc_reset(p);
    memset(b[0], 0, (size_t)n * sizeof(float));
    memset(b[1], 0, (size_t)n * sizeof(float));
    lathe_proc_process(p, b, NULL, n);
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++) assert_true(b[c][i] == 0.0f);
    assert_true(lathe_proc_reduction_db(p) == 0.0);
    lathe_proc_free(p);
    lt_free(b, 2);
}

static void limiter_output_does_not_depend_on_block_size(void **s)
{
    (void)s;
    const double rate = 44100;
    const long n = 20000;
    float **in = lt_alloc(2, n);
    for (int c = 0; c < 2; c++)
        music(in[c], n, rate, 1.0, (uint64_t)(c + 3));
    lt_check_block_sizes("limiter", rate, (const char *const[]){"gain", "release"}, (const double[]){12.0, 30.0}, 2, in, n);
    lt_free(in, 2);
}

/* Gain recovery time (s) after input time `end`: until the gain is within 1 dB of unity. */
static double recovery_s(int autorel, double burst_s)
{
    const double rate = 48000;
    const long b0 = 4800, b1 = b0 + (long)(burst_s * rate), n = b1 + 96000;
    float **b = lt_alloc(1, n);
    const float probe = 0.05f;
    for (long i = 0; i < n; i++) b[0][i] = probe;
    for (long i = b0; i < b1; i++) b[0][i] += (float)(2.0 * sin(2 * M_PI * 1000 * i / rate));
    const char *names[] = {"release", "auto_release"};
    const double vals[] = {100.0, autorel};
    lathe_proc *p = lt_proc("limiter", rate, 1, names, vals, 2);
    int lat = lathe_proc_latency(p);
    lathe_proc_process(p, b, NULL, n);
    long i = b1 + lat;
    while (i < n && b[0][i] / probe < lt_undb(-1.0)) i++;
    lathe_proc_free(p);
    lt_free(b, 1);
    return (double)(i - b1 - lat) / rate;
}

static void limiter_auto_release_fast_after_transients_nominal_after_sustained(void **s)
{
    (void)s;
    double f_short = recovery_s(0, 0.03), a_short = recovery_s(1, 0.03);
    double f_long = recovery_s(0, 4.0), a_long = recovery_s(1, 4.0);
    print_message("  to -1 dB after a 30 ms burst: fixed %.1f ms, auto %.1f ms; after 4 s: fixed "
                  "%.1f ms, auto %.1f ms\n",
                  f_short * 1e3, a_short * 1e3, f_long * 1e3, a_long * 1e3);
    assert_true(a_short < 0.4 * f_short);
    assert_true(a_long > 0.8 * f_long && a_long < 1.25 * f_long);
}

static void limiter_ceiling_change_holds_new_ceiling_after_latency(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = 96000, half = 48000;
    float **b = lt_alloc(2, n);
    music(b[0], n, rate, 1.0, 31);
    music(b[1], n, rate, 1.0, 32);
    const char *names[] = {"gain"};
    const double vals[] = {12.0};
    lathe_proc *p = lt_proc("limiter", rate, 2, names, vals, 1);
    int lat = lathe_proc_latency(p);
    float *io[2] = {b[0], b[1]};
    lathe_proc_process(p, io, NULL, half);
    lathe_proc_set(p, lathe_proc_param_index(lathe_proc_descriptor(p), "ceiling"), -6.0);
    io[0] = b[0] + half, io[1] = b[1] + half;
    lathe_proc_process(p, io, NULL, n - half);
    /* before the change (and while the old audio drains) -1 dB, then -6 dB */
    float *tail[2] = {b[0] + half + lat, b[1] + half + lat};
    double sp, tp = ebu_true_peak(tail, 2, n - half - lat, rate, &sp);
    double sp_all = fmax(lt_peak(b[0], n), lt_peak(b[1], n));
    print_message("  after the change: true peak %.3f dBTP, sample peak %.3f dBFS (ceiling -6); "
                  "overall sample peak %.3f dBFS\n", lt_db(tp), lt_db(sp), lt_db(sp_all));
    /* the meter's filter rings in from the louder audio before the change: allow 0.05 dB */
    assert_true(lt_db(tp) <= -6.0 + 0.05);
    assert_true(sp <= lt_undb(-6.0));
    assert_true(sp_all <= lt_undb(-1.0));
    lathe_proc_free(p);
    lt_free(b, 2);
}

static double thd_low(double f, double hold_ms)
{
    const double rate = 48000;
    const long n = 96000, from = 48000;
    float **b = lt_alloc(1, n);
    lt_sine(b[0], n, rate, f, lt_undb(-1.0 + 6.0), 0);
    const char *names[] = {"hold", "release"};
    const double vals[] = {hold_ms, 100.0};
    lathe_proc *p = lt_proc("limiter", rate, 1, names, vals, 2);
    lathe_proc_process(p, b, NULL, n);
    double a1 = lt_tone_amp(b[0] + from, n - from, rate, f, NULL), h = 0;
    for (int k = 2; k <= 10; k++) {
        double a = lt_tone_amp(b[0] + from, n - from, rate, k * f, NULL);
        h += a * a;
    }
    lathe_proc_free(p);
    lt_free(b, 1);
    return sqrt(h) / a1;
}

static void limiter_hold_keeps_low_tones_clean(void **s)
{
    (void)s;
    /* 40 Hz: peaks every 12.5 ms; without hold the gain ripples between them */
    double t0 = thd_low(40, 0.0), t15 = thd_low(40, 15.0);
    print_message("  40 Hz sine 6 dB over, release 100 ms: THD %.3f %% without hold, %.2e %% with 15 ms\n",
                  100 * t0, 100 * t15);
    assert_true(t15 < 0.001);
    assert_true(t0 > 10 * t15);
}

/* Gain (out / in) of a DC probe after a 50 ms burst (+18 dB) at 48 kHz,
 * release 50 ms, the hold set to hold0_ms and changed to hold1_ms at input frame
 * `at` (10 ms after the burst); g is indexed by input frame. */
static void hold_change_gain(double hold0_ms, double hold1_ms, double *g, long n, long b0, long b1,
                             long at)
{
    const double rate = 48000;
    const float probe = 0.05f;
    float **b = lt_alloc(1, n);
    for (long i = 0; i < n; i++) b[0][i] = probe;
    for (long i = b0; i < b1; i++) b[0][i] += (float)(8.0 * sin(2 * M_PI * 1000 * i / rate));
    const char *names[] = {"release", "hold"};
    const double vals[] = {50.0, hold0_ms};
    lathe_proc *p = lt_proc("limiter", rate, 1, names, vals, 2);
    const int lat = lathe_proc_latency(p);
    float *io[1] = {b[0]};
    lathe_proc_process(p, io, NULL, at);
    lathe_proc_set(p, lathe_proc_param_index(lathe_proc_descriptor(p), "hold"), hold1_ms);
    io[0] = b[0] + at;
    lathe_proc_process(p, io, NULL, n - at);
    for (long i = 0; i + lat < n; i++) g[i] = b[0][i + lat] / probe;
    lathe_proc_free(p);
    lt_free(b, 1);
}

/* The running minimum spans the lookahead plus the hold.  A hold raised
 * after a peak has left that window must not bring the peak back (the
 * window grows from where it is, one frame a frame), and a hold lowered
 * during the hold lets the release start at once. */
static void limiter_hold_change_neither_revives_nor_keeps_an_old_peak(void **s)
{
    (void)s;
    const long n = 24000, b0 = 4800, b1 = 7200, at = b1 + 480;
    double *g = malloc((size_t)n * sizeof *g), *k = malloc((size_t)n * sizeof *k);
    assert_non_null(g);
    assert_non_null(k);
    /* the reference: 50 ms hold throughout, the gain 1 ms after the burst */
    hold_change_gain(50.0, 50.0, k, n, b0, b1, at);
    const double held = k[b1 + 48];
    assert_true(held < 0.15);
    assert_true(fabs(k[at + 960] - held) < 1e-6 * held); /* 30 ms on: still held */
    /* no hold, raised to 50 ms 10 ms after the burst: the release goes on */
    hold_change_gain(0.0, 50.0, g, n, b0, b1, at);
    double worst_dip = 0.0;
    for (long i = at - 47; i < at + 2400; i++) worst_dip = fmax(worst_dip, g[i - 1] - g[i]);
    print_message("  hold 0 -> 50 ms 10 ms after the burst: gain %.4f 1 ms before the change, "
                  "%.4f 20 ms after (held %.4f), largest dip %.2e\n", g[at - 48], g[at + 960],
                  held, worst_dip);
    assert_true(g[at - 48] > 1.5 * held); /* released already */
    assert_true(worst_dip < 1e-6);        /* and never back down */
    assert_true(g[at + 960] > g[at - 48]);
    /* 50 ms hold, lowered to none 10 ms after the burst: it releases at once */
    hold_change_gain(50.0, 0.0, g, n, b0, b1, at);
    print_message("  hold 50 ms -> 0 10 ms after the burst: gain 20 ms on %.4f\n", g[at + 960]);
    assert_true(g[at + 960] > 2.5 * held);
    free(g);
    free(k);
}

/* The limiter's true-peak detector needs only the points above its
 * threshold: lathe_tp_chan_run_over skips stretches whose bound stays
 * under the floor.  Against lathe_tp_chan_run, point by point, in every
 * block split, at 4x (44.1 kHz) and 8x (22.05 kHz): where either exceeds
 * the floor the two are the same float; elsewhere the skipping one is at
 * most the floor.  And it does skip (most of a quiet-ish signal). */
static void limiter_detector_skips_only_points_under_the_floor(void **s)
{
    (void)s;
    static const double rates[] = {44100.0, 22050.0};
    static const float floors[] = {0.3f, 0.7f, 0.89f, 0.95f};
    static const int blocks[] = {1, 7, 16, 100, 1024, 1500};
    const long n = 20000;
    float *x = malloc(sizeof *x * (size_t)n), *want = malloc(sizeof *want * (size_t)n),
          *got = malloc(sizeof *got * (size_t)n);
    lathe_tp_chan *c = malloc(sizeof *c);
    assert_true(x && want && got && c);
    for (int r = 0; r < 2; r++) {
        lathe_tp_design d;
        lathe_tp_design_init(&d, rates[r]);
        for (int kind = 0; kind < 5; kind++) {
            uint64_t seed = 5 + (uint64_t)kind;
            if (kind == 0) { /* songish, a few peaks over 0.89 */
                float **m = lt_songish(n, rates[r], 0.9, seed);
                memcpy(x, m[0], sizeof *x * (size_t)n);
                lt_free(m, 2);
            } else if (kind == 1) { /* soft-clipped: a limited master */
                float **m = lt_songish(n, rates[r], 2.0, seed);
                for (long i = 0; i < n; i++) x[i] = (float)(0.95 * tanh(m[0][i]));
                lt_free(m, 2);
            } else if (kind == 2) { /* quiet noise with isolated full-scale samples */
                lt_noise(x, n, 0.01, &seed);
                for (long i = 500; i < n; i += 1733) x[i] = (i / 1733) % 2 ? 1.0f : -0.99f;
            } else if (kind == 3) { /* near-Nyquist bursts: inter-sample peaks over the samples */
                lt_noise(x, n, 0.05, &seed);
                for (long i = 0; i < n; i++)
                    if ((i / 2500) % 2) x[i] = (float)(0.95 * sin(M_PI * 0.93 * (double)i + 0.3));
            } else { /* the worst case of the bound: windows of 0.4 * the signs of
                      * a phase's taps, whose point is 0.4 * sum |h| (0.96 at 4x) */
                memset(x, 0, sizeof *x * (size_t)n);
                const int T = LATHE_TP_TAPS, p = (d.factor - 1) / 2;
                for (long i = 100; i + T < n; i += 250 + (i % 7))
                    for (int k = 0; k < T; k++)
                        x[i - (T - 1) + k] = d.coef[p][k] < 0 ? -0.4f : 0.4f;
            }
            lathe_tp_chan_init(c, &d);
            lathe_tp_chan_run(c, x, (int)n, want);
            for (int f = 0; f < 4; f++) {
                for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
                    lathe_tp_chan_init(c, &d);
                    for (long off = 0; off < n; off += blocks[b]) {
                        int k = (int)(n - off < blocks[b] ? n - off : blocks[b]);
                        lathe_tp_chan_run_over(c, x + off, k, floors[f], got + off);
                    }
                    long skipped = 0, over = 0;
                    for (long i = 0; i < n; i++) {
                        if (want[i] > floors[f] || got[i] > floors[f]) {
                            if (got[i] != want[i])
                                fail_msg("rate %g kind %d floor %g block %d: point %ld is %.9g, "
                                         "not %.9g", rates[r], kind, floors[f], blocks[b], i,
                                         got[i], want[i]);
                            over++;
                        } else {
                            assert_true(got[i] <= floors[f]);
                            skipped += got[i] == 0.0f && want[i] != 0.0f;
                        }
                    }
                    if (b == 4 && f == 2)
                        print_message("  %5.2f kHz, signal %d, floor %.2f: %5.1f %% over it, "
                                      "%5.1f %% skipped\n", rates[r] / 1000, kind, floors[f],
                                      100.0 * over / n, 100.0 * skipped / n);
                    if (kind == 2) assert_true(skipped > n / 2); /* quiet: mostly skipped */
                    if (kind == 4) assert_true(over > 0);
                }
            }
        }
    }
    free(x);
    free(want);
    free(got);
    free(c);
}

/* The detector takes the larger reading of its two interpolators.  On a
 * sine at 0.33 fs (14.55 kHz at 44.1 kHz) the short windowed sinc reads
 * 0.1 dB over the tone's amplitude (its passband ripple) and the long
 * Kaiser filter reads the amplitude.  At -1.13 dBFS every sample and the
 * long filter stay under the detector threshold (-1.1 dBFS at the default
 * -1 dB ceiling) and only the short filter passes it, by 0.07 dB: the
 * limiter must take that off.  A 1 kHz tone at the same level, which both
 * read at its amplitude, passes untouched. */
static void limiter_detector_takes_the_larger_of_its_two_interpolators(void **s)
{
    (void)s;
    const double rate = 44100, amp = lt_undb(-1.13);
    const long n = 44100;
    float **b = lt_alloc(1, n);
    double red[2];
    for (int k = 0; k < 2; k++) {
        lt_sine(b[0], n, rate, k ? 1000.0 : 0.33 * rate, amp, 0.3);
        lathe_proc *p = lt_proc("limiter", rate, 1, NULL, NULL, 0);
        lathe_proc_process(p, b, NULL, n);
        red[k] = lathe_proc_reduction_db(p);
        lathe_proc_free(p);
    }
    print_message("  sine at -1.13 dBFS: reduction %.4f dB at 0.33 fs, %.4f dB at 1 kHz\n", red[0],
                  red[1]);
    assert_true(red[0] > 0.03 && red[0] < 0.12);
    assert_true(red[1] == 0.0);
    lt_free(b, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(limiter_ceiling_change_holds_new_ceiling_after_latency),
        cmocka_unit_test(limiter_hold_keeps_low_tones_clean),
        cmocka_unit_test(limiter_detector_takes_the_larger_of_its_two_interpolators),
        cmocka_unit_test(limiter_detector_skips_only_points_under_the_floor),
        cmocka_unit_test(limiter_hold_change_neither_revives_nor_keeps_an_old_peak),
        cmocka_unit_test(limiter_auto_release_fast_after_transients_nominal_after_sustained),
        cmocka_unit_test(limiter_output_does_not_depend_on_block_size),
        cmocka_unit_test(limiter_true_peak_never_exceeds_ceiling_by_libebur128),
        cmocka_unit_test(limiter_under_ceiling_is_bit_exact_delay),
        cmocka_unit_test(limiter_returns_to_exact_unity_after_a_burst),
        cmocka_unit_test(limiter_thd_of_sine_6db_over_below_0_1_percent),
        cmocka_unit_test(limiter_release_time_constant_within_10_percent),
        cmocka_unit_test(limiter_latency_is_lookahead_plus_detector),
        cmocka_unit_test(limiter_sample_peak_mode_clamps_every_sample),
        cmocka_unit_test(limiter_link_100_same_gain_link_0_independent),
        cmocka_unit_test(limiter_link_change_keeps_identical_channels_equal_to_mono),
        cmocka_unit_test(limiter_gain_change_is_smoothed),
        cmocka_unit_test(limiter_huge_input_stays_finite_and_reset_clears),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
