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
    d->dq_val = calloc((size_t)(channels * d->cap), sizeof *d->dq_val);
    d->dq_pos = calloc((size_t)(channels * d->cap), sizeof *d->dq_pos);
    d->level = calloc((size_t)(channels * max_block), sizeof *d->level);
    if (!d->dq_val || !d->dq_pos || !d->level) {
        lathe_dyn_detector_free(d);
        return lathe_error_set(err, LATHE_E_NOMEM, "dynamics: out of memory");
    }
    d->cur_hpf = d->cur_lpf = -1; /* forces a design on first use */
    d->cur_window = -1;
    lathe_dyn_detector_reset(d);
    return LATHE_OK;
}

void lathe_dyn_detector_free(lathe_dyn_detector *d) {
    free(d->dq_val);
    free(d->dq_pos);
    free(d->level);
    d->dq_val = NULL;
    d->dq_pos = NULL;
    d->level = NULL;
}

void lathe_dyn_detector_reset(lathe_dyn_detector *d) {
    memset(d->hs, 0, sizeof d->hs);
    memset(d->ls, 0, sizeof d->ls);
    memset(d->dq_head, 0, sizeof d->dq_head);
    memset(d->dq_n, 0, sizeof d->dq_n);
    memset(d->ms, 0, sizeof d->ms);
    d->pos = 0;
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
    }
}

void lathe_dyn_detect(lathe_dyn_detector *d, const float *const *src, int frames) {
    update(d);
    const int hp = d->cur_hpf > 0, lp = d->cur_lpf > 0;
    int win = (int)lround(d->cur_window * 1e-3 * d->rate);
    if (win < 1) win = 1;
    if (win > d->cap - 2) win = d->cap - 2;
    const int cap = d->cap;
    for (int c = 0; c < d->channels; c++) {
        const float *x = src[c];
        double *lev = d->level + (size_t)c * d->max_block;
        lathe_bq_state hs = d->hs[c], ls = d->ls[c];
        if (d->cfg.mode == LATHE_DYN_RMS) {
            double ms = d->ms[c], k = d->ms_k;
            for (int i = 0; i < frames; i++) {
                /* +1e-20: keeps filter state and the mean square away from denormals */
                double v = (double)x[i] + 1e-20;
                if (hp) v = lathe_bq_tick(&d->hpf, &hs, v);
                if (lp) v = lathe_bq_tick(&d->lpf, &ls, v);
                ms += k * (v * v - ms);
                lev[i] =
                    0.5 * LATHE_DYN_DB_PER_LOG2 * lathe_dyn_log2(fmax(ms, FLOOR_LIN * FLOOR_LIN));
            }
            d->ms[c] = ms;
        } else {
            float *qv = d->dq_val + (size_t)c * cap;
            int64_t *qp = d->dq_pos + (size_t)c * cap;
            int head = d->dq_head[c], n = d->dq_n[c];
            int64_t pos = d->pos;
            for (int i = 0; i < frames; i++, pos++) {
                double v = (double)x[i] + 1e-20;
                if (hp) v = lathe_bq_tick(&d->hpf, &hs, v);
                if (lp) v = lathe_bq_tick(&d->lpf, &ls, v);
                float a = (float)fabs(v);
                /* sliding maximum: drop smaller values from the back, push, expire the front */
                while (n > 0) {
                    int back = head + n - 1;
                    if (back >= cap) back -= cap;
                    if (qv[back] > a) break;
                    n--;
                }
                int slot = head + n;
                if (slot >= cap) slot -= cap;
                qv[slot] = a;
                qp[slot] = pos;
                n++;
                while (qp[head] <= pos - win) {
                    head = head + 1 == cap ? 0 : head + 1;
                    n--;
                }
                lev[i] = LATHE_DYN_DB_PER_LOG2 * lathe_dyn_log2(fmax((double)qv[head], FLOOR_LIN));
            }
            d->dq_head[c] = head;
            d->dq_n[c] = n;
        }
        d->hs[c] = hs;
        d->ls[c] = ls;
    }
    d->pos += frames;
    if (d->channels > 1 && d->cfg.link > 0) {
        const double link = d->cfg.link;
        for (int i = 0; i < frames; i++) {
            double mx = -1e300;
            for (int c = 0; c < d->channels; c++)
                mx = fmax(mx, d->level[(size_t)c * d->max_block + i]);
            for (int c = 0; c < d->channels; c++) {
                double *l = &d->level[(size_t)c * d->max_block + i];
                *l = link >= 1.0 ? mx : *l + link * (mx - *l);
            }
        }
    }
}
