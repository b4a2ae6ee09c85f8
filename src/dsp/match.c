/* SPDX-License-Identifier: GPL-3.0-or-later */
/* match: a tone-matching filter on mid and side (reference mastering).
 *
 * 31 gains for the mid signal and 31 for the side signal at the ISO 266
 * one-third-octave centres 20 Hz .. 20 kHz (exact centres 1000 * 10^(k/10),
 * k = -17..13; nominal names 20, 25, 31.5, ... 16k, 20k).  The gains are
 * scaled by `amount`, limited to +-`max`, and joined into a smooth curve in
 * log frequency by a Catmull-Rom cubic through the band values (E. Catmull,
 * R. Rom, "A class of local interpolating splines", 1974: C1, exact at the
 * centres, reproduces straight lines, i.e. constant dB/oct tilts, exactly).
 * That magnitude, sampled on a dense grid, becomes one FIR for mid and one
 * for side, by the window method of dsp/fir.h (Kaiser window, one fixed-point
 * steps that pre-compensate the window's smoothing, as eq's linear mode), or
 * with phase = minimum by the homomorphic method (real cepstrum folded to a
 * causal one: A. V. Oppenheim, R. W. Schafer, "Discrete-Time Signal
 * Processing", 3rd ed., sec. 13.8).  Both run in the partitioned convolver
 * of dsp/fir.h.  Channels are taken in pairs (0,1), (2,3), ... as L/R:
 * M = (L+R)/2, S = (L-R)/2, filtered, L = M+S, R = M-S; an odd last channel
 * is filtered by the mid curve alone.
 *
 * Automation: a change of any gain, amount or max redesigns both FIRs at the
 * next partition (no allocation) and crossfades to them over one partition
 * (raised cosine), as eq's linear mode.  phase is fixed at init. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/fir.h"
#include "lathe/proc.h"
#include "util/simd.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define NB 31
#define FIR_LEN 32769     /* taps at 48 kHz, scaled with the rate */
#define KAISER_BETA 8.0   /* side lobes ~ -80 dB */
#define GAIN_RANGE 24.0
#define LIN_ITER 3        /* window pre-compensation steps */

enum { PH_MINIMUM, PH_LINEAR };
static const char *const phases[] = {"minimum", "linear", NULL};

#define AUTO (LATHE_PARAM_AUTOMATABLE)
#define DOC_MID(hz)                                                                                \
    "gain of the mid signal (L+R)/2 at the 1/3-octave centre " hz                                  \
    " (ISO 266); between centres the curve is a smooth cubic in log frequency"
#define DOC_SIDE(hz)                                                                               \
    "gain of the side signal (L-R)/2 at " hz "; side minus mid is the width change of the band "   \
    "(equal to mid: width unchanged)"
#define BAND(n, hz)                                                                                \
    {"band" #n ".mid", "dB", DOC_MID(hz), -GAIN_RANGE, GAIN_RANGE, 0, LATHE_PARAM_NUMBER, NULL,    \
     AUTO},                                                                                        \
    {                                                                                              \
        "band" #n ".side", "dB", DOC_SIDE(hz), -GAIN_RANGE, GAIN_RANGE, 0, LATHE_PARAM_NUMBER,     \
            NULL, AUTO                                                                             \
    }

