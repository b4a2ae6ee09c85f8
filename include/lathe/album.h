/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/album.h: `lathe album album.yaml -o OUTDIR` -- an ordered list of
 * songs mastered with one loudness plan, sequenced with pre-gaps, fades and
 * crossfades, and delivered as one file per song, one continuous album file
 * (one per vinyl side), a CUE sheet and a JSON summary (docs/album.md).
 *
 * Timeline rules (what the tests compute independently):
 *   F = rate / 75 samples (one CUE frame; 588 at 44.1 kHz) when the rate is
 *   a multiple of 75, else 1.  Every track start (INDEX 01), every pre-gap
 *   start (INDEX 00) and the end of every song in the continuous file sit on
 *   multiples of F: a song is followed by silence up to the next multiple of
 *   F; a pre-gap is round(gap * rate / F) * F samples; a crossfaded song
 *   starts at round((end of the previous song - overlap * rate) / F) * F.
 *   Fades: a fade of N samples multiplies sample k (0..N-1, from the fade's
 *   first sample) by g((k + 0.5) / N) (fade in) or g(1 - (k + 0.5) / N)
 *   (fade out), g from lathe_fade_gain; N = round(length * rate).  A
 *   crossfade of X samples fades the outgoing song out and the incoming one
 *   in over the X samples where both play, with the crossfade's curve. */
#ifndef LATHE_ALBUM_H
#define LATHE_ALBUM_H

#include <stdio.h>

#include "lathe/error.h"
#include "lathe/io.h"
#include "lathe/master.h"
#include "lathe/meta.h"
#include "lathe/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LATHE_FADE_LINEAR = 0, /* g = x */
    LATHE_FADE_LOG,        /* linear in dB over 60 dB: g = (1000^x - 1) / 999 */
    LATHE_FADE_SCURVE,     /* raised cosine: g = (1 - cos(pi x)) / 2 */
    LATHE_FADE_EQUAL_POWER /* g = sin(pi x / 2): fade-in^2 + fade-out^2 = 1 */
} lathe_fade_curve;

/* Gain of a fade-in at x in [0, 1] (clamped). A fade-out is g(1 - x). */
double lathe_fade_gain(lathe_fade_curve c, double x);
/* "linear", "log", "s-curve", "equal-power" */
const char *lathe_fade_curve_name(lathe_fade_curve c);

typedef struct {
    double length_s; /* 0: none */
    lathe_fade_curve curve;
} lathe_fade;

typedef struct {
    char *file;        /* as resolved (relative paths from the album file's folder) */
    int is_session;    /* a session YAML rendered with lathe_mix_render first */
    lathe_meta meta;   /* the song's own (merged over the album's when rendering) */
    double gap_s;      /* pre-gap; NAN = the album's (0 for the first song) */
    lathe_fade fade_in, fade_out;
    lathe_fade crossfade; /* overlap with the previous song (length 0: none) */
    char side;         /* 'A', 'B' (vinyl), or 0 */
    double lufs, ceiling_dbtp; /* NAN = the album's */
    char *chain;       /* NULL = the album's */
    double declared_s; /* duration of the input file (0 for sessions: not known before rendering) */
    int line, col;     /* the song's entry in the list */
} lathe_album_song;

typedef struct {
    char *path, *dir;
    char *target;              /* preset ("cd", "vinyl", "spotify", ...); NULL = "spotify" */
    double lufs, ceiling_dbtp; /* NAN = the preset's */
    double rate;               /* 0 = the preset's, else the first song's */
    int bits;                  /* 0 = the preset's (24 when it has none) */
    char *chain;               /* chain file for every song (lathe master --chain) */
    char *reference;           /* reference track for every song (lathe master --reference);
                                  its loudness is the album target unless lufs is given */
    char *tone_target;         /* or a built-in tone target (neutral, warm, bright) */
    double ref_amount;         /* tone and width amount, 0..1 (default 1) */
    char *format;              /* "wav", "flac", "aiff", "mp3", "ogg", "opus"; NULL = the
                                  preset's when lossless, else wav */
    lathe_codec_options codec; /* lossy encoder settings (bitrate, vbr, quality); zero = defaults */
    char *dither;              /* NULL = auto */
    int track_mode;            /* loudness: track (1) or album (0, default) */
    int master;                /* 1 (default): master every song; 0: sequence the files as they are */
    double gap_s;              /* default pre-gap before songs 2..n (2 s) */
    char *name;                /* base name of the album file, CUE and JSON ("album") */
    lathe_meta meta;           /* album-wide metadata */
    lathe_album_song *songs;
    int nsongs;
    int line, col;             /* of `songs:` */
} lathe_album;

