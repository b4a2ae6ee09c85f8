/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/fir.h: long FIR filters for the filter family (linear-phase eq).
 *
 * lathe_pconv is a uniformly partitioned overlap-save convolver ("UPOLS":
 * F. Wefers, "Partitioned convolution algorithms for real-time auralization",
 * PhD thesis, RWTH Aachen 2015, ch. 5; the frequency-domain delay line of
 * G. P. M. Egelmeers and P. C. W. Sommen, "A new method for efficient
 * convolution in frequency domain by nonuniform partitioning", EUSIPCO 1994).
 * Input is gathered into blocks of B frames; each block adds one spectrum of
 * the last 2B inputs to a delay line of P spectra, and the output block is
 * the inverse FFT of sum_p X[t-p] H[p] (the last B samples).  The block
 * buffering delays by exactly B frames.
 *
 * Two filter slots: a new filter is loaded into the spare slot without
 * allocating, and the next output block is computed with both and
 * crossfaded (raised cosine over B frames); the delay line is shared, so
 * after that block the output is exactly that of the new filter. */
#ifndef LATHE_DSP_FIR_H
#define LATHE_DSP_FIR_H

#include "dsp/fft.h"

/* Spectra in the delay line and the filter slots are stored in split blocks
 * of LATHE_PCONV_LANES bins: the real parts of the block's bins, then their
 * imaginary parts (the B+1 bins padded with zeros to whole blocks).  The sum
 * over partitions then runs on whole SIMD registers without shuffles and
 * stays in registers from the first partition to the last; the spectra are
 * split once when they are made, the sum joined once before the inverse FFT. */
#define LATHE_PCONV_LANES 8

typedef struct {
    int channels, block, parts, stride; /* B, P, floats per spectrum (split blocks, above) */
    lathe_fft fft;                      /* 2B points */
    float *fdl;                         /* channels x parts x stride: input spectra */
    float *spec[2];                     /* parts x stride each: filter spectra, scaled 1/2B */
    float *acc[2];                      /* stride each: the sums with the current and new filter */
    const float **ring;                 /* parts: the delay line's spectra, newest first */
    fftwf_complex *bins;                /* B+1: one spectrum as FFTW reads and writes it */
    float *in;                          /* channels x 2B: the last two input blocks */
    float *out;                         /* channels x B: the output block being played */
    float *tmp[2];                      /* 2B each */
    float *fade;                        /* B: crossfade gain of the new filter */
    int cur, fading, pos, slot;
} lathe_pconv;

/* Allocates for `channels` channels, partitions of `block` frames (a power
 * of two) and filters of at most `taps` taps. Returns 0, or -1 on failure
 * (c is then safe to lathe_pconv_free). The filter starts as all zeros. */
int lathe_pconv_init(lathe_pconv *c, int channels, int block, int taps);
void lathe_pconv_free(lathe_pconv *c); /* NULL-safe, idempotent */
/* Loads h[0..n) (n <= taps of init) into the spare slot: with now != 0 it
 * becomes the filter at once (before processing starts), otherwise the next
 * output block fades over to it. No allocation. */
void lathe_pconv_load(lathe_pconv *c, const float *h, int n, int now);
/* Frames until the next block boundary (1..B); 0 frames are buffered when it is B. */
static inline int lathe_pconv_room(const lathe_pconv *c) {
    return c->block - c->pos;
}
/* Filters io[ch][off..off+n) in place, n <= lathe_pconv_room(c); output is
 * delayed by B frames plus the filter's own delay. Non-finite input samples
 * are replaced by zeros before they reach the delay line. */
void lathe_pconv_run(lathe_pconv *c, float *const *io, long off, int n);
/* The same without copies, for callers that make the input and use the
 * output in their own loop: lathe_pconv_in(c, ch)[i] takes input frame i and
 * lathe_pconv_out(c, ch)[i] holds output frame i, for i < lathe_pconv_room(c)
 * (finite values only: this path does not replace NaN and inf); read the
 * outputs of the frames before lathe_pconv_advance(c, n) moves past them. */
static inline float *lathe_pconv_in(const lathe_pconv *c, int ch) {
    return c->in + (size_t)ch * 2 * (size_t)c->block + c->block + c->pos;
}
static inline const float *lathe_pconv_out(const lathe_pconv *c, int ch) {
    return c->out + (size_t)ch * (size_t)c->block + c->pos;
}
void lathe_pconv_advance(lathe_pconv *c, int n);
/* Silence: clears the delay line and buffers; keeps the filter. */
void lathe_pconv_reset(lathe_pconv *c);

/* Half a symmetric Kaiser window for a filter of odd length 2*half+1:
 * w[k] = I0(beta sqrt(1 - (k/half)^2)) / I0(beta), k = 0..half (w[0] = 1, the
 * centre). J. F. Kaiser, "Nonrecursive digital filter design using the
 * I0-sinh window function", IEEE ISCAS 1974. */
void lathe_kaiser_half(float *w, int half, double beta);

/* Linear-phase FIR of odd length 2*half+1 from a zero-phase magnitude:
 * spec[0..M/2] holds |H| on the bins k rate/M of an M-point grid (real parts;
 * destroyed), f plans M points, t is M floats of scratch.  h[half +- k] =
 * w[k] * IDFT(|H|)[k] (the window method on a dense frequency sampling:
 * A. V. Oppenheim, R. W. Schafer, "Discrete-Time Signal Processing", 3rd ed.,
 * secs. 7.5 and 7.6), exactly symmetric. No allocation. */
void lathe_fir_from_magnitude(const lathe_fft *f, fftwf_complex *spec, float *t, const float *w,
                              int half, float *h);

#endif
