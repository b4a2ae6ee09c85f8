/* SPDX-License-Identifier: GPL-3.0-or-later */
/* match: the tone-matching filter on mid and side.  Gains measured with
 * sines on mid (L = R) and side (L = -R) against the band values at the
 * ISO 266 centres and the Catmull-Rom curve between them (computed here),
 * amount and max, latency by an impulse, the null of 0 dB, minimum phase,
 * rates, automation without clicks, reset, NaN recovery, block sizes. */
#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NB 31

static double centre(int k) {
    return 1000.0 * pow(10.0, (k - 17) / 10.0);
}

/* The curve through g at hz, written here from its definition (Catmull-Rom
 * in band-index space x = 10 log10(f / 1 kHz) + 17, ends held). */
static double curve(const double *g, double hz) {
    double x = 10 * log10(hz / 1000) + 17;
    if (x <= 0) return g[0];
    if (x >= NB - 1) return g[NB - 1];
    int i = (int)x;
    double t = x - i;
    double p0 = g[i ? i - 1 : 0], p1 = g[i], p2 = g[i + 1], p3 = g[i + 2 < NB ? i + 2 : NB - 1];
    /* Hermite form with tangents (p2 - p0) / 2 and (p3 - p1) / 2 */
    double m1 = (p2 - p0) / 2, m2 = (p3 - p1) / 2, t2 = t * t, t3 = t2 * t;
    return (2 * t3 - 3 * t2 + 1) * p1 + (t3 - 2 * t2 + t) * m1 + (-2 * t3 + 3 * t2) * p2 +
           (t3 - t2) * m2;
}

typedef struct {
    const char *names[2 * NB + 3];
    char buf[2 * NB][16];
    double vals[2 * NB + 3];
    int n;
} params;

static void params_bands(params *p, const double *mid, const double *side) {
    p->n = 0;
    for (int k = 0; k < NB; k++) {
        snprintf(p->buf[2 * k], 16, "band%d.mid", k + 1);
        snprintf(p->buf[2 * k + 1], 16, "band%d.side", k + 1);
        p->names[p->n] = p->buf[2 * k];
        p->vals[p->n++] = mid ? mid[k] : 0;
        p->names[p->n] = p->buf[2 * k + 1];
        p->vals[p->n++] = side ? side[k] : 0;
    }
}

static void params_add(params *p, const char *name, double v) {
    p->names[p->n] = name;
    p->vals[p->n++] = v;
}

/* Gain (dB) of mid (side = 0) or side (side = 1) at freq, steady state. */
static double measure(lathe_proc *p, double rate, double freq, int side) {
    int lat = lathe_proc_latency(p);
    long settle = 2L * lat + 4096 + (long)(20 * rate / freq);
    long meas = (long)fmax(0.1 * rate, 20 * rate / freq);
    long n = settle + meas;
    float **b = lt_alloc(2, n);
    lt_sine(b[0], n, rate, freq, 0.25, 0);
    for (long i = 0; i < n; i++)
        b[1][i] = side ? -b[0][i] : b[0][i];
    lathe_proc_reset(p);
    lathe_proc_process(p, b, NULL, n);
    double a = lt_tone_amp(b[0] + settle, meas, rate, freq, NULL);
    double a1 = lt_tone_amp(b[1] + settle, meas, rate, freq, NULL);
    lt_free(b, 2);
    assert_true(fabs(lt_db(a / a1)) < 0.001); /* L and R alike */
    return lt_db(a / 0.25);
}

static void test_pattern(double *mid, double *side) {
    for (int k = 0; k < NB; k++) {
        /* a tilt, a bump and a dip: -3 dB/oct-ish across, +5 at 2.5 kHz, -6 at 63 Hz */
        mid[k] = 0.9 * (k - 17) / 3.0 + (k == 21 ? 5 : 0) + (k == 5 ? -6 : 0);
        side[k] = mid[k] + (k < 8 ? -6 : 2); /* narrower bass, wider top */
    }
}

