/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/dynamics.c: the level detector shared by compressor, expander and gate.
 *
 * Signal flow per channel (Giannoulis et al. 2012, sec. 3 "level detection",
 * with the detection done before the gain computer):
 *   sidechain source (input or external key)
 *   -> optional 2nd-order high-pass / low-pass (dsp/biquad.h)
 *   -> peak: the maximum of |x| over the last `window` ms (a sliding maximum,
 *      so a steady tone reads its peak, without ripple, once per window);
 *      rms: mean square averaged by a one-pole of time constant `window` ms
 *   -> dB -> stereo link (in dB: level_c moved toward the loudest channel).
 * The ballistics (attack/release) come after the gain computer, in dB. */
#include "dsp/dynamics.h"
#include "util/simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FLOOR_LIN 1e-12 /* -240 dB */
#define CEIL_LIN 1e6    /* +120 dB: inf (or absurd) input does not drive the gain to -1000 dB */

double lathe_dyn_coef(double ms, double rate) {
    double n = ms * 1e-3 * rate;
    return n > 1e-6 ? exp(-1.0 / n) : 0.0;
}

lathe_status lathe_dyn_detector_init(lathe_dyn_detector *d, double rate, int channels,
                                     int max_block, double max_window_ms, lathe_error *err) {
    d->rate = rate;
    d->channels = channels;
    d->max_block = max_block;
    d->cap = (int)ceil(max_window_ms * 1e-3 * rate) + 2;
    d->cur = calloc((size_t)channels * (size_t)d->cap, sizeof *d->cur);
    d->suf = calloc((size_t)channels * (size_t)d->cap, sizeof *d->suf);
    d->level = calloc((size_t)channels * (size_t)max_block, sizeof *d->level);
    if (!d->cur || !d->suf || !d->level) {
        lathe_dyn_detector_free(d);
        return lathe_error_set(err, LATHE_E_NOMEM, "dynamics: out of memory");
    }
    d->cur_hpf = d->cur_lpf = -1; /* forces a design on first use */
    d->cur_window = -1;
    d->win = 1;
    lathe_dyn_detector_reset(d);
    return LATHE_OK;
}

void lathe_dyn_detector_free(lathe_dyn_detector *d) {
    free(d->cur);
    free(d->suf);
    free(d->level);
    d->cur = d->suf = NULL;
    d->level = NULL;
}

/* Starts a new run; the previous run's suffix maxima are taken as `v`
 * (conservative after a window change: the last level is held one window). */
static void restart_runs(lathe_dyn_detector *d, int c, float v) {
    float *suf = d->suf + (size_t)c * d->cap;
    for (int j = 0; j < d->win; j++)
        suf[j] = v;
    suf[d->win] = 0;
    d->k[c] = 0;
    d->pre[c] = 0;
}

void lathe_dyn_detector_reset(lathe_dyn_detector *d) {
    memset(d->hs, 0, sizeof d->hs);
    memset(d->ls, 0, sizeof d->ls);
    memset(d->ms, 0, sizeof d->ms);
    memset(d->held, 0, sizeof d->held);
    for (int c = 0; c < d->channels; c++)
        restart_runs(d, c, 0);
}

static void update(lathe_dyn_detector *d) {
    double nyq = 0.45 * d->rate;
    if (d->cfg.hpf_hz != d->cur_hpf) {
        d->cur_hpf = d->cfg.hpf_hz;
        if (d->cur_hpf > 0)
            lathe_bq_design(&d->hpf, LATHE_BQ_HIGHPASS, d->rate, fmin(d->cur_hpf, nyq),
                            0.70710678118654752, 0);
    }
    if (d->cfg.lpf_hz != d->cur_lpf) {
        d->cur_lpf = d->cfg.lpf_hz;
        if (d->cur_lpf > 0)
            lathe_bq_design(&d->lpf, LATHE_BQ_LOWPASS, d->rate, fmin(d->cur_lpf, nyq),
                            0.70710678118654752, 0);
    }
    if (d->cfg.window_ms != d->cur_window) {
        d->cur_window = d->cfg.window_ms;
        d->ms_a = lathe_dyn_coef(d->cur_window, d->rate);
        d->ms_k = 1.0 - d->ms_a;
        int win = (int)lround(d->cur_window * 1e-3 * d->rate);
        if (win < 1) win = 1;
        if (win > d->cap - 1) win = d->cap - 1;
        if (win != d->win) {
            d->win = win;
            for (int c = 0; c < d->channels; c++)
                restart_runs(d, c, d->held[c]);
        }
    }
}

