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
    /* The bound used to skip work that cannot raise the peak (lathe_tp_chan_run). */
    d->gain = 1.0f;
    for (int p = 1; p < L; p++) {
        double g = 0;
        for (int k = 0; k < LATHE_TP_TAPS; k++) g += fabs(d->coef[p - 1][k]);
        if (g * 1.0001 > d->gain) d->gain = (float)(g * 1.0001); /* margin for float rounding */
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

/* acc[i] = sum_k h[k] * xs[i + k] for i in [s, e), k in tap order: in
 * register tiles of RB outputs (one pass over the taps per tile instead of
 * one pass over acc per tap), then the rest one output at a time. Each
 * output adds the same products in the same order from 0.0f as a plain
 * axpy per tap, so the values are the same bit for bit. */
#define RB 32
static inline void phase_filter(const float *restrict h, const float *restrict xs, float *restrict acc,
                                int s, int e)
{
    const int T = LATHE_TP_TAPS;
    int i = s;
    for (; i + RB <= e; i += RB) {
        float a[RB];
        for (int j = 0; j < RB; j++) a[j] = 0.0f;
        for (int k = 0; k < T; k++) {
            const float hk = h[k];
            const float *restrict x = xs + i + k;
            for (int j = 0; j < RB; j++) a[j] += hk * x[j];
        }
        for (int j = 0; j < RB; j++) acc[i + j] = a[j];
    }
    for (; i < e; i++) {
        float a = 0.0f;
        for (int k = 0; k < T; k++) a += h[k] * xs[i + k];
        acc[i] = a;
    }
}

/* One block of at most LATHE_TP_BLOCK samples. In peak-only mode (absmax
 * NULL) the work is done only for stretches of SKIP samples whose window
 * could hold a value above `peak`: an interpolated value never exceeds
 * gain * max|x| over its taps, so skipping those stretches is exact. */
#define SKIP 64
__attribute__((target_clones("avx2", "default"))) static float
run_block(lathe_tp_chan *c, int m, float *restrict absmax, float peak)
{
    const int T = LATHE_TP_TAPS, H = T - 1, L = c->design->factor;
    const float *restrict buf = c->buf;
    float *restrict acc = c->acc;
    const float *restrict x0 = buf + H - T / 2;
    if (absmax) {
        for (int i = 0; i < m; i++) absmax[i] = fabsf(x0[i]);
        for (int p = 0; p < L - 1; p++) {
            phase_filter(c->design->coef[p], buf, acc, 0, m);
            for (int i = 0; i < m; i++) absmax[i] = maxf(absmax[i], fabsf(acc[i]));
        }
        for (int i = 0; i < m; i++) peak = maxf(peak, absmax[i]);
        return peak;
    }
    const float gain = c->design->gain;
    for (int s = 0; s < m; s += SKIP) {
        const int e = s + SKIP < m ? s + SKIP : m;
        /* window of the taps for outputs s..e-1: buf[s .. e-1+H] */
        float wmax = 0.0f;
        for (int i = s; i < e + H; i++) wmax = maxf(wmax, fabsf(buf[i]));
        if (wmax * gain <= peak) continue;
        for (int i = s; i < e; i++) peak = maxf(peak, fabsf(x0[i]));
        for (int p = 0; p < L - 1; p++) {
            phase_filter(c->design->coef[p], buf, acc, s, e);
            for (int i = s; i < e; i++) peak = maxf(peak, fabsf(acc[i]));
        }
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
        peak = run_block(c, m, absmax, peak);
        memmove(c->buf, c->buf + m, (size_t)H * sizeof *c->buf);
        in += m, n -= m;
        if (absmax) absmax += m;
    }
    return peak;
}

float lathe_tp_chan_peak(lathe_tp_chan *c, const float *in, int n, float floor)
{
    const int H = LATHE_TP_TAPS - 1;
    float peak = floor;
    while (n > 0) {
        int m = n < LATHE_TP_BLOCK ? n : LATHE_TP_BLOCK;
        memcpy(c->buf + H, in, (size_t)m * sizeof *in);
        peak = run_block(c, m, NULL, peak);
        memmove(c->buf, c->buf + m, (size_t)H * sizeof *c->buf);
        in += m, n -= m;
    }
    return peak;
}