static void match_gains_at_centres_and_between_within_0_02_db(void **state) {
    (void)state;
    double mid[NB], side[NB];
    test_pattern(mid, side);
    params p;
    params_bands(&p, mid, side);
    params_add(&p, "max", 24); /* the pattern reaches -15.6 dB (default max 12) */
    const double rate = 48000;
    lathe_proc *m = lt_proc("match", rate, 2, p.names, p.vals, p.n);
    double worst = 0;
    for (int k = 2; k < NB - 1; k++) { /* 31.5 Hz .. 16 kHz */
        for (int half = 0; half < 2; half++) {
            double f = centre(k) * (half ? pow(10.0, 0.05) : 1);
            for (int s = 0; s < 2; s++) {
                double want = half ? curve(s ? side : mid, f) : (s ? side : mid)[k];
                double got = measure(m, rate, f, s);
                double e = fabs(got - want);
                if (e > worst) worst = e;
                if (e > 0.02)
                    fail_msg("%s at %.1f Hz: %.3f dB, want %.3f", s ? "side" : "mid", f, got, want);
            }
        }
    }
    print_message("match, linear phase, 31.5 Hz..16 kHz: worst error %.4f dB\n", worst);
    lathe_proc_free(m);
}

static void match_amount_scales_and_max_limits(void **state) {
    (void)state;
    double mid[NB] = {0}, side[NB] = {0};
    mid[17] = 10;  /* 1 kHz */
    mid[10] = -8;  /* 200 Hz */
    side[24] = 9;  /* 5 kHz */
    const double rate = 44100;
    const double amounts[] = {50, 25};
    for (int a = 0; a < 2; a++) {
        params p;
        params_bands(&p, mid, side);
        params_add(&p, "amount", amounts[a]);
        params_add(&p, "max", 24);
        lathe_proc *m = lt_proc("match", rate, 2, p.names, p.vals, p.n);
        double s = amounts[a] / 100;
        double g1 = measure(m, rate, 1000, 0), g2 = measure(m, rate, centre(10), 0),
               g3 = measure(m, rate, centre(24), 1);
        print_message("amount %g %%: %.3f %.3f %.3f dB\n", amounts[a], g1, g2, g3);
        assert_true(fabs(g1 - 10 * s) < 0.05);
        assert_true(fabs(g2 + 8 * s) < 0.05);
        assert_true(fabs(g3 - 9 * s) < 0.05);
        lathe_proc_free(m);
    }
    params p;
    params_bands(&p, mid, side);
    params_add(&p, "max", 3);
    lathe_proc *m = lt_proc("match", rate, 2, p.names, p.vals, p.n);
    double g1 = measure(m, rate, 1000, 0), g2 = measure(m, rate, centre(10), 0);
    print_message("max 3 dB: %.3f %.3f dB\n", g1, g2);
    assert_true(fabs(g1 - 3) < 0.05);
    assert_true(fabs(g2 + 3) < 0.05);
    lathe_proc_free(m);
}

/* Every gain 0 dB, or amount 0 %: the input delayed by latency(), exactly
 * enough that the difference is below -100 dB of the signal. */
static void match_zero_gains_null_below_minus_100_db(void **state) {
    (void)state;
    double mid[NB], side[NB];
    test_pattern(mid, side);
    for (int c = 0; c < 3; c++) {
        params p;
        params_bands(&p, c ? mid : NULL, c ? side : NULL);
        if (c) params_add(&p, "amount", 0);
        if (c == 2) params_add(&p, "phase", 0); /* minimum */
        const double rate = 48000;
        lathe_proc *m = lt_proc("match", rate, 2, p.names, p.vals, p.n);
        int lat = lathe_proc_latency(m);
        long n = 3 * (long)rate;
        float **in = lt_alloc(2, n), **b = lt_alloc(2, n);
        uint64_t seed = 7;
        lt_noise(in[0], n, 0.5, &seed);
        lt_noise(in[1], n, 0.5, &seed);
        memcpy(b[0], in[0], sizeof(float) * (size_t)n);
        memcpy(b[1], in[1], sizeof(float) * (size_t)n);
        lathe_proc_process(m, b, NULL, n);
        double e = 0, s = 0;
        for (int ch = 0; ch < 2; ch++)
            for (long i = lat; i < n; i++) {
                double d = (double)b[ch][i] - in[ch][i - lat];
                e += d * d;
                s += (double)in[ch][i - lat] * in[ch][i - lat];
            }
        double db = 10 * log10(e / s + 1e-30);
        print_message("null (%s): latency %d, residual %.1f dB\n",
                      c == 0 ? "0 dB" : c == 1 ? "amount 0" : "amount 0, minimum", lat, db);
        assert_true(db < -100);
        lt_free(in, 2);
        lt_free(b, 2);
        lathe_proc_free(m);
    }
}

