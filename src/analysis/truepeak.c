/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Polyphase true-peak interpolator (BS.1770-4 Annex 2: oversample by 4,
 * low-pass, take |x|).  The prototype is a Kaiser-windowed sinc (beta 8,
 * about 80 dB stop band) of factor*TAPS taps with its cutoff at the input
 * Nyquist frequency; its passband reaches about 20 kHz at 48 kHz.
 *
 * The filtering loop runs tap-outer, sample-inner (an axpy per tap), which
 * vectorises without reassociating sums: results are bit-identical on every
 * x86-64 machine. */
#include <math.h>
#include <string.h>

#include "analysis/truepeak.h"
#include "util/simd.h"

/* Zeroth-order modified Bessel function of the first kind, by its series. */
static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 50; k++) {
        term *= q / ((double)k * (double)k);
        sum += term;
        if (term < sum * 1e-17) break;
    }
    return sum;
}

void lathe_tp_design_init(lathe_tp_design *d, double rate)
{
    const int L = rate < 32000.0 ? 8 : 4;
    const int len = L * LATHE_TP_TAPS; /* h[0] is a zero of the sinc: odd-symmetric about c */
    const double c = len / 2.0, beta = 8.0, i0b = bessel_i0(beta);
    d->factor = L;
    memset(d->coef, 0, sizeof d->coef);
    for (int p = 1; p < L; p++) {
        for (int k = 0; k < LATHE_TP_TAPS; k++) {
            int j = k * L + p;
            double t = (j - c) / L; /* in input samples */
            double sinc = t == 0 ? 1.0 : sin(M_PI * t) / (M_PI * t);
            double r = (j - c) / c;
            double w = fabs(r) >= 1.0 ? 0.0 : bessel_i0(beta * sqrt(1.0 - r * r)) / i0b;
            /* y[n] = sum_k h[kL+p] x[n-k]; stored reversed so that the block
             * loop reads buf[n + k] with coef[TAPS-1-k]. */
            d->coef[p - 1][LATHE_TP_TAPS - 1 - k] = (float)(sinc * w);
        }
        /* Unity gain at DC for every phase: a constant interpolates to itself. */
        double sum = 0;
        for (int k = 0; k < LATHE_TP_TAPS; k++) sum += d->coef[p - 1][k];
        for (int k = 0; k < LATHE_TP_TAPS; k++) d->coef[p - 1][k] = (float)(d->coef[p - 1][k] / sum);
    }
    /* The bounds used to skip work that cannot raise the peak
     * (lathe_tp_chan_peak), with a margin far above the float rounding of
     * a 32-term sum (32 * 2^-24 relative). */
    d->gain = 1.0f;
    const int c0 = LATHE_TP_TAPS / 2 - LATHE_TP_CENTRAL / 2, c1 = c0 + LATHE_TP_CENTRAL;
    for (int p = 1; p < L; p++) {
        double g = 0, gc = 0;
        for (int k = 0; k < LATHE_TP_TAPS; k++) {
            g += fabs(d->coef[p - 1][k]);
            if (k >= c0 && k < c1) gc += fabs(d->coef[p - 1][k]);
        }
        if (g * 1.0001 > d->gain) d->gain = (float)(g * 1.0001);
        d->central[p - 1] = (float)(gc * 1.0001);
        d->outer[p - 1] = (float)((g - gc) * 1.0001);
    }
}

void lathe_tp_chan_init(lathe_tp_chan *c, const lathe_tp_design *d)
{
    c->design = d;
    lathe_tp_chan_reset(c);
}

void lathe_tp_chan_reset(lathe_tp_chan *c)
{
    memset(c->buf, 0, sizeof c->buf);
}

static inline float maxf(float a, float b)
{
    return a > b ? a : b; /* fmaxf is a libm call unless NaN rules are relaxed */
}

/* The interpolated points of outputs i..i+TILE-1, every phase at once: per
 * phase p, acc = sum_k h_p[k] * xs[i + k], k in tap order from 0.0f (the
 * same products in the same order as one output at a time, so the same
 * values bit for bit).  A tile of 16 outputs keeps 2 vectors of 8 per phase
 * in registers and loads each input once for all phases; the independent
 * sums hide the latency of the additions.  absmax[j] receives the largest
 * |value| over the phases and |x0[j]|. */
#define TILE 16
/* eight floats at any float address */
typedef float v8sf __attribute__((vector_size(32), may_alias, aligned(4)));

