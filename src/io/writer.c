/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Writing audio files safely: a temporary file in the target's folder,
 * renamed into place only when complete, so nothing half-written ever sits
 * under the final name.  WAV is written as RF64 with libsndfile's automatic
 * downgrade, so files under 4 GB are plain WAV and larger ones RF64.
 *
 * Integer output: x * 2^(bits-1), rounded to nearest, clipped; passed to
 * libsndfile as left-justified 32-bit integers (the exact inverse of the
 * reader's scaling, so read-then-write is bit-exact).
 *
 * Lossy outputs go through libsndfile 1.2's encoders: MP3 (SF_FORMAT_MPEG |
 * SF_FORMAT_MPEG_LAYER_III, LAME), Ogg Vorbis and Ogg Opus, fed float.
 * libsndfile maps SFC_SET_COMPRESSION_LEVEL c (0 = best) per codec:
 *   MP3 CBR (SF_BITRATE_MODE_CONSTANT): bitrate = 320 - c * 288 kbps at
 *     32 kHz and up (so 320 kbps is c = 0); VBR: LAME VBR quality 10 c
 *     (V0 is c = 0);
 *   Vorbis: quality 1 - c;
 *   Opus: bitrate = ((1 - c) * 250000 + 6000) * channels bit/s.
 * The mapping is inverted here so that the settings are in the units a
 * mastering engineer knows (kbps, V0, Vorbis quality). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "lathe/io.h"
#include "io/ogg.h"
#include "io/vio.h"

#define WRITE_BLOCK 4096

struct lathe_writer {
    SNDFILE *sf;
    lathe_vio io; /* what sf writes through (io/vio.h) */
    int scratch; /* a temporary file of lathe's own: not synced to the disk */
    int channels, bits, is_float, lossy;
    int ogg; /* Ogg Vorbis/Opus: the serial is made deterministic at commit (ogg.c) */
    long long clipped;
    char *path, *tmp;
    void *buf;
};

lathe_file_type lathe_file_type_from_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return LATHE_FILE_AUTO;
    if (strcasecmp(dot, ".wav") == 0 || strcasecmp(dot, ".rf64") == 0 ||
        strcasecmp(dot, ".bwf") == 0)
        return LATHE_FILE_WAV;
    if (strcasecmp(dot, ".flac") == 0) return LATHE_FILE_FLAC;
    if (strcasecmp(dot, ".aif") == 0 || strcasecmp(dot, ".aiff") == 0) return LATHE_FILE_AIFF;
    if (strcasecmp(dot, ".mp3") == 0) return LATHE_FILE_MP3;
    if (strcasecmp(dot, ".ogg") == 0 || strcasecmp(dot, ".oga") == 0) return LATHE_FILE_OGG;
    if (strcasecmp(dot, ".opus") == 0) return LATHE_FILE_OPUS;
    return LATHE_FILE_AUTO;
}

lathe_file_type lathe_file_type_from_name(const char *name)
{
    static const struct {
        const char *name;
        lathe_file_type t;
    } names[] = {{"wav", LATHE_FILE_WAV},   {"rf64", LATHE_FILE_WAV}, {"bwf", LATHE_FILE_WAV},
                 {"flac", LATHE_FILE_FLAC}, {"aiff", LATHE_FILE_AIFF}, {"aif", LATHE_FILE_AIFF},
                 {"mp3", LATHE_FILE_MP3},   {"ogg", LATHE_FILE_OGG},   {"vorbis", LATHE_FILE_OGG},
                 {"opus", LATHE_FILE_OPUS}};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) return names[i].t;
    return LATHE_FILE_AUTO;
}

const char *lathe_file_type_name(lathe_file_type t)
{
    switch (t) {
    case LATHE_FILE_WAV: return "wav";
    case LATHE_FILE_FLAC: return "flac";
    case LATHE_FILE_AIFF: return "aiff";
    case LATHE_FILE_MP3: return "mp3";
    case LATHE_FILE_OGG: return "ogg";
    case LATHE_FILE_OPUS: return "opus";
    default: return "";
    }
}