/* Loads and validates an album file; every problem goes to diags
 * (FILE:LINE:COL). With the cd preset the Red Book checks run here on the
 * declared durations (at least 4 s per track, at most 99 tracks, at most
 * 79:57 in all). Returns NULL on failure. */
lathe_album *lathe_album_load(const char *path, lathe_diags *diags);
lathe_album *lathe_album_parse(const char *text, size_t len, const char *path, lathe_diags *diags);
void lathe_album_free(lathe_album *a); /* NULL-safe */

typedef struct {
    int threads;
    int overwrite; /* replace existing outputs in OUTDIR */
    void (*progress)(void *user, const char *what, double fraction);
    void *user;
} lathe_album_options;

#define LATHE_ALBUM_MAX_WARNINGS 64

typedef struct {
    char path[1024];        /* the song's file in OUTDIR */
    char title[256];
    int number, side;       /* side: 'A', 'B' or 0 */
    int segment;            /* which continuous file (0; vinyl side B: 1) */
    long long index00, index01, frames; /* in the continuous file: pre-gap start, song start, length */
    double gain_db;         /* drive into the limiter (NAN when not mastered) */
    int solved;             /* the gain was solved for this song (track mode, or album-mode correction) */
    double target_lufs;     /* what this song was mastered to */
    double lufs, true_peak_dbtp, lra_lu; /* the song's file as written */
    double xfade_dip_db;    /* gain dip in the crossfade into this song (0: none) */
    double xfade_peak_dbtp; /* true peak of the crossfade before the dip (NAN: no crossfade) */
    /* lossy outputs: the song file's decoded true peak at the first encode
     * and as delivered, the encodes it took, and the limiter ceiling the
     * song was mastered with at the end (lowered when an encode of the song
     * file or of its part of the album file went over the ceiling); NAN/0
     * for lossless outputs */
    double codec_tp_first_dbtp, codec_tp_final_dbtp, limiter_ceiling_dbtp;
    int encodes;
    lathe_master_warning warnings[8];
    int nwarnings;
} lathe_album_track;

typedef struct {
    char path[1024];
    char side;
    long long frames;
    double lufs, true_peak_dbtp; /* lossy: measured on the decoded file */
    double codec_tp_first_dbtp, codec_tp_final_dbtp; /* lossy: decoded true peak, first and last encode */
    int encodes;
} lathe_album_segment;

typedef struct {
    char target[32];
    double target_lufs, ceiling_dbtp, rate;
    int bits, track_mode, cd;
    char format[8];        /* "wav", "flac", "aiff", "mp3", "ogg", "opus" */
    char codec[48];        /* e.g. "MP3 CBR 320 kbps", "Opus 160 kbps", "WAV PCM 24-bit" */
    int lossy;             /* 1 for mp3, ogg, opus: codec-aware true peak (docs/album.md) */
    int codec_passes;      /* lossy: encode passes over the album (1 when nothing went over) */
    double album_gain_db;  /* album mode: the loudest song's solved drive */
    double album_lufs, album_peak; /* album loudness tags (linear peak) */
    lathe_album_track *tracks;
    int ntracks;
    lathe_album_segment segments[2];
    int nsegments;
    char cue_path[1024], json_path[1024];
    lathe_master_warning warnings[LATHE_ALBUM_MAX_WARNINGS];
    int nwarnings;
} lathe_album_report;

/* Masters and sequences the album into outdir (created if missing). Album
 * problems found only now (a session's rendered length breaking the Red
 * Book, a crossfade longer than a song) go to diags; other errors to err.
 * On failure nothing is left in outdir. rep->tracks is allocated: free with
 * lathe_album_report_free. */
lathe_status lathe_album_render(const lathe_album *a, const char *outdir,
                                const lathe_album_options *opt, lathe_album_report *rep,
                                lathe_diags *diags, lathe_error *err);
void lathe_album_report_free(lathe_album_report *rep);

/* Writes the report as JSON (the summary file and `--json`). */
void lathe_album_report_json(const lathe_album_report *rep, FILE *f);

/* "mm:ss:ff" (75 frames per second) for a sample position; exact when the
 * position is a multiple of rate / 75. */
const char *lathe_cue_time(long long frames, double rate, char *buf, size_t len);

/* The vinyl side-length warning (code "long-side"): returns 1 and fills w
 * (when not NULL) past 22 minutes, else 0. */
int lathe_album_side_warning(char side, double seconds, lathe_master_warning *w);

/* Side (or album: side_s[0]) lengths from the songs' declared durations,
 * pre-gaps and crossfades (sessions count 0 until rendered), and the
 * warnings they give (long vinyl sides) into w[0..maxw-1]; returns how many.
 * For `lathe album --check`. */
int lathe_album_declared(const lathe_album *a, double side_s[2], lathe_master_warning *w, int maxw);

#ifdef __cplusplus
}
#endif
#endif
