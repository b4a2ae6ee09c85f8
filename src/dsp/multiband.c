/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/multiband.c: multiband compressor (2-4 bands) for mastering.
 *
 * Crossovers: 4th-order Linkwitz-Riley (S. H. Linkwitz, "Active Crossover
 * Networks for Noncoincident Drivers", JAES 24(1), 1976): each split is a
 * low-pass and a high-pass made of two cascaded 2nd-order Butterworth
 * sections at the crossover frequency fc.  With B(s) = s^2 + sqrt2 s + 1,
 *   LP + HP = (1 + s^4) / B(s)^2 = (s^2 - sqrt2 s + 1) / (s^2 + sqrt2 s + 1),
 * the 2nd-order all-pass AP of Q = 1/sqrt2 at fc.  All sections use the
 * bilinear transform pre-warped at fc, which maps this identity exactly.
 *
 * Tree (split from the bottom): band 1 = LP1(x); the rest HP1(x) is split at
 * fc2, and so on.  Band k then lacks the phase of the splits above it, so it
 * is passed through AP_j for every j > k (the usual phase compensation of
 * multi-way LR trees; it follows from the identity above): with 3 splits
 *   sum = AP3 AP2 LP1 + AP3 LP2 HP1 + (LP3 + HP3) HP2 HP1 = AP3 AP2 AP1,
 * an all-pass: with no compression the summed magnitude is exactly flat.
 *
 * Per band: the compressor of dsp/compressor.c reduced to its core
 * (Giannoulis, Massberg & Reiss, JAES 60(6), 2012): detector (dsp/dynamics.c,
 * peak hold or RMS, stereo link) -> gain computer with the eq. 4 soft knee ->
 * reduction smoothed in dB (eq. 17, attack/release time constants) ->
 * makeup.  Parallel mix multiplies each band by (1 - mix) + mix g, so the dry
 * path is the same all-pass sum and no comb filtering appears.  Numeric
 * params are smoothed per sample (one-pole, 20 ms); bypass and solo fade. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/biquad.h"
#include "dsp/dynamics.h"
#include "lathe/proc.h"

#define NB 4 /* bands at most */
#define NX (NB - 1)
#define NFIELD 8 /* params per band */
#define AUTO LATHE_PARAM_AUTOMATABLE
#define LOG LATHE_PARAM_LOG
#define MAX_WINDOW_MS 100.0
#define SMOOTH_MS 20.0
#define BUTTER_Q 0.70710678118654752

enum {
    P_BANDS,
    P_XOVER1,
    P_XOVER2,
    P_XOVER3,
    P_DETECT,
    P_WINDOW,
    P_LINK,
    P_MIX,
    P_OUTPUT,
    NGLOBAL
};
enum { F_THRESHOLD, F_RATIO, F_KNEE, F_ATTACK, F_RELEASE, F_MAKEUP, F_BYPASS, F_SOLO };
#define NPARAMS (NGLOBAL + NB * NFIELD)

static const char *const detect_choices[] = {"peak", "rms", NULL};

#define DOC_XOVER                                                                                  \
    "Linkwitz-Riley 24 dB/oct crossover frequency (each band is -6.02 dB there); the crossovers "  \
    "in use (xover1 for 2 bands, xover1..2 for 3, xover1..3 for 4) are sorted ascending and "      \
    "clamped to 0.45 x the sample rate at init; fixed at init"

#define BAND(n)                                                                                    \
    {"band" #n ".threshold",                                                                       \
     "dB",                                                                                         \
     "level of this band above which its gain is reduced (centre of the knee); detector levels: "  \
     "a sine's peak in peak mode, its RMS in rms mode",                                            \
     -60,                                                                                          \
     0,                                                                                            \
     -20,                                                                                          \
     LATHE_PARAM_NUMBER,                                                                           \
     NULL,                                                                                         \
     AUTO},                                                                                        \
        {"band" #n ".ratio",                                                                       \
         ":1",                                                                                     \
         "input dB per output dB above the knee; 1:1 leaves the band untouched, inf:1 limits",     \
         1,                                                                                        \
         INFINITY,                                                                                 \
         2,                                                                                        \
         LATHE_PARAM_NUMBER,                                                                       \
         NULL,                                                                                     \
         AUTO},                                                                                    \
        {"band" #n ".knee",                                                                        \
         "dB",                                                                                     \
         "width of the quadratic soft knee centred on the threshold (Giannoulis et al. 2012, "     \
         "eq. 4); 0 = hard knee",                                                                  \
         0,                                                                                        \
         24,                                                                                       \
         6,                                                                                        \
         LATHE_PARAM_NUMBER,                                                                       \
         NULL,                                                                                     \
         AUTO},                                                                                    \
        {"band" #n ".attack",                                                                      \
         "ms",                                                                                     \
         "time constant of rising gain reduction in this band: the reduction in dB reaches 63 % "  \
         "(1 - 1/e) of a step after this time",                                                    \
         0.1,                                                                                      \
         500,                                                                                      \
         25,                                                                                       \
         LATHE_PARAM_NUMBER,                                                                       \
         NULL,                                                                                     \
         AUTO | LOG},                                                                              \
        {"band" #n ".release",                                                                     \
         "ms",                                                                                     \
         "time constant of falling gain reduction in this band (63 % of the way back, in dB); in " \
         "peak mode it starts once the peak has left the detector window",                         \
         1,                                                                                        \
         5000,                                                                                     \
         200,                                                                                      \
         LATHE_PARAM_NUMBER,                                                                       \
         NULL,                                                                                     \
         AUTO | LOG},                                                                              \
        {"band" #n ".makeup",                                                                      \
         "dB",                                                                                     \
         "gain added to this band after its compression",                                          \
         -24,                                                                                      \
         24,                                                                                       \
         0,                                                                                        \
         LATHE_PARAM_NUMBER,                                                                       \
         NULL,                                                                                     \
         AUTO},                                                                                    \
        {"band" #n ".bypass",                                                                      \
         "",                                                                                       \
         "passes this band without compression or makeup (faded over ~20 ms)",                     \
         0,                                                                                        \
         1,                                                                                        \
         0,                                                                                        \
         LATHE_PARAM_BOOL,                                                                         \
         NULL,                                                                                     \
         AUTO},                                                                                    \
    {                                                                                              \
        "band" #n ".solo", "",                                                                     \
            "when any band is soloed only the soloed bands are heard (faded over ~20 ms); for "    \
            "listening to one band",                                                               \
            0, 1, 0, LATHE_PARAM_BOOL, NULL, AUTO                                                  \
    }

static const lathe_param_desc params[NPARAMS] = {
    {"bands", "", "number of bands, 2..4 (1..3 crossovers); fixed at init", 2, 4, 3,
     LATHE_PARAM_NUMBER, NULL, 0},
    {"xover1", "Hz", DOC_XOVER, 20, 20000, 120, LATHE_PARAM_NUMBER, NULL, LOG},
    {"xover2", "Hz", DOC_XOVER, 20, 20000, 1000, LATHE_PARAM_NUMBER, NULL, LOG},
    {"xover3", "Hz", DOC_XOVER, 20, 20000, 6000, LATHE_PARAM_NUMBER, NULL, LOG},
    {"detect", "",
     "level detector of every band: peak = max abs(x) of the band over the last `window` ms (a "
     "steady tone reads its peak); rms = mean square averaged with time constant `window` (a "
     "sine reads peak - 3.01 dB)",
     0, 1, 0, LATHE_PARAM_CHOICE, detect_choices, 0},
    {"window", "ms",
     "detector window: peak hold time (should exceed half the period of the lowest frequency "
     "in the low band: 20 ms covers 25 Hz) or RMS averaging time constant",
     0.1, MAX_WINDOW_MS, 20, LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    {"link", "%",
     "stereo link, per band: each channel's detector level (dB) is moved this far toward the "
     "loudest channel's; 100 % = one gain per band for all channels, 0 % = independent",
     0, 100, 100, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"mix", "%",
     "wet share for parallel compression: each band becomes (1 - mix) + mix x its gain, so the "
     "dry path is the same all-pass band sum (no comb filtering)",
     0, 100, 100, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"output", "dB", "gain after the band sum (smoothed)", -INFINITY, 24, 0, LATHE_PARAM_NUMBER,
     NULL, AUTO},
    BAND(1),
    BAND(2),
    BAND(3),
    BAND(4),
};

typedef struct {
    lathe_bq_state lp[2], hp[2]; /* LR4 low and high halves of one split */
} split_state;

typedef struct {
    split_state sp[NX];
    lathe_bq_state ap[NB][NX]; /* band k through AP_j, j > k */
} chan_state;

typedef struct {
    lathe_dyn_detector det;
    /* smoothed: threshold, slope 1 - 1/R, knee, makeup dB, bypass 0..1, solo weight 0..1 */
    double t, s, w, m, byp, sw;
    double cur_attack, cur_release, aa, ar;
    double y[LATHE_DYN_MAXCH]; /* smoothed reduction, dB */
} band_state;

typedef struct {
    double p[NPARAMS];
    double rate;
    int channels, max_block, nb;
    double fc[NX];
    lathe_bq lp[NX], hp[NX], ap[NX];
    chan_state ch[LATHE_DYN_MAXCH];
    band_state b[NB];
    double mix, out; /* smoothed mix 0..1 and output gain (linear) */
    double ks;
    float *bandbuf; /* nb * channels * max_block: band signals */
    double *work;   /* 2 * max_block: crossover scratch */
    double *coef;   /* nb * channels * max_block: per-band output factor */
    double *pv;     /* (6 nb + 2) * max_block: smoothed trajectories */
    double red;
} mband;

static double pband(const mband *s, int b, int f) {
    return s->p[NGLOBAL + b * NFIELD + f];
}

static double slope_of(double ratio) {
    return isinf(ratio) ? 1.0 : 1.0 - 1.0 / ratio;
}

static double out_gain(const mband *s) {
    double g = s->p[P_OUTPUT];
    return isinf(g) && g < 0 ? 0.0 : pow(10.0, g / 20.0);
}

/* Solo weight of band b: with any band soloed, 1 for soloed bands, else 0. */
static double solo_weight(const mband *s, int b) {
    int any = 0;
    for (int k = 0; k < s->nb; k++)
        any |= pband(s, k, F_SOLO) >= 0.5;
    return !any || pband(s, b, F_SOLO) >= 0.5 ? 1.0 : 0.0;
}

static void set(void *st, int i, double v) {
    mband *s = st;
    if (i >= 0 && i < NPARAMS) s->p[i] = v;
}

static void snap(mband *s) {
    for (int b = 0; b < NB; b++) {
        band_state *bs = &s->b[b];
        bs->t = pband(s, b, F_THRESHOLD);
        bs->s = slope_of(pband(s, b, F_RATIO));
        bs->w = pband(s, b, F_KNEE);
        bs->m = pband(s, b, F_MAKEUP);
        bs->byp = pband(s, b, F_BYPASS) >= 0.5 ? 1.0 : 0.0;
        bs->sw = solo_weight(s, b);
    }
    s->mix = s->p[P_MIX] / 100.0;
    s->out = out_gain(s);
}

static void reset(void *st) {
    mband *s = st;
    memset(s->ch, 0, sizeof s->ch);
    for (int b = 0; b < NB; b++) {
        if (b < s->nb) lathe_dyn_detector_reset(&s->b[b].det);
        memset(s->b[b].y, 0, sizeof s->b[b].y);
    }
    s->red = 0;
    snap(s);
}

static void fini(void *st) {
    mband *s = st;
    for (int b = 0; b < NB; b++)
        lathe_dyn_detector_free(&s->b[b].det);
    free(s->bandbuf);
    free(s->work);
    free(s->coef);
    free(s->pv);
    s->bandbuf = NULL;
    s->work = NULL;
    s->coef = NULL;
    s->pv = NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err) {
    mband *s = st;
    s->rate = rate;
    s->channels = channels;
    s->max_block = max_block;
    s->nb = (int)lround(s->p[P_BANDS]);
    s->nb = s->nb < 2 ? 2 : s->nb > NB ? NB : s->nb;
    /* the crossovers in use, sorted ascending, below Nyquist */
    const int nx = s->nb - 1;
    for (int k = 0; k < nx; k++)
        s->fc[k] = fmin(s->p[P_XOVER1 + k], 0.45 * rate);
    qsort(s->fc, (size_t)nx, sizeof s->fc[0], cmp_double);
    for (int k = 0; k < nx; k++) {
        /* bilinear, pre-warped at fc: LP^2 + HP^2 = AP holds exactly (see the top) */
        lathe_bq_design_bilinear(&s->lp[k], LATHE_BQ_LOWPASS, rate, s->fc[k], BUTTER_Q, 0);
        lathe_bq_design_bilinear(&s->hp[k], LATHE_BQ_HIGHPASS, rate, s->fc[k], BUTTER_Q, 0);
        lathe_bq_design_bilinear(&s->ap[k], LATHE_BQ_ALLPASS, rate, s->fc[k], BUTTER_Q, 0);
    }
    for (int b = 0; b < s->nb; b++) {
        lathe_status r =
            lathe_dyn_detector_init(&s->b[b].det, rate, channels, max_block, MAX_WINDOW_MS, err);
        if (r != LATHE_OK) {
            fini(s);
            return r;
        }
        s->b[b].cur_attack = s->b[b].cur_release = -1;
    }
    const size_t mb = (size_t)max_block, nbc = (size_t)s->nb * (size_t)channels;
    s->bandbuf = calloc(nbc * mb, sizeof *s->bandbuf);
    s->work = calloc(2 * mb, sizeof *s->work);
    s->coef = calloc(nbc * mb, sizeof *s->coef);
    s->pv = calloc((size_t)(6 * s->nb + 2) * mb, sizeof *s->pv);
    if (!s->bandbuf || !s->work || !s->coef || !s->pv) {
        fini(s);
        return lathe_error_set(err, LATHE_E_NOMEM, "multiband: out of memory");
    }
    s->ks = 1.0 - lathe_dyn_coef(SMOOTH_MS, rate);
    reset(s);
    return LATHE_OK;
}

/* Filter state: NaN/inf from a bad input sample must not stay for ever, and
 * states decaying in silence are flushed before they reach denormals. */
static void clean(lathe_bq_state *q) {
    if (!(fabs(q->s1) >= 1e-30 && fabs(q->s1) < 1e30)) q->s1 = 0;
    if (!(fabs(q->s2) >= 1e-30 && fabs(q->s2) < 1e30)) q->s2 = 0;
}

/* One LR4 split of x[0..n): lo = LP(LP(x)), x = HP(HP(x)) in place.  The two
 * cascades are independent, so they run side by side in one loop. */
static void split(const lathe_bq *lp, const lathe_bq *hp, split_state *ss, double *x, double *lo,
                  int n) {
    lathe_bq_state l0 = ss->lp[0], l1 = ss->lp[1], h0 = ss->hp[0], h1 = ss->hp[1];
    const lathe_bq L = *lp, H = *hp;
    for (int i = 0; i < n; i++) {
        const double v = x[i];
        lo[i] = lathe_bq_tick(&L, &l1, lathe_bq_tick(&L, &l0, v));
        x[i] = lathe_bq_tick(&H, &h1, lathe_bq_tick(&H, &h0, v));
    }
    clean(&l0), clean(&l1), clean(&h0), clean(&h1);
    ss->lp[0] = l0, ss->lp[1] = l1, ss->hp[0] = h0, ss->hp[1] = h1;
}

static void allpass(const lathe_bq *ap, lathe_bq_state *q, double *x, int n) {
    lathe_bq_state a = *q;
    const lathe_bq A = *ap;
    for (int i = 0; i < n; i++)
        x[i] = lathe_bq_tick(&A, &a, x[i]);
    clean(&a);
    *q = a;
}

/* Splits every channel of io into the band buffers. */
static void crossover(mband *s, float *const *io, int n) {
    const int nb = s->nb, nx = nb - 1;
    const size_t mb = (size_t)s->max_block;
    double *rest = s->work, *lo = s->work + mb;
    for (int c = 0; c < s->channels; c++) {
        chan_state *cs = &s->ch[c];
        /* a NaN or inf input sample enters as 0: it would otherwise fill the
         * crossover states (and, as an infinite peak, every band's detector) */
        for (int i = 0; i < n; i++) {
            const double v = io[c][i];
            rest[i] = isfinite(v) ? v : 0.0;
        }
        for (int k = 0; k <= nx; k++) {
            double *src = lo;
            if (k < nx) {
                split(&s->lp[k], &s->hp[k], &cs->sp[k], rest, lo, n);
                /* phase compensation: band k through the all-passes of the splits above */
                for (int j = k + 1; j < nx; j++)
                    allpass(&s->ap[j], &cs->ap[k][j], lo, n);
            } else {
                src = rest; /* the top band: what the last high-pass left */
            }
            float *dst = s->bandbuf + ((size_t)k * (size_t)s->channels + (size_t)c) * mb;
            for (int i = 0; i < n; i++)
                dst[i] = (float)src[i];
        }
    }
}

/* A smoothed value's trajectory for one block: per sample while it moves
 * (returns stride 1), else buf[0] = target (stride 0). */
static int ramp(double *cur, double target, double k, double *buf, int n) {
    if (*cur == target) {
        buf[0] = target;
        return 0;
    }
    double v = *cur;
    for (int i = 0; i < n; i++)
        buf[i] = v = lathe_dyn_approach(v, target, k);
    *cur = v;
    return 1;
}

static void process(void *st, float *const *io, const float *const *key, int frames) {
    mband *s = st;
    const int nch = s->channels, nb = s->nb, mb = s->max_block;
    const double k = s->ks;
    crossover(s, io, frames);

    double *pmix = s->pv + (size_t)(6 * nb) * (size_t)mb, *pout = pmix + mb;
    const int smix = ramp(&s->mix, s->p[P_MIX] / 100.0, k, pmix, frames);
    const int sout = ramp(&s->out, out_gain(s), k, pout, frames);
    const int ng = (nch > 1 && s->p[P_LINK] >= 100.0) ? 1 : nch;
    double red = 0;
    for (int b = 0; b < nb; b++) {
        band_state *bs = &s->b[b];
        if (pband(s, b, F_ATTACK) != bs->cur_attack) {
            bs->cur_attack = pband(s, b, F_ATTACK);
            bs->aa = lathe_dyn_coef(bs->cur_attack, s->rate);
        }
        if (pband(s, b, F_RELEASE) != bs->cur_release) {
            bs->cur_release = pband(s, b, F_RELEASE);
            bs->ar = lathe_dyn_coef(bs->cur_release, s->rate);
        }
        /* the band's detector reads the band signal; an external key (full band)
         * drives every band's detector instead */
        bs->det.cfg.mode = s->p[P_DETECT] >= 0.5 ? LATHE_DYN_RMS : LATHE_DYN_PEAK;
        bs->det.cfg.window_ms = s->p[P_WINDOW];
        bs->det.cfg.hpf_hz = 0;
        bs->det.cfg.lpf_hz = 0;
        bs->det.cfg.link = s->p[P_LINK] / 100.0;
        float *band = s->bandbuf + (size_t)b * (size_t)nch * (size_t)mb;
        const float *rows[LATHE_DYN_MAXCH];
        for (int c = 0; c < nch; c++)
            rows[c] = key ? key[c] : band + (size_t)c * (size_t)mb;
        lathe_dyn_detect(&bs->det, rows, frames);

        double *pt = s->pv + (size_t)(6 * b) * (size_t)mb, *ps = pt + mb, *pw = ps + mb,
               *pm = pw + mb, *pb = pm + mb, *pso = pb + mb;
        const int st_ = ramp(&bs->t, pband(s, b, F_THRESHOLD), k, pt, frames);
        const int ss = ramp(&bs->s, slope_of(pband(s, b, F_RATIO)), k, ps, frames);
        const int sw = ramp(&bs->w, pband(s, b, F_KNEE), k, pw, frames);
        const int sm = ramp(&bs->m, pband(s, b, F_MAKEUP), k, pm, frames);
        const int sb = ramp(&bs->byp, pband(s, b, F_BYPASS) >= 0.5 ? 1.0 : 0.0, k, pb, frames);
        const int so = ramp(&bs->sw, solo_weight(s, b), k, pso, frames);
        const double aa = bs->aa, ar = bs->ar;
        const int heard = pband(s, b, F_BYPASS) < 0.5;
        for (int c = 0; c < ng; c++) {
            const double *lev = bs->det.level + (size_t)c * (size_t)mb;
            double *cv = s->coef + ((size_t)b * (size_t)nch + (size_t)c) * (size_t)mb;
            double y = bs->y[c], r = 0;
            /* ballistics alone in this loop (the recurrence), as in compressor.c */
            for (int i = 0; i < frames; i++) {
                y = lathe_dyn_branch_raw(
                    y, lathe_dyn_comp_gr(lev[i], pt[i * st_], ps[i * ss], pw[i * sw]), aa, ar);
                r = y > r ? y : r;
                cv[i] = pm[i * sm] - y;
            }
            bs->y[c] = (y < 1e-12 || !isfinite(y)) ? 0.0 : y;
            if (heard && r > red) red = r;
            /* factor on the band: solo x ((1 - mix) + mix x (bypass ? 1 : gain)) */
            for (int i = 0; i < frames; i++) {
                const double g = lathe_dyn_exp2_raw(cv[i] * (1.0 / LATHE_DYN_DB_PER_LOG2));
                const double byp = pb[i * sb], mix = pmix[i * smix];
                cv[i] = pso[i * so] * (1.0 - mix + mix * (byp + (1.0 - byp) * g));
            }
        }
        if (ng == 1)
            for (int c = 1; c < nch; c++)
                bs->y[c] = bs->y[0];
    }
    /* the band sum */
    for (int c = 0; c < nch; c++) {
        const int g = ng == 1 ? 0 : c;
        double *acc = s->work;
        for (int i = 0; i < frames; i++)
            acc[i] = 0;
        for (int b = 0; b < nb; b++) {
            const float *band = s->bandbuf + ((size_t)b * (size_t)nch + (size_t)c) * (size_t)mb;
            const double *cv = s->coef + ((size_t)b * (size_t)nch + (size_t)g) * (size_t)mb;
            for (int i = 0; i < frames; i++)
                acc[i] += cv[i] * band[i];
        }
        float *x = io[c];
        for (int i = 0; i < frames; i++)
            x[i] = (float)(acc[i] * pout[i * sout]);
    }
    s->red = red;
}

static double reduction_db(const void *st) {
    return ((const mband *)st)->red;
}

const lathe_proc_desc lathe_proc_multiband = {
    .name = "multiband",
    .doc = "Multiband compressor with 2-4 bands for mastering. The signal is split by 4th-order "
           "Linkwitz-Riley crossovers (24 dB/oct, two cascaded Butterworth sections per side; "
           "Linkwitz, JAES 24(1), 1976); each lower band also passes through the LR all-pass of "
           "every crossover above it, so with no compression the bands sum to an all-pass and "
           "the magnitude response stays flat. Each band has its own feed-forward compressor "
           "after Giannoulis, Massberg & Reiss, \"Digital Dynamic Range Compressor Design -- A "
           "Tutorial and Analysis\" (JAES 60(6), 2012): peak (held) or RMS detector on the band "
           "signal with stereo link, log-domain gain computer with the quadratic soft knee of "
           "eq. 4, gain reduction smoothed in dB by the smooth branching detector of eq. 17 "
           "(attack and release are exponential time constants), makeup, bypass and solo. "
           "Parallel mix scales each band by (1 - mix) + mix x gain, so the dry path is the "
           "same all-pass sum. An external key, when given, drives every band's detector with "
           "the full-band key. No latency; crossovers and the band count are fixed at init.",
    .params = params,
    .nparams = NPARAMS,
    .state_size = sizeof(mband),
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
