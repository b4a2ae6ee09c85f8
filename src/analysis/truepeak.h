/* SPDX-License-Identifier: GPL-3.0-or-later */
/* True-peak detection by polyphase oversampling (ITU-R BS.1770-4 Annex 2).
 * Shared by the analyser (true peak per channel) and the limiter (a
 * per-sample inter-sample-peak detector).  Internal header.
 *
 * The interpolator is a Kaiser-windowed sinc with its cutoff at the input
 * Nyquist frequency, split into `factor` phases of `taps` taps.  Because the
 * prototype is a Nyquist filter, phase 0 is the input delayed by taps/2
 * samples, so only factor-1 phases are computed. */
#ifndef LATHE_ANALYSIS_TRUEPEAK_H
#define LATHE_ANALYSIS_TRUEPEAK_H

#define LATHE_TP_MAX_FACTOR 8
#define LATHE_TP_TAPS 32 /* taps per phase */
#define LATHE_TP_BLOCK 1024

typedef struct {
    int factor; /* 4 below 96 kHz... see lathe_tp_init */
    /* coef[p][k], phases 1..factor-1 (index p-1), taps reversed for the axpy loop */
    float coef[LATHE_TP_MAX_FACTOR - 1][LATHE_TP_TAPS];
    /* max over phases of sum |h|: no interpolated value exceeds gain * max|x| in its window */
    float gain;
    /* per phase, sum |h| over the LATHE_TP_CENTRAL middle taps and over the
     * others (with a margin for float rounding): an interpolated value is at
     * most central * max|x| over the middle taps + outer * max|x| over all */
    float central[LATHE_TP_MAX_FACTOR - 1], outer[LATHE_TP_MAX_FACTOR - 1];
} lathe_tp_design;
#define LATHE_TP_CENTRAL 6 /* middle taps, where |h| is large: at 4x 1.66 of 2.00 and 1.91 of 2.39 */

typedef struct {
    const lathe_tp_design *design;
    /* history: last TAPS-1 input samples, then the block being processed */
    float buf[LATHE_TP_TAPS - 1 + LATHE_TP_BLOCK];
} lathe_tp_chan;

/* Designs the interpolator for `rate`: factor 4 (at least 4x, as the issue
 * asks, at every rate; 8x below 32 kHz). Pure function. */
void lathe_tp_design_init(lathe_tp_design *d, double rate);

/* Latency of the detector in input samples (taps/2). */
static inline int lathe_tp_latency(void)
{
    return LATHE_TP_TAPS / 2;
}

void lathe_tp_chan_init(lathe_tp_chan *c, const lathe_tp_design *d);
void lathe_tp_chan_reset(lathe_tp_chan *c);

/* Runs n input samples through the interpolator.  If absmax is not NULL,
 * absmax[i] receives the largest |value| among the oversampled points
 * belonging to input sample i - latency (the original sample and the
 * factor-1 points after it).  Returns the largest of them over the block. */
float lathe_tp_chan_run(lathe_tp_chan *c, const float *in, int n, float *absmax);

/* Peak-only: returns max(floor, the block's true peak). Stretches whose
 * window cannot exceed the running peak are skipped (exactly: an
 * interpolated value is at most central * max|x| over its middle taps +
 * outer * max|x| over all its taps), so pass the peak found so far as floor.
 * For finite input the result is the same, bit for bit, as the largest of
 * floor and lathe_tp_chan_run's absmax.  floor = INFINITY only takes the samples
 * into the history. */
float lathe_tp_chan_peak(lathe_tp_chan *c, const float *in, int n, float floor);

/* lathe_tp_chan_run for a detector that only needs the values above floor
 * (the limiter): stretches of 16 outputs whose points cannot exceed floor
 * (by the bound lathe_tp_chan_peak skips with) are not computed and get
 * absmax 0; every other absmax[i] is lathe_tp_chan_run's, bit for bit.  So
 * absmax[i] equals lathe_tp_chan_run's wherever either exceeds floor, and
 * is at most floor elsewhere. */
void lathe_tp_chan_run_over(lathe_tp_chan *c, const float *in, int n, float floor, float *absmax);

#endif
