/* SPDX-License-Identifier: GPL-3.0-or-later */
/* saturate: static waveshaping (tape, tube, soft clip, hard clip) with
 * antiderivative anti-aliasing inside an oversampled section.
 *
 *   x -> drive -> up M (polyphase FIR) -> ADAA1 curve -> down M (FIR) -> output
 *   gain -> [tube: 5 Hz DC blocker] -> mix with the dry signal delayed by the
 *   latency.
 *
 * Anti-aliasing is done twice over.  First-order antiderivative
 * anti-aliasing (Parker, Zavalishin & Le Bivic, "Reducing the aliasing of
 * nonlinear waveshaping using continuous-time convolution", DAFx-16, eq. 9;
 * Bilbao, Esqueda, Parker & Välimäki, IEEE SPL 24(7), 2017) replaces
 * y = f(x[n]) by
 *
 *     y[n] = (F(x[n]) - F(x[n-1])) / (x[n] - x[n-1]),   F' = f,
 *
 * i.e. the curve applied to the linear interpolation of the input and
 * averaged over one sample, which attenuates the harmonics that would fold
 * back (most strongly those that fold to low frequencies); when
 * |x[n] - x[n-1]| < 1e-6 it falls back to f((x[n] + x[n-1]) / 2) (the
 * limit, DAFx-16 eq. 12).  Second, the curve runs at M = 2, 4 or 8 times
 * the rate, so most harmonics stay below the oversampled Nyquist frequency
 * and are removed by the decimation filter.
 *
 * Both resampling filters are Kaiser-windowed (beta 8, about 80 dB stop
 * band) ideal low-passes cut off at the base Nyquist frequency, spanning 64
 * base samples: the transition band is 0.46..0.54 fs.  The decimator's
 * passband also undoes ADAA1's droop (cos(pi f / (M fs)), -2.5 dB at 20 kHz
 * at 2x), so the wet path is flat.  ADAA1 delays by half an
 * oversampled sample; the interpolator has M*64 taps (delay (64M-1)/2) and
 * the decimator M*64+1 taps (delay 32M), so the total delay is exactly 64
 * base samples, which latency() reports and by which the dry path is
 * delayed, keeping `mix` phase-aligned.
 *
 * Every curve has slope 1 at its operating point, so at low level the gain
 * is drive * output (measured within 0.003 dB at 1 kHz).  Curves (x =
 * driven input):
 *   tape      tanh(x)                                F = log cosh x
 *   tube      (tanh(x + b) - tanh b) / (1 - tanh^2 b) F = (log cosh(x+b) - log cosh b - x tanh b) / (1 - tanh^2 b)
 *             asymmetric: even harmonics; its DC is removed afterwards
 *   softclip  x - 4/27 x^3 for |x| <= 3/2, else sign(x)   (cubic, C1 at the knee)
 *   hardclip  clamp(x, -1, 1)                         F = x^2/2, or |x| - 1/2 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/proc.h"

#define SAT_MAXCH 8
#define SAT_T 64           /* filter span in base samples = latency */
#define SAT_MAX_M 8
#define SAT_SMOOTH_MS 20.0 /* parameter smoothing time constant */
#define SAT_ADAA_EPS 1e-6
#define SAT_IN_LIMIT 1000.0 /* driven input bound: every curve is flat far before this */
#define SAT_DC_HZ 5.0

enum { CURVE_TAPE, CURVE_TUBE, CURVE_SOFTCLIP, CURVE_HARDCLIP };
enum { P_CURVE, P_DRIVE, P_OUTPUT, P_MIX, P_BIAS, P_OVERSAMPLE, P_COUNT };

static const char *const curve_names[] = {"tape", "tube", "softclip", "hardclip", NULL};
static const char *const os_names[] = {"2x", "4x", "8x", NULL};

