/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/analysis.h: measuring audio.  Loudness to ITU-R BS.1770-4 and
 * EBU R128 / Tech 3341 / Tech 3342, all from lathe's own K-meter (one
 * K-weighting pass: integrated and LRA from its gating histograms, momentary
 * and short-term from sliding windows read at every sample and every 10 ms;
 * libebur128 is the tests' independent oracle), true peak by 4x polyphase
 * oversampling, and the statistics a mastering engineer reads: PLR, crest,
 * DC, clipping, stereo correlation and side/mid balance.
 *
 * Streaming: feed any number of blocks; memory does not grow with length. */
#ifndef LATHE_ANALYSIS_H
#define LATHE_ANALYSIS_H

#include "lathe/error.h"
#include "lathe/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    /* loudness (LUFS / LU); -inf (HUGE_VAL negated) for silence */
    double integrated_lufs;
    double loudness_range_lu;
    double max_momentary_lufs;
    double max_short_term_lufs;
    /* peaks */
    double sample_peak_dbfs;
    double true_peak_dbtp;
    double channel_sample_peak_dbfs[LATHE_MAX_CHANNELS];
    double channel_true_peak_dbtp[LATHE_MAX_CHANNELS];
    /* statistics */
    double plr_db;   /* true peak - integrated */
    double crest_db; /* sample peak / RMS over all channels, in dB */
    double rms_dbfs;
    double dc_offset[LATHE_MAX_CHANNELS]; /* mean, as a fraction of full scale */
    long long clipped_samples;            /* see lathe_analyzer_new */
    double correlation;      /* L/R, -1..1; NaN unless 2 channels with signal */
    double side_mid_db;      /* 10 log10(E_side / E_mid); NaN unless 2 channels */
    double low_side_mid_db;  /* the same below 150 Hz (4th-order Butterworth low-pass) */
    double high_share_db;    /* energy above 10 kHz (4th-order high-pass) / all energy, dB */
    /* the stream */
    double duration_s;
    double rate;
    int channels;
    long long frames;
} lathe_analysis;

typedef struct lathe_analyzer lathe_analyzer;

/* Creates an analyser for `channels` (1..8) at `rate`. Channel weights follow
 * BS.1770: 5 channels are L R C Ls Rs, 6 are L R C LFE Ls Rs (LFE ignored).
 * Clipped samples: samples at or beyond full scale (|x| >= 32767/32768) in
 * runs of at least 2 in one channel, plus every sample with |x| > 1 (float
 * overs). The caller owns the result: lathe_analyzer_free. */
lathe_analyzer *lathe_analyzer_new(double rate, int channels, lathe_error *err);
void lathe_analyzer_free(lathe_analyzer *a); /* NULL-safe */

/* What to measure beyond the defaults (or less): */
enum {
    LATHE_ANALYZE_BANDS = 1 << 0,        /* low_side_mid_db (mid/side below 150 Hz) */
    LATHE_ANALYZE_HF = 1 << 1,           /* high_share_db (energy above 10 kHz) */
    LATHE_ANALYZE_LOUDNESS_ONLY = 1 << 2 /* only the loudness fields (integrated, range,
                                            max momentary/short-term) and the duration */
};
/* Set before the first lathe_analyzer_add. Default 0: every field but the
 * band ones (which read NaN). */
void lathe_analyzer_set_flags(lathe_analyzer *a, unsigned flags);

/* Adds n frames of planar audio. */
void lathe_analyzer_add(lathe_analyzer *a, const float *const *in, long n);

/* The analyser's work in independent parts: part 0 the loudness (K-meter) and the frame count,
 * part 1 everything else (true peak, sample peak, sums, clipping, correlation, bands).
 * Calling lathe_analyzer_add_part(a, in, n, 0) and (a, in, n, 1) for the same samples is exactly
 * lathe_analyzer_add(a, in, n) (same result, bit for bit); the two parts touch disjoint state, so two
 * threads may run different parts of one analyser at the same time (each part in order).
 * With LATHE_ANALYZE_LOUDNESS_ONLY part 1 does nothing; the loudness curve
 * (lathe_analyzer_set_curve) is called from part 0. Read the result only after
 * both parts have seen the same samples. */
#define LATHE_ANALYZER_PARTS 2
void lathe_analyzer_add_part(lathe_analyzer *a, const float *const *in, long n, int part);

/* Fills *out with the figures for everything added so far. */
void lathe_analyzer_result(lathe_analyzer *a, lathe_analysis *out);

/* Optional loudness curve: called every 100 ms of audio with the time (s) at
 * the end of the interval and the momentary and short-term loudness then. */
typedef void (*lathe_loudness_cb)(void *user, double t, double momentary, double short_term);
void lathe_analyzer_set_curve(lathe_analyzer *a, lathe_loudness_cb cb, void *user);

/* Reads and analyses a whole file. *info (may be NULL) receives its format. */
lathe_status lathe_analyze_file(const char *path, lathe_analysis *out, lathe_audio_info *info,
                                lathe_error *err);

/* lathe_analyze_file with analyzer flags (above). */
lathe_status lathe_analyze_file_flags(const char *path, unsigned flags, lathe_analysis *out,
                                      lathe_audio_info *info, lathe_error *err);

#ifdef __cplusplus
}
#endif
#endif
