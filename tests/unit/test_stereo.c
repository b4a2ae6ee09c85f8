/* SPDX-License-Identifier: GPL-3.0-or-later */
/* stereo: pan-law levels against their formulas, balance, width, M/S gains,
 * mono_below crossover, swap, offsets, channel counts, smoothing. */
#include "lathe_test.h"

#include <math.h>
#include <string.h>

static const double RATE = 48000;

static lathe_proc *mk(int ch, const char *const *names, const double *v, int n) {
    return lt_proc("stereo", RATE, ch, names, v, n);
}

/* out[c][i] vs g[c] * in[c][i], worst absolute difference */
static double worst_vs_gain(float *const *out, float *const *in, const double *g, long n) {
    double w = 0;
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++)
            w = fmax(w, fabs(out[c][i] - g[c] * in[c][i]));
    return w;
}

static void stereo_pan_law_levels_exact_at_centre_and_hard_sides(void **state) {
    (void)state;
    long n = 4800;
    /* centre level of a mono source for each law, from its formula, and the
     * nominal name it must round to within 0.03 dB */
    const double c3 = cos(M_PI / 4);
    const double centre[] = {1.0, c3, sqrt(c3 * 0.5), 0.5};
    const double nominal[] = {0, -3, -4.5, -6};
    float **in = lt_alloc(2, n), **b = lt_alloc(2, n);
    lt_sine(in[0], n, RATE, 440, 0.8, 0);
    memcpy(in[1], in[0], n * sizeof(float));
    for (int law = 0; law < 4; law++) {
        const double pans[] = {0, -100, 100};
        for (int k = 0; k < 3; k++) {
            const char *names[] = {"source", "pan_law", "pan"};
            double v[] = {1, law, pans[k]};
            lathe_proc *p = mk(2, names, v, 3);
            memcpy(b[0], in[0], n * sizeof(float));
            memcpy(b[1], in[1], n * sizeof(float));
            lathe_proc_process(p, b, NULL, n);
            double g[2];
            if (k == 0) {
                g[0] = g[1] = centre[law];
                assert_true(fabs(lt_db(centre[law]) - nominal[law]) < 0.03);
            } else {
                g[0] = k == 1 ? 1.0 : 0.0;
                g[1] = k == 1 ? 0.0 : 1.0;
            }
            double w = worst_vs_gain(b, in, g, n);
            if (w > 1e-7) fail_msg("law %d pan %g: off by %g", law, pans[k], w);
            /* hard sides: silence is exact */
            if (k == 1) assert_true(lt_peak(b[1], n) == 0 && b[0][100] == in[0][100]);
            if (k == 2) assert_true(lt_peak(b[0], n) == 0 && b[1][100] == in[1][100]);
            lathe_proc_free(p);
        }
    }
    lt_free(in, 2);
    lt_free(b, 2);
}

static void stereo_pan_on_stereo_source_is_balance(void **state) {
    (void)state;
    long n = 4800;
    float **in = lt_alloc(2, n), **b = lt_alloc(2, n);
    uint64_t seed = 9;
    lt_noise(in[0], n, 0.5, &seed);
    lt_noise(in[1], n, 0.5, &seed);
    const char *names[] = {"pan"};
    const double pans[] = {0, 50, -100};
    for (int k = 0; k < 3; k++) {
        double v[] = {pans[k]};
        lathe_proc *p = mk(2, names, v, 1);
        memcpy(b[0], in[0], n * sizeof(float));
        memcpy(b[1], in[1], n * sizeof(float));
        lathe_proc_process(p, b, NULL, n);
        /* -3 dB law normalised to 0 dB at centre, far side only */
        double th = (pans[k] / 100 + 1) * M_PI / 4;
        double g[2] = {pans[k] > 0 ? cos(th) / cos(M_PI / 4) : 1.0,
                       pans[k] < 0 ? sin(th) / sin(M_PI / 4) : 1.0};
        assert_true(worst_vs_gain(b, in, g, n) < 1e-7);
        lathe_proc_free(p);
    }
    lt_free(in, 2);
    lt_free(b, 2);
}

