/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/targets.h: platform and delivery presets, as data, in one place.
 * `lathe analyze` uses them to say what each platform will do to a file;
 * `lathe master` uses them as loudness targets. */
#ifndef LATHE_TARGETS_H
#define LATHE_TARGETS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LATHE_NORM_NONE = 0,    /* plays files as they are */
    LATHE_NORM_DOWN,        /* turns loud files down, never up */
    LATHE_NORM_UP_LIMITED,  /* down, and up only while the true peak stays under up_ceiling_dbtp */
    LATHE_NORM_BOTH         /* a delivery spec: the file must be corrected either way */
} lathe_norm_policy;

typedef struct {
    const char *name;       /* "spotify" */
    const char *label;      /* "Spotify (normal)" */
    double lufs;            /* target integrated loudness */
    double ceiling_dbtp;    /* true-peak ceiling for masters */
    double mono_lufs;       /* target for mono files (podcast: -19), or the same as lufs */
    lathe_norm_policy policy;
    double up_ceiling_dbtp; /* LATHE_NORM_UP_LIMITED: peak that raising may reach */
    int is_platform;        /* listed by `analyze` as a playback platform */
    double rate;            /* output rate, 0 = keep */
    int bits;               /* output bits (16, 24; 32 = float), 0 = keep */
    int dither;             /* dither on bit-depth reduction */
    const char *format;     /* default output extension: "flac", "wav", "mp3" */
    const char *source;     /* where the figures come from */
} lathe_target;

/* All presets, in display order; *count receives the number. Static data. */
const lathe_target *lathe_targets(int *count);
/* The preset named `name`, or NULL. */
const lathe_target *lathe_target_find(const char *name);

/* What the platform does to a file measured at `integrated_lufs` with
 * `true_peak_dbtp`: returns the playback gain in dB (0 for NONE). For mono
 * files pass mono = 1 (uses mono_lufs). */
double lathe_target_playback_gain(const lathe_target *t, double integrated_lufs,
                                  double true_peak_dbtp, int mono);

#ifdef __cplusplus
}
#endif
#endif
