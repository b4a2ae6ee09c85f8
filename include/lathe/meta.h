/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/meta.h: metadata (tags) for lathe's outputs.
 *
 * A lathe_meta holds what `--meta KEY=VALUE` (repeatable, on `master` and
 * `album`) and the `meta:` maps of a YAML file say, validated and
 * normalised, plus the loudness figures (ReplayGain 2.0 and Opus R128
 * gains) that the renderer measures.  lathe_tags_write then writes it into
 * a finished file by the file's type: Vorbis comments (FLAC, Ogg Vorbis,
 * Opus), ID3v2.4 (MP3, AIFF), RIFF INFO plus an ID3v2 chunk and a `bext`
 * chunk (WAV).
 *
 * Keys (lowercase): title, artist, album, album_artist, year, genre, isrc,
 * track, disc, upc, composer, comment.
 *   year   "YYYY" or "YYYY-MM-DD" (a real calendar date)
 *   track  "N" or "N/TOTAL" (whole numbers, 1 <= N <= TOTAL); disc likewise
 *   isrc   "CC-XXX-YY-NNNNN" with or without dashes, any case; stored as 12
 *          uppercase characters without dashes (ISO 3901)
 *   upc    UPC-A (12 digits) or EAN-13 (13 digits) with a valid GS1 check
 *          digit
 *   other keys: any non-empty UTF-8 text
 *
 * Conventions: a zero-initialised lathe_meta (`lathe_meta m = {0};`) is
 * empty and valid.  String fields are NULL when unset and are owned by the
 * struct (freed by lathe_meta_free).  Setting a key twice keeps the last
 * value.  Errors name the field and quote the value. */
#ifndef LATHE_META_H
#define LATHE_META_H

#include "lathe/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loudness tag values of one scope (track or album). */
typedef struct {
    int has_gain;      /* rg_gain_db, r128_gain_q78 and lufs are set */
    double lufs;       /* integrated loudness, LUFS (ITU-R BS.1770) */
    double rg_gain_db; /* ReplayGain 2.0 gain: -18 - lufs */
    int r128_gain_q78; /* Opus R128 gain: (-23 - lufs) dB in Q7.8 */
    int has_peak;
    double peak; /* linear, 1.0 = full scale: the true peak (BS.1770-4 annex 2)
                  * when known, as bext stores it as MaxTruePeakLevel;
                  * ReplayGain 2.0 accepts a sample or a true peak */
} lathe_meta_loudness;

typedef struct {
    char *title, *artist, *album, *album_artist, *genre, *composer, *comment;
    char year[11];          /* "YYYY" or "YYYY-MM-DD"; "" when unset */
    char isrc[13];          /* 12 characters, uppercase, no dashes; "" when unset */
    char upc[14];           /* 12 or 13 digits; "" when unset */
    int track, track_total; /* 0 when unset (total 0: no total) */
    int disc, disc_total;
    lathe_meta_loudness track_loudness, album_loudness;
} lathe_meta;

/* The keys in the order above, NULL-terminated (static storage). */
extern const char *const lathe_meta_keys[];

/* Validates `value` for `key` and stores it (normalised) in m, replacing an
 * earlier value. Errors (m unchanged): LATHE_E_INVALID with messages such as
 *   unknown meta key "titel" (did you mean "title"?)
 *   isrc "USRC1760001": expected CC-XXX-YY-NNNNN (12 characters: country,
 *     registrant, year, designation)
 *   upc "036000291453": bad check digit 3 (expected 2)
 * LATHE_E_NOMEM when a copy cannot be made. */
lathe_status lathe_meta_set(lathe_meta *m, const char *key, const char *value, lathe_error *err);

/* One "KEY=VALUE" argument (as given to --meta): splits at the first '='
 * and calls lathe_meta_set. Error when there is no '=' or no key. */
lathe_status lathe_meta_parse_arg(lathe_meta *m, const char *arg, lathe_error *err);

/* Copies every field that is set in src over dst (album-wide values first,
 * then a song's own as src). dst keeps the fields src does not set.
 * LATHE_E_NOMEM leaves dst valid (partly merged). */
lathe_status lathe_meta_merge(lathe_meta *dst, const lathe_meta *src, lathe_error *err);

/* Frees the strings and clears m to empty. NULL-safe. */
void lathe_meta_free(lathe_meta *m);

/* Whether m has nothing to write. */
int lathe_meta_empty(const lathe_meta *m);

/* ---- loudness tags ---- */

/* Fills the track (album = 0) or album (album = 1) loudness values from an
 * integrated loudness (LUFS; not finite: no gain) and a linear peak (< 0 or
 * not finite: no peak). */
void lathe_meta_set_loudness(lathe_meta *m, int album, double integrated_lufs, double peak);

/* ReplayGain 2.0 gain for an integrated loudness: -18 LUFS reference,
 * gain = -18 - integrated (dB). */
double lathe_replaygain_gain_db(double integrated_lufs);

/* RFC 7845 section 5.2.1: R128_TRACK_GAIN / R128_ALBUM_GAIN are the gain
 * (-23 - integrated) dB as a Q7.8 fixed-point integer (dB * 256, rounded
 * to nearest, clamped to -32768..32767), relative to the header's output
 * gain (which lathe leaves at 0). */
int lathe_r128_gain_q78(double integrated_lufs);

/* Tag texts (buf of at least 32 bytes; returns buf):
 *   REPLAYGAIN_*_GAIN  "-6.51 dB"  (2 decimals, "0.00 dB" never "-0.00 dB")
 *   REPLAYGAIN_*_PEAK  "0.912345"  (6 decimals, linear)
 *   R128_*_GAIN        "-1234"     (decimal Q7.8) */
char *lathe_replaygain_gain_str(char *buf, double gain_db);
char *lathe_replaygain_peak_str(char *buf, double peak);
char *lathe_r128_gain_str(char *buf, int q78);

/* ---- writing (src/io/tags.cc, TagLib) ---- */

/* Tags the existing file at `path` in place, by its content (not its name,
 * so a temporary file works): FLAC, Ogg Vorbis, Ogg Opus, MP3, WAV, AIFF.
 * Keys that m leaves unset are left as the file has them; no backup or
 * temporary file is left beside it. Errors name the file: LATHE_E_IO (cannot
 * open or write), LATHE_E_FORMAT (not a type that can be tagged). */
lathe_status lathe_tags_write(const char *path, const lathe_meta *m, lathe_error *err);

/* The same, but errors name `name` instead of `path`: for tagging a
 * temporary file (lathe_writer_temp_path) while the user knows the target
 * name. name NULL: path. */
lathe_status lathe_tags_write_named(const char *path, const char *name, const lathe_meta *m,
                                    lathe_error *err);

#ifdef __cplusplus
}
#endif
#endif
