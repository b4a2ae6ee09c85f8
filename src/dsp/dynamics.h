/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/dynamics.h: the parts shared by the dynamics family (compressor,
 * expander, gate, deesser): static gain curves, log-domain ballistics, the
 * level detector (sidechain filters, peak hold or RMS, stereo link) and fast
 * log2/exp2 for the per-sample dB arithmetic.
 *
 * Source for the structure: D. Giannoulis, M. Massberg, J. D. Reiss,
 * "Digital Dynamic Range Compressor Design -- A Tutorial and Analysis",
 * JAES 60(6), 2012: level detection -> gain computer in dB -> smoothing of
 * the gain (reduction) in the log domain -> linear gain. */
#ifndef LATHE_DSP_DYNAMICS_H
#define LATHE_DSP_DYNAMICS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dsp/biquad.h"
#include "lathe/error.h"

#define LATHE_DYN_MAXCH 8

/* ---- fast log2 / exp2 (accurate to ~1e-9 relative; far below 0.001 dB) ---- */

/* log2(x) for normal x > 0 (callers floor x, e.g. at 1e-12). The mantissa m is
 * folded into [1/sqrt2, sqrt2) and ln m = 2 atanh(t), t = (m-1)/(m+1), |t| < 0.172,
 * summed to t^9 (truncation error < 1e-9). */
static inline double lathe_dyn_log2(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    /* shift the exponent boundary to 1/sqrt2 (branch-free folding, as in musl's log) */
    u += 0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL;
    const int e = (int)(u >> 52) - 1023;
    u = (u & 0x000fffffffffffffULL) + 0x3fe6a09e667f3bcdULL;
    double m;
    memcpy(&m, &u, sizeof m);
    const double t = (m - 1.0) / (m + 1.0), t2 = t * t;
    const double ln =
        2.0 * t * (1.0 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9)))));
    return (double)e + ln * 1.4426950408889634;
}

/* 2^x for x in [-1000, 1000] (lathe_dyn_exp2 clamps, lathe_dyn_exp2_raw
 * requires it). x = k + f with k = round(x) (by the
 * 1.5 * 2^52 rounding constant, whose low mantissa bits then hold k), |f| <= 1/2;
 * e^(f ln2) by its Taylor series to degree 8 (error < 2e-10); 2^k built in the
 * exponent field. Only adds, multiplies and 64-bit integer adds and shifts, so
 * loops of it vectorise. exp2(0) == 1 exactly. Requires |x| <= 1000. */
static inline double lathe_dyn_exp2_raw(double x) {
    const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
    const double t = x + magic;
    uint64_t tb;
    memcpy(&tb, &t, sizeof tb);
    const double f = (x - (t - magic)) * 0.6931471805599453;
    double p =
        1.0 +
        f * (1.0 + f * (1.0 / 2 +
                        f * (1.0 / 6 +
                             f * (1.0 / 24 +
                                  f * (1.0 / 120 +
                                       f * (1.0 / 720 + f * (1.0 / 5040 + f * (1.0 / 40320))))))));
    /* tb = bits(magic) + k; shifting by 52 drops bits(magic) and leaves (k + 1023) << 52 */
    const uint64_t eb = (tb + 1023u) << 52;
    double e;
    memcpy(&e, &eb, sizeof e);
    return p * e;
}

/* 2^x, x clamped to [-1000, 1000]. */
static inline double lathe_dyn_exp2(double x) {
    x = x < -1000.0 ? -1000.0 : x;
    x = x > 1000.0 ? 1000.0 : x;
    return lathe_dyn_exp2_raw(x);
}

#define LATHE_DYN_DB_PER_LOG2 6.020599913279624 /* 20 log10(2) */

/* Linear gain of `db` decibels. */
static inline double lathe_dyn_undb(double db) {
    return lathe_dyn_exp2(db * (1.0 / LATHE_DYN_DB_PER_LOG2));
}

/* ---- static curves (levels and results in dB) ---- */

/* Compressor gain reduction (>= 0 dB) at input level x, threshold t, slope
 * s = 1 - 1/R (R = ratio; R = inf gives s = 1), knee width w.  This is
 * x - y_G of Giannoulis et al. 2012, eq. 4 (quadratic soft knee):
 *   2(x-t) < -w:      0
 *   2|x-t| <= w:      (1 - 1/R)(x - t + w/2)^2 / (2w)
 *   2(x-t) > w:       (1 - 1/R)(x - t)                                    */
static inline double lathe_dyn_comp_gr(double x, double t, double s, double w) {
    double d = x - t;
    if (2.0 * d <= -w) return 0.0;
    if (2.0 * d >= w) return s * d;
    double u = d + 0.5 * w;
    return s * u * u / (2.0 * w);
}

/* Downward-expander attenuation (>= 0 dB) at input level x, threshold t,
 * e = R - 1 (R = expansion ratio: below t the output falls R dB per input dB),
 * knee width w.  The mirror image of eq. 4: the quadratic joins the line
 * -e(x-t) below the knee to 0 above it with matching slopes:
 *   2(x-t) > w:       0
 *   2|x-t| <= w:      e (x - t - w/2)^2 / (2w)
 *   2(x-t) < -w:      -e (x - t)                                           */
static inline double lathe_dyn_exp_att(double x, double t, double e, double w) {
    double d = x - t;
    if (2.0 * d >= w) return 0.0;
    if (2.0 * d <= -w) return -e * d;
    double u = d - 0.5 * w;
    return e * u * u / (2.0 * w);
}

