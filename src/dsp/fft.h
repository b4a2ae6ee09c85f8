/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/fft.h: real FFTs through FFTW (single precision), with the planner
 * made safe to call from several threads.
 *
 * FFTW's planner (fftwf_plan_* and fftwf_destroy_plan) is not thread safe;
 * executing a plan is.  Every plan in lathe is therefore created and
 * destroyed under one process-wide mutex (lathe_fft_planner_lock), always
 * with FFTW_ESTIMATE: planning is then deterministic (the same plan, the same
 * bits on every run), never measured.  Code outside this file that plans with
 * FFTW directly should take the same lock. */
#ifndef LATHE_DSP_FFT_H
#define LATHE_DSP_FFT_H

#include <fftw3.h>

typedef struct {
    int n;           /* real transform length (even) */
    fftwf_plan fwd;  /* n reals -> n/2+1 complex */
    fftwf_plan inv;  /* n/2+1 complex -> n reals, unnormalised (scales by n) */
} lathe_fft;

/* Plans both directions for length n (even, >= 2). Returns 0 on success,
 * -1 when FFTW cannot plan or memory runs out (f is then zeroed). The arrays
 * given later to lathe_fft_forward/inverse must come from fftwf_malloc (or
 * keep its alignment): the plans are made for SIMD-aligned arrays. */
int lathe_fft_init(lathe_fft *f, int n);
/* Destroys the plans; safe on a zeroed or already destroyed f. */
void lathe_fft_destroy(lathe_fft *f);

/* out[0..n/2] = DFT(in[0..n-1]); in is preserved. */
static inline void lathe_fft_forward(const lathe_fft *f, float *in, fftwf_complex *out)
{
    fftwf_execute_dft_r2c(f->fwd, in, out);
}

/* out[0..n-1] = n * IDFT(in[0..n/2]); in is destroyed. */
static inline void lathe_fft_inverse(const lathe_fft *f, fftwf_complex *in, float *out)
{
    fftwf_execute_dft_c2r(f->inv, in, out);
}

/* The planner lock, for any other code that calls the FFTW planner. */
void lathe_fft_planner_lock(void);
void lathe_fft_planner_unlock(void);

#endif
