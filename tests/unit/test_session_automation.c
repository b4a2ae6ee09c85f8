/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Automation lanes: every curve against its closed form, clamping outside
 * the points, jumps, -inf dB fades, and lanes as loaded from a session. */
#include "lathe_test.h"

#include <math.h>
#include <string.h>

#include "lathe/session.h"

static lathe_automation lane2(double t0, double v0, double t1, double v1, lathe_curve c,
                              lathe_auto_point *pts) {
    pts[0] = (lathe_auto_point){t0, v0, c};
    pts[1] = (lathe_auto_point){t1, v1, c};
    lathe_automation a;
    memset(&a, 0, sizeof a);
    a.points = pts, a.npoints = 2;
    return a;
}

static void automation_linear_and_clamped_outside(void **s) {
    (void)s;
    lathe_auto_point p[2];
    lathe_automation a = lane2(1, -12, 3, 6, LATHE_CURVE_LINEAR, p);
    for (double t = 1; t <= 3; t += 0.125)
        assert_float_equal(lathe_automation_value(&a, t), -12 + 18 * (t - 1) / 2, 1e-12);
    assert_float_equal(lathe_automation_value(&a, 0), -12, 0);
    assert_float_equal(lathe_automation_value(&a, -5), -12, 0);
    assert_float_equal(lathe_automation_value(&a, 3.5), 6, 0);
    assert_float_equal(lathe_automation_value(&a, 1e9), 6, 0);
}

static void automation_exp_is_linear_in_log_value(void **s) {
    (void)s;
    lathe_auto_point p[2];
    lathe_automation a = lane2(0, 100, 2, 10000, LATHE_CURVE_EXP, p);
    for (double t = 0; t <= 2; t += 0.1) {
        double want = 100 * pow(100, t / 2);
        assert_float_equal(lathe_automation_value(&a, t), want, want * 1e-12);
    }
    assert_float_equal(lathe_automation_value(&a, 1), 1000, 1e-9); /* geometric mean */
    /* an end <= 0: falls back to linear */
    a = lane2(0, -10, 2, 10, LATHE_CURVE_EXP, p);
    assert_float_equal(lathe_automation_value(&a, 1), 0, 1e-12);
    assert_float_equal(lathe_automation_value(&a, 0.5), -5, 1e-12);
}

static void automation_hold_steps_at_the_next_point(void **s) {
    (void)s;
    lathe_auto_point p[2];
    lathe_automation a = lane2(0, 1, 1, 5, LATHE_CURVE_HOLD, p);
    assert_float_equal(lathe_automation_value(&a, 0), 1, 0);
    assert_float_equal(lathe_automation_value(&a, 0.999999), 1, 0);
    assert_float_equal(lathe_automation_value(&a, 1), 5, 0);
}

static void automation_smooth_is_a_raised_cosine(void **s) {
    (void)s;
    lathe_auto_point p[2];
    lathe_automation a = lane2(2, 0, 6, -6, LATHE_CURVE_SMOOTH, p);
    for (double u = 0; u <= 1; u += 1.0 / 16) {
        double want = -6 * (1 - cos(M_PI * u)) / 2;
        assert_float_equal(lathe_automation_value(&a, 2 + 4 * u), want, 1e-12);
    }
    assert_float_equal(lathe_automation_value(&a, 4), -3, 1e-12);
    /* flat at both ends: the slope at the start is ~0 (1e-4 of the way in) */
    double early = lathe_automation_value(&a, 2 + 4e-4);
    assert_true(fabs(early) < 6 * 1e-7 * 2);
}

static void automation_minus_inf_fades_are_amplitude_fades(void **s) {
    (void)s;
    lathe_auto_point p[2];
    /* fade in from -inf to 0 dB: amplitude rises linearly */
    lathe_automation a = lane2(0, -INFINITY, 2, 0, LATHE_CURVE_LINEAR, p);
    double v0 = lathe_automation_value(&a, 0);
    assert_true(isinf(v0) && v0 < 0);
    assert_float_equal(lathe_automation_value(&a, 1), 20 * log10(0.5), 1e-12);
    assert_float_equal(lathe_automation_value(&a, 0.2), -20, 1e-12);
    assert_float_equal(lathe_automation_value(&a, 2), 0, 0);
    /* monotonic, finite inside */
    double prev = -INFINITY;
    for (double t = 0.01; t < 2; t += 0.01) {
        double v = lathe_automation_value(&a, t);
        assert_true(isfinite(v) && v > prev);
        prev = v;
    }
    /* fade out to -inf from -6 dB */
    a = lane2(0, -6, 1, -INFINITY, LATHE_CURVE_LINEAR, p);
    double a0 = pow(10, -6 / 20.0);
    assert_float_equal(lathe_automation_value(&a, 0.5), 20 * log10(a0 / 2), 1e-12);
    double v1 = lathe_automation_value(&a, 1);
    assert_true(isinf(v1) && v1 < 0);
    /* smooth fade in: eased amplitude */
    a = lane2(0, -INFINITY, 1, 0, LATHE_CURVE_SMOOTH, p);
    assert_float_equal(lathe_automation_value(&a, 0.5), 20 * log10(0.5), 1e-12);
    assert_float_equal(lathe_automation_value(&a, 0.25), 20 * log10((1 - cos(M_PI / 4)) / 2),
                       1e-12);
    /* exp with a -inf end behaves as linear (amplitude) */
    a = lane2(0, -INFINITY, 1, 0, LATHE_CURVE_EXP, p);
    assert_float_equal(lathe_automation_value(&a, 0.5), 20 * log10(0.5), 1e-12);
    /* -inf to -inf stays silent */
    a = lane2(0, -INFINITY, 1, -INFINITY, LATHE_CURVE_LINEAR, p);
    assert_true(isinf(lathe_automation_value(&a, 0.5)));
}

