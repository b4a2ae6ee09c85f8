/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The album file loader: YAML tree -> lathe_album, every problem collected
 * with its line and column (album.yaml:LINE:COL: message), and the CD
 * preset's Red Book checks on the declared durations.  The format is
 * documented in docs/album.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lathe/album.h"
#include "lathe/io.h"
#include "lathe/reference.h"
#include "lathe/targets.h"
#include "session/session_internal.h"

static const char *const K_TOP[] = {"target", "lufs",    "ceiling", "rate", "bits", "chain",
                                    "format", "dither",  "loudness", "master", "gap", "name",
                                    "meta",   "songs",   "reference", "tone_target", "amount",
                                    "bitrate", "vbr",    "quality", NULL};
static const char *const K_SONG[] = {"file", "session",   "meta", "gap",  "fade_in", "fade_out",
                                     "crossfade", "side", "lufs", "ceiling", "chain", NULL};
static const char *const K_FADE[] = {"length", "curve", NULL};
static const char *const CURVES[] = {"linear", "log", "s-curve", "equal-power", NULL};

/* Red Book (IEC 60908) limits checked for the cd preset. */
#define RB_MIN_TRACK_S 4.0
#define RB_MAX_TRACKS 99
#define RB_MAX_TOTAL_S (79 * 60 + 57)
#define VINYL_SIDE_S (22 * 60)

double lathe_fade_gain(lathe_fade_curve c, double x)
{
    if (!(x > 0)) return 0;
    if (x >= 1) return 1;
    switch (c) {
    case LATHE_FADE_LOG: return (pow(1000.0, x) - 1.0) / 999.0;
    case LATHE_FADE_SCURVE: return 0.5 - 0.5 * cos(M_PI * x);
    case LATHE_FADE_EQUAL_POWER: return sin(0.5 * M_PI * x);
    case LATHE_FADE_LINEAR:
    default: return x;
    }
}

const char *lathe_fade_curve_name(lathe_fade_curve c)
{
    return (unsigned)c < 4 ? CURVES[c] : "linear";
}

typedef struct {
    lathe_diags *d;
    lathe_album *a;
} loader;

#define DIAG(L, node, ...) lathe_diag_add((L)->d, (node) ? (node)->line : 0, (node) ? (node)->col : 0, __VA_ARGS__)

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static void check_keys(loader *L, const lathe_yn *m, const char *const *valid)
{
    lathe_yn_check_keys(L->d, m, valid);
}

static const lathe_yn *scalar(loader *L, const lathe_yn *v, const char *what)
{
    if (!v || lathe_yn_is_null(v)) return NULL;
    if (v->kind != LATHE_YN_SCALAR) {
        DIAG(L, v, "%s: expected a value, not a %s", what, v->kind == LATHE_YN_MAP ? "map" : "list");
        return NULL;
    }
    return v;
}

/* A number, optionally followed by one of the units (case-insensitive). */
static int number(loader *L, const lathe_yn *v, const char *what, const char *const *units, double lo,
                  double hi, double *out)
{
    if (!(v = scalar(L, v, what))) return 0;
    char *end;
    errno = 0;
    double x = strtod(v->str, &end);
    while (*end == ' ') end++;
    int ok = end != v->str && isfinite(x);
    if (ok && *end) {
        ok = 0;
        for (int i = 0; units && units[i]; i++)
            if (strcasecmp(end, units[i]) == 0) ok = 1;
    }
    if (!ok) {
        DIAG(L, v, "%s: '%s' is not a number%s%s", what, v->str, units && units[0] ? " in " : "",
             units && units[0] ? units[0] : "");
        return 0;
    }
    if (x < lo || x > hi) {
        DIAG(L, v, "%s: %g is out of range (%g to %g%s%s)", what, x, lo, hi, units && units[0] ? " " : "",
             units && units[0] ? units[0] : "");
        return 0;
    }
    *out = x;
    return 1;
}

static int seconds(loader *L, const lathe_yn *v, const char *what, double hi, double *out)
{
    if (!(v = scalar(L, v, what))) return 0;
    lathe_error err;
    double s;
    if (lathe_time_parse(v->str, 120, 4, &s, &err) != LATHE_OK) {
        DIAG(L, v, "%s: %s", what, err.msg);
        return 0;
    }
    if (!(s >= 0) || s > hi) {
        DIAG(L, v, "%s: %g s is out of range (0 to %g s)", what, s, hi);
        return 0;
    }
    *out = s;
    return 1;
}

