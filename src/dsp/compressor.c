/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/compressor.c: feed-forward downward compressor.
 *
 * D. Giannoulis, M. Massberg, J. D. Reiss, "Digital Dynamic Range Compressor
 * Design -- A Tutorial and Analysis", JAES 60(6), 2012:
 *   level detector (dsp/dynamics.c: peak hold or RMS, sidechain HPF, link)
 *   -> gain computer in dB with the quadratic soft knee of eq. 4
 *   -> gain reduction smoothed in the log domain by the smooth branching
 *      peak detector (eq. 17): attack and release are exponential time
 *      constants of the reduction in dB
 *   -> makeup -> linear gain on the (lookahead-delayed) input -> dry/wet mix.
 * Threshold, ratio, knee, makeup and mix are smoothed per sample by one-pole
 * filters (20 ms), so automating them makes no click. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dynamics.h"
#include "lathe/proc.h"
#include "util/simd.h"

enum {
    P_THRESHOLD,
    P_RATIO,
    P_KNEE,
    P_ATTACK,
    P_RELEASE,
    P_DETECT,
    P_WINDOW,
    P_MAKEUP,
    P_AUTO_MAKEUP,
    P_LINK,
    P_MIX,
    P_LOOKAHEAD,
    P_SC_HPF,
    NPARAMS
};

#define AUTO LATHE_PARAM_AUTOMATABLE
#define LOG LATHE_PARAM_LOG
#define MAX_LOOKAHEAD_MS 10.0
#define MAX_WINDOW_MS 100.0
#define SMOOTH_MS 20.0

static const char *const detect_choices[] = {"peak", "rms", NULL};

