/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/deess.c: split-band de-esser.
 *
 * The band above `freq` is split off with a perfectly reconstructing,
 * in-phase pair: lp = a linear-phase FIR low-pass (Kaiser-windowed sinc,
 * -6 dB at freq, 1 kHz transition band, 70 dB stopband; J. F. Kaiser,
 * "Nonrecursive digital filter design using the I0-sinh window function",
 * 1974, with Kaiser's formulas for beta and the length) and
 * hp = x(n - M) - lp, M = the FIR's delay.  So lp + hp is the input delayed by
 * M frames, exactly, and hp is in phase with the input in its pass band; the
 * reduction is applied as out = x(n - M) - (1 - g) hp, which is exactly the
 * delayed input whenever g = 1 (no reduction).
 *
 * The level of hp (max |hp| over 1 ms) drives the gain: the band is pulled
 * down to the threshold, by at most `range` dB, with attack and release
 * smoothing of the reduction in dB (the smooth branching detector of
 * Giannoulis, Massberg & Reiss, JAES 60(6), 2012, eq. 17).  In `wide` mode
 * the whole signal is reduced instead of the band. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/dynamics.h"
#include "lathe/proc.h"

enum { P_FREQ, P_THRESHOLD, P_RANGE, P_ATTACK, P_RELEASE, P_MODE, P_LISTEN, P_LINK, NPARAMS };

#define AUTO LATHE_PARAM_AUTOMATABLE
#define LOG LATHE_PARAM_LOG
#define SMOOTH_MS 20.0
#define WINDOW_MS 1.0
#define TRANSITION_HZ 1000.0
#define STOPBAND_DB 70.0

static const char *const mode_choices[] = {"split", "wide", NULL};

static const lathe_param_desc params[NPARAMS] = {
    {"freq", "Hz",
     "split frequency: the band above it is detected and (split mode) reduced; the linear-phase "
     "split is -6 dB here with a 1 kHz transition band (fully in the band from freq + 500 Hz); "
     "fixed at init",
     2000, 16000, 6500, LATHE_PARAM_NUMBER, NULL, LOG},
    {"threshold", "dB", "band level (sample peak of the band above freq) above which it is reduced",
     -60, 0, -30, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"range", "dB",
     "largest reduction: the band is pulled down to the threshold, but by no more than this", 0, 24,
     6, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"attack", "ms", "time constant (63 %) of a growing reduction, in dB", 0.1, 50, 1,
     LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    {"release", "ms", "time constant (63 %) of a shrinking reduction, in dB", 5, 500, 60,
     LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    {"mode", "",
     "split = only the band above freq is reduced; wide = the whole signal is reduced when the "
     "band is loud",
     0, 1, 0, LATHE_PARAM_CHOICE, mode_choices, AUTO},
    {"listen", "", "solo the detector band (the part above freq), unreduced, for tuning freq", 0, 1,
     0, LATHE_PARAM_BOOL, NULL, AUTO},
    {"link", "%",
     "stereo link: each channel's band level (dB) moves this far toward the loudest channel's", 0,
     100, 100, LATHE_PARAM_NUMBER, NULL, AUTO},
};

typedef struct {
    double p[NPARAMS];
    double rate;
    int channels, max_block, m; /* m: FIR delay, the FIR has 2m + 1 taps */
    float *h;                   /* h[0..m], h[m] the centre tap; symmetric */
    float *hist;                /* channels * (2m + max_block): input history */
    float *band;                /* channels * max_block: hp */
    float *lp;                  /* max_block scratch */
    lathe_dyn_detector det;
    double t, r, wide, listen, ks; /* smoothed threshold, range, mode and listen blends */
    double cur_attack, cur_release, aa, ar;
    double y[LATHE_DYN_MAXCH];
    double red;
} deess;

/* Zeroth-order modified Bessel function of the first kind (power series). */
static double bessel_i0(double x) {
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 60; k++) {
        term *= q / ((double)k * k);
        sum += term;
        if (term < sum * 1e-17) break;
    }
    return sum;
}

static void set(void *st, int i, double v) {
    deess *s = st;
    if (i >= 0 && i < NPARAMS) s->p[i] = v;
}

static void reset(void *st) {
    deess *s = st;
    lathe_dyn_detector_reset(&s->det);
    if (s->hist)
        memset(s->hist, 0, sizeof(float) * (size_t)s->channels * (size_t)(2 * s->m + s->max_block));
    memset(s->y, 0, sizeof s->y);
    s->red = 0;
    s->t = s->p[P_THRESHOLD];
    s->r = s->p[P_RANGE];
    s->wide = s->p[P_MODE] >= 0.5;
    s->listen = s->p[P_LISTEN] >= 0.5;
}

static void fini(void *st) {
    deess *s = st;
    lathe_dyn_detector_free(&s->det);
    free(s->h);
    free(s->hist);
    free(s->band);
    free(s->lp);
    s->h = s->hist = s->band = s->lp = NULL;
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err) {
    deess *s = st;
    s->rate = rate;
    s->channels = channels;
    s->max_block = max_block;
    /* Kaiser's design formulas: beta for the stopband attenuation A, and the
     * order N = (A - 7.95) / (2.285 dw) for transition width dw (rad/sample). */
    const double A = STOPBAND_DB, beta = 0.1102 * (A - 8.7);
    const double dw = 2.0 * M_PI * TRANSITION_HZ / rate;
    s->m = (int)ceil((A - 7.95) / (2.285 * dw) / 2.0);
    const int m = s->m;
    s->h = calloc((size_t)m + 1, sizeof *s->h);
    s->hist = calloc((size_t)channels * (size_t)(2 * m + max_block), sizeof *s->hist);
    s->band = calloc((size_t)channels * (size_t)max_block, sizeof *s->band);
    s->lp = calloc((size_t)max_block, sizeof *s->lp);
    lathe_status r = LATHE_OK;
    if (!s->h || !s->hist || !s->band || !s->lp)
        r = lathe_error_set(err, LATHE_E_NOMEM, "deesser: out of memory");
    if (r == LATHE_OK)
        r = lathe_dyn_detector_init(&s->det, rate, channels, max_block, WINDOW_MS, err);
    if (r != LATHE_OK) {
        fini(s);
        return r;
    }
    /* windowed sinc, cutoff fc (amplitude 1/2 there), DC gain normalised to 1 */
    const double fc = fmin(s->p[P_FREQ], 0.5 * rate - 0.6 * TRANSITION_HZ) / rate;
    double hd[2048 + 1], sum = 0;
    double *hv = m <= 2048 ? hd : malloc(sizeof(double) * (size_t)(m + 1));
    if (!hv) {
        fini(s);
        return lathe_error_set(err, LATHE_E_NOMEM, "deesser: out of memory");
    }
    const double i0b = bessel_i0(beta);
    for (int j = 0; j <= m; j++) {
        double k = (double)(j - m); /* <= 0 */
        double sinc = k == 0 ? 2.0 * fc : sin(2.0 * M_PI * fc * k) / (M_PI * k);
        double r2 = k / (double)m;
        hv[j] = sinc * bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r2 * r2))) / i0b;
        sum += j == m ? hv[j] : 2.0 * hv[j];
    }
    for (int j = 0; j <= m; j++)
        s->h[j] = (float)(hv[j] / sum);
    if (hv != hd) free(hv);
    s->det.cfg.mode = LATHE_DYN_PEAK;
    s->det.cfg.window_ms = WINDOW_MS;
    s->det.cfg.hpf_hz = 0;
    s->det.cfg.lpf_hz = 0;
    s->ks = 1.0 - lathe_dyn_coef(SMOOTH_MS, rate);
    s->cur_attack = s->cur_release = -1;
    reset(s);
    return LATHE_OK;
}


