/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/fft.c: FFTW planning under a process-wide lock (see fft.h). */
#include "dsp/fft.h"

#include <pthread.h>
#include <string.h>

/* The one piece of process-wide state: FFTW's planner is shared by the whole
 * process, so its lock must be too (FFTW manual, 5.4 "Thread safety"). */
static pthread_mutex_t planner = PTHREAD_MUTEX_INITIALIZER;

void lathe_fft_planner_lock(void)
{
    pthread_mutex_lock(&planner);
}

void lathe_fft_planner_unlock(void)
{
    pthread_mutex_unlock(&planner);
}

int lathe_fft_init(lathe_fft *f, int n)
{
    memset(f, 0, sizeof *f);
    if (n < 2 || n % 2) return -1;
    float *r = fftwf_malloc(sizeof(float) * (size_t)n);
    fftwf_complex *c = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(n / 2 + 1));
    if (r && c) {
        lathe_fft_planner_lock();
        f->fwd = fftwf_plan_dft_r2c_1d(n, r, c, FFTW_ESTIMATE);
        f->inv = fftwf_plan_dft_c2r_1d(n, c, r, FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
        lathe_fft_planner_unlock();
    }
    fftwf_free(r);
    fftwf_free(c);
    if (!f->fwd || !f->inv) {
        lathe_fft_destroy(f);
        return -1;
    }
    f->n = n;
    return 0;
}

void lathe_fft_destroy(lathe_fft *f)
{
    if (!f) return;
    lathe_fft_planner_lock();
    if (f->fwd) fftwf_destroy_plan(f->fwd);
    if (f->inv) fftwf_destroy_plan(f->inv);
    lathe_fft_planner_unlock();
    f->fwd = f->inv = NULL;
    f->n = 0;
}
