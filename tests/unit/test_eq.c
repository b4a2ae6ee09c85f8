/* SPDX-License-Identifier: GPL-3.0-or-later */
/* eq: magnitudes measured by running sines through the processor, compared
 * with the analog prototypes (closed forms in dsp/biquad.c) and the RBJ
 * definitions; slopes, crossover sums, automation, reset, denormals. */
#include "lathe_test.h"

#include <math.h>
#include <string.h>

#include "dsp/biquad.h"

#define GOLDEN_MINPHASE_HASH 0x34304d4588ebca79ull

static const lathe_proc_desc *eq(void) {
    const lathe_proc_desc *d = lathe_processor_find("eq");
    assert_non_null(d);
    return d;
}

/* Gain (dB) of band 1 set to `type` at `freq` measured with a sine. */
static double band_gain(double rate, double type, double f0, double gain, double q, double slope,
                        double shape, double freq) {
    const char *names[] = {"band1.type", "band1.freq",  "band1.gain",
                           "band1.q",    "band1.slope", "band1.shape"};
    double vals[] = {type, f0, gain, q, slope, shape};
    return lt_proc_gain_db(eq(), rate, names, vals, 6, freq, 0.5);
}

enum { OFF, BELL, LOWSHELF, HIGHSHELF, HIGHPASS, LOWPASS, NOTCH, BANDPASS, TILT };

static void eq_bell_gain_at_f0_within_0_01_db(void **state) {
    (void)state;
    const double rates[] = {44100, 48000};
    const double f0s[] = {50, 1000, 10000, 16000};
    const double gains[] = {-12, 6, 15};
    double worst = 0;
    for (int r = 0; r < 2; r++)
        for (int f = 0; f < 4; f++)
            for (int g = 0; g < 3; g++) {
                double q = g == 1 ? 4.0 : 1.0;
                double m = band_gain(rates[r], BELL, f0s[f], gains[g], q, 12, 0, f0s[f]);
                double e = fabs(m - gains[g]);
                if (e > worst) worst = e;
                if (e > 0.01)
                    fail_msg("bell %g Hz %+g dB at %g: measured %.4f dB", f0s[f], gains[g],
                             rates[r], m);
            }
    print_message("bell at f0: worst error %.5f dB\n", worst);
}

static void eq_shelf_gain_at_f0_is_half_within_0_01_db(void **state) {
    (void)state;
    const double rates[] = {44100, 48000};
    const double f0s[] = {80, 1000, 10000, 15000};
    const double gains[] = {-9, 12};
    double worst = 0;
    for (int r = 0; r < 2; r++)
        for (int t = LOWSHELF; t <= HIGHSHELF; t++)
            for (int f = 0; f < 4; f++)
                for (int g = 0; g < 2; g++) {
                    double m = band_gain(rates[r], t, f0s[f], gains[g], 0.7071, 12, 0, f0s[f]);
                    double e = fabs(m - gains[g] / 2);
                    if (e > worst) worst = e;
                    if (e > 0.01)
                        fail_msg("%s %g Hz %+g dB at %g: %.4f dB at f0, want %.4f",
                                 t == LOWSHELF ? "lowshelf" : "highshelf", f0s[f], gains[g],
                                 rates[r], m, gains[g] / 2);
                }
    print_message("shelves at f0: worst error %.5f dB from gain/2\n", worst);
    /* far from f0 the shelf reaches the full gain */
    assert_true(fabs(band_gain(48000, LOWSHELF, 1000, 12, 0.7071, 12, 0, 30) - 12) < 0.05);
    assert_true(fabs(band_gain(48000, HIGHSHELF, 200, -9, 0.7071, 12, 0, 12000) + 9) < 0.05);
}

/* Butterworth shelf of order n (Holters & Zoelzer 2006), dB at f. */
static double bw_shelf_db(int high, int n, double f0, double g, double f) {
    double G = pow(10.0, g / 20.0), x = high ? f / f0 : f0 / f;
    double wz = pow(G, -0.5 / n), wp = pow(G, 0.5 / n);
    return 10 * log10((1 + pow(x / wz, 2 * n)) / (1 + pow(x / wp, 2 * n)));
}

static void eq_butterworth_shelves_follow_their_prototype(void **state) {
    (void)state;
    const double rate = 48000, f0 = 500;
    const int slopes[] = {6, 18, 24, 36, 48};
    const double gains[] = {12, -9};
    const double freqs[] = {40, 200, 400, 500, 700, 1500, 6000};
    double worst = 0;
    for (int t = LOWSHELF; t <= HIGHSHELF; t++)
        for (int i = 0; i < 5; i++)
            for (int k = 0; k < 2; k++)
                for (int j = 0; j < 7; j++) {
                    double m = band_gain(rate, t, f0, gains[k], 0.7071, slopes[i], 0, freqs[j]);
                    double want =
                        bw_shelf_db(t == HIGHSHELF, slopes[i] / 6, f0, gains[k], freqs[j]);
                    double tol = freqs[j] == f0 ? 0.01 : 0.05;
                    worst = fmax(worst, fabs(m - want));
                    if (fabs(m - want) > tol)
                        fail_msg("shelf %d slope %d gain %g at %g Hz: %.4f, want %.4f", t,
                                 slopes[i], gains[k], freqs[j], m, want);
                }
    print_message("Butterworth shelves: worst error %.4f dB\n", worst);
    /* steeper: an octave above a 12 dB low shelf, 48 dB/oct has almost let go */
    double s12 = band_gain(rate, LOWSHELF, f0, 12, 0.7071, 12, 0, 2 * f0);
    double s48 = band_gain(rate, LOWSHELF, f0, 12, 0.7071, 48, 0, 2 * f0);
    print_message("low shelf +12 dB at 2 f0: slope 12 %.2f dB, slope 48 %.2f dB\n", s12, s48);
    assert_true(s12 > 0.5 && s48 < 0.05);
}

