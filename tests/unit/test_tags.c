/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Writing tags: files made with libsndfile (WAV, FLAC, Ogg Vorbis, Opus,
 * MP3, AIFF) are tagged by lathe_tags_write and read back with independent
 * tools (ffprobe, metaflac) and, for the WAV chunks ffprobe does not show,
 * a RIFF walker here; every value is compared exactly.  The audio decodes
 * to the same samples after tagging, nothing is left beside the file, and
 * errors name the file. */
#include "lathe_test.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sndfile.h>

#include "lathe/io.h"
#include "lathe/meta.h"

static char *const dir = lt_dir;

/* Paths in the test folder, named like lathe's temporary files (no audio
 * extension): the type must come from the content. */
static const char *tmp(const char *name) {
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/.%s.lathe-Xy12Z9", dir, name);
    return path[k];
}

/* 0.25 s of a stereo two-tone signal at 48 kHz. */
static void make_audio(const char *path, int format) {
    SF_INFO info = {0};
    info.samplerate = 48000;
    info.channels = 2;
    info.format = format;
    assert_true(sf_format_check(&info));
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) fail_msg("%s: %s", path, sf_strerror(NULL));
    enum { N = 12000 };
    static float l[N], r[N], buf[2 * N];
    lt_sine(l, N, 48000, 440, 0.4, 0);
    lt_sine(r, N, 48000, 660, 0.3, 1);
    for (long i = 0; i < N; i++)
        buf[2 * i] = l[i], buf[2 * i + 1] = r[i];
    assert_int_equal(sf_writef_float(f, buf, N), N);
    sf_close(f);
}

/* Decoded interleaved samples (owned) and their count. */
static float *decode(const char *path, long *n) {
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) fail_msg("%s: %s", path, sf_strerror(NULL));
    long cap = 48000 * 2, len = 0;
    float *x = malloc(sizeof *x * (size_t)cap);
    for (;;) {
        if (len + 4096 * info.channels > cap) {
            cap *= 2;
            x = realloc(x, sizeof *x * (size_t)cap);
        }
        sf_count_t got = sf_readf_float(f, x + len, 4096);
        if (got <= 0) break;
        len += (long)got * info.channels;
    }
    sf_close(f);
    *n = len;
    return x;
}

static void full_meta(lathe_meta *m) {
    const char *args[] = {"title=Café Song ✓",    "artist=The Artist", "album=An Album",
                          "album_artist=Various", "year=2024-05-17",   "genre=Ambient",
                          "isrc=us-rc1-76-00001", "track=3/12",        "disc=1/1",
                          "upc=036000291452",     "composer=J. Doe",   "comment=Mastered \"loud\""};
    lathe_error err = {0};
    for (int k = 0; k < 12; k++)
        if (lathe_meta_parse_arg(m, args[k], &err)) fail_msg("%s", err.msg);
    lathe_meta_set_loudness(m, 0, -11.49, 0.912345);
    lathe_meta_set_loudness(m, 1, -12.0, 0.98);
}

/* ---- reading ffprobe's JSON ---- */

