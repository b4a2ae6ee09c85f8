/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Native FLAC through libFLAC's stream decoder, into planar float.
 *
 * The write callback scales each decoded frame (planar int32, b bits) by
 * 2^-(b-1) straight into the caller's channels; what does not fit waits in
 * `pend` for the next read. A b-bit integer is exact in float (b <= 24) and
 * the scale is a power of two, so the values equal reader.c's int path
 * (sample << (32 - b), then * 2^-31) bit for bit.
 *
 * Errors: libFLAC reports damage through the error callback and then searches
 * for the next frame. The read stops at the first report; one more search
 * tells a file that simply ends there (truncated) from damage followed by
 * more frames (corrupt). A stream that ends cleanly before STREAMINFO's total
 * is truncated too. */
#include "io/flac.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <FLAC/stream_decoder.h>

struct lathe_flac {
    FLAC__StreamDecoder *dec;
    char *path;
    int channels, bits;
    unsigned rate;
    long long total; /* STREAMINFO's frame count; 0 = not given */
    long long pos;   /* frames delivered */
    float scale;     /* 2^-(bits-1) */
    int have_info, eos;
    /* decoded frames not delivered yet */
    float *pend[LATHE_MAX_CHANNELS];
    long pend_cap, pend_off, pend_len;
    int pend_silent; /* pend holds digital silence (written as zeros) */
    /* where the write callback puts the next frame (dest NULL: all to pend) */
    float *const *dest;
    long dest_off, dest_room, written;
    int dest_zero;   /* dest already holds zeros: silence need not be written */
    int all_silent;  /* every frame of this read was digital silence */
    /* errors seen in the callbacks */
    int failed;                          /* the error callback was called */
    FLAC__StreamDecoderErrorStatus why;  /* its first status */
    int changed;                         /* a frame with other channels/bits/rate */
    int nomem;
    int probing, probe_hit;              /* after an error: does another frame follow? */
};

int lathe_flac_probe(const char *path)
{
    /* "fLaC", then the STREAMINFO block header (type 0) and its 34 bytes:
     * bits per sample - 1 sits in the low bit of byte 12 and the top nibble
     * of byte 13 of the block (FLAC format, METADATA_BLOCK_STREAMINFO). */
    unsigned char h[4 + 4 + 34];
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    size_t got = fread(h, 1, sizeof h, fp);
    fclose(fp);
    if (got != sizeof h || memcmp(h, "fLaC", 4) != 0 || (h[4] & 0x7f) != 0) return 0;
    const unsigned char *si = h + 8;
    int bits = (((si[12] & 1) << 4) | (si[13] >> 4)) + 1;
    return bits == 8 || bits == 16 || bits == 24;
}

static int grow_pend(lathe_flac *f, long n)
{
    if (n <= f->pend_cap) return 1;
    for (int c = 0; c < f->channels; c++) {
        float *p = realloc(f->pend[c], (size_t)n * sizeof(float));
        if (!p) return 0;
        f->pend[c] = p;
    }
    f->pend_cap = n;
    return 1;
}

static FLAC__StreamDecoderWriteStatus on_write(const FLAC__StreamDecoder *d, const FLAC__Frame *fr,
                                               const FLAC__int32 *const b[], void *user)
{
    (void)d;
    lathe_flac *f = user;
    if (f->probing) {
        f->probe_hit = 1;
        return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
    }
    if ((int)fr->header.channels != f->channels || (int)fr->header.bits_per_sample != f->bits ||
        fr->header.sample_rate != f->rate) {
        f->changed = 1;
        return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    }
    const long n = (long)fr->header.blocksize;
    const long take = f->dest ? (n < f->dest_room ? n : f->dest_room) : 0;
    if (n - take > f->pend_cap && !grow_pend(f, n - take)) {
        f->nomem = 1;
        return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    }
    /* digital silence (every subframe the constant 0; whatever the channel
     * decorrelation, all channels are 0): no int -> float pass */
    int silent = 1;
    for (int c = 0; c < f->channels && silent; c++)
        silent = fr->subframes[c].type == FLAC__SUBFRAME_TYPE_CONSTANT &&
                 fr->subframes[c].data.constant.value == 0;
    const float s = f->scale;
    for (int c = 0; c < f->channels; c++) {
        const FLAC__int32 *x = b[c];
        if (silent) {
            if (take && !f->dest_zero)
                memset(f->dest[c] + f->dest_off, 0, (size_t)take * sizeof(float));
            memset(f->pend[c], 0, (size_t)(n - take) * sizeof(float));
            continue;
        }
        if (take) {
            float *o = f->dest[c] + f->dest_off;
            for (long i = 0; i < take; i++) o[i] = (float)x[i] * s;
        }
        float *p = f->pend[c];
        for (long i = take; i < n; i++) p[i - take] = (float)x[i] * s;
    }
    f->dest_off += take, f->dest_room -= take, f->written += take;
    f->pend_off = 0, f->pend_len = n - take, f->pend_silent = silent;
    if (!silent) f->all_silent = 0;
    return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
}

