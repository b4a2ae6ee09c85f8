/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The true-peak interpolator (analysis/truepeak.c): every oversampled point
 * of lathe_tp_chan_run equals a plain sum over the taps in float, in tap
 * order (the definition the limiter's detector was built on, bit for bit),
 * and the peak-only path, which skips stretches by a bound, returns exactly
 * the largest of those points: noise, music-like and limited signals,
 * isolated peaks, every block split, at 4x and 8x. */
#include "lathe_test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/truepeak.h"

/* absmax[i] by definition: |x| of sample i - latency, and per phase the sum
 * h[k] * x[i - T + 1 + k] for k = 0..T-1 from 0.0f (zeros before the
 * start), the largest |value|. */
static void reference(const lathe_tp_design *d, const float *x, long n, float *absmax)
{
    const int T = LATHE_TP_TAPS;
    for (long i = 0; i < n; i++) {
        long c = i - T / 2;
        float m = c >= 0 ? fabsf(x[c]) : 0.0f;
        for (int p = 0; p < d->factor - 1; p++) {
            float a = 0.0f;
            for (int k = 0; k < T; k++) {
                long j = i - (T - 1) + k;
                a += d->coef[p][k] * (j >= 0 ? x[j] : 0.0f);
            }
            m = fabsf(a) > m ? fabsf(a) : m;
        }
        absmax[i] = m;
    }
}

/* Signals: 0 noise, 1 songish, 2 songish driven into a soft clipper (a
 * limited master: most windows hold a sample near the top), 3 quiet noise
 * with rare isolated full-scale samples, 4 near-Nyquist tone bursts. */
static float *make(int kind, long n, double rate, uint64_t seed)
{
    float *x = malloc(sizeof *x * (size_t)n);
    assert_non_null(x);
    if (kind == 1 || kind == 2) {
        float **s = lt_songish(n, rate, kind == 1 ? 0.4 : 2.0, seed);
        for (long i = 0; i < n; i++) x[i] = kind == 1 ? s[0][i] : (float)(0.89 * tanh(s[0][i]));
        lt_free(s, 2);
    } else {
        lt_noise(x, n, kind == 3 ? 0.01 : 0.7, &seed);
        for (long i = 0; kind == 3 && i < n; i += 997 + (long)(seed % 500))
            x[i] = (i / 997) % 2 ? 1.0f : -0.99f, seed = seed * 6364136223846793005ULL + 1;
        for (long i = 0; kind == 4 && i < n; i++)
            x[i] = (i / 3000) % 2 ? (float)(0.8 * sin(M_PI * 0.93 * (double)i + 0.3)) : x[i] * 0.1f;
    }
    return x;
}

static void check(int kind, double rate, long n)
{
    lathe_tp_design d;
    lathe_tp_design_init(&d, rate);
    float *x = make(kind, n, rate, 77 + (uint64_t)kind);
    float *want = malloc(sizeof *want * (size_t)n), *got = malloc(sizeof *got * (size_t)n);
    assert_non_null(want);
    assert_non_null(got);
    reference(&d, x, n, want);
    float want_peak = 0.0f;
    for (long i = 0; i < n; i++) want_peak = want[i] > want_peak ? want[i] : want_peak;

    lathe_tp_chan *c = aligned_alloc(64, (sizeof *c + 63) / 64 * 64);
    assert_non_null(c);
    static const int blocks[] = {1, 7, 16, 100, 1024, 1500, 5000};
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        /* every point of the full computation, in this block split */
        lathe_tp_chan_init(c, &d);
        float run_peak = 0.0f;
        for (long off = 0; off < n; off += blocks[b]) {
            int k = (int)(n - off < blocks[b] ? n - off : blocks[b]);
            float p = lathe_tp_chan_run(c, x + off, k, got + off);
            run_peak = p > run_peak ? p : run_peak;
        }
        if (memcmp(got, want, sizeof *got * (size_t)n) != 0) {
            for (long i = 0; i < n; i++)
                if (memcmp(&got[i], &want[i], sizeof *got) != 0)
                    fail_msg("signal %d, %g Hz, blocks of %d: point %ld is %.9g, want %.9g", kind,
                             rate, blocks[b], i, (double)got[i], (double)want[i]);
        }
        assert_memory_equal(&run_peak, &want_peak, sizeof run_peak);
        /* peak-only, the running peak as floor (as the analyser does) */
        lathe_tp_chan_init(c, &d);
        float peak = 0.0f;
        for (long off = 0; off < n; off += blocks[b]) {
            int k = (int)(n - off < blocks[b] ? n - off : blocks[b]);
            peak = lathe_tp_chan_peak(c, x + off, k, peak);
        }
        if (memcmp(&peak, &want_peak, sizeof peak) != 0)
            fail_msg("signal %d, %g Hz, blocks of %d: peak %.9g, want %.9g", kind, rate, blocks[b],
                     (double)peak, (double)want_peak);
    }
    /* a floor above every point: returned as it is, and the history still
     * moves on (the points after it are those of the whole signal) */
    lathe_tp_chan_init(c, &d);
    const long h = n / 2 - 64;
    assert_true(lathe_tp_chan_peak(c, x, (int)h, 2.0f) == 2.0f);
    assert_true(lathe_tp_chan_peak(c, x + h, (int)h, INFINITY) == INFINITY);
    float tail[64];
    lathe_tp_chan_run(c, x + 2 * h, 64, tail);
    assert_memory_equal(tail, want + 2 * h, sizeof tail);
    free(c);
    free(x);
    free(want);
    free(got);
}

static void tp_points_and_peak_equal_the_definition_at_4x(void **state)
{
    (void)state;
    const long n = lt_sanitized() ? 6000 : 40000;
    for (int kind = 0; kind < 5; kind++) {
        check(kind, 44100, n);
        check(kind, 48000, n);
    }
}

static void tp_points_and_peak_equal_the_definition_at_8x(void **state)
{
    (void)state;
    const long n = lt_sanitized() ? 4000 : 20000;
    for (int kind = 0; kind < 5; kind++) check(kind, 22050, n);
}

/* The bounds hold: no point exceeds central * max|middle taps| +
 * outer * max|all taps| for its phase, for the most adverse input (the signs
 * of the taps). */
static void tp_bounds_hold_for_worst_case_windows(void **state)
{
    (void)state;
    const double rates[] = {22050, 44100, 96000};
    for (int r = 0; r < 3; r++) {
        lathe_tp_design d;
        lathe_tp_design_init(&d, rates[r]);
        const int c0 = LATHE_TP_TAPS / 2 - LATHE_TP_CENTRAL / 2;
        for (int p = 0; p < d.factor - 1; p++) {
            /* middle taps at amplitude 1 against the signs of the taps,
             * the rest at amplitude b: the largest value is exactly
             * sum |h| (middle) + b * sum |h| (rest) */
            for (double b = 0; b <= 1.0; b += 0.25) {
                double y = 0;
                for (int k = 0; k < LATHE_TP_TAPS; k++) {
                    double amp = k >= c0 && k < c0 + LATHE_TP_CENTRAL ? 1.0 : b;
                    y += fabs(d.coef[p][k]) * amp;
                }
                double bound = (double)d.central[p] + (double)d.outer[p] * b;
                assert_true(y <= bound);
                assert_true(bound <= y * 1.001); /* and tight */
                assert_true(y <= d.gain);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tp_points_and_peak_equal_the_definition_at_4x),
        cmocka_unit_test(tp_points_and_peak_equal_the_definition_at_8x),
        cmocka_unit_test(tp_bounds_hold_for_worst_case_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
