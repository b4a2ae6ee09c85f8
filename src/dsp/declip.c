/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/declip.c: clipped-peak reconstruction.
 *
 * Digital clipping leaves runs of equal samples at the clip level.  The
 * audio runs through a segment buffer (dsp/restore.h; latency two segments
 * of 512 frames up to 48 kHz); in each segment, per channel, a run of at
 * least `min_run` equal samples (same sign, |x| >= -40 dBFS) of at most
 * `max_run` is replaced by a cubic Hermite curve between the last sample
 * before the run and the first after it, with end slopes from the
 * second-order one-sided differences (3x0 - 4x1 + x2) / 2 of the unclipped
 * samples outside (the shape of the missing peak continues the slopes it
 * had when it was cut off), and held at or beyond the clip level with the
 * run's sign.  For a sine cut 6 dB below its peak (a third of each period
 * flat) the Hermite arc peaks 0.42 dB below the original.  The whole
 * signal is lowered by `headroom` first (smoothed, 20 ms), so the restored
 * peaks have room below full scale.  Piecewise-polynomial peak restoration
 * is the simplest of the methods surveyed by Godsill and Rayner, Digital
 * Audio Restoration (Springer 1998), ch. 5; the slope-continuation idea is
 * that of cubic spline declippers (e.g. Audacity's Clip Fix, which uses its
 * own variant). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/restore.h"
#include "lathe/proc.h"

enum { P_HEADROOM, P_MIN_RUN, P_MAX_RUN, NPARAMS };

#define AUTO LATHE_PARAM_AUTOMATABLE
#define MAXCH 8
#define MAX_RUN_MS 10.0
#define SMOOTH_MS 20.0

static const lathe_param_desc params[NPARAMS] = {
    {"headroom", "dB",
     "the whole signal is lowered by this much, so the restored peaks (which rise above the "
     "old clip level) do not clip again",
     0, 24, 6, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"min_run", "samples",
     "shortest run of equal samples (same sign, at least -40 dBFS) taken for a clipped peak", 2,
     16, 3, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"max_run", "ms", "longest clipped run that is reconstructed; longer ones are left flat",
     0.1, MAX_RUN_MS, 5, LATHE_PARAM_NUMBER, NULL, AUTO},
};

typedef struct {
    double p[NPARAMS];
    double rate, g, kg;
    int ch;
    lathe_segbuf sb;
    long runs;
} declip;

static void set(void *st, int i, double v) {
    declip *s = st;
    if (i >= 0 && i < NPARAMS) s->p[i] = v;
}

static void reset(void *st) {
    declip *s = st;
    lathe_segbuf_reset(&s->sb);
    s->g = pow(10.0, -s->p[P_HEADROOM] / 20.0);
    s->runs = 0;
}

static void fini(void *st) {
    lathe_segbuf_free(&((declip *)st)->sb);
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err) {
    declip *s = st;
    (void)max_block;
    s->rate = rate;
    s->ch = channels;
    int seg = 512 * (int)ceil(rate / 48000.0);
    while (seg < MAX_RUN_MS * 1e-3 * rate + 8) seg *= 2;
    lathe_status r = lathe_segbuf_init(&s->sb, channels, seg, seg, seg, err);
    if (r != LATHE_OK) return r;
    s->kg = 1.0 - exp(-1.0 / (SMOOTH_MS * 1e-3 * rate));
    reset(s);
    return LATHE_OK;
}

static int same(float a, float b) {
    return fabsf(a - b) <= 1e-6f * fabsf(a);
}

static void edit_channel(declip *s, float *x) {
    const int T = s->sb.total, r0 = s->sb.past, r1 = s->sb.past + s->sb.seg;
    const int minrun = (int)s->p[P_MIN_RUN];
    const int maxrun = (int)lround(s->p[P_MAX_RUN] * 1e-3 * s->rate);
    for (int i = r0; i < r1; i++) {
        float v = x[i];
        if (fabsf(v) < 0.01f || same(x[i - 1], v)) continue;
        int e = i + 1;
        while (e < T && same(x[e], v)) e++;
        int len = e - i;
        if (len < minrun) continue;
        if (len <= maxrun && i - 3 >= 0 && e + 2 < T) {
            /* Hermite from t = 0 (x[i-1]) to t = h (x[e]), h = len + 1 */
            const double h = len + 1;
            const double y0 = x[i - 1], y1 = x[e];
            const double m0 = (3.0 * x[i - 1] - 4.0 * x[i - 2] + x[i - 3]) / 2.0;
            const double m1 = (-3.0 * x[e] + 4.0 * x[e + 1] - x[e + 2]) / 2.0;
            const double level = fabs(v), sg = v > 0 ? 1.0 : -1.0;
            for (int j = 1; j <= len; j++) {
                double t = j / h, t2 = t * t, t3 = t2 * t;
                double y = (2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + t) * h * m0 +
                           (-2 * t3 + 3 * t2) * y1 + (t3 - t2) * h * m1;
                if (!(sg * y >= level)) y = sg * level; /* never inside the clip level */
                if (sg * y > 4.0 * level) y = sg * 4.0 * level; /* at most +12 dB */
                x[i - 1 + j] = (float)y;
            }
            s->runs++;
        }
        i = e - 1;
    }
}

static void process(void *st, float *const *io, const float *const *key, int frames) {
    declip *s = st;
    (void)key;
    lathe_segbuf *b = &s->sb;
    const double target = pow(10.0, -s->p[P_HEADROOM] / 20.0);
    int i = 0;
    while (i < frames) {
        int k = b->seg - b->fill;
        if (k > frames - i) k = frames - i;
        double g = 0;
        for (int c = 0; c < s->ch; c++) {
            float *x = io[c] + i, *dst = b->buf[c] + (b->total - b->seg) + b->fill;
            const float *q = b->outq[c] + b->fill;
            g = s->g;
            for (int j = 0; j < k; j++) {
                float v = x[j];
                dst[j] = isfinite(v) ? v : 0.0f;
                g += s->kg * (target - g);
                x[j] = (float)(q[j] * g);
            }
        }
        s->g = g;
        b->fill += k;
        i += k;
        if (b->fill == b->seg) {
            for (int c = 0; c < s->ch; c++) {
                edit_channel(s, b->buf[c]);
                lathe_segbuf_emit(b, c);
            }
            b->fill = 0;
        }
    }
}

static int latency(const void *st) {
    const declip *s = st;
    return s->sb.seg + s->sb.fut;
}

const lathe_proc_desc lathe_proc_declip = {
    .name = "declip",
    .doc = "Clipped-peak reconstruction: runs of equal samples (digital clipping) are replaced "
           "by a cubic Hermite arc that continues the slopes the waveform had on both sides of "
           "the cut, held beyond the clip level, after the whole signal is lowered by "
           "`headroom` so the restored peaks fit (piecewise-polynomial restoration, Godsill and "
           "Rayner, Digital Audio Restoration, 1998, ch. 5). Unclipped samples pass unchanged "
           "apart from the headroom gain. Latency: two segments (1024 frames up to 48 kHz).",
    .params = params,
    .nparams = NPARAMS,
    .state_size = sizeof(declip),
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
