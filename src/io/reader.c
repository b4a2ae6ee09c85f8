/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Reading audio files with libsndfile into planar float, block by block.
 *
 * Integer codecs (PCM, FLAC, ALAC, ...) are read as 32-bit integers and
 * scaled by 2^-31, so a b-bit sample s becomes exactly s / 2^(b-1): the
 * writer's inverse makes round trips bit-exact.  (libsndfile's own
 * int->float path divides by 0x8000 but multiplies back by 0x7FFF, which is
 * not.)  Float and lossy codecs are read as float and checked for NaN/Inf.
 * Native FLAC files (8/16/24-bit) go to io/flac.c, libFLAC directly: the same
 * samples with two copies and an interleave less. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sndfile.h>

#include "io/flac.h"
#include "io/reader_z.h"
#include "io/vio.h"
#include "lathe/io.h"

#define READ_BLOCK 4096

struct lathe_reader {
    SNDFILE *sf;
    lathe_vio io; /* what sf reads through (io/vio.h) */
    SF_INFO sfi;
    int int_path;
    long long pos; /* frames read so far (for error times) */
    char *path;
    void *buf; /* interleaved READ_BLOCK frames, int32 or float */
    lathe_flac *flac; /* native FLAC: decoded by io/flac.c (sf and buf unused) */
};

static int is_float_major(int sub)
{
    switch (sub) {
    case SF_FORMAT_FLOAT:
    case SF_FORMAT_DOUBLE:
    case SF_FORMAT_VORBIS:
    case SF_FORMAT_OPUS:
    case SF_FORMAT_MPEG_LAYER_I:
    case SF_FORMAT_MPEG_LAYER_II:
    case SF_FORMAT_MPEG_LAYER_III:
        return 1;
    default:
        return 0;
    }
}

static void describe(const SF_INFO *sfi, lathe_audio_info *info)
{
    int major = sfi->format & SF_FORMAT_TYPEMASK, sub = sfi->format & SF_FORMAT_SUBMASK;
    const char *c = "?";
    switch (major) {
    case SF_FORMAT_WAV: c = "WAV"; break;
    case SF_FORMAT_WAVEX: c = "WAV"; break;
    case SF_FORMAT_RF64: c = "RF64"; break;
    case SF_FORMAT_W64: c = "W64"; break;
    case SF_FORMAT_AIFF: c = "AIFF"; break;
    case SF_FORMAT_AU: c = "AU"; break;
    case SF_FORMAT_CAF: c = "CAF"; break;
    case SF_FORMAT_FLAC: c = "FLAC"; break;
    case SF_FORMAT_OGG: c = "OGG"; break;
    case SF_FORMAT_MPEG: c = "MPEG"; break;
    default: {
        SF_FORMAT_INFO fi = {.format = major};
        if (sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 && fi.extension)
            c = fi.extension;
    }
    }
    snprintf(info->container, sizeof info->container, "%s", c);
    int bits = 0;
    const char *e = NULL;
    switch (sub) {
    case SF_FORMAT_PCM_S8: case SF_FORMAT_PCM_U8: bits = 8; break;
    case SF_FORMAT_PCM_16: bits = 16; break;
    case SF_FORMAT_PCM_24: bits = 24; break;
    case SF_FORMAT_PCM_32: bits = 32; break;
    case SF_FORMAT_FLOAT: bits = 32, e = "FLOAT"; break;
    case SF_FORMAT_DOUBLE: bits = 64, e = "DOUBLE"; break;
    case SF_FORMAT_VORBIS: e = "VORBIS"; break;
    case SF_FORMAT_OPUS: e = "OPUS"; break;
    case SF_FORMAT_MPEG_LAYER_I: e = "MP1"; break;
    case SF_FORMAT_MPEG_LAYER_II: e = "MP2"; break;
    case SF_FORMAT_MPEG_LAYER_III: e = "MP3"; break;
    case SF_FORMAT_ALAC_16: bits = 16, e = "ALAC 16-bit"; break;
    case SF_FORMAT_ALAC_20: bits = 20, e = "ALAC 20-bit"; break;
    case SF_FORMAT_ALAC_24: bits = 24, e = "ALAC 24-bit"; break;
    case SF_FORMAT_ALAC_32: bits = 32, e = "ALAC 32-bit"; break;
    case SF_FORMAT_ULAW: bits = 8, e = "u-law"; break;
    case SF_FORMAT_ALAW: bits = 8, e = "A-law"; break;
    default: e = "encoded"; break;
    }
    info->bits = bits;
    info->is_float = sub == SF_FORMAT_FLOAT || sub == SF_FORMAT_DOUBLE;
    if (e)
        snprintf(info->encoding, sizeof info->encoding, "%s", e);
    else
        snprintf(info->encoding, sizeof info->encoding, "PCM %d-bit", bits);
}