static void stereo_width_and_side_gain(void **state) {
    (void)state;
    long n = 4800;
    float **in = lt_alloc(2, n), **b = lt_alloc(2, n);
    uint64_t seed = 21;
    lt_noise(in[0], n, 0.5, &seed);
    lt_noise(in[1], n, 0.5, &seed);
    const char *names[] = {"width", "mid_gain", "side_gain"};
    const double cases[][3] = {{0, 0, 0}, {200, 0, 0}, {100, -6, -INFINITY}, {150, 3, -3}};
    for (int k = 0; k < 4; k++) {
        lathe_proc *p = mk(2, names, cases[k], 3);
        memcpy(b[0], in[0], n * sizeof(float));
        memcpy(b[1], in[1], n * sizeof(float));
        lathe_proc_process(p, b, NULL, n);
        double gm = lt_undb(cases[k][1]);
        double gs = (cases[k][2] == -INFINITY ? 0 : lt_undb(cases[k][2])) * cases[k][0] / 100;
        for (long i = 0; i < n; i++) {
            double m = 0.5 * ((double)in[0][i] + in[1][i]), s = 0.5 * ((double)in[0][i] - in[1][i]);
            assert_true(fabs(b[0][i] - (gm * m + gs * s)) < 1e-7);
            assert_true(fabs(b[1][i] - (gm * m - gs * s)) < 1e-7);
            if (gs == 0) assert_true(b[0][i] == b[1][i]); /* width 0: exactly mono */
        }
        lathe_proc_free(p);
    }
    lt_free(in, 2);
    lt_free(b, 2);
}

/* Level (dB) of the side (or mid) component of the output for a side-only
 * (or mid-only) sine at f. */
static double ms_gain_db(double corner, double f, int side) {
    const char *names[] = {"mono_below"};
    double v[] = {corner};
    lathe_proc *p = mk(2, names, v, 1);
    long n = (long)(RATE * 1.0), skip = n / 2;
    float **b = lt_alloc(2, n);
    lt_sine(b[0], n, RATE, f, 0.5, 0);
    for (long i = 0; i < n; i++)
        b[1][i] = side ? -b[0][i] : b[0][i];
    lathe_proc_process(p, b, NULL, n);
    for (long i = 0; i < n; i++) {
        float l = b[0][i], r = b[1][i];
        b[0][i] = side ? 0.5f * (l - r) : 0.5f * (l + r);
    }
    double a = lt_tone_amp(b[0] + skip, n - skip, RATE, f, NULL);
    lt_free(b, 2);
    lathe_proc_free(p);
    return lt_db(a / 0.5);
}

static void stereo_mono_below_keeps_side_above_and_removes_it_below(void **state) {
    (void)state;
    const double corners[] = {80, 150, 300};
    for (int k = 0; k < 3; k++) {
        double fc = corners[k];
        double above = ms_gain_db(fc, 4 * fc, 1), far = ms_gain_db(fc, 16 * fc, 1);
        double below = ms_gain_db(fc, fc / 8, 1), mid = ms_gain_db(fc, fc, 0);
        double midlow = ms_gain_db(fc, fc / 8, 0);
        print_message("mono_below %g Hz: side at 4x %.4f dB, 16x %.4f dB, /8 %.1f dB; mid at "
                      "fc %.5f dB\n",
                      fc, above, far, below, mid);
        assert_true(fabs(above) < 0.1 && fabs(far) < 0.1);
        assert_true(below < -20);
        assert_true(fabs(mid) < 0.01 && fabs(midlow) < 0.01); /* mid only all-passed */
    }
    /* off by default: side untouched even at 20 Hz */
    const char *names[] = {"width"};
    double v[] = {100};
    lathe_proc *p = mk(2, names, v, 1);
    long n = 4800;
    float **b = lt_alloc(2, n);
    lt_sine(b[0], n, RATE, 20, 0.5, 0);
    for (long i = 0; i < n; i++)
        b[1][i] = -b[0][i];
    float ref = b[0][1234];
    lathe_proc_process(p, b, NULL, n);
    assert_true(b[0][1234] == ref);
    lt_free(b, 2);
    lathe_proc_free(p);
}

static void stereo_swap_exchanges_channels_exactly(void **state) {
    (void)state;
    long n = 4800;
    float **in = lt_alloc(2, n), **b = lt_alloc(2, n);
    uint64_t seed = 2;
    lt_noise(in[0], n, 1, &seed);
    lt_noise(in[1], n, 1, &seed);
    memcpy(b[0], in[0], n * sizeof(float));
    memcpy(b[1], in[1], n * sizeof(float));
    const char *names[] = {"swap"};
    double v[] = {1};
    lathe_proc *p = mk(2, names, v, 1);
    lathe_proc_process(p, b, NULL, n);
    for (long i = 0; i < n; i++)
        assert_true(b[0][i] == in[1][i] && b[1][i] == in[0][i]);
    lathe_proc_free(p);
    lt_free(in, 2);
    lt_free(b, 2);
}

