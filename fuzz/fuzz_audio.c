/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: opening and decoding an audio file (lathe_reader_open, read,
 * seek) and the analyzer on what was decoded.  libsndfile opens paths, so
 * the input is written to one file in the work folder (removed after each
 * input); the format is found from the content (no extension). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "lathe/analysis.h"
#include "lathe/io.h"

#define BLOCK 1024
/* Decoding stops here: a header may claim hours that a few bytes of
 * input cannot hold (an ADPCM or lossy decoder keeps producing frames),
 * and the inputs worth finding are in the first blocks anyway. */
#define MAX_FRAMES (1L << 16)
/* The analyzer sees at most this much (its FFTs are the expensive part). */
#define MAX_ANALYZED (1L << 16)

static long decode(lathe_reader *r, const lathe_audio_info *info, float *const *buf,
                   lathe_analyzer *an)
{
    long total = 0;
    for (;;) {
        lathe_error err = {0};
        long n = lathe_reader_read(r, buf, BLOCK, &err);
        if (n < 0) {
            if (!err.msg[0]) abort(); /* a read error says why */
            break;
        }
        if (n == 0) break;
        if (n > BLOCK) abort();
        for (int c = 0; c < info->channels; c++)
            for (long i = 0; i < n; i++)
                if (!isfinite(buf[c][i])) abort(); /* the reader promises finite samples */
        if (an && total < MAX_ANALYZED) lathe_analyzer_add(an, (const float *const *)buf, n);
        total += n;
        if (total >= MAX_FRAMES) break;
    }
    return total;
}

int lathe_fuzz_audio(const uint8_t *data, size_t size)
{
    char name[64], path[600];
    snprintf(name, sizeof name, "input-%ld", (long)getpid()); /* runs at once do not collide */
    lathe_fuzz_path(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();

    lathe_audio_info info;
    lathe_error err = {0};
    lathe_reader *r = lathe_reader_open(path, &info, &err);
    if (!r) {
        unlink(path);
        if (!err.msg[0]) abort();
        return 0;
    }
    if (info.channels < 1 || info.channels > LATHE_MAX_CHANNELS || !(info.rate > 0)) abort();

    float *buf[LATHE_MAX_CHANNELS] = {0};
    for (int c = 0; c < info.channels; c++)
        if (!(buf[c] = malloc(BLOCK * sizeof(float)))) abort();

    lathe_analyzer *an = lathe_analyzer_new(info.rate, info.channels, &err);
    long total = decode(r, &info, buf, an);
    if (an) {
        lathe_analysis res;
        lathe_analyzer_result(an, &res);
        lathe_analyzer_free(an);
    }
    /* seek back into the middle and to the start, then read on; past the end */
    if (lathe_reader_seek(r, total / 2, &err) == LATHE_OK) decode(r, &info, buf, NULL);
    if (lathe_reader_seek(r, 0, &err) == LATHE_OK) {
        lathe_error e2 = {0};
        long n = lathe_reader_read(r, buf, BLOCK, &e2);
        if (n > BLOCK) abort();
    }
    lathe_reader_seek(r, total + 1000, &err);
    lathe_reader_seek(r, -1, &err);

    for (int c = 0; c < info.channels; c++) free(buf[c]);
    lathe_reader_close(r);
    unlink(path); /* nothing stays behind */
    return 0;
}
