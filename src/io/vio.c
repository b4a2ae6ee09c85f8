/* SPDX-License-Identifier: GPL-3.0-or-later */
/* io/vio.c: libsndfile virtual I/O on a buffered stdio stream (see vio.h). */
#include "io/vio.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void failed(lathe_vio *v)
{
    if (!v->err) v->err = errno ? errno : EIO;
}

static sf_count_t len_read(void *user)
{
    lathe_vio *v = user;
    struct stat st;
    return fstat(fileno(v->f), &st) == 0 ? (sf_count_t)st.st_size : -1;
}

/* A stream being written holds its last bytes in the buffer: flushed first,
 * so that the size counts them. */
static sf_count_t len_write(void *user)
{
    lathe_vio *v = user;
    struct stat st;
    if (fflush(v->f) != 0) {
        failed(v);
        return -1;
    }
    return fstat(fileno(v->f), &st) == 0 ? (sf_count_t)st.st_size : -1;
}

static sf_count_t seek(sf_count_t offset, int whence, void *user)
{
    lathe_vio *v = user;
    if (fseeko(v->f, (off_t)offset, whence) != 0) {
        failed(v);
        return -1;
    }
    return (sf_count_t)ftello(v->f);
}

static sf_count_t read_(void *ptr, sf_count_t count, void *user)
{
    lathe_vio *v = user;
    return (sf_count_t)fread(ptr, 1, (size_t)count, v->f);
}

static sf_count_t write_(const void *ptr, sf_count_t count, void *user)
{
    lathe_vio *v = user;
    size_t put = fwrite(ptr, 1, (size_t)count, v->f);
    if (put < (size_t)count) failed(v);
    return (sf_count_t)put;
}

static sf_count_t tell(void *user)
{
    lathe_vio *v = user;
    return (sf_count_t)ftello(v->f);
}

SF_VIRTUAL_IO lathe_vio_read_io = {len_read, seek, read_, write_, tell};
SF_VIRTUAL_IO lathe_vio_write_io = {len_write, seek, read_, write_, tell};

void lathe_vio_init(lathe_vio *v, FILE *f)
{
    v->f = f;
    v->err = 0;
    v->buf = malloc(LATHE_VIO_BUFFER);
    if (v->buf && setvbuf(f, v->buf, _IOFBF, LATHE_VIO_BUFFER) != 0) {
        free(v->buf);
        v->buf = NULL;
    }
}

int lathe_vio_close(lathe_vio *v, int sync)
{
    if (!v->f) return 0;
    if (fflush(v->f) != 0 || ferror(v->f)) failed(v);
    if (!v->err && sync && fsync(fileno(v->f)) != 0) failed(v);
    if (fclose(v->f) != 0) failed(v);
    v->f = NULL;
    free(v->buf);
    v->buf = NULL;
    if (!v->err) return 0;
    errno = v->err;
    return -1;
}
