/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/stereo.c: stereo image: pan/balance, width, mid/side gains, mono bass,
 * channel swap and time offset.
 *
 * Signal flow for two channels (per sample):
 *   delay_l/delay_r (integer samples, a deliberate offset: no latency is
 *   reported) -> swap -> M = (L+R)/2, S = (L-R)/2 (mono source: S = 0)
 *   -> mono_below: S through a 4th-order Linkwitz-Riley high-pass, M through
 *      the matching all-pass, so above the corner L and R both see the same
 *      all-pass and the image is unchanged (LR4 low-pass + high-pass = that
 *      all-pass exactly: bilinear sections, RBJ cookbook)
 *   -> M *= mid_gain, S *= side_gain * width -> L = M + S, R = M - S
 *   -> pan: mono source: pan law on the mono signal; stereo: balance.
 * Pan laws: 0 dB (attenuate the far side linearly, centre 0 dB), -3 dB
 * (sin/cos, constant power), -6 dB (linear, constant voltage), -4.5 dB (their
 * geometric mean).  Balance uses the same law, normalised to 0 dB at centre,
 * and only ever attenuates the far side.
 * Gains are smoothed with a 10 ms one-pole; swap, source, mono_below and the
 * delays are set-up choices (not automated).
 * One channel: only mid_gain (the signal is its own mid) and delay_l apply.
 * More than two: channels 1 and 2 are the stereo pair, the others pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/biquad.h"
#include "lathe/proc.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define SMOOTH_S 0.010
#define MAX_DELAY_MS 100.0

enum {
    P_SOURCE,
    P_PAN,
    P_LAW,
    P_WIDTH,
    P_MID,
    P_SIDE,
    P_MONO_BELOW,
    P_SWAP,
    P_DELAY_L,
    P_DELAY_R,
    NPARAMS
};
enum { SRC_STEREO, SRC_MONO };
enum { LAW_0, LAW_3, LAW_45, LAW_6 };

static const char *const sources[] = {"stereo", "mono", NULL};
static const char *const laws[] = {"0dB", "-3dB", "-4.5dB", "-6dB", NULL};

#define AUTO LATHE_PARAM_AUTOMATABLE
static const lathe_param_desc stereo_params[] = {
    {"source", "",
     "stereo: pan acts as balance; mono: the two (identical) channels are summed "
     "to one signal and pan places it with the pan law",
     0, 1, SRC_STEREO, LATHE_PARAM_CHOICE, sources, 0},
    {"pan", "%", "-100 = hard left, 0 = centre, +100 = hard right (balance for stereo sources)",
     -100, 100, 0, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"pan_law", "",
     "level of a centred mono source: 0dB, -3dB (sin/cos, constant power), "
     "-4.5dB (compromise), -6dB (linear); hard left is always full level left "
     "and silence right",
     0, 3, LAW_3, LATHE_PARAM_CHOICE, laws, 0},
    {"width", "%", "side level: 0 = mono, 100 = unchanged, 200 = side doubled", 0, 200, 100,
     LATHE_PARAM_NUMBER, NULL, AUTO},
    {"mid_gain", "dB", "gain of the mid signal (L+R)/2", -INFINITY, 12, 0, LATHE_PARAM_NUMBER, NULL,
     AUTO},
    {"side_gain", "dB", "gain of the side signal (L-R)/2", -INFINITY, 12, 0, LATHE_PARAM_NUMBER,
     NULL, AUTO},
    {"mono_below", "Hz",
     "make the image mono below this frequency (side high-passed by a "
     "24 dB/oct Linkwitz-Riley filter, mid through the matching all-pass); "
     "0 = off",
     0, 2000, 0, LATHE_PARAM_NUMBER, NULL, 0},
    {"swap", "", "exchange left and right", 0, 1, 0, LATHE_PARAM_BOOL, NULL, 0},
    {"delay_l", "ms",
     "delay the left channel (time alignment; rounded to whole samples; a "
     "deliberate offset, so not reported as latency)",
     0, MAX_DELAY_MS, 0, LATHE_PARAM_NUMBER, NULL, 0},
    {"delay_r", "ms", "delay the right channel (as delay_l)", 0, MAX_DELAY_MS, 0,
     LATHE_PARAM_NUMBER, NULL, 0},
};

typedef struct {
    double v[NPARAMS];
    double rate, smooth;
    int channels, inited, settled;
    /* smoothed gains: mid, side, left, right */
    double cur[4], tgt[4];
    /* mono_below */
    double mono_hz;
    lathe_bq hp, ap;
    lathe_bq_state hs1, hs2, as;
    /* delay lines (channels 1 and 2) */
    float *dl[2];
    int dlen, dpos;
} stereo_state;