static void automation_many_points_jumps_and_per_point_curves(void **s) {
    (void)s;
    /* 200 points on a zig-zag; the binary search must pick the right segment */
    lathe_auto_point p[200];
    for (int i = 0; i < 200; i++)
        p[i] = (lathe_auto_point){i * 0.5, (i % 2) ? 10.0 : -10.0, LATHE_CURVE_LINEAR};
    lathe_automation a;
    memset(&a, 0, sizeof a);
    a.points = p, a.npoints = 200;
    for (double t = 0; t < 99.5; t += 0.37) {
        int k = (int)floor(t / 0.5);
        double u = (t - k * 0.5) / 0.5;
        double v0 = p[k].value, v1 = p[k + 1].value;
        assert_float_equal(lathe_automation_value(&a, t), v0 + (v1 - v0) * u, 1e-9);
    }
    /* a jump: two points at the same time, the later one wins from that time on */
    lathe_auto_point q[4] = {{0, 0, LATHE_CURVE_LINEAR},
                             {1, 0, LATHE_CURVE_LINEAR},
                             {1, 10, LATHE_CURVE_SMOOTH},
                             {3, 20, LATHE_CURVE_LINEAR}};
    a.points = q, a.npoints = 4;
    assert_float_equal(lathe_automation_value(&a, 0.999), 0, 0);
    assert_float_equal(lathe_automation_value(&a, 1), 10, 0);
    assert_float_equal(lathe_automation_value(&a, 2), 15, 1e-12); /* smooth half way */
    assert_float_equal(lathe_automation_value(&a, 1.5), 10 + 10 * (1 - cos(M_PI / 4)) / 2, 1e-12);
    /* one point: constant */
    a.npoints = 1;
    assert_float_equal(lathe_automation_value(&a, 5), 0, 0);
}

static void automation_lanes_from_a_session_evaluate_in_units(void **s) {
    (void)s;
    const char *text =
        "lathe: 1\n"
        "tempo: 120\n"
        "master:\n"
        "  chain: [ { eq: {} }, { limiter: {} } ]\n"
        "automation:\n"
        "  - target: master.gain\n"
        "    points: [ [0:00, -inf dB], [0:02, 0 dB], [1:30, 0 dB, smooth], [1:34, -6 dB] ]\n"
        "  - target: master.eq.band1.freq\n"
        "    curve: exp\n"
        "    points: [ [1|1, 100 Hz], [2|1, 10 kHz] ]\n"
        "  - target: master.eq.band1.type\n"
        "    points: [ [0, bell], [1 s, highpass] ]\n";
    lathe_diags d;
    lathe_session *ss = lathe_session_parse(text, strlen(text), "session.yaml", &d);
    char buf[700];
    for (int i = 0; i < d.count; i++)
        print_message("%s\n", lathe_diag_format(&d, i, buf, sizeof buf));
    /* band1.type is a choice fixed at the start: refused */
    assert_null(ss);
    assert_int_equal(d.count, 1);
    assert_string_equal(lathe_diag_format(&d, 0, buf, sizeof buf),
                        "session.yaml:11:13: automation target 'master.eq.band1.type': "
                        "eq.band1.type cannot be automated (it is fixed at the start)");
    lathe_diags_free(&d);

    size_t cut = strstr(text, "  - target: master.eq.band1.type") - text;
    ss = lathe_session_parse(text, cut, "session.yaml", &d);
    assert_non_null(ss);
    assert_int_equal(ss->nautos, 2);
    const lathe_automation *g = &ss->autos[0], *f = &ss->autos[1];
    assert_float_equal(lathe_automation_value(g, 1), 20 * log10(0.5), 1e-12);
    assert_float_equal(lathe_automation_value(g, 45), 0, 0);
    assert_float_equal(lathe_automation_value(g, 92), -3, 1e-12);
    assert_float_equal(lathe_automation_value(g, 100), -6, 0);
    /* bar 2 at 120 bpm 4/4 is 2 s; exp from 100 Hz to 10 kHz: 1 kHz at 1 s */
    assert_float_equal(lathe_automation_value(f, 1), 1000, 1e-9);
    assert_float_equal(lathe_automation_value(f, 0.5), 100 * pow(100, 0.25), 1e-9);
    lathe_session_free(ss);
    lathe_diags_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(automation_linear_and_clamped_outside),
        cmocka_unit_test(automation_exp_is_linear_in_log_value),
        cmocka_unit_test(automation_hold_steps_at_the_next_point),
        cmocka_unit_test(automation_smooth_is_a_raised_cosine),
        cmocka_unit_test(automation_minus_inf_fades_are_amplitude_fades),
        cmocka_unit_test(automation_many_points_jumps_and_per_point_curves),
        cmocka_unit_test(automation_lanes_from_a_session_evaluate_in_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
