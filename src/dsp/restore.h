/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/restore.h: shared pieces of the restoration processors (denoise,
 * declick, declip) and of `lathe clean`:
 *
 *   - the STFT size and window of denoise, and the noise profile that
 *     `lathe clean` measures in a first pass and hands to denoise through
 *     its `profile` string param (a small text file, see docs/clean.md);
 *   - autoregressive modelling: Levinson-Durbin on an autocorrelation and
 *     least-squares AR interpolation of a gap (Janssen, Veldhuis & Vries,
 *     "Adaptive interpolation of discrete-time signals that can be modeled
 *     as autoregressive processes", IEEE Trans. ASSP 34(2), 1986);
 *   - a segment buffer: a fixed-latency streaming frame (past context,
 *     the segment being finished, future context) that declick and declip
 *     edit in place before the segment is emitted. */
#ifndef LATHE_DSP_RESTORE_H
#define LATHE_DSP_RESTORE_H

#include "lathe/error.h"

/* ---- denoise STFT ---- */

/* FFT length of denoise at `rate`: 2048 up to 48 kHz, 4096 up to 96 kHz,
 * 8192 above (about 43 ms at every rate). The hop is a quarter of it. */
int lathe_denoise_fft_size(double rate);
/* Periodic square-root Hann window of length n into w (analysis and
 * synthesis window; their product, a Hann window, overlap-adds to 2 at a
 * hop of n/4). */
void lathe_sqrt_hann(float *w, int n);

/* ---- noise profile ---- */

typedef struct lathe_noise_profile lathe_noise_profile;

/* A profile accumulator for `rate` (mean power per bin of the
 * sqrt-Hann-windowed frames, all channels pooled). NULL on no memory. */
lathe_noise_profile *lathe_noise_profile_new(double rate, int channels);
/* Adds n frames of planar audio (any block size; frames overlap by 3/4). */
void lathe_noise_profile_add(lathe_noise_profile *p, const float *const *x, long n);
/* Number of STFT frames averaged so far. */
long lathe_noise_profile_frames(const lathe_noise_profile *p);
/* Writes the profile file; err names the path on failure. */
lathe_status lathe_noise_profile_save(const lathe_noise_profile *p, const char *path,
                                      lathe_error *err);
void lathe_noise_profile_free(lathe_noise_profile *p); /* NULL-safe */

/* Reads a profile file made for `rate`: the fft length must be
 * lathe_denoise_fft_size(rate); fills psd[0..n/2] (caller's array).
 * Errors name the file. */
lathe_status lathe_noise_profile_load(const char *path, double rate, double *psd, int bins,
                                      lathe_error *err);

/* ---- autoregressive modelling ---- */

/* Levinson-Durbin: r[0..p] autocorrelation -> a[1..p] (a[0] unused) with
 * x[n] ~ sum a[k] x[n-k]. Returns the final prediction error power (0 when
 * r[0] is 0; then a is all zero). */
double lathe_ar_levinson(const double *r, int p, double *a);

/* Least-squares AR interpolation: replaces x[g0 .. g0+len-1] by the values
 * that minimise the sum of squared prediction errors over n in
 * [g0, g0+len+p) given every other sample (needs x[g0-p .. g0+len+p-1]).
 * a[1..p] is the model; work holds at least len*(len+3) + p + 1 doubles.
 * Returns 0, or -1 when the normal equations are singular (x untouched). */
int lathe_ar_interpolate(float *x, int g0, int len, const double *a, int p, double *work);

/* ---- segment buffer ---- */

#define LATHE_SEG_MAXCH 8

typedef struct {
    int past, seg, fut; /* context before, segment, context after (fut = k * seg) */
    int total, fill, channels;
    float *buf[LATHE_SEG_MAXCH]; /* total samples: [past | seg | fut] at edit time */
    float *outq[LATHE_SEG_MAXCH];
} lathe_segbuf;

/* fut must be a multiple of seg. Latency is seg + fut. */
lathe_status lathe_segbuf_init(lathe_segbuf *s, int channels, int past, int seg, int fut,
                               lathe_error *err);
void lathe_segbuf_reset(lathe_segbuf *s);
void lathe_segbuf_free(lathe_segbuf *s);
/* Channel c's segment is finished (edited in place): it goes to outq and
 * the frame moves on by one segment. Call for every channel, then fill = 0. */
void lathe_segbuf_emit(lathe_segbuf *s, int c);

#endif