/* Pan law gains for position p in [-1, 1]. */
static void law_gains(int law, double p, double *gl, double *gr) {
    double th = (p + 1.0) * M_PI / 4.0;
    switch (law) {
    case LAW_0:
        *gl = p > 0 ? 1.0 - p : 1.0;
        *gr = p < 0 ? 1.0 + p : 1.0;
        break;
    case LAW_3:
        *gl = cos(th);
        *gr = sin(th);
        break;
    case LAW_45:
        *gl = sqrt(cos(th) * (1.0 - p) * 0.5);
        *gr = sqrt(sin(th) * (1.0 + p) * 0.5);
        break;
    default:
        *gl = (1.0 - p) * 0.5;
        *gr = (1.0 + p) * 0.5;
        break;
    }
    if (p <= -1.0) *gr = 0.0; /* exact silence at the hard positions */
    if (p >= 1.0) *gl = 0.0;
}

static double undb(double db) {
    return db == -INFINITY ? 0.0 : pow(10.0, db / 20.0);
}

static void compute_targets(stereo_state *s) {
    double p = s->v[P_PAN] / 100.0, gl, gr;
    int law = (int)s->v[P_LAW];
    law_gains(law, p, &gl, &gr);
    if ((int)s->v[P_SOURCE] == SRC_STEREO) {
        /* balance: the law normalised to 0 dB at centre, far side only */
        double cl, cr;
        law_gains(law, 0.0, &cl, &cr);
        gl = p > 0 ? gl / cl : 1.0;
        gr = p < 0 ? gr / cr : 1.0;
    }
    s->tgt[0] = undb(s->v[P_MID]);
    s->tgt[1] = undb(s->v[P_SIDE]) * s->v[P_WIDTH] / 100.0;
    s->tgt[2] = gl;
    s->tgt[3] = gr;
}

static void stereo_set(void *st, int i, double v) {
    stereo_state *s = st;
    if (i < 0 || i >= NPARAMS) return;
    s->v[i] = v;
    s->settled = 0;
}

static void design_mono(stereo_state *s) {
    s->mono_hz = s->v[P_MONO_BELOW];
    if (s->mono_hz <= 0) return;
    double f = s->mono_hz < 0.45 * s->rate ? s->mono_hz : 0.45 * s->rate;
    lathe_bq_design_bilinear(&s->hp, LATHE_BQ_HIGHPASS, s->rate, f, M_SQRT1_2, 0);
    lathe_bq_design_bilinear(&s->ap, LATHE_BQ_ALLPASS, s->rate, f, M_SQRT1_2, 0);
}

static lathe_status stereo_init(void *st, double rate, int channels, int max_block,
                                lathe_error *err) {
    (void)max_block;
    stereo_state *s = st;
    s->rate = rate;
    s->channels = channels;
    s->smooth = exp(-1.0 / (SMOOTH_S * rate));
    s->dlen = (int)ceil(MAX_DELAY_MS * 1e-3 * rate) + 1;
    for (int c = 0; c < 2 && c < channels; c++) {
        s->dl[c] = calloc((size_t)s->dlen, sizeof(float));
        if (!s->dl[c]) {
            lathe_error_set(err, LATHE_E_NOMEM, "stereo: out of memory");
            return LATHE_E_NOMEM;
        }
    }
    compute_targets(s);
    memcpy(s->cur, s->tgt, sizeof s->cur);
    design_mono(s);
    s->settled = 1;
    s->inited = 1;
    return LATHE_OK;
}

static void stereo_fini(void *st) {
    stereo_state *s = st;
    for (int c = 0; c < 2; c++) {
        free(s->dl[c]);
        s->dl[c] = NULL;
    }
}

static void stereo_reset(void *st) {
    stereo_state *s = st;
    memset(&s->hs1, 0, sizeof s->hs1);
    memset(&s->hs2, 0, sizeof s->hs2);
    memset(&s->as, 0, sizeof s->as);
    for (int c = 0; c < 2; c++)
        if (s->dl[c]) memset(s->dl[c], 0, (size_t)s->dlen * sizeof(float));
    compute_targets(s);
    memcpy(s->cur, s->tgt, sizeof s->cur);
    s->settled = 1;
}

static int delay_samples(const stereo_state *s, int c) {
    int d = (int)floor(s->v[c ? P_DELAY_R : P_DELAY_L] * 1e-3 * s->rate + 0.5);
    return d < 0 ? 0 : d > s->dlen - 1 ? s->dlen - 1 : d;
}

