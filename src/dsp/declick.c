/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/declick.c: click detection by autoregressive prediction error and
 * least-squares AR interpolation of the gaps.
 *
 * The audio runs through a segment buffer (dsp/restore.h): each segment of
 * S frames is finished with S frames of context before and after it
 * (S = 512 at 44.1/48 kHz), so the latency is 2 S.  Per channel and segment:
 *
 *  1. an AR model of order p (64) is fitted to the whole buffer
 *     (Hann-windowed autocorrelation, Levinson-Durbin); when step 3 finds
 *     candidates, the model is fitted again with them left out (a loud
 *     click would otherwise pull the model toward itself);
 *  2. the forward prediction error e_f[n] = x[n] - sum a_k x[n-k] and the
 *     backward one e_b[n] = x[n] - sum a_k x[n+k] are computed, and their
 *     robust scales sigma (1.4826 x median |e|);
 *  3. a click starts where |e_f| > threshold sigma_f (an impulse is the
 *     first sample the past cannot predict) and ends at the last sample
 *     within reach where |e_b| > threshold sigma_b (the last sample the
 *     future cannot predict); the trailing forward error of the click (p
 *     samples) is not a new click.  Two samples are added on each side;
 *  4. gaps up to `max_gap` are replaced by the least-squares AR
 *     interpolation of Janssen, Veldhuis & Vries (IEEE Trans. ASSP 34(2),
 *     1986); longer events are left alone (they are transients, not clicks).
 *
 * Vaseghi & Rayner ("Detection and suppression of impulsive noise in speech
 * communication systems", IEE Proc. I 137(1), 1990) describe the same
 * detector; Godsill & Rayner, "Digital Audio Restoration" (Springer 1998),
 * ch. 5, the whole scheme. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/restore.h"
#include "lathe/proc.h"

enum { P_THRESHOLD, P_MAX_GAP, P_ORDER, NPARAMS };

#define AUTO LATHE_PARAM_AUTOMATABLE
#define MAXCH 8
#define MAX_ORDER 64
#define MAX_GAP_MS 5.0

static const lathe_param_desc params[NPARAMS] = {
    {"threshold", "x",
     "detection threshold: a click starts where the AR prediction error exceeds this many "
     "times its robust standard deviation (1.4826 x median absolute error); lower finds "
     "quieter clicks and more false ones",
     4, 40, 10, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"max_gap", "ms",
     "longest click that is interpolated; longer events are taken for transients and left "
     "alone",
     0.05, MAX_GAP_MS, 2, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"order", "",
     "order p of the autoregressive model (detection and interpolation); music needs a high "
     "order to be interpolated over a millisecond",
     8,
     MAX_ORDER, 64, LATHE_PARAM_NUMBER, NULL, 0},
};

typedef struct {
    double p[NPARAMS];
    double rate;
    int ch, order, maxlen;
    lathe_segbuf sb;
    double *ef, *eb, *tmp, *work, *win;
    unsigned char *mask;
    long clicks; /* repaired since init/reset */
    int edits;   /* segments finished since init/reset (the first have no real past) */
} declick;

static void set(void *st, int i, double v) {
    declick *s = st;
    if (i >= 0 && i < NPARAMS) s->p[i] = v;
}

static void reset(void *st) {
    declick *s = st;
    lathe_segbuf_reset(&s->sb);
    s->clicks = 0;
    s->edits = 0;
}

static void fini(void *st) {
    declick *s = st;
    lathe_segbuf_free(&s->sb);
    free(s->ef);
    free(s->eb);
    free(s->tmp);
    free(s->work);
    free(s->win);
    free(s->mask);
    s->ef = s->eb = s->tmp = s->work = s->win = NULL;
    s->mask = NULL;
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err) {
    declick *s = st;
    (void)max_block;
    s->rate = rate;
    s->ch = channels;
    s->order = (int)s->p[P_ORDER];
    int m = (int)ceil(rate / 48000.0);
    int seg = 512 * m;
    s->maxlen = (int)ceil(MAX_GAP_MS * 1e-3 * rate) + 4;
    while (seg < s->maxlen + 2 * s->order + 8) seg *= 2;
    lathe_status r = lathe_segbuf_init(&s->sb, channels, seg, seg, seg, err);
    if (r != LATHE_OK) return r;
    size_t t = (size_t)s->sb.total;
    s->ef = calloc(t, sizeof(double));
    s->eb = calloc(t, sizeof(double));
    s->tmp = calloc(t, sizeof(double));
    s->win = calloc(t, sizeof(double));
    s->mask = calloc(t, 1);
    s->work = calloc((size_t)s->maxlen * (s->maxlen + 3) + MAX_ORDER + 8, sizeof(double));
    if (!s->ef || !s->eb || !s->tmp || !s->win || !s->work || !s->mask)
        return lathe_error_set(err, LATHE_E_NOMEM, "declick: out of memory");
    for (size_t i = 0; i < t; i++) s->win[i] = 0.5 - 0.5 * cos(2.0 * M_PI * (i + 0.5) / t);
    reset(s);
    return LATHE_OK;
}

/* k-th smallest of v[0..n) (partially reorders v). */
static double select_k(double *v, int n, int k) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        double piv = v[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < piv) i++;
            while (v[j] > piv) j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return v[k];
    }
    return v[k];
}

