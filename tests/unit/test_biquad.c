/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/biquad: matched designs against their analog prototypes (closed form),
 * exact inverses, stability over the whole parameter range, the SVF
 * realisation against direct form, and bilinear Linkwitz-Riley sums. */
#include "lathe_test.h"

#include <complex.h>
#include <math.h>

#include "dsp/biquad.h"

static const lathe_bq_type all_types[] = {LATHE_BQ_LOWPASS,   LATHE_BQ_HIGHPASS, LATHE_BQ_BANDPASS,
                                          LATHE_BQ_NOTCH,     LATHE_BQ_BELL,     LATHE_BQ_LOWSHELF,
                                          LATHE_BQ_HIGHSHELF, LATHE_BQ_ALLPASS,  LATHE_BQ_LOWPASS1,
                                          LATHE_BQ_HIGHPASS1, LATHE_BQ_TILT};
#define NTYPES ((int)(sizeof all_types / sizeof all_types[0]))

static double complex resp(const lathe_bq *c, double rate, double f) {
    double complex z = cexp(-I * 2 * M_PI * f / rate);
    return (c->b0 + c->b1 * z + c->b2 * z * z) / (1 + c->a1 * z + c->a2 * z * z);
}

static void biquad_matched_designs_hit_the_prototype_at_f0(void **state) {
    (void)state;
    const double rates[] = {44100, 48000, 96000};
    const double f0s[] = {30, 440, 5000, 12000, 19000};
    const double qs[] = {0.5, 0.7071, 3};
    double worst = 0;
    for (int r = 0; r < 3; r++)
        for (int f = 0; f < 5; f++)
            for (int k = 0; k < 3; k++)
                for (int t = 0; t < NTYPES; t++) {
                    if (all_types[t] == LATHE_BQ_NOTCH) continue; /* -inf at f0 */
                    lathe_bq c;
                    lathe_bq_design(&c, all_types[t], rates[r], f0s[f], qs[k], -7.5);
                    double d = lathe_bq_mag_db(&c, rates[r], f0s[f]);
                    double a = lathe_bq_analog_mag_db(all_types[t], f0s[f], qs[k], -7.5, f0s[f]);
                    worst = fmax(worst, fabs(d - a));
                    if (fabs(d - a) > 1e-6)
                        fail_msg("type %d f0 %g q %g rate %g: %.8f vs %.8f", all_types[t], f0s[f],
                                 qs[k], rates[r], d, a);
                }
    print_message("matched designs at f0: worst %.2e dB\n", worst);
    /* the standard definitions that the prototypes encode */
    assert_true(fabs(lathe_bq_analog_mag_db(LATHE_BQ_BELL, 1000, 2, 9, 1000) - 9) < 1e-12);
    assert_true(fabs(lathe_bq_analog_mag_db(LATHE_BQ_LOWSHELF, 1000, 0.7, 9, 1000) - 4.5) < 1e-12);
    assert_true(fabs(lathe_bq_analog_mag_db(LATHE_BQ_HIGHSHELF, 1000, 2, 9, 1000) - 4.5) < 1e-12);
    assert_true(fabs(lathe_bq_analog_mag_db(LATHE_BQ_TILT, 1000, 1, 9, 1000)) < 1e-12);
    assert_true(fabs(lathe_bq_analog_mag_db(LATHE_BQ_LOWPASS, 1000, M_SQRT1_2, 0, 1000) +
                     10 * log10(2)) < 1e-12);
}

static void biquad_matched_bell_follows_prototype_to_nyquist_and_bilinear_does_not(void **state) {
    (void)state;
    const double rate = 44100;
    lathe_bq m, b;
    lathe_bq_design(&m, LATHE_BQ_BELL, rate, 10000, 1, 6);
    lathe_bq_design_bilinear(&b, LATHE_BQ_BELL, rate, 10000, 1, 6);
    double wm = 0, wb = 0;
    for (double f = 20; f < 21000; f *= 1.01) {
        double a = lathe_bq_analog_mag_db(LATHE_BQ_BELL, 10000, 1, 6, f);
        wm = fmax(wm, fabs(lathe_bq_mag_db(&m, rate, f) - a));
        wb = fmax(wb, fabs(lathe_bq_mag_db(&b, rate, f) - a));
    }
    print_message("10 kHz bell, 20 Hz-21 kHz: matched within %.3f dB, bilinear %.3f dB\n", wm, wb);
    assert_true(wm < 0.5);
    assert_true(wb > 1.5); /* ~1.96 dB off at 21 kHz */
    /* the Nyquist gain itself is matched */
    assert_true(fabs(lathe_bq_mag_db(&m, rate, rate / 2) -
                     lathe_bq_analog_mag_db(LATHE_BQ_BELL, 10000, 1, 6, rate / 2)) < 1e-6);
}

