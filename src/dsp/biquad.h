/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/biquad.h: second-order (and first-order) filter sections for the
 * filter family (eq, stereo, dynamics sidechains).
 *
 * Coefficients are normalised so that a0 = 1:
 *   H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2)
 * Design follows the analog prototypes of the RBJ "Audio EQ Cookbook" (Q and
 * gain meanings as there); see biquad.c for the digital mapping used. */
#ifndef LATHE_DSP_BIQUAD_H
#define LATHE_DSP_BIQUAD_H

typedef struct {
    double b0, b1, b2, a1, a2;
} lathe_bq; /* H(z)=(b0+b1 z^-1+b2 z^-2)/(1+a1 z^-1+a2 z^-2) */

typedef enum {
    LATHE_BQ_LOWPASS,
    LATHE_BQ_HIGHPASS,
    LATHE_BQ_BANDPASS, /* constant 0 dB peak gain */
    LATHE_BQ_NOTCH,
    LATHE_BQ_BELL,      /* peaking EQ: gain_db at f0, RBJ Q */
    LATHE_BQ_LOWSHELF,  /* gain_db below f0, gain_db/2 at f0; q as RBJ shelf Q */
    LATHE_BQ_HIGHSHELF, /* gain_db above f0, gain_db/2 at f0 */
    LATHE_BQ_ALLPASS,
    LATHE_BQ_LOWPASS1,  /* first order (q ignored), -3 dB at f0 */
    LATHE_BQ_HIGHPASS1, /* first order (q ignored), -3 dB at f0 */
    LATHE_BQ_TILT       /* first-order tilt: -gain_db/2 at DC, +gain_db/2 at the top,
                           0 dB at f0; H(s) = T (s + w0/T) / (s + w0 T), T = 10^(g/40);
                           q ignored */
} lathe_bq_type;

/* Designs c for sample rate `rate`, corner/centre f0 (Hz), quality q (> 0) and
 * gain_db (bell and shelves only). */
void lathe_bq_design(lathe_bq *c, lathe_bq_type t, double rate, double f0, double q,
                     double gain_db);
/* The same, with the plain bilinear transform (RBJ cookbook, frequency
 * pre-warped at f0).  Kept for comparisons in tests and where cramping near
 * Nyquist does not matter. */
void lathe_bq_design_bilinear(lathe_bq *c, lathe_bq_type t, double rate, double f0, double q,
                              double gain_db);
/* Exact |H(e^jw)| in dB at f (Hz). */
double lathe_bq_mag_db(const lathe_bq *c, double rate, double f);
/* |H(s)| in dB of the analog prototype at f (for tests and plots). */
double lathe_bq_analog_mag_db(lathe_bq_type t, double f0, double q, double gain_db, double f);

typedef struct {
    double s1, s2;
} lathe_bq_state; /* transposed direct form II */

static inline double lathe_bq_tick(const lathe_bq *c, lathe_bq_state *s, double x) {
    double y = c->b0 * x + s->s1;
    s->s1 = c->b1 * x - c->a1 * y + s->s2;
    s->s2 = c->b2 * x - c->a2 * y;
    return y;
}

/* ---- the same transfer function as a trapezoidal state-variable filter ----
 * A. Simper (Cytomic), "Linear Trap Optimised SVF" (2013): integrator states
 * that stay meaningful when coefficients move, so frequency and gain can be
 * automated per sample without zipper noise or blow-ups.  Any stable digital
 * biquad maps onto it: the inverse bilinear transform gives the analog
 * section s^2 + k s + 1 (s scaled by g = tan-like warp) and the output mix
 *   y = m0 v0 + m1 v1 + m2 v2   (v0 input, v1 band, v2 low). */
typedef struct {
    double g, k, m0, m1, m2;
} lathe_svf;

typedef struct {
    double ic1, ic2;
} lathe_svf_state;

/* SVF (g, k, m0, m1, m2) with exactly the transfer function of c (c stable). */
void lathe_svf_from_bq(lathe_svf *s, const lathe_bq *c);

/* One sample with precomputed a1 = 1/(1+g(g+k)), a2 = g a1, a3 = g a2. */
static inline double lathe_svf_tick(double a1, double a2, double a3, double m0, double m1,
                                    double m2, lathe_svf_state *st, double v0) {
    double v3 = v0 - st->ic2;
    double v1 = a1 * st->ic1 + a2 * v3;
    double v2 = st->ic2 + a2 * st->ic1 + a3 * v3;
    st->ic1 = 2.0 * v1 - st->ic1;
    st->ic2 = 2.0 * v2 - st->ic2;
    return m0 * v0 + m1 * v1 + m2 * v2;
}

#endif