static double robust_sigma(declick *s, const double *e, int from, int to) {
    int n = to - from;
    for (int i = 0; i < n; i++) s->tmp[i] = fabs(e[from + i]);
    return 1.4826 * select_k(s->tmp, n, n / 2);
}

/* AR model of x from the autocorrelation of win * x with the samples where
 * mask is set left out; then the forward and backward prediction errors and
 * their robust scales. Returns 0 when x is silent. */
static int model(declick *s, const float *x, const unsigned char *mask, double *a, double *sf,
                 double *sbk) {
    const int T = s->sb.total, p = s->order;
    double r[MAX_ORDER + 1];
    double *y = s->tmp; /* windowed, masked copy */
    for (int i = 0; i < T; i++) y[i] = mask && mask[i] ? 0.0 : s->win[i] * x[i];
    for (int k = 0; k <= p; k++) {
        double acc = 0;
        for (int i = k; i < T; i++) acc += y[i] * y[i - k];
        r[k] = acc;
    }
    if (!(r[0] > 1e-20)) return 0;
    r[0] *= 1.0 + 1e-9;
    lathe_ar_levinson(r, p, a);
    for (int n = p; n < T; n++) {
        double acc = x[n];
        for (int k = 1; k <= p; k++) acc -= a[k] * x[n - k];
        s->ef[n] = acc;
    }
    for (int n = 0; n < T - p; n++) {
        double acc = x[n];
        for (int k = 1; k <= p; k++) acc -= a[k] * x[n + k];
        s->eb[n] = acc;
    }
    const double floor = 3e-5 * sqrt(r[0] / T) + 1e-9; /* float rounding is not a click */
    *sf = fmax(robust_sigma(s, s->ef, p, T), floor);
    *sbk = fmax(robust_sigma(s, s->eb, 0, T - p), floor);
    return 1;
}

