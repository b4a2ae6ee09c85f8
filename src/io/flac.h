/* SPDX-License-Identifier: GPL-3.0-or-later */
/* io/flac.h: native FLAC files decoded with libFLAC's stream decoder straight
 * into planar float (internal; lathe_reader uses it for .flac sources).
 *
 * Why not libsndfile's FLAC path: it decodes to planar int32, interleaves and
 * shifts into its own buffer, then copies into the caller's int array, which
 * lathe then scales and de-interleaves again. Here each decoded frame is
 * scaled once into the caller's channels (the part that does not fit waits in
 * a buffer of one FLAC block). The samples are the same: a b-bit sample s
 * becomes s / 2^(b-1), exactly what the int path of reader.c gives. */
#ifndef LATHE_IO_FLAC_H
#define LATHE_IO_FLAC_H

#include "lathe/error.h"
#include "lathe/io.h"

typedef struct lathe_flac lathe_flac;

/* 1 when the file at `path` is a native FLAC stream ("fLaC" at offset 0)
 * whose sample width lathe_flac decodes (8, 16 or 24 bits); 0 otherwise
 * (also when it cannot be read: the caller's generic path reports that). */
int lathe_flac_probe(const char *path);

/* Opens `path` and fills *info (container "FLAC", "PCM b-bit"; frames -1 when
 * STREAMINFO does not give the total). Errors: not FLAC, cannot decode the
 * metadata, out of memory. The caller owns the result: lathe_flac_close. */
lathe_flac *lathe_flac_open(const char *path, lathe_audio_info *info, lathe_error *err);

/* Reads up to n frames into out[0..channels-1]; returns the frames read (0 at
 * the end) or a negative status: LATHE_E_FORMAT for corrupt data ("read error
 * at frame N: ...") or a stream that ends before the frame count STREAMINFO
 * promises ("truncated file ..."). */
long lathe_flac_read(lathe_flac *f, float *const *out, long n, lathe_error *err);

/* The same, for callers that keep a buffer of zeros while a file is silent:
 * out_zero says out[c][0..n) holds zeros already, so frames of digital
 * silence (every subframe the constant 0) are not written again; *silent
 * (if not NULL) becomes 1 when every frame read was digital silence (then
 * out holds zeros for all the frames read). */
long lathe_flac_read_z(lathe_flac *f, float *const *out, long n, int out_zero, int *silent,
                       lathe_error *err);

/* Moves to `frame`; LATHE_E_IO if the decoder cannot seek there. */
lathe_status lathe_flac_seek(lathe_flac *f, long long frame, lathe_error *err);

void lathe_flac_close(lathe_flac *f); /* NULL-safe */

#endif