static void stereo_offset_delays_exactly_n_samples(void **state) {
    (void)state;
    long n = 3000;
    float **in = lt_alloc(2, n), **b = lt_alloc(2, n);
    uint64_t seed = 4;
    lt_noise(in[0], n, 1, &seed);
    lt_noise(in[1], n, 1, &seed);
    memcpy(b[0], in[0], n * sizeof(float));
    memcpy(b[1], in[1], n * sizeof(float));
    const char *names[] = {"delay_r"};
    double v[] = {1.0}; /* 1 ms at 48 kHz = 48 samples */
    lathe_proc *p = mk(2, names, v, 1);
    assert_int_equal(lathe_proc_latency(p), 0);
    /* in odd pieces, to cross block and ring boundaries */
    for (long off = 0; off < n; off += 37) {
        float *io[2] = {b[0] + off, b[1] + off};
        lathe_proc_process(p, io, NULL, n - off < 37 ? n - off : 37);
    }
    for (long i = 0; i < n; i++) {
        assert_true(b[0][i] == in[0][i]);
        assert_true(b[1][i] == (i < 48 ? 0.0f : in[1][i - 48]));
    }
    lathe_proc_free(p);
    /* left side at 44.1 kHz: 0.5 ms = 22.05 -> 22 samples */
    const char *names2[] = {"delay_l"};
    double v2[] = {0.5};
    p = lt_proc("stereo", 44100, 2, names2, v2, 1);
    memcpy(b[0], in[0], n * sizeof(float));
    memcpy(b[1], in[1], n * sizeof(float));
    lathe_proc_process(p, b, NULL, n);
    for (long i = 0; i < n; i++)
        assert_true(b[0][i] == (i < 22 ? 0.0f : in[0][i - 22]));
    lathe_proc_reset(p);
    memset(b[0], 0, n * sizeof(float));
    lathe_proc_process(p, b, NULL, 100);
    assert_true(lt_peak(b[0], 100) == 0);
    lathe_proc_free(p);
    lt_free(in, 2);
    lt_free(b, 2);
}

static void stereo_one_and_three_channels(void **state) {
    (void)state;
    long n = 2000;
    const char *names[] = {"mid_gain", "width", "pan"};
    double v[] = {-6, 0, 50};
    lathe_proc *p = mk(1, names, v, 3);
    float **b = lt_alloc(3, n), **in = lt_alloc(3, n);
    uint64_t seed = 8;
    for (int c = 0; c < 3; c++)
        lt_noise(in[c], n, 1, &seed);
    memcpy(b[0], in[0], n * sizeof(float));
    lathe_proc_process(p, b, NULL, n);
    for (long i = 0; i < n; i++)
        assert_true(fabs(b[0][i] - in[0][i] * lt_undb(-6)) < 1e-7);
    lathe_proc_free(p);
    p = mk(3, names, v, 3);
    for (int c = 0; c < 3; c++)
        memcpy(b[c], in[c], n * sizeof(float));
    lathe_proc_process(p, b, NULL, n);
    for (long i = 0; i < n; i++)
        assert_true(b[2][i] == in[2][i]);
    lathe_proc_free(p);
    lt_free(b, 3);
    lt_free(in, 3);
}

static void stereo_pan_and_width_changes_are_smoothed(void **state) {
    (void)state;
    long n = 9600;
    float **b = lt_alloc(2, n);
    for (long i = 0; i < n; i++)
        b[0][i] = 0.5f, b[1][i] = 0.1f; /* DC: any jump is a click */
    lathe_proc *p = mk(2, NULL, NULL, 0);
    float *io[2] = {b[0], b[1]};
    lathe_proc_process(p, io, NULL, 100);
    lathe_proc_set_by_name(p, "pan", 100, NULL);
    lathe_proc_set_by_name(p, "width", 0, NULL);
    io[0] = b[0] + 100;
    io[1] = b[1] + 100;
    lathe_proc_process(p, io, NULL, n - 100);
    double jump = 0;
    for (long i = 1; i < n; i++)
        for (int c = 0; c < 2; c++)
            jump = fmax(jump, fabs(b[c][i] - b[c][i - 1]));
    /* Left = (0.3 + 0.2 u) u with u (side and balance factors) leaving 1 along a
     * 10 ms one-pole: dLeft/du <= 0.7, and u moves at most 1 - exp(-1/(0.01 rate))
     * per sample.  An unsmoothed switch would jump by 0.5. */
    double bound = 0.7 * (1 - exp(-1 / (0.010 * RATE))) * 1.01;
    print_message("pan+width step on DC: max jump %.5f (bound %.5f)\n", jump, bound);
    assert_true(jump < bound);
    /* and it arrives: left silent, right = mono sum at full level */
    assert_true(fabs(b[0][n - 1]) < 1e-6 && fabs(b[1][n - 1] - 0.3f) < 1e-6);
    lathe_proc_free(p);
    lt_free(b, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stereo_pan_law_levels_exact_at_centre_and_hard_sides),
        cmocka_unit_test(stereo_pan_on_stereo_source_is_balance),
        cmocka_unit_test(stereo_width_and_side_gain),
        cmocka_unit_test(stereo_mono_below_keeps_side_above_and_removes_it_below),
        cmocka_unit_test(stereo_swap_exchanges_channels_exactly),
        cmocka_unit_test(stereo_offset_delays_exactly_n_samples),
        cmocka_unit_test(stereo_one_and_three_channels),
        cmocka_unit_test(stereo_pan_and_width_changes_are_smoothed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
