/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The de-esser: a 7 kHz burst on a 300 Hz "vocal" tone is reduced by the
 * range while the tone stays put; below the threshold the output is the
 * input delayed by the reported latency, exactly; the split's band response
 * (listen) against its design (-6 dB at freq, full band from freq + 500 Hz);
 * wide mode. Amplitudes by least squares (lt_tone_amp) over windows holding
 * whole cycles of both tones (9600 frames = 60 x 300 Hz = 1400 x 7 kHz). */
#include "lathe_test.h"

#include <math.h>
#include <string.h>

#define RATE 48000.0
#define WIN 9600

typedef struct {
    double tone_before, tone_during, burst_during, burst_in;
    double max_null_err; /* max |out - delayed in| over the whole signal */
    int latency;
    double reduction; /* reduction_db() after the last block */
} result;

/* 0.6 s of 300 Hz at -12 dB, a 7 kHz burst at `burst_db` from 0.2 s to 0.5 s. */
static result run(const char *const *names, const double *vals, int n, double burst_db) {
    lathe_proc *p = lt_proc("deesser", RATE, 1, names, vals, n);
    result r;
    r.latency = lathe_proc_latency(p);
    long total = (long)(0.6 * RATE) + r.latency, b0 = (long)(0.2 * RATE), b1 = (long)(0.5 * RATE);
    float **in = lt_alloc(1, total), **tone = lt_alloc(1, total), **burst = lt_alloc(1, total),
          **b = lt_alloc(1, total);
    lt_sine(tone[0], total, RATE, 300, lt_undb(-12), 0);
    lt_sine(burst[0] + b0, b1 - b0, RATE, 7000, lt_undb(burst_db), 0);
    for (long i = 0; i < total; i++)
        b[0][i] = in[0][i] = tone[0][i] + burst[0][i];
    lathe_proc_process(p, b, NULL, total);
    r.reduction = lathe_proc_reduction_db(p);
    const float *out = b[0] + r.latency; /* out[i] lines up with in[i] */
    /* before the burst: 0..0.2 s; during: the last 0.2 s of the burst */
    long pre = 0, dur = b1 - WIN;
    r.tone_before = lt_db(lt_tone_amp(out + pre, WIN, RATE, 300, NULL) /
                          lt_tone_amp(in[0] + pre, WIN, RATE, 300, NULL));
    r.tone_during = lt_db(lt_tone_amp(out + dur, WIN, RATE, 300, NULL) /
                          lt_tone_amp(in[0] + dur, WIN, RATE, 300, NULL));
    r.burst_in = lt_db(lt_tone_amp(in[0] + dur, WIN, RATE, 7000, NULL));
    r.burst_during = lt_db(lt_tone_amp(out + dur, WIN, RATE, 7000, NULL)) - r.burst_in;
    r.max_null_err = 0;
    for (long i = 0; i + r.latency < total; i++)
        r.max_null_err = fmax(r.max_null_err, fabs((double)out[i] - in[0][i]));
    lt_free(in, 1);
    lt_free(tone, 1);
    lt_free(burst, 1);
    lt_free(b, 1);
    lathe_proc_free(p);
    return r;
}

static void deesser_burst_reduced_by_range_tone_untouched(void **s) {
    (void)s;
    const double ranges[] = {6, 12};
    for (int k = 0; k < 2; k++) {
        const char *names[] = {"threshold", "range"};
        double vals[] = {-30, ranges[k]};
        result r = run(names, vals, 2, -10);
        print_message("range %g dB: 7 kHz burst %+.3f dB, 300 Hz tone %+.4f dB during, %+.4f dB "
                      "before; latency %d frames; reduction_db %.3f\n",
                      ranges[k], r.burst_during, r.tone_during, r.tone_before, r.latency,
                      r.reduction);
        assert_true(fabs(r.burst_during + ranges[k]) < 1.0);
        assert_true(fabs(r.tone_during) < 0.1);
        assert_true(fabs(r.tone_before) < 0.01);
        /* the last block is 0.1 s into the release */
        assert_true(r.reduction > 0 && r.reduction < ranges[k]);
    }
}

static void deesser_below_threshold_output_equals_delayed_input(void **s) {
    (void)s;
    const char *names[] = {"threshold", "range"};
    double vals[] = {-30, 12};
    result r = run(names, vals, 2, -36);
    print_message("burst at -36 dB, threshold -30: max |out - in delayed %d| = %g; burst %+.6f "
                  "dB, tone %+.6f dB\n",
                  r.latency, r.max_null_err, r.burst_during, r.tone_during);
    assert_true(r.max_null_err == 0.0);
    assert_true(r.reduction == 0.0);
    /* and the same burst above a lower threshold is reduced (the test can see it) */
    vals[0] = -45;
    r = run(names, vals, 2, -36);
    assert_true(r.burst_during < -8.0);
}