/* ---- ballistics ---- */

/* One-pole coefficient for time constant `ms` (time to 1 - 1/e = 63.2 % of
 * a step) at `rate`: y += (1 - a)(x - y), a = exp(-1 / (tau rate)). */
double lathe_dyn_coef(double ms, double rate);

/* Giannoulis et al. 2012, eq. 17, "smooth branching peak detector" applied to
 * the gain reduction in dB: attack coefficient aa while the reduction grows,
 * release ar while it shrinks.  Each branch is an exact exponential in dB,
 * so attack and release are plain time constants. Snaps to the target
 * when within 1e-9 dB (no endless decay toward denormals). */
static inline double lathe_dyn_branch(double y, double x, double aa, double ar) {
    double a = x > y ? aa : ar;
    y = x + a * (y - x);
    if (y - x < 1e-9 && x - y < 1e-9) y = x;
    return y;
}

/* The same without the snap, for loops where the caller snaps once per block
 * (shorter dependency chain). */
static inline double lathe_dyn_branch_raw(double y, double x, double aa, double ar) {
    /* both branches computed, then selected: the compare runs beside the arithmetic,
     * which shortens the per-sample dependency chain */
    const double ya = aa * y + (1.0 - aa) * x, yr = ar * y + (1.0 - ar) * x;
    return x > y ? ya : yr;
}

/* ---- the level detector ---- */

typedef enum { LATHE_DYN_PEAK = 0, LATHE_DYN_RMS = 1 } lathe_dyn_mode;

/* Detector settings: the owning processor writes these (from its params)
 * before each lathe_dyn_detect call; changes take effect at the next call. */
typedef struct {
    int mode;         /* lathe_dyn_mode */
    double window_ms; /* peak: hold window (max |x| over it); rms: averaging time constant */
    double hpf_hz;    /* sidechain high-pass (2nd-order Butterworth), 0 = off */
    double lpf_hz;    /* sidechain low-pass (2nd-order Butterworth), 0 = off */
    double link;      /* 0..1: level_c += link (max_c level - level_c) */
} lathe_dyn_detector_cfg;

typedef struct {
    double x1, x2, y1, y2; /* a biquad in direct form I: the last two inputs and outputs */
} lathe_dyn_df1;

typedef struct {
    lathe_dyn_detector_cfg cfg;
    double rate;
    int channels, max_block, cap; /* cap: largest hold window in frames, + 1 */
    /* sidechain filters, redesigned when cfg changes; run in direct form I
     * (state: the last two inputs and outputs), see dynamics.c */
    double cur_hpf, cur_lpf;
    lathe_bq hpf, lpf;
    lathe_dyn_df1 hs[LATHE_DYN_MAXCH], ls[LATHE_DYN_MAXCH];
    /* peak: sliding maximum over win frames (van Herk / Gil-Werman: the window
     * is the current run of win frames so far plus the tail of the previous
     * run, whose suffix maxima are computed once per run) */
    int win;
    float *cur; /* channels * cap: |x| of the current run */
    float *suf; /* channels * cap: suffix maxima of the previous run, suf[win] = 0 */
    int k[LATHE_DYN_MAXCH];
    int one_hold; /* linked peak mode: one hold on the max over channels (channel 0's state) */
    float pre[LATHE_DYN_MAXCH], held[LATHE_DYN_MAXCH];
    /* rms: mean square */
    double ms[LATHE_DYN_MAXCH];
    double cur_window;
    double ms_k, ms_a; /* ms += k (v^2 - ms), as ms = a ms + k v^2 with a = 1 - k */
    /* output: detector level in dB per channel, per frame (channels * max_block) */
    double *level;
} lathe_dyn_detector;

/* Allocates for `channels` x `max_block` and a hold window of up to
 * max_window_ms. Returns LATHE_OK or LATHE_E_NOMEM (err filled). */
lathe_status lathe_dyn_detector_init(lathe_dyn_detector *d, double rate, int channels,
                                     int max_block, double max_window_ms, lathe_error *err);
/* Frees what init allocated. NULL-safe on a zeroed struct. */
void lathe_dyn_detector_free(lathe_dyn_detector *d);
/* Clears filter, hold and averaging state (silence). */
void lathe_dyn_detector_reset(lathe_dyn_detector *d);
/* Computes d->level[c * max_block + i] (dB, within -240..+120) for i < frames
 * from src (planar, d->channels channels). */
void lathe_dyn_detect(lathe_dyn_detector *d, const float *const *src, int frames);

/* One-pole step of a smoothed parameter toward its target, snapping when
 * within 1e-9 (so that e.g. mix = 0 becomes exactly 0 and dry paths null). */
static inline double lathe_dyn_approach(double v, double target, double k) {
    v += k * (target - v);
    return fabs(target - v) < 1e-9 ? target : v;
}

/* Sidechain filter params shared by the expander and the gate. */
#define LATHE_DYN_PARAM_SC_HPF                                                                     \
    {"sc_hpf", "Hz",                                                                               \
     "high-pass (2nd-order Butterworth) on the detector input (input or external key); 0 = off", 0, \
     2000, 0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE}
#define LATHE_DYN_PARAM_SC_LPF                                                                     \
    {"sc_lpf", "Hz",                                                                               \
     "low-pass (2nd-order Butterworth) on the detector input (input or external key); 0 = off", 0,  \
     20000, 0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE}

#endif
