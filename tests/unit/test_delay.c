/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The delay: echo times against time*rate/1000, echo ratios against
 * `feedback`, the feedback filter against its closed-form response,
 * ping-pong, click-free time changes, stability, reset and tail. */
#include "lathe_test.h"

#include <math.h>
#include <string.h>

#include "dsp/biquad.h"

#define NAMES(...) ((const char *const[]){__VA_ARGS__})
#define VALS(...) ((const double[]){__VA_ARGS__})

static int finite_all(const float *x, long n)
{
    for (long i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Impulse response (channel 0 fed, mono) of a delay with the given params. */
static float **impulse(double rate, int ch, const char *const *names, const double *vals, int n,
                       long len)
{
    lathe_proc *p = lt_proc("delay", rate, ch, names, vals, n);
    float **b = lt_alloc(ch, len);
    b[0][0] = 1.0f;
    lathe_proc_process(p, b, NULL, len);
    lathe_proc_free(p);
    return b;
}

static void check_integer_echo(double rate, double ms, long want)
{
    float **b = impulse(rate, 1, NAMES("time", "feedback", "mix"), VALS(ms, 0, 100), 3, want + 100);
    for (long i = 0; i < want + 100; i++) {
        if (i == want) {
            if (b[0][i] != 1.0f) fail_msg("%g ms at %g Hz: echo at %ld is %g", ms, rate, i, b[0][i]);
        } else if (b[0][i] != 0.0f) {
            fail_msg("%g ms at %g Hz: sample %ld is %g (echo expected only at %ld)", ms, rate, i,
                     b[0][i], want);
        }
    }
    lt_free(b, 1);
}

static void delay_integer_echo_exactly_at_time_times_rate(void **s)
{
    (void)s;
    check_integer_echo(48000, 250, 12000);
    check_integer_echo(44100, 250, 11025);
    check_integer_echo(48000, 1, 48);
    check_integer_echo(96000, 4000, 384000);
    check_integer_echo(48000, 0, 1); /* the shortest delay is one sample */
}

static void delay_fractional_echo_interpolated_around_round_time(void **s)
{
    (void)s;
    /* 10.4 ms at 48 kHz = 499.2 samples: the 4 Lagrange taps sit at 498..501,
     * the largest at 499 = round(499.2), and they sum to 1 (DC preserved). */
    float **b = impulse(48000, 1, NAMES("time", "feedback", "mix"), VALS(10.4, 0, 100), 3, 1000);
    long arg = 0;
    double sum = 0;
    for (long i = 0; i < 1000; i++) {
        if (fabs(b[0][i]) > fabs(b[0][arg])) arg = i;
        sum += b[0][i];
        if ((i < 498 || i > 501) && b[0][i] != 0.0f) fail_msg("sample %ld is %g", i, b[0][i]);
    }
    assert_int_equal(arg, 499);
    assert_true(fabs(sum - 1.0) < 1e-6);
    /* Group delay of the 4 taps: sum(i h_i) = 499.2 for a 3rd-order Lagrange. */
    double m1 = 0;
    for (long i = 498; i <= 501; i++) m1 += (double)i * b[0][i];
    assert_true(fabs(m1 - 499.2) < 1e-4);
    lt_free(b, 1);
}

static void delay_echo_ratio_equals_feedback_within_0_01_db(void **s)
{
    (void)s;
    const double fbs[] = {10, 30, 50, 70, 98};
    for (int k = 0; k < 5; k++) {
        long D = 480, len = D * 12;
        float **b = impulse(48000, 1, NAMES("time", "feedback", "mix"), VALS(10, fbs[k], 100), 3, len);
        for (int e = 1; e < 10; e++) {
            double a0 = b[0][e * D], a1 = b[0][(e + 1) * D];
            double err = lt_db(a1 / a0) - lt_db(fbs[k] / 100.0);
            if (fabs(err) > 0.01)
                fail_msg("feedback %g %%: echo %d->%d ratio off by %g dB", fbs[k], e, e + 1, err);
        }
        lt_free(b, 1);
    }
}

static void delay_feedback_lowpass_matches_butterworth_within_0_01_db(void **s)
{
    (void)s;
    /* The second echo is the first one filtered once by the feedback low-pass
     * and scaled by feedback: its spectrum at f is feedback * |H(f)|. */
    const double rate = 48000, fc = 1000;
    long D = 4800;
    float **b = impulse(rate, 1, NAMES("time", "feedback", "mix", "fb_lpf"), VALS(100, 50, 100, fc),
                        4, 3 * D);
    lathe_bq c;
    lathe_bq_design(&c, LATHE_BQ_LOWPASS, rate, fc, M_SQRT1_2, 0);
    assert_true(b[0][D] == 1.0f); /* the first echo is not filtered */
    const double fr[] = {100, 500, 1000, 3000};
    for (int k = 0; k < 4; k++) {
        double re = 0, im = 0, w = 2 * M_PI * fr[k] / rate;
        for (long i = 0; i < D; i++) {
            re += b[0][2 * D + i] * cos(w * (double)i);
            im -= b[0][2 * D + i] * sin(w * (double)i);
        }
        double got = lt_db(hypot(re, im)), want = lt_db(0.5) + lathe_bq_mag_db(&c, rate, fr[k]);
        if (fabs(got - want) > 0.01) fail_msg("%g Hz: %g dB, want %g dB", fr[k], got, want);
    }
    lt_free(b, 1);
}

static void delay_pingpong_alternates_channels(void **s)
{
    (void)s;
    long D = 480, len = 6 * D;
    /* impulse in the left channel only */
    float **b = impulse(48000, 2, NAMES("time", "feedback", "mix", "pingpong"), VALS(10, 50, 100, 1),
                        4, len);
    for (long i = 0; i < len; i++) {
        float wl = 0, wr = 0;
        if (i > 0 && i % D == 0) {
            long k = i / D; /* echo k: left when odd, right when even */
            float a = 0.5f * powf(0.5f, (float)(k - 1)); /* (L+R)/2 enters the left line */
            if (k % 2) wl = a;
            else wr = a;
        }
        if (fabsf(b[0][i] - wl) > 1e-7f || fabsf(b[1][i] - wr) > 1e-7f)
            fail_msg("frame %ld: L %g R %g, want L %g R %g", i, b[0][i], b[1][i], wl, wr);
    }
    lt_free(b, 2);
}

static void delay_time_change_has_no_click(void **s)
{
    (void)s;
    const double rate = 48000, f = 200, amp = 0.5;
    long n = 48000;
    lathe_proc *p = lt_proc("delay", rate, 1, NAMES("time", "feedback", "mix"), VALS(100, 0, 100), 3);
    float **b = lt_alloc(1, n);
    lt_sine(b[0], n, rate, f, amp, 0);
    int ti = lathe_proc_param_index(lathe_proc_descriptor(p), "time");
    lathe_proc_process(p, b, NULL, 12000);
    lathe_proc_set(p, ti, 137.3);
    float *rest[1] = {b[0] + 12000};
    lathe_proc_process(p, rest, NULL, n - 12000);
    /* a click is a step far larger than the sine's own largest step */
    double maxstep = 0, bound = 2 * M_PI * f / rate * amp;
    for (long i = 4801; i < n; i++) maxstep = fmax(maxstep, fabs(b[0][i] - b[0][i - 1]));
    if (maxstep > 1.05 * bound) fail_msg("largest step %g, a %g Hz sine steps at most %g", maxstep, f, bound);
    /* and after the fade the output is the sine delayed by the new time */
    double ph;
    double a = lt_tone_amp(b[0] + 30000, 10000, rate, f, &ph);
    double want = 2 * M_PI * f / rate * (30000 - 137.3 * 48);
    double dph = remainder(ph - want, 2 * M_PI);
    if (fabs(a - amp) > 1e-3 || fabs(dph) > 1e-3) fail_msg("after the fade: amp %g phase error %g rad", a, dph);
    lt_free(b, 1);
    lathe_proc_free(p);
}

static void delay_max_feedback_stays_finite_and_bounded(void **s)
{
    (void)s;
    const double rate = 48000;
    long n = 10 * 48000;
    for (int filt = 0; filt < 2; filt++) {
        lathe_proc *p = lt_proc("delay", rate, 2,
                                NAMES("time", "feedback", "mix", "pingpong", "fb_hpf", "fb_lpf"),
                                VALS(3, 98, 100, filt, filt ? 100 : 0, filt ? 5000 : 0), 6);
        float **b = lt_alloc(2, n);
        uint64_t seed = 42;
        lt_noise(b[0], n, 1.0, &seed);
        lt_noise(b[1], n, 1.0, &seed);
        lathe_proc_process(p, b, NULL, n);
        assert_true(finite_all(b[0], n) && finite_all(b[1], n));
        /* a loop gain of 0.98 bounds the output by 1/(1-0.98) = 50 times the input
         * peak (plus the Butterworth filters' small overshoot) */
        assert_true(lt_peak(b[0], n) < 60 && lt_peak(b[1], n) < 60);
        lt_free(b, 2);
        lathe_proc_free(p);
    }
}

static void delay_reset_clears_the_line(void **s)
{
    (void)s;
    lathe_proc *p = lt_proc("delay", 48000, 2, NAMES("time", "feedback", "mix", "fb_lpf"),
                            VALS(20, 90, 100, 4000), 4);
    long n = 4800;
    float **b = lt_alloc(2, n);
    uint64_t seed = 7;
    lt_noise(b[0], n, 1.0, &seed);
    lt_noise(b[1], n, 1.0, &seed);
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) > 0.1);
    lathe_proc_reset(p);
    memset(b[0], 0, (size_t)n * sizeof(float));
    memset(b[1], 0, (size_t)n * sizeof(float));
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) == 0.0 && lt_peak(b[1], n) == 0.0);
    lt_free(b, 2);
    lathe_proc_free(p);
}