static void deesser_wide_mode_reduces_the_whole_signal(void **s) {
    (void)s;
    const char *names[] = {"threshold", "range", "mode"};
    double vals[] = {-30, 6, 1};
    result r = run(names, vals, 3, -10);
    print_message("wide: burst %+.3f dB, tone %+.3f dB during, %+.4f dB before\n", r.burst_during,
                  r.tone_during, r.tone_before);
    assert_true(fabs(r.burst_during + 6) < 1.0);
    assert_true(fabs(r.tone_during + 6) < 1.0);
    assert_true(fabs(r.tone_before) < 0.01);
}

/* listen solos the band: -6 dB at freq, 0 dB from freq + 500 Hz, stopband
 * below freq - 500 Hz (70 dB design). */
static void deesser_listen_band_matches_split_design(void **s) {
    (void)s;
    const char *names[] = {"freq", "listen", "threshold"};
    const double freq = 5000;
    double vals[] = {freq, 1, 0};
    struct {
        double f, lo, hi;
    } pts[] = {{300, -INFINITY, -65},     {freq - 600, -INFINITY, -65}, {freq, -6.1, -5.9},
               {freq + 600, -0.01, 0.01}, {7000, -0.01, 0.01},          {15000, -0.01, 0.01}};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        double g =
            lt_proc_gain_db(lathe_processor_find("deesser"), RATE, names, vals, 3, pts[i].f, 0.5);
        print_message("band (listen) at %g Hz: %.4f dB\n", pts[i].f, g);
        assert_true(g >= pts[i].lo && g <= pts[i].hi);
    }
}

/* Odd block sizes give the same bytes (FIR history and detector carry over);
 * output finite; reset returns to silence. */
static void deesser_block_size_independent_finite_and_reset(void **s) {
    (void)s;
    const char *names[] = {"threshold", "range", "freq"};
    double vals[] = {-40, 24, 3000};
    lathe_proc *a = lt_proc("deesser", RATE, 2, names, vals, 3);
    lathe_proc *b = lt_proc("deesser", RATE, 2, names, vals, 3);
    long n = 20000;
    float **x = lt_alloc(2, n), **y = lt_alloc(2, n);
    uint64_t seed = 5;
    for (int c = 0; c < 2; c++) {
        lt_noise(x[c], n, 1.0, &seed);
        memcpy(y[c], x[c], sizeof(float) * (size_t)n);
    }
    lathe_proc_process(a, x, NULL, n);
    for (long off = 0; off < n;) {
        long m = off % 2 ? 53 : 3;
        if (off + m > n) m = n - off;
        float *blk[2] = {y[0] + off, y[1] + off};
        lathe_proc_process(b, blk, NULL, m);
        off += m;
    }
    for (int c = 0; c < 2; c++) {
        assert_memory_equal(x[c], y[c], sizeof(float) * (size_t)n);
        for (long i = 0; i < n; i++)
            assert_true(isfinite(x[c][i]));
    }
    assert_true(lathe_proc_reduction_db(a) > 10);
    lathe_proc_reset(a);
    memset(x[0], 0, sizeof(float) * (size_t)n);
    memset(x[1], 0, sizeof(float) * (size_t)n);
    lathe_proc_process(a, x, NULL, 1000);
    assert_true(lt_peak(x[0], 1000) == 0 && lt_peak(x[1], 1000) == 0);
    lt_free(x, 2);
    lt_free(y, 2);
    lathe_proc_free(a);
    lathe_proc_free(b);
}


static void deesser_recovers_from_nan_input(void **s) {
    (void)s;
    const char *names[] = {"threshold", "freq"};
    double vals[] = {-40, 2000}; /* 6997 Hz tone in the band: reduced by the range */
    lt_check_recovers_from_nan("deesser", RATE, 6997, names, vals, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(deesser_burst_reduced_by_range_tone_untouched),
        cmocka_unit_test(deesser_below_threshold_output_equals_delayed_input),
        cmocka_unit_test(deesser_wide_mode_reduces_the_whole_signal),
        cmocka_unit_test(deesser_listen_band_matches_split_design),
        cmocka_unit_test(deesser_block_size_independent_finite_and_reset),
        cmocka_unit_test(deesser_recovers_from_nan_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