/* latency() is where a symmetric (linear-phase) impulse response peaks; a
 * minimum-phase one starts at latency() and has most of its energy early. */
static void match_latency_is_impulse_centre(void **state) {
    (void)state;
    double mid[NB], side[NB];
    test_pattern(mid, side);
    const double rates[] = {44100, 96000};
    for (int r = 0; r < 2; r++) {
        for (int ph = 0; ph < 2; ph++) {
            params p;
            params_bands(&p, mid, side);
            params_add(&p, "phase", ph);
            lathe_proc *m = lt_proc("match", rates[r], 2, p.names, p.vals, p.n);
            int lat = lathe_proc_latency(m);
            long n = 3L * lat + 70000;
            float **b = lt_alloc(2, n);
            b[0][100] = b[1][100] = 1;
            lathe_proc_process(m, b, NULL, n);
            long arg = 0;
            double e_all = 0, e_early = 0;
            for (long i = 0; i < n; i++) {
                if (fabs(b[0][i]) > fabs(b[0][arg])) arg = i;
                e_all += (double)b[0][i] * b[0][i];
                if (i >= 100 + lat && i < 100 + lat + (long)(0.005 * rates[r]))
                    e_early += (double)b[0][i] * b[0][i];
            }
            double before = 0;
            for (long i = 0; i < 100 + lat; i++)
                before += (double)b[0][i] * b[0][i];
            print_message("%g Hz %s: latency %d, peak at %ld, energy in first 5 ms %.3f\n",
                          rates[r], ph ? "linear" : "minimum", lat, arg - 100, e_early / e_all);
            if (ph) {
                assert_int_equal(arg - 100, lat);
                /* symmetric */
                for (long k = 1; k < 2000; k++)
                    assert_true(fabs(b[0][arg + k] - b[0][arg - k]) < 1e-6);
            } else {
                assert_true(before < 1e-12 * e_all); /* causal from latency */
                assert_true(e_early > 0.9 * e_all);
            }
            lt_free(b, 2);
            lathe_proc_free(m);
        }
    }
}

static void match_minimum_phase_same_magnitude_within_0_05_db(void **state) {
    (void)state;
    double mid[NB], side[NB];
    test_pattern(mid, side);
    params p;
    params_bands(&p, mid, side);
    params_add(&p, "phase", 0);
    params_add(&p, "max", 24);
    const double rate = 96000;
    lathe_proc *m = lt_proc("match", rate, 2, p.names, p.vals, p.n);
    double worst = 0;
    for (int k = 2; k < NB - 1; k += 2)
        for (int s = 0; s < 2; s++) {
            double got = measure(m, rate, centre(k), s);
            double e = fabs(got - (s ? side : mid)[k]);
            if (e > worst) worst = e;
            if (e > 0.05) fail_msg("minimum phase at %.1f Hz: %.3f dB", centre(k), got);
        }
    print_message("match, minimum phase at 96 kHz: worst error %.4f dB\n", worst);
    lathe_proc_free(m);
}

/* A mono instance runs the mid curve; an odd third channel too. */
static void match_mono_and_odd_channel_take_mid_curve(void **state) {
    (void)state;
    double mid[NB] = {0}, side[NB] = {0};
    mid[17] = 6;
    side[17] = -6;
    params p;
    params_bands(&p, mid, side);
    const lathe_proc_desc *d = lathe_processor_find("match");
    assert_non_null(d);
    lathe_proc *m = lt_proc("match", 48000, 3, p.names, p.vals, p.n);
    long n = 96000;
    float **b = lt_alloc(3, n);
    lt_sine(b[2], n, 48000, 1000, 0.25, 0);
    lathe_proc_process(m, b, NULL, n);
    double g = lt_db(lt_tone_amp(b[2] + 60000, 20000, 48000, 1000, NULL) / 0.25);
    print_message("third channel at 1 kHz: %.3f dB\n", g);
    assert_true(fabs(g - 6) < 0.05);
    assert_true(lt_peak(b[0], n) == 0 && lt_peak(b[1], n) == 0);
    lt_free(b, 3);
    lathe_proc_free(m);
}

