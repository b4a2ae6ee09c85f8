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
        d->ms_k = 1.0 - lathe_dyn_coef(d->cur_window, d->rate);
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
    /* 1. linear levels: |x| (then max over the window), or the mean square */
    for (int c = 0; c < nch; c++) {
        const float *x = src[c];
        double *lev = d->level + (size_t)c * mb;
        lathe_bq_state hs = d->hs[c], ls = d->ls[c];
        if (rms) {
            double ms = d->ms[c], k = d->ms_k;
            for (int i = 0; i < frames; i++) {
                /* +1e-20: keeps filter state and the mean square away from denormals */
                double v = (double)x[i] + 1e-20;
                if (hp) v = lathe_bq_tick(&d->hpf, &hs, v);
                if (lp) v = lathe_bq_tick(&d->lpf, &ls, v);
                ms += k * (v * v - ms);
                lev[i] = ms;
            }
            d->ms[c] = ms;
        } else if (hp || lp) {
            for (int i = 0; i < frames; i++) {
                double v = (double)x[i] + 1e-20;
                if (hp) v = lathe_bq_tick(&d->hpf, &hs, v);
                if (lp) v = lathe_bq_tick(&d->lpf, &ls, v);
                lev[i] = (float)fabs(v);
            }
        } else {
            for (int i = 0; i < frames; i++)
                lev[i] = fabsf(x[i]);
        }
        /* a NaN or inf in the input must not stay in the recursive state for ever */
        if (!isfinite(hs.s1 + hs.s2)) hs.s1 = hs.s2 = 0;
        if (!isfinite(ls.s1 + ls.s2)) ls.s1 = ls.s2 = 0;
        if (!isfinite(d->ms[c])) d->ms[c] = 0;
        d->hs[c] = hs;
        d->ls[c] = ls;
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
    if (link >= 1.0 && one_hold) {
        /* row 0 holds the max over channels already: one row to dB, in a loop
         * without a channel loop inside (it vectorises), then copied */
        double *l0 = d->level;
        for (int i = 0; i < frames; i++) {
            const double v = l0[i] > fl ? l0[i] : fl;
            l0[i] = scale * lathe_dyn_log2(v < cl ? v : cl);
        }
        for (int c = 1; c < nch; c++)
            memcpy(d->level + (size_t)c * mb, l0, (size_t)frames * sizeof *l0);
        return;
    }
    if (link >= 1.0) {
        /* one level for all: the loudest channel's (max in linear = max in dB) */
        const int rows = nch;
        for (int i = 0; i < frames; i++) {
            double mx = fl;
            for (int c = 0; c < rows; c++) {
                double v = d->level[(size_t)c * mb + i];
                mx = v > mx ? v : mx;
            }
            double db = scale * lathe_dyn_log2(mx < cl ? mx : cl);
            for (int c = 0; c < d->channels; c++)
                d->level[(size_t)c * mb + i] = db;
        }
        return;
    }
    for (int c = 0; c < d->channels; c++) {
        double *lev = d->level + (size_t)c * mb;
        for (int i = 0; i < frames; i++) {
            const double v = lev[i] > fl ? lev[i] : fl;
            lev[i] = scale * lathe_dyn_log2(v < cl ? v : cl);
        }
    }
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