static void on_meta(const FLAC__StreamDecoder *d, const FLAC__StreamMetadata *m, void *user)
{
    (void)d;
    lathe_flac *f = user;
    if (m->type != FLAC__METADATA_TYPE_STREAMINFO) return;
    f->have_info = 1;
    f->channels = (int)m->data.stream_info.channels;
    f->bits = (int)m->data.stream_info.bits_per_sample;
    f->rate = m->data.stream_info.sample_rate;
    f->total = (long long)m->data.stream_info.total_samples;
    f->pend_cap = (long)m->data.stream_info.max_blocksize;
}

static void on_error(const FLAC__StreamDecoder *d, FLAC__StreamDecoderErrorStatus st, void *user)
{
    (void)d;
    lathe_flac *f = user;
    if (!f->failed) f->failed = 1, f->why = st;
}

static const char *why_text(FLAC__StreamDecoderErrorStatus st)
{
    switch (st) {
    case FLAC__STREAM_DECODER_ERROR_STATUS_LOST_SYNC: return "lost sync";
    case FLAC__STREAM_DECODER_ERROR_STATUS_BAD_HEADER: return "bad frame header";
    case FLAC__STREAM_DECODER_ERROR_STATUS_FRAME_CRC_MISMATCH: return "frame CRC mismatch";
    case FLAC__STREAM_DECODER_ERROR_STATUS_UNPARSEABLE_STREAM: return "unparseable stream";
    default: return "bad data";
    }
}

lathe_flac *lathe_flac_open(const char *path, lathe_audio_info *info, lathe_error *err)
{
    lathe_flac *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path)) || !(f->dec = FLAC__stream_decoder_new())) {
        lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
        lathe_flac_close(f);
        return NULL;
    }
    FLAC__StreamDecoderInitStatus is =
        FLAC__stream_decoder_init_file(f->dec, path, on_write, on_meta, on_error, f);
    if (is != FLAC__STREAM_DECODER_INIT_STATUS_OK) {
        lathe_error_set(err, is == FLAC__STREAM_DECODER_INIT_STATUS_ERROR_OPENING_FILE ? LATHE_E_IO
                                                                                       : LATHE_E_FORMAT,
                        "%s: cannot open as FLAC (libFLAC: %s)", path,
                        FLAC__StreamDecoderInitStatusString[is]);
        lathe_flac_close(f);
        return NULL;
    }
    if (!FLAC__stream_decoder_process_until_end_of_metadata(f->dec) || !f->have_info ||
        f->failed) {
        lathe_error_set(err, LATHE_E_FORMAT,
                        "%s: not an audio file lathe can read (FLAC metadata: %s)", path,
                        f->failed ? why_text(f->why) : "no stream information");
        lathe_flac_close(f);
        return NULL;
    }
    if (f->bits != 8 && f->bits != 16 && f->bits != 24) {
        lathe_error_set(err, LATHE_E_FORMAT, "%s: FLAC with %d-bit samples (lathe_flac reads 8, 16 "
                        "and 24)", path, f->bits);
        lathe_flac_close(f);
        return NULL;
    }
    f->scale = 1.0f / (float)(1L << (f->bits - 1));
    long cap = f->pend_cap >= 16 ? f->pend_cap : 65535;
    f->pend_cap = 0;
    if (!grow_pend(f, cap)) {
        lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
        lathe_flac_close(f);
        return NULL;
    }
    if (info) {
        memset(info, 0, sizeof *info);
        info->rate = f->rate;
        info->channels = f->channels;
        info->frames = f->total > 0 ? f->total : -1;
        info->bits = f->bits;
        snprintf(info->container, sizeof info->container, "FLAC");
        snprintf(info->encoding, sizeof info->encoding, "PCM %d-bit", f->bits);
    }
    return f;
}

/* After the error callback: one more search decides between "truncated"
 * (nothing decodable follows) and "corrupt". */
