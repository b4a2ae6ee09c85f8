/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Deterministic Ogg streams.
 *
 * libsndfile gives every Ogg Vorbis and Ogg Opus stream a random serial
 * number (as the Ogg spec suggests), so two renders of the same input differ
 * in 4 bytes of every page and in every page checksum. lathe promises the
 * same bytes for the same input, so after the encoder has closed the file
 * this rewrites the serial of its one logical stream with a value derived
 * from the content (FNV-1a over the page bodies: files with different audio
 * still get different serials, which matters when players chain them) and
 * recomputes each page's CRC.
 *
 * The page layout and the checksum are RFC 3533 (section 6): the header is
 * "OggS", version, flags, granule position (8), serial (4, LE, offset 14),
 * page sequence (4), CRC (4, offset 22), the segment count and table; the
 * CRC is CRC-32 with polynomial 0x04c11db7, initial value 0, no reflection
 * and no final XOR, over the whole page with its CRC field set to zero. */
#include "io/ogg.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i << 24;
        for (int k = 0; k < 8; k++) r = r & 0x80000000u ? (r << 1) ^ 0x04c11db7u : r << 1;
        crc_table[i] = r;
    }
}

static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n--) crc = (crc << 8) ^ crc_table[((crc >> 24) ^ *p++) & 0xff];
    return crc;
}

uint32_t lathe_ogg_crc(const unsigned char *page, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    return crc_update(0, page, n);
}

enum { HDR = 27, MAX_PAGE = HDR + 255 + 255 * 255 };

/* Reads the page at the current position into buf; returns its size, 0 at
 * the end of the file, -1 when the bytes are not an Ogg page. */
static long read_page(FILE *f, unsigned char *buf)
{
    size_t got = fread(buf, 1, HDR, f);
    if (got == 0) return 0;
    if (got < HDR || memcmp(buf, "OggS", 4) != 0) return -1;
    int nseg = buf[26];
    if (fread(buf + HDR, 1, (size_t)nseg, f) != (size_t)nseg) return -1;
    size_t body = 0;
    for (int i = 0; i < nseg; i++) body += buf[HDR + i];
    if (fread(buf + HDR + nseg, 1, body, f) != body) return -1;
    return (long)(HDR + nseg + body);
}

lathe_status lathe_ogg_fix_serial(const char *path, const char *name, lathe_error *err)
{
    FILE *f = fopen(path, "r+b");
    if (!f) return lathe_error_set(err, LATHE_E_IO, "%s: cannot reopen the encoded file: %s", name, strerror(errno));
    unsigned char *page = malloc(MAX_PAGE);
    if (!page) {
        fclose(f);
        return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
    }
    lathe_status st = LATHE_OK;
    /* pass 1: the serial from the content, and one logical stream only */
    uint32_t h = 2166136261u, serial0 = 0;
    long n;
    int pages = 0;
    while ((n = read_page(f, page)) > 0) {
        uint32_t s = (uint32_t)page[14] | (uint32_t)page[15] << 8 | (uint32_t)page[16] << 16 |
                     (uint32_t)page[17] << 24;
        if (pages++ == 0) serial0 = s;
        else if (s != serial0) break; /* more than one stream: leave the file as the encoder wrote it */
        size_t body0 = (size_t)HDR + page[26];
        for (size_t i = body0; i < (size_t)n; i++) h = (h ^ page[i]) * 16777619u;
    }
    if (n < 0) st = lathe_error_set(err, LATHE_E_IO, "%s: the encoder wrote a damaged Ogg page", name);
    if (st == LATHE_OK && n == 0 && pages > 0) {
        /* pass 2: the new serial and checksum into every page header */
        rewind(f);
        long pos = 0;
        while (st == LATHE_OK && (n = read_page(f, page)) > 0) {
            for (int b = 0; b < 4; b++) page[14 + b] = (unsigned char)(h >> (8 * b));
            memset(page + 22, 0, 4);
            uint32_t crc = lathe_ogg_crc(page, (size_t)n);
            for (int b = 0; b < 4; b++) page[22 + b] = (unsigned char)(crc >> (8 * b));
            if (fseek(f, pos, SEEK_SET) != 0 || fwrite(page, 1, HDR, f) != HDR || fflush(f) != 0 ||
                fseek(f, pos + n, SEEK_SET) != 0)
                st = lathe_error_set(err, LATHE_E_IO, "%s: write failed: %s", name, strerror(errno));
            pos += n;
        }
    }
    free(page);
    if (fclose(f) != 0 && st == LATHE_OK)
        st = lathe_error_set(err, LATHE_E_IO, "%s: write failed: %s", name, strerror(errno));
    return st;
}