static const lathe_param_desc match_params[] = {
    BAND(1, "20 Hz"),     BAND(2, "25 Hz"),     BAND(3, "31.5 Hz"),   BAND(4, "40 Hz"),
    BAND(5, "50 Hz"),     BAND(6, "63 Hz"),     BAND(7, "80 Hz"),     BAND(8, "100 Hz"),
    BAND(9, "125 Hz"),    BAND(10, "160 Hz"),   BAND(11, "200 Hz"),   BAND(12, "250 Hz"),
    BAND(13, "315 Hz"),   BAND(14, "400 Hz"),   BAND(15, "500 Hz"),   BAND(16, "630 Hz"),
    BAND(17, "800 Hz"),   BAND(18, "1 kHz"),    BAND(19, "1.25 kHz"), BAND(20, "1.6 kHz"),
    BAND(21, "2 kHz"),    BAND(22, "2.5 kHz"),  BAND(23, "3.15 kHz"), BAND(24, "4 kHz"),
    BAND(25, "5 kHz"),    BAND(26, "6.3 kHz"),  BAND(27, "8 kHz"),    BAND(28, "10 kHz"),
    BAND(29, "12.5 kHz"), BAND(30, "16 kHz"),   BAND(31, "20 kHz"),
    {"amount", "%",
     "scales every band gain (mid and side) in dB: 0 % is a pure delay, 100 % the gains as set",
     0, 100, 100, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"max", "dB",
     "limit on every scaled band gain: each is clamped to +-max before the curve is drawn", 0,
     GAIN_RANGE, 12, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"phase", "",
     "linear: symmetric FIRs of 32769 taps at 48 kHz, scaled with the rate (no phase change; "
     "latency half the FIR plus one partition: 16384 + 8192 frames at 48 kHz); minimum: "
     "minimum-phase FIRs of the same length and magnitude (latency one partition, 8192 frames "
     "at 48 kHz; phase shifts like an analog EQ); fixed at init",
     0, 1, PH_LINEAR, LATHE_PARAM_CHOICE, phases, 0},
};
enum { P_AMOUNT = 2 * NB, P_MAX, P_PHASE, P_COUNT };

typedef struct {
    double gain[NB][2]; /* [band][0 mid, 1 side], dB as set */
    double amount, maxdb;
    int phase;
    double rate;
    int channels, pairs, nmid, inited, dirty;
    int n, taps, half, B, M; /* reported length, designed taps, centre, partition, grid */
    lathe_pconv conv[2];     /* 0: mid (pairs + odd channel), 1: side (pairs) */
    lathe_fft dfft;          /* M points */
    fftwf_complex *dspec;    /* M/2+1 */
    float *dtime;            /* M */
    float *win;              /* half+1 (linear) or taps (minimum: the fade of the tail) */
    float *h;                /* taps */
    float *target, *corr;    /* M/2+1 */
    float *xb;               /* M/2+1: band index position of each bin */
} match_state;

static void match_set(void *st, int param, double v) {
    match_state *s = st;
    if (param < 2 * NB)
        s->gain[param / 2][param % 2] = v;
    else if (param == P_AMOUNT)
        s->amount = v;
    else if (param == P_MAX)
        s->maxdb = v;
    else if (param == P_PHASE && !s->inited)
        s->phase = v >= 0.5 ? PH_LINEAR : PH_MINIMUM;
    s->dirty = 1;
}

/* The effective gain (dB) of band k on path c: scaled, limited. */
static double eff_gain(const match_state *s, int k, int c) {
    double g = s->gain[k][c] * s->amount / 100.0;
    if (g > s->maxdb) g = s->maxdb;
    if (g < -s->maxdb) g = -s->maxdb;
    return g;
}

/* Catmull-Rom through g[0..NB) at integer positions; clamped ends. */
static double curve_at(const double *g, double x) {
    if (x <= 0) return g[0];
    if (x >= NB - 1) return g[NB - 1];
    int i = (int)x;
    double t = x - i;
    double p0 = g[i > 0 ? i - 1 : 0], p1 = g[i], p2 = g[i + 1], p3 = g[i + 2 < NB ? i + 2 : NB - 1];
    return 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t +
                  (3 * p1 - p0 - 3 * p2 + p3) * t * t * t);
}

