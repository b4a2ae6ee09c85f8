/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/biquad.c: biquad design.
 *
 * Bilinear designs: R. Bristow-Johnson, "Cookbook formulae for audio EQ
 * biquad filter coefficients" (the Audio EQ Cookbook). */
#include "dsp/biquad.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static void normalise(lathe_bq *c, double b0, double b1, double b2, double a0, double a1,
                      double a2) {
    c->b0 = b0 / a0;
    c->b1 = b1 / a0;
    c->b2 = b2 / a0;
    c->a1 = a1 / a0;
    c->a2 = a2 / a0;
}

void lathe_bq_design_bilinear(lathe_bq *c, lathe_bq_type t, double rate, double f0, double q,
                              double gain_db) {
    double w0 = 2.0 * M_PI * f0 / rate;
    double cw = cos(w0), sw = sin(w0);
    double alpha = sw / (2.0 * q);
    double A = pow(10.0, gain_db / 40.0);
    double sA = sqrt(A);
    switch (t) {
    case LATHE_BQ_LOWPASS:
        normalise(c, (1 - cw) / 2, 1 - cw, (1 - cw) / 2, 1 + alpha, -2 * cw, 1 - alpha);
        break;
    case LATHE_BQ_HIGHPASS:
        normalise(c, (1 + cw) / 2, -(1 + cw), (1 + cw) / 2, 1 + alpha, -2 * cw, 1 - alpha);
        break;
    case LATHE_BQ_BANDPASS:
        normalise(c, alpha, 0, -alpha, 1 + alpha, -2 * cw, 1 - alpha);
        break;
    case LATHE_BQ_NOTCH:
        normalise(c, 1, -2 * cw, 1, 1 + alpha, -2 * cw, 1 - alpha);
        break;
    case LATHE_BQ_ALLPASS:
        normalise(c, 1 - alpha, -2 * cw, 1 + alpha, 1 + alpha, -2 * cw, 1 - alpha);
        break;
    case LATHE_BQ_BELL:
        normalise(c, 1 + alpha * A, -2 * cw, 1 - alpha * A, 1 + alpha / A, -2 * cw, 1 - alpha / A);
        break;
    case LATHE_BQ_LOWSHELF:
        normalise(c, A * ((A + 1) - (A - 1) * cw + 2 * sA * alpha),
                  2 * A * ((A - 1) - (A + 1) * cw), A * ((A + 1) - (A - 1) * cw - 2 * sA * alpha),
                  (A + 1) + (A - 1) * cw + 2 * sA * alpha, -2 * ((A - 1) + (A + 1) * cw),
                  (A + 1) + (A - 1) * cw - 2 * sA * alpha);
        break;
    case LATHE_BQ_HIGHSHELF:
        normalise(c, A * ((A + 1) + (A - 1) * cw + 2 * sA * alpha),
                  -2 * A * ((A - 1) + (A + 1) * cw), A * ((A + 1) + (A - 1) * cw - 2 * sA * alpha),
                  (A + 1) - (A - 1) * cw + 2 * sA * alpha, 2 * ((A - 1) - (A + 1) * cw),
                  (A + 1) - (A - 1) * cw - 2 * sA * alpha);
        break;
    case LATHE_BQ_TILT: {
        double T = pow(10.0, gain_db / 40.0), k = tan(w0 / 2.0);
        /* bilinear of T (s + 1/T) / (s + T), s = (1 - z^-1) / (k (1 + z^-1)) */
        normalise(c, T * (1 + k / T), T * (k / T - 1), 0, 1 + k * T, k * T - 1, 0);
        break;
    }
    case LATHE_BQ_LOWPASS1:
    case LATHE_BQ_HIGHPASS1: {
        double k = tan(w0 / 2.0);
        if (t == LATHE_BQ_LOWPASS1)
            normalise(c, k, k, 0, 1 + k, k - 1, 0);
        else
            normalise(c, 1, -1, 0, 1 + k, k - 1, 0);
        break;
    }
    }
}

