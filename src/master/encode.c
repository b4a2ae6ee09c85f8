/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Lossy delivery shared by lathe master and lathe album: encoding a float
 * render through lathe's writer, and the codec's name for the reports. */
#include <stdio.h>
#include <stdlib.h>

#include "master/encode.h"

/* Encodes the float file pcm into `path` (type ft); the writer's own
 * temporary file is renamed onto path when complete. */
lathe_status lathe_encode_file(const char *pcm, const char *path, lathe_file_type ft,
                               const lathe_codec_options *co, lathe_error *err)
{
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(pcm, &info, err);
    if (!r) return err->code;
    lathe_writer_spec spec = {ft, LATHE_SAMPLE_FLOAT32, info.rate, info.channels, 1};
    lathe_writer *w = lathe_writer_open_codec(path, &spec, co, err);
    enum { N = 8192 };
    float *buf = malloc(sizeof(float) * N * (size_t)info.channels);
    lathe_status st = w && buf ? LATHE_OK : w ? lathe_error_set(err, LATHE_E_NOMEM, "out of memory") : err->code;
    float *ch[LATHE_MAX_CHANNELS];
    for (int c = 0; buf && c < info.channels; c++) ch[c] = buf + (size_t)c * N;
    while (st == LATHE_OK) {
        long n = lathe_reader_read(r, ch, N, err);
        if (n < 0) st = (lathe_status)n;
        if (n <= 0) break;
        st = lathe_writer_write(w, (const float *const *)ch, n, err);
    }
    lathe_reader_close(r);
    free(buf);
    if (st != LATHE_OK) {
        lathe_writer_abort(w);
        return st;
    }
    return lathe_writer_commit(w, err);
}

void lathe_codec_name(char *buf, size_t len, lathe_file_type ft, const lathe_codec_options *co,
                      int bits, int channels)
{
    const lathe_codec_options d = {0};
    if (!co) co = &d;
    switch (ft) {
    case LATHE_FILE_MP3:
        if (co->vbr) snprintf(buf, len, "MP3 VBR V%d", co->vbr_quality);
        else snprintf(buf, len, "MP3 CBR %d kbps", co->bitrate_kbps ? co->bitrate_kbps : 320);
        break;
    case LATHE_FILE_OGG: snprintf(buf, len, "Ogg Vorbis q%.1f", 10 * (co->quality > 0 ? co->quality : 0.8)); break;
    case LATHE_FILE_OPUS:
        snprintf(buf, len, "Opus %d kbps", co->bitrate_kbps ? co->bitrate_kbps : 80 * channels);
        break;
    case LATHE_FILE_FLAC: snprintf(buf, len, "FLAC %d-bit", bits); break;
    default:
        snprintf(buf, len, "%s %s", ft == LATHE_FILE_AIFF ? "AIFF" : "WAV",
                 bits == 32 ? "32-bit float" : bits == 16 ? "PCM 16-bit" : "PCM 24-bit");
    }
}
