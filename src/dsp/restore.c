/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/restore.c: shared pieces of the restoration processors; see
 * dsp/restore.h. */
#include "dsp/restore.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/fft.h"

int lathe_denoise_fft_size(double rate) {
    return rate <= 48000.0 ? 2048 : rate <= 96000.0 ? 4096 : 8192;
}

void lathe_sqrt_hann(float *w, int n) {
    for (int i = 0; i < n; i++) w[i] = (float)sin(M_PI * i / n); /* sqrt(0.5 - 0.5 cos(2 pi i/n)) */
}

/* ---- noise profile ---- */

struct lathe_noise_profile {
    double rate;
    int n, hop, channels, fill;
    long frames;
    lathe_fft fft;
    float *win, *frame, *in[LATHE_SEG_MAXCH];
    fftwf_complex *spec;
    double *sum;
};

void lathe_noise_profile_free(lathe_noise_profile *p) {
    if (!p) return;
    lathe_fft_destroy(&p->fft);
    fftwf_free(p->frame);
    fftwf_free(p->spec);
    free(p->win);
    for (int c = 0; c < LATHE_SEG_MAXCH; c++) free(p->in[c]);
    free(p->sum);
    free(p);
}

lathe_noise_profile *lathe_noise_profile_new(double rate, int channels) {
    if (channels < 1 || channels > LATHE_SEG_MAXCH) return NULL;
    lathe_noise_profile *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->rate = rate;
    p->n = lathe_denoise_fft_size(rate);
    p->hop = p->n / 4;
    p->channels = channels;
    p->fill = p->n - p->hop; /* the first frame is zero-padded before the audio, like denoise */
    p->win = malloc(sizeof(float) * (size_t)p->n);
    p->frame = fftwf_malloc(sizeof(float) * (size_t)p->n);
    p->spec = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(p->n / 2 + 1));
    p->sum = calloc((size_t)(p->n / 2 + 1), sizeof(double));
    int ok = p->win && p->frame && p->spec && p->sum && lathe_fft_init(&p->fft, p->n) == 0;
    for (int c = 0; ok && c < channels; c++) ok = (p->in[c] = calloc((size_t)p->n, sizeof(float))) != NULL;
    if (!ok) {
        lathe_noise_profile_free(p);
        return NULL;
    }
    lathe_sqrt_hann(p->win, p->n);
    return p;
}

void lathe_noise_profile_add(lathe_noise_profile *p, const float *const *x, long n) {
    long i = 0;
    while (i < n) {
        long k = p->n - p->fill;
        if (k > n - i) k = n - i;
        for (int c = 0; c < p->channels; c++) {
            for (long j = 0; j < k; j++) {
                float v = x[c][i + j];
                p->in[c][p->fill + j] = isfinite(v) ? v : 0.0f;
            }
        }
        p->fill += (int)k;
        i += k;
        if (p->fill < p->n) break;
        for (int c = 0; c < p->channels; c++) {
            for (int j = 0; j < p->n; j++) p->frame[j] = p->in[c][j] * p->win[j];
            lathe_fft_forward(&p->fft, p->frame, p->spec);
            for (int b = 0; b <= p->n / 2; b++)
                p->sum[b] += (double)p->spec[b][0] * p->spec[b][0] +
                             (double)p->spec[b][1] * p->spec[b][1];
            memmove(p->in[c], p->in[c] + p->hop, sizeof(float) * (size_t)(p->n - p->hop));
        }
        p->frames += p->channels;
        p->fill = p->n - p->hop;
    }
}

long lathe_noise_profile_frames(const lathe_noise_profile *p) {
    return p->channels ? p->frames / p->channels : 0;
}

lathe_status lathe_noise_profile_save(const lathe_noise_profile *p, const char *path,
                                      lathe_error *err) {
    FILE *f = fopen(path, "w");
    if (!f) return lathe_error_set(err, LATHE_E_IO, "%s: %s", path, strerror(errno));
    fprintf(f, "lathe-noise-profile 1\nrate %.17g\nfft %d\nframes %ld\n", p->rate, p->n,
            lathe_noise_profile_frames(p));
    double div = p->frames > 0 ? (double)p->frames : 1.0;
    for (int b = 0; b <= p->n / 2; b++) fprintf(f, "%.9g\n", p->sum[b] / div);
    if (fclose(f) != 0) return lathe_error_set(err, LATHE_E_IO, "%s: %s", path, strerror(errno));
    return LATHE_OK;
}

lathe_status lathe_noise_profile_load(const char *path, double rate, double *psd, int bins,
                                      lathe_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return lathe_error_set(err, LATHE_E_IO, "%s: %s", path, strerror(errno));
    int ver = 0, n = 0;
    long frames = 0;
    double r = 0;
    lathe_status st = LATHE_OK;
    if (fscanf(f, "lathe-noise-profile %d rate %lf fft %d frames %ld", &ver, &r, &n, &frames) != 4 ||
        ver != 1) {
        st = lathe_error_set(err, LATHE_E_DATA, "%s: not a lathe noise profile", path);
    } else if (r != rate || n / 2 + 1 != bins) {
        st = lathe_error_set(err, LATHE_E_DATA,
                             "%s: profile made at %g Hz (FFT %d), the audio is at %g Hz", path, r,
                             n, rate);
    } else if (frames < 1) {
        st = lathe_error_set(err, LATHE_E_DATA, "%s: the profile holds no audio", path);
    } else {
        for (int b = 0; b < bins; b++) {
            if (fscanf(f, "%lf", &psd[b]) != 1 || !isfinite(psd[b]) || psd[b] < 0) {
                st = lathe_error_set(err, LATHE_E_DATA, "%s: bad or missing value for bin %d",
                                     path, b);
                break;
            }
        }
    }
    fclose(f);
    return st;
}

