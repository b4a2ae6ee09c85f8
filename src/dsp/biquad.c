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
                      double a2)
{
    c->b0 = b0 / a0;
    c->b1 = b1 / a0;
    c->b2 = b2 / a0;
    c->a1 = a1 / a0;
    c->a2 = a2 / a0;
}

void lathe_bq_design_bilinear(lathe_bq *c, lathe_bq_type t, double rate, double f0, double q,
                              double gain_db)
{
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
        normalise(c, 1 + alpha * A, -2 * cw, 1 - alpha * A, 1 + alpha / A, -2 * cw,
                  1 - alpha / A);
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

void lathe_bq_design(lathe_bq *c, lathe_bq_type t, double rate, double f0, double q,
                     double gain_db)
{
    lathe_bq_design_bilinear(c, t, rate, f0, q, gain_db);
}

double lathe_bq_mag_db(const lathe_bq *c, double rate, double f)
{
    double w = 2.0 * M_PI * f / rate;
    double c1 = cos(w), s1 = sin(w), c2 = cos(2 * w), s2 = sin(2 * w);
    double nr = c->b0 + c->b1 * c1 + c->b2 * c2, ni = -(c->b1 * s1 + c->b2 * s2);
    double dr = 1.0 + c->a1 * c1 + c->a2 * c2, di = -(c->a1 * s1 + c->a2 * s2);
    return 10.0 * log10((nr * nr + ni * ni) / (dr * dr + di * di));
}

double lathe_bq_analog_mag_db(lathe_bq_type t, double f0, double q, double gain_db, double f)
{
    /* s normalised to w0: s = j x, x = f/f0. |N(jx)|^2 / |D(jx)|^2. */
    double x = f / f0, x2 = x * x;
    double A = pow(10.0, gain_db / 40.0), sA = sqrt(A);
    double nr = 0, ni = 0, dr = 0, di = 0;
    switch (t) {
    case LATHE_BQ_LOWPASS: nr = 1; dr = 1 - x2; di = x / q; break;
    case LATHE_BQ_HIGHPASS: nr = -x2; dr = 1 - x2; di = x / q; break;
    case LATHE_BQ_BANDPASS: ni = x / q; dr = 1 - x2; di = x / q; break;
    case LATHE_BQ_NOTCH: nr = 1 - x2; dr = 1 - x2; di = x / q; break;
    case LATHE_BQ_ALLPASS: nr = 1 - x2; ni = -x / q; dr = 1 - x2; di = x / q; break;
    case LATHE_BQ_BELL: nr = 1 - x2; ni = x * A / q; dr = 1 - x2; di = x / (A * q); break;
    case LATHE_BQ_LOWSHELF:
        /* H(s) = A (s^2 + sqrt(A)/Q s + A) / (A s^2 + sqrt(A)/Q s + 1) */
        nr = A * (A - x2); ni = A * sA * x / q; dr = 1 - A * x2; di = sA * x / q; break;
    case LATHE_BQ_HIGHSHELF:
        /* H(s) = A (A s^2 + sqrt(A)/Q s + 1) / (s^2 + sqrt(A)/Q s + A) */
        nr = A * (1 - A * x2); ni = A * sA * x / q; dr = A - x2; di = sA * x / q; break;
    case LATHE_BQ_LOWPASS1: nr = 1; dr = 1; di = x; break;
    case LATHE_BQ_HIGHPASS1: ni = x; dr = 1; di = x; break;
    }
    return 10.0 * log10((nr * nr + ni * ni) / (dr * dr + di * di));
}
