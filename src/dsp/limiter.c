/* SPDX-License-Identifier: GPL-3.0-or-later */
/* limiter: a lookahead brickwall limiter with true-peak detection.
 *
 * Signal flow, per channel (all gains linear, in double):
 *
 *   x = in * gain                           input drive (smoothed)
 *   a[k] = 4x-oversampled |x| after k       analysis/truepeak.c (BS.1770-4 Annex 2),
 *                                           and a short 48-tap interpolator: the larger
 *   p[k] = max(a[k], a[k-1])                points on both sides of sample k
 *   r[k] = min(1, T / p[k])                 required gain, T = ceiling - margin
 *                                           (only p > T matters: the detector
 *                                           skips what an exact bound keeps under T)
 *   (stereo link: geometric blend of r_c with the smallest r over channels)
 *   m[k] = min(r[k-W+1 .. k])               running minimum (van Herk / Gil-Werman)
 *   h[k] = m[k] if m[k] <= h[k-1], else     instant attack,
 *          h[k-1] + (m[k] - h[k-1]) * a     exponential release (linear gain)
 *   (auto_release: h also takes a 4x faster step towards m, capped at a
 *   slow average of h (time constant 10 x release), when that is higher:
 *   fast back to the programme's average gain, then at the set release)
 *   g = B2(B1(h))                           two box (moving-average) filters
 *   out[k] = clamp(x[k - D] * g[k], +-ceiling)
 *
 * Why the gain is low enough at the peak (the lookahead argument).  Let the
 * two boxes have lengths L1 and L2; their cascade is one FIR with
 * non-negative weights w_j summing to 1 over support S = L1 + L2 - 1, so
 * g[n] = sum_{j=0}^{S-1} w_j h[n-j].  The release only ever raises h more
 * slowly than m, and attacks instantly, so h[k] <= m[k] for all k.  The
 * running minimum spans W >= S samples: m[n-j] = min r[n-j-W+1 .. n-j],
 * which contains r[n-S+1] whenever 0 <= j <= S-1 (because n-j-W+1 <=
 * n-S+1 <= n-j).  Hence every term is <= r[n-S+1] and, the weights being a
 * convex combination,
 *
 *     g[n] <= r[n - (S - 1)].
 *
 * So the gain applied at step n is low enough for the sample that entered
 * the detector S-1 steps earlier: the audio is delayed by S-1 (plus the
 * detector's own latency) and the guarantee is exact, not approximate.  The
 * two boxes turn the attack into a smooth S-shaped (piecewise quadratic)
 * ramp that starts S-1 samples before the peak and lands on the required
 * gain exactly at it.
 *
 * Generalised, with W >= S: g[n] <= r[j] for every j in [n-W+1, n-S+1]
 * (the intersection of the S windows).  We use W = S + 2G + hold and delay
 * the audio by S - 1 + G, so the gain at a detected peak is also low enough
 * for G = 6 samples on either side of it (in true-peak mode): the
 * interpolated points near a peak are built from neighbouring samples,
 * which must not carry a higher gain.  The lookahead L (latency L + 16)
 * is split as S - 1 + G = L.  The hold keeps the gain still across the
 * peaks of a steady low-frequency tone (no ripple, no distortion: the
 * default 10 ms covers tones down to about 45 Hz); a longer window never
 * breaks the bound.
 *
 * Meters disagree about inter-sample peaks of content near Nyquist: the
 * long 128-tap Kaiser interpolator of analysis/truepeak.c reads up to
 * 0.4 dB lower than short ~48-tap windowed-sinc meters (the BS.1770-4
 * reference filter, libebur128's 49-tap Hann sinc) on heavily limited
 * noise.  So the detector also runs a short 4x interpolator of its own
 * (Hann-windowed sinc over +-6 samples, short_design_init) and takes the
 * larger reading.  A fixed safety margin (LIM_MARGIN_DB, 0.1 dB) between
 * the detector threshold T and the ceiling absorbs the rest (gain
 * modulation, filter differences): across a stress grid (44.1/48 kHz,
 * lookahead 0.5-10 ms, release 1-300 ms, hold 0/5 ms, drive 6-36 dB, tones,
 * bursts, clicks) libebur128 read at least 0.089 dB under the ceiling.
 * A final clamp at the ceiling makes the sample-peak guarantee absolute.
 *
 * Unity gain is exact: r is exactly 1.0 below the threshold, the release
 * snaps onto its target when within 1e-7, and each box knows when it
 * holds nothing but exactly 1.0 and then returns exactly 1.0.  A
 * signal under the threshold therefore comes out as a pure delay, bit for
 * bit.
 *
 * The design idea (running minimum over the lookahead, then a moving
 * average that reaches the minimum as the peak arrives) follows Fons
 * Adriaensen's "dpl" limiter in x42-plugins; this is an independent
 * implementation. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/truepeak.h"
#include "lathe/proc.h"
#include "util/simd.h"

#define LIM_MAXCH 8
#ifndef LIM_MARGIN_DB
#define LIM_MARGIN_DB 0.1 /* detector threshold below the ceiling (true-peak mode) */
#endif
#define LIM_MAX_LOOKAHEAD_MS 10.0
#define LIM_MAX_HOLD_MS 50.0
#define LIM_GAIN_SMOOTH_MS 20.0  /* input gain smoothing time constant */
/* Smallest gain (-120 dB): keeps the gain arithmetic well conditioned; the
 * final clamp still holds the ceiling for inputs beyond that. */
#define LIM_MIN_GAIN 1e-6
#ifndef LIM_GUARD
#define LIM_GUARD 6
#endif
#define LIM_SNAP 1e-7            /* release lands exactly on its target within this */

enum { P_CEILING, P_GAIN, P_RELEASE, P_AUTO_RELEASE, P_LOOKAHEAD, P_HOLD, P_TRUE_PEAK, P_LINK, P_COUNT };

