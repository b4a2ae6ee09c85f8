/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/expander.c: downward expander.
 *
 * The compressor's structure (Giannoulis, Massberg & Reiss, JAES 60(6), 2012)
 * turned around: level detector (dsp/dynamics.c) -> attenuation in dB from
 * the mirror image of the eq. 4 soft-knee curve (below the threshold the
 * output falls `ratio` dB per input dB), limited to `range` -> smoothed in
 * the log domain with separate attack (opening), hold and release (closing)
 * -> linear gain.  Threshold, ratio, knee and range are smoothed per sample
 * (20 ms one-pole), so automation makes no click. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dynamics.h"
#include "lathe/proc.h"

enum {
    P_THRESHOLD,
    P_RATIO,
    P_RANGE,
    P_KNEE,
    P_ATTACK,
    P_HOLD,
    P_RELEASE,
    P_DETECT,
    P_WINDOW,
    P_SC_HPF,
    P_SC_LPF,
    P_LINK,
    NPARAMS
};

#define AUTO LATHE_PARAM_AUTOMATABLE
#define LOG LATHE_PARAM_LOG
#define MAX_WINDOW_MS 100.0
#define SMOOTH_MS 20.0
#define FLOOR_DB 240.0 /* range -inf is applied as -240 dB (below any audio resolution) */

static const char *const detect_choices[] = {"peak", "rms", NULL};

