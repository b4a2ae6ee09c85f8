/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/reference.h: reference mastering, the analysis and the plan.
 *
 * lathe_ref_analysis describes one file the way the reference master needs
 * it: loudness and dynamics (lathe's analyzer: BS.1770 / R128), and the
 * average power spectrum of mid (L+R)/2 and side (L-R)/2 over the file's
 * representative loud sections, in ISO 266 one-third-octave bands and per
 * FFT bin (for plots).  Streaming: memory does not grow with the length.
 *
 * lathe_ref_plan compares a mix with a reference (or a built-in tone
 * target) and says what to change: the `match` processor's 62 band gains
 * (tone on mid and side, width as side-minus-mid), the loudness target, an
 * optional gentle compression, warnings, and tables and plot arrays for the
 * report.  Method and sources: docs/reference.md. */
#ifndef LATHE_REFERENCE_H
#define LATHE_REFERENCE_H

#include <stdio.h>

#include "lathe/analysis.h"
#include "lathe/error.h"
#include "lathe/io.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LATHE_REF_BANDS 31        /* ISO 266 1/3-octave centres, 20 Hz .. 20 kHz */
#define LATHE_REF_MAX_BINS 16385  /* FFT bins of the per-bin spectrum (32768-point FFT) */
#define LATHE_REF_MAX_WARNINGS 8

typedef struct {
    /* the stream */
    double rate;
    int channels;
    double duration_s;
    /* loudness and dynamics, as lathe_analysis (LUFS, LU, dB) */
    double integrated_lufs;
    double loudness_range_lu;
    double max_short_term_lufs;
    double true_peak_dbtp;
    double sample_peak_dbfs;
    double plr_db;
    double crest_db;
    /* the representative sections: 1 s blocks whose centred 3 s short-term
     * loudness is at or above gate_lufs (the integrated loudness) */
    double gate_lufs;
    double selected_s;
    /* 1/3-octave band power (dBFS: a full-scale sine = -3.01 dB) of mid and
     * side averaged over the selected blocks; band_ok[k] = 0 when the band
     * reaches past Nyquist (its values are then NaN) */
    double band_hz[LATHE_REF_BANDS];
    int band_ok[LATHE_REF_BANDS];
    double mid_db[LATHE_REF_BANDS];
    double side_db[LATHE_REF_BANDS];
    double side_mid_db[LATHE_REF_BANDS]; /* side_db - mid_db (floored at -60) */
    /* mid power per FFT bin (bins at k * bin_hz), dB, the same selection: for
     * lathe_plot_spectrum */
    int bins;
    double bin_hz;
    float mid_spec_db[LATHE_REF_MAX_BINS];
    /* a built-in target has no loudness: integrated_lufs etc. are NaN and
     * is_target is 1 */
    int is_target;
} lathe_ref_analysis;

typedef struct lathe_ref_analyzer lathe_ref_analyzer;

/* An analyser for `channels` (1..8) at `rate` (8 kHz .. 384 kHz). Channels 0
 * and 1 are L/R for the spectra (one channel: mid only, side silent);
 * loudness counts every channel (BS.1770 weights). Free with
 * lathe_ref_analyzer_free. */
lathe_ref_analyzer *lathe_ref_analyzer_new(double rate, int channels, lathe_error *err);
/* Flags of the loudness analyzer inside (LATHE_ANALYZE_*, lathe/analysis.h),
 * before the first add; default 0. */
void lathe_ref_analyzer_set_flags(lathe_ref_analyzer *a, unsigned flags);
void lathe_ref_analyzer_add(lathe_ref_analyzer *a, const float *const *in, long n);
/* The analysis of everything added (call once, at the end). out is large
 * (~70 KB): allocate it on the heap. */
void lathe_ref_analyzer_result(lathe_ref_analyzer *a, lathe_ref_analysis *out);
/* The same, and the loudness analyzer's full result into *full (NULL:
 * not wanted): the lathe_analysis lathe_analyze_file_flags gives for the
 * same samples and flags. */
void lathe_ref_analyzer_result_full(lathe_ref_analyzer *a, lathe_ref_analysis *out,
                                    lathe_analysis *full);
void lathe_ref_analyzer_free(lathe_ref_analyzer *a); /* NULL-safe */

/* Reads and analyses a whole file (any rate, any length) in blocks. */
lathe_status lathe_ref_analyze_file(const char *path, lathe_ref_analysis *out, lathe_error *err);
/* The same in the one pass, with the loudness analysis (analyzer flags as
 * lathe_analyze_file_flags) into *full and the stream's format into *info
 * (either may be NULL): the master reads its input once for both. */
lathe_status lathe_ref_analyze_file_flags(const char *path, unsigned flags, lathe_ref_analysis *out,
                                          lathe_analysis *full, lathe_audio_info *info,
                                          lathe_error *err);

/* ---- built-in tone targets (src/master/tone_targets.c) ---- */

/* NULL-terminated names: "neutral", "warm", "bright". */
const char *const *lathe_ref_tone_target_names(void);
/* A pseudo reference from a built-in curve for the mix `mix`: mid band
 * levels follow the curve, side/mid ratios are the mix's own (no width
 * change), loudness fields NaN (the plan then keeps the mix's loudness
 * unless options.target_lufs is given). LATHE_E_INVALID for an unknown name. */
lathe_status lathe_ref_tone_target(const char *name, const lathe_ref_analysis *mix,
                                   lathe_ref_analysis *out, lathe_error *err);
/* The curve itself: dB at each of the 31 band centres (relative shape). */
lathe_status lathe_ref_tone_target_curve(const char *name, double db[LATHE_REF_BANDS]);

/* ---- the plan ---- */

enum {
    LATHE_REF_MATCH_LOUDNESS = 1 << 0,
    LATHE_REF_MATCH_TONE = 1 << 1,
    LATHE_REF_MATCH_WIDTH = 1 << 2,
    LATHE_REF_MATCH_DYNAMICS = 1 << 3,
    LATHE_REF_MATCH_DEFAULT = LATHE_REF_MATCH_LOUDNESS | LATHE_REF_MATCH_TONE |
                              LATHE_REF_MATCH_WIDTH
};

typedef struct {
    unsigned match;        /* LATHE_REF_MATCH_* (default: loudness, tone, width) */
    double amount_tone;    /* 0..1 (default 1) */
    double amount_width;   /* 0..1 (default 1) */
    double amount_dynamics;/* 0..1 (default 1; only with LATHE_REF_MATCH_DYNAMICS) */
    double max_eq_db;      /* limit of each tone correction, dB (default 6) */
    double max_width_db;   /* limit of each width change, dB (default 6) */
    double max_dyn_db;     /* limit of the compression's reduction, dB (default 3) */
    double target_lufs;    /* NaN (default): the reference's integrated loudness */
    double warn_db;        /* "far from the reference" threshold per band (default 6) */
    double lo_hz, hi_hz;   /* bands corrected (centres within; default 20 Hz, 20 kHz) */
} lathe_ref_options;

void lathe_ref_options_default(lathe_ref_options *o);

typedef struct {
    /* per band (31): the table for reports */
    double band_hz[LATHE_REF_BANDS];
    int band_used[LATHE_REF_BANDS];     /* valid in both and within lo_hz..hi_hz */
    double mix_db[LATHE_REF_BANDS];     /* mix mid band level, dBFS */
    double ref_db[LATHE_REF_BANDS];     /* reference mid band level, level-aligned to the mix */
    double diff_db[LATHE_REF_BANDS];    /* ref_db - mix_db (shape difference, before limits) */
    double tone_db[LATHE_REF_BANDS];    /* applied tone correction (limited, scaled) */
    double mix_width_db[LATHE_REF_BANDS]; /* side/mid of the mix, dB */
    double ref_width_db[LATHE_REF_BANDS]; /* side/mid of the reference, dB */
    double width_db[LATHE_REF_BANDS];   /* applied side gain relative to mid (limited, scaled) */
    int far[LATHE_REF_BANDS];           /* |diff_db| > warn_db */
    /* the match processor's values: band<k+1>.mid = match_mid_db[k],
     * band<k+1>.side = match_side_db[k]; amount 100 %, max 24 dB.  The mid
     * gains are solved so that each band of the mix changes by tone_db
     * (docs/reference.md); side = mid + width_db */
    double match_mid_db[LATHE_REF_BANDS];
    double match_side_db[LATHE_REF_BANDS];
    int use_match;      /* 0 when every gain is 0: no stage needed */
    double level_offset_db; /* the shift that aligned the reference to the mix */
    /* loudness */
    double target_lufs; /* NaN: keep the master's own target */
    /* dynamics (gentle, bounded): a compressor with this ratio and a
     * threshold below the mix's true peak, reducing peaks by reduction_db */
    int use_dynamics;
    double dyn_ratio, dyn_threshold_dbfs, dyn_reduction_db;
    double mix_plr_db, ref_plr_db;
    /* warnings (text for the report and stderr) */
    int nwarnings;
    char warnings[LATHE_REF_MAX_WARNINGS][256];
    /* plots (dB; lathe_plot_spectrum): the mix's mid spectrum before and
     * after the correction and the correction curve on the mix's grid, and
     * the reference on its own grid (level-aligned) */
    int bins;
    double bin_hz;
    float before_db[LATHE_REF_MAX_BINS];
    float after_db[LATHE_REF_MAX_BINS];
    float corr_db[LATHE_REF_MAX_BINS];
    int ref_bins;
    double ref_bin_hz;
    float ref_spec_db[LATHE_REF_MAX_BINS];
} lathe_ref_master_plan;

/* Plans the master of `mix` toward `ref` (a file's analysis or a tone
 * target). o may be NULL (defaults). out is large (~270 KB): heap. */
lathe_status lathe_ref_plan(const lathe_ref_analysis *mix, const lathe_ref_analysis *ref,
                            const lathe_ref_options *o, lathe_ref_master_plan *out, lathe_error *err);

/* The match processor's param values of a plan, as indices into
 * lathe_proc_match's params (desc looked up by name "match") and values:
 * fills up to 64 pairs, returns the count (0 when the plan has no tone or
 * width change). For lathe_proc_new_with. */
int lathe_ref_plan_match_values(const lathe_ref_master_plan *p, int *idx, double *values);

/* The curve the match processor applies to mid at `hz` (dB), as it designs
 * it (for plots and tests). */
double lathe_ref_curve_db(const double gains[LATHE_REF_BANDS], double hz);

/* The plan as a text table and as a JSON object (for the master's report). */
void lathe_ref_plan_write_text(const lathe_ref_master_plan *p, FILE *f);
void lathe_ref_plan_write_json(const lathe_ref_master_plan *p, FILE *f);

#ifdef __cplusplus
}
#endif
#endif