static const lathe_param_desc params[P_COUNT] = {
    {"ceiling", "dB",
     "Highest level the output may reach. In true-peak mode this is a true-peak (dBTP) "
     "ceiling: neither samples nor the inter-sample peaks that a 4x oversampling meter "
     "(ITU-R BS.1770-4 Annex 2) reads exceed it; otherwise a sample-peak ceiling.",
     -20.0, 0.0, -1.0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"gain", "dB",
     "Input gain (drive) applied before limiting, smoothed over 20 ms; raise it to push "
     "the programme into the limiter and gain loudness.",
     -24.0, 36.0, 0.0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"release", "ms",
     "Release time constant: after the hold, the linear gain recovers exponentially "
     "towards the required gain, covering 63 % of the distance in this time.",
     1.0, 2000.0, 100.0, LATHE_PARAM_NUMBER, NULL,
     LATHE_PARAM_AUTOMATABLE | LATHE_PARAM_LOG},
    {"auto_release", "",
     "Programme-dependent release: dips below the programme's average gain (a one-pole "
     "average with 10x the release time) recover 4x faster than `release`, back to that "
     "average; from there the gain recovers at `release`. Isolated transients then "
     "barely duck the mix, while dense material does not pump.",
     0.0, 1.0, 0.0, LATHE_PARAM_BOOL, NULL, LATHE_PARAM_AUTOMATABLE},
    {"lookahead", "ms",
     "Lookahead: the gain ramps down smoothly over this time before each peak. Reported "
     "as latency (plus 16 samples for the true-peak detector; at least 8 samples). Fixed "
     "at start.",
     0.5, LIM_MAX_LOOKAHEAD_MS, 2.0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_LOG},
    {"hold", "ms",
     "Extra time the lowest required gain is held before the release starts; holds the "
     "gain steady across the peaks of low tones (less distortion) at the cost of a "
     "slightly later recovery.",
     0.0, LIM_MAX_HOLD_MS, 10.0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"true_peak", "",
     "Detect inter-sample peaks with a 4x polyphase interpolator (on), or only sample "
     "peaks (off: 16 samples less latency). Fixed at start.",
     0.0, 1.0, 1.0, LATHE_PARAM_BOOL, NULL, 0},
    {"link", "%",
     "Stereo link: at 100 % every channel gets the same gain (the image stays put); at "
     "0 % each channel is limited on its own; between, the gain in dB is blended.",
     0.0, 100.0, 100.0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
};

/* Sliding-window minimum of the required gains (van Herk 1992, Gil &
 * Werman 1993, in its streaming "two stacks" form): the window [lo, t] is
 * split at fe into a front [lo, fe), whose suffix minima are stored, and a
 * back [fe, t], whose minimum is kept as it grows; the minimum is the
 * smaller of the two.  When the front runs out, the back becomes the front
 * (its suffix minima computed once).  Three comparisons a sample amortised,
 * and no branch that depends on the data, where a monotonic deque's pops
 * mispredict.  The window starts at lo = the largest t' - W + 1 over the
 * steps so far: when W (the hold) grows, the window grows one sample a step
 * instead of taking in older samples again, as a deque that drops the
 * entries older than its window keeps it.  Values are stored by time in a
 * ring of 2^k >= W entries. */
typedef struct {
    double *val, *suf; /* the ring: values, and the front's suffix minima */
    int mask;
    int64_t lo, fe;
    double pre;      /* minimum of the back; 1.0 when empty (every r <= 1.0) */
    int64_t last_nu; /* time of the latest value that is not 1.0 (-1: none) */
    double mprev;    /* the minimum after the latest step; -1 before the first */
} run_min;

/* Moving average of fixed length with an exact-unity shortcut. */
typedef struct {
    double *buf;
    int len, pos;
    int unit_in; /* steps until every entry is 1.0 again; 0: all are */
    double sum;
} box_filter;

/* A second, short interpolator (see the file comment): 4x, Hann-windowed
 * sinc spanning +-6 input samples, like the 48-tap filter of BS.1770-4
 * Annex 2.  Short filters read inter-sample peaks of content near Nyquist
 * higher than the long Kaiser filter does; the detector takes the larger. */
#define SHORT_HALF 6
#define SHORT_HIST 32

typedef struct {
    float coef[3][2 * SHORT_HALF]; /* phases 1..3, taps for x[k-5 .. k+6] */
    double gain;                   /* max over phases of sum |coef| */
} short_design;

typedef struct {
    lathe_tp_chan tp;
    float *hist; /* SHORT_HIST history + one block, for the short interpolator */
    float *x;      /* driven input, one block (in hist, after its history) */
    float *amax;   /* detector output, one block */
    float *delay;  /* audio delay line: the last D driven frames, oldest first */
    float a_prev;  /* detector value of the previous sample */
    run_min q;
    double *m; /* the window minima of one block */
    box_filter b1, b2;
    double h;   /* released gain */
    double avg; /* programme-average gain (auto release) */
} lim_chan;

typedef struct {
    double v[P_COUNT];
    double rate;
    int channels, max_block;
    int lookahead, guard, det_lat, delay_len;
    int tp_on;
    /* Channels 1.. hold no gain state of their own: it equals channel 0's
     * (true from reset while the link stays at 100 %, where every channel
     * gets the same required gain, so one gain computer serves them all). */
    int shared;
    int64_t t; /* sample counter (the running minimum's times) */
    lathe_tp_design design;
    short_design sdesign;
    double det_gain; /* no detector value exceeds det_gain * max |x| over its taps */
    double short_thr;  /* the thr short_xlim was computed for */
    float short_xlim;  /* short_points skips the tiles whose taps stay under this */
    double gin, gin_target;
    double clamp, clamp_next;
    int clamp_count;
    double min_gain; /* smallest gain in the last block */
    float *gbuf;     /* per-block input gain ramp */
    float *pbuf;     /* per-block detector values (the largest over linked channels) */
    double *ones;    /* max_block times 1.0 */
    double *rq;      /* per-sample required gains, then gains, [ch][max_block] */
    lim_chan ch[LIM_MAXCH];
} limiter;

static void set(void *st, int i, double v)
{
    limiter *s = st;
    if (i >= 0 && i < P_COUNT) s->v[i] = v;
}

static void run_min_reset(run_min *q)
{
    for (int i = 0; i <= q->mask; i++) q->val[i] = 1.0;
    q->lo = q->fe = 0;
    q->pre = 1.0;
    q->last_nu = -1;
    q->mprev = -1.0;
}

/* Pushes the n values r (NULL: n times 1.0) of times t.. with window W and
 * writes the window minima to m; returns 0 instead (m not written) when
 * every minimum is 1.0 (the window holds nothing else). */
static int run_min_block(run_min *q, const double *r, int n, int64_t t, int W, double *m)
{
    if (n <= 0) return 0;
    const int mask = q->mask;
    double *restrict val = q->val, *restrict suf = q->suf;
    int64_t last = -1; /* within the block */
    if (r)
        for (int i = n - 1; i >= 0; i--)
            if (r[i] != 1.0) {
                last = t + i;
                break;
            }
    int64_t lo = q->lo > t - W + 1 ? q->lo : t - W + 1;
    if (last < 0 && q->last_nu < lo) {
        /* every value in every window of the block is 1.0: store the ones
         * that later windows can reach, the window is all back */
        const int64_t from = t + n - W > t ? t + n - W : t;
        for (int64_t k = from; k < t + n; k++) val[k & mask] = 1.0;
        lo = q->lo > t + n - W ? q->lo : t + n - W;
        q->lo = lo;
        q->fe = lo;
        q->pre = 1.0;
        q->mprev = 1.0;
        return 0;
    }
    if (last >= 0) q->last_nu = last;
    lo = q->lo;
    int64_t fe = q->fe;
    double pre = q->pre;
    for (int i = 0; i < n; i++) {
        const int64_t ti = t + i;
        const double v = r ? r[i] : 1.0;
        val[ti & mask] = v;
        pre = v < pre ? v : pre;
        if (ti - W + 1 > lo) lo = ti - W + 1;
        if (lo >= fe) {
            /* the front is used up: the back becomes the front */
            double sm = 1.0;
            for (int64_t k = ti; k >= lo; k--) {
                const double x = val[k & mask];
                sm = x < sm ? x : sm;
                suf[k & mask] = sm;
            }
            fe = ti + 1;
            pre = 1.0;
        }
        const double f = suf[lo & mask];
        m[i] = f < pre ? f : pre;
    }
    q->lo = lo;
    q->fe = fe;
    q->pre = pre;
    q->mprev = m[n - 1];
    return 1;
}

static void box_reset(box_filter *b)
{
    for (int i = 0; i < b->len; i++) b->buf[i] = 1.0;
    b->pos = 0;
    b->unit_in = 0;
    b->sum = b->len;
}

static void short_design_init(short_design *d)
{
    for (int p = 1; p < 4; p++) {
        double sum = 0;
        for (int j = 0; j < 2 * SHORT_HALF; j++) {
            /* point k + p/4 from input sample k - 5 + j */
            double t = p / 4.0 + (SHORT_HALF - 1 - j);
            double sinc = sin(M_PI * t) / (M_PI * t);
            double w = 0.5 * (1.0 + cos(M_PI * t / SHORT_HALF));
            d->coef[p - 1][j] = (float)(sinc * w);
            sum += sinc * w;
        }
        for (int j = 0; j < 2 * SHORT_HALF; j++) d->coef[p - 1][j] = (float)(d->coef[p - 1][j] / sum);
    }
    d->gain = 0.0;
    for (int p = 0; p < 3; p++) {
        double g = 0;
        for (int j = 0; j < 2 * SHORT_HALF; j++) g += fabs(d->coef[p][j]);
        d->gain = g > d->gain ? g : d->gain;
    }
}

/* max |x[i]| over n samples (8 lanes: max is exact in any order). */
static float absmax(const float *x, int n)
{
    float m[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) m[k] = fabsf(x[i + k]) > m[k] ? fabsf(x[i + k]) : m[k];
    for (; i < n; i++) m[0] = fabsf(x[i]) > m[0] ? fabsf(x[i]) : m[0];
    for (int k = 1; k < 8; k++) m[0] = m[k] > m[0] ? m[k] : m[0];
    return m[0];
}

/* a[i] = max(a[i], short-filter points after sample i - det_lat).
 * Tiles of 16 outputs, all three phases at once: six vector sums in
 * registers, each input loaded once for all phases, every point summed
 * over the taps in the same order as the plain loop of the tail (so the
 * same floats on every path).  A tile whose taps are all at most xlim in
 * magnitude is skipped (a left as it is): with xlim <= T / (gain * 1.0001)
 * none of its points can exceed T (the float sum of 12 products is within
 * 12 * 2^-24 of the exact one).  xlim < 0 computes every tile. */
#define SHORT_TILE 16
typedef float v8sf __attribute__((vector_size(32), may_alias, aligned(4)));
typedef int v8si __attribute__((vector_size(32)));
/* lane by lane: |a|, and a > b ? a : b (macros: a function taking or
 * returning these vectors would change the ABI without AVX) */
#define VABS8(a) ((v8sf)((v8si)(a) & (v8si){0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, \
                                           0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff}))
