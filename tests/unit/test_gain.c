/* SPDX-License-Identifier: GPL-3.0-or-later */
/* gain: exact factors after the ramp, exact polarity nulls, ramp-limited
 * steps, silence at -inf dB. */
#include "lathe_test.h"

#include <math.h>
#include <string.h>

static const double RATE = 48000;

static void gain_steady_signal_scaled_exactly_after_ramp(void **state) {
    (void)state;
    const double gains[] = {-20, -6, 0, 3.5, 24};
    long n = 4800;
    for (int k = 0; k < 5; k++) {
        const char *names[] = {"gain"};
        double v[] = {gains[k]};
        lathe_proc *p = lt_proc("gain", RATE, 2, names, v, 1);
        float **b = lt_alloc(2, n), **ref = lt_alloc(2, n);
        uint64_t seed = 11;
        lt_noise(ref[0], n, 0.5, &seed);
        lt_sine(ref[1], n, RATE, 997, 0.5, 0.3);
        memcpy(b[0], ref[0], n * sizeof(float));
        memcpy(b[1], ref[1], n * sizeof(float));
        lathe_proc_process(p, b, NULL, n);
        double g = pow(10.0, gains[k] / 20.0);
        for (int c = 0; c < 2; c++)
            for (long i = 0; i < n; i++)
                assert_true(b[c][i] == (float)(ref[c][i] * g));
        lathe_proc_free(p);
        lt_free(b, 2);
        lt_free(ref, 2);
    }
}

static void gain_inversion_nulls_against_input(void **state) {
    (void)state;
    long n = 9600;
    const char *names[] = {"invert2"};
    double v[] = {1};
    lathe_proc *p = lt_proc("gain", RATE, 3, names, v, 1);
    float **b = lt_alloc(3, n), **ref = lt_alloc(3, n);
    uint64_t seed = 5;
    for (int c = 0; c < 3; c++) {
        lt_noise(ref[c], n, 1.0, &seed);
        memcpy(b[c], ref[c], n * sizeof(float));
    }
    lathe_proc_process(p, b, NULL, n);
    for (long i = 0; i < n; i++) {
        assert_true(b[1][i] + ref[1][i] == 0.0f);
        assert_true(b[0][i] == ref[0][i] && b[2][i] == ref[2][i]);
    }
    /* `invert` flips all channels; after the ramp (20 ms) every channel nulls */
    lathe_proc_set_by_name(p, "invert", 1, NULL);
    for (int c = 0; c < 3; c++)
        memcpy(b[c], ref[c], n * sizeof(float));
    lathe_proc_process(p, b, NULL, n);
    for (int c = 0; c < 3; c++)
        for (long i = 960; i < n; i++)
            assert_true(b[c][i] + ref[c][i] == 0.0f);
    /* and the flip itself was ramped: halfway through, channel 0 is near zero */
    assert_true(fabs(b[0][479]) <= fabs(ref[0][479]) * 0.01 + 1e-6);
    lathe_proc_free(p);
    lt_free(b, 3);
    lt_free(ref, 3);
}

static void gain_step_is_a_ramp_without_jumps(void **state) {
    (void)state;
    long n = 9600;
    lathe_proc *p = lt_proc("gain", RATE, 1, NULL, NULL, 0);
    float **b = lt_alloc(1, n);
    const float dc = 0.25f;
    for (long i = 0; i < n; i++)
        b[0][i] = dc;
    float *io[1] = {b[0]};
    lathe_proc_process(p, io, NULL, 1000);
    lathe_proc_set_by_name(p, "gain", 12, NULL);
    io[0] = b[0] + 1000;
    lathe_proc_process(p, io, NULL, n - 1000);
    double g = pow(10.0, 12 / 20.0);
    /* a 20 ms linear ramp: each step at most dc (g - 1) / (0.02 rate) */
    double bound = dc * (g - 1) / (0.020 * RATE) * 1.001 + 1e-7, jump = 0;
    long settled = -1;
    for (long i = 1; i < n; i++) {
        jump = fmax(jump, fabs((double)b[0][i] - b[0][i - 1]));
        if (settled < 0 && b[0][i] == (float)(dc * g)) settled = i;
    }
    print_message("gain step: max jump %.6f (bound %.6f), settled after %ld samples\n", jump, bound,
                  settled - 1000);
    assert_true(jump <= bound);
    assert_true(settled - 1000 >= (long)(0.019 * RATE) && settled - 1000 <= (long)(0.021 * RATE));
    for (long i = settled; i < n; i++)
        assert_true(b[0][i] == (float)(dc * g));
    lathe_proc_free(p);
    lt_free(b, 1);
}

static void gain_minus_inf_is_silence(void **state) {
    (void)state;
    long n = 4800;
    const char *names[] = {"gain"};
    double v[] = {-INFINITY};
    lathe_proc *p = lt_proc("gain", RATE, 2, names, v, 1);
    float **b = lt_alloc(2, n);
    lt_sine(b[0], n, RATE, 440, 1, 0);
    lt_sine(b[1], n, RATE, 440, 1, 0);
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) == 0 && lt_peak(b[1], n) == 0);
    /* fading to -inf while running ends in exact silence too */
    lathe_proc_set_by_name(p, "gain", 0, NULL);
    lt_sine(b[0], n, RATE, 440, 1, 0);
    lathe_proc_process(p, b, NULL, n);
    lathe_proc_set_by_name(p, "gain", -INFINITY, NULL);
    lt_sine(b[0], n, RATE, 440, 1, 0);
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0] + 960, n - 960) == 0);
    assert_true(lt_peak(b[0], 100) > 0.01);
    lathe_proc_free(p);
    lt_free(b, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gain_steady_signal_scaled_exactly_after_ramp),
        cmocka_unit_test(gain_inversion_nulls_against_input),
        cmocka_unit_test(gain_step_is_a_ramp_without_jumps),
        cmocka_unit_test(gain_minus_inf_is_silence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
