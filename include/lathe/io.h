/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/io.h: reading and writing audio files, block by block, as planar
 * float.  Reading covers every format libsndfile reads (WAV/RF64/BWF, AIFF,
 * FLAC, Ogg Vorbis, Opus, MP3, ...), 1 to 8 channels, 8 kHz to 384 kHz.
 * Writing (WAV/RF64, FLAC, AIFF, and the lossy MP3, Ogg Vorbis and Opus)
 * goes to a temporary file beside the target, renamed into place by
 * lathe_writer_commit (or lathe_writer_commit_tagged, which writes the tags
 * first); lathe_writer_abort leaves nothing behind.
 *
 * Conventions: frame counts are per channel; buffers are planar
 * (buf[channel][frame]); integer samples map to float as s / 2^(bits-1), so
 * writing what was read is bit-exact for 16- and 24-bit PCM and FLAC. */
#ifndef LATHE_IO_H
#define LATHE_IO_H

#include <stdio.h>

#include "lathe/error.h"
#include "lathe/meta.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LATHE_MAX_CHANNELS 8

typedef struct {
    double rate;
    int channels;
    long long frames; /* per channel; -1 when the container does not say */
    int bits;         /* 8..32 for integer PCM/FLAC, 32/64 for float, 0 for lossy */
    int is_float;     /* float or double samples */
    char container[16]; /* "WAV", "RF64", "AIFF", "FLAC", "OGG", "MPEG", ... */
    char encoding[24];  /* "PCM 16-bit", "FLOAT", "VORBIS", "OPUS", "MP3", ... */
} lathe_audio_info;

typedef struct lathe_reader lathe_reader;

/* Opens `path` for reading and fills *info. Errors (in err, prefixed by the
 * path): no such file, is a directory, empty file, not an audio file,
 * truncated file, unsupported channel count or rate.
 * Returns NULL on failure. The caller owns the reader: lathe_reader_close. */
lathe_reader *lathe_reader_open(const char *path, lathe_audio_info *info, lathe_error *err);

/* Reads up to n frames into out[0..channels-1]; returns the frames read
 * (0 at the end) or a negative lathe_status with err filled. Float files are
 * checked: a NaN or Inf sample is LATHE_E_DATA, naming the time of the first
 * bad frame. After lathe_cancel_request (lathe/error.h): LATHE_E_CANCELLED. */
long lathe_reader_read(lathe_reader *r, float *const *out, long n, lathe_error *err);

/* Moves to `frame`; LATHE_E_IO if the file cannot seek. */
lathe_status lathe_reader_seek(lathe_reader *r, long long frame, lathe_error *err);

const char *lathe_reader_path(const lathe_reader *r);
void lathe_reader_close(lathe_reader *r); /* NULL-safe */

/* ---- writing ---- */

typedef enum {
    LATHE_FILE_AUTO = 0, /* from the extension */
    LATHE_FILE_WAV,      /* RF64 automatically past 4 GB */
    LATHE_FILE_FLAC,
    LATHE_FILE_AIFF,
    LATHE_FILE_MP3,  /* MPEG-1/2 Layer III (LAME via libsndfile 1.1+); default CBR 320 kbps */
    LATHE_FILE_OGG,  /* Ogg Vorbis; default quality 0.8 (about 256 kbps stereo) */
    LATHE_FILE_OPUS  /* Ogg Opus at 8, 12, 16, 24 or 48 kHz; default 160 kbps stereo VBR */
} lathe_file_type;

typedef enum {
    LATHE_SAMPLE_AUTO = 0, /* the type's default: WAV float32, FLAC 24 */
    LATHE_SAMPLE_PCM16,
    LATHE_SAMPLE_PCM24,
    LATHE_SAMPLE_FLOAT32
} lathe_sample_type;

typedef struct {
    lathe_file_type type;
    lathe_sample_type sample;
    double rate;
    int channels;
    int overwrite; /* replace an existing file (--force) */
} lathe_writer_spec;

typedef struct lathe_writer lathe_writer;

/* Encoder settings of the lossy types (ignored by the others). Zero
 * everywhere (or NULL) is each type's default. */