static inline float maxf(float a, float b) {
    return a > b ? a : b;
}

/* Sliding maximum over d->win frames of row[0..frames), in place, with the
 * run state of channel c (van Herk / Gil-Werman: 3 comparisons a frame). */
static void hold_max(lathe_dyn_detector *d, int c, double *row, int frames) {
    const int win = d->win;
    float *cur = d->cur + (size_t)c * d->cap, *suf = d->suf + (size_t)c * d->cap;
    int k = d->k[c];
    float pre = d->pre[c], out = d->held[c];
    for (int i = 0; i < frames; i++) {
        const float a = (float)row[i];
        cur[k] = a;
        pre = maxf(pre, a);
        /* the window: this run's frames 0..k and the previous run's k+1..win-1 */
        out = maxf(pre, suf[k + 1]);
        row[i] = out;
        if (++k == win) {
            suf[win] = 0;
            for (int j = win - 1; j >= 0; j--)
                suf[j] = maxf(suf[j + 1], cur[j]);
            k = 0;
            pre = 0;
        }
    }
    d->k[c] = k;
    d->pre[c] = pre;
    d->held[c] = out;
}

/* The sidechain filters and the mean square are recursions: each sample
 * waits for the one before, so their dependency chains, not the number of
 * operations, set the cost.  The biquad runs in direct form I,
 *   y = (((b0 x + b1 x1) + b2 x2) - a2 y2) - a1 y1,
 * whose chain from one output to the next is a multiply and a subtract
 * (transposed direct form II, as lathe_bq_tick, needs four dependent
 * operations); the mean square as ms = a ms + k v^2 (a = 1 - k: a multiply
 * and an add).  Both equal the other forms within double rounding; the
 * state of direct form I is past inputs and outputs, which keep their
 * meaning when sc_hpf/sc_lpf redesign the coefficients. */
static inline double det_tick(const lathe_bq *q, lathe_dyn_df1 *st, double x) {
    const double y = (((q->b0 * x + q->b1 * st->x1) + q->b2 * st->x2) - q->a2 * st->y2) -
                     q->a1 * st->y1;
    st->x2 = st->x1, st->x1 = x;
    st->y2 = st->y1, st->y1 = y;
    return y;
}

/* Channels c and c + 1 of step 1 below in the two lanes of one vector: two
 * independent recursions side by side cost little more than one.  Each lane
 * performs exactly the operations of the one-channel loop, in its order
 * (det_tick, then ms = a ms + k v^2), so a channel's levels do not depend on
 * whether it runs in a pair.  hp, lp and rms are constants at each call site. */
typedef double v2d __attribute__((vector_size(16)));

typedef struct {
    v2d b0, b1, b2, a1, a2;
} bq2; /* a section's coefficients in both lanes, held in registers */

typedef struct {
    v2d x1, x2, y1, y2;
} df1x2; /* the direct form I states of both lanes */

static inline __attribute__((always_inline)) bq2 bq2_of(const lathe_bq *q) {
    return (bq2){{q->b0, q->b0}, {q->b1, q->b1}, {q->b2, q->b2}, {q->a1, q->a1}, {q->a2, q->a2}};
}

static inline __attribute__((always_inline)) df1x2 df1x2_of(const lathe_dyn_df1 *a,
                                                             const lathe_dyn_df1 *b) {
    return (df1x2){{a->x1, b->x1}, {a->x2, b->x2}, {a->y1, b->y1}, {a->y2, b->y2}};
}

static inline __attribute__((always_inline)) void df1x2_store(const df1x2 *v, lathe_dyn_df1 *a,
                                                               lathe_dyn_df1 *b) {
    *a = (lathe_dyn_df1){v->x1[0], v->x2[0], v->y1[0], v->y2[0]};
    *b = (lathe_dyn_df1){v->x1[1], v->x2[1], v->y1[1], v->y2[1]};
}