static int pick(loader *L, const lathe_yn *v, const char *what, const char *const *names, int *out)
{
    if (!(v = scalar(L, v, what))) return 0;
    lathe_suggest sg;
    lathe_suggest_init(&sg, v->str);
    char list[200] = "";
    for (int i = 0; names[i]; i++) {
        if (strcasecmp(names[i], v->str) == 0) {
            *out = i;
            return 1;
        }
        lathe_suggest_add(&sg, names[i]);
        size_t u = strlen(list);
        snprintf(list + u, sizeof list - u, "%s%s", i ? ", " : "", names[i]);
    }
    if (lathe_suggest_result(&sg))
        DIAG(L, v, "%s: unknown value '%s' (did you mean '%s'?)", what, v->str, lathe_suggest_result(&sg));
    else
        DIAG(L, v, "%s: unknown value '%s' (one of: %s)", what, v->str, list);
    return 0;
}

static char *path_from(loader *L, const lathe_yn *v, const char *what)
{
    if (!(v = scalar(L, v, what))) return NULL;
    if (!v->str[0]) {
        DIAG(L, v, "%s: empty path", what);
        return NULL;
    }
    if (v->str[0] == '/' || !L->a->dir[0]) return dupstr(v->str);
    size_t n = strlen(L->a->dir) + strlen(v->str) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", L->a->dir, v->str);
    return p;
}

static void parse_meta(loader *L, const lathe_yn *v, lathe_meta *m)
{
    if (!v || lathe_yn_is_null(v)) return;
    if (v->kind != LATHE_YN_MAP) {
        DIAG(L, v, "meta: expected a map of tags (title: ..., artist: ...)");
        return;
    }
    for (int i = 0; i + 1 < v->n; i += 2) {
        const lathe_yn *k = v->kids[i], *x = v->kids[i + 1];
        if (k->kind != LATHE_YN_SCALAR) continue;
        char what[80];
        snprintf(what, sizeof what, "meta.%s", k->str);
        const lathe_yn *s = scalar(L, x, what);
        if (!s) {
            if (x && lathe_yn_is_null(x)) DIAG(L, k, "%s: no value", what);
            continue;
        }
        lathe_error err;
        if (lathe_meta_set(m, k->str, s->str, &err) != LATHE_OK)
            lathe_diag_add(L->d, strncmp(err.msg, "unknown meta key", 16) == 0 ? k->line : s->line,
                           strncmp(err.msg, "unknown meta key", 16) == 0 ? k->col : s->col, "%s", err.msg);
    }
}

/* fade_in: 2  |  fade_in: {length: 2, curve: s-curve} */
static void parse_fade(loader *L, const lathe_yn *v, const char *what, lathe_fade *f, lathe_fade_curve def)
{
    f->curve = def;
    if (!v || lathe_yn_is_null(v)) return;
    if (v->kind == LATHE_YN_SCALAR) {
        seconds(L, v, what, 600, &f->length_s);
        return;
    }
    if (v->kind != LATHE_YN_MAP) {
        DIAG(L, v, "%s: expected a length or a map (length, curve)", what);
        return;
    }
    check_keys(L, v, K_FADE);
    const lathe_yn *len = lathe_yn_get(v, "length");
    if (!len) DIAG(L, v, "%s: no length", what);
    char w[64];
    snprintf(w, sizeof w, "%s.length", what);
    seconds(L, len, w, 600, &f->length_s);
    int c;
    snprintf(w, sizeof w, "%s.curve", what);
    if (pick(L, lathe_yn_get(v, "curve"), w, CURVES, &c)) f->curve = (lathe_fade_curve)c;
}