/* ---- autoregressive modelling ---- */

double lathe_ar_levinson(const double *r, int p, double *a) {
    for (int k = 0; k <= p; k++) a[k] = 0.0;
    double e = r[0];
    if (!(e > 0.0)) return 0.0;
    double tmp[65];
    for (int i = 1; i <= p; i++) {
        double acc = r[i];
        for (int k = 1; k < i; k++) acc -= a[k] * r[i - k];
        double ki = acc / e;
        for (int k = 1; k < i; k++) tmp[k] = a[k] - ki * a[i - k];
        for (int k = 1; k < i; k++) a[k] = tmp[k];
        a[i] = ki;
        e *= 1.0 - ki * ki;
        if (!(e > 0.0)) {
            e = 0.0;
            break;
        }
    }
    return e;
}

int lathe_ar_interpolate(float *x, int g0, int len, const double *a, int p, double *work) {
    double *m = work, *ek = m + (size_t)len * len, *rhs = ek + len + p, *b = rhs + len;
    /* b: prediction-error filter 1, -a1, ..., -ap (p + 1 values after rhs) */
    b[0] = 1.0;
    for (int k = 1; k <= p; k++) b[k] = -a[k];
    for (int i = 0; i < len; i++) {
        for (int j = 0; j <= i; j++) {
            int d = i - j;
            double s = 0.0;
            for (int k = 0; k + d <= p; k++) s += b[k] * b[k + d];
            m[(size_t)i * len + j] = s;
        }
    }
    /* prediction errors with the gap set to zero */
    for (int n = 0; n < len + p; n++) {
        double s = 0.0;
        for (int k = 0; k <= p; k++) {
            int idx = n - k; /* relative to g0 */
            if (idx >= 0 && idx < len) continue;
            s += b[k] * x[g0 + idx];
        }
        ek[n] = s;
    }
    for (int i = 0; i < len; i++) {
        double s = 0.0;
        for (int k = 0; k <= p; k++) s += b[k] * ek[i + k];
        rhs[i] = -s;
    }
    /* Cholesky of the Toeplitz normal matrix (lower triangle) */
    for (int j = 0; j < len; j++) {
        double d = m[(size_t)j * len + j];
        for (int k = 0; k < j; k++) d -= m[(size_t)j * len + k] * m[(size_t)j * len + k];
        if (!(d > 1e-300)) return -1;
        d = sqrt(d);
        m[(size_t)j * len + j] = d;
        for (int i = j + 1; i < len; i++) {
            double s = m[(size_t)i * len + j];
            for (int k = 0; k < j; k++) s -= m[(size_t)i * len + k] * m[(size_t)j * len + k];
            m[(size_t)i * len + j] = s / d;
        }
    }
    for (int i = 0; i < len; i++) {
        double s = rhs[i];
        for (int k = 0; k < i; k++) s -= m[(size_t)i * len + k] * rhs[k];
        rhs[i] = s / m[(size_t)i * len + i];
    }
    for (int i = len - 1; i >= 0; i--) {
        double s = rhs[i];
        for (int k = i + 1; k < len; k++) s -= m[(size_t)k * len + i] * rhs[k];
        rhs[i] = s / m[(size_t)i * len + i];
    }
    for (int i = 0; i < len; i++)
        if (!isfinite(rhs[i])) return -1;
    for (int i = 0; i < len; i++) x[g0 + i] = (float)rhs[i];
    return 0;
}

/* ---- segment buffer ---- */

void lathe_segbuf_free(lathe_segbuf *s) {
    for (int c = 0; c < LATHE_SEG_MAXCH; c++) {
        free(s->buf[c]);
        free(s->outq[c]);
        s->buf[c] = s->outq[c] = NULL;
    }
}

void lathe_segbuf_emit(lathe_segbuf *s, int c) {
    memcpy(s->outq[c], s->buf[c] + s->past, sizeof(float) * (size_t)s->seg);
    memmove(s->buf[c], s->buf[c] + s->seg, sizeof(float) * (size_t)(s->total - s->seg));
}

void lathe_segbuf_reset(lathe_segbuf *s) {
    for (int c = 0; c < s->channels; c++) {
        memset(s->buf[c], 0, sizeof(float) * (size_t)s->total);
        memset(s->outq[c], 0, sizeof(float) * (size_t)s->seg);
    }
    s->fill = 0;
}

lathe_status lathe_segbuf_init(lathe_segbuf *s, int channels, int past, int seg, int fut,
                               lathe_error *err) {
    s->past = past;
    s->seg = seg;
    s->fut = fut;
    s->total = past + seg + fut;
    s->channels = channels;
    for (int c = 0; c < channels; c++) {
        s->buf[c] = calloc((size_t)s->total, sizeof(float));
        s->outq[c] = calloc((size_t)seg, sizeof(float));
        if (!s->buf[c] || !s->outq[c]) {
            lathe_segbuf_free(s);
            return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        }
    }
    lathe_segbuf_reset(s);
    return LATHE_OK;
}