static void edit_channel(declick *s, float *x) {
    const int T = s->sb.total, p = s->order;
    double a[MAX_ORDER + 1], sf, sbk;
    if (!model(s, x, NULL, a, &sf, &sbk)) return;
    /* A loud click pulls the model toward itself (it dominates the
     * autocorrelation); when there are candidates, refit without them. */
    {
        const double th0 = s->p[P_THRESHOLD];
        const int reach = (int)lround(s->p[P_MAX_GAP] * 1e-3 * s->rate) + p;
        int any = 0;
        memset(s->mask, 0, (size_t)T);
        for (int n = p; n < T; n++) {
            if (fabs(s->ef[n]) <= th0 * sf) continue;
            any = 1;
            for (int j = n - p < 0 ? 0 : n - p; j < n + reach && j < T; j++) s->mask[j] = 1;
        }
        if (any && !model(s, x, s->mask, a, &sf, &sbk)) return;
    }
    const double th = s->p[P_THRESHOLD];
    const int maxgap = (int)lround(s->p[P_MAX_GAP] * 1e-3 * s->rate);
    const int r0 = s->sb.past, r1 = s->sb.past + s->sb.seg;
    for (int n = r0; n < r1; n++) {
        if (fabs(s->ef[n]) <= th * sf) continue;
        /* the click's end: the last of a chain of samples the future cannot
         * explain, links no more than p/2 apart */
        int end = n;
        for (int j = n; j < n + maxgap + p && j < T - p && j - end <= p / 2; j++)
            if (fabs(s->eb[j]) > 0.5 * th * sbk) end = j;
        int g0 = n - 2, len = end + 2 - g0 + 1, done = 0;
        /* interpolate; while the forward error just after the gap still shows
         * the click (a decaying tail below the backward threshold), widen */
        for (int pass = 0; pass < 4 && len <= maxgap + 4 && g0 - p >= 0 && g0 + len + p <= T;
             pass++) {
            if (lathe_ar_interpolate(x, g0, len, a, p, s->work) != 0) break;
            done = 1;
            int last = -1;
            for (int j = g0 + len; j < g0 + len + p && j < T; j++) {
                double acc = x[j];
                for (int k = 1; k <= p; k++) acc -= a[k] * x[j - k];
                if (fabs(acc) > 0.5 * th * sf) last = j;
            }
            if (last < 0) break;
            len = last + 2 - g0 + 1;
        }
        if (done) s->clicks++;
        n = g0 + len + p; /* past the click's own trailing forward error */
    }
}

static void process(void *st, float *const *io, const float *const *key, int frames) {
    declick *s = st;
    (void)key;
    lathe_segbuf *b = &s->sb;
    int i = 0;
    while (i < frames) {
        int k = b->seg - b->fill;
        if (k > frames - i) k = frames - i;
        for (int c = 0; c < s->ch; c++) {
            float *x = io[c] + i, *dst = b->buf[c] + (b->total - b->seg) + b->fill;
            const float *q = b->outq[c] + b->fill;
            for (int j = 0; j < k; j++) {
                float v = x[j];
                dst[j] = isfinite(v) ? v : 0.0f;
                x[j] = q[j];
            }
        }
        b->fill += k;
        i += k;
        if (b->fill == b->seg) {
            if (s->edits < 3) s->edits++; /* the past context holds audio from the third on */
            for (int c = 0; c < s->ch; c++) {
                if (s->edits >= 3) edit_channel(s, b->buf[c]);
                lathe_segbuf_emit(b, c);
            }
            b->fill = 0;
        }
    }
}

static int latency(const void *st) {
    const declick *s = st;
    return s->sb.seg + s->sb.fut;
}

const lathe_proc_desc lathe_proc_declick = {
    .name = "declick",
    .doc = "Click removal: an autoregressive model (order `order`, refitted every segment of "
           "about 11 ms on 35 ms of context) predicts each sample from the past and from the "
           "future; a click is where both predictions fail by more than `threshold` robust "
           "standard deviations, and gaps up to `max_gap` are filled by least-squares AR "
           "interpolation (Janssen, Veldhuis and Vries, IEEE Trans. ASSP 34(2), 1986; the "
           "scheme of Godsill and Rayner, Digital Audio Restoration, 1998, ch. 5). Samples "
           "elsewhere pass bit-exact. Latency: two segments (1024 frames up to 48 kHz).",
    .params = params,
    .nparams = NPARAMS,
    .state_size = sizeof(declick),
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