static const lathe_param_desc params[NPARAMS] = {
    {"threshold", "dB",
     "level above which the gain is reduced (centre of the knee); levels are those of the "
     "detector: a sine's peak in peak mode, its RMS in rms mode",
     -60, 0, -18, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"ratio", ":1", "input dB per output dB above the knee; inf:1 makes the curve flat (limiting)",
     1, INFINITY, 4, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"knee", "dB",
     "width of the quadratic soft knee centred on the threshold (Giannoulis et al. 2012, eq. 4); "
     "0 = hard knee",
     0, 24, 6, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"attack", "ms",
     "time constant of rising gain reduction: the reduction in dB reaches 63 % (1 - 1/e) of a "
     "step after this time",
     0.01, 500, 10, LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    {"release", "ms",
     "time constant of falling gain reduction (63 % of the way back, in dB); in peak mode it "
     "starts once the peak has left the detector window",
     1, 5000, 100, LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    {"detect", "",
     "level detector: peak = max |x| (sample peak) over the last `window` ms, so a steady tone "
     "reads its peak; "
     "rms = mean square averaged with time constant `window` (a sine reads peak - 3.01 dB)",
     0, 1, 0, LATHE_PARAM_CHOICE, detect_choices, 0},
    {"window", "ms",
     "detector window: peak hold time (should exceed half the period of the lowest frequency, "
     "10 ms covers 50 Hz) or RMS averaging time constant",
     0.1, MAX_WINDOW_MS, 10, LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    {"makeup", "dB", "gain added after compression", -24, 24, 0, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"auto_makeup", "",
     "adds the static curve's gain reduction at a 0 dBFS detector level: (1 - 1/R)(-T) when "
     "0 dBFS lies above the knee (T + W/2 < 0), else the eq. 4 quadratic "
     "(1 - 1/R)(W/2 - T)^2 / (2W); a full-scale input then comes out at full scale. Added to "
     "`makeup`; follows threshold, ratio and knee",
     0, 1, 0, LATHE_PARAM_BOOL, NULL, AUTO},
    {"link", "%",
     "stereo link: each channel's detector level (dB) is moved this far toward the loudest "
     "channel's level; 100 % = one gain for all channels (from the maximum), 0 % = independent",
     0, 100, 100, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"mix", "%",
     "wet share for parallel compression: out = (1 - mix) dry + mix wet; the dry path is "
     "delayed by the lookahead so both stay aligned",
     0, 100, 100, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"lookahead", "ms",
     "delays the audio (dry and wet) behind the detector so the gain can fall before a "
     "transient arrives; reported as latency; fixed at init",
     0, MAX_LOOKAHEAD_MS, 0, LATHE_PARAM_NUMBER, NULL, 0},
    {"sc_hpf", "Hz",
     "high-pass (2nd-order Butterworth) on the detector input, input or external key, so "
     "that bass does not pump the gain; 0 = off",
     0, 500, 0, LATHE_PARAM_NUMBER, NULL, AUTO},
};

typedef struct {
    double p[NPARAMS];
    double rate;
    int channels, max_block;
    lathe_dyn_detector det;
    /* smoothed params: threshold, slope (1 - 1/R), knee, makeup dB, mix 0..1 */
    double t, s, w, m, mix;
    double ks; /* smoothing coefficient (1 - a) */
    double cur_attack, cur_release, aa, ar;
    double y[LATHE_DYN_MAXCH]; /* smoothed gain reduction, dB */
    int la, dlen, dpos;
    float *dline; /* channels * dlen */
    double *pv;   /* 5 * max_block: smoothed param trajectories for one block */
    double *gv;   /* channels * max_block: gain per frame */
    double red;
} comp;

static double slope_of(double ratio) {
    return isinf(ratio) ? 1.0 : 1.0 - 1.0 / ratio;
}

static double makeup_of(const comp *s) {
    double m = s->p[P_MAKEUP];
    if (s->p[P_AUTO_MAKEUP] >= 0.5)
        m += lathe_dyn_comp_gr(0.0, s->p[P_THRESHOLD], slope_of(s->p[P_RATIO]), s->p[P_KNEE]);
    return m;
}

static void set(void *st, int i, double v) {
    comp *s = st;
    if (i >= 0 && i < NPARAMS) s->p[i] = v;
}

static void snap(comp *s) {
    s->t = s->p[P_THRESHOLD];
    s->s = slope_of(s->p[P_RATIO]);
    s->w = s->p[P_KNEE];
    s->m = makeup_of(s);
    s->mix = s->p[P_MIX] / 100.0;
}

static void reset(void *st) {
    comp *s = st;
    lathe_dyn_detector_reset(&s->det);
    memset(s->y, 0, sizeof s->y);
    if (s->dline) memset(s->dline, 0, sizeof(float) * (size_t)(s->channels * s->dlen));
    s->dpos = 0;
    s->red = 0;
    snap(s);
}

static void fini(void *st) {
    comp *s = st;
    lathe_dyn_detector_free(&s->det);
    free(s->dline);
    free(s->pv);
    free(s->gv);
    s->gv = NULL;
    s->dline = NULL;
    s->pv = NULL;
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err) {
    comp *s = st;
    s->rate = rate;
    s->channels = channels;
    s->max_block = max_block;
    lathe_status r =
        lathe_dyn_detector_init(&s->det, rate, channels, max_block, MAX_WINDOW_MS, err);
    if (r != LATHE_OK) return r;
    s->la = (int)lround(s->p[P_LOOKAHEAD] * 1e-3 * rate);
    s->dlen = s->la + 1;
    s->dline = calloc((size_t)(channels * s->dlen), sizeof *s->dline);
    s->pv = calloc((size_t)max_block * 5, sizeof *s->pv);
    s->gv = calloc((size_t)max_block * (size_t)channels, sizeof *s->gv);
    if (!s->dline || !s->pv || !s->gv) {
        fini(s);
        return lathe_error_set(err, LATHE_E_NOMEM, "compressor: out of memory");
    }
    s->ks = 1.0 - lathe_dyn_coef(SMOOTH_MS, rate);
    s->cur_attack = s->cur_release = -1;
    reset(s);
    return LATHE_OK;
}


/* On x86-64 the loops over whole rows also get an AVX2 copy, picked at load
 * time (as analysis/truepeak.c): twice the vector width, the same operations
 * (no FMA: contraction is off), so the same bytes. */

/* lathe_dyn_comp_gr of every level at constant t, s, w, four at a time
 * without branches: each case's value is computed and the one the branches
 * would take is selected by masks, so the results are the same bits (a
 * compiler keeps the branches around a division it may not speculate).  The
 * knee's divisor is kept nonzero for w = 0, where the knee is never selected. */
typedef double v4df __attribute__((vector_size(32), may_alias, aligned(8)));
typedef long long v4di __attribute__((vector_size(32)));

LATHE_AVX2_CLONES static void
comp_gr_row(double *restrict gr, const double *restrict lev, double t, double s, double w, int n) {
    const double w2 = w > 0 ? 2.0 * w : 1.0;
    const v4df vt = {t, t, t, t}, vs = {s, s, s, s}, vw = {w, w, w, w}, vnw = -vw;
    const v4df vh = 0.5 * vw, v2 = {2.0, 2.0, 2.0, 2.0}, vw2 = {w2, w2, w2, w2};
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const v4df d = *(const v4df *)(lev + i) - vt, u = d + vh;
        const v4df knee = vs * u * u / vw2, above = vs * d;
        const v4di below = v2 * d <= vnw, over = v2 * d >= vw;
        const v4di r = (over & (v4di)above) | (~over & (v4di)knee);
        *(v4df *)(gr + i) = (v4df)(~below & r);
    }
    for (; i < n; i++)
        gr[i] = lathe_dyn_comp_gr(lev[i], t, s, w);
}

/* Gain reduction (dB) to linear gain, in place: 2^((makeup - y) / 20 log10 2),
 * makeup pm[i * stride]. Levels lie in -240..+120 dB: the gain is far inside
 * exp2_raw's +-6000 dB. */
LATHE_AVX2_CLONES static void
gains_from_reduction(double *restrict gv, const double *restrict pm, int stride, int n) {
    if (stride) {
        for (int i = 0; i < n; i++)
            gv[i] = lathe_dyn_exp2_raw((pm[i] - gv[i]) * (1.0 / LATHE_DYN_DB_PER_LOG2));
    } else {
        const double m = pm[0];
        for (int i = 0; i < n; i++)
            gv[i] = lathe_dyn_exp2_raw((m - gv[i]) * (1.0 / LATHE_DYN_DB_PER_LOG2));
    }
}

/* x = x ((1 - mix) + mix g): the wet gain and the dry share at a constant mix. */
LATHE_AVX2_CLONES static void
apply_gains(float *restrict x, const double *restrict g, double mix, int n) {
    for (int i = 0; i < n; i++)
        x[i] = (float)(x[i] * (1.0 - mix + mix * g[i]));
}

static void process(void *st, float *const *io, const float *const *key, int frames) {
    comp *s = st;
    const int nch = s->channels;
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
    s->det.cfg.lpf_hz = 0;
    s->det.cfg.link = s->p[P_LINK] / 100.0;
    lathe_dyn_detect(&s->det, key ? key : (const float *const *)io, frames);

    const double tt = s->p[P_THRESHOLD], st_ = slope_of(s->p[P_RATIO]), tw = s->p[P_KNEE];
    const double tm = makeup_of(s), tmix = s->p[P_MIX] / 100.0, k = s->ks;
    const double aa = s->aa, ar = s->ar;
    const int mb = s->max_block;
    /* Param trajectories: per sample while moving (stride 1), else constants (stride 0). */
    double *pt = s->pv, *ps = s->pv + mb, *pw = s->pv + 2 * mb, *pm = s->pv + 3 * mb,
           *px = s->pv + 4 * mb;
    int stride = 0;
    if (s->t != tt || s->s != st_ || s->w != tw || s->m != tm || s->mix != tmix) {
        stride = 1;
        double t = s->t, sl = s->s, w = s->w, m = s->m, mix = s->mix;
        for (int i = 0; i < frames; i++) {
            pt[i] = t = lathe_dyn_approach(t, tt, k);
            ps[i] = sl = lathe_dyn_approach(sl, st_, k);
            pw[i] = w = lathe_dyn_approach(w, tw, k);
            pm[i] = m = lathe_dyn_approach(m, tm, k);
            px[i] = mix = lathe_dyn_approach(mix, tmix, k);
        }
        s->t = t, s->s = sl, s->w = w, s->m = m, s->mix = mix;
    } else {
        pt[0] = tt, ps[0] = st_, pw[0] = tw, pm[0] = tm, px[0] = tmix;
    }
    /* Gain per frame, in dB then linear. Linked channels share one level row,
     * so one gain serves them all. The recurrence (ballistics) runs alone in
     * its loop; the exponentials run in a loop without a dependency chain. */
    const int ng = (nch > 1 && s->p[P_LINK] >= 100.0) ? 1 : nch;
    double red = 0;
    for (int c = 0; c < ng; c++) {
        const double *lev = s->det.level + (size_t)c * mb;
        double *gv = s->gv + (size_t)c * mb;
        double y = s->y[c];
        if (!stride && y == 0.0) {
            /* At rest and below the knee all block long: the ballistics stay at
             * exactly 0 and every gain is the makeup alone, so one exponential
             * serves the block (the same values the loops below give). */
            int below = 1;
            for (int i = 0; i < frames; i++) below &= 2.0 * (lev[i] - pt[0]) <= -pw[0];
            if (below) {
                const double g = lathe_dyn_exp2_raw((pm[0] - 0.0) * (1.0 / LATHE_DYN_DB_PER_LOG2));
                for (int i = 0; i < frames; i++) gv[i] = g;
                continue;
            }
        }
        /* the static curve (no recursion: vectorised), then the ballistics
         * (the one recursion, alone in its loop), then the gains */
        if (stride)
            for (int i = 0; i < frames; i++)
                gv[i] = lathe_dyn_comp_gr(lev[i], pt[i], ps[i], pw[i]);
        else
            comp_gr_row(gv, lev, pt[0], ps[0], pw[0], frames);
        for (int i = 0; i < frames; i++) {
            gv[i] = y = lathe_dyn_branch_raw(y, gv[i], aa, ar);
            red = y > red ? y : red;
        }
        /* no endless decay toward denormals; a NaN (from a NaN input) does not stay */
        s->y[c] = (y < 1e-12 || !isfinite(y)) ? 0.0 : y;
        gains_from_reduction(gv, pm, stride, frames);
    }
    if (ng == 1)
        for (int c = 1; c < nch; c++)
            s->y[c] = s->y[0];
    const int dlen = s->dlen, la = s->la;
    for (int c = 0; c < nch; c++) {
        const double *gv = s->gv + (size_t)(ng == 1 ? 0 : c) * mb;
        float *x = io[c], *dl = s->dline + (size_t)c * dlen;
        int dpos = s->dpos;
        if (!la && !stride) {
            apply_gains(x, gv, px[0], frames);
            continue;
        }
        for (int i = 0; i < frames; i++) {
            double dry = x[i];
            if (la) {
                /* lookahead: the audio (dry and wet) runs la frames behind the detector */
                dl[dpos] = x[i];
                dpos = dpos + 1 == dlen ? 0 : dpos + 1;
                dry = dl[dpos];
            }
            const double mix = px[i * stride];
            x[i] = (float)(dry * (1.0 - mix + mix * gv[i]));
        }
        if (c == nch - 1) s->dpos = dpos;
    }
    s->red = red;
}

static int latency(const void *st) {
    return ((const comp *)st)->la;
}

static double reduction_db(const void *st) {
    return ((const comp *)st)->red;
}

const lathe_proc_desc lathe_proc_compressor = {
    .name = "compressor",
    .doc = "Feed-forward compressor with soft knee, sidechain, lookahead and parallel mix. It "
           "follows Giannoulis, Massberg & Reiss, \"Digital Dynamic Range Compressor Design -- "
           "A Tutorial and Analysis\" (JAES 60(6), 2012): a peak (held over "
           "a window) or RMS level detector with optional sidechain high-pass and stereo link, "
           "a log-domain gain computer with the quadratic soft knee of eq. 4, and the gain "
           "reduction smoothed in dB by the smooth branching peak detector (eq. 17), so attack "
           "and release are exponential time constants. Makeup (manual or automatic), "
           "parallel mix and lookahead (reported as latency; the dry path is delayed too). "
           "An external key, when given, drives the detector instead of the input.",
    .params = params,
    .nparams = NPARAMS,
    .state_size = sizeof(comp),
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