static const lathe_param_desc params[P_COUNT] = {
    {"curve", "",
     "Transfer curve. tape: tanh, symmetric and soft (odd harmonics); tube: tanh shifted by "
     "`bias`, asymmetric (even and odd harmonics, DC removed); softclip: cubic x - 4/27 x^3 "
     "up to |x| = 1.5, then flat at +-1; hardclip: clamp at +-1. All have slope 1 at rest.",
     0, 3, CURVE_TAPE, LATHE_PARAM_CHOICE, curve_names, 0},
    {"drive", "dB",
     "Gain into the curve; the curve saturates towards +-1 (full scale) as the driven level "
     "passes about 0 dBFS. Smoothed over 20 ms.",
     0.0, 36.0, 6.0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"output", "dB",
     "Gain after the curve, on the processed (wet) signal only; at low level the wet gain is "
     "drive + output. Smoothed over 20 ms.",
     -48.0, 12.0, 0.0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"mix", "%",
     "Share of the processed signal; the rest is the dry input, delayed by the latency so "
     "the two stay phase-aligned (parallel saturation). Smoothed over 20 ms.",
     0.0, 100.0, 100.0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"bias", "",
     "tube only: offset of the operating point on the tanh curve (0 = symmetric); larger "
     "values give more even harmonics. Smoothed over 20 ms.",
     0.0, 0.5, 0.2, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"oversample", "",
     "Oversampling factor for the curve (on top of first-order antiderivative "
     "anti-aliasing). Latency is 64 samples at every factor. Fixed at start.",
     0, 2, 1, LATHE_PARAM_CHOICE, os_names, 0},
};

typedef struct {
    float *xh;   /* base-rate history (T-1) + block, for the interpolator */
    float *ph;   /* oversampled signal split into M phase streams, each T history +
                  * one block (stride T + max_block): contiguous FIR loops */
    float *dry;  /* dry delay line, T frames */
    double x1, F1; /* ADAA: previous oversampled input and F(x1) */
    double dc_x1, dc_y1;
} sat_chan;

typedef struct {
    double v[P_COUNT];
    double rate;
    int channels, max_block, M, curve;
    int dpos;
    float *up;   /* [M][T] interpolator phases, taps reversed, scaled by M */
    float *down; /* M*T+1 decimator taps (symmetric) */
    float *acc;  /* max_block scratch */
    float *drv;  /* per-block drive ramp */
    float *ogain, *wmix; /* per-block output gain and mix ramps */
    double *bias; /* per-block bias (tube) */
    double drive_s, out_s, mix_s, bias_s; /* smoothed values */
    double smooth_k, dc_r;
    sat_chan ch[SAT_MAXCH];
} saturate;

static void set(void *st, int i, double v)
{
    saturate *s = st;
    if (i >= 0 && i < P_COUNT) s->v[i] = v;
}

/* ---- curves and their antiderivatives ---- */

static inline double logcosh(double x)
{
    double a = fabs(x);
    return a + log1p(exp(-2.0 * a)) - M_LN2;
}

static inline double curve_f(int curve, double x, double b, double tb, double k)
{
    switch (curve) {
    case CURVE_TAPE: return tanh(x);
    case CURVE_TUBE: return (tanh(x + b) - tb) * k;
    case CURVE_SOFTCLIP:
        if (fabs(x) >= 1.5) return x > 0 ? 1.0 : -1.0;
        return x - (4.0 / 27.0) * x * x * x;
    default: return x > 1.0 ? 1.0 : (x < -1.0 ? -1.0 : x);
    }
}

static inline double curve_F(int curve, double x, double b, double tb, double k)
{
    switch (curve) {
    case CURVE_TAPE: return logcosh(x);
    case CURVE_TUBE: return (logcosh(x + b) - logcosh(b) - x * tb) * k;
    case CURVE_SOFTCLIP: {
        double a = fabs(x);
        if (a >= 1.5) return a - 0.5625;
        double x2 = x * x;
        return 0.5 * x2 - x2 * x2 / 27.0;
    }
    default: {
        double a = fabs(x);
        return a <= 1.0 ? 0.5 * x * x : a - 0.5;
    }
    }
}

/* ---- design ---- */

static double bessel_i0(double x)
{
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 60; k++) {
        term *= q / ((double)k * (double)k);
        sum += term;
        if (term < sum * 1e-17) break;
    }
    return sum;
}

/* Kaiser-windowed sinc of length len, cut off at 1/(2M) of the rate it runs at. */
static double kaiser_sinc(int j, int len, int M)
{
    const double beta = 8.0;
    double c = (len - 1) / 2.0, t = (j - c) / M;
    double sinc = fabs(t) < 1e-12 ? 1.0 : sin(M_PI * t) / (M_PI * t);
    double r = (j - c) / (c + 1.0);
    return sinc * bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r * r))) / bessel_i0(beta);
}