const char *lathe_file_type_ext(lathe_file_type t)
{
    switch (t) {
    case LATHE_FILE_WAV: return ".wav";
    case LATHE_FILE_FLAC: return ".flac";
    case LATHE_FILE_AIFF: return ".aiff";
    case LATHE_FILE_MP3: return ".mp3";
    case LATHE_FILE_OGG: return ".ogg";
    case LATHE_FILE_OPUS: return ".opus";
    default: return "";
    }
}

int lathe_file_type_lossy(lathe_file_type t)
{
    return t == LATHE_FILE_MP3 || t == LATHE_FILE_OGG || t == LATHE_FILE_OPUS;
}

/* Applies the encoder settings (before the first write). */
static lathe_status set_codec(lathe_writer *w, const char *path, lathe_file_type type, int rate,
                              const lathe_codec_options *co, lathe_error *err)
{
    lathe_codec_options d = {0};
    if (!co) co = &d;
    double level;
    if (type == LATHE_FILE_MP3) {
        int mode = co->vbr ? SF_BITRATE_MODE_VARIABLE : SF_BITRATE_MODE_CONSTANT;
        if (co->vbr) {
            if (co->vbr_quality < 0 || co->vbr_quality > 9)
                return lathe_error_set(err, LATHE_E_INVALID, "%s: MP3 VBR quality is V0 to V9, not V%d",
                                       path, co->vbr_quality);
            level = co->vbr_quality / 10.0;
        } else {
            int kbps = co->bitrate_kbps ? co->bitrate_kbps : 320;
            if (kbps < 32 || kbps > 320)
                return lathe_error_set(err, LATHE_E_INVALID, "%s: MP3 bitrate is 32 to 320 kbps, not %d",
                                       path, kbps);
            if (rate < 32000)
                return lathe_error_set(err, LATHE_E_INVALID,
                                       "%s: MP3 CBR needs 32 kHz or more (MPEG-1), not %d Hz", path, rate);
            level = (320.0 - kbps) / 288.0;
        }
        /* the level first: a mode change re-applies the level, and fails while
         * none is set */
        if (sf_command(w->sf, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level) != SF_TRUE ||
            sf_command(w->sf, SFC_SET_BITRATE_MODE, &mode, sizeof mode) != SF_TRUE)
            return lathe_error_set(err, LATHE_E_INVALID, "%s: the MP3 encoder refused its settings", path);
    } else if (type == LATHE_FILE_OGG) {
        double q = co->quality > 0 ? co->quality : 0.8;
        if (q > 1) return lathe_error_set(err, LATHE_E_INVALID, "%s: Vorbis quality is 0 to 1, not %g", path, q);
        level = 1.0 - q;
        if (sf_command(w->sf, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level) != SF_TRUE)
            return lathe_error_set(err, LATHE_E_INVALID, "%s: the Vorbis encoder refused quality %g", path, q);
    } else if (type == LATHE_FILE_OPUS) {
        double per = co->bitrate_kbps ? (double)co->bitrate_kbps / w->channels : 80.0;
        if (per < 6 || per > 256)
            return lathe_error_set(err, LATHE_E_INVALID,
                                   "%s: Opus takes 6 to 256 kbps per channel, not %.0f", path, per);
        level = 1.0 - (per * 1000.0 - 6000.0) / 250000.0;
        if (sf_command(w->sf, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level) != SF_TRUE)
            return lathe_error_set(err, LATHE_E_INVALID, "%s: the Opus encoder refused %.0f kbps", path,
                                   per * w->channels);
    }
    return LATHE_OK;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

lathe_status lathe_output_check(const char *out, const char *const *inputs, int ninputs,
                                int overwrite, lathe_error *err)
{
    struct stat so;
    int exists = stat(out, &so) == 0;
    for (int i = 0; i < ninputs; i++) {
        struct stat si;
        int same = strcmp(out, inputs[i]) == 0;
        if (!same && exists && stat(inputs[i], &si) == 0)
            same = si.st_dev == so.st_dev && si.st_ino == so.st_ino;
        if (same)
            return lathe_error_set(err, LATHE_E_SAME,
                                   "%s: output is the input file; lathe never overwrites an input",
                                   out);
    }
    if (exists && S_ISDIR(so.st_mode))
        return lathe_error_set(err, LATHE_E_CREATE, "%s: is a directory", out);
    if (exists && !overwrite)
        return lathe_error_set(err, LATHE_E_EXISTS,
                               "%s: exists (use --force to overwrite it)", out);
    /* the folder, checked before any work (a render would fail only at its end) */
    char *dir = dir_of(out);
    struct stat sd;
    lathe_status st = LATHE_OK;
    if (!dir)
        st = lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", out);
    else if (stat(dir, &sd) != 0 || !S_ISDIR(sd.st_mode))
        st = lathe_error_set(err, LATHE_E_CREATE, "%s: folder %s does not exist", out, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        st = lathe_error_set(err, LATHE_E_CREATE, "%s: folder %s is not writable", out, dir);
    free(dir);
    return st;
}


lathe_writer *lathe_writer_open(const char *path, const lathe_writer_spec *spec,
                                lathe_error *err)
{
    return lathe_writer_open_codec(path, spec, NULL, err);
}

lathe_writer *lathe_writer_open_codec(const char *path, const lathe_writer_spec *spec,
                                      const lathe_codec_options *codec, lathe_error *err)
{
    lathe_file_type type = spec->type ? spec->type : lathe_file_type_from_path(path);
    if (type == LATHE_FILE_AUTO) {
        lathe_error_set(err, LATHE_E_INVALID,
                        "%s: unknown output format (use .wav, .flac, .aiff, .mp3, .ogg or .opus)", path);
        return NULL;
    }
    if (spec->channels < 1 || spec->channels > LATHE_MAX_CHANNELS || spec->rate < 1) {
        lathe_error_set(err, LATHE_E_INVALID, "%s: bad channel count or rate", path);
        return NULL;
    }
    const int lossy = lathe_file_type_lossy(type);
    if (type == LATHE_FILE_OPUS) {
        long r = lrint(spec->rate);
        if (r != 8000 && r != 12000 && r != 16000 && r != 24000 && r != 48000) {
            lathe_error_set(err, LATHE_E_INVALID,
                            "%s: Opus runs at 8, 12, 16, 24 or 48 kHz, not %ld Hz (resample to 48 kHz)",
                            path, r);
            return NULL;
        }
    }
    if (type == LATHE_FILE_MP3 && spec->channels > 2) {
        lathe_error_set(err, LATHE_E_INVALID, "%s: MP3 holds 1 or 2 channels, not %d", path,
                        spec->channels);
        return NULL;
    }
    lathe_sample_type sample = lossy ? LATHE_SAMPLE_FLOAT32 : spec->sample;
    if (sample == LATHE_SAMPLE_AUTO)
        sample = type == LATHE_FILE_WAV ? LATHE_SAMPLE_FLOAT32 : LATHE_SAMPLE_PCM24;
    if (type == LATHE_FILE_FLAC && sample == LATHE_SAMPLE_FLOAT32) {
        lathe_error_set(err, LATHE_E_INVALID, "%s: FLAC holds 16 or 24-bit integers, not float",
                        path);
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) == 0 && !spec->overwrite) {
        lathe_error_set(err, LATHE_E_EXISTS, "%s: exists (use --force to overwrite it)", path);
        return NULL;
    }
    char *dir = dir_of(path);
    struct stat sd;
    if (!dir || stat(dir, &sd) != 0 || !S_ISDIR(sd.st_mode)) {
        lathe_error_set(err, LATHE_E_CREATE, "%s: folder %s does not exist", path, dir ? dir : "?");
        free(dir);
        return NULL;
    }

    lathe_writer *w = calloc(1, sizeof *w);
    if (!w) {
        free(dir);
        lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    w->channels = spec->channels;
    w->bits = sample == LATHE_SAMPLE_PCM16 ? 16 : sample == LATHE_SAMPLE_PCM24 ? 24 : 32;
    w->is_float = sample == LATHE_SAMPLE_FLOAT32;
    w->lossy = lossy;
    w->ogg = type == LATHE_FILE_OGG || type == LATHE_FILE_OPUS;
    if (lossy) w->bits = 0;
    w->path = strdup(path);
    /* The temporary name: hidden, beside the target, unique. */
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t tlen = strlen(dir) + strlen(base) + 32;
    w->tmp = malloc(tlen);
    w->buf = malloc((size_t)WRITE_BLOCK * (size_t)spec->channels * 4);
    if (!w->path || !w->tmp || !w->buf) {
        free(dir);
        lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
        lathe_writer_abort(w);
        return NULL;
    }
    snprintf(w->tmp, tlen, "%s/.%s.lathe-XXXXXX", dir, base);
    free(dir);
    int fd = mkstemp(w->tmp);
    if (fd < 0) {
        lathe_error_set(err, LATHE_E_CREATE, "%s: cannot create a file in its folder: %s", path,
                        strerror(errno));
        free(w->tmp);
        w->tmp = NULL;
        lathe_writer_abort(w);
        return NULL;
    }
    fchmod(fd, 0644); /* mkstemp makes 0600; an audio file is for sharing */

    SF_INFO sfi = {0};
    sfi.samplerate = (int)lrint(spec->rate);
    sfi.channels = spec->channels;
    int sub = sample == LATHE_SAMPLE_PCM16   ? SF_FORMAT_PCM_16
              : sample == LATHE_SAMPLE_PCM24 ? SF_FORMAT_PCM_24
                                             : SF_FORMAT_FLOAT;
    int major = type == LATHE_FILE_WAV    ? SF_FORMAT_RF64
                : type == LATHE_FILE_FLAC ? SF_FORMAT_FLAC
                : type == LATHE_FILE_AIFF ? SF_FORMAT_AIFF
                : type == LATHE_FILE_MP3  ? SF_FORMAT_MPEG
                                          : SF_FORMAT_OGG;
    if (type == LATHE_FILE_MP3) sub = SF_FORMAT_MPEG_LAYER_III;
    if (type == LATHE_FILE_OGG) sub = SF_FORMAT_VORBIS;
    if (type == LATHE_FILE_OPUS) sub = SF_FORMAT_OPUS;
    sfi.format = major | sub;
    if (!sf_format_check(&sfi)) {
        close(fd);
        lathe_error_set(err, LATHE_E_INVALID, "%s: this format cannot hold %d channels at %d Hz",
                        path, sfi.channels, sfi.samplerate);
        lathe_writer_abort(w);
        return NULL;
    }
    FILE *f = fdopen(fd, "w+b");
    if (!f) {
        close(fd);
        lathe_error_set(err, LATHE_E_IO, "%s: cannot write: %s", path, strerror(errno));
        lathe_writer_abort(w);
        return NULL;
    }
    lathe_vio_init(&w->io, f);
    w->sf = sf_open_virtual(&lathe_vio_write_io, SFM_WRITE, &sfi, &w->io);
    if (!w->sf) {
        lathe_error_set(err, LATHE_E_IO, "%s: cannot write: %s", path, sf_strerror(NULL));
        lathe_writer_abort(w);
        return NULL;
    }
    if (major == SF_FORMAT_RF64) sf_command(w->sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
    if (lossy && set_codec(w, path, type, sfi.samplerate, codec, err) != LATHE_OK) {
        lathe_writer_abort(w);
        return NULL;
    }
    return w;
}

/* The system's reason when there is one ("No space left on device", "File
 * too large" under a size limit), else libsndfile's without its prefix. */
static lathe_status write_failed(const lathe_writer *w, lathe_error *err)
{
    int e = w->io.err ? w->io.err : errno;
    const char *why = sf_strerror(w->sf);
    if (e == ENOSPC || e == EFBIG || e == EDQUOT || e == EIO || e == EROFS) why = strerror(e);
    else if (!strncmp(why, "System error : ", 15)) why += 15;
    return lathe_error_set(err, LATHE_E_IO, "%s: write failed: %s", w->path, why);
}

lathe_status lathe_writer_write(lathe_writer *w, const float *const *in, long n, lathe_error *err)
{
    const int ch = w->channels;
    /* every render writes through here: a cancelled one fails, and its error
     * path aborts the writer, which unlinks the temporary file */
    if (lathe_cancel_requested()) return lathe_error_set(err, LATHE_E_CANCELLED, "interrupted");
    for (long off = 0; off < n;) {
        long m = n - off < WRITE_BLOCK ? n - off : WRITE_BLOCK;
        sf_count_t put;
        if (w->is_float) {
            float *o = w->buf;
            if (ch == 2) {
                const float *x0 = in[0] + off, *x1 = in[1] + off;
                for (long i = 0; i < m; i++) o[2 * i] = x0[i], o[2 * i + 1] = x1[i];
            } else {
                for (int c = 0; c < ch; c++)
                    for (long i = 0; i < m; i++) o[i * ch + c] = in[c][off + i];
            }
            if (w->lossy) {
                /* decoders clip at full scale: count what they will clip */
                long long clipped = 0;
                for (long i = 0; i < m * ch; i++) clipped += fabsf(o[i]) > 1.0f;
                w->clipped += clipped;
            }
            put = sf_writef_float(w->sf, o, m);
        } else {
            int *o = w->buf;
            const double scale = w->bits == 16 ? 32768.0 : 8388608.0;
            const double hi = scale - 1.0, lo = -scale;
            /* Round to nearest, ties to even, without a libm call: adding and
             * subtracting 1.5 * 2^52 leaves the nearest integer (exact for
             * |v| < 2^51; larger values are clipped first). */
            const double magic = 6755399441055744.0;
            const double mult = w->bits == 16 ? 65536.0 : 256.0; /* left-justify to 32 bits */
            long long clipped = 0;
#define LATHE_WR_CONVERT(x, dst)                                                                   \
    do {                                                                                           \
        double v = (double)(x) * scale;                                                            \
        clipped += (v >= hi + 0.5) | (v < lo - 0.5); /* what rounding clips */                    \
        v = v > hi ? hi : v < lo ? lo : v;                                                         \
        v = (v + magic) - magic;                                                                   \
        (dst) = (int)(v * mult);                                                                   \
    } while (0)
            if (ch == 2) {
                /* stereo, the common case: both channels in one pass (vectorises) */
                const float *x0 = in[0] + off, *x1 = in[1] + off;
                int clip2 = 0; /* m <= WRITE_BLOCK */
                for (int i = 0; i < (int)m; i++) {
                    double v0 = (double)x0[i] * scale, v1 = (double)x1[i] * scale;
                    clip2 += ((v0 >= hi + 0.5) | (v0 < lo - 0.5)) + ((v1 >= hi + 0.5) | (v1 < lo - 0.5));
                    v0 = v0 > hi ? hi : v0 < lo ? lo : v0;
                    v1 = v1 > hi ? hi : v1 < lo ? lo : v1;
                    v0 = (v0 + magic) - magic;
                    v1 = (v1 + magic) - magic;
                    o[2 * i] = (int)(v0 * mult);
                    o[2 * i + 1] = (int)(v1 * mult);
                }
                clipped += clip2;
            } else {
                for (int c = 0; c < ch; c++) {
                    const float *x = in[c] + off;
                    for (long i = 0; i < m; i++) LATHE_WR_CONVERT(x[i], o[i * ch + c]);
                }
            }
#undef LATHE_WR_CONVERT
            w->clipped += clipped;
            put = sf_writef_int(w->sf, o, m);
        }
        if (put != m || w->io.err) return write_failed(w, err); /* io.err: a buffered write failed */
        off += m;
    }
    return LATHE_OK;
}

long long lathe_writer_clipped(const lathe_writer *w)
{
    return w->clipped;
}

const char *lathe_writer_temp_path(const lathe_writer *w)
{
    return w->tmp;
}

static void writer_free(lathe_writer *w)
{
    free(w->path);
    free(w->tmp);
    free(w->buf);
    free(w);
}

/* Finishing failed (the last blocks or the header did not reach the disk). */
static lathe_status commit_failed(const lathe_writer *w, lathe_error *err)
{
    int e = errno;
    return lathe_error_set(err, LATHE_E_IO, "%s: write failed: %s", w->path,
                           e == ENOSPC || e == EFBIG || e == EDQUOT || e == EIO || e == EROFS
                               ? strerror(e)
                               : "the file could not be finished (disk full?)");
}

/* Closes sf and the stream under it: the last buffered bytes written, and
 * (unless scratch) synced to the disk, so that a file renamed into place is
 * whole on the disk too. Returns 0, or -1 with errno set. */
static int finish(lathe_writer *w)
{
    int sferr = sf_error(w->sf);
    int bad = sf_close(w->sf) != 0 || sferr != SF_ERR_NO_ERROR;
    w->sf = NULL;
    int e = errno;
    if (lathe_vio_close(&w->io, !bad && !w->scratch) != 0) return -1; /* errno: the first failure */
    errno = e;
    return bad ? -1 : 0;
}

void lathe_writer_set_scratch(lathe_writer *w)
{
    w->scratch = 1;
}

lathe_status lathe_writer_commit(lathe_writer *w, lathe_error *err)
{
    lathe_status st = LATHE_OK;
    if (finish(w) != 0) {
        st = commit_failed(w, err);
    } else if (w->ogg && (st = lathe_ogg_fix_serial(w->tmp, w->path, err)) != LATHE_OK) {
        /* st and err set */
    } else if (rename(w->tmp, w->path) != 0) {
        st = lathe_error_set(err, LATHE_E_IO, "%s: cannot move the finished file into place: %s",
                             w->path, strerror(errno));
    }
    w->sf = NULL;
    if (st != LATHE_OK) unlink(w->tmp);
    writer_free(w);
    return st;
}

lathe_status lathe_writer_commit_tagged(lathe_writer *w, const lathe_meta *m, lathe_error *err)
{
    if (lathe_meta_empty(m)) return lathe_writer_commit(w, err);
    lathe_status st = LATHE_OK;
    if (finish(w) != 0) st = commit_failed(w, err);
    if (st == LATHE_OK && w->ogg) st = lathe_ogg_fix_serial(w->tmp, w->path, err);
    if (st == LATHE_OK) st = lathe_tags_write_named(w->tmp, w->path, m, err);
    if (st == LATHE_OK && rename(w->tmp, w->path) != 0)
        st = lathe_error_set(err, LATHE_E_IO, "%s: cannot move the finished file into place: %s",
                             w->path, strerror(errno));
    if (st != LATHE_OK) unlink(w->tmp);
    writer_free(w);
    return st;
}

void lathe_writer_abort(lathe_writer *w)
{
    if (!w) return;
    if (w->sf) sf_close(w->sf);
    lathe_vio_close(&w->io, 0);
    if (w->tmp) unlink(w->tmp);
    writer_free(w);
}