static void eq_bell_10k_matches_analog_at_18k_where_bilinear_cannot(void **state) {
    (void)state;
    const double rate = 44100, f0 = 10000, q = 1, g = 6, f = 18000;
    double analog = lathe_bq_analog_mag_db(LATHE_BQ_BELL, f0, q, g, f);
    double m = band_gain(rate, BELL, f0, g, q, 12, 0, f);
    print_message("10 kHz +6 dB bell at 18 kHz: analog %.3f dB, eq %.3f dB\n", analog, m);
    assert_true(fabs(m - analog) < 0.5);
    /* Plain bilinear (RBJ cookbook, warped at f0): the same bell is cramped to
     * ~0.45 dB at 18 kHz, almost 2 dB off the prototype: it would fail. */
    lathe_bq bl;
    lathe_bq_design_bilinear(&bl, LATHE_BQ_BELL, rate, f0, q, g);
    double b = lathe_bq_mag_db(&bl, rate, f);
    print_message("bilinear would give %.3f dB\n", b);
    assert_true(fabs(b - analog) > 0.5);
    /* and the whole audio band stays close: 20 Hz .. 20 kHz within 0.5 dB */
    for (double x = 1000; x <= 20000; x += 1000)
        assert_true(fabs(band_gain(rate, BELL, f0, g, q, 12, 0, x) -
                         lathe_bq_analog_mag_db(LATHE_BQ_BELL, f0, q, g, x)) < 0.5);
}

/* Stop-band octave pairs where the Butterworth asymptote holds to < 0.1 dB:
 * deep enough that (f/fc)^(2n) is negligible. */
static double octave_ratio_for(int order) {
    return order == 1 ? 8 : order <= 3 ? 4 : 2;
}

static void eq_pass_slopes_within_0_5_db_per_oct(void **state) {
    (void)state;
    const double rate = 48000;
    const int slopes[] = {6, 12, 18, 24, 36, 48};
    double worst = 0;
    for (int shape = 0; shape < 2; shape++)
        for (int i = 0; i < 6; i++) {
            int n = slopes[i] / 6;
            if (shape == 1 && (n & 1)) continue; /* LR needs an even order */
            /* LR of order n = Butterworth n/2 squared: its asymptote sets in later */
            double r = octave_ratio_for(shape ? n / 2 : n);
            double fc = 2000, f1 = fc / r, f2 = fc / (2 * r);
            double hp = band_gain(rate, HIGHPASS, fc, 0, 0.7071, slopes[i], shape, f1) -
                        band_gain(rate, HIGHPASS, fc, 0, 0.7071, slopes[i], shape, f2);
            /* LR passes are bilinear (exact all-pass sum), so a LR low-pass steepens
             * toward Nyquist: its asymptote is measured below 4 kHz (fc 250 Hz). */
            double lc = shape ? 250 : 500, g1 = lc * r, g2 = lc * 2 * r;
            double lp = band_gain(rate, LOWPASS, lc, 0, 0.7071, slopes[i], shape, g1) -
                        band_gain(rate, LOWPASS, lc, 0, 0.7071, slopes[i], shape, g2);
            print_message("%s %d dB/oct: highpass %.3f, lowpass %.3f dB/oct\n", shape ? "LR" : "BW",
                          slopes[i], hp, lp);
            if (fabs(hp - slopes[i]) > worst) worst = fabs(hp - slopes[i]);
            if (fabs(lp - slopes[i]) > worst) worst = fabs(lp - slopes[i]);
            assert_true(fabs(hp - slopes[i]) < 0.5);
            assert_true(fabs(lp - slopes[i]) < 0.5);
        }
    print_message("slopes: worst error %.3f dB/oct\n", worst);
    /* corner levels: Butterworth -3.01 dB, Linkwitz-Riley -6.02 dB */
    assert_true(fabs(band_gain(rate, HIGHPASS, 1000, 0, 1, 24, 0, 1000) + 3.0103) < 0.01);
    assert_true(fabs(band_gain(rate, LOWPASS, 1000, 0, 1, 48, 0, 1000) + 3.0103) < 0.01);
    assert_true(fabs(band_gain(rate, HIGHPASS, 1000, 0, 1, 24, 1, 1000) + 6.0206) < 0.01);
    assert_true(fabs(band_gain(rate, LOWPASS, 1000, 0, 1, 36, 1, 1000) + 6.0206) < 0.01);
}

