/* SPDX-License-Identifier: GPL-3.0-or-later */
/* EBU Tech 3341 (2016) conformance, cases 1-6 and 9-23, synthesised here at
 * 48 kHz (case 1 also at 44.1 and 96 kHz).  Tolerances are the standard's:
 * +-0.1 LU for M, S and I; +0.2/-0.4 dB for true peak.
 * "Tone" is a 1 kHz sine in phase on L and R, level = per-channel peak dBFS. */
#include "lathe_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/kmeter.h"
#include "lathe/analysis.h"

#define MAXCH 5

typedef struct {
    double rate;
    int ch;
    lathe_analyzer *a;
    lathe_kmeter *km; /* for readings between segments */
    double phase;
    /* loudness curve (every 100 ms) */
    double t[4096], m[4096], s[4096];
    int n;
} rig;

static void curve(void *user, double t, double m, double s)
{
    rig *r = user;
    if (r->n < 4096) r->t[r->n] = t, r->m[r->n] = m, r->s[r->n] = s, r->n++;
}

static void rig_init(rig *r, double rate, int ch)
{
    memset(r, 0, sizeof *r);
    r->rate = rate;
    r->ch = ch;
    lathe_error err;
    r->a = lathe_analyzer_new(rate, ch, &err);
    assert_non_null(r->a);
    r->km = lathe_kmeter_new(rate, ch);
    lathe_kmeter_set_curve(r->km, curve, r);
}

static void rig_free(rig *r)
{
    lathe_analyzer_free(r->a);
    lathe_kmeter_free(r->km);
}

/* Appends `secs` of 1 kHz tone; level_db[c] per channel (-inf = silent). */
static void tone(rig *r, double secs, const double *level_db)
{
    long n = lrint(secs * r->rate);
    float **b = lt_alloc(r->ch, n);
    double w = 2 * M_PI * 1000.0 / r->rate;
    for (long i = 0; i < n; i++) {
        double v = sin(r->phase + w * (double)i);
        for (int c = 0; c < r->ch; c++)
            b[c][i] = isfinite(level_db[c]) ? (float)(pow(10, level_db[c] / 20) * v) : 0.0f;
    }
    r->phase = fmod(r->phase + w * (double)n, 2 * M_PI);
    lathe_analyzer_add(r->a, (const float *const *)b, n);
    lathe_kmeter_add(r->km, (const float *const *)b, n);
    lt_free(b, r->ch);
}

static void stereo(rig *r, double secs, double db)
{
    double l[MAXCH] = {db, db, db, db, db};
    tone(r, secs, l);
}

static void silence(rig *r, double secs)
{
    stereo(r, secs, -INFINITY);
}

static lathe_analysis result(rig *r)
{
    lathe_analysis a;
    lathe_analyzer_result(r->a, &a);
    return a;
}

