/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Denormal control: every thread that runs processors calls this once, so
 * decaying filter and reverb state never falls into slow subnormal arithmetic.
 * (x86 SSE: FTZ bit 15, DAZ bit 6 of MXCSR; AArch64: FZ bit 24 of FPCR.) */
#ifndef LATHE_UTIL_FPU_H
#define LATHE_UTIL_FPU_H

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
static inline void lathe_denormals_off(void)
{
    _mm_setcsr(_mm_getcsr() | 0x8040);
}
#elif defined(__aarch64__)
static inline void lathe_denormals_off(void)
{
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr | (1UL << 24)));
}
#else
static inline void lathe_denormals_off(void) {}
#endif

#endif