static void eq_lr24_crossover_sums_flat_within_0_01_db(void **state) {
    (void)state;
    const double rate = 48000, fc = 1200;
    const char *names[] = {"band1.type", "band1.freq", "band1.slope", "band1.shape"};
    double lpv[] = {LOWPASS, fc, 24, 1}, hpv[] = {HIGHPASS, fc, 24, 1};
    const double freqs[] = {30, 200, 600, 1000, 1200, 1500, 3000, 8000, 15000, 20000};
    double worst = 0;
    for (int k = 0; k < 10; k++) {
        lathe_proc *lp = lt_proc("eq", rate, 1, names, lpv, 4);
        lathe_proc *hp = lt_proc("eq", rate, 1, names, hpv, 4);
        long n = (long)rate;
        float **a = lt_alloc(1, n), **b = lt_alloc(1, n);
        lt_sine(a[0], n, rate, freqs[k], 0.5, 0);
        memcpy(b[0], a[0], n * sizeof(float));
        lathe_proc_process(lp, a, NULL, n);
        lathe_proc_process(hp, b, NULL, n);
        for (long i = 0; i < n; i++)
            a[0][i] += b[0][i];
        long skip = n / 2;
        double db = lt_db(lt_tone_amp(a[0] + skip, n - skip, rate, freqs[k], NULL) / 0.5);
        if (fabs(db) > worst) worst = fabs(db);
        assert_true(fabs(db) < 0.01);
        lt_free(a, 1);
        lt_free(b, 1);
        lathe_proc_free(lp);
        lathe_proc_free(hp);
    }
    print_message("LR24 LP+HP sum: worst deviation %.6f dB\n", worst);
}

static void eq_notch_bandpass_tilt_follow_prototypes(void **state) {
    (void)state;
    const double rate = 48000;
    /* notch: deep at f0, flat far away */
    assert_true(band_gain(rate, NOTCH, 3000, 0, 2, 12, 0, 3000) < -60);
    assert_true(fabs(band_gain(rate, NOTCH, 3000, 0, 2, 12, 0, 100)) < 0.01);
    /* band-pass: 0 dB at f0, prototype elsewhere */
    assert_true(fabs(band_gain(rate, BANDPASS, 12000, 0, 2, 12, 0, 12000)) < 0.01);
    assert_true(fabs(band_gain(rate, BANDPASS, 1000, 0, 2, 12, 0, 250) -
                     lathe_bq_analog_mag_db(LATHE_BQ_BANDPASS, 1000, 2, 0, 250)) < 0.05);
    /* tilt: 0 dB at the pivot, -g/2 .. +g/2 at the ends, first-order prototype between */
    const double f[] = {20, 200, 800, 5000, 16000};
    for (int i = 0; i < 5; i++) {
        double want = lathe_bq_analog_mag_db(LATHE_BQ_TILT, 800, 1, 6, f[i]);
        double m = band_gain(rate, TILT, 800, 6, 1, 12, 0, f[i]);
        assert_true(fabs(m - want) < 0.1);
        double m2 = band_gain(rate, TILT, 800, -6, 1, 12, 0, f[i]);
        assert_true(fabs(m2 + want) < 0.1);
    }
    assert_true(fabs(band_gain(rate, TILT, 800, 6, 1, 12, 0, 800)) < 0.01);
    assert_true(fabs(band_gain(rate, TILT, 800, 6, 1, 12, 0, 20) + 3) < 0.1);
}

static void eq_output_gain_and_bands_off_are_exact(void **state) {
    (void)state;
    const double rate = 48000;
    long n = 4800;
    float **b = lt_alloc(2, n), **ref = lt_alloc(2, n);
    uint64_t seed = 7;
    lt_noise(ref[0], n, 0.9, &seed);
    lt_noise(ref[1], n, 0.9, &seed);
    memcpy(b[0], ref[0], n * sizeof(float));
    memcpy(b[1], ref[1], n * sizeof(float));
    lathe_proc *p = lt_proc("eq", rate, 2, NULL, NULL, 0);
    lathe_proc_process(p, b, NULL, n);
    for (long i = 0; i < n; i++) {
        assert_true(b[0][i] == ref[0][i]);
        assert_true(b[1][i] == ref[1][i]);
    }
    lathe_proc_free(p);
    const char *names[] = {"output"};
    double v[] = {-7.5};
    double m = lt_proc_gain_db(eq(), rate, names, v, 1, 1000, 0.5);
    assert_true(fabs(m + 7.5) < 1e-4);
    lt_free(b, 2);
    lt_free(ref, 2);
}

/* Max |y[i] - y[i-1]| over the range. */
static double max_jump(const float *y, long n) {
    double m = 0;
    for (long i = 1; i < n; i++)
        if (fabs((double)y[i] - y[i - 1]) > m) m = fabs((double)y[i] - y[i - 1]);
    return m;
}