/* The string value of "key" in JSON text (unescaped into out), or 0. */
static int json_str(const char *json, const char *key, char *out, size_t len) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(json, pat);
    if (!p) return 0;
    p += strlen(pat);
    size_t k = 0;
    while (*p && *p != '"' && k + 4 < len) {
        if (*p == '\\') {
            p++;
            switch (*p) {
            case 'n':
                out[k++] = '\n';
                break;
            case 't':
                out[k++] = '\t';
                break;
            case 'u': {
                unsigned c = (unsigned)strtoul((char[5]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
                p += 4;
                if (c < 0x80)
                    out[k++] = (char)c;
                else if (c < 0x800)
                    out[k++] = (char)(0xC0 | c >> 6), out[k++] = (char)(0x80 | (c & 63));
                else
                    out[k++] = (char)(0xE0 | c >> 12), out[k++] = (char)(0x80 | ((c >> 6) & 63)),
                    out[k++] = (char)(0x80 | (c & 63));
                break;
            }
            default:
                out[k++] = *p;
            }
            p++;
        } else {
            out[k++] = *p++;
        }
    }
    out[k] = '\0';
    return 1;
}

typedef struct {
    const char *key, *value;
} kv;

static char *ffprobe(const char *path) {
    lt_run_result r =
        lt_run("ffprobe -v error -show_entries format_tags:stream_tags -of json '%s'", path);
    if (r.status != 0) fail_msg("ffprobe %s: %s", path, r.err);
    free(r.err);
    return r.out;
}

static void expect_tags(const char *what, const char *json, const kv *want, int n) {
    for (int k = 0; k < n; k++) {
        char got[1024];
        if (!json_str(json, want[k].key, got, sizeof got))
            fail_msg("%s: no tag %s in\n%s", what, want[k].key, json);
        if (strcmp(got, want[k].value) != 0)
            fail_msg("%s: %s is \"%s\", expected \"%s\"", what, want[k].key, got, want[k].value);
    }
}

static void expect_no_tag(const char *what, const char *json, const char *key) {
    char got[1024];
    if (json_str(json, key, got, sizeof got)) fail_msg("%s: unexpected tag %s=%s", what, key, got);
}

/* What ffprobe shows for the Xiph comments and the ID3v2.4 frames written
 * from full_meta (ffprobe renames some keys: ALBUMARTIST -> album_artist,
 * TRACKNUMBER -> track, TPE2 -> album_artist, ...). */
static const kv xiph_tags[] = {
    {"TITLE", "Café Song ✓"}, {"ARTIST", "The Artist"},
    {"ALBUM", "An Album"},    {"album_artist", "Various"},
    {"DATE", "2024-05-17"},   {"GENRE", "Ambient"},
    {"ISRC", "USRC17600001"}, {"track", "3"},
    {"TRACKTOTAL", "12"},     {"disc", "1"},
    {"DISCTOTAL", "1"},       {"BARCODE", "036000291452"},
    {"COMPOSER", "J. Doe"},   {"COMMENT", "Mastered \"loud\""},
};
static const kv rg_tags[] = {
    {"REPLAYGAIN_TRACK_GAIN", "-6.51 dB"}, /* -18 - (-11.49) */
    {"REPLAYGAIN_TRACK_PEAK", "0.912345"},
    {"REPLAYGAIN_ALBUM_GAIN", "-6.00 dB"}, /* -18 - (-12) */
    {"REPLAYGAIN_ALBUM_PEAK", "0.980000"},
};
static const kv r128_tags[] = {
    {"R128_TRACK_GAIN", "-2947"}, /* round((-23 + 11.49) * 256) = round(-2946.56) */
    {"R128_ALBUM_GAIN", "-2816"}, /* (-23 + 12) * 256 */
};
static const kv id3_tags[] = {
    {"title", "Café Song ✓"},
    {"artist", "The Artist"},
    {"album", "An Album"},
    {"album_artist", "Various"},
    {"date", "2024-05-17"},
    {"genre", "Ambient"},
    {"TSRC", "USRC17600001"},
    {"track", "3/12"},
    {"disc", "1/1"},
    {"composer", "J. Doe"},
    {"comment", "Mastered \"loud\""},
    {"BARCODE", "036000291452"},
};
#define NKV(a) ((int)(sizeof a / sizeof a[0]))

/* Makes, decodes, tags, decodes again (identical) and returns ffprobe's JSON. */
static char *tag_and_probe(const char *path, int format) {
    make_audio(path, format);
    long n0, n1;
    float *before = decode(path, &n0);
    lathe_meta m = {0};
    full_meta(&m);
    lathe_error err = {0};
    if (lathe_tags_write(path, &m, &err) != LATHE_OK) fail_msg("%s", err.msg);
    lathe_meta_free(&m);
    float *after = decode(path, &n1);
    assert_int_equal(n1, n0);
    assert_true(n0 > 0);
    assert_memory_equal(before, after, sizeof *before * (size_t)n0);
    free(before);
    free(after);
    return ffprobe(path);
}

static void tags_flac_xiph_comments_read_back_exactly(void **s) {
    (void)s;
    const char *p = tmp("song.flac");
    char *json = tag_and_probe(p, SF_FORMAT_FLAC | SF_FORMAT_PCM_24);
    expect_tags("flac", json, xiph_tags, NKV(xiph_tags));
    expect_tags("flac", json, rg_tags, NKV(rg_tags));
    expect_no_tag("flac", json, "R128_TRACK_GAIN");
    free(json);
    /* metaflac: exactly these comments, as written */
    if (!lt_have("metaflac")) return;
    lt_run_result r = lt_run("metaflac --export-tags-to=- '%s'", p);
    assert_int_equal(r.status, 0);
    const char *lines[] = {"TITLE=Café Song ✓",
                           "ARTIST=The Artist",
                           "ALBUM=An Album",
                           "ALBUMARTIST=Various",
                           "DATE=2024-05-17",
                           "GENRE=Ambient",
                           "ISRC=USRC17600001",
                           "TRACKNUMBER=3",
                           "TRACKTOTAL=12",
                           "DISCNUMBER=1",
                           "DISCTOTAL=1",
                           "BARCODE=036000291452",
                           "COMPOSER=J. Doe",
                           "COMMENT=Mastered \"loud\"",
                           "REPLAYGAIN_TRACK_GAIN=-6.51 dB",
                           "REPLAYGAIN_TRACK_PEAK=0.912345",
                           "REPLAYGAIN_ALBUM_GAIN=-6.00 dB",
                           "REPLAYGAIN_ALBUM_PEAK=0.980000"};
    int nl = 0;
    for (const char *c = r.out; *c; c++)
        nl += *c == '\n';
    if (nl != 18) fail_msg("metaflac shows %d comments, expected 18:\n%s", nl, r.out);
    for (int k = 0; k < 18; k++) {
        char line[256];
        snprintf(line, sizeof line, "\n%s\n", lines[k]);
        char *all = malloc(strlen(r.out) + 2);
        sprintf(all, "\n%s", r.out);
        if (!strstr(all, line)) fail_msg("metaflac: no line %s in\n%s", lines[k], r.out);
        free(all);
    }
    lt_run_free(&r);
}

static void tags_ogg_vorbis_comments_read_back_exactly(void **s) {
    (void)s;
    char *json = tag_and_probe(tmp("song.ogg"), SF_FORMAT_OGG | SF_FORMAT_VORBIS);
    expect_tags("vorbis", json, xiph_tags, NKV(xiph_tags));
    expect_tags("vorbis", json, rg_tags, NKV(rg_tags));
    expect_no_tag("vorbis", json, "R128_TRACK_GAIN");
    free(json);
}

static void tags_opus_has_r128_gains_and_no_replaygain(void **s) {
    (void)s;
    char *json = tag_and_probe(tmp("song.opus"), SF_FORMAT_OGG | SF_FORMAT_OPUS);
    expect_tags("opus", json, xiph_tags, NKV(xiph_tags));
    expect_tags("opus", json, r128_tags, NKV(r128_tags));
    for (int k = 0; k < NKV(rg_tags); k++)
        expect_no_tag("opus", json, rg_tags[k].key);
    free(json);
}

static void tags_mp3_id3v2_4_frames_read_back_exactly(void **s) {
    (void)s;
    SF_INFO info = {
        .samplerate = 48000, .channels = 2, .format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
    if (!sf_format_check(&info)) skip();
    const char *p = tmp("song.mp3");
    char *json = tag_and_probe(p, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III);
    expect_tags("mp3", json, id3_tags, NKV(id3_tags));
    expect_tags("mp3", json, rg_tags, NKV(rg_tags));
    free(json);
    /* ID3v2.4 at the start, and no ID3v1 at the end */
    FILE *f = fopen(p, "rb");
    unsigned char h[5], t[3];
    assert_int_equal(fread(h, 1, 5, f), 5);
    fseek(f, -128, SEEK_END);
    assert_int_equal(fread(t, 1, 3, f), 3);
    fclose(f);
    assert_memory_equal(h, "ID3\x04\x00", 5);
    assert_memory_not_equal(t, "TAG", 3);
}

static void tags_aiff_id3_chunk_reads_back_exactly(void **s) {
    (void)s;
    char *json = tag_and_probe(tmp("song.aiff"), SF_FORMAT_AIFF | SF_FORMAT_PCM_24);
    expect_tags("aiff", json, id3_tags, NKV(id3_tags));
    expect_tags("aiff", json, rg_tags, NKV(rg_tags));
    free(json);
}

/* ---- WAV: a RIFF walker for the chunks ---- */

typedef struct {
    unsigned char *data;
    long size;
} blob;

static unsigned le32(const unsigned char *p) {
    return (unsigned)p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16 | (unsigned)p[3] << 24;
}

/* The data of the first top-level chunk `id` (and, for "LIST", of list type
 * `type`) of a RIFF WAVE file; data NULL when absent. Owned copy. */
static blob riff_chunk(const char *path, const char *id, const char *type) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *all = malloc((size_t)n);
    assert_int_equal(fread(all, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    assert_memory_equal(all, "RIFF", 4);
    assert_int_equal(le32(all + 4), (unsigned)(n - 8)); /* RIFF size kept right */
    blob b = {NULL, 0};
    for (long p = 12; p + 8 <= n;) {
        long size = (long)le32(all + p + 4);
        assert_true(p + 8 + size <= n);
        if (!memcmp(all + p, id, 4) && (!type || (size >= 4 && !memcmp(all + p + 8, type, 4)))) {
            b.data = malloc((size_t)size + 1);
            memcpy(b.data, all + p + 8, (size_t)size);
            b.data[size] = 0;
            b.size = size;
            break;
        }
        p += 8 + size + (size & 1);
    }
    free(all);
    return b;
}

/* The text of INFO field `id` (NUL-terminated in the file). */
static const char *info_field(const blob *list, const char *id) {
    for (long p = 4; p + 8 <= list->size;) {
        long size = (long)le32(list->data + p + 4);
        if (!memcmp(list->data + p, id, 4)) {
            assert_true(size >= 1 && list->data[p + 8 + size - 1] == 0);
            return (const char *)list->data + p + 8;
        }
        p += 8 + size + (size & 1);
    }
    return NULL;
}

static void tags_wav_info_bext_and_id3_chunks_read_back_exactly(void **s) {
    (void)s;
    const char *p = tmp("song.wav");
    char *json = tag_and_probe(p, SF_FORMAT_WAV | SF_FORMAT_PCM_24);
    /* ffprobe shows RIFF INFO and bext */
    const kv wav[] = {{"title", "Café Song ✓"},
                      {"artist", "The Artist"},
                      {"album", "An Album"},
                      {"date", "2024-05-17"},
                      {"genre", "Ambient"},
                      {"comment", "Mastered \"loud\""},
                      {"track", "3/12"},
                      {"encoded_by", "The Artist"},
                      {"originator_reference", "USRC17600001"}};
    expect_tags("wav", json, wav, NKV(wav));
    free(json);
    /* RIFF INFO, field by field */
    blob info = riff_chunk(p, "LIST", "INFO");
    assert_non_null(info.data);
    const kv fields[] = {{"INAM", "Café Song ✓"}, {"IART", "The Artist"},
                         {"IPRD", "An Album"},    {"ICRD", "2024-05-17"},
                         {"IGNR", "Ambient"},     {"ICMT", "Mastered \"loud\""},
                         {"ITRK", "3/12"}};
    for (int k = 0; k < NKV(fields); k++) {
        const char *v = info_field(&info, fields[k].key);
        if (!v || strcmp(v, fields[k].value))
            fail_msg("INFO %s is %s", fields[k].key, v ? v : "absent");
    }
    free(info.data);
    /* bext (EBU Tech 3285 v2): version 2, loudness value and true peak in
     * hundredths: -11.49 LUFS -> -1149; 20 log10(0.912345) dB -> -80 */
    blob bext = riff_chunk(p, "bext", NULL);
    assert_non_null(bext.data);
    assert_true(bext.size >= 602);
    assert_string_equal((char *)bext.data, "Mastered \"loud\"");
    assert_string_equal((char *)bext.data + 256, "The Artist");
    assert_memory_equal(bext.data + 288, "USRC17600001\0", 13);
    assert_memory_equal(bext.data + 320, "2024-05-17", 10);
    const unsigned char *q = bext.data + 346;
    assert_int_equal(q[0] | q[1] << 8, 2);
    short lv = (short)(bext.data[412] | bext.data[413] << 8);
    short tp = (short)(bext.data[416] | bext.data[417] << 8);
    short lra = (short)(bext.data[414] | bext.data[415] << 8);
    assert_int_equal(lv, -1149);
    assert_int_equal(tp, (int)lround(2000.0 * log10(0.912345)));
    assert_int_equal(lra, 0x7fff);
    free(bext.data);
    /* The "ID3 " chunk holds the full ID3v2.4 tag (ISRC survives): put it
     * in front of an untagged MP3 and let ffprobe read it. */
    blob id3 = riff_chunk(p, "ID3 ", NULL);
    if (!id3.data) id3 = riff_chunk(p, "id3 ", NULL);
    assert_non_null(id3.data);
    assert_memory_equal(id3.data, "ID3\x04", 4);
    SF_INFO mi = {
        .samplerate = 48000, .channels = 2, .format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
    if (sf_format_check(&mi)) {
        const char *plain = tmp("plain.mp3"), *joined = tmp("joined.mp3");
        make_audio(plain, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III);
        FILE *in = fopen(plain, "rb"), *out = fopen(joined, "wb");
        fwrite(id3.data, 1, (size_t)id3.size, out);
        int c;
        while ((c = fgetc(in)) != EOF)
            fputc(c, out);
        fclose(in);
        fclose(out);
        json = ffprobe(joined);
        expect_tags("wav id3 chunk", json, id3_tags, NKV(id3_tags));
        expect_tags("wav id3 chunk", json, rg_tags, NKV(rg_tags));
        free(json);
        unlink(plain);
        unlink(joined);
    }
    free(id3.data);
}

/* bext text fields are fixed-size: long UTF-8 text is cut at a character
 * boundary; a later tagging that sets other keys keeps them. */
static void tags_wav_bext_cuts_at_utf8_boundary_and_keeps_fields(void **s) {
    (void)s;
    const char *p = tmp("long.wav");
    make_audio(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    char comment[700] = "a", artist[100] = "";
    for (int i = 0; i < 300; i++)
        strcat(comment, "é"); /* 1 + 600 bytes */
    for (int i = 0; i < 20; i++)
        strcat(artist, "é"); /* 40 bytes */
    lathe_meta m = {0}, later = {0};
    lathe_error err = {0};
    assert_int_equal(lathe_meta_set(&m, "comment", comment, &err), LATHE_OK);
    assert_int_equal(lathe_meta_set(&m, "artist", artist, &err), LATHE_OK);
    assert_int_equal(lathe_tags_write(p, &m, &err), LATHE_OK);
    assert_int_equal(lathe_meta_set(&later, "genre", "Drone", &err), LATHE_OK);
    assert_int_equal(lathe_tags_write(p, &later, &err), LATHE_OK);
    lathe_meta_free(&m);
    lathe_meta_free(&later);
    blob b = riff_chunk(p, "bext", NULL);
    assert_non_null(b.data);
    /* Description: 'a' + 127 characters (255 bytes) and a NUL */
    assert_int_equal(strlen((char *)b.data), 255);
    assert_memory_equal(b.data, comment, 255);
    /* Originator: 16 characters (32 bytes, no NUL: the field is full) */
    assert_memory_equal(b.data + 256, artist, 32);
    assert_int_equal(b.data[288], 0); /* OriginatorReference empty */
    /* no loudness given: version 2 with every loudness field "not set" */
    assert_int_equal(b.data[346] | b.data[347] << 8, 2);
    for (int k = 0; k < 5; k++)
        assert_int_equal(b.data[412 + 2 * k] | b.data[413 + 2 * k] << 8, 0x7fff);
    free(b.data);
    blob info = riff_chunk(p, "LIST", "INFO");
    assert_string_equal(info_field(&info, "IGNR"), "Drone");
    assert_string_equal(info_field(&info, "ICMT"), comment);
    free(info.data);
}

/* ---- behaviour ---- */

static int count_entries(const char *d) {
    DIR *dd = opendir(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(dd);
    return n;
}

static void tags_retagging_replaces_and_leaves_no_other_file(void **s) {
    (void)s;
    char sub[300];
    snprintf(sub, sizeof sub, "%s/only", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    const int formats[] = {SF_FORMAT_FLAC | SF_FORMAT_PCM_16, SF_FORMAT_WAV | SF_FORMAT_PCM_16,
                           SF_FORMAT_OGG | SF_FORMAT_OPUS, SF_FORMAT_AIFF | SF_FORMAT_PCM_16};
    const char *titles[] = {"TITLE", "title", "TITLE", "title"};
    for (int k = 0; k < 4; k++) {
        char p[400];
        snprintf(p, sizeof p, "%s/.out%d.lathe-AbC123", sub, k);
        make_audio(p, formats[k]);
        lathe_meta a = {0}, b = {0};
        lathe_error err = {0};
        full_meta(&a);
        assert_int_equal(lathe_meta_parse_arg(&b, "title=Second Title", &err), LATHE_OK);
        assert_int_equal(lathe_tags_write(p, &a, &err), LATHE_OK);
        assert_int_equal(lathe_tags_write(p, &b, &err), LATHE_OK);
        lathe_meta_free(&a);
        lathe_meta_free(&b);
        assert_int_equal(count_entries(sub), k + 1); /* no backup or temporary files */
        char *json = ffprobe(p);
        const kv want[] = {{titles[k], "Second Title"}};
        expect_tags("retag", json, want, 1);
        /* the rest of the first tagging stays */
        const kv kept[] = {{k % 2 ? "artist" : "ARTIST", "The Artist"}};
        expect_tags("retag", json, kept, 1);
        /* one title only */
        char *first = strstr(json, "Second Title");
        assert_null(strstr(first + 1, "Second Title"));
        assert_null(strstr(json, "Café Song"));
        free(json);
    }
    if (lt_have("metaflac")) {
        lt_run_result r =
            lt_run("metaflac --export-tags-to=- '%s/.out0.lathe-AbC123' | grep -c '^TITLE='", sub);
        assert_string_equal(r.out, "1\n");
        lt_run_free(&r);
    }
}

static void tags_empty_meta_changes_no_sample(void **s) {
    (void)s;
    const char *p = tmp("empty.flac");
    make_audio(p, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
    long n0, n1;
    float *a = decode(p, &n0);
    lathe_meta m = {0};
    lathe_error err = {0};
    assert_int_equal(lathe_tags_write(p, &m, &err), LATHE_OK);
    float *b = decode(p, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(a, b, sizeof *a * (size_t)n0);
    free(a);
    free(b);
}

/* lathe's own outputs (float WAV with its extra chunks, 24-bit FLAC and
 * AIFF from lathe_writer) tag cleanly and read back bit-exact through
 * lathe_reader. */
static float **read_all(const char *path, long *n) {
    lathe_audio_info info;
    lathe_error err = {0};
    lathe_reader *r = lathe_reader_open(path, &info, &err);
    if (!r) fail_msg("%s", err.msg);
    assert_int_equal(info.channels, 2);
    float **b = lt_alloc(2, info.frames + 1);
    long got = 0, k;
    while ((k = lathe_reader_read(r, (float *[]){b[0] + got, b[1] + got}, info.frames + 1 - got,
                                  &err)) > 0)
        got += k;
    assert_true(k == 0);
    lathe_reader_close(r);
    *n = got;
    return b;
}

static void tags_lathe_writer_outputs_read_back_bit_exact(void **s) {
    (void)s;
    const char *names[] = {"out.wav", "out.flac", "out.aiff"};
    const lathe_file_type types[] = {LATHE_FILE_WAV, LATHE_FILE_FLAC, LATHE_FILE_AIFF};
    const char *isrc_key[] = {"originator_reference", "ISRC", "TSRC"};
    for (int t = 0; t < 3; t++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", dir, names[t]);
        lathe_writer_spec spec = {types[t], LATHE_SAMPLE_AUTO, 44100, 2, 1};
        lathe_error err = {0};
        lathe_writer *w = lathe_writer_open(path, &spec, &err);
        if (!w) fail_msg("%s", err.msg);
        long n = 20000;
        float **x = lt_alloc(2, n);
        uint64_t seed = 99 + (uint64_t)t;
        lt_noise(x[0], n, 0.5, &seed);
        lt_noise(x[1], n, 0.5, &seed);
        assert_int_equal(lathe_writer_write(w, (const float *const *)x, n, &err), LATHE_OK);
        assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);
        lt_free(x, 2);
        long n0, n1;
        float **a = read_all(path, &n0);
        lathe_meta m = {0};
        full_meta(&m);
        if (lathe_tags_write(path, &m, &err) != LATHE_OK) fail_msg("%s", err.msg);
        lathe_meta_free(&m);
        float **b = read_all(path, &n1);
        assert_int_equal(n0, n);
        assert_int_equal(n1, n);
        for (int c = 0; c < 2; c++)
            assert_memory_equal(a[c], b[c], sizeof(float) * (size_t)n);
        lt_free(a, 2);
        lt_free(b, 2);
        char *json = ffprobe(path);
        const kv want[] = {{isrc_key[t], "USRC17600001"}};
        expect_tags(names[t], json, want, 1);
        free(json);
    }
}

static void expect_error(const char *path, lathe_status code, const char *msg_after_path) {
    lathe_meta m = {0};
    full_meta(&m);
    lathe_error err = {0};
    lathe_status st = lathe_tags_write(path, &m, &err);
    lathe_meta_free(&m);
    assert_int_equal(st, code);
    assert_int_equal(err.code, code);
    char want[1200];
    snprintf(want, sizeof want, "%s: %s", path, msg_after_path);
    if (strcmp(err.msg, want)) fail_msg("got      %s\nexpected %s", err.msg, want);
}

static void tags_errors_name_the_file(void **s) {
    (void)s;
    expect_error(tmp("missing.flac"), LATHE_E_IO, "cannot open to tag: No such file or directory");
    expect_error(dir, LATHE_E_IO, "cannot tag: is a directory");
    char txt[512], broken[512];
    snprintf(txt, sizeof txt, "%s", tmp("notes.txt"));
    FILE *f = fopen(txt, "w");
    fputs("not audio at all\n", f);
    fclose(f);
    expect_error(txt, LATHE_E_FORMAT,
                 "cannot tag this file (not FLAC, Ogg Vorbis, Opus, MP3, WAV or AIFF)");
    const char *empty = tmp("empty.wav");
    fclose(fopen(empty, "w"));
    expect_error(empty, LATHE_E_FORMAT,
                 "cannot tag this file (not FLAC, Ogg Vorbis, Opus, MP3, WAV or AIFF)");
    /* a FLAC signature with garbage after it */
    snprintf(broken, sizeof broken, "%s", tmp("broken.flac"));
    f = fopen(broken, "wb");
    fputs("fLaC", f);
    for (int i = 0; i < 64; i++)
        fputc(0xff, f);
    fclose(f);
    expect_error(broken, LATHE_E_FORMAT, "cannot read the file's structure to tag it");
    /* RF64 (lathe writes it past 4 GB): refused, not damaged */
    const char *rf = tmp("big.wav");
    f = fopen(rf, "wb");
    fwrite("RF64\xff\xff\xff\xffWAVEds64", 1, 16, f);
    fclose(f);
    expect_error(rf, LATHE_E_FORMAT, "cannot tag an RF64 file (TagLib writes RIFF WAV only)");
    /* a file that cannot be written: read-only for the user (as root, the
     * check runs in a child process that drops to user "nobody") */
    char ro[512];
    snprintf(ro, sizeof ro, "%s", tmp("readonly.flac"));
    make_audio(ro, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
    assert_int_equal(chmod(ro, 0444), 0);
    if (geteuid() != 0) {
        expect_error(ro, LATHE_E_IO, "cannot write tags: the file is read-only");
    } else {
        assert_int_equal(chmod(dir, 0755), 0); /* let "nobody" in */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
            lathe_meta m = {0};
            full_meta(&m);
            lathe_error e = {0};
            lathe_status st = lathe_tags_write(ro, &m, &e);
            char want[700];
            snprintf(want, sizeof want, "%s: cannot write tags: the file is read-only", ro);
            if (st != LATHE_E_IO || strcmp(e.msg, want)) {
                fprintf(stderr, "got %d %s\n", st, e.msg);
                _exit(1);
            }
            _exit(0);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        chmod(dir, 0700);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 2)
            fprintf(stderr, "(could not become nobody: not tested)\n");
        else
            assert_int_equal(WEXITSTATUS(status), 0);
    }
    /* the file is unchanged: still untagged */
    if (lt_have("metaflac")) {
        lt_run_result r = lt_run("metaflac --export-tags-to=- '%s'", ro);
        assert_string_equal(r.out, "");
        lt_run_free(&r);
    }
    lathe_error err = {0};
    assert_int_equal(lathe_tags_write(NULL, &(lathe_meta){0}, &err), LATHE_E_INVALID);
    /* tagging a temporary file, the error names the target */
    lathe_meta m = {0};
    full_meta(&m);
    assert_int_equal(lathe_tags_write_named(tmp("gone"), "album/01.flac", &m, &err), LATHE_E_IO);
    assert_string_equal(err.msg, "album/01.flac: cannot open to tag: No such file or directory");
    assert_int_equal(lathe_tags_write_named(txt, "album/02.flac", &m, &err), LATHE_E_FORMAT);
    assert_string_equal(
        err.msg,
        "album/02.flac: cannot tag this file (not FLAC, Ogg Vorbis, Opus, MP3, WAV or AIFF)");
    assert_int_equal(lathe_tags_write_named(broken, "album/03.flac", &m, &err), LATHE_E_FORMAT);
    assert_string_equal(err.msg, "album/03.flac: cannot read the file's structure to tag it");
    lathe_meta_free(&m);
}

int main(void) {
    if (!lt_have("ffprobe")) {
        fprintf(stderr, "ffprobe not found: the tag tests need it\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tags_flac_xiph_comments_read_back_exactly),
        cmocka_unit_test(tags_ogg_vorbis_comments_read_back_exactly),
        cmocka_unit_test(tags_opus_has_r128_gains_and_no_replaygain),
        cmocka_unit_test(tags_mp3_id3v2_4_frames_read_back_exactly),
        cmocka_unit_test(tags_aiff_id3_chunk_reads_back_exactly),
        cmocka_unit_test(tags_wav_info_bext_and_id3_chunks_read_back_exactly),
        cmocka_unit_test(tags_wav_bext_cuts_at_utf8_boundary_and_keeps_fields),
        cmocka_unit_test(tags_retagging_replaces_and_leaves_no_other_file),
        cmocka_unit_test(tags_empty_meta_changes_no_sample),
        cmocka_unit_test(tags_lathe_writer_outputs_read_back_bit_exact),
        cmocka_unit_test(tags_errors_name_the_file),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