/* ---- matched designs ----
 * M. Vicanek, "Matched Second Order Digital Filters" (2016).  The poles are
 * those of the analog prototype mapped by impulse invariance (sec. 2, eq. 7-8);
 * the numerator is fitted to the prototype's magnitude.  With
 *   phi0 = 1 - sin^2(w/2), phi1 = sin^2(w/2), phi2 = 4 phi0 phi1
 * every biquad has (sec. 3, eq. 10-12)
 *   |H(e^jw)|^2 = (B0 phi0 + B1 phi1 + B2 phi2) / (A0 phi0 + A1 phi1 + A2 phi2)
 * with A0 = (1+a1+a2)^2, A1 = (1-a1+a2)^2, A2 = -4 a2 and B* alike from b*.
 * Matching |H| at DC, at w0 and at Nyquist fixes B0, B1, B2, hence b0..b2. */

typedef struct {
    double phi0, phi1, phi2;
} phis;

static phis phis_at(double w) {
    double s = sin(0.5 * w);
    phis p;
    p.phi1 = s * s;
    p.phi0 = 1.0 - p.phi1;
    p.phi2 = 4.0 * p.phi0 * p.phi1;
    return p;
}

/* Impulse-invariant poles of s^2 + (w0/q) s + w0^2, w0 in rad/sample
 * (Vicanek eq. 7).  The pole angle is kept below Nyquist. */
static void matched_poles(double w0, double q, double *a1, double *a2) {
    double zeta = 0.5 / q;
    double r = exp(-zeta * w0);
    if (zeta < 1.0) {
        double wd = sqrt(1.0 - zeta * zeta) * w0;
        if (wd > 0.999 * M_PI) wd = 0.999 * M_PI;
        *a1 = -2.0 * r * cos(wd);
    } else {
        *a1 = -2.0 * r * cosh(sqrt(zeta * zeta - 1.0) * w0);
    }
    *a2 = r * r;
}

/* Numerator through three magnitudes (squared): at DC, at w, at Nyquist. */
static void fit3(lathe_bq *c, double h0sq, double w, double hwsq, double hnsq) {
    double A0 = (1 + c->a1 + c->a2) * (1 + c->a1 + c->a2);
    double A1 = (1 - c->a1 + c->a2) * (1 - c->a1 + c->a2);
    double A2 = -4.0 * c->a2;
    phis p = phis_at(w);
    double B0 = A0 * h0sq, B1 = A1 * hnsq;
    double B2 =
        (hwsq * (A0 * p.phi0 + A1 * p.phi1 + A2 * p.phi2) - B0 * p.phi0 - B1 * p.phi1) / p.phi2;
    double s0 = sqrt(B0), s1 = sqrt(B1);
    double W = 0.5 * (s0 + s1);
    double disc = W * W + B2;
    if (disc < 0) disc = 0; /* not reachable exactly: best fit keeps DC and Nyquist */
    c->b1 = 0.5 * (s0 - s1);
    c->b0 = 0.5 * (W + sqrt(disc));
    c->b2 = W - c->b0;
}

/* |H(j 2 pi f)|^2 of the analog prototype. */
static double analog_sq(lathe_bq_type t, double f0, double q, double gain_db, double f) {
    return pow(10.0, lathe_bq_analog_mag_db(t, f0, q, gain_db, f) / 10.0);
}

/* 1/H, normalised (H minimum phase: zeros inside the unit circle). */
static void invert(lathe_bq *c) {
    double b0 = c->b0, b1 = c->b1, b2 = c->b2;
    double a1 = c->a1, a2 = c->a2;
    c->b0 = 1.0 / b0;
    c->b1 = a1 / b0;
    c->b2 = a2 / b0;
    c->a1 = b1 / b0;
    c->a2 = b2 / b0;
}