static void eq_automation_sweeps_without_clicks_or_blowup(void **state) {
    (void)state;
    const double rate = 48000, f = 500, amp = 0.25;
    const char *names[] = {"band1.type", "band1.freq", "band1.gain", "band1.q"};
    double v[] = {BELL, 100, 12, 4};
    lathe_proc *p = lt_proc("eq", rate, 1, names, v, 4);
    int ifreq = lathe_proc_param_index(eq(), "band1.freq");
    int igain = lathe_proc_param_index(eq(), "band1.gain");
    long n = (long)(0.6 * rate);
    float **b = lt_alloc(1, n);
    lt_sine(b[0], n, rate, f, amp, 0);
    /* a fast log sweep 100 Hz -> 15 kHz -> 100 Hz in 0.4 s, gain swung
     * +12 -> -12 dB, set every 64 samples, then hard jumps */
    for (long off = 0; off < n; off += 64) {
        double t = (double)off / n;
        if (t < 0.66) {
            double u = t / 0.66, tri = u < 0.5 ? 2 * u : 2 - 2 * u;
            lathe_proc_set(p, ifreq, 100 * pow(150, tri));
            lathe_proc_set(p, igain, 12 - 24 * u);
        } else {
            lathe_proc_set(p, ifreq, (off / 1024) & 1 ? 20 : 20000);
            lathe_proc_set(p, igain, (off / 2048) & 1 ? 24 : -24);
        }
        float *io[1] = {b[0] + off};
        lathe_proc_process(p, io, NULL, n - off < 64 ? n - off : 64);
    }
    for (long i = 0; i < n; i++)
        assert_true(isfinite(b[0][i]));
    double peak = lt_peak(b[0], n), jump = max_jump(b[0], n);
    /* a 500 Hz sine at most +24 dB (x ~16) moves by at most 2 pi f/rate * peak per
     * sample; a click would be a jump of the order of the peak itself */
    double bound = 1.5 * 2 * M_PI * f / rate * peak;
    print_message("sweep: peak %.3f, max jump %.4f (bound %.4f)\n", peak, jump, bound);
    assert_true(peak < amp * 16 * 1.5);
    assert_true(jump < bound);
    lathe_proc_free(p);

    /* A +24 dB gain step on a 100 Hz bell: smoothed, so no step larger than a
     * sine of the final level moves by anyway. */
    double v2[] = {BELL, 1000, 0, 1};
    p = lt_proc("eq", rate, 1, names, v2, 4);
    n = (long)(0.3 * rate);
    b[0] = b[0]; /* reuse */
    lt_sine(b[0], n, rate, 1000, amp, 0);
    float *io[1] = {b[0]};
    lathe_proc_process(p, io, NULL, 4800);
    lathe_proc_set(p, igain, 24);
    io[0] = b[0] + 4800;
    lathe_proc_process(p, io, NULL, n - 4800);
    jump = max_jump(b[0], n);
    bound = 1.05 * 2 * M_PI * 1000 / rate * amp * 15.85;
    print_message("gain step: max jump %.4f (bound %.4f)\n", jump, bound);
    assert_true(jump < bound);
    lathe_proc_free(p);
    lt_free(b, 1);
}

static void eq_reset_returns_to_silence_and_denormals_stay_finite(void **state) {
    (void)state;
    const double rate = 44100;
    const char *names[] = {"band1.type",  "band1.freq", "band1.gain", "band2.type", "band2.freq",
                           "band2.slope", "band3.type", "band3.freq", "band3.gain"};
    double v[] = {BELL, 60, 12, HIGHPASS, 20, 48, HIGHSHELF, 8000, -6};
    lathe_proc *p = lt_proc("eq", rate, 2, names, v, 9);
    long n = (long)rate;
    float **b = lt_alloc(2, n);
    uint64_t seed = 3;
    lt_noise(b[0], n, 1.0, &seed);
    lt_noise(b[1], n, 1.0, &seed);
    lathe_proc_process(p, b, NULL, n);
    lathe_proc_reset(p);
    memset(b[0], 0, n * sizeof(float));
    memset(b[1], 0, n * sizeof(float));
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) == 0 && lt_peak(b[1], n) == 0);

    /* denormal-level input (and smallest normals) in, finite out */
    for (long i = 0; i < n; i++)
        b[0][i] = b[1][i] = (i & 1 ? 1e-40f : -1e-39f) * (float)(i % 7);
    lathe_proc_process(p, b, NULL, n);
    for (long i = 0; i < n; i++)
        assert_true(isfinite(b[0][i]) && isfinite(b[1][i]));

    /* after loud noise, silence decays to exact zero (no ever-decaying state) */
    lt_noise(b[0], n, 1.0, &seed);
    lt_noise(b[1], n, 1.0, &seed);
    lathe_proc_process(p, b, NULL, n);
    for (int k = 0; k < 6; k++) {
        memset(b[0], 0, n * sizeof(float));
        memset(b[1], 0, n * sizeof(float));
        lathe_proc_process(p, b, NULL, n);
    }
    assert_true(lt_peak(b[0] + n / 2, n / 2) == 0);
    lt_free(b, 2);
    lathe_proc_free(p);
}

static void eq_output_independent_of_block_size(void **state) {
    (void)state;
    const char *names[] = {"band1.type", "band1.freq",  "band1.gain", "band2.type",
                           "band2.freq", "band2.slope", "band3.type", "band3.gain"};
    double v[] = {BELL, 3000, -4, HIGHPASS, 40, 36, TILT, 2};
    long n = 20000;
    float **a = lt_alloc(2, n), **b = lt_alloc(2, n);
    uint64_t seed = 99;
    lt_noise(a[0], n, 0.7, &seed);
    lt_noise(a[1], n, 0.7, &seed);
    memcpy(b[0], a[0], n * sizeof(float));
    memcpy(b[1], a[1], n * sizeof(float));
    lathe_proc *p = lt_proc("eq", 48000, 2, names, v, 8);
    lathe_proc *q = lt_proc("eq", 48000, 2, names, v, 8);
    lathe_proc_process(p, a, NULL, n);
    for (long off = 0, k = 1; off < n; off += k, k = k * 7 % 61 + 1) {
        long m = n - off < k ? n - off : k;
        float *io[2] = {b[0] + off, b[1] + off};
        lathe_proc_process(q, io, NULL, m);
    }
    for (long i = 0; i < n; i++)
        assert_true(a[0][i] == b[0][i] && a[1][i] == b[1][i]);
    lathe_proc_free(p);
    lathe_proc_free(q);
    lt_free(a, 2);
    lt_free(b, 2);
}

/* FNV-1a over the bits of the output. */
static uint64_t hash_floats(float *const *b, int ch, long n) {
    uint64_t h = 1469598103934665603ull;
    for (int c = 0; c < ch; c++)
        for (long i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &b[c][i], sizeof u);
            for (int k = 0; k < 4; k++) {
                h ^= (u >> (8 * k)) & 0xff;
                h *= 1099511628211ull;
            }
        }
    return h;
}