static const lathe_param_desc params[NPARAMS] = {
    {"threshold", "dB",
     "level below which the gain falls (centre of the knee); detector level: a sine's peak in "
     "peak mode, its RMS in rms mode",
     -90, 0, -40, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"ratio", ":1",
     "expansion ratio: below the threshold the output falls this many dB per dB of input "
     "(attenuation = (ratio - 1)(threshold - level))",
     1, 20, 2, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"range", "dB",
     "largest attenuation (floor of the gain); -inf lets it fall without limit (applied as "
     "-240 dB)",
     -INFINITY, 0, -40, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"knee", "dB",
     "width of the quadratic soft knee centred on the threshold (eq. 4 of Giannoulis et al. "
     "2012, mirrored); 0 = hard knee",
     0, 24, 0, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"attack", "ms",
     "opening time constant: the attenuation in dB falls 63 % of a step in this time", 0.01, 500, 1,
     LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    {"hold", "ms", "time the gain stays put after the level falls, before the release begins", 0,
     2000, 10, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"release", "ms",
     "closing time constant: the attenuation in dB rises 63 % of a step in this time; it "
     "starts after the hold (in peak mode once the peak has also left the window)",
     1, 5000, 100, LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    {"detect", "",
     "level detector: peak = max |x| (sample peak) over the last `window` ms; rms = mean square "
     "averaged "
     "with time constant `window` (a sine reads peak - 3.01 dB)",
     0, 1, 0, LATHE_PARAM_CHOICE, detect_choices, 0},
    {"window", "ms",
     "detector window: peak hold time (should exceed half the period of the lowest frequency) "
     "or RMS averaging time constant",
     0.1, MAX_WINDOW_MS, 10, LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    LATHE_DYN_PARAM_SC_HPF,
    LATHE_DYN_PARAM_SC_LPF,
    {"link", "%",
     "stereo link: each channel's detector level (dB) moves this far toward the loudest "
     "channel's; 100 % = one gain for all channels",
     0, 100, 100, LATHE_PARAM_NUMBER, NULL, AUTO},
};

typedef struct {
    double p[NPARAMS];
    double rate;
    int channels, max_block;
    lathe_dyn_detector det;
    double t, e, w, r; /* smoothed: threshold, ratio - 1, knee, range (attenuation >= 0) */
    double ks;
    double cur_attack, cur_release, aa, ar;
    double y[LATHE_DYN_MAXCH]; /* smoothed attenuation, dB */
    int hold[LATHE_DYN_MAXCH];
    double *pv; /* 4 * max_block: smoothed param trajectories for one block */
    double *gv; /* channels * max_block: gain per frame */
    double red;
} expander;

static double range_att(double range_db) {
    return fmin(-range_db, FLOOR_DB);
}

static void set(void *st, int i, double v) {
    expander *s = st;
    if (i >= 0 && i < NPARAMS) s->p[i] = v;
}

static void reset(void *st) {
    expander *s = st;
    lathe_dyn_detector_reset(&s->det);
    memset(s->y, 0, sizeof s->y);
    memset(s->hold, 0, sizeof s->hold);
    s->red = 0;
    s->t = s->p[P_THRESHOLD];
    s->e = s->p[P_RATIO] - 1.0;
    s->w = s->p[P_KNEE];
    s->r = range_att(s->p[P_RANGE]);
}

static void fini(void *st) {
    expander *s = st;
    lathe_dyn_detector_free(&s->det);
    free(s->pv);
    free(s->gv);
    s->pv = s->gv = NULL;
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err) {
    expander *s = st;
    s->rate = rate;
    s->channels = channels;
    s->max_block = max_block;
    lathe_status r =
        lathe_dyn_detector_init(&s->det, rate, channels, max_block, MAX_WINDOW_MS, err);
    if (r != LATHE_OK) return r;
    s->pv = calloc((size_t)max_block * 4, sizeof *s->pv);
    s->gv = calloc((size_t)max_block * (size_t)channels, sizeof *s->gv);
    if (!s->pv || !s->gv) {
        fini(s);
        return lathe_error_set(err, LATHE_E_NOMEM, "expander: out of memory");
    }
    s->ks = 1.0 - lathe_dyn_coef(SMOOTH_MS, rate);
    s->cur_attack = s->cur_release = -1;
    reset(s);
    return LATHE_OK;
}


static void process(void *st, float *const *io, const float *const *key, int frames) {
    expander *s = st;
    if (s->p[P_ATTACK] != s->cur_attack) {
        s->cur_attack = s->p[P_ATTACK];
        s->aa = lathe_dyn_coef(s->cur_attack, s->rate);
    }
    if (s->p[P_RELEASE] != s->cur_release) {
        s->cur_release = s->p[P_RELEASE];
        s->ar = lathe_dyn_coef(s->cur_release, s->rate);
    }
    s->det.cfg.mode = s->p[P_DETECT] >= 0.5 ? LATHE_DYN_RMS : LATHE_DYN_PEAK;
    s->det.cfg.window_ms = s->p[P_WINDOW];
    s->det.cfg.hpf_hz = s->p[P_SC_HPF];
    s->det.cfg.lpf_hz = s->p[P_SC_LPF];
    s->det.cfg.link = s->p[P_LINK] / 100.0;
    lathe_dyn_detect(&s->det, key ? key : (const float *const *)io, frames);

    const double tt = s->p[P_THRESHOLD], te = s->p[P_RATIO] - 1.0, tw = s->p[P_KNEE];
    const double tr = range_att(s->p[P_RANGE]), k = s->ks, aa = s->aa, ar = s->ar;
    const int hold = (int)lround(s->p[P_HOLD] * 1e-3 * s->rate), mb = s->max_block;
    /* Param trajectories: per sample while moving (stride 1), else constants (stride 0). */
    double *pt = s->pv, *pe = s->pv + mb, *pw = s->pv + 2 * mb, *pr = s->pv + 3 * mb;
    int stride = 0;
    if (s->t != tt || s->e != te || s->w != tw || s->r != tr) {
        stride = 1;
        double t = s->t, e = s->e, w = s->w, r = s->r;
        for (int i = 0; i < frames; i++) {
            pt[i] = t = lathe_dyn_approach(t, tt, k);
            pe[i] = e = lathe_dyn_approach(e, te, k);
            pw[i] = w = lathe_dyn_approach(w, tw, k);
            pr[i] = r = lathe_dyn_approach(r, tr, k);
        }
        s->t = t, s->e = e, s->w = w, s->r = r;
    } else {
        pt[0] = tt, pe[0] = te, pw[0] = tw, pr[0] = tr;
    }
    /* linked channels share one level row, hence one gain */
    const int nch = s->channels, ng = (nch > 1 && s->p[P_LINK] >= 100.0) ? 1 : nch;
    double red = 0;
    for (int c = 0; c < ng; c++) {
        const double *lev = s->det.level + (size_t)c * mb;
        double *gv = s->gv + (size_t)c * mb;
        double y = s->y[c];
        int h = s->hold[c];
        for (int i = 0; i < frames; i++) {
            const int j = i * stride;
            double a = lathe_dyn_exp_att(lev[i], pt[j], pe[j], pw[j]);
            a = a < pr[j] ? a : pr[j];
            if (a <= y) {
                /* opening (or steady): attack, and re-arm the hold */
                y = a + aa * (y - a);
                h = hold;
            } else if (h > 0) {
                h--;
            } else {
                y = a + ar * (y - a);
            }
            if (fabs(y - a) < 1e-9) y = a;
            red = y > red ? y : red;
            gv[i] = -y;
        }
        s->y[c] = isfinite(y) ? y : 0.0; /* a NaN input does not stay in the state */
        s->hold[c] = h;
        /* 0 <= y <= 240 dB */
        for (int i = 0; i < frames; i++)
            gv[i] = lathe_dyn_exp2_raw(gv[i] * (1.0 / LATHE_DYN_DB_PER_LOG2));
    }
    for (int c = ng; c < nch; c++) {
        s->y[c] = s->y[0];
        s->hold[c] = s->hold[0];
    }
    for (int c = 0; c < nch; c++) {
        const double *gv = s->gv + (size_t)(ng == 1 ? 0 : c) * mb;
        float *x = io[c];
        for (int i = 0; i < frames; i++)
            x[i] = (float)(x[i] * gv[i]);
    }
    s->red = red;
}

static double reduction_db(const void *st) {
    return ((const expander *)st)->red;
}

const lathe_proc_desc lathe_proc_expander = {
    .name = "expander",
    .doc = "Downward expander: below the threshold the output level falls `ratio` dB per dB of "
           "input, down to at most `range` dB of attenuation. Built like the compressor of "
           "Giannoulis, Massberg & Reiss, \"Digital Dynamic Range Compressor Design -- A "
           "Tutorial and Analysis\" (JAES 60(6), 2012): peak (held over a window) or RMS "
           "detector with sidechain high- and low-pass and stereo link, a gain computer in dB "
           "with the eq. 4 quadratic soft knee mirrored for expansion, and the attenuation "
           "smoothed in dB with attack (opening), hold and release (closing). An external "
           "key, when given, drives the detector.",
    .params = params,
    .nparams = NPARAMS,
    .state_size = sizeof(expander),
    .init = init,
    .set = set,
    .set_string = NULL,
    .process = process,
    .latency = NULL,
    .reset = reset,
    .fini = fini,
    .reduction_db = reduction_db,
    .tail_s = NULL,
};