static void process(void *st, float *const *io, const float *const *key, int frames) {
    deess *s = st;
    (void)key; /* the band is always taken from the input */
    const int m = s->m, hl = 2 * m + s->max_block;
    if (s->p[P_ATTACK] != s->cur_attack) {
        s->cur_attack = s->p[P_ATTACK];
        s->aa = lathe_dyn_coef(s->cur_attack, s->rate);
    }
    if (s->p[P_RELEASE] != s->cur_release) {
        s->cur_release = s->p[P_RELEASE];
        s->ar = lathe_dyn_coef(s->cur_release, s->rate);
    }
    /* the split: band = x(n - m) - lp, lp by a symmetric FIR (loops over n vectorise) */
    const float *band_ptrs[LATHE_DYN_MAXCH];
    for (int c = 0; c < s->channels; c++) {
        float *x = s->hist + (size_t)c * hl, *lp = s->lp,
              *band = s->band + (size_t)c * s->max_block;
        memcpy(x + 2 * m, io[c], sizeof(float) * (size_t)frames);
        const float hm = s->h[m];
        for (int i = 0; i < frames; i++)
            lp[i] = hm * x[m + i];
        for (int j = 0; j < m; j++) {
            const float hj = s->h[j];
            const float *a = x + 2 * m - j, *b = x + j;
            for (int i = 0; i < frames; i++)
                lp[i] += hj * (a[i] + b[i]);
        }
        for (int i = 0; i < frames; i++)
            band[i] = x[m + i] - lp[i];
        band_ptrs[c] = band;
    }
    s->det.cfg.link = s->p[P_LINK] / 100.0;
    lathe_dyn_detect(&s->det, band_ptrs, frames);

    const double tt = s->p[P_THRESHOLD], tr = s->p[P_RANGE], k = s->ks;
    const double twide = s->p[P_MODE] >= 0.5, tlisten = s->p[P_LISTEN] >= 0.5;
    const double aa = s->aa, ar = s->ar;
    double t = s->t, r = s->r, wide = s->wide, listen = s->listen, red = 0;
    const int moving = t != tt || r != tr || wide != twide || listen != tlisten;
    for (int i = 0; i < frames; i++) {
        if (moving) {
            t = lathe_dyn_approach(t, tt, k);
            r = lathe_dyn_approach(r, tr, k);
            wide = lathe_dyn_approach(wide, twide, k);
            listen = lathe_dyn_approach(listen, tlisten, k);
        }
        for (int c = 0; c < s->channels; c++) {
            double lev = s->det.level[(size_t)c * s->max_block + i];
            double want = lev - t;
            want = want < 0.0 ? 0.0 : want < r ? want : r;
            double y = lathe_dyn_branch(s->y[c], want, aa, ar);
            s->y[c] = isfinite(y) ? y : 0.0; /* a NaN input does not stay in the state */
            if (y > red) red = y;
            const double xd = s->hist[(size_t)c * hl + m + i];
            const double hp = s->band[(size_t)c * s->max_block + i];
            double out =
                y > 0 ? xd - (1.0 - lathe_dyn_undb(-y)) * (wide * xd + (1.0 - wide) * hp) : xd;
            if (listen > 0) out += listen * (hp - out);
            io[c][i] = (float)out;
        }
    }
    for (int c = 0; c < s->channels; c++) {
        float *x = s->hist + (size_t)c * hl;
        memmove(x, x + frames, sizeof(float) * (size_t)(2 * m));
    }
    s->t = t, s->r = r, s->wide = wide, s->listen = listen;
    s->red = red;
}

static int latency(const void *st) {
    return ((const deess *)st)->m;
}

static double reduction_db(const void *st) {
    return ((const deess *)st)->red;
}

const lathe_proc_desc lathe_proc_deesser = {
    .name = "deesser",
    .doc = "Split-band de-esser. A linear-phase FIR low-pass (Kaiser window, 70 dB stopband, "
           "1 kHz transition centred on freq) and its exact complement hp = delayed input - lp "
           "split off the band above freq; lp + hp is the delayed input, so with no reduction "
           "the output is the input, bit for bit, delayed by the FIR's latency (reported). "
           "When the band's sample peak (over 1 ms) exceeds the threshold the band is pulled "
           "down to it, by at most range dB, with attack/release smoothing in dB (smooth "
           "branching detector, Giannoulis, Massberg & Reiss, JAES 60(6), 2012). Wide mode "
           "reduces the whole signal instead; listen solos the band. The external key is not "
           "used.",
    .params = params,
    .nparams = NPARAMS,
    .state_size = sizeof(deess),
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
