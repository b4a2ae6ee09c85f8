/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/denoise.c: STFT noise reduction.
 *
 * Frames of N samples (dsp/restore.h: 2048 up to 48 kHz, about 43 ms),
 * hop N/4, square-root Hann analysis and synthesis windows (their product
 * overlap-adds to a constant).  Per channel and bin k, with the noise power
 * lambda_k (from a measured profile, or tracked by minimum statistics) and
 * the a-posteriori SNR gamma = |Y|^2 / lambda:
 *
 *   xi    = a G_prev^2 gamma_prev + (1 - a) max(gamma - 1, 0)   (decision-directed,
 *           Ephraim & Malah 1984, eq. 51; a = `smoothing`)
 *   G     = xi / (1 + xi)                                       (Wiener gain)
 *   G     <- max(G_k, (G_{k-1} + 2 G_k + G_{k+1}) / 4)          (frequency smoothing,
 *           upward only: a partial's skirts keep the gain of its peak bin)
 *   G     <- max(G, 10^(-amount/20))                            (reduction floor)
 *
 * The decision-directed estimate is the time smoothing that keeps musical
 * noise down (Cappe 1994); the floor keeps a little of the noise, so what
 * remains sounds like quieter noise rather than warbling.  Without a
 * profile the noise power is tracked by minimum statistics (Martin, "Noise
 * power spectral density estimation based on optimal smoothing and minimum
 * statistics", IEEE Trans. SAP 9(5), 2001), simplified: a fixed smoothing
 * constant 0.85, the minimum over 4 s tracked in 8 sub-windows, then the
 * lower envelope over +-4 bins (music holds a bin for seconds; its
 * neighbours between partials dip to the noise), and a
 * constant bias compensation.  Digital silence does not update the tracker.
 * Latency: N frames. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef DENOISE_DEBUG
#include <stdio.h>
#endif

#include "dsp/fft.h"
#include "dsp/restore.h"
#include "lathe/proc.h"

enum { P_AMOUNT, P_SMOOTHING, P_SENSITIVITY, P_PROFILE, NPARAMS };

#define AUTO LATHE_PARAM_AUTOMATABLE
#define MAXCH 8
#define MS_ALPHA 0.85 /* periodogram smoothing of the minimum-statistics tracker */
#define MS_WINDOW_S 4.0
#define MS_SUB 8
#define MS_SPREAD 4 /* bins each side for the lower envelope across frequency */
/* Bias compensation: the mean noise power over the expected value of the
 * estimate (minimum over MS_WINDOW_S of the smoothed periodogram, then the
 * lower envelope over +-MS_SPREAD bins), measured on white noise with this
 * window, hop and MS_ALPHA (Martin 2001, sec. III-C, derives the bias of
 * the plain minimum; the envelope across bins lowers it further). */
#define MS_BIAS 3.28

static const lathe_param_desc params[NPARAMS] = {
    {"amount", "dB",
     "largest reduction: the gain of a bin never goes below -amount, so pure noise is lowered "
     "by this much; 0 passes the input through (delayed by the latency)",
     0, 40, 12, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"smoothing", "%",
     "weight of the previous frame in the decision-directed a-priori SNR (Ephraim-Malah's "
     "alpha): higher = less musical noise, slower response to onsets",
     50, 99.5, 98, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"sensitivity", "dB",
     "scales the noise estimate (profile or tracked) before the gain rule: positive values "
     "treat more of the signal as noise",
     -12, 12, 0, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"profile", "",
     "noise profile file (written by `lathe clean` from a noise-only range or file: mean power "
     "per STFT bin); empty = estimate the noise continuously by minimum statistics",
     0, 0, 0, LATHE_PARAM_STRING, NULL, 0},
};

typedef struct {
    double p[NPARAMS];
    char *profile_path;
    double rate;
    int ch, n, hop, bins, fill, have_profile;
    int ms_d, ms_v, ms_sub, ms_count;
    lathe_fft fft;
    float *win, *frame;
    fftwf_complex *spec;
    double *profile, *lambda, *gain, *gs;
    float *in[MAXCH], *ola[MAXCH], *outq[MAXCH];
    double *prev[MAXCH]; /* G^2 gamma of the previous frame */
    double *psm[MAXCH], *actmin[MAXCH], *submin[MAXCH], *pmin[MAXCH];
    int started[MAXCH];
    double gfloor; /* smoothed floor (linear) */
    double red;
} denoise;

static void set(void *st, int i, double v) {
    denoise *s = st;
    if (i >= 0 && i < NPARAMS) s->p[i] = v;
}

static lathe_status set_string(void *st, int i, const char *v, lathe_error *err) {
    denoise *s = st;
    if (i != P_PROFILE) return lathe_error_set(err, LATHE_E_INVALID, "denoise: no such string param");
    free(s->profile_path);
    s->profile_path = NULL;
    if (v && *v) {
        s->profile_path = strdup(v);
        if (!s->profile_path) return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
    }
    return LATHE_OK;
}

static void reset(void *st) {
    denoise *s = st;
    size_t nb = (size_t)s->bins;
    for (int c = 0; c < s->ch; c++) {
        memset(s->in[c], 0, sizeof(float) * (size_t)s->n);
        memset(s->ola[c], 0, sizeof(float) * (size_t)s->n);
        memset(s->outq[c], 0, sizeof(float) * (size_t)s->hop);
        memset(s->prev[c], 0, sizeof(double) * nb);
        memset(s->psm[c], 0, sizeof(double) * nb);
        for (size_t k = 0; k < nb; k++) s->actmin[c][k] = s->pmin[c][k] = INFINITY;
        for (size_t k = 0; k < nb * MS_SUB; k++) s->submin[c][k] = INFINITY;
        s->started[c] = 0;
    }
    s->ms_count = 0;
    s->ms_sub = 0;
    s->fill = 0;
    s->gfloor = pow(10.0, -s->p[P_AMOUNT] / 20.0);
    s->red = 0;
}

static void fini(void *st) {
    denoise *s = st;
    lathe_fft_destroy(&s->fft);
    fftwf_free(s->frame);
    fftwf_free(s->spec);
    s->frame = NULL;
    s->spec = NULL;
    free(s->win);
    free(s->profile);
    free(s->lambda);
    free(s->gain);
    free(s->gs);
    s->win = NULL;
    s->profile = s->lambda = s->gain = s->gs = NULL;
    for (int c = 0; c < MAXCH; c++) {
        free(s->in[c]);
        free(s->ola[c]);
        free(s->outq[c]);
        free(s->prev[c]);
        free(s->psm[c]);
        free(s->actmin[c]);
        free(s->submin[c]);
        free(s->pmin[c]);
        s->in[c] = s->ola[c] = s->outq[c] = NULL;
        s->prev[c] = s->psm[c] = s->actmin[c] = s->submin[c] = s->pmin[c] = NULL;
    }
    free(s->profile_path);
    s->profile_path = NULL;
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err) {
    denoise *s = st;
    (void)max_block;
    s->rate = rate;
    s->ch = channels;
    s->n = lathe_denoise_fft_size(rate);
    s->hop = s->n / 4;
    s->bins = s->n / 2 + 1;
    size_t nb = (size_t)s->bins;
    s->win = malloc(sizeof(float) * (size_t)s->n);
    s->frame = fftwf_malloc(sizeof(float) * (size_t)s->n);
    s->spec = fftwf_malloc(sizeof(fftwf_complex) * nb);
    s->profile = calloc(nb, sizeof(double));
    s->lambda = calloc(nb, sizeof(double));
    s->gain = calloc(nb, sizeof(double));
    s->gs = calloc(nb, sizeof(double));
    int ok = s->win && s->frame && s->spec && s->profile && s->lambda && s->gain && s->gs;
    for (int c = 0; ok && c < channels; c++) {
        s->in[c] = malloc(sizeof(float) * (size_t)s->n);
        s->ola[c] = malloc(sizeof(float) * (size_t)s->n);
        s->outq[c] = malloc(sizeof(float) * (size_t)s->hop);
        s->prev[c] = malloc(sizeof(double) * nb);
        s->psm[c] = malloc(sizeof(double) * nb);
        s->actmin[c] = malloc(sizeof(double) * nb);
        s->pmin[c] = malloc(sizeof(double) * nb);
        s->submin[c] = malloc(sizeof(double) * nb * MS_SUB);
        ok = s->in[c] && s->ola[c] && s->outq[c] && s->prev[c] && s->psm[c] && s->actmin[c] &&
             s->pmin[c] && s->submin[c];
    }
    if (!ok) return lathe_error_set(err, LATHE_E_NOMEM, "denoise: out of memory");
    if (lathe_fft_init(&s->fft, s->n) != 0)
        return lathe_error_set(err, LATHE_E_NOMEM, "denoise: cannot plan the FFT");
    lathe_sqrt_hann(s->win, s->n);
    s->have_profile = 0;
    if (s->profile_path) {
        lathe_status r = lathe_noise_profile_load(s->profile_path, rate, s->profile, s->bins, err);
        if (r != LATHE_OK) return r;
        s->have_profile = 1;
    }
    s->ms_d = (int)lround(MS_WINDOW_S * rate / s->hop);
    s->ms_v = (s->ms_d + MS_SUB - 1) / MS_SUB;
    reset(s);
    return LATHE_OK;
}

/* Minimum statistics: updates the noise estimate of channel c from the
 * power spectrum in s->gs. */
static void track_noise(denoise *s, int c, int sub_done) {
    double *psm = s->psm[c], *am = s->actmin[c], *pm = s->pmin[c], *sm = s->submin[c];
    const int nb = s->bins;
    if (!s->started[c]) {
        for (int k = 0; k < nb; k++) psm[k] = s->gs[k];
        s->started[c] = 1;
    } else {
        for (int k = 0; k < nb; k++) psm[k] = MS_ALPHA * psm[k] + (1.0 - MS_ALPHA) * s->gs[k];
    }
    for (int k = 0; k < nb; k++) {
        if (psm[k] < am[k]) am[k] = psm[k];
        if (am[k] < pm[k]) pm[k] = am[k];
    }
    if (sub_done) {
        double *slot = sm + (size_t)s->ms_sub * nb;
        for (int k = 0; k < nb; k++) slot[k] = am[k];
        for (int k = 0; k < nb; k++) {
            double m = sm[k];
            for (int u = 1; u < MS_SUB; u++)
                if (sm[(size_t)u * nb + k] < m) m = sm[(size_t)u * nb + k];
            pm[k] = m;
            am[k] = psm[k];
        }
    }
}

static void process_frame(denoise *s) {
    const int n = s->n, nb = s->bins;
    const double a = s->p[P_SMOOTHING] / 100.0;
    const double sens = pow(10.0, s->p[P_SENSITIVITY] / 10.0);
    const double target = pow(10.0, -s->p[P_AMOUNT] / 20.0);
    s->gfloor += 0.3 * (target - s->gfloor); /* about 3 frames (30 ms at 48 kHz) */
    if (fabs(target - s->gfloor) < 1e-9) s->gfloor = target;
    const double gfl = s->gfloor;
    const float scale = 1.0f / (2.0f * (float)n); /* sqrt-Hann^2 overlap-adds to 2 at n/4; FFTW: n */
    int sub_done = 0;
    int any_start = 0;
    for (int c = 0; c < s->ch; c++) any_start |= s->started[c];
    (void)any_start;
    double gmin = 1.0;
    for (int c = 0; c < s->ch; c++) {
        float *in = s->in[c];
        int silent = 1;
        for (int i = 0; i < n; i++) {
            s->frame[i] = in[i] * s->win[i];
            if (in[i] != 0.0f) silent = 0;
        }
        lathe_fft_forward(&s->fft, s->frame, s->spec);
        for (int k = 0; k < nb; k++)
            s->gs[k] = (double)s->spec[k][0] * s->spec[k][0] + (double)s->spec[k][1] * s->spec[k][1];
        if (!s->have_profile && !silent) {
            if (c == 0) {
                s->ms_count++;
                if (s->ms_count >= s->ms_v) {
                    s->ms_count = 0;
                    sub_done = 1;
                }
            }
            track_noise(s, c, sub_done);
        }
        const double *noise = s->profile;
        if (!s->have_profile) { /* lower envelope across neighbouring bins */
            const double *pm = s->pmin[c];
            for (int k = 0; k < nb; k++) {
                int lo = k - MS_SPREAD < 0 ? 0 : k - MS_SPREAD, hi = k + MS_SPREAD >= nb ? nb - 1 : k + MS_SPREAD;
                double m = pm[lo];
                for (int j = lo + 1; j <= hi; j++) if (pm[j] < m) m = pm[j];
                s->lambda[k] = m;
            }
            noise = s->lambda;
#ifdef DENOISE_DEBUG
            if (c == 0) { double acc = 0; for (int k = 1; k < nb - 1; k++) acc += noise[k]; fprintf(stderr, "msmean %g\n", acc / (nb - 2)); }
#endif
        }
        const double bias = s->have_profile ? 1.0 : MS_BIAS;
        double *prev = s->prev[c];
        for (int k = 0; k < nb; k++) {
            double lam = noise[k] * bias * sens;
            if (!(lam > 1e-30) || isinf(lam)) lam = isinf(lam) ? 1e30 : 1e-30;
            double gamma = s->gs[k] / lam;
            double xi = a * prev[k] + (1.0 - a) * fmax(gamma - 1.0, 0.0);
            if (xi < 1e-6) xi = 1e-6;
            double g = xi / (1.0 + xi);
            s->gain[k] = g;
            prev[k] = g * g * gamma;
            if (!isfinite(prev[k]) || prev[k] > 1e12) prev[k] = 1e12;
        }
        for (int k = 0; k < nb; k++) {
            double l = s->gain[k > 0 ? k - 1 : k + 1], r = s->gain[k < nb - 1 ? k + 1 : k - 1];
            double g = fmax(s->gain[k], 0.25 * (l + r) + 0.5 * s->gain[k]);
            if (g < gfl) g = gfl;
            if (g < gmin) gmin = g;
            s->spec[k][0] *= (float)g;
            s->spec[k][1] *= (float)g;
        }
        lathe_fft_inverse(&s->fft, s->spec, s->frame);
        float *ola = s->ola[c];
        for (int i = 0; i < n; i++) ola[i] += s->frame[i] * s->win[i] * scale;
        memcpy(s->outq[c], ola, sizeof(float) * (size_t)s->hop);
        memmove(ola, ola + s->hop, sizeof(float) * (size_t)(n - s->hop));
        memset(ola + n - s->hop, 0, sizeof(float) * (size_t)s->hop);
        memmove(in, in + s->hop, sizeof(float) * (size_t)(n - s->hop));
    }
    s->red = -20.0 * log10(fmax(gmin, 1e-12));
}

static void process(void *st, float *const *io, const float *const *key, int frames) {
    denoise *s = st;
    (void)key;
    int i = 0;
    while (i < frames) {
        int k = s->hop - s->fill;
        if (k > frames - i) k = frames - i;
        for (int c = 0; c < s->ch; c++) {
            float *x = io[c] + i, *dst = s->in[c] + (s->n - s->hop) + s->fill;
            const float *q = s->outq[c] + s->fill;
            for (int j = 0; j < k; j++) {
                float v = x[j];
                dst[j] = isfinite(v) ? v : 0.0f;
                x[j] = q[j];
            }
        }
        s->fill += k;
        i += k;
        if (s->fill == s->hop) {
            process_frame(s);
            s->fill = 0;
        }
    }
}

static int latency(const void *st) {
    return ((const denoise *)st)->n;
}

static double reduction_db(const void *st) {
    return ((const denoise *)st)->red;
}

const lathe_proc_desc lathe_proc_denoise = {
    .name = "denoise",
    .doc = "Spectral noise reduction: a short-time Fourier transform (about 43 ms square-root "
           "Hann frames, 75 % overlap) with a Wiener gain per bin driven by the "
           "decision-directed a-priori SNR of Ephraim and Malah (IEEE Trans. ASSP 32(6), 1984), "
           "smoothed upward across neighbouring bins and floored at -amount, which keeps musical noise "
           "down (Cappe, IEEE Trans. SAP 2(2), 1994). The noise power comes from a profile file "
           "(measured by `lathe clean` on a noise-only range or file) or, without one, is "
           "tracked by minimum statistics (Martin, IEEE Trans. SAP 9(5), 2001; simplified: "
           "fixed smoothing, minimum over 4 s and over +-4 bins, constant bias). Latency: one "
           "frame.",
    .params = params,
    .nparams = NPARAMS,
    .state_size = sizeof(denoise),
    .init = init,
    .set = set,
    .set_string = set_string,
    .process = process,
    .latency = latency,
    .reset = reset,
    .fini = fini,
    .reduction_db = reduction_db,
    .tail_s = NULL,
};