static void delay_mix_0_is_the_dry_signal_exactly(void **s)
{
    (void)s;
    lathe_proc *p = lt_proc("delay", 48000, 1, NAMES("time", "feedback", "mix"), VALS(5, 80, 0), 3);
    long n = 9600;
    float **b = lt_alloc(1, n), **ref = lt_alloc(1, n);
    uint64_t seed = 3;
    lt_noise(b[0], n, 1.0, &seed);
    memcpy(ref[0], b[0], (size_t)n * sizeof(float));
    lathe_proc_process(p, b, NULL, n);
    assert_memory_equal(b[0], ref[0], (size_t)n * sizeof(float));
    lt_free(b, 1);
    lt_free(ref, 1);
    lathe_proc_free(p);
}

static void delay_tail_covers_90_db_of_feedback_decay(void **s)
{
    (void)s;
    const double rate = 48000;
    const double fbs[] = {0, 50, 90};
    for (int k = 0; k < 3; k++) {
        lathe_proc *p = lt_proc("delay", rate, 1, NAMES("time", "feedback", "mix"), VALS(50, fbs[k], 100), 3);
        double tail = lathe_proc_tail_s(p);
        long n = (long)(tail * rate) + 4800;
        float **b = lt_alloc(1, n);
        b[0][0] = 1;
        lathe_proc_process(p, b, NULL, n);
        long last = -1;
        for (long i = 0; i < n; i++)
            if (fabs(b[0][i]) > lt_undb(-90)) last = i;
        /* the last echo above -90 dB is inside the tail, and within 2 echoes of its end */
        if (!(last >= 0 && last <= (long)(tail * rate) && last >= (long)(tail * rate) - 2 * 2400))
            fail_msg("feedback %g %%: tail %g s, last echo above -90 dB at %g s", fbs[k], tail,
                     (double)last / rate);
        lt_free(b, 1);
        lathe_proc_free(p);
    }
}