#define VMAX8(r, a, b)                                                                   \
    do {                                                                                 \
        const v8sf va_ = (a), vb_ = (b);                                                 \
        const v8si gt_ = va_ > vb_;                                                      \
        (r) = (v8sf)((gt_ & (v8si)va_) | (~gt_ & (v8si)vb_));                            \
    } while (0)
_Static_assert(SHORT_TILE + 2 * SHORT_HALF - 1 == 27,
               "a tile's taps: three vectors and one overlapping the third");
LATHE_AVX2_CLONES static void
short_points(const short_design *d, const float *base, int n, float xlim, float *restrict a)
{
    int i = 0;
    for (; i + SHORT_TILE <= n; i += SHORT_TILE) {
        const float *xs = base + i;
        v8sf xm, x2;
        VMAX8(xm, VABS8(*(const v8sf *)xs), VABS8(*(const v8sf *)(xs + 8)));
        VMAX8(x2, VABS8(*(const v8sf *)(xs + 16)), VABS8(*(const v8sf *)(xs + 19)));
        VMAX8(xm, xm, x2);
        const v8si over = xm > (v8sf){xlim, xlim, xlim, xlim, xlim, xlim, xlim, xlim};
        int any = 0;
        for (int l = 0; l < 8; l++) any |= over[l];
        if (!any) continue;
        v8sf s0 = {0}, s1 = {0}, t0 = {0}, t1 = {0}, u0 = {0}, u1 = {0};
        for (int j = 0; j < 2 * SHORT_HALF; j++) {
            const v8sf lo = *(const v8sf *)(xs + j), hi = *(const v8sf *)(xs + j + 8);
            const float h0 = d->coef[0][j], h1 = d->coef[1][j], h2 = d->coef[2][j];
            s0 += h0 * lo, s1 += h0 * hi;
            t0 += h1 * lo, t1 += h1 * hi;
            u0 += h2 * lo, u1 += h2 * hi;
        }
        v8sf *a0 = (v8sf *)(a + i), *a1 = (v8sf *)(a + i + 8), m0, m1;
        VMAX8(m0, *a0, VABS8(s0));
        VMAX8(m0, m0, VABS8(t0));
        VMAX8(*a0, m0, VABS8(u0));
        VMAX8(m1, *a1, VABS8(s1));
        VMAX8(m1, m1, VABS8(t1));
        VMAX8(*a1, m1, VABS8(u1));
    }
    for (; i < n; i++) {
        float m = a[i];
        for (int p = 0; p < 3; p++) {
            float acc = 0.0f;
            for (int j = 0; j < 2 * SHORT_HALF; j++) acc += d->coef[p][j] * base[i + j];
            float v = fabsf(acc);
            m = v > m ? v : m;
        }
        a[i] = m;
    }
}