static inline __attribute__((always_inline)) void
tile_points(const lathe_tp_design *d, int np, const float *restrict xs, const float *restrict x0,
            float *restrict absmax)
{
    float a[LATHE_TP_MAX_FACTOR - 1][TILE];
    if (np == 3) {
        /* the common case (4x) spelt out in vectors, so that the six sums
         * stay in registers */
        v8sf s0 = {0}, s1 = {0}, t0 = {0}, t1 = {0}, u0 = {0}, u1 = {0};
        for (int k = 0; k < LATHE_TP_TAPS; k++) {
            const v8sf lo = *(const v8sf *)(xs + k), hi = *(const v8sf *)(xs + k + 8);
            const float h0 = d->coef[0][k], h1 = d->coef[1][k], h2 = d->coef[2][k];
            s0 += h0 * lo, s1 += h0 * hi;
            t0 += h1 * lo, t1 += h1 * hi;
            u0 += h2 * lo, u1 += h2 * hi;
        }
        memcpy(a[0], &s0, sizeof s0), memcpy(a[0] + 8, &s1, sizeof s1);
        memcpy(a[1], &t0, sizeof t0), memcpy(a[1] + 8, &t1, sizeof t1);
        memcpy(a[2], &u0, sizeof u0), memcpy(a[2] + 8, &u1, sizeof u1);
    } else {
        for (int p = 0; p < np; p++)
            for (int j = 0; j < TILE; j++) a[p][j] = 0.0f;
        for (int k = 0; k < LATHE_TP_TAPS; k++)
            for (int p = 0; p < np; p++) {
                const float hk = d->coef[p][k];
                for (int j = 0; j < TILE; j++) a[p][j] += hk * xs[k + j];
            }
    }
    for (int j = 0; j < TILE; j++) absmax[j] = fabsf(x0[j]);
    for (int p = 0; p < np; p++)
        for (int j = 0; j < TILE; j++) absmax[j] = maxf(absmax[j], fabsf(a[p][j]));
}

/* The same for outputs one at a time (the end of a block). */
static void one_point(const lathe_tp_design *d, int np, const float *xs, const float *x0,
                      float *absmax)
{
    float m = fabsf(*x0);
    for (int p = 0; p < np; p++) {
        float a = 0.0f;
        for (int k = 0; k < LATHE_TP_TAPS; k++) a += d->coef[p][k] * xs[k];
        m = maxf(m, fabsf(a));
    }
    *absmax = m;
}

/* absmax for outputs s..e-1 of the block; np is the number of phases (a
 * constant where inlined, so the tile's arrays live in registers). */
static inline __attribute__((always_inline)) void
points(const lathe_tp_design *d, int np, const float *buf, int s, int e, float *absmax)
{
    const float *x0 = buf + LATHE_TP_TAPS - 1 - LATHE_TP_TAPS / 2;
    int i = s;
    for (; i + TILE <= e; i += TILE) tile_points(d, np, buf + i, x0 + i, absmax + i);
    for (; i < e; i++) one_point(d, np, buf + i, x0 + i, absmax + i);
}

static inline __attribute__((always_inline)) void
points_any(const lathe_tp_design *d, const float *buf, int s, int e, float *absmax)
{
    /* 3 phases at 4x (every rate from 32 kHz), 7 at 8x */
    if (d->factor == 4) points(d, 3, buf, s, e, absmax);
    else points(d, d->factor - 1, buf, s, e, absmax);
}

/* One block of m <= LATHE_TP_BLOCK samples, the history in c->buf. */
LATHE_AVX2_CLONES static void
run_block(lathe_tp_chan *c, int m, float *restrict absmax)
{
    points_any(c->design, c->buf, 0, m, absmax);
}

/* Largest |buf[i]| for i in [s, e]. */
static inline float range_max(const float *buf, int s, int e)
{
    float v = 0.0f;
    for (int i = s; i <= e; i++) v = maxf(v, fabsf(buf[i]));
    return v;
}

/* The same for a range of 16 to 48 samples, in vectors of 8 (the last load
 * overlapping the one before).  max(a, b) as a > b ? a : b, lane by lane,
 * like maxf. */
typedef int v8si __attribute__((vector_size(32)));
static inline __attribute__((always_inline)) float range_max16(const float *buf, int s, int e)
{
    const v8si abs_mask = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff,
                           0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
    v8si l = (v8si)*(const v8sf *)(buf + e - 7) & abs_mask;
    for (int i = s; i < e - 7; i += 8) {
        v8si x = (v8si)*(const v8sf *)(buf + i) & abs_mask;
        v8si gt = (v8sf)l > (v8sf)x;
        l = (gt & l) | (~gt & x);
    }
    float v = 0.0f, lanes[8];
    memcpy(lanes, &l, sizeof lanes);
    for (int k = 0; k < 8; k++) v = maxf(v, lanes[k]);
    return v;
}

/* Peak-only: the block in stretches of TILE outputs.  The taps of outputs
 * s..e-1 are buf[s .. e-1+H], their LATHE_TP_CENTRAL middle taps
 * buf[s+c0 .. e-1+c1-1], which hold the samples themselves (phase 0).  Per
 * phase, no interpolated value exceeds central * (max over the middle) +
 * outer * (max over all); a stretch where neither that nor the samples can
 * exceed the peak so far is skipped, the others are computed exactly.
 * Against one bound of sum |h| * (max over all) on stretches of 64, this
 * skips about half the work that is left on a limited master, where most
 * windows hold a sample near the ceiling. */
_Static_assert(LATHE_TP_TAPS / 2 - LATHE_TP_CENTRAL / 2 <= LATHE_TP_TAPS - 1 - LATHE_TP_TAPS / 2 &&
                   LATHE_TP_TAPS - 1 - LATHE_TP_TAPS / 2 <
                       LATHE_TP_TAPS / 2 - LATHE_TP_CENTRAL / 2 + LATHE_TP_CENTRAL,
               "the sample itself (phase 0) is one of the middle taps");
