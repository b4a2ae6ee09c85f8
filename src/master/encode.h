/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Lossy delivery shared by lathe master and lathe album (internal): encode
 * a float render into MP3, Ogg Vorbis or Opus through lathe's writer, and
 * name the codec as the reports show it. */
#ifndef LATHE_MASTER_ENCODE_H
#define LATHE_MASTER_ENCODE_H

#include <stddef.h>

#include "lathe/error.h"
#include "lathe/io.h"

/* Encodes the float file `pcm` (any file lathe reads) into `path`, of type
 * ft, with the encoder settings co (NULL: the defaults). The writer's own
 * temporary file is renamed onto path only when complete; on error nothing
 * is left under path. */
lathe_status lathe_encode_file(const char *pcm, const char *path, lathe_file_type ft,
                               const lathe_codec_options *co, lathe_error *err);

/* The codec as reports name it ("MP3 CBR 320 kbps", "Ogg Vorbis q8.0",
 * "Opus 160 kbps", "FLAC 24-bit", "WAV PCM 16-bit", ...) into buf. */
void lathe_codec_name(char *buf, size_t len, lathe_file_type ft, const lathe_codec_options *co,
                      int bits, int channels);

/* True peak (dBTP, the analyser's 4x interpolator, ITU-R BS.1770-4 Annex 2)
 * of each frame range [start[i], end[i]) of the file at path, over all
 * channels, into peak_db[i] (-inf for a silent or empty range). Ranges may
 * overlap. For finding which song of an album file an encoder pushed over
 * the ceiling. */
lathe_status lathe_range_true_peaks(const char *path, int n, const long long *start, const long long *end,
                                    double *peak_db, lathe_error *err);

#endif