void lathe_bq_design(lathe_bq *c, lathe_bq_type t, double rate, double f0, double q,
                     double gain_db) {
    double nyq = 0.5 * rate;
    if (f0 > 0.499 * rate) f0 = 0.499 * rate;
    if (f0 < 1e-6 * rate) f0 = 1e-6 * rate;
    if (!(q > 1e-3)) q = 1e-3;
    double w0 = 2.0 * M_PI * f0 / rate;
    phis p0 = phis_at(w0);
    double A0, A1, A2, den;
    switch (t) {
    case LATHE_BQ_LOWPASS: /* Vicanek sec. 4.1: DC and f0 (|H| = Q) matched, b2 = 0 */
        matched_poles(w0, q, &c->a1, &c->a2);
        A0 = (1 + c->a1 + c->a2) * (1 + c->a1 + c->a2);
        A1 = (1 - c->a1 + c->a2) * (1 - c->a1 + c->a2);
        A2 = -4.0 * c->a2;
        den = A0 * p0.phi0 + A1 * p0.phi1 + A2 * p0.phi2;
        {
            double B0 = A0, B1 = (den * q * q - B0 * p0.phi0) / p0.phi1;
            if (B1 < 0) B1 = 0;
            c->b0 = 0.5 * (sqrt(B0) + sqrt(B1));
            c->b1 = sqrt(B0) - c->b0;
            c->b2 = 0;
        }
        break;
    case LATHE_BQ_HIGHPASS: /* Vicanek sec. 4.2: double zero at DC, |H(f0)| = Q */
        matched_poles(w0, q, &c->a1, &c->a2);
        A0 = (1 + c->a1 + c->a2) * (1 + c->a1 + c->a2);
        A1 = (1 - c->a1 + c->a2) * (1 - c->a1 + c->a2);
        A2 = -4.0 * c->a2;
        den = A0 * p0.phi0 + A1 * p0.phi1 + A2 * p0.phi2;
        c->b0 = q * sqrt(den) / (4.0 * p0.phi1);
        c->b1 = -2.0 * c->b0;
        c->b2 = c->b0;
        break;
    case LATHE_BQ_BANDPASS: /* Vicanek sec. 4.3: peak 1 at f0, slope there matched */
        matched_poles(w0, q, &c->a1, &c->a2);
        A0 = (1 + c->a1 + c->a2) * (1 + c->a1 + c->a2);
        A1 = (1 - c->a1 + c->a2) * (1 - c->a1 + c->a2);
        A2 = -4.0 * c->a2;
        {
            double R1 = A0 * p0.phi0 + A1 * p0.phi1 + A2 * p0.phi2;
            double R2 = -A0 + A1 + 4.0 * (p0.phi0 - p0.phi1) * A2;
            double B2 = (R1 - R2 * p0.phi1) / (4.0 * p0.phi1 * p0.phi1);
            double B1 = R2 + 4.0 * (p0.phi1 - p0.phi0) * B2;
            if (B1 < 0) B1 = 0;
            c->b1 = -0.5 * sqrt(B1);
            double d = B2 + c->b1 * c->b1;
            c->b0 = 0.5 * (sqrt(d > 0 ? d : 0) - c->b1);
            c->b2 = -c->b0 - c->b1;
        }
        break;
    case LATHE_BQ_NOTCH: /* zeros exactly on the unit circle at f0, DC gain 1 */
        matched_poles(w0, q, &c->a1, &c->a2);
        {
            double g = (1 + c->a1 + c->a2) / (2.0 - 2.0 * cos(w0));
            c->b0 = g;
            c->b1 = -2.0 * cos(w0) * g;
            c->b2 = g;
        }
        break;
    case LATHE_BQ_ALLPASS: /* mirror numerator: |H| = 1 exactly */
        matched_poles(w0, q, &c->a1, &c->a2);
        c->b0 = c->a2;
        c->b1 = c->a1;
        c->b2 = 1.0;
        break;
    case LATHE_BQ_BELL: {
        /* Vicanek sec. 4.4, fitted at DC, f0 and Nyquist.  The boost is
         * designed (poles Q*A, the sharper pair, where impulse invariance is
         * most accurate) and a cut is its exact inverse, so +g then -g cancel. */
        double g = fabs(gain_db);
        double A = pow(10.0, g / 40.0);
        matched_poles(w0, q * A, &c->a1, &c->a2);
        fit3(c, 1.0, w0, A * A * A * A, analog_sq(t, f0, q, g, nyq));
        if (gain_db < 0) invert(c);
        break;
    }
    case LATHE_BQ_LOWSHELF:
    case LATHE_BQ_HIGHSHELF: {
        /* RBJ shelf prototypes.  Poles sit at f0*A^-1/2 (low shelf boost, high
         * shelf cut) or f0*A^1/2: the variant with the lower poles is designed
         * and the other one is its inverse (the analog shelves are exact
         * reciprocals), so poles never approach Nyquist. */
        double g = fabs(gain_db);
        double A = pow(10.0, g / 40.0);
        int design_boost = (t == LATHE_BQ_LOWSHELF);
        double gd = design_boost ? g : -g;
        double Ad = design_boost ? A : 1.0 / A;
        double wp = (t == LATHE_BQ_LOWSHELF) ? w0 / sqrt(Ad) : w0 * sqrt(Ad);
        matched_poles(wp, q, &c->a1, &c->a2);
        fit3(c, analog_sq(t, f0, q, gd, 0.0), w0, Ad * Ad, analog_sq(t, f0, q, gd, nyq));
        if ((gain_db >= 0) != design_boost) invert(c);
        break;
    }
    case LATHE_BQ_TILT: {
        /* Real pole at w0*T by impulse invariance, numerator fitted at DC, f0
         * (0 dB) and Nyquist; as with shelves the variant with the lower pole
         * (a cut of the highs, T < 1) is designed and a boost is its inverse. */
        double g = fabs(gain_db);
        double Td = pow(10.0, -g / 40.0);
        c->a1 = -exp(-w0 * Td);
        c->a2 = 0;
        fit3(c, 1.0 / (Td * Td), w0, 1.0, analog_sq(t, f0, q, -g, nyq));
        if (gain_db > 0) invert(c);
        break;
    }
    case LATHE_BQ_LOWPASS1:
    case LATHE_BQ_HIGHPASS1: {
        /* pole exp(-w0) (impulse invariance); zeros: LP matches DC and
         * -3 dB at f0, HP has its zero at DC and -3 dB at f0. */
        double pole = exp(-w0);
        c->a1 = -pole;
        c->a2 = 0;
        A0 = (1 - pole) * (1 - pole);
        A1 = (1 + pole) * (1 + pole);
        den = A0 * p0.phi0 + A1 * p0.phi1;
        if (t == LATHE_BQ_LOWPASS1) {
            double B0 = A0, B1 = (0.5 * den - B0 * p0.phi0) / p0.phi1;
            if (B1 < 0) B1 = 0;
            c->b0 = 0.5 * (sqrt(B0) + sqrt(B1));
            c->b1 = 0.5 * (sqrt(B0) - sqrt(B1));
        } else {
            c->b0 = 0.5 * sqrt(0.5 * den / p0.phi1);
            c->b1 = -c->b0;
        }
        c->b2 = 0;
        break;
    }
    }
}

