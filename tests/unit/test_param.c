/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The unit parser: every spelling the issue names, and the error texts. */
#include "lathe_test.h"

#include <math.h>
#include <string.h>

#include "lathe/param.h"

static const char *const types[] = {"bell", "lowshelf", "highpass", NULL};
static const lathe_param_desc p_db = {"threshold", "dB", "", -60, 0, -18, LATHE_PARAM_NUMBER, NULL, 0};
static const lathe_param_desc p_gain = {"gain", "dB", "", -INFINITY, 24, 0, LATHE_PARAM_NUMBER, NULL, 0};
static const lathe_param_desc p_ms = {"attack", "ms", "", 0.01, 2000, 10, LATHE_PARAM_NUMBER, NULL, 0};
static const lathe_param_desc p_s = {"decay", "s", "", 0.1, 30, 2, LATHE_PARAM_NUMBER, NULL, 0};
static const lathe_param_desc p_hz = {"freq", "Hz", "", 10, 22000, 1000, LATHE_PARAM_NUMBER, NULL, 0};
static const lathe_param_desc p_pct = {"mix", "%", "", 0, 100, 100, LATHE_PARAM_NUMBER, NULL, 0};
static const lathe_param_desc p_ratio = {"ratio", ":1", "", 1, INFINITY, 4, LATHE_PARAM_NUMBER, NULL, 0};
static const lathe_param_desc p_type = {"type", "", "", 0, 2, 0, LATHE_PARAM_CHOICE, types, 0};
static const lathe_param_desc p_bool = {"link", "", "", 0, 1, 1, LATHE_PARAM_BOOL, NULL, 0};

static double ok(const lathe_param_desc *p, const char *text, double bpm)
{
    lathe_param_ctx ctx = {bpm};
    lathe_error err = {0};
    double v = NAN;
    lathe_status st = lathe_param_parse(p, text, &ctx, &v, &err);
    if (st != LATHE_OK) fail_msg("'%s': %s", text, err.msg);
    return v;
}

static const char *bad(const lathe_param_desc *p, const char *text, lathe_status want)
{
    static lathe_error err;
    double v = 0;
    lathe_status st = lathe_param_parse(p, text, NULL, &v, &err);
    assert_int_equal(st, want);
    return err.msg;
}

static void param_levels_in_every_spelling(void **s)
{
    (void)s;
    assert_true(ok(&p_db, "-18 dB", 0) == -18.0);
    assert_true(ok(&p_db, "-18dB", 0) == -18.0);
    assert_true(ok(&p_db, " -18 ", 0) == -18.0);
    assert_true(ok(&p_db, "-12.5 dB", 0) == -12.5);
    assert_true(isinf(ok(&p_gain, "-inf dB", 0)) && ok(&p_gain, "-inf dB", 0) < 0);
    assert_true(isinf(ok(&p_gain, "-inf", 0)));
}

static void param_times_frequencies_percent_ratio(void **s)
{
    (void)s;
    assert_true(ok(&p_ms, "10 ms", 0) == 10.0);
    assert_true(ok(&p_ms, "1.5 s", 0) == 1500.0);
    assert_true(ok(&p_ms, "10", 0) == 10.0);
    assert_true(ok(&p_s, "1.8 s", 0) == 1.8);
    assert_true(fabs(ok(&p_s, "200 ms", 0) - 0.2) < 1e-12);
    assert_true(ok(&p_hz, "120 Hz", 0) == 120.0);
    assert_true(ok(&p_hz, "2.5 kHz", 0) == 2500.0);
    assert_true(ok(&p_hz, "2.5kHz", 0) == 2500.0);
    assert_true(ok(&p_pct, "50 %", 0) == 50.0);
    assert_true(ok(&p_pct, "50%", 0) == 50.0);
    assert_true(ok(&p_ratio, "4:1", 0) == 4.0);
    assert_true(ok(&p_ratio, "4", 0) == 4.0);
    assert_true(isinf(ok(&p_ratio, "inf:1", 0)));
}

static void param_note_values_at_tempo(void **s)
{
    (void)s;
    /* 120 bpm: a quarter is 500 ms, an eighth 250, dotted eighth 375, eighth triplet 166.67 */
    assert_true(fabs(ok(&p_ms, "1/4", 120) - 500.0) < 1e-9);
    assert_true(fabs(ok(&p_ms, "1/8", 120) - 250.0) < 1e-9);
    assert_true(fabs(ok(&p_ms, "1/8.", 120) - 375.0) < 1e-9);
    assert_true(fabs(ok(&p_ms, "1/8t", 120) - 500.0 / 3.0) < 1e-9);
    assert_string_equal(bad(&p_ms, "1/8", LATHE_E_INVALID),
                        "attack: '1/8' is a note value, but no tempo is set");
}

static void param_choices_and_bools(void **s)
{
    (void)s;
    assert_true(ok(&p_type, "highpass", 0) == 2.0);
    assert_true(ok(&p_type, "LowShelf", 0) == 1.0);
    assert_string_equal(bad(&p_type, "peak", LATHE_E_INVALID),
                        "type: 'peak' is not one of: bell, lowshelf, highpass");
    assert_true(ok(&p_bool, "on", 0) == 1.0);
    assert_true(ok(&p_bool, "no", 0) == 0.0);
    assert_string_equal(bad(&p_bool, "maybe", LATHE_E_INVALID), "link: 'maybe' is not on or off");
}

static void param_errors_state_range_and_unit(void **s)
{
    (void)s;
    assert_string_equal(bad(&p_db, "-90 dB", LATHE_E_RANGE),
                        "threshold: -90 dB is out of range (-60 dB to 0 dB)");
    assert_string_equal(bad(&p_hz, "30 kHz", LATHE_E_RANGE),
                        "freq: 30 kHz is out of range (10 Hz to 22 kHz)");
    assert_string_equal(bad(&p_ms, "10 Hz", LATHE_E_INVALID),
                        "attack: '10 Hz' is not a time (write e.g. 10 ms or 1.5 s)");
    assert_string_equal(bad(&p_db, "loud", LATHE_E_INVALID),
                        "threshold: 'loud' is not a number (write e.g. -18 dB)");
    assert_string_equal(bad(&p_db, "nan", LATHE_E_INVALID),
                        "threshold: 'nan' is not a number (write e.g. -18 dB)");
    assert_string_equal(bad(&p_db, "-inf dB", LATHE_E_RANGE),
                        "threshold: -inf dB is out of range (-60 dB to 0 dB)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(param_levels_in_every_spelling),
        cmocka_unit_test(param_times_frequencies_percent_ratio),
        cmocka_unit_test(param_note_values_at_tempo),
        cmocka_unit_test(param_choices_and_bools),
        cmocka_unit_test(param_errors_state_range_and_unit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