/* The minimum-phase (default) path is bit-identical to the IIR cascade as it
 * was before the linear-phase mode was added: a 5-band stereo curve on noise,
 * static and then automated (freq, gain, output), hashed.  The hash was taken
 * from the code of commit 2b92ca2 (before phase/fir_length existed); any
 * change of operations or their order in the cascade changes it. */
static void eq_minimum_phase_bit_identical_to_the_cascade_before_linear_mode(void **state) {
    (void)state;
    const char *names[] = {"band1.type", "band1.freq", "band1.slope", "band2.type",
                           "band2.freq", "band2.gain", "band3.type",  "band3.freq",
                           "band3.gain", "band3.q",    "band4.type",  "band4.freq",
                           "band4.gain", "band5.type", "band5.freq",  "band5.gain"};
    double v[] = {HIGHPASS, 25,  24,        LOWSHELF, 110, 2.5,  BELL, 2400,
                  -2,       1.2, HIGHSHELF, 9000,     1.5, TILT, 900,  1};
    long n = 48000;
    float **b = lt_alloc(2, n);
    uint64_t seed = 12345;
    lt_noise(b[0], n, 0.8, &seed);
    lt_noise(b[1], n, 0.8, &seed);
    lathe_proc *p = lt_proc("eq", 48000, 2, names, v, 16);
    int ifreq = lathe_proc_param_index(eq(), "band3.freq");
    int igain = lathe_proc_param_index(eq(), "band2.gain");
    int iout = lathe_proc_param_index(eq(), "output");
    for (long off = 0; off < n; off += 480) {
        if (off == 24000) lathe_proc_set(p, ifreq, 3100);
        if (off == 28800) lathe_proc_set(p, igain, -4);
        if (off == 33600) lathe_proc_set(p, iout, -1.5);
        float *io[2] = {b[0] + off, b[1] + off};
        lathe_proc_process(p, io, NULL, 480);
    }
    uint64_t h = hash_floats(b, 2, n);
    print_message("minimum-phase output hash %016llx\n", (unsigned long long)h);
    assert_true(h == GOLDEN_MINPHASE_HASH);
    lathe_proc_free(p);
    lt_free(b, 2);
}

/* A single section (the master's 20 Hz high-pass, one bell, one shelf) runs
 * in the static path's state-space form; it must give what the section's
 * SVF gives sample by sample (lathe_svf_tick in double, designed here as eq
 * designs it), up to double rounding: at most one float ulp anywhere, and
 * on few samples.  1, 2 and 3 channels (the pair path and the lone lane). */
static void eq_single_section_equals_its_svf_within_double_rounding(void **state) {
    (void)state;
    const double rate = 44100;
    const struct {
        int type;
        double f0, gain, q;
        lathe_bq_type bq;
    } cases[] = {{HIGHPASS, 20, 0, 0.7071067811865476, LATHE_BQ_HIGHPASS},
                 {BELL, 1000, 6, 1.3, LATHE_BQ_BELL},
                 {LOWSHELF, 120, -4, 0.7, LATHE_BQ_LOWSHELF}};
    const long n = 60000;
    for (int k = 0; k < 3; k++)
        for (int ch = 1; ch <= 3; ch++) {
            const char *names[] = {"band4.type", "band4.freq", "band4.gain", "band4.q",
                                   "band4.slope"};
            double v[] = {cases[k].type, cases[k].f0, cases[k].gain, cases[k].q, 12};
            /* the reference: eq's design (frequency through log2, q through log) */
            lathe_bq c;
            double q = k == 0 ? 1.0 / (2.0 * sin(M_PI / 4)) : exp(log(cases[k].q));
            lathe_bq_design(&c, cases[k].bq, rate, exp2(log2(cases[k].f0)), q, cases[k].gain);
            lathe_svf f;
            lathe_svf_from_bq(&f, &c);
            const double a1 = 1.0 / (1.0 + f.g * (f.g + f.k)), a2 = f.g * a1, a3 = f.g * a2;
            float **b = lt_alloc(ch, n), **x = lt_alloc(ch, n);
            uint64_t seed = 7 + (uint64_t)k;
            for (int i = 0; i < ch; i++) {
                lt_noise(b[i], n, 0.5, &seed);
                memcpy(x[i], b[i], sizeof(float) * (size_t)n);
            }
            lathe_proc *p = lt_proc("eq", rate, ch, names, v, 5);
            lathe_proc_process(p, b, NULL, n);
            long differ = 0;
            for (int i = 0; i < ch; i++) {
                lathe_svf_state z = {0, 0};
                for (long j = 0; j < n; j++) {
                    const float r =
                        (float)lathe_svf_tick(a1, a2, a3, f.m0, f.m1, f.m2, &z, x[i][j]);
                    if (b[i][j] == r) continue;
                    differ++;
                    const float ulp = nextafterf(fabsf(r), INFINITY) - fabsf(r);
                    if (fabsf(b[i][j] - r) > ulp)
                        fail_msg("case %d, %d ch, channel %d, sample %ld: %.9g, SVF %.9g", k, ch,
                                 i, j, b[i][j], r);
                }
            }
            print_message("single section %d, %d ch: %ld of %ld samples differ by one ulp\n", k,
                          ch, differ, n * ch);
            assert_true(differ <= n * ch / 1000);
            lt_free(x, ch);
            lt_free(b, ch);
            lathe_proc_free(p);
        }
}