/* A gain step while running: redesign and a one-partition crossfade, so
 * the output never steps faster than the louder steady sine does. */
static void match_automation_crossfades_without_click(void **state) {
    (void)state;
    const double rate = 48000, f = 1000;
    params p;
    params_bands(&p, NULL, NULL);
    lathe_proc *m = lt_proc("match", rate, 2, p.names, p.vals, p.n);
    int lat = lathe_proc_latency(m);
    long n = 2L * (long)rate;
    float **b = lt_alloc(2, n);
    lt_sine(b[0], n, rate, f, 0.25, 0);
    memcpy(b[1], b[0], sizeof(float) * (size_t)n);
    long half = n / 2;
    lathe_proc_process(m, b, NULL, half);
    assert_int_equal(lathe_proc_set_by_name(m, "band18.mid", 12, NULL), LATHE_OK);
    float *rest[2] = {b[0] + half, b[1] + half};
    lathe_proc_process(m, rest, NULL, n - half);
    double maxstep = 0;
    for (long i = lat + 1; i < n; i++) {
        double d = fabs(b[0][i] - b[0][i - 1]);
        if (d > maxstep) maxstep = d;
    }
    double a = lt_undb(12) * 0.25, bound = a * 2 * sin(M_PI * f / rate);
    double g = lt_db(lt_tone_amp(b[0] + n - 20000, 20000, rate, f, NULL) / 0.25);
    print_message("step 0 -> 12 dB: largest sample step %.5f (steady %.5f), then %.3f dB\n",
                  maxstep, bound, g);
    assert_true(maxstep < bound * 1.02);
    assert_true(fabs(g - 12) < 0.05);
    lt_free(b, 2);
    lathe_proc_free(m);
}

static void match_reset_returns_to_silence(void **state) {
    (void)state;
    double mid[NB], side[NB];
    test_pattern(mid, side);
    params p;
    params_bands(&p, mid, side);
    lathe_proc *m = lt_proc("match", 44100, 2, p.names, p.vals, p.n);
    long n = 44100;
    float **b = lt_alloc(2, n);
    uint64_t seed = 3;
    lt_noise(b[0], n, 0.5, &seed);
    lt_noise(b[1], n, 0.5, &seed);
    lathe_proc_process(m, b, NULL, n);
    lathe_proc_reset(m);
    memset(b[0], 0, sizeof(float) * (size_t)n);
    memset(b[1], 0, sizeof(float) * (size_t)n);
    lathe_proc_process(m, b, NULL, n);
    assert_true(lt_peak(b[0], n) == 0 && lt_peak(b[1], n) == 0);
    lt_free(b, 2);
    lathe_proc_free(m);
}

static void match_recovers_from_nan_and_block_sizes_agree(void **state) {
    (void)state;
    const char *names[] = {"band18.mid", "band5.side", "band25.mid"};
    const double vals[] = {4, -6, -3};
    lt_check_recovers_from_nan("match", 48000, 700, names, vals, 3);
    long n = 20000;
    float **in = lt_alloc(2, n);
    uint64_t seed = 11;
    lt_noise(in[0], n, 0.5, &seed);
    lt_noise(in[1], n, 0.5, &seed);
    lt_check_block_sizes("match", 44100, names, vals, 3, in, n);
    lt_free(in, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(match_gains_at_centres_and_between_within_0_02_db),
        cmocka_unit_test(match_amount_scales_and_max_limits),
        cmocka_unit_test(match_zero_gains_null_below_minus_100_db),
        cmocka_unit_test(match_latency_is_impulse_centre),
        cmocka_unit_test(match_minimum_phase_same_magnitude_within_0_05_db),
        cmocka_unit_test(match_mono_and_odd_channel_take_mid_curve),
        cmocka_unit_test(match_automation_crossfades_without_click),
        cmocka_unit_test(match_reset_returns_to_silence),
        cmocka_unit_test(match_recovers_from_nan_and_block_sizes_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