/* x = in * g (gbuf[i] when gbuf is not NULL), bounded at +-1e20 (NaN ->
 * 1e20): the bound keeps the detector's sums finite for absurd inputs; it
 * never touches real audio. */
LATHE_AVX2_CLONES static void
drive(const float *restrict in, const float *restrict gbuf, float g, float *restrict x, int n)
{
    if (gbuf) {
        for (int i = 0; i < n; i++) {
            const float v = in[i] * gbuf[i];
            x[i] = v < 1e20f ? (v > -1e20f ? v : -1e20f) : 1e20f;
        }
    } else {
        for (int i = 0; i < n; i++) {
            const float v = in[i] * g;
            x[i] = v < 1e20f ? (v > -1e20f ? v : -1e20f) : 1e20f;
        }
    }
}

/* p[i] = max(a[i], a[i-1]) (a[-1] = prev): the detector value of sample i,
 * the oversampled points on both sides of it; with more, the larger of
 * that and p[i] (the linked channels' largest). */
LATHE_AVX2_CLONES static void
both_sides(float *restrict p, const float *restrict a, float prev, int n, int more)
{
    if (n <= 0) return;
    float v = a[0] > prev ? a[0] : prev;
    p[0] = more && p[0] > v ? p[0] : v;
    if (more) {
        for (int i = 1; i < n; i++) {
            const float w = a[i] > a[i - 1] ? a[i] : a[i - 1];
            p[i] = p[i] > w ? p[i] : w;
        }
    } else {
        for (int i = 1; i < n; i++) p[i] = a[i] > a[i - 1] ? a[i] : a[i - 1];
    }
}

/* r[i] = min(1, max(thr / p[i], LIM_MIN_GAIN)), exactly 1.0 where p[i] <=
 * thr (the division, made for every i so the loop has no branch, is only
 * kept where p[i] > thr). */
LATHE_AVX2_CLONES static void
required(const float *restrict p, int n, double thr, double *restrict r)
{
    for (int i = 0; i < n; i++) {
        const double pm = p[i];
        double g = thr / pm;
        g = g > LIM_MIN_GAIN ? g : LIM_MIN_GAIN;
        r[i] = pm > thr ? g : 1.0;
    }
}

static void fini(void *st)
{
    limiter *s = st;
    for (int c = 0; c < LIM_MAXCH; c++) {
        lim_chan *ch = &s->ch[c];
        free(ch->hist);
        free(ch->amax);
        free(ch->delay);
        free(ch->q.val);
        free(ch->q.suf);
        free(ch->m);
        free(ch->b1.buf);
        free(ch->b2.buf);
        memset(ch, 0, sizeof *ch);
    }
    free(s->gbuf);
    free(s->pbuf);
    free(s->ones);
    free(s->rq);
    s->gbuf = NULL;
    s->pbuf = NULL;
    s->ones = NULL;
    s->rq = NULL;
}

