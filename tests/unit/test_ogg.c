/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Ogg Vorbis and Opus files are deterministic: libsndfile picks a random
 * stream serial, lathe rewrites it from the content (src/io/ogg.c). Tested:
 * the page checksum against the CRC catalogue's check value, two writes of
 * the same audio give the same bytes, different audio a different serial,
 * every page's checksum verifies, one serial throughout, and the file still
 * decodes (libsndfile) to as many frames as were written. */
#include "lathe_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "io/ogg.h"
#include "lathe/io.h"

static char *const dir = lt_dir;

/* "123456789": CRC-32 with poly 0x04c11db7, init 0, no reflection is
 * CRC-32/CKSUM without its final inversion (check 0x765e7680), so
 * ~0x765e7680. */
static void crc_check_value(void **s)
{
    (void)s;
    assert_int_equal(lathe_ogg_crc((const unsigned char *)"123456789", 9), 0x89a1897fu);
}

static unsigned char *slurp(const char *path, long *n)
{
    size_t k;
    unsigned char *b = (unsigned char *)lt_read_file(path, &k);
    *n = (long)k;
    return b;
}

static void write_file(const char *path, lathe_file_type t, double freq)
{
    enum { N = 48000 };
    static float l[N], r[N];
    lt_sine(l, N, 48000, freq, 0.4, 0);
    lt_sine(r, N, 48000, freq * 1.5, 0.3, 1);
    const float *ch[2] = {l, r};
    lathe_writer_spec spec = {t, LATHE_SAMPLE_AUTO, 48000, 2, 1};
    lathe_error err = {0};
    lathe_writer *w = lathe_writer_open_codec(path, &spec, NULL, &err);
    if (!w) fail_msg("%s", err.msg);
    assert_int_equal(lathe_writer_write(w, ch, N, &err), LATHE_OK);
    assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);
}

/* Walks the pages: every checksum verifies and one serial runs through. */
static unsigned walk(const unsigned char *d, long n, int *pages)
{
    long p = 0;
    unsigned serial = 0;
    *pages = 0;
    while (p < n) {
        assert_memory_equal(d + p, "OggS", 4);
        int nseg = d[p + 26];
        long len = 27 + nseg;
        for (int i = 0; i < nseg; i++) len += d[p + 27 + i];
        assert_true(p + len <= n);
        unsigned char *pg = malloc((size_t)len);
        memcpy(pg, d + p, (size_t)len);
        unsigned stored = pg[22] | pg[23] << 8 | pg[24] << 16 | (unsigned)pg[25] << 24;
        memset(pg + 22, 0, 4);
        assert_int_equal(lathe_ogg_crc(pg, (size_t)len), stored);
        unsigned s = pg[14] | pg[15] << 8 | pg[16] << 16 | (unsigned)pg[17] << 24;
        if (*pages == 0) serial = s;
        assert_int_equal(s, serial);
        free(pg);
        ++*pages;
        p += len;
    }
    return serial;
}

static void same_audio_same_bytes(lathe_file_type t, const char *ext)
{
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/a.%s", dir, ext);
    snprintf(b, sizeof b, "%s/b.%s", dir, ext);
    snprintf(c, sizeof c, "%s/c.%s", dir, ext);
    write_file(a, t, 440);
    write_file(b, t, 440);
    write_file(c, t, 441);
    long na, nb, nc;
    unsigned char *da = slurp(a, &na), *db = slurp(b, &nb), *dc = slurp(c, &nc);
    assert_int_equal(na, nb);
    assert_memory_equal(da, db, (size_t)na);
    int pa, pc;
    unsigned sa = walk(da, na, &pa), sc = walk(dc, nc, &pc);
    assert_true(pa >= 3); /* the headers and audio pages were walked */
    assert_int_not_equal(sa, sc);
    SF_INFO info = {0};
    SNDFILE *f = sf_open(a, SFM_READ, &info);
    assert_non_null(f);
    float buf[2 * 4096];
    sf_count_t frames = 0, got;
    while ((got = sf_readf_float(f, buf, 4096)) > 0) frames += got;
    sf_close(f);
    /* libsndfile's Vorbis can end a stream up to 128 frames early (noted in the docs) */
    assert_true(frames >= 48000 - 128 && frames <= 48000);
    free(da), free(db), free(dc);
}

static void ogg_vorbis_is_deterministic(void **s)
{
    (void)s;
    same_audio_same_bytes(LATHE_FILE_OGG, "ogg");
}

static void opus_is_deterministic(void **s)
{
    (void)s;
    same_audio_same_bytes(LATHE_FILE_OPUS, "opus");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc_check_value),
        cmocka_unit_test(ogg_vorbis_is_deterministic),
        cmocka_unit_test(opus_is_deterministic),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