#define NEAR(x, want, tol)                                                                      \
    do {                                                                                        \
        double x_ = (x);                                                                        \
        if (!(fabs(x_ - (want)) <= (tol)))                                                      \
            fail_msg("%s = %.3f, want %.3f +- %.2f", #x, x_, (double)(want), (double)(tol));    \
    } while (0)

static void case1_at(double rate)
{
    rig r;
    rig_init(&r, rate, 2);
    stereo(&r, 20, -23);
    lathe_analysis a = result(&r);
    NEAR(a.integrated_lufs, -23.0, 0.1);
    NEAR(a.max_momentary_lufs, -23.0, 0.1);
    NEAR(a.max_short_term_lufs, -23.0, 0.1);
    NEAR(lathe_kmeter_momentary(r.km), -23.0, 0.1);
    NEAR(lathe_kmeter_short_term(r.km), -23.0, 0.1);
    rig_free(&r);
}

static void tech3341_case1_tone_minus23_reads_minus23_at_48k(void **s)
{
    (void)s;
    case1_at(48000);
}

static void tech3341_case1_at_44k1_and_96k(void **s)
{
    (void)s;
    case1_at(44100);
    case1_at(96000);
}

static void tech3341_case2_tone_minus33(void **s)
{
    (void)s;
    rig r;
    rig_init(&r, 48000, 2);
    stereo(&r, 20, -33);
    lathe_analysis a = result(&r);
    NEAR(a.integrated_lufs, -33.0, 0.1);
    NEAR(a.max_momentary_lufs, -33.0, 0.1);
    NEAR(a.max_short_term_lufs, -33.0, 0.1);
    rig_free(&r);
}

static void tech3341_case3_relative_gate(void **s)
{
    (void)s;
    rig r;
    rig_init(&r, 48000, 2);
    stereo(&r, 10, -36), stereo(&r, 60, -23), stereo(&r, 10, -36);
    NEAR(result(&r).integrated_lufs, -23.0, 0.1);
    rig_free(&r);
}

static void tech3341_case4_absolute_and_relative_gates(void **s)
{
    (void)s;
    rig r;
    rig_init(&r, 48000, 2);
    stereo(&r, 10, -72), stereo(&r, 10, -36), stereo(&r, 60, -23), stereo(&r, 10, -36);
    stereo(&r, 10, -72);
    NEAR(result(&r).integrated_lufs, -23.0, 0.1);
    rig_free(&r);
}

static void tech3341_case5_level_steps(void **s)
{
    (void)s;
    rig r;
    rig_init(&r, 48000, 2);
    stereo(&r, 20, -26), stereo(&r, 20.1, -20), stereo(&r, 20, -26);
    NEAR(result(&r).integrated_lufs, -23.0, 0.1);
    rig_free(&r);
}

static void tech3341_case6_five_channels_weighted(void **s)
{
    (void)s;
    rig r;
    rig_init(&r, 48000, 5);
    double lv[5] = {-28, -28, -24, -30, -30}; /* L R C Ls Rs */
    tone(&r, 20, lv);
    lathe_analysis a = result(&r);
    NEAR(a.integrated_lufs, -23.0, 0.1);
    NEAR(a.max_momentary_lufs, -23.0, 0.1);
    rig_free(&r);
}

static void tech3341_case9_short_term_steady_after_3s(void **s)
{
    (void)s;
    rig r;
    rig_init(&r, 48000, 2);
    for (int k = 0; k < 5; k++) {
        stereo(&r, 1.34, -20);
        stereo(&r, 1.66, -30);
    }
    int checked = 0;
    for (int i = 0; i < r.n; i++)
        if (r.t[i] >= 3.0 - 1e-9) {
            NEAR(r.s[i], -23.0, 0.1);
            checked++;
        }
    assert_true(checked >= 100);
    rig_free(&r);
}

static void tech3341_case10_max_short_term_at_every_offset(void **s)
{
    (void)s;
    for (int i = 0; i < 20; i++) {
        rig r;
        rig_init(&r, 48000, 2);
        silence(&r, i * 0.15);
        stereo(&r, 3, -23);
        silence(&r, 1);
        NEAR(result(&r).max_short_term_lufs, -23.0, 0.1);
        rig_free(&r);
    }
}

static void tech3341_case11_max_short_term_rising_levels(void **s)
{
    (void)s;
    rig r;
    rig_init(&r, 48000, 2);
    for (int i = 0; i < 20; i++) {
        silence(&r, i * 0.15);
        stereo(&r, 3, -38 + i);
        silence(&r, 3 - 0.15 * i);
        NEAR(lathe_kmeter_max_short_term(r.km), -38.0 + i, 0.1);
    }
    NEAR(result(&r).max_short_term_lufs, -19.0, 0.1);
    rig_free(&r);
}

static void tech3341_case12_momentary_steady_after_1s(void **s)
{
    (void)s;
    rig r;
    rig_init(&r, 48000, 2);
    for (int k = 0; k < 25; k++) {
        stereo(&r, 0.18, -20);
        stereo(&r, 0.22, -30);
    }
    int checked = 0;
    for (int i = 0; i < r.n; i++)
        if (r.t[i] >= 1.0 - 1e-9) {
            NEAR(r.m[i], -23.0, 0.1);
            checked++;
        }
    assert_true(checked >= 80);
    rig_free(&r);
}

static void tech3341_case13_max_momentary_at_every_offset(void **s)
{
    (void)s;
    for (int i = 0; i < 20; i++) {
        rig r;
        rig_init(&r, 48000, 2);
        silence(&r, i * 0.02);
        stereo(&r, 0.4, -23);
        silence(&r, 1);
        NEAR(result(&r).max_momentary_lufs, -23.0, 0.1);
        rig_free(&r);
    }
}

static void tech3341_case14_max_momentary_rising_levels(void **s)
{
    (void)s;
    rig r;
    rig_init(&r, 48000, 2);
    for (int i = 0; i < 20; i++) {
        silence(&r, i * 0.02);
        stereo(&r, 0.4, -38 + i);
        silence(&r, 0.4 - 0.02 * i);
        NEAR(lathe_kmeter_max_momentary(r.km), -38.0 + i, 0.1);
    }
    rig_free(&r);
}

/* ---- true peak, cases 15-23 ---- */

/* The analysis of a 1 s stereo signal (L = R) made by fill. */
static lathe_analysis analyse_mono_pair(const float *x, long n)
{
    float **b = lt_alloc(2, n);
    memcpy(b[0], x, sizeof(float) * (size_t)n);
    memcpy(b[1], x, sizeof(float) * (size_t)n);
    lathe_error err;
    lathe_analyzer *a = lathe_analyzer_new(48000, 2, &err);
    lathe_analyzer_add(a, (const float *const *)b, n);
    lathe_analysis r;
    lathe_analyzer_result(a, &r);
    lathe_analyzer_free(a);
    lt_free(b, 2);
    return r;
}

static lathe_analysis tp_sine(double div, double amp, double phase_deg)
{
    float *x = malloc(sizeof(float) * 48000);
    lt_tech3341_sine(x, 48000, div, amp, phase_deg);
    lathe_analysis r = analyse_mono_pair(x, 48000);
    free(x);
    return r;
}

#define TP_OK(x, want) \
    do { \
        double x_ = (x); \
        if (!(x_ <= (want) + 0.2 && x_ >= (want) - 0.4)) \
            fail_msg("%s = %.3f dBTP, want %.1f +0.2/-0.4", #x, x_, (double)(want)); \
    } while (0)

static void tech3341_cases15_to_19_true_peak_of_sines(void **s)
{
    (void)s;
    lathe_analysis a;
    a = tp_sine(4, 0.5, 0);
    TP_OK(a.true_peak_dbtp, -6.0);
    NEAR(a.sample_peak_dbfs, -6.02, 0.01);
    a = tp_sine(4, 0.5, 45);
    TP_OK(a.true_peak_dbtp, -6.0);
    NEAR(a.sample_peak_dbfs, -9.03, 0.01);
    a = tp_sine(6, 0.5, 60);
    TP_OK(a.true_peak_dbtp, -6.0);
    NEAR(a.sample_peak_dbfs, -7.27, 0.01);
    a = tp_sine(8, 0.5, 67.5);
    TP_OK(a.true_peak_dbtp, -6.0);
    NEAR(a.sample_peak_dbfs, -6.71, 0.01);
    a = tp_sine(4, 1.41, 45);
    TP_OK(a.true_peak_dbtp, 3.0);
    NEAR(a.sample_peak_dbfs, -0.03, 0.01);
}

/* Case 20-23 (tests/support makes the signal). */
static double tp_burst(int offset)
{
    float *x = malloc(sizeof(float) * 48000);
    lt_tech3341_burst(x, offset);
    lathe_analysis r = analyse_mono_pair(x, 48000);
    free(x);
    return r.true_peak_dbtp;
}

static void tech3341_cases20_to_23_inter_sample_burst(void **s)
{
    (void)s;
    for (int k = 0; k < 4; k++) TP_OK(tp_burst(k), 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tech3341_case1_tone_minus23_reads_minus23_at_48k),
        cmocka_unit_test(tech3341_case1_at_44k1_and_96k),
        cmocka_unit_test(tech3341_case2_tone_minus33),
        cmocka_unit_test(tech3341_case3_relative_gate),
        cmocka_unit_test(tech3341_case4_absolute_and_relative_gates),
        cmocka_unit_test(tech3341_case5_level_steps),
        cmocka_unit_test(tech3341_case6_five_channels_weighted),
        cmocka_unit_test(tech3341_case9_short_term_steady_after_3s),
        cmocka_unit_test(tech3341_case10_max_short_term_at_every_offset),
        cmocka_unit_test(tech3341_case11_max_short_term_rising_levels),
        cmocka_unit_test(tech3341_case12_momentary_steady_after_1s),
        cmocka_unit_test(tech3341_case13_max_momentary_at_every_offset),
        cmocka_unit_test(tech3341_case14_max_momentary_rising_levels),
        cmocka_unit_test(tech3341_cases15_to_19_true_peak_of_sines),
        cmocka_unit_test(tech3341_cases20_to_23_inter_sample_burst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