static void reset(void *st)
{
    limiter *s = st;
    for (int c = 0; c < s->channels; c++) {
        lim_chan *ch = &s->ch[c];
        if (s->tp_on) lathe_tp_chan_reset(&ch->tp);
        if (ch->hist) memset(ch->hist, 0, SHORT_HIST * sizeof *ch->hist);
        if (s->delay_len) memset(ch->delay, 0, (size_t)s->delay_len * sizeof *ch->delay);
        ch->a_prev = 0.0f;
        run_min_reset(&ch->q);
        box_reset(&ch->b1);
        box_reset(&ch->b2);
        ch->h = 1.0;
        ch->avg = 1.0;
    }
    s->shared = 1;
    s->t = 0;
    s->gin = s->gin_target = pow(10.0, s->v[P_GAIN] / 20.0);
    s->clamp = s->clamp_next = pow(10.0, s->v[P_CEILING] / 20.0);
    s->clamp_count = 0;
    s->min_gain = 1.0;
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err)
{
    limiter *s = st;
    s->rate = rate;
    s->channels = channels;
    s->max_block = max_block;
    s->tp_on = s->v[P_TRUE_PEAK] >= 0.5;
    s->det_lat = s->tp_on ? lathe_tp_latency() : 0;
    s->lookahead = (int)lround(s->v[P_LOOKAHEAD] * 1e-3 * rate);
    if (s->lookahead < 2) s->lookahead = 2;
    /* S = L + 1 = L1 + L2 - 1: the gain lines up with audio delayed by S - 1 = L. */
    s->guard = s->tp_on ? LIM_GUARD : 0;
    if (s->lookahead < s->guard + 2) s->lookahead = s->guard + 2;
    int S = s->lookahead - s->guard + 1;
    int L1 = (S + 1) / 2, L2 = S + 1 - L1;
    s->delay_len = s->det_lat + s->lookahead;
    int wmax = S + 2 * s->guard + (int)ceil(LIM_MAX_HOLD_MS * 1e-3 * rate) + 2;
    if (s->tp_on) {
        lathe_tp_design_init(&s->design, rate);
        short_design_init(&s->sdesign);
        s->det_gain = s->design.gain > s->sdesign.gain ? s->design.gain : s->sdesign.gain;
        if (s->det_gain < 1.0) s->det_gain = 1.0; /* the sample itself */
        s->short_thr = -1.0; /* short_xlim is computed on the first block */
    }
    s->gbuf = malloc((size_t)max_block * sizeof *s->gbuf);
    s->pbuf = malloc((size_t)max_block * sizeof *s->pbuf);
    s->ones = malloc((size_t)max_block * sizeof *s->ones);
    for (int i = 0; s->ones && i < max_block; i++) s->ones[i] = 1.0;
    s->rq = malloc((size_t)max_block * (size_t)channels * sizeof *s->rq);
    int ok = s->gbuf && s->pbuf && s->ones && s->rq;
    for (int c = 0; c < channels && ok; c++) {
        lim_chan *ch = &s->ch[c];
        ch->hist = malloc((size_t)(SHORT_HIST + max_block) * sizeof *ch->hist);
        ch->x = ch->hist ? ch->hist + SHORT_HIST : NULL;
        ch->amax = malloc((size_t)max_block * sizeof *ch->amax);
        ch->delay = malloc((size_t)(s->delay_len + 1) * sizeof *ch->delay);
        int cap = 1;
        while (cap < wmax + 1) cap *= 2;
        ch->q.mask = cap - 1;
        ch->q.val = malloc((size_t)cap * sizeof *ch->q.val);
        ch->q.suf = malloc((size_t)cap * sizeof *ch->q.suf);
        ch->m = malloc((size_t)max_block * sizeof *ch->m);
        ch->b1.len = L1;
        ch->b2.len = L2;
        ch->b1.buf = malloc((size_t)L1 * sizeof *ch->b1.buf);
        ch->b2.buf = malloc((size_t)L2 * sizeof *ch->b2.buf);
        ok = ch->x && ch->hist && ch->amax && ch->delay && ch->q.val && ch->q.suf && ch->m &&
             ch->b1.buf && ch->b2.buf;
        if (ok && s->tp_on) lathe_tp_chan_init(&ch->tp, &s->design);
    }
    if (!ok) {
        fini(st);
        return lathe_error_set(err, LATHE_E_NOMEM, "limiter: out of memory");
    }
    reset(st);
    return LATHE_OK;
}

typedef struct {
    int W;
    double rel, rel_fast, k_avg;
    int autorel;
    const double *ones; /* max_block times 1.0: the window minima when all are 1.0 */
} gain_params;

/* Makes dst's gain state (running minimum, release, boxes) a copy of src's. */
static void chan_state_copy(lim_chan *dst, const lim_chan *src)
{
    run_min q = src->q;
    q.val = dst->q.val, q.suf = dst->q.suf;
    memcpy(q.val, src->q.val, (size_t)(src->q.mask + 1) * sizeof *q.val);
    memcpy(q.suf, src->q.suf, (size_t)(src->q.mask + 1) * sizeof *q.suf);
    dst->q = q;
    const box_filter *sb[2] = {&src->b1, &src->b2};
    box_filter *db[2] = {&dst->b1, &dst->b2};
    for (int k = 0; k < 2; k++) {
        memcpy(db[k]->buf, sb[k]->buf, (size_t)sb[k]->len * sizeof *db[k]->buf);
        db[k]->pos = sb[k]->pos;
        db[k]->unit_in = sb[k]->unit_in;
        db[k]->sum = sb[k]->sum;
    }
    dst->h = src->h;
    dst->avg = src->avg;
}

#define KEEP_BRANCH() __asm__ volatile("")

/* One step of a box filter: the running sum takes the new value minus the
 * one that leaves; with no entry other than 1.0 the sum is set to the
 * length exactly (no drift survives a return to unity) and the output is
 * exactly 1.0; once per length the sum is re-added from the buffer, so
 * rounding cannot accumulate (O(1) amortised).  Called on a copy of the
 * state, which the compiler keeps in registers. */
static inline __attribute__((always_inline)) void box_add(box_filter *b, double v)
{
    const double old = b->buf[b->pos];
    b->buf[b->pos] = v;
    b->pos = b->pos + 1 == b->len ? 0 : b->pos + 1;
    /* the latest entry that is not 1.0 leaves len steps after it came */
    b->unit_in = v != 1.0 ? b->len : (b->unit_in > 0 ? b->unit_in - 1 : 0);
    b->sum += v - old;
    if (b->unit_in == 0) {
        b->sum = b->len; /* then the output sum / len is exactly 1.0 */
        KEEP_BRANCH();
    } else if (b->pos == 0) {
        double sum = 0.0;
        for (int i = 0; i < b->len; i++) sum += b->buf[i];
        b->sum = sum;
    }
}