static void delay_feedback_tail_ends_in_exact_zeros_without_denormals(void **s)
{
    (void)s;
    /* runs without FTZ/DAZ: subnormals would show in the output */
    const double rate = 48000;
    long n = 20 * 48000;
    lathe_proc *p = lt_proc("delay", rate, 2, NAMES("time", "feedback", "mix", "fb_hpf", "fb_lpf"),
                            VALS(10, 90, 100, 200, 3000), 5);
    float **b = lt_alloc(2, n);
    uint64_t seed = 8;
    lt_noise(b[0], 4800, 1.0, &seed);
    lt_noise(b[1], 4800, 1.0, &seed);
    lathe_proc_process(p, b, NULL, n);
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++)
            if (fpclassify(b[c][i]) == FP_SUBNORMAL) fail_msg("subnormal output at frame %ld", i);
    for (int c = 0; c < 2; c++)
        for (long i = n - 48000; i < n; i++)
            if (b[c][i] != 0.0f) fail_msg("ch%d frame %ld: %g after the tail", c, i, b[c][i]);
    lt_free(b, 2);
    lathe_proc_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delay_integer_echo_exactly_at_time_times_rate),
        cmocka_unit_test(delay_fractional_echo_interpolated_around_round_time),
        cmocka_unit_test(delay_echo_ratio_equals_feedback_within_0_01_db),
        cmocka_unit_test(delay_feedback_lowpass_matches_butterworth_within_0_01_db),
        cmocka_unit_test(delay_pingpong_alternates_channels),
        cmocka_unit_test(delay_time_change_has_no_click),
        cmocka_unit_test(delay_max_feedback_stays_finite_and_bounded),
        cmocka_unit_test(delay_reset_clears_the_line),
        cmocka_unit_test(delay_mix_0_is_the_dry_signal_exactly),
        cmocka_unit_test(delay_tail_covers_90_db_of_feedback_decay),
        cmocka_unit_test(delay_feedback_tail_ends_in_exact_zeros_without_denormals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