/* libsndfile repairs a data chunk that claims more bytes than the file
 * holds and notes it in its log as "data : 192000 (should be 99956)".
 * Returns 1 and the two sizes when that happened. */
static int truncated(SNDFILE *sf, long long *claimed, long long *actual)
{
    char log[8192];
    sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
    for (char *line = log; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        long long a, b;
        if ((strncmp(line, "data", 4) == 0 || strncmp(line, "SSND", 4) == 0) &&
            sscanf(line + 4, " : %lld (should be %lld)", &a, &b) == 2 && b < a) {
            *claimed = a, *actual = b;
            return 1;
        }
        line = next;
    }
    return 0;
}

/* A data chunk whose size is too small (a placeholder of 0, a wrong count):
 * libsndfile reads only what the chunk claims and stops parsing at the
 * bytes after it ("Unknown chunk marker ... at position P"), so most of the
 * audio would be silently ignored.  Returns 1 with the claimed size and the
 * file's size when the unparsed rest is larger than the claimed audio. */
static int short_data_chunk(SNDFILE *sf, long long *claimed, long long *size)
{
    char log[8192];
    sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
    long long length = -1, data = -1;
    for (char *line = log; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        long long v;
        const char *at = strstr(line, "at position ");
        if (sscanf(line, "Length : %lld", &v) == 1) length = v;
        else if (strncmp(line, "data : ", 7) == 0 && !strstr(line, "should be") &&
                 sscanf(line + 7, "%lld", &v) == 1)
            data = v;
        else if (data >= 0 && length > 0 && at && sscanf(at + 12, "%lld", &v) == 1 &&
                 length - v > data) {
            *claimed = data, *size = length; /* where parsing stopped depends on the audio bytes */
            return 1;
        }
        line = next;
    }
    return 0;
}

static unsigned le16(const unsigned char *p) { return p[0] | (unsigned)p[1] << 8; }
static unsigned long le32(const unsigned char *p)
{
    return p[0] | (unsigned long)p[1] << 8 | (unsigned long)p[2] << 16 | (unsigned long)p[3] << 24;
}

/* libsndfile refused the file: say what is wrong in the user's terms.  A
 * file that starts like a WAV, AIFF, FLAC or Ogg file is a damaged one (its
 * "fmt " fields are named when they are the problem); anything else is not
 * audio. */
