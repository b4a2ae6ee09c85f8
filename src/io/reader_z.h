/* SPDX-License-Identifier: GPL-3.0-or-later */
/* io/reader_z.h: lathe_reader_read for callers that keep zeros in their
 * buffer while a file is silent (internal; the engine's track sources).
 * Native FLAC files say which frames are digital silence (io/flac.h), so a
 * silent stretch costs neither writing zeros over zeros nor scanning them. */
#ifndef LATHE_IO_READER_Z_H
#define LATHE_IO_READER_Z_H

#include "lathe/io.h"

/* As lathe_reader_read. out_zero: out[c][0..n) holds zeros already (frames
 * of digital silence are then not written). *silent (not NULL) becomes 1 when
 * every frame read is known to be zero (out holds zeros for them), else 0;
 * formats other than native FLAC always report 0. */
long lathe_reader_read_z(lathe_reader *r, float *const *out, long n, int out_zero, int *silent,
                         lathe_error *err);

#endif
