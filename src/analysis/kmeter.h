/* SPDX-License-Identifier: GPL-3.0-or-later */
/* K-weighted sliding-window loudness (ITU-R BS.1770-4; EBU Tech 3341 M and
 * S).  Momentary is read at every sample (a running sum over a 400 ms ring),
 * short-term every 10 ms (a ring of 300 sub-block sums), so the maximum of
 * each is found wherever the loudest window falls.  Internal header. */
#ifndef LATHE_ANALYSIS_KMETER_H
#define LATHE_ANALYSIS_KMETER_H

#include "lathe/io.h"

typedef struct {
    double b0, b1, b2, a1, a2;
} lathe_kfilter;

/* The two K-weighting stages for any rate (stage 1 high shelf, stage 2
 * high-pass), from the analog prototype of BS.1770 (at 48 kHz they give the
 * standard's coefficients). */
void lathe_kweight_design(double rate, lathe_kfilter *shelf, lathe_kfilter *hp);

/* BS.1770 channel weight for channel c of n (0 for LFE). */
double lathe_kweight_channel_gain(int c, int n);

typedef struct lathe_kmeter lathe_kmeter;

lathe_kmeter *lathe_kmeter_new(double rate, int channels);
void lathe_kmeter_free(lathe_kmeter *m);
void lathe_kmeter_reset(lathe_kmeter *m);
typedef void (*lathe_kmeter_cb)(void *user, double t, double momentary, double short_term);
void lathe_kmeter_set_curve(lathe_kmeter *m, lathe_kmeter_cb cb, void *user);
void lathe_kmeter_add(lathe_kmeter *m, const float *const *in, long n);
double lathe_kmeter_max_momentary(const lathe_kmeter *m); /* LUFS, -inf if silent */
double lathe_kmeter_max_short_term(const lathe_kmeter *m);
double lathe_kmeter_momentary(const lathe_kmeter *m);     /* now */
double lathe_kmeter_short_term(const lathe_kmeter *m);    /* now */

/* Integrated loudness (BS.1770-4 gating: 400 ms blocks, 75 % overlap,
 * -70 LUFS absolute and -10 LU relative gates) and loudness range (EBU Tech
 * 3342: 3 s windows every 100 ms, -70 LUFS / -20 LU gates, P95 - P10), from
 * the same K-weighted energies. Memory is bounded: gating blocks and
 * short-term values go into 0.01 LU histograms that keep, per bin, the count
 * and the exact energy sum, so the gate thresholds and the integrated mean
 * are exact except for blocks inside the one bin the relative gate cuts. */
double lathe_kmeter_integrated(const lathe_kmeter *m);
double lathe_kmeter_range(const lathe_kmeter *m);

/* -0.691 + 10 log10(mean square), -inf for 0. */
double lathe_energy_to_lufs(double mean_square);

#endif
