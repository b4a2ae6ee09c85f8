/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Platform and delivery presets.  Figures: the platforms' own documentation
 * where it exists (Spotify, Apple Podcasts, EBU R128, ATSC A/85), secondary
 * sources elsewhere (marked "(sec.)"); see docs/targets.md. */
#include <math.h>
#include <string.h>

#include "lathe/targets.h"

static const lathe_target table[] = {
    {"spotify", "Spotify (normal)", -14, -1, -14, LATHE_NORM_UP_LIMITED, -1, 1, 0, 24, 0, "flac",
     "support.spotify.com: down always; up only keeping 1 dB true-peak headroom"},
    {"apple-music", "Apple Music (Sound Check)", -16, -1, -16, LATHE_NORM_UP_LIMITED, -1, 1, 0, 24,
     0, "flac", "(sec.) Sound Check both ways; raising assumed peak-limited to -1 dBTP"},
    {"youtube", "YouTube", -14, -1, -14, LATHE_NORM_DOWN, 0, 1, 0, 24, 0, "flac",
     "(sec.) down only"},
    {"tidal", "Tidal", -14, -1, -14, LATHE_NORM_DOWN, 0, 1, 0, 24, 0, "flac",
     "(sec.) BS.1770-4, down only"},
    {"amazon", "Amazon Music", -14, -2, -14, LATHE_NORM_DOWN, 0, 1, 0, 24, 0, "flac",
     "(sec.) reports vary -9..-14; modelled as down only"},
    {"deezer", "Deezer", -15, -1, -15, LATHE_NORM_DOWN, 0, 1, 0, 24, 0, "flac",
     "(sec.) down only"},
    {"soundcloud", "SoundCloud", -14, -1, -14, LATHE_NORM_NONE, 0, 1, 0, 24, 0, "flac",
     "(sec.) no documented normalisation"},
    {"ebu-r128", "EBU R128 broadcast", -23, -1, -23, LATHE_NORM_BOTH, 0, 1, 48000, 24, 0, "wav",
     "EBU R128 (2020): -23 LUFS, -1 dBTP"},
    {"atsc-a85", "ATSC A/85 broadcast", -24, -2, -24, LATHE_NORM_BOTH, 0, 1, 48000, 24, 0, "wav",
     "ATSC A/85:2013: -24 LKFS, -2 dBTP"},
    {"podcast", "Podcast (Apple)", -16, -1, -19, LATHE_NORM_BOTH, 0, 1, 44100, 16, 1, "mp3",
     "podcasters.apple.com 893: -16 LKFS +-1 dB, -1 dBTP; mono -19 (sec.)"},
    {"cd", "CD (Red Book)", -10, -0.3, -10, LATHE_NORM_NONE, 0, 0, 44100, 16, 1, "wav",
     "44.1 kHz 16-bit dithered; loudness is the user's choice (default -10)"},
    {"vinyl", "Vinyl pre-master", -14, -1, -14, LATHE_NORM_NONE, 0, 0, 0, 24, 0, "wav",
     "no brickwall; mono bass below 150 Hz; sibilance tamed"},
    {"hires", "Hi-res", -14, -1, -14, LATHE_NORM_NONE, 0, 0, 0, 24, 0, "flac",
     "keeps the rate, 24-bit"},
};

const lathe_target *lathe_targets(int *count)
{
    if (count) *count = (int)(sizeof table / sizeof table[0]);
    return table;
}

const lathe_target *lathe_target_find(const char *name)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

double lathe_target_playback_gain(const lathe_target *t, double integrated, double tp, int mono)
{
    if (!isfinite(integrated)) return 0.0;
    double g = (mono ? t->mono_lufs : t->lufs) - integrated;
    switch (t->policy) {
    case LATHE_NORM_NONE:
        return 0.0;
    case LATHE_NORM_DOWN:
        return g < 0 ? g : 0.0;
    case LATHE_NORM_UP_LIMITED:
        if (g > 0 && isfinite(tp)) {
            /* raise only as far as the true peak stays under the platform's ceiling */
            double room = t->up_ceiling_dbtp - tp;
            g = g < room ? g : (room > 0 ? room : 0.0);
        }
        return g;
    case LATHE_NORM_BOTH:
        return g;
    }
    return 0.0;
}
