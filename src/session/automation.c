/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Evaluating an automation lane: piecewise curves between breakpoints.
 *
 * Segment k runs from point k to point k+1 with point k's curve, u in [0,1):
 *   linear: v0 + (v1 - v0) u                 (in the parameter's unit, dB for gains)
 *   exp:    v0 (v1 / v0)^u                   (both ends > 0; otherwise linear)
 *   hold:   v0
 *   smooth: linear with u' = (1 - cos(pi u)) / 2   (raised-cosine ease in and out)
 * Before the first point the lane holds the first value, after the last the
 * last value; two points at the same time make a jump (the later one wins).
 * When an end of a segment is -inf (only dB parameters reach -inf), linear
 * and smooth interpolate the amplitude 10^(v/20) instead of the dB value and
 * convert back, so a fade from -inf dB to 0 dB is an ordinary amplitude
 * fade-in (e.g. -6.02 dB half way) rather than a jump. */
#include <math.h>

#include "lathe/session.h"

static double lin_interp(double v0, double v1, double u) {
    if (isinf(v0) && v0 < 0 && isinf(v1) && v1 < 0) return -INFINITY;
    if ((isinf(v0) && v0 < 0) || (isinf(v1) && v1 < 0)) {
        double a0 = isinf(v0) ? 0.0 : pow(10.0, v0 / 20.0);
        double a1 = isinf(v1) ? 0.0 : pow(10.0, v1 / 20.0);
        double a = a0 + (a1 - a0) * u;
        return a > 0 ? 20.0 * log10(a) : -INFINITY;
    }
    return v0 + (v1 - v0) * u;
}

double lathe_automation_value(const lathe_automation *a, double t) {
    if (!a || a->npoints <= 0) return 0.0;
    const lathe_auto_point *p = a->points;
    int n = a->npoints;
    if (!(t >= p[0].time_s)) return p[0].value; /* also for NaN t */
    if (t >= p[n - 1].time_s) return p[n - 1].value;
    /* largest k with p[k].time_s <= t; then p[k+1].time_s > t */
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (p[mid].time_s <= t)
            lo = mid;
        else
            hi = mid;
    }
    const lathe_auto_point *a0 = &p[lo], *a1 = &p[lo + 1];
    double u = (t - a0->time_s) / (a1->time_s - a0->time_s);
    double v0 = a0->value, v1 = a1->value;
    switch (a0->curve) {
    case LATHE_CURVE_HOLD:
        return v0;
    case LATHE_CURVE_EXP:
        if (v0 > 0 && v1 > 0 && isfinite(v0) && isfinite(v1)) return v0 * pow(v1 / v0, u);
        return lin_interp(v0, v1, u);
    case LATHE_CURVE_SMOOTH:
        return lin_interp(v0, v1, 0.5 - 0.5 * cos(M_PI * u));
    case LATHE_CURVE_LINEAR:
    default:
        return lin_interp(v0, v1, u);
    }
}