static void run_delays(stereo_state *s, float *const *io, int nch, int frames) {
    int d[2] = {delay_samples(s, 0), nch > 1 ? delay_samples(s, 1) : 0};
    if (d[0] == 0 && d[1] == 0) {
        /* keep the lines current so a later delay starts from real history */
        for (int c = 0; c < nch; c++) {
            int w = s->dpos;
            for (int i = 0; i < frames; i++) {
                s->dl[c][w] = io[c][i];
                if (++w == s->dlen) w = 0;
            }
        }
    } else {
        for (int c = 0; c < nch; c++) {
            int w = s->dpos, r = w - d[c];
            if (r < 0) r += s->dlen;
            for (int i = 0; i < frames; i++) {
                s->dl[c][w] = io[c][i];
                io[c][i] = s->dl[c][r];
                if (++w == s->dlen) w = 0;
                if (++r == s->dlen) r = 0;
            }
        }
    }
    s->dpos = (int)((s->dpos + (long)frames) % s->dlen);
}

static void flush(lathe_bq_state *z) {
    double m = fabs(z->s1) + fabs(z->s2);
    if (!(m > 1e-30) || !isfinite(m)) z->s1 = z->s2 = 0;
}

static void stereo_process(void *st, float *const *io, const float *const *key, int frames) {
    (void)key;
    stereo_state *s = st;
    if (!s->settled) {
        compute_targets(s);
        s->settled = 1;
    }
    if (s->v[P_MONO_BELOW] != s->mono_hz) design_mono(s);
    int nch = s->channels < 2 ? 1 : 2;
    run_delays(s, io, nch, frames);

    double a = s->smooth;
    int moving = 0;
    for (int k = 0; k < 4; k++)
        if (s->cur[k] != s->tgt[k]) moving = 1;

    if (s->channels == 1) {
        float *x = io[0];
        double g = s->cur[0];
        for (int i = 0; i < frames; i++) {
            if (moving) g = s->tgt[0] + (g - s->tgt[0]) * a;
            x[i] = (float)(x[i] * g);
        }
        s->cur[0] = fabs(g - s->tgt[0]) < 1e-9 ? s->tgt[0] : g;
        return;
    }

    int swap = s->v[P_SWAP] != 0, mono = (int)s->v[P_SOURCE] == SRC_MONO;
    int xover = s->mono_hz > 0;
    float *L = io[swap ? 1 : 0], *R = io[swap ? 0 : 1];
    float *OL = io[0], *OR = io[1];
    double gm = s->cur[0], gs = s->cur[1], gl = s->cur[2], gr = s->cur[3];
    for (int i = 0; i < frames; i++) {
        double l = L[i], r = R[i];
        double m = 0.5 * (l + r), sd = mono ? 0.0 : 0.5 * (l - r);
        if (xover) {
            m = lathe_bq_tick(&s->ap, &s->as, m);
            sd = lathe_bq_tick(&s->hp, &s->hs2, lathe_bq_tick(&s->hp, &s->hs1, sd));
        }
        if (moving) {
            gm = s->tgt[0] + (gm - s->tgt[0]) * a;
            gs = s->tgt[1] + (gs - s->tgt[1]) * a;
            gl = s->tgt[2] + (gl - s->tgt[2]) * a;
            gr = s->tgt[3] + (gr - s->tgt[3]) * a;
        }
        m *= gm;
        sd *= gs;
        /* swap: both inputs are read before either output is written */
        OL[i] = (float)((m + sd) * gl);
        OR[i] = (float)((m - sd) * gr);
    }
    double g[4] = {gm, gs, gl, gr};
    for (int k = 0; k < 4; k++)
        s->cur[k] = fabs(g[k] - s->tgt[k]) < 1e-9 ? s->tgt[k] : g[k];
    flush(&s->hs1);
    flush(&s->hs2);
    flush(&s->as);
}

const lathe_proc_desc lathe_proc_stereo = {
    .name = "stereo",
    .doc = "Stereo image: pan (mono sources, pan laws 0, -3 (sin/cos, default), -4.5 and "
           "-6 dB) or balance (stereo sources), M/S width (0 % mono .. 200 %), mid and side "
           "gains, mono below a frequency (side high-passed by a 24 dB/oct Linkwitz-Riley "
           "filter, mid through the matching all-pass so the image above the corner is kept), "
           "channel swap and per-side time offset in whole samples (a deliberate offset: no "
           "latency reported). Gains are smoothed over ~10 ms. One channel: only mid_gain and "
           "delay_l apply; more than two: channels 1-2 are processed, the rest pass.",
    .params = stereo_params,
    .nparams = NPARAMS,
    .state_size = sizeof(stereo_state),
    .init = stereo_init,
    .set = stereo_set,
    .process = stereo_process,
    .reset = stereo_reset,
    .fini = stereo_fini,
};