static inline __attribute__((always_inline)) double box_step(box_filter *b, double v)
{
    box_add(b, v);
    const double g = b->sum / b->len;
    return g < 1.0 ? (g > 0.0 ? g : 0.0) : 1.0;
}

/* The gain computer's state while it runs: in locals, so that the compiler
 * keeps it in registers. */
typedef struct {
    double h, avg, gmin;
    box_filter b1, b2;
} gain_state;

/* The steps of samples i.. with the window minima mm, until the state
 * comes to rest (h = 1, both boxes all ones, m = 1) or the block ends;
 * r[i] <- the gain.  Returns the next sample.  autorel is a constant
 * where this is inlined (one loop each, no test per step). */
static inline __attribute__((always_inline)) int steps(gain_state *st, const gain_params *gp,
                                                       const double *mm, double *r, int i, int n,
                                                       const int autorel)
{
    double h = st->h, avg = st->avg, gmin = st->gmin;
    box_filter b1 = st->b1, b2 = st->b2;
    const double rel = gp->rel, rel_fast = gp->rel_fast, k_avg = gp->k_avg;
    for (; i < n; i++) {
        const double m = mm[i];
        /* attack (m <= h): h = m; release: a step towards m, landing on it
         * within LIM_SNAP.  A release step from h >= m stays above m or
         * within rounding (1e-16) of it, so m - hn < LIM_SNAP takes every
         * attack as well. */
        const double d = m - h;
        double hn = h + d * rel;
        if (autorel) {
            /* fast towards m while below the programme average, never
             * slower than the nominal release; both steps stay <= m */
            double hf = h + d * rel_fast;
            hf = hf < avg ? hf : avg;
            hn = hn > hf ? hn : hf;
        }
        /* Branches, not selects (the empty asm keeps the compiler from
         * turning them into selects): their outcomes change a few thousand
         * times in a song, and a select would add its latency to the
         * recursion, every step. */
        h = hn;
        if (m - hn < LIM_SNAP) {
            h = m;
            KEEP_BRANCH();
        }
        if (autorel) {
            avg += (h - avg) * k_avg;
            if (fabs(h - avg) < LIM_SNAP) {
                avg = h;
                KEEP_BRANCH();
            }
        } else {
            avg = h;
        }
        const double g = box_step(&b2, box_step(&b1, h));
        gmin = g < gmin ? g : gmin;
        r[i] = g;
        if ((b1.unit_in | b2.unit_in) == 0) {
            KEEP_BRANCH();
            if (h == 1.0 && m == 1.0) {
                i++;
                break;
            }
        }
    }
    st->h = h, st->avg = avg, st->gmin = gmin;
    st->b1 = b1, st->b2 = b2;
    return i;
}

/* Runs the gain computer over n required gains r (from sample t on) and
 * overwrites them with the gains; returns the smallest.
 *
 * At rest (the window minimum after the step before is 1.0, h = 1, both
 * boxes all ones) a required gain of exactly 1.0 leaves the state as it is
 * but for the positions (the boxes step on) and the programme average,
 * which keeps creeping back to 1.
 * Such runs, most of a lightly limited master, are skipped in one go; the
 * gains are exactly 1.0, as the step below would give. unity: every r is
 * 1.0 (not read; r is still written where a gain is not 1.0, and a result
 * of 1.0 says every gain is 1.0).
 *
 * The window minima of the whole block come first (run_min_block), so the
 * steps are the recursions of h, the average and the two box sums. */
static double gain_run(lim_chan *ch, const gain_params *gp, double *r, int n, int64_t t, int unity)
{
    const double mprev0 = ch->q.mprev;
    const double *mm =
        run_min_block(&ch->q, unity ? NULL : r, n, t, gp->W, ch->m) ? ch->m : gp->ones;
    gain_state st = {ch->h, ch->avg, 1.0, ch->b1, ch->b2};
    const double k_avg = gp->k_avg;
    int i = 0, written = !unity; /* r[0..i) hold the gains */
    while (i < n) {
        const double mprev = i == 0 ? mprev0 : mm[i - 1];
        if (st.h == 1.0 && st.b1.unit_in == 0 && st.b2.unit_in == 0 && mprev == 1.0 &&
            (unity || r[i] == 1.0)) {
            int j = unity ? n : i + 1;
            while (j < n && r[j] == 1.0) j++;
            /* r[i..j) are 1.0 already (or, unity, become 1.0 once a gain is not) */
            if (written && unity)
                for (int k = i; k < j; k++) r[k] = 1.0;
            for (int k = i; st.avg != 1.0 && k < j; k++) { /* only with auto release */
                st.avg += (1.0 - st.avg) * k_avg;
                if (fabs(1.0 - st.avg) < LIM_SNAP) st.avg = 1.0;
            }
            st.b1.pos = (int)((st.b1.pos + (int64_t)(j - i)) % st.b1.len);
            st.b2.pos = (int)((st.b2.pos + (int64_t)(j - i)) % st.b2.len);
            i = j;
            continue;
        }
        if (!written) {
            for (int k = 0; k < i; k++) r[k] = 1.0;
            written = 1;
        }
        i = gp->autorel ? steps(&st, gp, mm, r, i, n, 1) : steps(&st, gp, mm, r, i, n, 0);
    }
    ch->b1 = st.b1;
    ch->b2 = st.b2;
    ch->h = st.h;
    ch->avg = st.avg;
    return st.gmin;
}

/* y[i] = clamp(y[i] * g[i], +-cl), the product in double and rounded to
 * float; g NULL: the clamp alone.  A gain of 1.0 gives y itself (the
 * double product is exact), so no test is needed for it. */