static void open_error(const char *path, long long size, lathe_error *err)
{
    unsigned char h[512];
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    if (f) n = fread(h, 1, sizeof h, f), fclose(f);
    const char *kind = NULL;
    if (n >= 12 && (!memcmp(h, "RIFF", 4) || !memcmp(h, "RF64", 4)) && !memcmp(h + 8, "WAVE", 4))
        kind = "WAV";
    else if (n >= 12 && !memcmp(h, "FORM", 4) && (!memcmp(h + 8, "AIFF", 4) || !memcmp(h + 8, "AIFC", 4)))
        kind = "AIFF";
    else if (n >= 4 && !memcmp(h, "fLaC", 4)) kind = "FLAC";
    else if (n >= 4 && !memcmp(h, "OggS", 4)) kind = "Ogg";
    else if (n >= 4 && (!memcmp(h, "RIFF", 4) || !memcmp(h, "RF64", 4) || !memcmp(h, "FORM", 4)))
        kind = !memcmp(h, "FORM", 4) ? "AIFF" : "WAV";
    if (kind && !strcmp(kind, "WAV")) {
        /* walk the chunks to "fmt " (within the bytes read) */
        for (size_t at = 12; at + 8 <= n;) {
            unsigned long len = le32(h + at + 4);
            if (!memcmp(h + at, "fmt ", 4) && len >= 16 && at + 24 <= n) {
                const unsigned char *fmt = h + at + 8;
                unsigned ch = le16(fmt + 2), bits = le16(fmt + 14);
                unsigned long rate = le32(fmt + 4);
                if (ch == 0) {
                    lathe_error_set(err, LATHE_E_FORMAT, "%s: 0 channels (lathe reads 1 to %d)", path,
                                    LATHE_MAX_CHANNELS);
                    return;
                }
                if (rate < 8000 || rate > 384000) {
                    lathe_error_set(err, LATHE_E_FORMAT,
                                    "%s: sample rate %lu Hz (lathe reads 8000 to 384000 Hz)", path, rate);
                    return;
                }
                if (bits == 0 || bits > 64) {
                    lathe_error_set(err, LATHE_E_FORMAT,
                                    "%s: damaged WAV header (%u bits per sample)", path, bits);
                    return;
                }
                break;
            }
            if (len > n) break;
            at += 8 + len + (len & 1);
        }
    }
    if (kind)
        lathe_error_set(err, LATHE_E_FORMAT,
                        "%s: damaged or truncated %s file (%lld bytes; libsndfile: %s)", path, kind,
                        size, sf_strerror(NULL));
    else
        lathe_error_set(err, LATHE_E_FORMAT,
                        "%s: not an audio file lathe can read (libsndfile: %s)", path,
                        sf_strerror(NULL));
}

static lathe_reader *open_flac(const char *path, lathe_audio_info *info, lathe_error *err)
{
    lathe_audio_info fi;
    lathe_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (!(r->flac = lathe_flac_open(path, &fi, err))) goto fail;
    if (fi.rate < 8000 || fi.rate > 384000) {
        lathe_error_set(err, LATHE_E_FORMAT,
                        "%s: sample rate %d Hz (lathe reads 8000 to 384000 Hz)", path,
                        (int)fi.rate);
        goto fail;
    }
    r->sfi.channels = fi.channels;
    r->sfi.samplerate = (int)fi.rate;
    if (info) *info = fi;
    return r;
fail:
    lathe_flac_close(r->flac);
    free(r->path);
    free(r);
    return NULL;
}

