/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/master.h: one stereo (or mono) mix in, a master out on a loudness
 * target and never over its true-peak ceiling.
 *
 * The master is a one-track session on the mix engine (lathe/engine.h):
 *
 *   input -> [resample to the output rate] -> highpass -> eq -> glue ->
 *   multiband -> deesser -> stereo -> saturate -> reverb -> drive (solved gain)
 *   -> limiter (true peak) -> dither -> output
 *
 * Every stage but the drive can be switched and tuned (a chain file, see
 * lathe_chain_file_load and docs/master.md).  The drive is solved: the
 * stages before it are rendered once (to a temporary 32-bit float file),
 * then drive + limiter are rendered and measured until the output's
 * integrated loudness is on target (secant steps on the measured loudness;
 * never a one-shot guess), and the final render is measured again and
 * checked against the target and the ceiling before it replaces OUT.
 *
 * Resampling happens on the way in, not after the limiter: the limiter then
 * sees the samples that are written, so its true-peak ceiling holds for the
 * file (a resampler after a limiter can add inter-sample overs).
 *
 * Delivery formats: WAV, FLAC, AIFF (lossless: the candidate is written by
 * the engine in the output format), MP3, Ogg Vorbis, Opus (lossy: the
 * candidate is rendered as 32-bit float, encoded, decoded again and its
 * true peak measured; an encoder overshoot over the ceiling lowers the
 * limiter's ceiling by the overshoot plus 0.1 dB and the candidate is
 * rendered and encoded again; no lossy file leaves over its ceiling).
 * Tags (lathe/meta.h) and the loudness tags of the final master are written
 * into the candidate before it is renamed onto OUT. */
#ifndef LATHE_MASTER_H
#define LATHE_MASTER_H

#include "lathe/analysis.h"
#include "lathe/engine.h"
#include "lathe/error.h"
#include "lathe/io.h"
#include "lathe/meta.h"
#include "lathe/reference.h"
#include "lathe/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *target;     /* preset name (lathe/targets.h); NULL = "spotify" */
    double lufs;            /* NAN = the preset's (mono_lufs for mono inputs) */
    double ceiling_dbtp;    /* NAN = the preset's */
    double rate;            /* output rate; 0 = the preset's, else the input's */
    int bits;               /* 16, 24 or 32 (float); 0 = the preset's (FLAC: 24 for float) */
    const char *chain_path; /* chain file tuning or replacing the stages; NULL = none */
    const char *dither;     /* "auto" (NULL), "off", or a dither shape: "tpdf", ... */
    double fixed_gain_db;   /* finite: no loudness solve, this drive into the limiter (album
                               mode: one gain for every song); NAN (the default) = solve */
    int fixed_then_solve;   /* with fixed_gain_db: its render is kept when it lands within
                               0.05 LU of the target, else the solve goes on from it (album
                               mode's songs: the album's drive, or solved onto their place) */
    int threads;            /* 0 = one per core */
    int overwrite;          /* replace an existing OUT */
    int scratch;            /* OUT is a work file of the caller's (lathe album's
                               per-song masters): not synced to the disk */
    void (*progress)(void *user, double fraction);
    void *user;
    const lathe_meta *meta;     /* tags for OUT (NULL = none); the track loudness tags
                                   (REPLAYGAIN_TRACK_GAIN/PEAK, Opus R128_TRACK_GAIN) are
                                   added from the final analysis; album values as given */
    lathe_file_type format;     /* LATHE_FILE_AUTO (0) = by OUT's extension */
    lathe_codec_options codec;  /* lossy encoder settings; zero = defaults (lathe/io.h) */
    int loudness_tags;          /* 1: always write the loudness tags; 0 (default): when meta
                                   is given or OUT is FLAC, MP3, Ogg or Opus; -1: never */
    int want_series;            /* 1: fill report.series (for HTML reports) */
    /* reference mastering (docs/reference.md): a reference track, or a
     * built-in tone target ("neutral", "warm", "bright"); NULL = the chain
     * file's `reference:` (if any), else none.  ref_options: the caller's
     * settings; they win over the chain file's, which win over
     * lathe_ref_options_default; a NaN field or match 0 is "not given"
     * (NULL: nothing given).  An explicit target or lufs wins over the
     * reference's loudness. */
    const char *reference;
    const char *tone_target;
    const lathe_ref_options *ref_options;
    /* the analysis of `reference` (lathe_ref_analyze_file), when the caller
     * already has it: lathe album analyses its one reference once for every
     * song. NULL: master analyses the file. */
    const lathe_ref_analysis *reference_analysis;
} lathe_master_options;
#define LATHE_MASTER_REFERENCE 1 /* the three fields above exist (tests check this) */

