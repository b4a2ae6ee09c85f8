/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Track sources: decode, fold to at most two channels, resample, place.
 *
 * Folding: 1 channel stays mono; 2 stay stereo; 3+ are folded to stereo
 * (L += C * 0.7071 + Ls; R += C * 0.7071 + Rs, ITU-R BS.775 style, LFE
 * dropped) for 5/6-channel files, and averaged odd/even otherwise.
 * Resampling: libsoxr streaming at SOXR_VHQ when the file's rate differs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <soxr.h>

#include "engine/source.h"
#include "io/reader_z.h"

#define CHUNK 4096

struct lathe_source {
    lathe_reader *r;
    lathe_audio_info info;
    int ch;              /* output channels: 1 or 2 */
    long long start;     /* timeline frame of the file's first output frame (may be < 0) */
    long long length;    /* output frames (after resampling) */
    long long next;      /* the timeline frame the FIFO starts at */
    soxr_t soxr;
    float *in[LATHE_MAX_CHANNELS]; /* decoded chunk */
    float *inter_in, *inter_out;   /* interleaved for soxr */
    float *fifo[2];
    long fifo_len, fifo_cap;
    int eof;
    char *path;
};

static void fold(const lathe_audio_info *info, float *const *in, long n, float **out, int ch)
{
    int c = info->channels;
    if (c == ch) {
        for (int k = 0; k < ch; k++) memcpy(out[k], in[k], (size_t)n * sizeof(float));
        return;
    }
    const float h = 0.70710678f;
    for (long i = 0; i < n; i++) {
        float l, r;
        if (c == 5 || c == 6) {
            int ls = c == 5 ? 3 : 4, rs = ls + 1;
            l = in[0][i] + h * in[2][i] + in[ls][i];
            r = in[1][i] + h * in[2][i] + in[rs][i];
        } else {
            l = r = 0;
            for (int k = 0; k < c; k++) {
                if (k % 2) r += in[k][i];
                else l += in[k][i];
            }
            l /= (float)((c + 1) / 2), r /= (float)(c / 2);
        }
        out[0][i] = l, out[1][i] = r;
    }
}