lathe_reader *lathe_reader_open(const char *path, lathe_audio_info *info, lathe_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            lathe_error_set(err, LATHE_E_IO, "%s: no such file", path);
        else
            lathe_error_set(err, LATHE_E_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        lathe_error_set(err, LATHE_E_IO, "%s: is a directory, not an audio file", path);
        return NULL;
    }
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
        lathe_error_set(err, LATHE_E_FORMAT, "%s: empty file", path);
        return NULL;
    }
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        lathe_error_set(err, LATHE_E_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    fclose(probe);
    if (lathe_flac_probe(path)) return open_flac(path, info, err);

    lathe_reader *r = calloc(1, sizeof *r);
    if (!r) {
        lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        lathe_error_set(err, LATHE_E_IO, "%s: %s", path, strerror(errno));
        free(r);
        return NULL;
    }
    lathe_vio_init(&r->io, f);
    r->sf = sf_open_virtual(&lathe_vio_read_io, SFM_READ, &r->sfi, &r->io);
    if (!r->sf) {
        open_error(path, (long long)st.st_size, err);
        lathe_vio_close(&r->io, 0);
        free(r);
        return NULL;
    }
    long long claimed, actual;
    if (truncated(r->sf, &claimed, &actual)) {
        lathe_error_set(err, LATHE_E_FORMAT,
                        "%s: truncated file (the header promises %lld bytes of audio, the file "
                        "holds %lld)",
                        path, claimed, actual);
        goto fail;
    }
    if (short_data_chunk(r->sf, &claimed, &actual)) {
        lathe_error_set(err, LATHE_E_FORMAT,
                        "%s: wrong data chunk size (the header says %lld bytes of audio, in a "
                        "file of %lld bytes)",
                        path, claimed, actual);
        goto fail;
    }
    if (r->sfi.channels < 1 || r->sfi.channels > LATHE_MAX_CHANNELS) {
        lathe_error_set(err, LATHE_E_FORMAT, "%s: %d channels (lathe reads 1 to %d)", path,
                        r->sfi.channels, LATHE_MAX_CHANNELS);
        goto fail;
    }
    if (r->sfi.samplerate < 8000 || r->sfi.samplerate > 384000) {
        lathe_error_set(err, LATHE_E_FORMAT,
                        "%s: sample rate %d Hz (lathe reads 8000 to 384000 Hz)", path,
                        r->sfi.samplerate);
        goto fail;
    }
    r->int_path = !is_float_major(r->sfi.format & SF_FORMAT_SUBMASK);
    r->path = strdup(path);
    r->buf = malloc((size_t)READ_BLOCK * (size_t)r->sfi.channels * 4);
    if (!r->path || !r->buf) {
        lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    /* Float files carry values beyond +-1 as they are: never clip on read. */
    sf_command(r->sf, SFC_SET_CLIPPING, NULL, SF_FALSE);
    if (info) {
        memset(info, 0, sizeof *info);
        info->rate = r->sfi.samplerate;
        info->channels = r->sfi.channels;
        /* libsndfile reports a huge or zero count for streams it cannot size. */
        info->frames = r->sfi.frames >= 0 && r->sfi.frames < (1LL << 50) ? r->sfi.frames : -1;
        describe(&r->sfi, info);
    }
    return r;
fail:
    sf_close(r->sf);
    lathe_vio_close(&r->io, 0);
    free(r->path);
    free(r->buf);
    free(r);
    return NULL;
}

static void format_time(char *buf, size_t len, double t)
{
    int m = (int)(t / 60.0);
    snprintf(buf, len, "%d:%06.3f", m, t - 60.0 * m);
}

/* A decoding error or an early end, at the frame where it happened: a file
 * whose header promised more frames is truncated or damaged. */
static long read_error(lathe_reader *r, long got, lathe_error *err)
{
    char t[32], why[256];
    long long at = r->pos + got;
    format_time(t, sizeof t, (double)at / r->sfi.samplerate);
    const char *e = sf_error(r->sf) != SF_ERR_NO_ERROR ? sf_strerror(r->sf) : "";
    if (!strncmp(e, "Error : ", 8)) e += 8; /* libsndfile's prefix says nothing */
    snprintf(why, sizeof why, "%s", e);
    size_t L = strlen(why);
    if (L && why[L - 1] == '.') why[L - 1] = '\0';
    if (r->sfi.frames > 0 && r->sfi.frames < (1LL << 50) && at < r->sfi.frames)
        return lathe_error_set(err, LATHE_E_FORMAT,
                               "%s: truncated or damaged file: the audio stops at %s (frame %lld of "
                               "the %lld the header promises)%s%s",
                               r->path, t, at, (long long)r->sfi.frames, *why ? ": " : "", why);
    return lathe_error_set(err, LATHE_E_FORMAT, "%s: damaged audio at %s (frame %lld)%s%s", r->path, t,
                           at, *why ? ": " : "", why);
}

long lathe_reader_read(lathe_reader *r, float *const *out, long n, lathe_error *err)
{
    const int ch = r->sfi.channels;
    long done = 0;
    /* every render reads through here: a cancelled one stops at its next block */
    if (lathe_cancel_requested()) return lathe_error_set(err, LATHE_E_CANCELLED, "interrupted");
    while (done < n) {
        /* FLAC decodes into `out` itself: one call for all n frames splits fewer
         * FLAC blocks across calls (their remainders are copied once more) */
        long want = n - done < READ_BLOCK || r->flac ? n - done : READ_BLOCK;
        sf_count_t got;
        if (r->flac) {
            float *o[LATHE_MAX_CHANNELS];
            for (int c = 0; c < ch; c++) o[c] = out[c] + done;
            got = lathe_flac_read(r->flac, o, want, err);
            if (got < 0) return (long)got;
        } else if (r->int_path) {
            const int *in = r->buf;
            got = sf_readf_int(r->sf, r->buf, want);
            const float scale = 1.0f / 2147483648.0f;
            for (int c = 0; c < ch; c++) {
                float *o = out[c] + done;
                for (sf_count_t i = 0; i < got; i++) o[i] = (float)in[i * ch + c] * scale;
            }
        } else {
            const float *in = r->buf;
            got = sf_readf_float(r->sf, r->buf, want);
            /* The NaN/Inf check costs one pass; it is what keeps NaN out of every processor. */
            for (sf_count_t i = 0; i < got * ch; i++) {
                if (!isfinite(in[i])) {
                    long long frame = r->pos + i / ch;
                    char t[32];
                    format_time(t, sizeof t, (double)frame / r->sfi.samplerate);
                    return lathe_error_set(err, LATHE_E_DATA,
                                           "%s: sample is %s at %s (frame %lld, channel %d)",
                                           r->path, isnan(in[i]) ? "NaN" : "infinite", t, frame,
                                           (int)(i % ch) + 1);
                }
            }
            for (int c = 0; c < ch; c++) {
                float *o = out[c] + done;
                for (sf_count_t i = 0; i < got; i++) o[i] = in[i * ch + c];
            }
        }
        if (!r->flac && (got < 0 || sf_error(r->sf) != SF_ERR_NO_ERROR))
            return read_error(r, got > 0 ? got : 0, err);
        r->pos += got;
        done += got;
        if (got < want) {
            /* FLAC's STREAMINFO counts the frames exactly: ending early is a cut file */
            if ((r->sfi.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_FLAC && r->sfi.frames > 0 &&
                r->pos < r->sfi.frames)
                return read_error(r, 0, err);
            break;
        }
    }
    return done;
}

long lathe_reader_read_z(lathe_reader *r, float *const *out, long n, int out_zero, int *silent,
                         lathe_error *err)
{
    if (silent) *silent = 0;
    /* anything but FLAC, and the cancellation check, as lathe_reader_read */
    if (!r->flac || n <= 0 || lathe_cancel_requested()) return lathe_reader_read(r, out, n, err);
    long got = lathe_flac_read_z(r->flac, out, n, out_zero, silent, err);
    if (got > 0) r->pos += got;
    return got;
}

lathe_status lathe_reader_seek(lathe_reader *r, long long frame, lathe_error *err)
{
    if (r->flac) {
        lathe_status st = lathe_flac_seek(r->flac, frame, err);
        if (st == LATHE_OK) r->pos = frame;
        return st;
    }
    if (sf_seek(r->sf, frame, SEEK_SET) < 0)
        return lathe_error_set(err, LATHE_E_IO, "%s: cannot seek to frame %lld", r->path, frame);
    r->pos = frame;
    return LATHE_OK;
}

const char *lathe_reader_path(const lathe_reader *r)
{
    return r->path;
}

void lathe_reader_close(lathe_reader *r)
{
    if (!r) return;
    if (r->sf) sf_close(r->sf);
    lathe_vio_close(&r->io, 0);
    lathe_flac_close(r->flac);
    free(r->path);
    free(r->buf);
    free(r);
}