static const char *basename_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void parse_song(loader *L, const lathe_yn *v, lathe_album_song *s, int number_)
{
    s->gap_s = NAN, s->lufs = NAN, s->ceiling_dbtp = NAN;
    s->line = v->line, s->col = v->col;
    s->fade_in.curve = s->fade_out.curve = LATHE_FADE_LINEAR;
    s->crossfade.curve = LATHE_FADE_EQUAL_POWER;
    const lathe_yn *file = NULL;
    if (v->kind == LATHE_YN_SCALAR) {
        file = v;
    } else if (v->kind == LATHE_YN_MAP) {
        check_keys(L, v, K_SONG);
        file = lathe_yn_get(v, "file");
        const lathe_yn *sess = lathe_yn_get(v, "session");
        if (file && sess) DIAG(L, sess, "song %d: give either file or session, not both", number_);
        if (!file && sess) file = sess, s->is_session = 1;
        if (!file) DIAG(L, v, "song %d: no file (file: mix.wav, or session: song.yaml)", number_);
        parse_meta(L, lathe_yn_get(v, "meta"), &s->meta);
        seconds(L, lathe_yn_get(v, "gap"), "gap", 3600, &s->gap_s);
        parse_fade(L, lathe_yn_get(v, "fade_in"), "fade_in", &s->fade_in, LATHE_FADE_LINEAR);
        parse_fade(L, lathe_yn_get(v, "fade_out"), "fade_out", &s->fade_out, LATHE_FADE_LINEAR);
        parse_fade(L, lathe_yn_get(v, "crossfade"), "crossfade", &s->crossfade, LATHE_FADE_EQUAL_POWER);
        const lathe_yn *xf = lathe_yn_get(v, "crossfade");
        if (xf && s->crossfade.length_s > 0 && number_ == 1)
            DIAG(L, xf, "crossfade: the first song has no song before it to cross into");
        if (xf && s->crossfade.length_s > 0 && lathe_yn_get(v, "gap") && !isnan(s->gap_s) && s->gap_s > 0)
            DIAG(L, lathe_yn_get(v, "gap"), "gap: a crossfaded song has no pre-gap (it overlaps the song before)");
        const lathe_yn *side = lathe_yn_get(v, "side");
        if (scalar(L, side, "side")) {
            if (strcasecmp(side->str, "A") == 0) s->side = 'A';
            else if (strcasecmp(side->str, "B") == 0) s->side = 'B';
            else DIAG(L, side, "side: '%s' is not a side (A or B)", side->str);
        }
        static const char *const lu[] = {"LUFS", NULL}, *const tp[] = {"dBTP", "dB", NULL};
        number(L, lathe_yn_get(v, "lufs"), "lufs", lu, -70, 0, &s->lufs);
        number(L, lathe_yn_get(v, "ceiling"), "ceiling", tp, -20, 0, &s->ceiling_dbtp);
        s->chain = path_from(L, lathe_yn_get(v, "chain"), "chain");
    } else {
        DIAG(L, v, "song %d: expected a file name or a map (file, meta, gap, fades, ...)", number_);
        return;
    }
    s->file = path_from(L, file, s->is_session ? "session" : "file");
    if (!s->file) return;
    if (s->is_session) {
        FILE *f = fopen(s->file, "rb");
        /* the words the audio reader uses for the same problem */
        if (!f)
            DIAG(L, file, "session '%s': %s", s->file, errno == ENOENT ? "no such file" : strerror(errno));
        else fclose(f);
        return;
    }
    lathe_error err;
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(s->file, &info, &err);
    if (!r) {
        DIAG(L, file, "%s", err.msg);
        return;
    }
    lathe_reader_close(r);
    if (info.channels > 2)
        DIAG(L, file, "%s: %d channels; an album takes mono or stereo songs", basename_of(s->file),
             info.channels);
    if (info.frames > 0) s->declared_s = (double)info.frames / info.rate;
}


static const char *mmss(double s, char *buf, size_t len)
{
    int m = (int)(s / 60.0);
    snprintf(buf, len, "%d:%05.2f", m, s - 60.0 * m);
    return buf;
}

int lathe_album_side_warning(char side, double seconds, lathe_master_warning *w)
{
    if (!(seconds > VINYL_SIDE_S)) return 0;
    if (w) {
        char b[32];
        snprintf(w->code, sizeof w->code, "long-side");
        snprintf(w->text, sizeof w->text,
                 "side %c is %s long: past about 22 minutes a 12\" side at 33 1/3 rpm needs narrower grooves "
                 "(lower level, less bass); split the side or cut at 45 rpm for fewer minutes",
                 side, mmss(seconds, b, sizeof b));
    }
    return 1;
}

