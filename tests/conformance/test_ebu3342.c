/* SPDX-License-Identifier: GPL-3.0-or-later */
/* EBU Tech 3342 (2016) loudness range, cases 1-4, synthesised at 48 kHz:
 * 1 kHz stereo tone segments, tolerance +-1 LU. Each file ends with 1.5 s of
 * silence, as the standard's files do. */
#include "lathe_test.h"

#include <math.h>

#include "lathe/analysis.h"

static double lra(const double *secs, const double *db, int n)
{
    const double rate = 48000;
    lathe_error err;
    lathe_analyzer *a = lathe_analyzer_new(rate, 2, &err);
    double ph = 0, w = 2 * M_PI * 1000 / rate;
    for (int k = 0; k <= n; k++) {
        long len = lrint((k < n ? secs[k] : 1.5) * rate);
        double amp = k < n ? pow(10, db[k] / 20) : 0;
        float **b = lt_alloc(2, len);
        for (long i = 0; i < len; i++) b[0][i] = b[1][i] = (float)(amp * sin(ph + w * (double)i));
        ph = fmod(ph + w * (double)len, 2 * M_PI);
        lathe_analyzer_add(a, (const float *const *)b, len);
        lt_free(b, 2);
    }
    lathe_analysis r;
    lathe_analyzer_result(a, &r);
    lathe_analyzer_free(a);
    return r.loudness_range_lu;
}

#define LRA_OK(v, want) \
    do { \
        double v_ = (v); \
        if (fabs(v_ - (want)) > 1.0) fail_msg("LRA %.2f LU, want %.0f +- 1", v_, (double)(want)); \
    } while (0)

static void tech3342_case1_minus20_then_minus30_gives_10(void **s)
{
    (void)s;
    LRA_OK(lra((double[]){20, 20}, (double[]){-20, -30}, 2), 10);
}

static void tech3342_case2_minus20_then_minus15_gives_5(void **s)
{
    (void)s;
    LRA_OK(lra((double[]){20, 20}, (double[]){-20, -15}, 2), 5);
}

static void tech3342_case3_minus40_then_minus20_gives_20(void **s)
{
    (void)s;
    LRA_OK(lra((double[]){20, 20}, (double[]){-40, -20}, 2), 20);
}

static void tech3342_case4_five_steps_gives_15(void **s)
{
    (void)s;
    LRA_OK(lra((double[]){20, 20, 20, 20, 20}, (double[]){-50, -35, -20, -35, -50}, 5), 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tech3342_case1_minus20_then_minus30_gives_10),
        cmocka_unit_test(tech3342_case2_minus20_then_minus15_gives_5),
        cmocka_unit_test(tech3342_case3_minus40_then_minus20_gives_20),
        cmocka_unit_test(tech3342_case4_five_steps_gives_15),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
