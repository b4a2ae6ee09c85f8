/* SPDX-License-Identifier: GPL-3.0-or-later */
/* declip: sines clipped 6 dB get their peaks back within 1 dB; clipped
 * music gets closer to the original; unclipped audio passes (times the
 * headroom gain); latency, block sizes, NaN. */
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


static float clipf(float v, float c) {
    return v > c ? c : v < -c ? -c : v;
}

static void declip_sine_clipped_6_db_peaks_within_1_db(void **s) {
    (void)s;
    const double freqs[] = {100, 440, 1000, 2000};
    const double A = 0.9;
    for (int f = 0; f < 4; f++) {
        long n = (long)(1 * RATE);
        float **x = lt_alloc(1, n);
        lt_sine(x[0], n, RATE, freqs[f], A, 0.1);
        for (long i = 0; i < n; i++) x[0][i] = clipf(x[0][i], (float)(A / 2)); /* 6 dB */
        const char *names[] = {"headroom"};
        double vals[] = {6};
        lathe_proc *p = lt_proc("declip", RATE, 1, names, vals, 1);
        int L = lathe_proc_latency(p);
        lathe_proc_process(p, x, NULL, n);
        double g = lt_undb(-6);
        long per = (long)(RATE / freqs[f]) + 1;
        double worst = 0, amp_lo = INFINITY;
        for (long s0 = L + (long)(0.1 * RATE); s0 + per < n; s0 += per) {
            double pk = lt_peak(x[0] + s0, per) / g;
            double d = lt_db(pk / A);
            if (fabs(d) > fabs(worst)) worst = d;
            amp_lo = fmin(amp_lo, pk);
        }
        print_message("%4.0f Hz sine clipped 6 dB: restored peaks within %+.3f dB of the original "
                      "(clipped: -6.02 dB)\n",
                      freqs[f], worst);
        assert_true(fabs(worst) <= 1.0);
        lathe_proc_free(p);
        lt_free(x, 1);
    }
}

static void declip_music_clipped_3_db_gets_closer_to_original(void **s) {
    (void)s;
    long n;
    float **m = lt_load_music("hedgewars_nature.ogg", 30.0, 8.0, &n);
    if (!m) skip();
    double pk = fmax(lt_peak(m[0], n), lt_peak(m[1], n));
    float c = (float)(pk * lt_undb(-3));
    float **x = lt_alloc(2, n);
    long clipped = 0;
    for (int ch = 0; ch < 2; ch++)
        for (long i = 0; i < n; i++) {
            x[ch][i] = clipf(m[ch][i], c);
            clipped += x[ch][i] != m[ch][i];
        }
    double e_clip = 0, e_out = 0;
    for (int ch = 0; ch < 2; ch++)
        for (long i = 0; i < n; i++) e_clip += ((double)x[ch][i] - m[ch][i]) * ((double)x[ch][i] - m[ch][i]);
    lathe_proc *p = lt_proc("declip", RATE, 2, NULL, NULL, 0);
    int L = lathe_proc_latency(p);
    lathe_proc_process(p, x, NULL, n);
    double g = lt_undb(-6);
    for (int ch = 0; ch < 2; ch++)
        for (long i = 0; i + L < n; i++) {
            double d = x[ch][i + L] / g - m[ch][i];
            e_out += d * d;
        }
    double gain = 10 * log10(e_clip / e_out);
    print_message("music clipped 3 dB below its peak (%ld samples): clipping error %.1f dB lower "
                  "after declip\n",
                  clipped, gain);
    assert_true(clipped > 100);
    assert_true(gain >= 3.0);
    lathe_proc_free(p);
    lt_free(m, 2);
    lt_free(x, 2);
}

static void declip_unclipped_audio_is_headroom_times_input(void **s) {
    (void)s;
    long n = (long)(0.5 * RATE);
    float **x = lt_alloc(2, n), **y = lt_alloc(2, n);
    uint64_t seed = 1;
    for (int c = 0; c < 2; c++) {
        lt_noise(x[c], n, 0.5, &seed);
        memcpy(y[c], x[c], sizeof(float) * n);
    }
    const char *names[] = {"headroom"};
    double vals[] = {3};
    lathe_proc *p = lt_proc("declip", RATE, 2, names, vals, 1);
    int L = lathe_proc_latency(p);
    lathe_proc_process(p, y, NULL, n);
    double g = lt_undb(-3), maxe = 0;
    for (int c = 0; c < 2; c++)
        for (long i = 0; i + L < n; i++) maxe = fmax(maxe, fabs(y[c][i + L] - x[c][i] * g));
    print_message("latency %d; unclipped noise: largest difference from input x -3 dB %.2e\n", L, maxe);
    assert_int_equal(L, 1024);
    assert_true(maxe < 1e-6);
    lathe_proc_free(p);
    lt_free(x, 2);
    lt_free(y, 2);
}

static void declip_block_size_invariant_and_recovers_from_nan(void **s) {
    (void)s;
    long n = (long)(1.5 * RATE);
    float **x = lt_alloc(2, n);
    for (int c = 0; c < 2; c++) {
        lt_sine(x[c], n, RATE, 300 + 100 * c, 0.8, 0);
        for (long i = 0; i < n; i++) x[c][i] = clipf(x[c][i], 0.5f);
    }
    lt_check_block_sizes("declip", RATE, NULL, NULL, 0, x, n);
    lt_check_recovers_from_nan("declip", RATE, 1000, NULL, NULL, 0);
    lt_free(x, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(declip_sine_clipped_6_db_peaks_within_1_db),
        cmocka_unit_test(declip_music_clipped_3_db_gets_closer_to_original),
        cmocka_unit_test(declip_unclipped_audio_is_headroom_times_input),
        cmocka_unit_test(declip_block_size_invariant_and_recovers_from_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