LATHE_AVX2_CLONES static void
scale_clamp(float *restrict y, const double *restrict g, int n, float cl)
{
    if (g) {
        for (int i = 0; i < n; i++) {
            const float v = (float)((double)y[i] * g[i]);
            y[i] = v > cl ? cl : (v < -cl ? -cl : v);
        }
    } else {
        for (int i = 0; i < n; i++) {
            const float v = y[i];
            y[i] = v > cl ? cl : (v < -cl ? -cl : v);
        }
    }
}

/* out = the driven input delayed by D, times g, clamped at the ceiling (the
 * old ceiling until the count runs out, then the new one). unity: every g
 * is 1.0 (not read). */
static void apply(lim_chan *ch, float *out, const double *g, int unity, int n, int D,
                  double clamp_old, double clamp_new, int ccount)
{
    const float *x = ch->x;
    float *dl = ch->delay;
    /* the delayed input: dl ++ x, from the start; then dl <- its last D */
    const int nd = n < D ? n : D;
    memcpy(out, dl, (size_t)nd * sizeof *out);
    memcpy(out + nd, x, (size_t)(n - nd) * sizeof *out);
    if (n < D) {
        memmove(dl, dl + n, (size_t)(D - n) * sizeof *dl);
        memcpy(dl + D - n, x, (size_t)n * sizeof *dl);
    } else {
        memcpy(dl, x + n - D, (size_t)D * sizeof *dl);
    }
    /* sample i takes the new clamp from i = ccount - 1 on */
    int sw = ccount > 0 ? (ccount - 1 < n ? ccount - 1 : n) : 0;
    for (int part = 0; part < 2; part++) {
        const int s0 = part ? sw : 0, s1 = part ? n : sw;
        const float cl = (float)(part && ccount > 0 ? clamp_new : clamp_old);
        scale_clamp(out + s0, unity ? NULL : g + s0, s1 - s0, cl);
    }
}