double lathe_bq_mag_db(const lathe_bq *c, double rate, double f) {
    double w = 2.0 * M_PI * f / rate;
    double c1 = cos(w), s1 = sin(w), c2 = cos(2 * w), s2 = sin(2 * w);
    double nr = c->b0 + c->b1 * c1 + c->b2 * c2, ni = -(c->b1 * s1 + c->b2 * s2);
    double dr = 1.0 + c->a1 * c1 + c->a2 * c2, di = -(c->a1 * s1 + c->a2 * s2);
    return 10.0 * log10((nr * nr + ni * ni) / (dr * dr + di * di));
}

double lathe_bq_analog_mag_db(lathe_bq_type t, double f0, double q, double gain_db, double f) {
    /* s normalised to w0: s = j x, x = f/f0. |N(jx)|^2 / |D(jx)|^2. */
    double x = f / f0, x2 = x * x;
    double A = pow(10.0, gain_db / 40.0), sA = sqrt(A);
    double nr = 0, ni = 0, dr = 0, di = 0;
    switch (t) {
    case LATHE_BQ_LOWPASS:
        nr = 1;
        dr = 1 - x2;
        di = x / q;
        break;
    case LATHE_BQ_HIGHPASS:
        nr = -x2;
        dr = 1 - x2;
        di = x / q;
        break;
    case LATHE_BQ_BANDPASS:
        ni = x / q;
        dr = 1 - x2;
        di = x / q;
        break;
    case LATHE_BQ_NOTCH:
        nr = 1 - x2;
        dr = 1 - x2;
        di = x / q;
        break;
    case LATHE_BQ_ALLPASS:
        nr = 1 - x2;
        ni = -x / q;
        dr = 1 - x2;
        di = x / q;
        break;
    case LATHE_BQ_BELL:
        nr = 1 - x2;
        ni = x * A / q;
        dr = 1 - x2;
        di = x / (A * q);
        break;
    case LATHE_BQ_LOWSHELF:
        /* H(s) = A (s^2 + sqrt(A)/Q s + A) / (A s^2 + sqrt(A)/Q s + 1) */
        nr = A * (A - x2);
        ni = A * sA * x / q;
        dr = 1 - A * x2;
        di = sA * x / q;
        break;
    case LATHE_BQ_HIGHSHELF:
        /* H(s) = A (A s^2 + sqrt(A)/Q s + 1) / (s^2 + sqrt(A)/Q s + A) */
        nr = A * (1 - A * x2);
        ni = A * sA * x / q;
        dr = A - x2;
        di = sA * x / q;
        break;
    case LATHE_BQ_LOWPASS1:
        nr = 1;
        dr = 1;
        di = x;
        break;
    case LATHE_BQ_HIGHPASS1:
        ni = x;
        dr = 1;
        di = x;
        break;
    case LATHE_BQ_TILT:
        nr = 1;
        ni = A * x;
        dr = A;
        di = x;
        break;
    }
    return 10.0 * log10((nr * nr + ni * ni) / (dr * dr + di * di));
}

/* Inverse bilinear transform of c (see biquad.h).  With z = (1+gs)/(1-gs),
 * s^2 + k s + 1 has the denominator (1+gk+g^2, 2g^2-2, 1-gk+g^2)/D, so
 *   g^2 = (1+a1+a2)/(1-a1+a2),  k = 2(1-a2)/((1-a1+a2) g);
 * the numerator c2 s^2 + c1 s + c0 follows from b at z = 1, z = -1 and b0-b2. */
void lathe_svf_from_bq(lathe_svf *s, const lathe_bq *c) {
    double p = 1.0 + c->a1 + c->a2, m = 1.0 - c->a1 + c->a2;
    double g = sqrt(p / m);
    double k = 2.0 * (1.0 - c->a2) / (m * g);
    double D = 1.0 + g * k + g * g;
    double c0 = (c->b0 + c->b1 + c->b2) * D / (4.0 * g * g);
    double c2 = (c->b0 - c->b1 + c->b2) * D / 4.0;
    double c1 = (c->b0 - c->b2) * D / (2.0 * g);
    s->g = g;
    s->k = k;
    s->m0 = c2;
    s->m1 = c1 - c2 * k;
    s->m2 = c0 - c2;
}