static inline __attribute__((always_inline)) v2d tick2(const bq2 q, df1x2 *st, v2d x) {
    const v2d y = (((q.b0 * x + q.b1 * st->x1) + q.b2 * st->x2) - q.a2 * st->y2) - q.a1 * st->y1;
    st->x2 = st->x1, st->x1 = x;
    st->y2 = st->y1, st->y1 = y;
    return y;
}

static inline __attribute__((always_inline)) void
levels2(lathe_dyn_detector *d, const float *const *src, int c, int frames, const int hp,
        const int lp, const int rms) {
    const float *x0 = src[c], *x1 = src[c + 1];
    double *l0 = d->level + (size_t)c * d->max_block, *l1 = l0 + d->max_block;
    /* locals, not d->...: the level rows are doubles too, so the compiler
     * would otherwise reload every coefficient after every store */
    const bq2 hq = bq2_of(&d->hpf), lq = bq2_of(&d->lpf);
    df1x2 hs = df1x2_of(&d->hs[c], &d->hs[c + 1]), ls = df1x2_of(&d->ls[c], &d->ls[c + 1]);
    v2d ms = {d->ms[c], d->ms[c + 1]};
    const v2d k = {d->ms_k, d->ms_k}, a = {d->ms_a, d->ms_a};
    for (int i = 0; i < frames; i++) {
        /* +1e-20: keeps filter state and the mean square away from denormals */
        v2d v = {(double)x0[i] + 1e-20, (double)x1[i] + 1e-20};
        if (hp) v = tick2(hq, &hs, v);
        if (lp) v = tick2(lq, &ls, v);
        if (rms) {
            ms = a * ms + k * (v * v);
            l0[i] = ms[0];
            l1[i] = ms[1];
        } else {
            l0[i] = (float)fabs(v[0]);
            l1[i] = (float)fabs(v[1]);
        }
    }
    df1x2_store(&hs, &d->hs[c], &d->hs[c + 1]);
    df1x2_store(&ls, &d->ls[c], &d->ls[c + 1]);
    if (rms) d->ms[c] = ms[0], d->ms[c + 1] = ms[1];
}

/* On x86-64 the loops over rows also get an AVX2 copy, picked at load time
 * (as analysis/truepeak.c): twice the vector width, the same operations (no
 * FMA: contraction is off), so the same bytes. */

/* row[i] = scale log2(v), v = row[i] held within [fl, cl] (a NaN reads as fl). */
LATHE_AVX2_CLONES static void
row_to_db(double *restrict row, int n, double fl, double cl, double scale) {
    for (int i = 0; i < n; i++) {
        const double v = row[i] > fl ? row[i] : fl;
        row[i] = scale * lathe_dyn_log2(v < cl ? v : cl);
    }
}

