/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A track's source: its file, read block by block, resampled to the session
 * rate (libsoxr, very high quality), placed on the timeline at its start
 * offset, as 1 or 2 channels (more are folded to stereo).  Internal. */
#ifndef LATHE_ENGINE_SOURCE_H
#define LATHE_ENGINE_SOURCE_H

#include "lathe/error.h"
#include "lathe/io.h"

typedef struct lathe_source lathe_source;

/* Opens `path` for a timeline at `rate`, its first frame at `start_s`.
 * *channels receives 1 or 2; *end_s the timeline time where it ends. */
lathe_source *lathe_source_open(const char *path, double rate, double start_s, int *channels,
                                double *end_s, lathe_error *err);
/* Fills out[0..channels-1] with the n frames starting at timeline frame
 * `pos` (the caller reads consecutive ranges); silence outside the file.
 * out_zero: out holds zeros already (from the last block), so known zeros
 * need not be written again. *is_zero becomes 1 when the block is known to be
 * all zeros (outside the file, or digital silence in a FLAC file), else 0
 * (the caller may still find zeros in it).
 * Returns LATHE_OK or an error (read failure, bad data). */
lathe_status lathe_source_read(lathe_source *s, long long pos, float *const *out, int n,
                               int out_zero, int *is_zero, lathe_error *err);
void lathe_source_close(lathe_source *s);

#endif