static void biquad_cut_is_exact_inverse_of_boost(void **state) {
    (void)state;
    const lathe_bq_type t[] = {LATHE_BQ_BELL, LATHE_BQ_LOWSHELF, LATHE_BQ_HIGHSHELF, LATHE_BQ_TILT};
    for (int k = 0; k < 4; k++)
        for (double f0 = 50; f0 < 20000; f0 *= 3) {
            lathe_bq up, dn;
            lathe_bq_design(&up, t[k], 48000, f0, 1.3, 11);
            lathe_bq_design(&dn, t[k], 48000, f0, 1.3, -11);
            for (double f = 20; f < 24000; f *= 1.3) {
                double complex h = resp(&up, 48000, f) * resp(&dn, 48000, f);
                assert_true(cabs(h - 1) < 1e-9);
            }
        }
}

static void biquad_designs_are_stable_over_the_parameter_range(void **state) {
    (void)state;
    const double rates[] = {8000, 44100, 192000};
    int count = 0;
    for (int r = 0; r < 3; r++)
        for (double f0 = 5; f0 < 0.6 * rates[r]; f0 *= 1.7)
            for (double q = 0.05; q < 60; q *= 2.5)
                for (double g = -30; g <= 30; g += 7.5)
                    for (int t = 0; t < NTYPES; t++)
                        for (int bl = 0; bl < 2; bl++) {
                            lathe_bq c;
                            if (bl && f0 >= 0.5 * rates[r]) continue;
                            if (bl)
                                lathe_bq_design_bilinear(&c, all_types[t], rates[r], f0, q, g);
                            else
                                lathe_bq_design(&c, all_types[t], rates[r], f0, q, g);
                            assert_true(isfinite(c.b0) && isfinite(c.b1) && isfinite(c.b2) &&
                                        isfinite(c.a1) && isfinite(c.a2));
                            /* stability triangle */
                            assert_true(fabs(c.a2) < 1 && fabs(c.a1) < 1 + c.a2);
                            count++;
                        }
    print_message("%d designs stable\n", count);
}

static void biquad_svf_realisation_equals_direct_form(void **state) {
    (void)state;
    uint64_t seed = 77;
    float x[4000];
    lt_noise(x, 4000, 1, &seed);
    for (int t = 0; t < NTYPES; t++)
        for (double f0 = 40; f0 < 22000; f0 *= 4) {
            lathe_bq c;
            lathe_svf s;
            lathe_bq_design(&c, all_types[t], 48000, f0, 0.9, 8);
            lathe_svf_from_bq(&s, &c);
            double a1 = 1 / (1 + s.g * (s.g + s.k)), a2 = s.g * a1, a3 = s.g * a2;
            lathe_bq_state z = {0, 0};
            lathe_svf_state v = {0, 0};
            double worst = 0, peak = 0;
            for (int i = 0; i < 4000; i++) {
                double y1 = lathe_bq_tick(&c, &z, x[i]);
                double y2 = lathe_svf_tick(a1, a2, a3, s.m0, s.m1, s.m2, &v, x[i]);
                worst = fmax(worst, fabs(y1 - y2));
                peak = fmax(peak, fabs(y1));
            }
            assert_true(worst <= 1e-9 * fmax(peak, 1));
        }
}

static void biquad_mag_db_agrees_with_a_sine_through_tick(void **state) {
    (void)state;
    const double rate = 48000, f = 3000;
    lathe_bq c;
    lathe_bq_design(&c, LATHE_BQ_HIGHSHELF, rate, 2000, 0.8, 5);
    long n = 48000;
    float *x = test_malloc(n * sizeof(float));
    lt_sine(x, n, rate, f, 0.5, 0);
    lathe_bq_state z = {0, 0};
    for (long i = 0; i < n; i++)
        x[i] = (float)lathe_bq_tick(&c, &z, x[i]);
    double m = lt_db(lt_tone_amp(x + n / 2, n / 2, rate, f, NULL) / 0.5);
    assert_true(fabs(m - lathe_bq_mag_db(&c, rate, f)) < 1e-4);
    test_free(x);
}

static void biquad_bilinear_lr4_pair_sums_to_allpass(void **state) {
    (void)state;
    const double rate = 44100;
    for (double fc = 60; fc < 15000; fc *= 2.2) {
        lathe_bq lp, hp;
        lathe_bq_design_bilinear(&lp, LATHE_BQ_LOWPASS, rate, fc, M_SQRT1_2, 0);
        lathe_bq_design_bilinear(&hp, LATHE_BQ_HIGHPASS, rate, fc, M_SQRT1_2, 0);
        for (double f = 10; f < 22000; f *= 1.1) {
            double complex l = resp(&lp, rate, f), h = resp(&hp, rate, f);
            assert_true(fabs(20 * log10(cabs(l * l + h * h))) < 1e-6);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(biquad_matched_designs_hit_the_prototype_at_f0),
        cmocka_unit_test(biquad_matched_bell_follows_prototype_to_nyquist_and_bilinear_does_not),
        cmocka_unit_test(biquad_cut_is_exact_inverse_of_boost),
        cmocka_unit_test(biquad_designs_are_stable_over_the_parameter_range),
        cmocka_unit_test(biquad_svf_realisation_equals_direct_form),
        cmocka_unit_test(biquad_mag_db_agrees_with_a_sine_through_tick),
        cmocka_unit_test(biquad_bilinear_lr4_pair_sums_to_allpass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