int lathe_album_declared(const lathe_album *a, double side_s[2], lathe_master_warning *w, int maxw)
{
    side_s[0] = side_s[1] = 0;
    double cursor = 0, prev_end = 0;
    int g = 0, nw = 0, first = 1;
    for (int i = 0; i < a->nsongs; i++) {
        const lathe_album_song *s = &a->songs[i];
        if (i > 0 && s->side && s->side != a->songs[i - 1].side) {
            side_s[g] = cursor;
            g = 1, cursor = 0, prev_end = 0, first = 1;
        }
        double start;
        if (s->crossfade.length_s > 0 && !first) {
            start = fmax(0, prev_end - s->crossfade.length_s);
        } else {
            double gap = !isnan(s->gap_s) ? s->gap_s : first ? 0 : a->gap_s;
            start = cursor + gap;
        }
        prev_end = start + s->declared_s;
        if (prev_end > cursor) cursor = prev_end;
        first = 0;
    }
    side_s[g] = cursor;
    int vinyl = a->target && strcmp(a->target, "vinyl") == 0;
    for (int k = 0; k <= g && vinyl; k++) {
        char side = g ? (char)('A' + k) : a->nsongs && a->songs[0].side ? a->songs[0].side : 'A';
        if (lathe_album_side_warning(side, side_s[k], nw < maxw ? &w[nw] : NULL) && nw < maxw) nw++;
    }
    return nw;
}

/* Red Book checks on the declared durations (files; sessions count 0 here
 * and are checked again once rendered). */
static void red_book(loader *L, const lathe_yn *songs)
{
    lathe_album *a = L->a;
    if (a->nsongs > RB_MAX_TRACKS)
        DIAG(L, songs, "%d tracks: the Red Book allows at most %d on a CD", a->nsongs, RB_MAX_TRACKS);
    double total = 0, prev_end = 0;
    for (int i = 0; i < a->nsongs; i++) {
        const lathe_album_song *s = &a->songs[i];
        if (!s->file || s->is_session) continue;
        if (s->declared_s < RB_MIN_TRACK_S)
            lathe_diag_add(L->d, s->line, s->col,
                           "track %d (%s) is %.2f s long: the Red Book needs at least %g s per track", i + 1,
                           basename_of(s->file), s->declared_s, RB_MIN_TRACK_S);
        double gap = s->crossfade.length_s > 0 ? 0 : !isnan(s->gap_s) ? s->gap_s : i ? a->gap_s : 0;
        double start = s->crossfade.length_s > 0 && i ? prev_end - s->crossfade.length_s : total + gap;
        prev_end = start + s->declared_s;
        if (prev_end > total) total = prev_end;
    }
    if (total > RB_MAX_TOTAL_S) {
        char b[32];
        DIAG(L, songs, "the album is %s long (pre-gaps included): a CD holds at most 79:57", mmss(total, b, sizeof b));
    }
}