/* Decimator tap j of len: Kaiser-windowed ideal low-pass (cut off at 1/(2M)
 * of the rate it runs at) whose passband is 1/cos(pi nu) instead of 1: it
 * undoes the magnitude of ADAA1's one-sample average (which is
 * (1 + z^-1)/2, |.| = cos(pi nu), for the linear part of the curve), so the
 * wet path is flat to within 0.01 dB.  The ideal response is integrated
 * numerically (Simpson, 1024 intervals):
 *   h(t) = 2 int_0^{1/2M} cos(2 pi nu t) / cos(pi nu) dnu. */
static double decim_tap(int j, int len, int M)
{
    const int K = 1024;
    const double beta = 8.0, fc = 0.5 / M, c = (len - 1) / 2.0, t = j - c, dnu = fc / K;
    double sum = 0.0;
    for (int i = 0; i <= K; i++) {
        double nu = i * dnu, wgt = (i == 0 || i == K) ? 1.0 : (i & 1 ? 4.0 : 2.0);
        sum += wgt * cos(2.0 * M_PI * nu * t) / cos(M_PI * nu);
    }
    double h = 2.0 * sum * dnu / 3.0;
    double r = (j - c) / (c + 1.0);
    return h * bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r * r))) / bessel_i0(beta);
}

static void fini(void *st)
{
    saturate *s = st;
    for (int c = 0; c < SAT_MAXCH; c++) {
        free(s->ch[c].xh);
        free(s->ch[c].ph);
        free(s->ch[c].dry);
        memset(&s->ch[c], 0, sizeof s->ch[c]);
    }
    free(s->up);
    free(s->down);
    free(s->acc);
    free(s->drv);
    free(s->ogain);
    free(s->wmix);
    free(s->bias);
    s->up = s->down = s->acc = s->drv = s->ogain = s->wmix = NULL;
    s->bias = NULL;
}

static void reset(void *st)
{
    saturate *s = st;
    const int M = s->M;
    for (int c = 0; c < s->channels; c++) {
        sat_chan *ch = &s->ch[c];
        memset(ch->xh, 0, (size_t)(SAT_T - 1) * sizeof *ch->xh);
        for (int q = 0; q < M; q++)
            memset(ch->ph + (size_t)q * (SAT_T + s->max_block), 0, SAT_T * sizeof *ch->ph);
        memset(ch->dry, 0, (size_t)SAT_T * sizeof *ch->dry);
        ch->x1 = 0.0;
        ch->F1 = 0.0; /* F(0) = 0 for every curve */
        ch->dc_x1 = ch->dc_y1 = 0.0;
    }
    s->dpos = 0;
    s->drive_s = pow(10.0, s->v[P_DRIVE] / 20.0);
    s->out_s = pow(10.0, s->v[P_OUTPUT] / 20.0);
    s->mix_s = s->v[P_MIX] * 0.01;
    s->bias_s = s->v[P_BIAS];
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err)
{
    saturate *s = st;
    s->rate = rate;
    s->channels = channels;
    s->max_block = max_block;
    s->M = 2 << (int)lround(s->v[P_OVERSAMPLE]);
    s->curve = (int)lround(s->v[P_CURVE]);
    const int M = s->M, T = SAT_T, Nu = M * T, Nd = M * T + 1;
    s->smooth_k = 1.0 - exp(-1.0 / (SAT_SMOOTH_MS * 1e-3 * rate));
    s->dc_r = exp(-2.0 * M_PI * SAT_DC_HZ / rate);
    s->up = malloc((size_t)Nu * sizeof *s->up);
    s->down = malloc((size_t)Nd * sizeof *s->down);
    s->acc = malloc((size_t)max_block * sizeof *s->acc);
    s->drv = malloc((size_t)max_block * sizeof *s->drv);
    s->ogain = malloc((size_t)max_block * sizeof *s->ogain);
    s->wmix = malloc((size_t)max_block * sizeof *s->wmix);
    s->bias = malloc((size_t)max_block * sizeof *s->bias);
    int ok = s->up && s->down && s->acc && s->drv && s->ogain && s->wmix && s->bias;
    for (int c = 0; c < channels && ok; c++) {
        sat_chan *ch = &s->ch[c];
        ch->xh = malloc((size_t)(T - 1 + max_block) * sizeof *ch->xh);
        ch->ph = malloc((size_t)M * (size_t)(T + max_block) * sizeof *ch->ph);
        ch->dry = malloc((size_t)T * sizeof *ch->dry);
        ok = ch->xh && ch->ph && ch->dry;
    }
    if (!ok) {
        fini(st);
        return lathe_error_set(err, LATHE_E_NOMEM, "saturate: out of memory");
    }
    /* Interpolator: y[nM+q] = M sum_k h[kM+q] x[n-k]; each phase normalised
     * to unity DC gain; stored as up[q*T + i] = M h[(T-1-i)M + q]. */
    for (int q = 0; q < M; q++) {
        double sum = 0;
        for (int k = 0; k < T; k++) sum += kaiser_sinc(k * M + q, Nu, M);
        for (int i = 0; i < T; i++)
            s->up[q * T + i] = (float)(kaiser_sinc((T - 1 - i) * M + q, Nu, M) / sum);
    }
    /* Decimator: z[n] = sum_j h[j] w[nM - j], unity DC gain, with the
     * ADAA droop compensated (decim_tap). */
    double sum = 0;
    double *hd = malloc((size_t)Nd * sizeof *hd);
    if (!hd) {
        fini(st);
        return lathe_error_set(err, LATHE_E_NOMEM, "saturate: out of memory");
    }
    for (int j = 0; j <= Nd / 2; j++) hd[j] = hd[Nd - 1 - j] = decim_tap(j, Nd, M);
    for (int j = 0; j < Nd; j++) sum += hd[j];
    for (int j = 0; j < Nd; j++) s->down[j] = (float)(hd[j] / sum);
    free(hd);
    reset(st);
    return LATHE_OK;
}

