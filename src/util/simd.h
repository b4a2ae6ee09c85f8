/* SPDX-License-Identifier: GPL-3.0-or-later */
/* LATHE_AVX2_CLONES before a hot function builds it twice, for AVX2 and for
 * any x86-64, and the loader picks one for the machine (GCC target_clones:
 * an ifunc). Elsewhere, and in thread-sanitizer builds (LATHE_NO_CLONES:
 * TSan instruments the ifunc resolvers, which run before its runtime is up
 * and crash), the function is built once. The clones compute the same
 * bytes: the code keeps its order of operations, only wider vectors. */
#ifndef LATHE_UTIL_SIMD_H
#define LATHE_UTIL_SIMD_H

#if defined(__x86_64__) && !defined(LATHE_NO_CLONES)
#define LATHE_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define LATHE_AVX2_CLONES
#endif

#endif
