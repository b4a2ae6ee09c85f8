/* SPDX-License-Identifier: GPL-3.0-or-later */
/* io/vio.h: libsndfile's virtual I/O over a stdio stream with a large
 * buffer.  Internal header.
 *
 * libsndfile converts samples through its own 8 KB buffer and reads or
 * writes each 8 KB with a system call of its own: a master of a 4-minute
 * song made 29 000 of them (strace -c), most of its system time.  Through a
 * stream with a 1 MB buffer (sf_open_virtual) it is one call per megabyte
 * (481 calls for that master); the bytes in the files are the same.
 *
 * A buffered write fails late (when the buffer is flushed, perhaps inside a
 * seek that libsndfile does not check), so the first failure's errno is
 * kept and lathe_vio_close reports it. */
#ifndef LATHE_IO_VIO_H
#define LATHE_IO_VIO_H

#include <stdio.h>

#include <sndfile.h>

#define LATHE_VIO_BUFFER (1 << 20)

typedef struct {
    FILE *f;
    char *buf; /* f's buffer */
    int err;   /* errno of the first failed write, flush or seek; 0 if none */
} lathe_vio;

/* The callbacks for a stream opened for reading, or for writing (which may
 * also read back and seek: headers are rewritten at the end). user_data is
 * the lathe_vio. */
extern SF_VIRTUAL_IO lathe_vio_read_io, lathe_vio_write_io;

/* Takes f (opened, nothing read or written yet) and gives it a
 * LATHE_VIO_BUFFER buffer (stdio's default is 4 KB; glibc ignores the size
 * asked of setvbuf unless the buffer is given; without memory f keeps
 * stdio's). */
void lathe_vio_init(lathe_vio *v, FILE *f);

/* Flushes and closes the stream, frees the buffer. Returns 0, or -1 with
 * errno set to the first failure's (a write, flush, seek or the close).
 * sync: fsync before closing. NULL-safe stream (v->f NULL: nothing). */
int lathe_vio_close(lathe_vio *v, int sync);

#endif