/* ---- linear phase ---- */

/* A linear-phase eq: names/values plus phase = linear (and fir_length when > 0). */
static lathe_proc *lin_proc(double rate, int ch, const char *const *names, const double *vals,
                            int n, double fir_length) {
    const char *nn[40];
    double vv[40];
    for (int i = 0; i < n; i++)
        nn[i] = names[i], vv[i] = vals[i];
    nn[n] = "phase", vv[n++] = 1;
    if (fir_length > 0) nn[n] = "fir_length", vv[n++] = fir_length;
    return lt_proc("eq", rate, ch, nn, vv, n);
}

/* Impulse response of p (mono), n frames, in double. */
static double *impulse_response(lathe_proc *p, long n) {
    float **b = lt_alloc(1, n);
    b[0][0] = 1;
    lathe_proc_process(p, b, NULL, n);
    double *h = test_malloc(sizeof(double) * (size_t)n);
    for (long i = 0; i < n; i++)
        h[i] = b[0][i];
    lt_free(b, 1);
    return h;
}

/* |DTFT of h| at f, dB (a phasor recurrence, renormalised every 1024 steps). */
static double dtft_db(const double *h, long n, double rate, double f) {
    double w = 2 * M_PI * f / rate, cr = cos(w), ci = -sin(w), zr = 1, zi = 0, re = 0, im = 0;
    for (long i = 0; i < n; i++) {
        re += h[i] * zr, im += h[i] * zi;
        double t = zr * cr - zi * ci;
        zi = zr * ci + zi * cr, zr = t;
        if ((i & 1023) == 1023) zr = cos(w * (i + 1)), zi = -sin(w * (i + 1));
    }
    return 10 * log10(re * re + im * im);
}

/* Worst |linear - minimum| (dB) from lo to hi Hz, 1/48 octave, from the two
 * measured impulse responses. */
static double linear_vs_minimum(double rate, const char *const *names, const double *vals, int n,
                                double fir_length, double lo, double hi, double *at) {
    lathe_proc *mp = lt_proc("eq", rate, 1, names, vals, n);
    lathe_proc *lp = lin_proc(rate, 1, names, vals, n, fir_length);
    long nm = (long)(3 * rate), nl = 2 * lathe_proc_latency(lp) + 1;
    double *hm = impulse_response(mp, nm), *hl = impulse_response(lp, nl);
    double worst = 0;
    for (double f = lo; f <= hi * 1.0001; f *= pow(2, 1.0 / 48)) {
        double e = fabs(dtft_db(hl, nl, rate, f) - dtft_db(hm, nm, rate, f));
        if (e > worst) worst = e, *at = f;
    }
    test_free(hm);
    test_free(hl);
    lathe_proc_free(mp);
    lathe_proc_free(lp);
    return worst;
}

static const char *const master_names[] = {
    "band1.type", "band1.freq", "band1.slope", "band2.type", "band2.freq", "band2.gain",
    "band3.type", "band3.freq", "band3.gain",  "band3.q",    "band4.type", "band4.freq",
    "band4.gain", "band4.q",    "band5.type",  "band5.freq", "band5.gain", "band6.type",
    "band6.freq", "band6.gain", "output"};
static const double master_vals[] = {HIGHPASS,  20,    24,  LOWSHELF, 90,   2.5, BELL,
                                     320,       -2,    1.2, BELL,     3200, 1.5, 0.9,
                                     HIGHSHELF, 11000, 2,   TILT,     1000, 1,   -0.5};
#define MASTER_N 21

static void eq_linear_matches_minimum_phase_within_0_1_db_30_hz_to_20_khz(void **state) {
    (void)state;
    const double rates[] = {44100, 48000};
    for (int r = 0; r < 2; r++) {
        double at = 0;
        double e =
            linear_vs_minimum(rates[r], master_names, master_vals, MASTER_N, 0, 30, 20000, &at);
        print_message("mastering curve at %g Hz: linear vs minimum phase worst %.4f dB (at %.1f "
                      "Hz)\n",
                      rates[r], e, at);
        assert_true(e < 0.1);
    }
}

static void eq_linear_default_length_keeps_a_30_hz_bell_within_0_1_db(void **state) {
    (void)state;
    const char *names[] = {"band1.type", "band1.freq", "band1.gain", "band1.q"};
    const double gains[] = {6, -6, 12, 6}, qs[] = {1, 1, 1, 3};
    for (int g = 0; g < 4; g++) {
        double v[] = {BELL, 30, gains[g], qs[g]}, at = 0;
        double e = linear_vs_minimum(48000, names, v, 4, 0, 10, 20000, &at);
        print_message("30 Hz bell %+g dB Q %g, 48 kHz: worst %.4f dB (at %.1f Hz)\n", gains[g],
                      qs[g], e, at);
        assert_true(e < 0.1);
    }
    /* a quarter of the default length cannot: the resolution is what sets it */
    double v[] = {BELL, 30, 12, 1.0}, at = 0;
    double e = linear_vs_minimum(48000, names, v, 4, 8193, 10, 20000, &at);
    print_message("with fir_length 8193: worst %.4f dB (at %.1f Hz)\n", e, at);
    assert_true(e > 0.1);
}