lathe_album *lathe_album_parse(const char *text, size_t len, const char *path, lathe_diags *diags)
{
    lathe_diags local;
    lathe_diags *d = diags ? diags : &local;
    memset(d, 0, sizeof *d);
    d->file = dupstr(path ? path : "album.yaml");
    lathe_album *a = calloc(1, sizeof *a);
    if (!a) {
        lathe_diag_add(d, 0, 0, "out of memory");
        goto fail;
    }
    a->lufs = NAN, a->ceiling_dbtp = NAN, a->gap_s = 2.0, a->master = 1;
    a->path = dupstr(path ? path : "album.yaml");
    const char *slash = strrchr(a->path, '/');
    a->dir = slash ? strndup(a->path, (size_t)(slash - a->path)) : dupstr("");
    if (slash && slash == a->path) {
        free(a->dir);
        a->dir = dupstr("/");
    }
    loader L = {d, a};
    int empty = 0;
    lathe_yn *root = lathe_yaml_tree(text, len, d, &empty);
    if (!root) {
        if (empty) lathe_diag_add(d, 0, 0, "the album file is empty (it needs at least `songs:`)");
        goto fail;
    }
    if (root->kind != LATHE_YN_MAP) {
        DIAG(&L, root, "an album file is a map (target, meta, songs, ...)");
        lathe_yaml_free(root);
        goto fail;
    }
    check_keys(&L, root, K_TOP);
    const lathe_yn *v;
    if ((v = scalar(&L, lathe_yn_get(root, "target"), "target"))) {
        const lathe_target *t = lathe_target_find(v->str);
        if (!t) {
            lathe_suggest sg;
            lathe_suggest_init(&sg, v->str);
            int n = 0;
            const lathe_target *all = lathe_targets(&n);
            for (int i = 0; i < n; i++) lathe_suggest_add(&sg, all[i].name);
            char sb[96];
            DIAG(&L, v, "target: unknown preset '%s'%s (`lathe targets` lists them)", v->str,
                 lathe_suggest_text(&sg, sb, sizeof sb));
        } else {
            a->target = dupstr(t->name);
        }
    }
    static const char *const lu[] = {"LUFS", NULL}, *const tp[] = {"dBTP", "dB", NULL},
                             *const hz[] = {"Hz", NULL};
    number(&L, lathe_yn_get(root, "lufs"), "lufs", lu, -70, 0, &a->lufs);
    number(&L, lathe_yn_get(root, "ceiling"), "ceiling", tp, -20, 0, &a->ceiling_dbtp);
    number(&L, lathe_yn_get(root, "rate"), "rate", hz, 8000, 384000, &a->rate);
    double bits = 0;
    if (number(&L, lathe_yn_get(root, "bits"), "bits", NULL, 16, 32, &bits)) {
        if (bits != 16 && bits != 24 && bits != 32) DIAG(&L, lathe_yn_get(root, "bits"), "bits: 16, 24 or 32 (float)");
        else a->bits = (int)bits;
    }
    a->chain = path_from(&L, lathe_yn_get(root, "chain"), "chain");
    a->reference = path_from(&L, lathe_yn_get(root, "reference"), "reference");
    a->ref_amount = 1;
    {
        const lathe_yn *tv = scalar(&L, lathe_yn_get(root, "tone_target"), "tone_target");
        if (tv) {
            const char *const *names = lathe_ref_tone_target_names();
            int ok = 0;
            for (int i = 0; names[i]; i++) ok |= strcmp(names[i], tv->str) == 0;
            if (!ok) DIAG(&L, tv, "tone_target: unknown target '%s' (neutral, warm, bright)", tv->str);
            else a->tone_target = dupstr(tv->str);
        }
        if (a->reference && a->tone_target)
            DIAG(&L, lathe_yn_get(root, "tone_target"), "reference and tone_target exclude each other");
        double amt = 100;
        static const char *const pct[] = {"%", NULL};
        if (number(&L, lathe_yn_get(root, "amount"), "amount", pct, 0, 100, &amt)) a->ref_amount = amt / 100;
    }
    static const char *const formats[] = {"wav", "flac", "aiff", "mp3", "ogg", "opus", NULL};
    int fi;
    if (pick(&L, lathe_yn_get(root, "format"), "format", formats, &fi)) a->format = dupstr(formats[fi]);
    /* the lossy encoders' settings, as lathe master's --bitrate, --vbr and
     * --quality; whether they fit the format is checked when rendering
     * (--format may change it); the file's own format is checked below */
    static const char *const kbps[] = {"kbps", NULL};
    double br = 0;
    if (number(&L, lathe_yn_get(root, "bitrate"), "bitrate", kbps, 6, 512, &br)) {
        if (br != floor(br)) DIAG(&L, lathe_yn_get(root, "bitrate"), "bitrate: a whole number of kbps");
        else a->codec.bitrate_kbps = (int)br;
    }
    static const char *const vbrs[] = {"off", "on", "false", "true", "no", "yes", "V0", "V1", "V2", "V3",
                                       "V4",  "V5", "V6",    "V7",   "V8", "V9",  NULL};
    int vi;
    if (pick(&L, lathe_yn_get(root, "vbr"), "vbr", vbrs, &vi)) {
        a->codec.vbr = vi >= 6 || (vi & 1);
        a->codec.vbr_quality = vi >= 6 ? vi - 6 : 0;
    }
    if (a->codec.vbr && a->codec.bitrate_kbps)
        DIAG(&L, lathe_yn_get(root, "vbr"), "vbr and bitrate exclude each other (VBR sets the quality, not a rate)");
    double q = 0;
    if (number(&L, lathe_yn_get(root, "quality"), "quality", NULL, 0.1, 10, &q)) a->codec.quality = q / 10;
    if (a->format) {
        /* the file's own format against its own codec keys, with their
         * line:column (album --check); the render checks again, since
         * --format and the codec flags may change both */
        const char *f = a->format;
        const int mp3 = !strcmp(f, "mp3"), ogg = !strcmp(f, "ogg"), opus = !strcmp(f, "opus");
        const lathe_yn *kb = lathe_yn_get(root, "bitrate"), *kv = lathe_yn_get(root, "vbr"),
                       *kq = lathe_yn_get(root, "quality"), *kbits = lathe_yn_get(root, "bits"),
                       *krate = lathe_yn_get(root, "rate");
        if (!mp3 && !ogg && !opus) {
            const lathe_yn *k = a->codec.bitrate_kbps ? kb : a->codec.vbr ? kv : a->codec.quality > 0 ? kq : NULL;
            if (k) DIAG(&L, k, "bitrate, vbr and quality are for mp3, ogg and opus, not %s", f);
        } else {
            if (!mp3 && a->codec.vbr) DIAG(&L, kv, "vbr is for mp3 (LAME's V0..V9), not %s", f);
            if (!ogg && a->codec.quality > 0) DIAG(&L, kq, "quality is for ogg (Vorbis 0.1..10), not %s", f);
            if (ogg && a->codec.bitrate_kbps)
                DIAG(&L, kb, "bitrate: Vorbis takes a quality (quality: 0.1..10), not a bitrate");
            if (mp3 && a->codec.bitrate_kbps && (a->codec.bitrate_kbps < 32 || a->codec.bitrate_kbps > 320))
                DIAG(&L, kb, "bitrate: MP3 takes 32 to 320 kbps, not %d", a->codec.bitrate_kbps);
            if (a->bits) DIAG(&L, kbits, "bits: %s is encoded from 32-bit float masters (leave bits out)", f);
            if (opus && a->rate > 0 && a->rate != 48000)
                DIAG(&L, krate, "rate: an Opus album is at 48000 Hz, not %.0f Hz", a->rate);
            if (mp3 && a->rate > 0 && a->rate != 32000 && a->rate != 44100 && a->rate != 48000)
                DIAG(&L, krate, "rate: an MP3 album is at 32000, 44100 or 48000 Hz, not %.0f Hz", a->rate);
        }
    }
    if ((v = scalar(&L, lathe_yn_get(root, "dither"), "dither"))) a->dither = dupstr(v->str);
    static const char *const modes[] = {"album", "track", NULL};
    int mi;
    if (pick(&L, lathe_yn_get(root, "loudness"), "loudness", modes, &mi)) a->track_mode = mi;
    static const char *const onoff[] = {"off", "on", "false", "true", "no", "yes", NULL};
    int oi;
    if (pick(&L, lathe_yn_get(root, "master"), "master", onoff, &oi)) a->master = oi & 1;
    seconds(&L, lathe_yn_get(root, "gap"), "gap", 3600, &a->gap_s);
    if ((v = scalar(&L, lathe_yn_get(root, "name"), "name"))) {
        if (!v->str[0] || strchr(v->str, '/') || v->str[0] == '.')
            DIAG(&L, v, "name: '%s' must be a plain file name (no '/', not starting with '.')", v->str);
        else a->name = dupstr(v->str);
    }
    if (!a->name) a->name = dupstr("album");
    parse_meta(&L, lathe_yn_get(root, "meta"), &a->meta);
    if (a->meta.title) {
        const lathe_yn *mm = lathe_yn_get(root, "meta"), *tk = NULL;
        for (int i = 0; mm && i + 1 < mm->n; i += 2)
            if (strcmp(mm->kids[i]->str, "title") == 0) tk = mm->kids[i];
        DIAG(&L, tk, "meta.title: the album's title is `album:`; each song's title goes in its own meta");
    }

    const lathe_yn *songs = lathe_yn_get(root, "songs");
    if (!songs || lathe_yn_is_null(songs)) {
        DIAG(&L, root, "no songs (songs: a list of files or sessions)");
    } else if (songs->kind != LATHE_YN_SEQ) {
        DIAG(&L, songs, "songs: expected a list");
    } else if (songs->n == 0) {
        DIAG(&L, songs, "songs: the list is empty");
    } else {
        a->line = songs->line, a->col = songs->col;
        a->songs = calloc((size_t)songs->n, sizeof *a->songs);
        if (!a->songs) {
            DIAG(&L, songs, "out of memory");
        } else {
            a->nsongs = songs->n;
            for (int i = 0; i < songs->n; i++) parse_song(&L, songs->kids[i], &a->songs[i], i + 1);
        }
    }
    int vinyl = a->target && strcmp(a->target, "vinyl") == 0;
    int cd = a->target && strcmp(a->target, "cd") == 0;
    char prev_side = 0;
    for (int i = 0; i < a->nsongs; i++) {
        lathe_album_song *s = &a->songs[i];
        const lathe_yn *sn = songs->kids[i];
        const lathe_yn *sv = sn->kind == LATHE_YN_MAP ? lathe_yn_get(sn, "side") : NULL;
        if (s->side && !vinyl) DIAG(&L, sv, "side: sides are for the vinyl preset (target: vinyl)");
        if (vinyl) {
            if (!s->side) s->side = prev_side ? prev_side : 'A';
            if (prev_side == 'B' && s->side == 'A')
                DIAG(&L, sv ? sv : sn, "side: song %d is on side A after a song on side B (list side A first)", i + 1);
            else if (s->side != prev_side && s->crossfade.length_s > 0)
                DIAG(&L, sn, "crossfade: song %d starts side %c; it cannot cross into the other side", i + 1,
                     s->side);
            prev_side = s->side;
        }
        if (!isnan(s->lufs) && !a->track_mode)
            DIAG(&L, lathe_yn_get(sn, "lufs"),
                 "lufs: a song's own target needs `loudness: track` (album mode keeps the songs' relative levels)");
        if (!a->master && (s->chain || !isnan(s->lufs) || !isnan(s->ceiling_dbtp)))
            DIAG(&L, sn, "song %d: master options with `master: off`", i + 1);
    }
    if (cd && a->nsongs > 0) red_book(&L, songs);
    lathe_yaml_free(root);
    if (d->count) goto fail;
    if (!diags) lathe_diags_free(&local);
    return a;
fail:
    lathe_diags_sort(d);
    if (!diags) lathe_diags_free(&local);
    lathe_album_free(a);
    return NULL;
}