void lathe_dyn_detect(lathe_dyn_detector *d, const float *const *src, int frames) {
    update(d);
    const int hp = d->cur_hpf > 0, lp = d->cur_lpf > 0, rms = d->cfg.mode == LATHE_DYN_RMS;
    const int mb = d->max_block, nch = d->channels;
    const double link = nch > 1 ? d->cfg.link : 0.0;
    /* linked peak detection holds the maximum over channels once (max commutes) */
    const int one_hold = !rms && link >= 1.0;
    if (one_hold != d->one_hold) {
        /* switching between one shared hold and per-channel holds: restart the runs,
         * holding the loudest level one window (conservative) */
        float h = 0;
        for (int c = 0; c < nch; c++)
            h = maxf(h, d->held[c]);
        for (int c = 0; c < nch; c++) {
            d->held[c] = h;
            restart_runs(d, c, h);
        }
        d->one_hold = one_hold;
    }
    /* 1. linear levels: |x| (then max over the window), or the mean square;
     * channels in pairs, two to a vector (see levels2), the last one alone */
    const int paired = rms || hp || lp ? nch & ~1 : 0;
    for (int c = 0; c < paired; c += 2) {
        if (rms) {
            if (hp && !lp) levels2(d, src, c, frames, 1, 0, 1);
            else if (!hp && !lp) levels2(d, src, c, frames, 0, 0, 1);
            else levels2(d, src, c, frames, hp, lp, 1);
        } else {
            levels2(d, src, c, frames, hp, lp, 0);
        }
    }
    for (int c = paired; c < nch; c++) {
        const float *x = src[c];
        double *lev = d->level + (size_t)c * mb;
        lathe_dyn_df1 hs = d->hs[c], ls = d->ls[c];
        if (rms) {
            double ms = d->ms[c], k = d->ms_k, a = d->ms_a;
            for (int i = 0; i < frames; i++) {
                /* +1e-20: keeps filter state and the mean square away from denormals */
                double v = (double)x[i] + 1e-20;
                if (hp) v = det_tick(&d->hpf, &hs, v);
                if (lp) v = det_tick(&d->lpf, &ls, v);
                ms = a * ms + k * (v * v);
                lev[i] = ms;
            }
            d->ms[c] = ms;
        } else if (hp || lp) {
            for (int i = 0; i < frames; i++) {
                double v = (double)x[i] + 1e-20;
                if (hp) v = det_tick(&d->hpf, &hs, v);
                if (lp) v = det_tick(&d->lpf, &ls, v);
                lev[i] = (float)fabs(v);
            }
        } else {
            for (int i = 0; i < frames; i++)
                lev[i] = fabsf(x[i]);
        }
        d->hs[c] = hs;
        d->ls[c] = ls;
    }
    for (int c = 0; c < nch; c++) {
        /* a NaN or inf in the input must not stay in the recursive state for ever */
        lathe_dyn_df1 *hs = &d->hs[c], *ls = &d->ls[c];
        if (!isfinite(hs->x1 + hs->x2 + hs->y1 + hs->y2)) *hs = (lathe_dyn_df1){0, 0, 0, 0};
        if (!isfinite(ls->x1 + ls->x2 + ls->y1 + ls->y2)) *ls = (lathe_dyn_df1){0, 0, 0, 0};
        if (!isfinite(d->ms[c])) d->ms[c] = 0;
    }
    if (!rms) {
        if (one_hold) {
            double *l0 = d->level;
            for (int c = 1; c < nch; c++) {
                const double *lc = d->level + (size_t)c * mb;
                for (int i = 0; i < frames; i++)
                    l0[i] = lc[i] > l0[i] ? lc[i] : l0[i];
            }
            hold_max(d, 0, l0, frames);
        } else {
            for (int c = 0; c < nch; c++)
                hold_max(d, c, d->level + (size_t)c * mb, frames);
        }
    }
    /* 2. to dB (within -240..+120 dB; NaN reads as the floor), with the stereo link */
    const double scale = rms ? 0.5 * LATHE_DYN_DB_PER_LOG2 : LATHE_DYN_DB_PER_LOG2;
    const double fl = rms ? FLOOR_LIN * FLOOR_LIN : FLOOR_LIN;
    const double cl = rms ? CEIL_LIN * CEIL_LIN : CEIL_LIN;
    if (link >= 1.0) {
        /* one level for all: the loudest channel's (max in linear = max in dB).
         * Row 0 holds it already after a shared hold; else it is taken row by
         * row, each compare as in a loop over channels from the floor up, so
         * a NaN is passed over as there.  Then one row to dB, in a loop
         * without a channel loop inside (it vectorises), copied to the rest. */
        double *l0 = d->level;
        if (!one_hold) {
            for (int i = 0; i < frames; i++)
                l0[i] = l0[i] > fl ? l0[i] : fl;
            for (int c = 1; c < nch; c++) {
                const double *lc = d->level + (size_t)c * mb;
                for (int i = 0; i < frames; i++)
                    l0[i] = lc[i] > l0[i] ? lc[i] : l0[i];
            }
        }
        row_to_db(l0, frames, fl, cl, scale);
        for (int c = 1; c < nch; c++)
            memcpy(d->level + (size_t)c * mb, l0, (size_t)frames * sizeof *l0);
        return;
    }
    for (int c = 0; c < d->channels; c++)
        row_to_db(d->level + (size_t)c * mb, frames, fl, cl, scale);
    if (link > 0) {
        for (int i = 0; i < frames; i++) {
            double mx = -1e300;
            for (int c = 0; c < d->channels; c++) {
                double v = d->level[(size_t)c * mb + i];
                mx = v > mx ? v : mx;
            }
            for (int c = 0; c < d->channels; c++) {
                double *l = &d->level[(size_t)c * mb + i];
                *l += link * (mx - *l);
            }
        }
    }
}