static void eq_linear_impulse_symmetric_about_latency_with_peak_there(void **state) {
    (void)state;
    const double rates[] = {44100, 48000};
    for (int r = 0; r < 2; r++) {
        lathe_proc *p = lin_proc(rates[r], 1, master_names, master_vals, MASTER_N, 0);
        long L = lathe_proc_latency(p), n = 2 * L + 4000;
        double *h = impulse_response(p, n);
        long imax = 0;
        for (long i = 1; i < n; i++)
            if (fabs(h[i]) > fabs(h[imax])) imax = i;
        double asym = 0, beyond = 0;
        for (long k = 1; k <= L; k++)
            asym = fmax(asym, fabs(h[L - k] - h[L + k]));
        for (long i = 2 * L + 1; i < n; i++)
            beyond = fmax(beyond, fabs(h[i]));
        print_message("%g Hz: latency %ld (%.1f ms), peak at %ld (%.4f), max |h[L-k]-h[L+k]| "
                      "%.3g (%.1f dB re peak), beyond 2L %.3g\n",
                      rates[r], L, 1000.0 * L / rates[r], imax, h[imax], asym,
                      lt_db(asym / fabs(h[imax])), beyond);
        assert_true(imax == L);
        assert_true(asym < 1e-6 * fabs(h[imax]));
        assert_true(beyond < 1e-7 * fabs(h[imax])); /* FFT round-off only */
        /* the same latency in time at both rates (the length scales with the rate) */
        assert_true(fabs(L / rates[r] - 16384 / 48000.0) < 2 / rates[r]);
        test_free(h);
        lathe_proc_free(p);
    }
}

/* Max |y[i] - x[i - L]| over the peak of x, dB; stereo noise. */
static double delay_error_db(lathe_proc *p, long n, long *lat) {
    float **x = lt_alloc(2, n), **y = lt_alloc(2, n);
    uint64_t seed = 42;
    lt_noise(x[0], n, 0.9, &seed);
    lt_noise(x[1], n, 0.9, &seed);
    for (int c = 0; c < 2; c++)
        memcpy(y[c], x[c], (size_t)n * sizeof(float));
    lathe_proc_process(p, y, NULL, n);
    long L = lathe_proc_latency(p);
    double err = 0, peak = lt_peak(x[0], n);
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++)
            err = fmax(err, fabs(y[c][i] - (i >= L ? x[c][i - L] : 0.0)));
    lt_free(x, 2);
    lt_free(y, 2);
    *lat = L;
    return lt_db(err / peak);
}

static void eq_linear_flat_is_a_pure_delay_within_minus_100_db(void **state) {
    (void)state;
    long L;
    lathe_proc *p = lin_proc(48000, 2, NULL, NULL, 0, 0);
    double e = delay_error_db(p, 100000, &L);
    print_message("all bands off: output - input delayed by %ld: %.1f dB\n", L, e);
    assert_true(L > 0 && e < -100);
    lathe_proc_free(p);
    /* bands that are flat by their settings: a 0 dB bell, shelf and tilt */
    const char *names[] = {"band1.type", "band1.gain", "band2.type",
                           "band2.gain", "band3.type", "band3.gain"};
    double v[] = {BELL, 0, LOWSHELF, 0, TILT, 0};
    p = lin_proc(44100, 2, names, v, 6, 8193);
    e = delay_error_db(p, 100000, &L);
    print_message("0 dB bell, shelf, tilt at 44.1 kHz, fir_length 8193: %.1f dB (latency %ld)\n", e,
                  L);
    assert_true(e < -100);
    lathe_proc_free(p);
}

/* Tone amplitude (dB re amp) in y[from, from + len). */
static double tone_db(const float *y, long from, long len, double rate, double f, double amp) {
    return lt_db(lt_tone_amp(y + from, len, rate, f, NULL) / amp);
}

static void eq_linear_change_crossfades_without_click_and_converges(void **state) {
    (void)state;
    const double rate = 48000, f = 1000, amp = 0.25;
    const char *names[] = {"band1.type", "band1.freq", "band1.gain", "band1.q"};
    double v[] = {BELL, 1000, 0, 1}, v2[] = {BELL, 1000, 12, 1};
    lathe_proc *p = lin_proc(rate, 1, names, v, 4, 0);
    lathe_proc *q = lin_proc(rate, 1, names, v2, 4, 0); /* the target, from the start */
    long L = lathe_proc_latency(p), n = 2 * L + 48000, t0 = 2 * L + 1000;
    float **a = lt_alloc(1, n), **b = lt_alloc(1, n);
    lt_sine(a[0], n, rate, f, amp, 0);
    memcpy(b[0], a[0], (size_t)n * sizeof(float));
    lathe_proc_process(q, b, NULL, n);
    float *io[1] = {a[0]};
    lathe_proc_process(p, io, NULL, t0);
    lathe_proc_set(p, lathe_proc_param_index(eq(), "band1.gain"), 12);
    io[0] = a[0] + t0;
    lathe_proc_process(p, io, NULL, n - t0);
    /* before: 0 dB; the change fades in within latency + 2 partitions */
    double before = tone_db(a[0], t0 - 4800, 4800, rate, f, amp);
    long settle = t0 + L + 2 * 4096;
    double after = tone_db(a[0], settle, n - settle, rate, f, amp);
    double jump = max_jump(a[0], n);
    double bound = 1.05 * 2 * M_PI * f / rate * amp * lt_undb(12);
    double diff = 0;
    for (long i = settle; i < n; i++)
        diff = fmax(diff, fabs(a[0][i] - b[0][i]));
    print_message("0 -> +12 dB bell step: %.4f dB before, %.4f dB after, max jump %.4f (bound "
                  "%.4f), after settling |y - fresh instance| %.3g\n",
                  before, after, jump, bound, diff);
    assert_true(fabs(before) < 0.01);
    assert_true(fabs(after - 12) < 0.02);
    assert_true(jump < bound);
    assert_true(diff < 1e-5);
    lathe_proc_free(p);
    lathe_proc_free(q);

    /* a fast sweep, set every 64 frames: finite, bounded, no clicks */
    p = lin_proc(rate, 1, names, v2, 4, 8193);
    int ifreq = lathe_proc_param_index(eq(), "band1.freq");
    lt_sine(a[0], n, rate, 500, amp, 0);
    for (long off = 0; off < n; off += 64) {
        lathe_proc_set(p, ifreq, 100 * pow(150, 0.5 - 0.5 * cos(2 * M_PI * off / n)));
        io[0] = a[0] + off;
        lathe_proc_process(p, io, NULL, n - off < 64 ? n - off : 64);
    }
    double peak = lt_peak(a[0], n);
    jump = max_jump(a[0], n);
    bound = 1.5 * 2 * M_PI * 500 / rate * peak;
    print_message("sweep: peak %.3f, max jump %.4f (bound %.4f)\n", peak, jump, bound);
    for (long i = 0; i < n; i++)
        assert_true(isfinite(a[0][i]));
    assert_true(peak < amp * 4.5 && jump < bound);
    lathe_proc_free(p);
    lt_free(a, 1);
    lt_free(b, 1);
}

