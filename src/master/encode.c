/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Lossy delivery shared by lathe master and lathe album: encoding a float
 * render through lathe's writer, and the codec's name for the reports. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis/truepeak.h"
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

lathe_status lathe_range_true_peaks(const char *path, int n, const long long *start, const long long *end,
                                    double *peak_db, lathe_error *err)
{
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(path, &info, err);
    if (!r) return err->code;
    enum { N = LATHE_TP_BLOCK };
    const int ch = info.channels, lat = lathe_tp_latency();
    lathe_tp_design d;
    lathe_tp_design_init(&d, info.rate);
    /* the channels' interpolators, their blocks and per-sample maxima */
    lathe_tp_chan *tp = malloc(sizeof *tp * (size_t)ch);
    float *store = malloc(sizeof(float) * N * (size_t)ch * 2);
    double *lin = calloc((size_t)n, sizeof *lin);
    lathe_status st = tp && store && lin ? LATHE_OK : lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
    float *in[LATHE_MAX_CHANNELS], *mx[LATHE_MAX_CHANNELS];
    for (int c = 0; st == LATHE_OK && c < ch; c++) {
        lathe_tp_chan_init(&tp[c], &d);
        in[c] = store + (size_t)c * N, mx[c] = store + (size_t)(ch + c) * N;
    }
    long long pos = 0; /* input frames fed so far */
    int tail = 0;      /* zeros fed after the end, to flush the interpolator's delay */
    while (st == LATHE_OK && tail < lat) {
        long k = lathe_reader_read(r, in, N, err);
        if (k < 0) {
            st = (lathe_status)k;
            break;
        }
        if (k == 0) {
            k = lat;
            for (int c = 0; c < ch; c++)
                for (long j = 0; j < k; j++) in[c][j] = 0.0f;
            tail = lat;
        }
        for (int c = 0; c < ch; c++) lathe_tp_chan_run(&tp[c], in[c], (int)k, mx[c]);
        /* mx[c][j] belongs to input frame pos + j - lat */
        for (long j = 0; j < k; j++) {
            long long f = pos + j - lat;
            if (f < 0) continue;
            float m = 0;
            for (int c = 0; c < ch; c++) m = mx[c][j] > m ? mx[c][j] : m;
            for (int i = 0; i < n; i++)
                if (f >= start[i] && f < end[i] && m > lin[i]) lin[i] = m;
        }
        pos += k;
    }
    lathe_reader_close(r);
    for (int i = 0; st == LATHE_OK && i < n; i++) peak_db[i] = lin[i] > 0 ? 20 * log10(lin[i]) : -INFINITY;
    free(tp), free(store), free(lin);
    return st;
}