/* Designs the FIR of path c into s->h (taps floats). */
static void design(match_state *s, int c) {
    double g[NB];
    int flat = 1;
    for (int k = 0; k < NB; k++) {
        g[k] = eff_gain(s, k, c);
        if (g[k] != 0) flat = 0;
    }
    memset(s->h, 0, sizeof(float) * (size_t)s->taps);
    if (flat) { /* exactly a delay: the null of amount 0 */
        s->h[s->phase == PH_LINEAR ? s->half : 0] = 1.0f;
        return;
    }
    const int M = s->M, bins = M / 2 + 1;
    for (int k = 0; k < bins; k++)
        s->target[k] = (float)pow(10.0, curve_at(g, s->xb[k]) / 20.0);
    if (s->phase == PH_LINEAR) {
        for (int k = 0; k < bins; k++)
            s->dspec[k][0] = s->corr[k] = s->target[k];
        lathe_fir_from_magnitude(&s->dfft, s->dspec, s->dtime, s->win, s->half, s->h);
        /* LIN_ITER fixed-point steps against the window's smoothing (as eq):
         * measure the designed magnitude A, correct C' = C T / A */
        for (int it = 0; it < LIN_ITER; it++) {
            if (it) lathe_fir_from_magnitude(&s->dfft, s->dspec, s->dtime, s->win, s->half, s->h);
            memset(s->dtime, 0, sizeof(float) * (size_t)M);
            s->dtime[0] = s->h[s->half];
            for (int k = 1; k <= s->half; k++)
                s->dtime[k] = s->dtime[M - k] = s->h[s->half + k];
            lathe_fft_forward(&s->dfft, s->dtime, s->dspec);
            for (int k = 0; k < bins; k++) {
                double a = s->dspec[k][0], r = a > 0 ? s->target[k] / a : 1;
                s->dspec[k][0] = s->corr[k] = (float)(s->corr[k] * (r > 0.5 && r < 2 ? r : 1));
            }
        }
        lathe_fir_from_magnitude(&s->dfft, s->dspec, s->dtime, s->win, s->half, s->h);
        return;
    }
    /* minimum phase: real cepstrum of log|H|, folded (c[0], 2 c[n], c[M/2]),
     * back to the spectrum, exp, inverse: the causal minimum-phase response */
    for (int k = 0; k < bins; k++) {
        s->dspec[k][0] = logf(s->target[k]);
        s->dspec[k][1] = 0;
    }
    lathe_fft_inverse(&s->dfft, s->dspec, s->dtime);
    const float inv = 1.0f / (float)M;
    s->dtime[0] *= inv;
    for (int n = 1; n < M / 2; n++)
        s->dtime[n] *= 2 * inv;
    s->dtime[M / 2] *= inv;
    for (int n = M / 2 + 1; n < M; n++)
        s->dtime[n] = 0;
    lathe_fft_forward(&s->dfft, s->dtime, s->dspec);
    for (int k = 0; k < bins; k++) {
        double m = exp(s->dspec[k][0]), ph = s->dspec[k][1];
        s->dspec[k][0] = (float)(m * cos(ph));
        s->dspec[k][1] = (float)(m * sin(ph));
    }
    lathe_fft_inverse(&s->dfft, s->dspec, s->dtime);
    for (int n = 0; n < s->taps; n++)
        s->h[n] = s->dtime[n] * inv * s->win[n];
}

static void redesign(match_state *s, int now) {
    design(s, 0);
    lathe_pconv_load(&s->conv[0], s->h, s->taps, now);
    if (s->pairs) {
        design(s, 1);
        lathe_pconv_load(&s->conv[1], s->h, s->taps, now);
    }
    s->dirty = 0;
}

static void match_fini(void *st) {
    match_state *s = st;
    lathe_pconv_free(&s->conv[0]);
    lathe_pconv_free(&s->conv[1]);
    lathe_fft_destroy(&s->dfft);
    fftwf_free(s->dspec);
    fftwf_free(s->dtime);
    fftwf_free(s->win);
    fftwf_free(s->h);
    fftwf_free(s->target);
    fftwf_free(s->corr);
    fftwf_free(s->xb);
    s->dspec = NULL;
    s->dtime = s->win = s->h = s->target = s->corr = s->xb = NULL;
}