typedef struct {
    int vbr;          /* MP3: 1 = VBR (LAME -V`mp3_vbr_quality`), 0 = CBR */
    int vbr_quality;  /* MP3 VBR quality 0 (V0, the best) .. 9 */
    int bitrate_kbps; /* MP3 CBR: 32..320 (default 320); Opus: total for all channels,
                         6..256 per channel (default 80 per channel) */
    double quality;   /* Ogg Vorbis quality 0.0..1.0 (libvorbis -q 0..10 / 10); 0 = 0.8 */
} lathe_codec_options;

/* Checks that `out` may be written: it is not one of the inputs (same file,
 * by device and inode, or the same path), unless overwrite does not exist,
 * and its folder exists and is writable. Errors: LATHE_E_SAME,
 * LATHE_E_EXISTS, LATHE_E_CREATE (folder missing or not writable, or out is
 * a folder). */
lathe_status lathe_output_check(const char *out, const char *const *inputs, int ninputs,
                                int overwrite, lathe_error *err);

/* Creates a temporary file in the folder of `path`. The result is renamed
 * to `path` by lathe_writer_commit. Returns NULL and fills err on failure
 * (folder missing or not writable, format not writable, output exists). */
lathe_writer *lathe_writer_open(const char *path, const lathe_writer_spec *spec,
                                lathe_error *err);

/* lathe_writer_open with encoder settings for MP3, Ogg Vorbis and Opus
 * (codec NULL: the defaults). Lossy types take float samples (spec->sample
 * is ignored); values beyond full scale are counted as clipped, since
 * decoders clip them. Errors also for a rate the codec cannot take (Opus:
 * 8/12/16/24/48 kHz; MP3: 8 to 48 kHz) or more than 2 channels (MP3). */
lathe_writer *lathe_writer_open_codec(const char *path, const lathe_writer_spec *spec,
                                      const lathe_codec_options *codec, lathe_error *err);

/* Writes n frames from in[0..channels-1]. Integer outputs are rounded
 * to nearest and clipped (counted: lathe_writer_clipped). After
 * lathe_cancel_request (lathe/error.h): LATHE_E_CANCELLED, nothing written. */
lathe_status lathe_writer_write(lathe_writer *w, const float *const *in, long n,
                                lathe_error *err);

/* Samples clipped so far by the conversion to integer. */
long long lathe_writer_clipped(const lathe_writer *w);

/* Finishes the file and renames it into place; frees w in every case. */
lathe_status lathe_writer_commit(lathe_writer *w, lathe_error *err);

/* lathe_writer_commit with tags: finishes the temporary file, writes m
 * into it (lathe_tags_write_named; errors name the final path), then
 * renames it into place. m NULL or empty: lathe_writer_commit. On any error
 * the temporary file is removed and nothing appears under the final name.
 * Frees w in every case. */
lathe_status lathe_writer_commit_tagged(lathe_writer *w, const lathe_meta *m, lathe_error *err);

/* Removes the temporary file; frees w. NULL-safe. */
void lathe_writer_abort(lathe_writer *w);

/* Marks w's file as scratch (a temporary file of the caller's, deleted
 * after use): commit does not sync it to the disk. Other files are synced
 * before they are renamed into place. */
void lathe_writer_set_scratch(lathe_writer *w);

/* Path of the temporary file being written (for signal handlers). */
const char *lathe_writer_temp_path(const lathe_writer *w);

/* File type from the extension of path (".wav", ".rf64", ".bwf", ".flac",
 * ".aif", ".aiff", ".mp3", ".ogg", ".oga", ".opus"; any case), or
 * LATHE_FILE_AUTO when unknown. */
lathe_file_type lathe_file_type_from_path(const char *path);

/* File type from a format name as given to --format ("wav", "flac",
 * "aiff", "mp3", "ogg", "opus"; also "aif", "rf64", "vorbis"; any case), or
 * LATHE_FILE_AUTO when unknown. */
lathe_file_type lathe_file_type_from_name(const char *name);

/* The type's name ("wav", "flac", "aiff", "mp3", "ogg", "opus"; "" for
 * AUTO) and usual extension (".wav", ...). Static storage. */
const char *lathe_file_type_name(lathe_file_type t);
const char *lathe_file_type_ext(lathe_file_type t);

/* 1 for the lossy types (MP3, Ogg Vorbis, Opus). */
int lathe_file_type_lossy(lathe_file_type t);

#ifdef __cplusplus
}
#endif
#endif