static const char *const lin_names[] = {"band1.type", "band1.freq", "band1.slope", "band2.type",
                                        "band2.freq", "band2.gain", "band3.type",  "band3.gain",
                                        "phase",      "fir_length"};
static const double lin_vals[] = {HIGHPASS, 30, 24, BELL, 2000, 4, TILT, -2, 1, 4097};

static void eq_linear_recovers_from_nan(void **state) {
    (void)state;
    lt_check_recovers_from_nan("eq", 48000, 700, lin_names, lin_vals, 10);
}

static void eq_linear_output_independent_of_block_size(void **state) {
    (void)state;
    long n = 30000;
    float **in = lt_alloc(2, n);
    uint64_t seed = 5;
    lt_noise(in[0], n, 0.8, &seed);
    lt_noise(in[1], n, 0.8, &seed);
    lt_check_block_sizes("eq", 44100, lin_names, lin_vals, 10, in, n);
    lt_free(in, 2);
}

static void eq_linear_reset_returns_to_silence_and_phase_is_fixed_at_init(void **state) {
    (void)state;
    lathe_proc *p = lt_proc("eq", 48000, 2, lin_names, lin_vals, 10);
    /* phase and fir_length are fixed at init: later sets change nothing */
    int L = lathe_proc_latency(p);
    assert_true(L == (4097 - 1) / 2);
    lathe_proc_set(p, lathe_proc_param_index(eq(), "phase"), 0);
    lathe_proc_set(p, lathe_proc_param_index(eq(), "fir_length"), 65537);
    assert_true(lathe_proc_latency(p) == L);
    long n = 20000;
    float **b = lt_alloc(2, n);
    uint64_t seed = 8;
    lt_noise(b[0], n, 1.0, &seed);
    lt_noise(b[1], n, 1.0, &seed);
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) > 0.1);
    lathe_proc_reset(p);
    memset(b[0], 0, (size_t)n * sizeof(float));
    memset(b[1], 0, (size_t)n * sizeof(float));
    lathe_proc_process(p, b, NULL, n);
    assert_true(lt_peak(b[0], n) == 0 && lt_peak(b[1], n) == 0);
    lt_free(b, 2);
    lathe_proc_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eq_bell_gain_at_f0_within_0_01_db),
        cmocka_unit_test(eq_shelf_gain_at_f0_is_half_within_0_01_db),
        cmocka_unit_test(eq_butterworth_shelves_follow_their_prototype),
        cmocka_unit_test(eq_bell_10k_matches_analog_at_18k_where_bilinear_cannot),
        cmocka_unit_test(eq_pass_slopes_within_0_5_db_per_oct),
        cmocka_unit_test(eq_lr24_crossover_sums_flat_within_0_01_db),
        cmocka_unit_test(eq_notch_bandpass_tilt_follow_prototypes),
        cmocka_unit_test(eq_output_gain_and_bands_off_are_exact),
        cmocka_unit_test(eq_automation_sweeps_without_clicks_or_blowup),
        cmocka_unit_test(eq_output_independent_of_block_size),
        cmocka_unit_test(eq_reset_returns_to_silence_and_denormals_stay_finite),
        cmocka_unit_test(eq_minimum_phase_bit_identical_to_the_cascade_before_linear_mode),
        cmocka_unit_test(eq_single_section_equals_its_svf_within_double_rounding),
        cmocka_unit_test(eq_linear_matches_minimum_phase_within_0_1_db_30_hz_to_20_khz),
        cmocka_unit_test(eq_linear_default_length_keeps_a_30_hz_bell_within_0_1_db),
        cmocka_unit_test(eq_linear_impulse_symmetric_about_latency_with_peak_there),
        cmocka_unit_test(eq_linear_flat_is_a_pure_delay_within_minus_100_db),
        cmocka_unit_test(eq_linear_change_crossfades_without_click_and_converges),
        cmocka_unit_test(eq_linear_recovers_from_nan),
        cmocka_unit_test(eq_linear_output_independent_of_block_size),
        cmocka_unit_test(eq_linear_reset_returns_to_silence_and_phase_is_fixed_at_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