static lathe_status match_init(void *st, double rate, int channels, int max_block,
                               lathe_error *err) {
    (void)max_block;
    match_state *s = st;
    s->rate = rate;
    s->channels = channels;
    s->pairs = channels / 2;
    s->nmid = s->pairs + (channels & 1);
    /* taps: FIR_LEN at 48 kHz, scaled with the rate (the same resolution in
     * Hz), odd.  Partition B about taps/4 (at most 8192; it adds B frames of
     * latency): per sample and path the convolver does two FFTs of 2B points
     * per B samples and about taps/B complex multiply-adds.  Measured per
     * 125 s of stereo (procbench master, CPU): at 44.1 kHz (P = taps/B
     * rounded up) B = 4096 (P 8) 0.075 s, 8192 (P 4) 0.073 s, 16384 (P 2)
     * 0.085 s, 32768 (P 1) 0.091 s; at 48 kHz 8192 (P 5) also cheapest, and
     * at 96 kHz (P 9) by 10 %.  Beyond 8192 the FFTs' cost per sample grows
     * faster (their working set leaves the cache) than the sums shrink. */
    double x = FIR_LEN * rate / 48000.0;
    int taps = 2 * (int)floor(x / 2) + 1;
    if (taps < 255) taps = 255;
    int B = 64;
    while (B < 8192 && 4 * B < taps)
        B *= 2;
    int M = 2;
    while (M < 2 * taps)
        M *= 2;
    s->n = taps + 2 * B; /* the processor's whole response: B zeros each side */
    s->B = B;
    s->M = M;
    s->taps = taps;
    s->half = (taps - 1) / 2;
    size_t bins = (size_t)(M / 2 + 1);
    s->dspec = fftwf_malloc(sizeof(fftwf_complex) * bins);
    s->dtime = fftwf_malloc(sizeof(float) * (size_t)M);
    s->win = fftwf_malloc(sizeof(float) * (size_t)taps);
    s->h = fftwf_malloc(sizeof(float) * (size_t)taps);
    s->target = fftwf_malloc(sizeof(float) * bins);
    s->corr = fftwf_malloc(sizeof(float) * bins);
    s->xb = fftwf_malloc(sizeof(float) * bins);
    if (!s->dspec || !s->dtime || !s->win || !s->h || !s->target || !s->corr || !s->xb ||
        lathe_fft_init(&s->dfft, M) ||
        lathe_pconv_init(&s->conv[0], s->nmid, B, taps) ||
        (s->pairs && lathe_pconv_init(&s->conv[1], s->pairs, B, taps))) {
        match_fini(s);
        lathe_error_set(err, LATHE_E_NOMEM, "match: cannot allocate two %d-tap FIRs", taps);
        return LATHE_E_NOMEM;
    }
    /* band position of bin k: centres at 1000 * 10^((j - 17) / 10) */
    s->xb[0] = -1;
    for (int k = 1; k < (int)bins; k++)
        s->xb[k] = (float)(10.0 * log10(k * rate / M / 1000.0) + 17.0);
    if (s->phase == PH_LINEAR) {
        lathe_kaiser_half(s->win, s->half, KAISER_BETA);
    } else {
        /* the tail fade of a minimum-phase response: half a Kaiser window
         * from 1 at n = 0 to its edge at n = taps - 1 */
        lathe_kaiser_half(s->win, taps - 1, KAISER_BETA);
    }
    s->inited = 1;
    redesign(s, 1);
    return LATHE_OK;
}


/* One pair: M = (L+R)/2 and S = (L-R)/2 into the convolvers' inputs (non-finite
 * values as zeros, as lathe_pconv_run would make them), L = M'+S' and
 * R = M'-S' from their outputs. Six distinct arrays (restrict: it vectorises). */
LATHE_AVX2_CLONES static void
ms_pass(float *restrict l, float *restrict r, float *restrict mi,
        float *restrict si, const float *restrict mo, const float *restrict so,
        int n) {
    for (int i = 0; i < n; i++) {
        const float m = 0.5f * (l[i] + r[i]), d = 0.5f * (l[i] - r[i]);
        mi[i] = fabsf(m) <= FLT_MAX ? m : 0.0f;
        si[i] = fabsf(d) <= FLT_MAX ? d : 0.0f;
        l[i] = mo[i] + so[i];
        r[i] = mo[i] - so[i];
    }
}