static long fail(lathe_flac *f, long long at, lathe_error *err)
{
    if (f->nomem) return lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", f->path);
    if (f->changed)
        return lathe_error_set(err, LATHE_E_FORMAT,
                               "%s: read error at frame %lld: the channel count, sample width or "
                               "rate changes inside the stream",
                               f->path, at);
    f->probing = 1;
    for (;;) {
        if (!FLAC__stream_decoder_process_single(f->dec)) break;
        if (f->probe_hit || FLAC__stream_decoder_get_state(f->dec) >= FLAC__STREAM_DECODER_END_OF_STREAM)
            break;
    }
    f->probing = 0;
    f->eos = 1; /* no further reads after a failure */
    if (!f->probe_hit) {
        if (f->total > 0)
            return lathe_error_set(err, LATHE_E_FORMAT,
                                   "%s: truncated file (the header promises %lld frames, the data "
                                   "breaks off after %lld)",
                                   f->path, f->total, at);
        return lathe_error_set(err, LATHE_E_FORMAT,
                               "%s: truncated file (the data breaks off after frame %lld)", f->path,
                               at);
    }
    return lathe_error_set(err, LATHE_E_FORMAT, "%s: read error at frame %lld: corrupt FLAC data (%s)",
                           f->path, at, why_text(f->why));
}

long lathe_flac_read(lathe_flac *f, float *const *out, long n, lathe_error *err)
{
    return lathe_flac_read_z(f, out, n, 0, NULL, err);
}

long lathe_flac_read_z(lathe_flac *f, float *const *out, long n, int out_zero, int *silent,
                       lathe_error *err)
{
    long done = 0;
    f->all_silent = 1;
    f->dest_zero = out_zero;
    if (f->pend_len > 0 && n > 0) {
        long k = f->pend_len < n ? f->pend_len : n;
        if (!(f->pend_silent && out_zero))
            for (int c = 0; c < f->channels; c++)
                memcpy(out[c], f->pend[c] + f->pend_off, (size_t)k * sizeof(float));
        if (!f->pend_silent) f->all_silent = 0;
        f->pend_off += k, f->pend_len -= k, done = k;
    }
    while (done < n && !f->eos) {
        f->dest = out, f->dest_off = done, f->dest_room = n - done, f->written = 0;
        FLAC__bool ok = FLAC__stream_decoder_process_single(f->dec);
        f->dest = NULL;
        done += f->written;
        if (f->failed || f->changed || f->nomem) return fail(f, f->pos + done, err);
        FLAC__StreamDecoderState st = FLAC__stream_decoder_get_state(f->dec);
        if (st == FLAC__STREAM_DECODER_END_OF_STREAM) {
            f->eos = 1;
            if (f->total > 0 && f->pos + done < f->total)
                return lathe_error_set(err, LATHE_E_FORMAT,
                                       "%s: truncated file (the header promises %lld frames, the "
                                       "data ends after %lld)",
                                       f->path, f->total, f->pos + done);
        } else if (!ok || st > FLAC__STREAM_DECODER_END_OF_STREAM) {
            f->eos = 1;
            return lathe_error_set(err, LATHE_E_FORMAT, "%s: read error at frame %lld: %s",
                                   f->path, f->pos + done, FLAC__StreamDecoderStateString[st]);
        }
    }
    f->pos += done;
    if (silent) *silent = f->all_silent;
    return done;
}

lathe_status lathe_flac_seek(lathe_flac *f, long long frame, lathe_error *err)
{
    f->pend_len = f->pend_off = 0;
    f->eos = 0;
    if (f->total > 0 && frame == f->total) { /* the end: nothing to decode */
        f->eos = 1;
        f->pos = frame;
        return LATHE_OK;
    }
    if (frame < 0 || (f->total > 0 && frame > f->total) ||
        !FLAC__stream_decoder_seek_absolute(f->dec, (FLAC__uint64)frame) || f->failed ||
        f->changed || f->nomem) {
        if (FLAC__stream_decoder_get_state(f->dec) == FLAC__STREAM_DECODER_SEEK_ERROR)
            FLAC__stream_decoder_flush(f->dec);
        f->pend_len = f->pend_off = 0;
        f->failed = 0;
        return lathe_error_set(err, LATHE_E_IO, "%s: cannot seek to frame %lld", f->path, frame);
    }
    f->pos = frame;
    return LATHE_OK;
}

void lathe_flac_close(lathe_flac *f)
{
    if (!f) return;
    if (f->dec) FLAC__stream_decoder_delete(f->dec); /* finishes (closes the file) first */
    for (int c = 0; c < LATHE_MAX_CHANNELS; c++) free(f->pend[c]);
    free(f->path);
    free(f);
}
