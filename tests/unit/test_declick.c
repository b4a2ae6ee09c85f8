/* SPDX-License-Identifier: GPL-3.0-or-later */
/* declick: clicks inserted at known places removed, few false detections
 * on clean music, untouched samples bit-exact, latency, block sizes, NaN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/io.h"

#define RATE 44100.0


static double urand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* Runs of samples where y[i + L] differs from x[i]: the repairs. */
static int repairs(const float *x, const float *y, long n, int L) {
    int runs = 0, in = 0, gapc = 0;
    for (long i = 0; i + L < n; i++) {
        int d = x[i] != y[i + L];
        if (d) {
            if (!in) runs++;
            in = 1;
            gapc = 0;
        } else if (in && ++gapc > 64) {
            in = 0;
        }
    }
    return runs;
}

static void declick_removes_95_percent_of_50_clicks_per_channel(void **s) {
    (void)s;
    long n;
    float **m = lt_load_music("lincity-ng_02_robert-van-herk_city-blues.ogg", 30.0, 15.0, &n);
    if (!m) skip();
    float **x = lt_alloc(2, n);
    enum { NCLICK = 50 };
    long pos[2][NCLICK];
    int len[2][NCLICK];
    double energy[2][NCLICK];
    uint64_t seed = 2024;
    for (int c = 0; c < 2; c++) {
        memcpy(x[c], m[c], sizeof(float) * n);
        for (int k = 0; k < NCLICK; k++) {
            /* 0.5 s .. 14.5 s, one every 0.28 s with jitter; 1..44 samples (up to 1 ms) */
            pos[c][k] = (long)((0.5 + 0.28 * k + 0.1 * urand(&seed)) * RATE);
            len[c][k] = 1 + (int)(urand(&seed) * 44);
            double amp = (0.1 + 0.6 * urand(&seed)) * (urand(&seed) < 0.5 ? -1 : 1);
            double e = 0;
            for (int i = 0; i < len[c][k]; i++) {
                /* a burst of random-sign samples under a falling envelope (a
                 * scratch or a digital glitch; a smooth decaying "thump" is
                 * what an AR model predicts, and is out of scope) */
                double r = urand(&seed);
                double v = amp * (1.0 - 0.5 * i / len[c][k]) * (r < 0.5 ? -(0.3 + 1.4 * r) : 0.3 + 1.4 * (r - 0.5));
                x[c][pos[c][k] + i] += (float)v;
                e += v * v;
            }
            energy[c][k] = e;
        }
    }
    lathe_proc *p = lt_proc("declick", RATE, 2, NULL, NULL, 0);
    int L = lathe_proc_latency(p);
    lathe_proc_process(p, x, NULL, n);
    int removed = 0, total = 0, deep = 0;
    double worst = -INFINITY;
    for (int c = 0; c < 2; c++) {
        for (int k = 0; k < NCLICK; k++) {
            double e = 0;
            for (long i = pos[c][k] - 8; i < pos[c][k] + len[c][k] + 8; i++) {
                double d = (double)x[c][i + L] - m[c][i];
                e += d * d;
            }
            double rel = 10 * log10(e / energy[c][k] + 1e-30);
            if (rel > worst) worst = rel;
            /* removed: the error left in and around the click is at least 10 dB
             * below the click (interpolating 1 ms of music is not exact) */
            removed += rel <= -10.0;
            deep += rel <= -20.0;
            total++;
        }
    }
    print_message("%d of %d clicks removed (error energy at least 10 dB below the click's; %d "
                  "by 20 dB); worst remaining %.1f dB; latency %d frames\n",
                  removed, total, deep, worst, L);
    assert_true(removed >= 0.95 * total);
    lathe_proc_free(p);
    lt_free(m, 2);
    lt_free(x, 2);
}

static void declick_clean_music_under_1_false_detection_per_minute(void **s) {
    (void)s;
    const char *songs[] = {"wesnoth_journeys_end.ogg", "hedgewars_nature.ogg",
                           "lincity-ng_02_robert-van-herk_city-blues.ogg"};
    const double starts[] = {40, 20, 80};
    double minutes = 0;
    int false_det = 0;
    for (int sidx = 0; sidx < 3; sidx++) {
        long n;
        float **m = lt_load_music(songs[sidx], starts[sidx], 20.0, &n);
        if (!m) skip();
        float **y = lt_alloc(2, n);
        for (int c = 0; c < 2; c++) memcpy(y[c], m[c], sizeof(float) * n);
        lathe_proc *p = lt_proc("declick", RATE, 2, NULL, NULL, 0);
        int L = lathe_proc_latency(p);
        lathe_proc_process(p, y, NULL, n);
        int f = repairs(m[0], y[0], n, L) + repairs(m[1], y[1], n, L);
        print_message("%s from %.0f s: %d detections in 20 s of stereo\n", songs[sidx], starts[sidx], f);
        false_det += f;
        minutes += (n - L) / RATE / 60.0;
        lathe_proc_free(p);
        lt_free(m, 2);
        lt_free(y, 2);
    }
    print_message("clean music: %d false detections in %.1f minutes (per channel pair): %.2f per "
                  "minute\n",
                  false_det, minutes, false_det / minutes);
    assert_true(false_det / minutes < 1.0);
}

static void declick_sine_passes_bit_exact_after_latency(void **s) {
    (void)s;
    long n = (long)(2 * RATE);
    float **x = lt_alloc(1, n), **y = lt_alloc(1, n);
    lt_sine(x[0], n, RATE, 997, 0.5, 0.3);
    memcpy(y[0], x[0], sizeof(float) * n);
    lathe_proc *p = lt_proc("declick", RATE, 1, NULL, NULL, 0);
    int L = lathe_proc_latency(p);
    lathe_proc_process(p, y, NULL, n);
    assert_int_equal(L, 1024);
    /* after the sine's onset (a step from silence, which is a click) */
    assert_memory_equal(y[0] + L + 4096, x[0] + 4096, sizeof(float) * (size_t)(n - L - 4096));
    for (int i = 0; i < L; i++) assert_true(y[0][i] == 0.0f);
    lathe_proc_free(p);
    lt_free(x, 1);
    lt_free(y, 1);
}

static void declick_block_size_invariant_and_recovers_from_nan(void **s) {
    (void)s;
    long n = (long)(1.5 * RATE);
    float **x = lt_alloc(2, n);
    uint64_t seed = 9;
    for (int c = 0; c < 2; c++) {
        lt_noise(x[c], n, 0.01, &seed);
        for (long i = 0; i < n; i++) x[c][i] += (float)(0.3 * sin(2 * M_PI * 440 * i / RATE));
        for (long i = 1000; i < n; i += 7919) x[c][i] += 0.5f;
    }
    lt_check_block_sizes("declick", RATE, NULL, NULL, 0, x, n);
    lt_check_recovers_from_nan("declick", RATE, 1000, NULL, NULL, 0);
    lt_free(x, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(declick_removes_95_percent_of_50_clicks_per_channel),
        cmocka_unit_test(declick_clean_music_under_1_false_detection_per_minute),
        cmocka_unit_test(declick_sine_passes_bit_exact_after_latency),
        cmocka_unit_test(declick_block_size_invariant_and_recovers_from_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