/* A finding for the user: what it is, and the remedy. */
typedef struct {
    char code[32];    /* stable identifier: "clipped-source", "heavy-limiting", ... */
    char text[512];   /* one or two sentences, with the figures */
} lathe_master_warning;

#define LATHE_MASTER_MAX_WARNINGS 24
#define LATHE_MASTER_MAX_STAGES 16

typedef struct {
    char name[24];         /* "glue" */
    char proc[24];         /* "compressor" */
    char settings[400];    /* the parameters that differ from the processor's defaults */
} lathe_master_stage;

typedef struct {
    char target[32];
    double target_lufs, ceiling_dbtp;
    lathe_analysis before;       /* the input as it is */
    lathe_analysis pre_limiter;  /* after the stages before the drive, at unity drive */
    lathe_analysis after;        /* the master as written (lossy: decoded again) */
    lathe_analysis encoder_input;/* lossy: the float signal given to the encoder */
    double gain_db;              /* drive into the limiter */
    int passes;                  /* renders of drive + limiter, the final one included */
    double limiter_max_db, limiter_mean_db;
    double glue_max_db, glue_mean_db; /* NAN when the glue stage is off */
    double multiband_max_db, multiband_mean_db;
    int limited;                 /* the limiter reduced gain at all */
    int turned_down;             /* the gain is negative and nothing was limited */
    double out_rate;
    int out_bits, out_channels;  /* 32 = float */
    char dither[24];             /* "off", "tpdf", ... */
    double limiter_ceiling_dbtp; /* the ceiling the limiter ran at (lowered when a check failed) */
    char format[8];              /* "wav", "flac", "aiff", "mp3", "ogg", "opus" */
    char codec[48];              /* "PCM 24-bit", "FLAC 16-bit", "MP3 CBR 320 kbps", ... */
    int lossy;
    double codec_true_peak_first_dbtp; /* lossy: true peak of the first encode, decoded */
    double codec_true_peak_final_dbtp; /* lossy: of the file written */
    int encodes;                 /* lossy: encodes, the final one included */
    int tagged;                  /* tags were written */
    lathe_master_stage stages[LATHE_MASTER_MAX_STAGES];
    int nstages;
    lathe_master_warning warnings[LATHE_MASTER_MAX_WARNINGS];
    int nwarnings;
    /* with want_series: the master's time series and spectra (lathe/series.h),
     * with the gain reduction over time of the limiter and of the stages
     * before it; the caller frees it (lathe_series_free). NULL otherwise.
     * For lossy outputs it is the signal into the encoder. */
    lathe_series *series;
    /* the reference plan (tables and plot arrays for the report), or NULL;
     * owned by the caller of lathe_master_render: free() it */
    lathe_ref_master_plan *reference;
    /* where the time went (wall seconds): the input's analysis (with a
     * reference: both files' analyses and the plan), the render of the
     * stages before the drive (0 when there is none), and the loudness
     * solve (every render of drive + limiter, encodes and checks) */
    double time_analysis_s, time_chain_s, time_solve_s;
} lathe_master_report;

/* The stages of lathe master's chain as entries for the chain-file parser
 * (lathe_chain_file_parse), the `reference:` settings last; returns how
 * many were written (at most max). */
int lathe_master_chain_stages(lathe_stage *st, int max);

/* Checks a master chain file (lathe master --chain) without rendering:
 * returns 1 when it is valid, else 0 with every problem in diags (as
 * "chain.yaml:LINE:COL: message"; free with lathe_diags_free). */
int lathe_master_chain_check(const char *path, lathe_diags *diags);

/* Masters `in` to `out` (format by opt->format or the extension: WAV,
 * FLAC, AIFF, MP3, Ogg Vorbis, Opus). Chain-file
 * problems come back in diags (FILE:LINE:COL) with LATHE_E_INVALID; other
 * errors in err. rep may be NULL. */
lathe_status lathe_master_render(const char *in, const char *out, const lathe_master_options *opt,
                                 lathe_master_report *rep, lathe_diags *diags, lathe_error *err);

#ifdef __cplusplus
}
#endif
#endif