static void process(void *st, float *const *io, const float *const *key, int n)
{
    limiter *s = st;
    (void)key;
    const int C = s->channels;
    const double rate = s->rate;
    const double ceil_lin = pow(10.0, s->v[P_CEILING] / 20.0);
    const double thr = s->tp_on ? ceil_lin * pow(10.0, -LIM_MARGIN_DB / 20.0) : ceil_lin;
    const double rel = 1.0 - exp(-1.0 / (s->v[P_RELEASE] * 1e-3 * rate));
    const int S = s->lookahead - s->guard + 1;
    const int W = S + 2 * s->guard + (int)lround(s->v[P_HOLD] * 1e-3 * rate);
    const double link = s->v[P_LINK] * 0.01;
    const int autorel = s->v[P_AUTO_RELEASE] >= 0.5;
    const double rel_fast = 1.0 - exp(-4.0 / (s->v[P_RELEASE] * 1e-3 * rate));
    const double k_avg = 1.0 - exp(-0.1 / (s->v[P_RELEASE] * 1e-3 * rate));

    /* The clamp follows a ceiling change only once the audio that was
     * analysed with the old ceiling has left the delay line. */
    if (ceil_lin != s->clamp_next) {
        s->clamp_next = ceil_lin;
        if (ceil_lin > s->clamp) s->clamp = ceil_lin;
        s->clamp_count = s->delay_len;
    }

    /* Input gain: one-pole smoothing towards the target, exact when settled. */
    s->gin_target = pow(10.0, s->v[P_GAIN] / 20.0);
    const float *gramp = NULL; /* NULL: the settled gain, gin */
    if (s->gin != s->gin_target) {
        const double k = 1.0 - exp(-1.0 / (LIM_GAIN_SMOOTH_MS * 1e-3 * rate));
        for (int i = 0; i < n; i++) {
            s->gin += (s->gin_target - s->gin) * k;
            if (fabs(s->gin - s->gin_target) <= LIM_SNAP * s->gin_target) s->gin = s->gin_target;
            s->gbuf[i] = (float)s->gin;
        }
        gramp = s->gbuf;
    }

    /* Drive and detect: the points a[k] per channel, in amax; p[k] =
     * max(a[k], a[k-1]) below.  Only the points above thr matter (a point
     * at or under it gives r = 1.0 exactly, whatever its value), so the
     * interpolators skip the stretches that cannot pass it; thr_f: the
     * largest float <= thr. */
    float thr_f = (float)thr;
    if ((double)thr_f > thr) thr_f = nextafterf(thr_f, 0.0f);
    if (s->tp_on && thr != s->short_thr) {
        s->short_thr = thr;
        float xl = (float)(thr / (s->sdesign.gain * 1.0001));
        if ((double)xl > thr / (s->sdesign.gain * 1.0001)) xl = nextafterf(xl, 0.0f);
        s->short_xlim = xl;
    }
    int quiet = 0;               /* channels whose every p is under thr */
    int loud[LIM_MAXCH];         /* the others */
    float aprev[LIM_MAXCH] = {0}; /* a[-1] of a loud channel */
    for (int c = 0; c < C; c++) {
        lim_chan *ch = &s->ch[c];
        float *restrict x = ch->x; /* in hist, after SHORT_HIST samples of history */
        drive(io[c], gramp, (float)s->gin, x, n);
        float *restrict a = ch->amax;
        loud[c] = 1;
        if (s->tp_on && n > 0) {
            /* hist: the last SHORT_HIST driven samples, then this block; it
             * holds every tap of both interpolators for this block */
            float *hist = ch->hist;
            const float *base = hist + SHORT_HIST - s->det_lat - (SHORT_HALF - 1);
            const float xm = absmax(hist, SHORT_HIST + n);
            /* A quiet block: no detector value can pass thr (the bound, with
             * a margin far above float rounding of the sums), so every p is
             * under it and every r is exactly 1. The interpolators only take
             * the block into their history; the last sample's value, which
             * the next block's first p needs, is computed exactly. */
            if (ch->a_prev <= thr && (double)xm * s->det_gain * 1.001 <= thr) {
                lathe_tp_chan_peak(&ch->tp, x, n - 1, INFINITY);
                float al = 0.0f;
                lathe_tp_chan_run(&ch->tp, x + n - 1, 1, &al);
                short_points(&s->sdesign, base + n - 1, 1, -1.0f, &al);
                ch->a_prev = al;
                loud[c] = 0;
                quiet++;
            } else {
                /* the points that can pass thr; the others are 0 or
                 * under it, which gives the same p > thr and r */
                lathe_tp_chan_run_over(&ch->tp, x, n, thr_f, a);
                short_points(&s->sdesign, base, n, s->short_xlim, a);
                aprev[c] = ch->a_prev;
                ch->a_prev = a[n - 1];
            }
            memmove(hist, hist + n, SHORT_HIST * sizeof *hist);
        } else if (!s->tp_on) {
            for (int i = 0; i < n; i++) a[i] = fabsf(x[i]);
        }
    }

    /* Required gains. Linked at 100 %, every channel gets the smallest r,
     * which is thr over the largest p (division and the floor are monotonic,
     * so this is the same number): one row, one division per sample.  A
     * quiet channel's p are all under thr: it takes no part (linked), its r
     * are all 1.0 (not linked). */
    const int linked = C == 1 || link >= 1.0;
    const int unity = linked && quiet == C; /* every r is 1.0: not even written */
    float *restrict pm = s->pbuf;
    for (int c = 0, more = 0; c < C && !unity; c++) {
        double *r = s->rq + (size_t)(linked ? 0 : c) * (size_t)n;
        if (!loud[c]) {
            if (!linked)
                for (int i = 0; i < n; i++) r[i] = 1.0;
            continue;
        }
        const float *a = s->ch[c].amax;
        if (s->tp_on) {
            both_sides(pm, a, aprev[c], n, linked && more);
        } else if (linked && more) {
            for (int i = 0; i < n; i++) pm[i] = a[i] > pm[i] ? a[i] : pm[i];
        } else {
            memcpy(pm, a, (size_t)n * sizeof *pm);
        }
        more = 1;
        if (!linked) required(pm, n, thr, r);
    }
    if (linked && !unity) required(pm, n, thr, s->rq);
    /* Partial link: r_c <- rmin^link * r_c^(1-link), only where reduction is needed. */
    if (!linked && link > 0.0) {
        for (int i = 0; i < n; i++) {
            double rmin = 1.0;
            for (int c = 0; c < C; c++) {
                double v = s->rq[(size_t)c * n + i];
                rmin = v < rmin ? v : rmin;
            }
            if (rmin >= 1.0) continue;
            for (int c = 0; c < C; c++) {
                double *rc = &s->rq[(size_t)c * n + i];
                *rc = exp(link * log(rmin) + (1.0 - link) * log(*rc));
            }
        }
    }

    /* Gain computer (in place: rq rows become gains), then the delayed output. */
    const gain_params gp = {W, rel, rel_fast, k_avg, autorel, s->ones};
    double gmin = 1.0, gch[LIM_MAXCH];
    if (linked && s->shared) {
        gmin = gain_run(&s->ch[0], &gp, s->rq, n, s->t, unity);
        for (int c = 0; c < C; c++) gch[c] = gmin;
    } else {
        if (s->shared) {
            for (int c = 1; c < C; c++) chan_state_copy(&s->ch[c], &s->ch[0]);
            s->shared = 0;
        }
        /* linked but no longer shared: every channel runs on row 0 */
        for (int c = 1; linked && !unity && c < C; c++)
            memcpy(s->rq + (size_t)c * (size_t)n, s->rq, (size_t)n * sizeof *s->rq);
        for (int c = 0; c < C; c++) {
            gch[c] = gain_run(&s->ch[c], &gp, s->rq + (size_t)c * (size_t)n, n, s->t, unity);
            gmin = gch[c] < gmin ? gch[c] : gmin;
        }
    }
    const int ccount = s->clamp_count;
    for (int c = 0; c < C; c++) {
        const double *g = s->rq + (linked && s->shared ? 0 : (size_t)c * (size_t)n);
        apply(&s->ch[c], io[c], g, gch[c] == 1.0, n, s->delay_len, s->clamp, s->clamp_next, ccount);
    }
    /* The clamp switches to the new ceiling at the sample where the count runs out. */
    if (ccount > 0) {
        if (ccount <= n) s->clamp = s->clamp_next;
        s->clamp_count = ccount > n ? ccount - n : 0;
    }
    s->t += n;
    s->min_gain = gmin;
}

static int latency(const void *st)
{
    const limiter *s = st;
    return s->delay_len;
}

static double reduction_db(const void *st)
{
    const limiter *s = st;
    return s->min_gain >= 1.0 ? 0.0 : -20.0 * log10(s->min_gain);
}

const lathe_proc_desc lathe_proc_limiter = {
    .name = "limiter",
    .doc = "Lookahead brickwall limiter for mastering. A 4x polyphase interpolator "
           "(ITU-R BS.1770-4 Annex 2) detects inter-sample peaks; the required gain goes "
           "through a running minimum over the lookahead (plus hold) window and two "
           "cascaded moving averages whose total length is the lookahead, which provably "
           "reaches the required gain when the peak arrives, as a smooth S-shaped ramp; "
           "release is an exponential recovery of the gain, optionally programme-dependent "
           "(fast back to the programme's average gain, then at the set time) (after Fons "
           "Adriaensen's x42 dpl design idea). The detector aims 0.1 dB under the ceiling and a final "
           "clamp guarantees no sample exceeds it. Signals under the ceiling pass "
           "bit-exact, delayed by the reported latency.",
    .params = params,
    .nparams = P_COUNT,
    .state_size = sizeof(limiter),
    .init = init,
    .set = set,
    .set_string = NULL,
    .process = process,
    .latency = latency,
    .reset = reset,
    .fini = fini,
    .reduction_db = reduction_db,
    .tail_s = NULL,
};