static void match_process(void *st, float *const *io, const float *const *key, int frames) {
    (void)key;
    match_state *s = st;
    long off = 0;
    while (off < frames) {
        if (s->conv[0].pos == 0 && s->dirty) redesign(s, 0); /* crossfades over one partition */
        int n = lathe_pconv_room(&s->conv[0]);
        if (n > frames - off) n = (int)(frames - off);
        /* M/S into the convolvers' inputs and their outputs back to L/R in
         * one pass (lathe_pconv_in/out: no copies); non-finite samples enter
         * as zeros, as lathe_pconv_run would make them */
        for (int p = 0; p < s->pairs; p++)
            ms_pass(io[2 * p] + off, io[2 * p + 1] + off, lathe_pconv_in(&s->conv[0], p),
                    lathe_pconv_in(&s->conv[1], p), lathe_pconv_out(&s->conv[0], p),
                    lathe_pconv_out(&s->conv[1], p), n);
        if (s->channels & 1) {
            float *x = io[s->channels - 1] + off, *mi = lathe_pconv_in(&s->conv[0], s->pairs);
            const float *mo = lathe_pconv_out(&s->conv[0], s->pairs);
            for (int i = 0; i < n; i++) {
                const float v = x[i];
                mi[i] = fabsf(v) <= FLT_MAX ? v : 0.0f;
                x[i] = mo[i];
            }
        }
        lathe_pconv_advance(&s->conv[0], n);
        if (s->pairs) lathe_pconv_advance(&s->conv[1], n);
        off += n;
    }
}

static int match_latency(const void *st) {
    const match_state *s = st;
    if (!s->inited) return 0;
    return s->phase == PH_LINEAR ? (s->n - 1) / 2 : s->B;
}

static void match_reset(void *st) {
    match_state *s = st;
    if (!s->inited) return;
    lathe_pconv_reset(&s->conv[0]);
    if (s->pairs) lathe_pconv_reset(&s->conv[1]);
}

const lathe_proc_desc lathe_proc_match = {
    .name = "match",
    .doc = "Tone and width matching on mid and side, for reference mastering (lathe master "
           "--reference). 31 gains for mid (L+R)/2 and 31 for side (L-R)/2 at the ISO 266 "
           "one-third-octave centres 20 Hz to 20 kHz (exact centres 1000 * 10^(k/10) Hz); the "
           "side gain minus the mid gain is the band's width change. The gains are scaled by "
           "amount, clamped to +-max and joined by a Catmull-Rom cubic in log frequency (exact at "
           "the centres, exact for constant dB/oct tilts); that magnitude is sampled on a dense "
           "grid and made into one FIR for mid and one for side: linear phase by the window "
           "method (Kaiser window, Oppenheim & Schafer, \"Discrete-Time Signal Processing\", "
           "7.5-7.6, with three pre-compensation steps for the window's smoothing) or minimum "
           "phase by the folded real cepstrum (ibid., 13.8), 32769 taps at 48 kHz (scaled with "
           "the rate), run by uniformly partitioned FFT convolution (F. Wefers 2015) in "
           "partitions of about taps/4 (8192 frames at 48 kHz). Latency: half the FIR plus one "
           "partition in linear phase, one partition in minimum phase. With every "
           "gain at 0 dB (or amount 0 %) the output is the input delayed. Channels are taken in "
           "pairs as L/R; an odd last channel gets the mid curve. Changes redesign both FIRs at "
           "the next partition and crossfade over one partition (no clicks; automate sparingly). "
           "Usually set by the reference analysis (docs/reference.md), not by hand.",
    .params = match_params,
    .nparams = P_COUNT,
    .state_size = sizeof(match_state),
    .init = match_init,
    .set = match_set,
    .process = match_process,
    .latency = match_latency,
    .reset = match_reset,
    .fini = match_fini,
};