_Static_assert(TILE + LATHE_TP_CENTRAL - 1 >= 8, "range_max16 reads at least 8");
/* Whether a point of outputs s..e-1 (a tile) can exceed floor: each phase's
 * point is at most sum|h| of its middle taps x max|x| over the tile's middle
 * samples plus sum|h| of its other taps x max|x| over the whole window (and
 * phase 0 is a middle sample), so a tile where no bound exceeds floor holds
 * no point above it. Inlined into both clones of its callers. */
static inline __attribute__((always_inline)) int tile_may_exceed(const lathe_tp_design *d,
                                                                 const float *buf, int s, int e,
                                                                 float floor)
{
    const int T = LATHE_TP_TAPS, H = T - 1, np = d->factor - 1;
    const int c0 = T / 2 - LATHE_TP_CENTRAL / 2, c1 = c0 + LATHE_TP_CENTRAL;
    float wmax, cmax;
    if (e - s == TILE) {
        wmax = range_max16(buf, s, s + TILE - 1 + H);
        cmax = range_max16(buf, s + c0, s + TILE - 1 + c1 - 1);
    } else {
        wmax = range_max(buf, s, e - 1 + H);
        cmax = range_max(buf, s + c0, e - 1 + c1 - 1);
    }
    int need = cmax > floor;
    for (int p = 0; p < np; p++) need |= d->central[p] * cmax + d->outer[p] * wmax > floor;
    return need;
}

LATHE_AVX2_CLONES static float
peak_block(lathe_tp_chan *c, int m, float peak)
{
    const lathe_tp_design *d = c->design;
    const float *restrict buf = c->buf;
    float am[TILE];
    for (int s = 0; s < m; s += TILE) {
        const int e = s + TILE < m ? s + TILE : m;
        if (!tile_may_exceed(d, buf, s, e, peak)) continue;
        points_any(d, buf + s, 0, e - s, am);
        for (int j = 0; j < e - s; j++) peak = maxf(peak, am[j]);
    }
    return peak;
}

float lathe_tp_chan_run(lathe_tp_chan *c, const float *in, int n, float *absmax)
{
    if (!absmax) return lathe_tp_chan_peak(c, in, n, 0.0f);
    const int H = LATHE_TP_TAPS - 1;
    float peak = 0.0f;
    while (n > 0) {
        int m = n < LATHE_TP_BLOCK ? n : LATHE_TP_BLOCK;
        memcpy(c->buf + H, in, (size_t)m * sizeof *in);
        run_block(c, m, absmax);
        for (int i = 0; i < m; i++) peak = maxf(peak, absmax[i]);
        memmove(c->buf, c->buf + m, (size_t)H * sizeof *c->buf);
        in += m, n -= m, absmax += m;
    }
    return peak;
}

float lathe_tp_chan_peak(lathe_tp_chan *c, const float *in, int n, float floor)
{
    const int H = LATHE_TP_TAPS - 1;
    if (floor == INFINITY) {
        /* nothing can raise the peak: only the history moves on */
        if (n >= H) {
            memcpy(c->buf, in + n - H, (size_t)H * sizeof *in);
        } else if (n > 0) {
            memmove(c->buf, c->buf + n, (size_t)(H - n) * sizeof *c->buf);
            memcpy(c->buf + H - n, in, (size_t)n * sizeof *in);
        }
        return floor;
    }
    float peak = floor;
    while (n > 0) {
        int m = n < LATHE_TP_BLOCK ? n : LATHE_TP_BLOCK;
        memcpy(c->buf + H, in, (size_t)m * sizeof *in);
        peak = peak_block(c, m, peak);
        memmove(c->buf, c->buf + m, (size_t)H * sizeof *c->buf);
        in += m, n -= m;
    }
    return peak;
}

/* lathe_tp_chan_run_over: the block's outputs in the tiles of run_block,
 * each computed only where the bound of peak_block lets it exceed floor. */
LATHE_AVX2_CLONES static void
over_block(lathe_tp_chan *c, int m, float floor, float *restrict absmax)
{
    const lathe_tp_design *d = c->design;
    const float *restrict buf = c->buf;
    for (int s = 0; s < m; s += TILE) {
        const int e = s + TILE < m ? s + TILE : m;
        if (tile_may_exceed(d, buf, s, e, floor))
            points_any(d, buf, s, e, absmax);
        else
            for (int j = s; j < e; j++) absmax[j] = 0.0f;
    }
}

void lathe_tp_chan_run_over(lathe_tp_chan *c, const float *in, int n, float floor, float *absmax)
{
    const int H = LATHE_TP_TAPS - 1;
    while (n > 0) {
        int m = n < LATHE_TP_BLOCK ? n : LATHE_TP_BLOCK;
        memcpy(c->buf + H, in, (size_t)m * sizeof *in);
        over_block(c, m, floor, absmax);
        memmove(c->buf, c->buf + m, (size_t)H * sizeof *c->buf);
        in += m, n -= m, absmax += m;
    }
}