lathe_album *lathe_album_load(const char *path, lathe_diags *diags)
{
    lathe_diags local;
    lathe_diags *d = diags ? diags : &local;
    FILE *f = fopen(path, "rb");
    if (!f) {
        memset(d, 0, sizeof *d);
        d->file = dupstr(path);
        lathe_diag_add(d, 0, 0, "cannot read the album file: %s", strerror(errno));
        if (!diags) lathe_diags_free(&local);
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *b = cap > ((size_t)16 << 20) ? NULL : realloc(buf, cap * 2);
        if (!b) free(buf);
        buf = b, cap *= 2;
    }
    fclose(f);
    if (!buf) {
        memset(d, 0, sizeof *d);
        d->file = dupstr(path);
        lathe_diag_add(d, 0, 0, "cannot read the album file: too large or out of memory");
        if (!diags) lathe_diags_free(&local);
        return NULL;
    }
    lathe_album *a = lathe_album_parse(buf, n, path, diags);
    free(buf);
    return a;
}

void lathe_album_free(lathe_album *a)
{
    if (!a) return;
    for (int i = 0; i < a->nsongs; i++) {
        free(a->songs[i].file);
        free(a->songs[i].chain);
        lathe_meta_free(&a->songs[i].meta);
    }
    free(a->songs);
    free(a->path);
    free(a->dir);
    free(a->target);
    free(a->chain);
    free(a->reference);
    free(a->tone_target);
    free(a->format);
    free(a->dither);
    free(a->name);
    lathe_meta_free(&a->meta);
    free(a);
}
