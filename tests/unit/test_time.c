/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Session times: seconds, m:ss(.ms), h:mm:ss and bars|beats at a tempo and
 * meter, against the closed forms; and the error texts. */
#include "lathe_test.h"

#include <math.h>
#include <string.h>

#include "lathe/session.h"

static double t_ok(const char *text, double bpm, int bpb) {
    lathe_error err = {0};
    double v = NAN;
    if (lathe_time_parse(text, bpm, bpb, &v, &err) != LATHE_OK) fail_msg("'%s': %s", text, err.msg);
    return v;
}

static const char *t_bad(const char *text, double bpm, int bpb) {
    static lathe_error err;
    double v = 0;
    assert_int_equal(lathe_time_parse(text, bpm, bpb, &v, &err), LATHE_E_INVALID);
    return err.msg;
}

static void time_seconds_with_and_without_units(void **s) {
    (void)s;
    assert_float_equal(t_ok("0", 120, 4), 0, 0);
    assert_float_equal(t_ok("12.5", 120, 4), 12.5, 0);
    assert_float_equal(t_ok("12.5 s", 120, 4), 12.5, 0);
    assert_float_equal(t_ok("12.5s", 120, 4), 12.5, 0);
    assert_float_equal(t_ok("500 ms", 120, 4), 0.5, 1e-15);
    assert_float_equal(t_ok("  3 s ", 120, 4), 3, 0);
}

static void time_minutes_seconds_and_milliseconds(void **s) {
    (void)s;
    assert_float_equal(t_ok("0:00", 120, 4), 0, 0);
    assert_float_equal(t_ok("1:30", 120, 4), 90, 0);
    assert_float_equal(t_ok("1:30.250", 120, 4), 90.25, 1e-12);
    assert_float_equal(t_ok("1:30.25", 120, 4), 90.25, 1e-12);
    assert_float_equal(t_ok("10:05", 120, 4), 605, 0);
    assert_float_equal(t_ok("0:59.999", 120, 4), 59.999, 1e-12);
    assert_float_equal(t_ok("1:02:03.5", 120, 4), 3723.5, 1e-12);
}

static void time_bars_beats_at_128_bpm_in_4_4_and_3_4(void **s) {
    (void)s;
    const double beat = 60.0 / 128; /* 0.46875 s */
    assert_float_equal(t_ok("1|1", 128, 4), 0, 0);
    assert_float_equal(t_ok("2|1", 128, 4), 4 * beat, 1e-12);
    assert_float_equal(t_ok("33|1", 128, 4), 60.0, 1e-12); /* 128 beats = 1 minute */
    assert_float_equal(t_ok("33|2.5", 128, 4), (128 + 1.5) * beat, 1e-12);
    assert_float_equal(t_ok("1|4.99", 128, 4), 3.99 * beat, 1e-12);
    /* 3/4: three beats a bar */
    assert_float_equal(t_ok("2|1", 128, 3), 3 * beat, 1e-12);
    assert_float_equal(t_ok("33|1", 128, 3), 96 * beat, 1e-12);
    assert_float_equal(t_ok("2|3", 128, 3), 5 * beat, 1e-12);
    /* another tempo: 90 bpm, 4/4, bar 5 = 16 beats of 2/3 s */
    assert_float_equal(t_ok("5|1", 90, 4), 16 * 60.0 / 90, 1e-12);
}

static void time_errors_say_what_is_wrong(void **s) {
    (void)s;
    assert_string_equal(t_bad("1:75", 120, 4), "'1:75' is not a time (seconds must be below 60)");
    assert_string_equal(t_bad("1:5", 120, 4),
                        "'1:5' is not a time (m:ss: write e.g. 1:30 or 1:30.250)");
    assert_string_equal(t_bad("1:60:00", 120, 4),
                        "'1:60:00' is not a time (minutes must be below 60)");
    assert_string_equal(t_bad("0|1", 120, 4),
                        "'0|1' is not a time (bars and beats count from 1: 1|1 is the start)");
    assert_string_equal(t_bad("1|5", 120, 4),
                        "'1|5' is not a time (a bar has 4 beats: beat is 1 to below 5)");
    assert_string_equal(t_bad("4|4", 120, 3),
                        "'4|4' is not a time (a bar has 3 beats: beat is 1 to below 4)");
    assert_string_equal(t_bad("x|1", 120, 4),
                        "'x|1' is not a time (bars|beats: write e.g. 33|1 or 33|2.5)");
    assert_string_equal(t_bad("soon", 120, 4),
                        "'soon' is not a time (write e.g. 12.5 s, 500 ms, 1:30.250 or 33|1)");
    assert_string_equal(t_bad("3 Hz", 120, 4),
                        "'3 Hz' is not a time (write e.g. 12.5 s, 500 ms, 1:30.250 or 33|1)");
    assert_string_equal(t_bad("-1 s", 120, 4), "'-1 s' is before the start (times are >= 0)");
    assert_string_equal(t_bad("", 120, 4),
                        "empty time (write e.g. 12.5 s, 500 ms, 1:30.250 or 33|1)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_seconds_with_and_without_units),
        cmocka_unit_test(time_minutes_seconds_and_milliseconds),
        cmocka_unit_test(time_bars_beats_at_128_bpm_in_4_4_and_3_4),
        cmocka_unit_test(time_errors_say_what_is_wrong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