lathe_source *lathe_source_open(const char *path, double rate, double start_s, int *channels,
                                double *end_s, lathe_error *err)
{
    lathe_source *s = calloc(1, sizeof *s);
    if (!s) {
        lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    s->r = lathe_reader_open(path, &s->info, err);
    if (!s->r) {
        free(s);
        return NULL;
    }
    s->path = strdup(path);
    s->ch = s->info.channels == 1 ? 1 : 2;
    s->start = llround(start_s * rate);
    double ratio = rate / s->info.rate;
    long long in_frames = s->info.frames;
    if (in_frames < 0) {
        /* unknown length (some streams): count once */
        float *tmp[LATHE_MAX_CHANNELS];
        for (int c = 0; c < s->info.channels; c++) tmp[c] = malloc(CHUNK * sizeof(float));
        long n;
        in_frames = 0;
        while ((n = lathe_reader_read(s->r, tmp, CHUNK, err)) > 0) in_frames += n;
        for (int c = 0; c < s->info.channels; c++) free(tmp[c]);
        if (n < 0 || lathe_reader_seek(s->r, 0, err) != LATHE_OK) goto fail;
    }
    s->length = llround((double)in_frames * ratio);
    for (int c = 0; c < s->info.channels; c++)
        if (!(s->in[c] = malloc(CHUNK * sizeof(float)))) goto nomem;
    s->fifo_cap = (long)(CHUNK * (ratio > 1 ? ratio : 1)) + 2 * CHUNK;
    for (int c = 0; c < s->ch; c++)
        if (!(s->fifo[c] = malloc((size_t)s->fifo_cap * sizeof(float)))) goto nomem;
    if (s->info.rate != rate) {
        soxr_error_t e;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
        s->soxr = soxr_create(s->info.rate, rate, (unsigned)s->ch, &e, &io, &q, NULL);
        if (!s->soxr) {
            lathe_error_set(err, LATHE_E_INVALID, "%s: cannot resample %g Hz to %g Hz: %s", path,
                            s->info.rate, rate, e);
            goto fail;
        }
        s->inter_in = malloc((size_t)CHUNK * 2 * sizeof(float));
        s->inter_out = malloc((size_t)s->fifo_cap * 2 * sizeof(float));
        if (!s->inter_in || !s->inter_out) goto nomem;
    }
    /* Skip what lies before the timeline's zero (negative start). */
    s->next = s->start;
    *channels = s->ch;
    *end_s = (double)(s->start + s->length) / rate;
    return s;
nomem:
    lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
fail:
    lathe_source_close(s);
    return NULL;
}

/* Decodes one chunk into the FIFO. */
static lathe_status refill(lathe_source *s, lathe_error *err)
{
    float *tmp[2];
    long n = 0;
    if (!s->eof) {
        n = lathe_reader_read(s->r, s->in, CHUNK, err);
        if (n < 0) return (lathe_status)n;
        if (n == 0) s->eof = 1;
    }
    if (!s->soxr) {
        if (n == 0) return LATHE_OK;
        for (int c = 0; c < s->ch; c++) tmp[c] = s->fifo[c] + s->fifo_len;
        fold(&s->info, s->in, n, tmp, s->ch);
        s->fifo_len += n;
        return LATHE_OK;
    }
    /* fold into the interleaved input, then resample */
    float l[CHUNK], r[CHUNK];
    tmp[0] = l, tmp[1] = r;
    if (n) fold(&s->info, s->in, n, tmp, s->ch);
    for (long i = 0; i < n; i++)
        for (int c = 0; c < s->ch; c++) s->inter_in[i * s->ch + c] = tmp[c][i];
    size_t done_in = 0, done_out = 0;
    size_t room = (size_t)(s->fifo_cap - s->fifo_len);
    soxr_error_t e = soxr_process(s->soxr, n ? s->inter_in : NULL, (size_t)n, &done_in,
                                  s->inter_out, room, &done_out);
    if (e) return lathe_error_set(err, LATHE_E_IO, "%s: resampling failed: %s", s->path, e);
    for (size_t i = 0; i < done_out; i++)
        for (int c = 0; c < s->ch; c++) s->fifo[c][s->fifo_len + (long)i] = s->inter_out[i * s->ch + c];
    s->fifo_len += (long)done_out;
    return LATHE_OK;
}

/* The direct path (the file's rate and channel count are the timeline's):
 * the reader decodes straight into the caller's buffer, no FIFO, no copies.
 * Only what the file does not cover is zeroed (nothing when out_zero says
 * out holds zeros already). s->next is the timeline frame of the file's next
 * frame. *is_zero: the whole block is known to be zeros. */
static lathe_status read_direct(lathe_source *s, long long pos, float *const *out, int n,
                                int out_zero, int *is_zero, lathe_error *err)
{
    int silent = 1;
    long long end = s->start + s->length;
    long long from = pos > s->start ? pos : s->start, to = pos + n < end ? pos + n : end;
    long got = 0;
    if (from < to) {
        /* frames before `from` that the file has not given yet (a negative start, or a
         * caller that skipped ahead) are decoded and dropped */
        while (!s->eof && s->next < from) {
            long want = from - s->next < CHUNK ? (long)(from - s->next) : CHUNK;
            long k = lathe_reader_read(s->r, s->in, want, err);
            if (k < 0) return (lathe_status)k;
            if (k < want) s->eof = 1;
            s->next += k;
        }
        if (!s->eof && s->next == from) {
            float *o[2] = {out[0] + (from - pos), s->ch > 1 ? out[1] + (from - pos) : NULL};
            got = lathe_reader_read_z(s->r, o, (long)(to - from), out_zero, &silent, err);
            if (got < 0) return (lathe_status)got;
            if (got < to - from) s->eof = 1; /* shorter than the header said: silence on */
            s->next += got;
        }
    }
    /* zero what lies outside [from, from + got) */
    long head = from > pos ? (long)(from - pos) : 0;
    if (head > n || from >= to) head = n;
    long tail_at = head + got;
    for (int c = 0; c < s->ch && !out_zero; c++) {
        if (head) memset(out[c], 0, (size_t)head * sizeof(float));
        if (tail_at < n) memset(out[c] + tail_at, 0, (size_t)(n - tail_at) * sizeof(float));
    }
    *is_zero = !got || silent;
    return LATHE_OK;
}

lathe_status lathe_source_read(lathe_source *s, long long pos, float *const *out, int n,
                               int out_zero, int *is_zero, lathe_error *err)
{
    *is_zero = 0;
    if (!s->soxr && s->info.channels == s->ch)
        return read_direct(s, pos, out, n, out_zero, is_zero, err);
    for (int c = 0; c < s->ch; c++) memset(out[c], 0, (size_t)n * sizeof(float));
    long long end = s->start + s->length;
    if (pos + n <= s->start || pos >= end) return LATHE_OK;
    /* Produce FIFO frames until it covers [pos, pos + n) or the file ends. */
    long long want_to = pos + n < end ? pos + n : end;
    while (s->next + s->fifo_len < want_to) {
        long before = s->fifo_len;
        int was_eof = s->eof;
        lathe_status st = refill(s, err);
        if (st != LATHE_OK) return st;
        if (s->fifo_len == before && was_eof) break; /* flushed dry */
        /* Drop frames before pos (and before timeline zero) to keep the FIFO small. */
        if (s->next < pos) {
            long drop = (long)((pos - s->next) < s->fifo_len ? (pos - s->next) : s->fifo_len);
            for (int c = 0; c < s->ch; c++)
                memmove(s->fifo[c], s->fifo[c] + drop, (size_t)(s->fifo_len - drop) * sizeof(float));
            s->fifo_len -= drop;
            s->next += drop;
        }
    }
    long long from = pos > s->next ? pos : s->next;
    long long to = want_to < s->next + s->fifo_len ? want_to : s->next + s->fifo_len;
    for (long long t = from; t < to; t++)
        for (int c = 0; c < s->ch; c++) out[c][t - pos] = s->fifo[c][t - s->next];
    /* consume what was delivered */
    long drop = (long)(to - s->next);
    if (drop > 0) {
        for (int c = 0; c < s->ch; c++)
            memmove(s->fifo[c], s->fifo[c] + drop, (size_t)(s->fifo_len - drop) * sizeof(float));
        s->fifo_len -= drop;
        s->next += drop;
    }
    return LATHE_OK;
}

void lathe_source_close(lathe_source *s)
{
    if (!s) return;
    lathe_reader_close(s->r);
    if (s->soxr) soxr_delete(s->soxr);
    for (int c = 0; c < LATHE_MAX_CHANNELS; c++) free(s->in[c]);
    for (int c = 0; c < 2; c++) free(s->fifo[c]);
    free(s->inter_in);
    free(s->inter_out);
    free(s->path);
    free(s);
}