/* One-pole smoothing of *cur towards target into out[0..n), exact once settled. */
static void ramp_f(double *cur, double target, double k, float *out, int n)
{
    double v = *cur;
    for (int i = 0; i < n; i++) {
        if (v != target) {
            v += (target - v) * k;
            if (fabs(target - v) <= 1e-7 * fmax(fabs(target), 1e-3)) v = target;
        }
        out[i] = (float)v;
    }
    *cur = v;
}

static void process(void *st, float *const *io, const float *const *key, int n)
{
    saturate *s = st;
    (void)key;
    const int M = s->M, T = SAT_T, curve = s->curve;
    const int Nd = M * T + 1;
    const double k = s->smooth_k;

    ramp_f(&s->drive_s, pow(10.0, s->v[P_DRIVE] / 20.0), k, s->drv, n);
    ramp_f(&s->out_s, pow(10.0, s->v[P_OUTPUT] / 20.0), k, s->ogain, n);
    ramp_f(&s->mix_s, s->v[P_MIX] * 0.01, k, s->wmix, n);
    {
        double b = s->bias_s, target = s->v[P_BIAS];
        for (int i = 0; i < n; i++) {
            if (b != target) {
                b += (target - b) * k;
                if (fabs(target - b) < 1e-9) b = target;
            }
            s->bias[i] = b;
        }
        s->bias_s = b;
    }

    int dpos = s->dpos;
    for (int c = 0; c < s->channels; c++) {
        sat_chan *ch = &s->ch[c];
        float *io_c = io[c];
        float *restrict xh = ch->xh;
        const size_t stride = (size_t)(T + s->max_block);
        /* drive, bounded (keeps every later sum finite; NaN maps to a bound) */
        for (int i = 0; i < n; i++) {
            double x = (double)io_c[i] * s->drv[i];
            x = x < SAT_IN_LIMIT ? (x > -SAT_IN_LIMIT ? x : -SAT_IN_LIMIT) : SAT_IN_LIMIT;
            xh[T - 1 + i] = (float)x;
        }
        /* interpolate: oversampled sample iM+q goes to phase stream q at
         * T + i; tap-outer axpy loops (vectorise, fixed summation order) */
        for (int q = 0; q < M; q++) {
            const float *h = s->up + q * T;
            float *restrict acc = ch->ph + (size_t)q * stride + T;
            for (int i = 0; i < n; i++) acc[i] = 0.0f;
            for (int t = 0; t < T; t++) {
                const float ht = h[t];
                const float *restrict xs = xh + t;
                for (int i = 0; i < n; i++) acc[i] += ht * xs[i];
            }
        }
        memmove(xh, xh + n, (size_t)(T - 1) * sizeof *xh);
        /* curve with ADAA1, in double */
        double x1 = ch->x1, F1 = ch->F1;
        for (int i = 0; i < n; i++) {
            double b = 0.0, tb = 0.0, kk = 1.0;
            if (curve == CURVE_TUBE) {
                b = s->bias[i];
                tb = tanh(b);
                kk = 1.0 / (1.0 - tb * tb);
                if (i == 0 || s->bias[i] != s->bias[i - 1]) F1 = curve_F(curve, x1, b, tb, kk);
            }
            for (int q = 0; q < M; q++) {
                float *wq = ch->ph + (size_t)q * stride + T + i;
                double x = *wq;
                double F = curve_F(curve, x, b, tb, kk), d = x - x1, y;
                if (fabs(d) > SAT_ADAA_EPS)
                    y = (F - F1) / d;
                else
                    y = curve_f(curve, 0.5 * (x + x1), b, tb, kk);
                *wq = (float)y;
                x1 = x;
                F1 = F;
            }
        }
        ch->x1 = x1;
        ch->F1 = F1;
        /* decimate: z[i] = sum_j h[j] w[(i - T)M + j]; with j = kM + p that
         * is sum_p sum_k h[kM + p] phase_p[T + i - T + k] (symmetric taps) */
        float *restrict acc = s->acc;
        for (int i = 0; i < n; i++) acc[i] = 0.0f;
        for (int p = 0; p < M; p++) {
            const float *restrict ps = ch->ph + (size_t)p * stride;
            for (int tap = 0; tap * M + p < Nd; tap++) {
                const float hj = s->down[tap * M + p];
                const float *restrict ws = ps + tap;
                for (int i = 0; i < n; i++) acc[i] += hj * ws[i];
            }
            memmove(ch->ph + (size_t)p * stride, ps + n, (size_t)T * sizeof *ps);
        }
        /* output gain, DC blocker (tube), mix with the delayed dry signal */
        float *dry = ch->dry;
        double dcx = ch->dc_x1, dcy = ch->dc_y1;
        const double r = s->dc_r;
        int dp = s->dpos;
        for (int i = 0; i < n; i++) {
            double wet = (double)acc[i] * s->ogain[i];
            if (curve == CURVE_TUBE) {
                double y = wet - dcx + r * dcy;
                dcx = wet;
                dcy = y;
                wet = y;
            }
            float d = dry[dp];
            dry[dp] = io_c[i];
            if (++dp == T) dp = 0;
            const float mx = s->wmix[i];
            io_c[i] = mx == 1.0f   ? (float)wet
                      : mx == 0.0f ? d
                                   : (float)(wet * mx + (double)d * (1.0 - mx));
        }
        ch->dc_x1 = dcx;
        ch->dc_y1 = fabs(dcy) < 1e-30 ? 0.0 : dcy;
        dpos = dp;
    }
    s->dpos = dpos;
}

static int latency(const void *st)
{
    (void)st;
    return SAT_T;
}

const lathe_proc_desc lathe_proc_saturate = {
    .name = "saturate",
    .doc = "Saturation by a static curve (tape: tanh; tube: biased tanh with even harmonics; "
           "softclip: cubic; hardclip), with drive, output and parallel mix. Aliasing is "
           "suppressed by first-order antiderivative anti-aliasing (Parker, Zavalishin & "
           "Le Bivic, DAFx-16; Bilbao et al., IEEE SPL 2017) run inside 2x/4x/8x "
           "oversampling with Kaiser-windowed sinc filters (80 dB). Latency: 64 samples; "
           "the dry path is delayed to match.",
    .params = params,
    .nparams = P_COUNT,
    .state_size = sizeof(saturate),
    .init = init,
    .set = set,
    .set_string = NULL,
    .process = process,
    .latency = latency,
    .reset = reset,
    .fini = fini,
    .reduction_db = NULL,
    .tail_s = NULL,
};
