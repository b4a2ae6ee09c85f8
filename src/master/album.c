/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe album: master every song with one loudness plan, sequence them
 * (pre-gaps, fades, crossfades) and deliver the song files, the continuous
 * album file(s), a CUE sheet and a JSON summary (docs/album.md).
 *
 * Loudness. Album mode keeps the songs' relative levels: the loudest input
 * (integrated loudness, ITU-R BS.1770-4) is mastered with the loudness solve
 * onto the target, which gives the drive G; every other song is mastered
 * with the fixed drive G (lathe_master_options.fixed_gain_db) and its output
 * is measured: when limiting made it miss its place (target minus its
 * distance to the loudest input) by more than 0.05 LU the solve goes on
 * from that render onto the place (lathe_master_options.fixed_then_solve).
 * Track mode solves every song onto the target.  Masters are rendered as
 * 32-bit float at the output rate; fades, crossfades and dither (the dither
 * processor) are applied once, at the end.
 *
 * Crossfades sum two limited songs, which can pass the ceiling (two
 * uncorrelated songs at equal power: up to +3 dB).  The overlap is measured
 * (true peak, 4x oversampling) and, when it is over the ceiling minus 0.1 dB
 * (where the limiter aims), a smooth gain dip (Tukey window, 20 % cosine
 * ramps) lowers the overlap by the excess, measured again until it is under.
 *
 * The CUE sheet follows the CDRWIN cue-sheet syntax (FILE, TRACK, TITLE,
 * PERFORMER, ISRC, INDEX 00/01, CATALOG; mm:ss:ff at 75 frames per second);
 * Red Book limits from IEC 60908. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lathe/album.h"
#include "lathe/analysis.h"
#include "lathe/engine.h"
#include "lathe/io.h"
#include "lathe/param.h"
#include "lathe/proc.h"
#include "lathe/targets.h"
#include "master/encode.h"
#include "report/json.h"
#include "session/session_internal.h"
#include "util/fpu.h"

#define BLOCK 4096
#define RB_MIN_TRACK_S 4.0
#define RB_MAX_TRACKS 99
#define RB_MAX_TOTAL_S (79 * 60 + 57)

typedef struct {
    char src[1100];     /* what is mastered (the file, or the rendered session) */
    char mastered[1100];/* the float master in the work folder (or the file itself) */
    char final[1100];   /* the song file in OUTDIR */
    char tmp[1100];     /* its finished temporary, renamed at the end */
    int tmp_done;
    long long len;      /* frames of the master */
    int channels;
    long long fin, fout, xin; /* fade-in, fade-out, crossfade-in lengths (frames) */
    long long xout;     /* crossfade-out length (the next song's xin) */
    lathe_fade_curve cin, cout, cxin, cxout;
    double dip_db;      /* gain dip over the crossfade into this song */
    long long start, end; /* in its segment */
    /* lossy outputs */
    char pcm[1100];     /* the song file as float, in the work folder: what is encoded */
    double ceil_run;    /* the limiter ceiling it is mastered with (NAN: its ceiling) */
    double enc_in_tp;   /* true peak of the encoder's input (the float song file) */
    int dirty;          /* (re)mastered since its file was last written */
} song_run;

typedef struct {
    const lathe_album *a;
    const lathe_album_options *o;
    lathe_album_report *rep;
    lathe_diags *d;
    lathe_error *err;
    const lathe_target *tg;
    char work[1100];
    char ext[8];
    double rate;
    int channels, bits;
    long long F;        /* CUE frame in samples (1 when rate is not a multiple of 75) */
    song_run *runs;
    char seg_tmp[2][1100];
    int seg_done[2];
    lathe_file_type ft; /* output type */
    int lossy;          /* mp3, ogg, opus: float files in the work folder, encoded, decoded, measured */
    char seg_pcm[2][1100];
    int loudest;        /* album mode: the song that set the drive G (-1: track mode) */
    double G;
    char cue_tmp[1100], json_tmp[1100];
    int cue_done, json_done;
    lathe_ref_analysis *refan; /* the reference's analysis, made once for every song */
} ctx;

/* snprintf for paths (a too long path is cut and then fails to open, with its name). */
static void pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pathf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static const char *base_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void warn(lathe_album_report *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn(lathe_album_report *r, const char *code, const char *fmt, ...)
{
    if (r->nwarnings >= LATHE_ALBUM_MAX_WARNINGS) return;
    lathe_master_warning *w = &r->warnings[r->nwarnings++];
    snprintf(w->code, sizeof w->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->text, sizeof w->text, fmt, ap);
    va_end(ap);
}

const char *lathe_cue_time(long long frames, double rate, char *buf, size_t len)
{
    long long f = llround((double)frames * 75.0 / rate);
    snprintf(buf, len, "%02lld:%02lld:%02lld", f / (75 * 60), (f / 75) % 60, f % 75);
    return buf;
}

static long long round_to(long long x, long long F)
{
    if (x <= 0) return 0;
    return (x + F / 2) / F * F;
}

static long long ceil_to(long long x, long long F)
{
    return (x + F - 1) / F * F;
}

static const char *mmss(double s, char *buf, size_t len)
{
    int m = (int)(s / 60.0);
    snprintf(buf, len, "%d:%05.2f", m, s - 60.0 * m);
    return buf;
}

/* The song's name for files: its title, else its input's name without extension. */
static void song_name(const lathe_album_song *s, const lathe_meta *m, char *buf, size_t len)
{
    if (m->title) snprintf(buf, len, "%s", m->title);
    else {
        snprintf(buf, len, "%s", base_of(s->file));
        char *dot = strrchr(buf, '.');
        if (dot && dot != buf) *dot = '\0';
    }
    for (char *p = buf; *p; p++)
        if (strchr("/\\:*?\"<>|", *p) || (unsigned char)*p < 32) *p = '_';
    if (buf[0] == '.') buf[0] = '_';
}

/* ---- reading a range of a float master ---- */

typedef struct {
    lathe_reader *r;
    int channels;
    long long pos;
} src_reader;

static lathe_status src_open(src_reader *s, const char *path, lathe_error *err)
{
    lathe_audio_info info;
    s->r = lathe_reader_open(path, &info, err);
    s->channels = info.channels;
    s->pos = 0;
    return s->r ? LATHE_OK : err->code;
}

/* Reads n frames from frame `at` into out[0..ch-1] (mono duplicated; zeros past the end). */
static lathe_status src_read(src_reader *s, long long at, float *const *out, int ch, long n,
                             lathe_error *err)
{
    if (at != s->pos) {
        lathe_status st = lathe_reader_seek(s->r, at, err);
        if (st != LATHE_OK) return st;
        s->pos = at;
    }
    long got = 0;
    while (got < n) {
        float *o[LATHE_MAX_CHANNELS];
        for (int c = 0; c < s->channels; c++) o[c] = out[c < ch ? c : ch - 1] + got;
        long k = lathe_reader_read(s->r, o, n - got, err);
        if (k < 0) return (lathe_status)k;
        if (k == 0) break;
        got += k;
    }
    s->pos += got;
    for (int c = 0; c < ch; c++) {
        if (c >= s->channels) memcpy(out[c], out[0], sizeof(float) * (size_t)got);
        memset(out[c] + got, 0, sizeof(float) * (size_t)(n - got));
    }
    return LATHE_OK;
}

/* ---- gains ---- */

/* The song's own fades at local frame k. */
static double fade_gain(const song_run *r, long long k)
{
    double g = 1.0;
    if (k < r->fin) g *= lathe_fade_gain(r->cin, ((double)k + 0.5) / (double)r->fin);
    long long j = k - (r->len - r->fout);
    if (j >= 0 && r->fout > 0) g *= lathe_fade_gain(r->cout, 1.0 - ((double)j + 0.5) / (double)r->fout);
    return g;
}

/* Crossfade gains at local frame k (in and out). */
static double xfade_gain(const song_run *r, long long k)
{
    double g = 1.0;
    if (k < r->xin) g *= lathe_fade_gain(r->cxin, ((double)k + 0.5) / (double)r->xin);
    long long j = k - (r->len - r->xout);
    if (r->xout > 0 && j >= 0) g *= lathe_fade_gain(r->cxout, 1.0 - ((double)j + 0.5) / (double)r->xout);
    return g;
}

/* Tukey window (20 % raised-cosine ramps) over n frames, at k. */
static double dip_window(long long k, long long n)
{
    double x = ((double)k + 0.5) / (double)n, r = 0.2;
    if (x < r) return 0.5 - 0.5 * cos(M_PI * x / r);
    if (x > 1 - r) return 0.5 - 0.5 * cos(M_PI * (1 - x) / r);
    return 1.0;
}

/* ---- the dither at the end ---- */

static lathe_proc *dither_new(ctx *C, lathe_error *err)
{
    if (C->bits == 32) return NULL;
    const char *mode = C->a->dither ? C->a->dither : "auto";
    if (strcmp(mode, "off") == 0) return NULL;
    const lathe_proc_desc *d = lathe_processor_find("dither");
    if (!d) return NULL;
    int idx[2] = {lathe_proc_param_index(d, "bits"), lathe_proc_param_index(d, "shape")};
    double val[2] = {C->bits, 0};
    int nv = 1;
    if (strcmp(mode, "auto") != 0) {
        if (lathe_param_parse(&d->params[idx[1]], mode, NULL, &val[1], err) != LATHE_OK) {
            lathe_error_prefix(err, "dither");
            return NULL;
        }
        nv = 2;
    }
    return lathe_proc_new_with(d, C->rate, C->channels, BLOCK, idx, val, nv, err);
}

/* ---- output files ---- */

typedef struct {
    lathe_writer *w;
    lathe_analyzer *an;
    lathe_proc *dither;
} out_stream;

static lathe_status out_open(ctx *C, out_stream *s, const char *tmp, lathe_error *err)
{
    memset(s, 0, sizeof *s);
    lathe_writer_spec spec;
    memset(&spec, 0, sizeof spec);
    /* lossy: a float WAV in the work folder, encoded once finished */
    spec.type = C->lossy ? LATHE_FILE_WAV : C->ft;
    spec.sample = C->bits == 16 ? LATHE_SAMPLE_PCM16 : C->bits == 24 ? LATHE_SAMPLE_PCM24 : LATHE_SAMPLE_FLOAT32;
    spec.rate = C->rate, spec.channels = C->channels, spec.overwrite = 1;
    s->w = lathe_writer_open(tmp, &spec, err);
    if (!s->w) return err->code;
    if (C->lossy) lathe_writer_set_scratch(s->w); /* the encoder's input: not synced */
    s->an = lathe_analyzer_new(C->rate, C->channels, err);
    if (!s->an) return err->code;
    lathe_error e2;
    lathe_error_clear(&e2);
    s->dither = dither_new(C, &e2);
    if (!s->dither && e2.code != LATHE_OK) {
        *err = e2;
        return e2.code;
    }
    return LATHE_OK;
}

static lathe_status out_write(out_stream *s, float *const *b, long n, lathe_error *err)
{
    if (s->dither) lathe_proc_process(s->dither, b, NULL, n);
    lathe_analyzer_add(s->an, (const float *const *)b, n);
    return lathe_writer_write(s->w, (const float *const *)b, n, err);
}

static void out_free(out_stream *s)
{
    lathe_writer_abort(s->w);
    lathe_analyzer_free(s->an);
    lathe_proc_free(s->dither);
    memset(s, 0, sizeof *s);
}

/* ---- the work ---- */

static lathe_status make_sources(ctx *C)
{
    const lathe_album *a = C->a;
    for (int i = 0; i < a->nsongs; i++) {
        const lathe_album_song *s = &a->songs[i];
        song_run *r = &C->runs[i];
        if (!s->is_session) {
            snprintf(r->src, sizeof r->src, "%s", s->file);
            continue;
        }
        lathe_diags sd;
        lathe_session *ss = lathe_session_load(s->file, &sd);
        if (!ss) {
            char line[700];
            lathe_error_set(C->err, LATHE_E_INVALID, "song %d: the session has %d problem%s; first: %s", i + 1,
                            sd.count, sd.count == 1 ? "" : "s",
                            sd.count ? lathe_diag_format(&sd, 0, line, sizeof line) : "?");
            lathe_diags_free(&sd);
            return LATHE_E_INVALID;
        }
        lathe_diags_free(&sd);
        pathf(r->src, sizeof r->src, "%s/mix-%02d.wav", C->work, i + 1);
        lathe_mix_options mo;
        memset(&mo, 0, sizeof mo);
        mo.threads = C->o ? C->o->threads : 0;
        mo.sample = LATHE_SAMPLE_FLOAT32;
        mo.overwrite = 1;
        mo.scratch = 1; /* a work file: not synced */
        mo.channels = 2;
        lathe_status st = lathe_mix_render(ss, r->src, &mo, NULL, C->err);
        lathe_session_free(ss);
        if (st != LATHE_OK) {
            lathe_error_prefix(C->err, s->file);
            return st;
        }
    }
    return LATHE_OK;
}

/* Writes a dual-mono copy of a mono source (so a mono song is mastered and
 * measured as it will play: on both channels). */
static lathe_status upmix(ctx *C, song_run *r, int i)
{
    char out[1100];
    pathf(out, sizeof out, "%s/stereo-%02d.wav", C->work, i + 1);
    src_reader sr;
    lathe_status st = src_open(&sr, r->src, C->err);
    if (st != LATHE_OK) return st;
    lathe_audio_info info;
    lathe_reader *probe = lathe_reader_open(r->src, &info, C->err);
    lathe_reader_close(probe);
    lathe_writer_spec spec = {LATHE_FILE_WAV, LATHE_SAMPLE_FLOAT32, info.rate, 2, 1};
    lathe_writer *w = lathe_writer_open(out, &spec, C->err);
    if (!w) {
        lathe_reader_close(sr.r);
        return C->err->code;
    }
    lathe_writer_set_scratch(w); /* a work file: not synced */
    float l[BLOCK], rr[BLOCK], *b[2] = {l, rr};
    for (;;) {
        long k = lathe_reader_read(sr.r, b, BLOCK, C->err);
        if (k < 0) st = (lathe_status)k;
        if (k <= 0) break;
        memcpy(rr, l, sizeof(float) * (size_t)k);
        if ((st = lathe_writer_write(w, (const float *const *)b, k, C->err)) != LATHE_OK) break;
    }
    lathe_reader_close(sr.r);
    if (st != LATHE_OK) {
        lathe_writer_abort(w);
        return st;
    }
    if ((st = lathe_writer_commit(w, C->err)) != LATHE_OK) return st;
    snprintf(r->src, sizeof r->src, "%s", out);
    return LATHE_OK;
}

/* The song's true-peak ceiling (its own, else the album's). */
static double song_ceiling(const ctx *C, int i)
{
    double c = C->a->songs[i].ceiling_dbtp;
    return isfinite(c) ? c : C->rep->ceiling_dbtp;
}

static lathe_status master_one(ctx *C, int i, double lufs, double fixed, int then_solve, lathe_master_report *mr)
{
    const lathe_album *a = C->a;
    const lathe_album_song *s = &a->songs[i];
    song_run *r = &C->runs[i];
    lathe_master_options mo;
    memset(&mo, 0, sizeof mo);
    mo.target = C->tg->name;
    mo.lufs = lufs;
    mo.ceiling_dbtp = isfinite(r->ceil_run) ? r->ceil_run : song_ceiling(C, i);
    mo.rate = C->rate;
    mo.bits = 32;
    mo.chain_path = s->chain ? s->chain : a->chain;
    mo.dither = "off";
    mo.fixed_gain_db = fixed;
    mo.fixed_then_solve = then_solve;
    /* one reference (or tone target) for the whole album: its tone and width
     * per song; the loudness is the album's plan (lufs is always given) */
    lathe_ref_options ro;
    lathe_ref_options_default(&ro);
    ro.amount_tone = ro.amount_width = a->ref_amount;
    mo.reference = a->reference;
    mo.reference_analysis = C->refan;
    mo.tone_target = a->tone_target;
    mo.ref_options = &ro;
    mo.threads = C->o ? C->o->threads : 0;
    mo.overwrite = 1;
    mo.scratch = 1; /* a work file, deleted at the end */
    pathf(r->mastered, sizeof r->mastered, "%s/master-%02d.wav", C->work, i + 1);
    lathe_diags md;
    memset(&md, 0, sizeof md);
    lathe_status st = lathe_master_render(r->src, r->mastered, &mo, mr, &md, C->err);
    r->dirty = 1;
    free(mr->reference); /* the album keeps no per-song reference plan */
    mr->reference = NULL;
    lathe_series_free(mr->series);
    mr->series = NULL;
    if (md.count) {
        char line[700];
        lathe_error_set(C->err, LATHE_E_INVALID, "%s", lathe_diag_format(&md, 0, line, sizeof line));
        st = LATHE_E_INVALID;
    }
    lathe_diags_free(&md);
    if (st != LATHE_OK) {
        char p[64];
        snprintf(p, sizeof p, "song %d", i + 1);
        lathe_error_prefix(C->err, p);
    }
    return st;
}

static void keep_master(ctx *C, int i, const lathe_master_report *mr, double target, int solved)
{
    lathe_album_track *t = &C->rep->tracks[i];
    t->gain_db = mr->gain_db;
    t->target_lufs = target;
    t->solved = solved;
    t->limiter_ceiling_dbtp = mr->limiter_ceiling_dbtp;
    t->nwarnings = 0;
    for (int w = 0; w < mr->nwarnings && t->nwarnings < 8; w++) t->warnings[t->nwarnings++] = mr->warnings[w];
}

/* Album mode, a song other than the loudest: the album's drive G, kept
 * when the song lands within 0.05 LU of its place T (limiting, or the
 * chain, can move it off), else solved onto T from there, in the one call
 * (lathe_master_options.fixed_then_solve: the render at G is the solve's
 * first point). A song without a place (silent, or placed under -70 LUFS)
 * takes G as it is. */
static lathe_status place_song(ctx *C, int i, double T, lathe_master_report *mr, int *solved)
{
    const int placed = isfinite(T) && T > -70;
    const double target = placed ? T : isfinite(T) ? -70 : C->rep->target_lufs;
    lathe_status st = master_one(C, i, target, C->G, placed, mr);
    *solved = placed && mr->gain_db != C->G;
    return st;
}

/* Album mode's first pass: the loudness of every song's source, on up to
 * `threads` threads (0: every core), a song at a time each. Results land
 * by index and the first error in song order is the one reported, so the
 * thread count never changes what comes out. */
typedef struct {
    ctx *C;
    double *L;
    lathe_status *st;
    lathe_error *err;
    int n, next;
    pthread_mutex_t mu;
} loud_pass;

static void *loud_worker(void *arg)
{
    loud_pass *p = arg;
    lathe_denormals_off();
    for (;;) {
        pthread_mutex_lock(&p->mu);
        const int i = p->next < p->n ? p->next++ : -1;
        pthread_mutex_unlock(&p->mu);
        if (i < 0) return NULL;
        lathe_analysis an;
        p->st[i] = lathe_analyze_file_flags(p->C->runs[i].src, LATHE_ANALYZE_LOUDNESS_ONLY, &an, NULL, &p->err[i]);
        p->L[i] = p->st[i] == LATHE_OK ? an.integrated_lufs : NAN;
    }
}

static lathe_status source_loudness(ctx *C, double *L)
{
    const int n = C->a->nsongs;
    int threads = C->o && C->o->threads > 0 ? C->o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    threads = threads < 1 ? 1 : threads > n ? n : threads;
    loud_pass p = {C, L, calloc((size_t)n, sizeof *p.st), calloc((size_t)n, sizeof *p.err), n, 0,
                   PTHREAD_MUTEX_INITIALIZER};
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    if (!p.st || !p.err || !tid) {
        free(p.st), free(p.err), free(tid);
        return lathe_error_set(C->err, LATHE_E_NOMEM, "out of memory");
    }
    int started = 0;
    while (started < threads - 1 && pthread_create(&tid[started], NULL, loud_worker, &p) == 0) started++;
    loud_worker(&p); /* the calling thread works too */
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    lathe_status st = LATHE_OK;
    for (int i = 0; i < n && st == LATHE_OK; i++)
        if ((st = p.st[i]) != LATHE_OK) *C->err = p.err[i];
    free(p.st), free(p.err), free(tid);
    return st;
}

static lathe_status make_masters(ctx *C)
{
    const lathe_album *a = C->a;
    lathe_album_report *R = C->rep;
    lathe_master_report mr;
    lathe_status st;
    int n = a->nsongs;
    if (!a->master) {
        for (int i = 0; i < n; i++) {
            snprintf(C->runs[i].mastered, sizeof C->runs[i].mastered, "%s", C->runs[i].src);
            R->tracks[i].gain_db = NAN, R->tracks[i].target_lufs = NAN;
        }
        return LATHE_OK;
    }
    C->loudest = -1;
    if (a->track_mode) {
        for (int i = 0; i < n; i++) {
            double T = isfinite(a->songs[i].lufs) ? a->songs[i].lufs : R->target_lufs;
            if ((st = master_one(C, i, T, NAN, 0, &mr)) != LATHE_OK) return st;
            keep_master(C, i, &mr, T, 1);
            if (C->o && C->o->progress) C->o->progress(C->o->user, "mastering", (i + 1.0) / n);
        }
        return LATHE_OK;
    }
    /* album mode: the loudest input sets the drive */
    double *L = malloc(sizeof(double) * (size_t)n);
    if (!L) return lathe_error_set(C->err, LATHE_E_NOMEM, "out of memory");
    if ((st = source_loudness(C, L)) != LATHE_OK) {
        free(L);
        return st;
    }
    int k = -1;
    for (int i = 0; i < n; i++)
        if (isfinite(L[i]) && (k < 0 || L[i] > L[k])) k = i;
    if (k < 0) {
        free(L);
        return lathe_error_set(C->err, LATHE_E_DATA, "every song is silent: nothing to set the album's loudness by");
    }
    if ((st = master_one(C, k, R->target_lufs, NAN, 0, &mr)) != LATHE_OK) goto out;
    keep_master(C, k, &mr, R->target_lufs, 1);
    const double G = mr.gain_db;
    C->loudest = k, C->G = G;
    /* the others are placed by the loudest song's measured output (the
     * solve lands within 0.05 LU of the target, not on it) */
    const double Lk = isfinite(mr.after.integrated_lufs) ? mr.after.integrated_lufs : R->target_lufs;
    R->album_gain_db = G;
    int done = 1;
    for (int i = 0; i < n; i++) {
        if (i == k) continue;
        double T = isfinite(L[i]) ? Lk - (L[k] - L[i]) : NAN;
        int solved;
        if ((st = place_song(C, i, T, &mr, &solved)) != LATHE_OK) goto out;
        keep_master(C, i, &mr, T, solved);
        done++;
        if (C->o && C->o->progress) C->o->progress(C->o->user, "mastering", (double)done / n);
    }
    st = LATHE_OK;
out:
    free(L);
    return st;
}

/* Masters song i again (its limiter ceiling lowered: lossy outputs) with the
 * plan it had: track mode and the loudest song solve onto their targets;
 * the others take the album's drive G and are solved onto their place when
 * that misses it by more than 0.05 LU (as make_masters). */
static lathe_status remaster(ctx *C, int i)
{
    lathe_album_track *t = &C->rep->tracks[i];
    lathe_master_report mr;
    lathe_status st;
    double T = t->target_lufs;
    if (C->a->track_mode || i == C->loudest) {
        if ((st = master_one(C, i, T, NAN, 0, &mr)) != LATHE_OK) return st;
        keep_master(C, i, &mr, T, 1);
        if (i == C->loudest) C->rep->album_gain_db = mr.gain_db;
        return LATHE_OK;
    }
    int solved;
    if ((st = place_song(C, i, T, &mr, &solved)) != LATHE_OK) return st;
    keep_master(C, i, &mr, T, solved);
    return LATHE_OK;
}

/* Lengths, fades, positions; the Red Book and crossfade checks on the real lengths. */
static void plan(ctx *C)
{
    const lathe_album *a = C->a;
    lathe_album_report *R = C->rep;
    const double rate = C->rate;
    const long long F = C->F;
    long long cursor = 0;
    int seg = 0;
    for (int i = 0; i < a->nsongs; i++) {
        const lathe_album_song *s = &a->songs[i];
        song_run *r = &C->runs[i];
        lathe_album_track *t = &R->tracks[i];
        if (i > 0 && s->side && s->side != a->songs[i - 1].side) {
            R->segments[seg].frames = cursor;
            seg++, cursor = 0;
        }
        t->segment = seg, t->side = s->side, t->number = i + 1;
        r->fin = llround(s->fade_in.length_s * rate), r->cin = s->fade_in.curve;
        r->fout = llround(s->fade_out.length_s * rate), r->cout = s->fade_out.curve;
        if (r->fin + r->fout > r->len)
            lathe_diag_add(C->d, s->line, s->col, "song %d: fades of %.2f s and %.2f s are longer than the song (%.2f s)",
                           i + 1, s->fade_in.length_s, s->fade_out.length_s, (double)r->len / rate);
        song_run *p = i > 0 && R->tracks[i - 1].segment == seg ? &C->runs[i - 1] : NULL;
        long long X = s->crossfade.length_s > 0 && p ? llround(s->crossfade.length_s * rate) : 0;
        long long start;
        if (X > 0) {
            start = round_to(p->end - X, F);
            if (start < p->start) start = p->start;
            long long ov = p->end - start;
            if (ov <= 0) {
                start = cursor;
            } else if (ov > p->len || ov > r->len || (i > 1 && R->tracks[i - 2].segment == seg &&
                                                      start < C->runs[i - 2].end)) {
                lathe_diag_add(C->d, s->line, s->col,
                               "song %d: a crossfade of %.2f s is longer than the song%s (%.2f s and %.2f s)", i + 1,
                               s->crossfade.length_s, " or the one before it", (double)p->len / rate,
                               (double)r->len / rate);
                ov = 0;
            } else {
                r->xin = p->xout = ov;
                r->cxin = p->cxout = s->crossfade.curve;
            }
            t->index00 = t->index01 = start;
        } else {
            /* the album's gap goes before songs 2..n of each side; a song's own anywhere */
            double gap = !isnan(s->gap_s) ? s->gap_s : p ? a->gap_s : 0;
            long long g = round_to(llround(gap * rate), F);
            t->index00 = cursor;
            start = cursor + g;
            t->index01 = start;
        }
        r->start = start, r->end = start + r->len;
        t->frames = r->len;
        if (r->end > cursor) cursor = ceil_to(r->end, F);
    }
    R->segments[seg].frames = cursor;
    R->nsegments = seg + 1;
    for (int g = 0; g < R->nsegments; g++) R->segments[g].side = 0;
    for (int i = 0; i < a->nsongs; i++) R->segments[R->tracks[i].segment].side = a->songs[i].side;

    char b1[32];
    if (R->cd) {
        if (a->nsongs > RB_MAX_TRACKS)
            lathe_diag_add(C->d, a->line, a->col, "%d tracks: the Red Book allows at most %d on a CD", a->nsongs,
                           RB_MAX_TRACKS);
        for (int i = 0; i < a->nsongs; i++)
            if ((double)C->runs[i].len / rate < RB_MIN_TRACK_S)
                lathe_diag_add(C->d, a->songs[i].line, a->songs[i].col,
                               "track %d (%s) is %.2f s long: the Red Book needs at least %g s per track", i + 1,
                               base_of(a->songs[i].file), (double)C->runs[i].len / rate, RB_MIN_TRACK_S);
        double total = (double)R->segments[0].frames / rate;
        if (total > RB_MAX_TOTAL_S)
            lathe_diag_add(C->d, a->line, a->col, "the album is %s long (pre-gaps included): a CD holds at most 79:57",
                           mmss(total, b1, sizeof b1));
    }
    if (R->nsegments > 1 || (a->nsongs && a->songs[0].side)) {
        for (int g = 0; g < R->nsegments; g++) {
            double len = (double)R->segments[g].frames / rate;
            if (lathe_album_side_warning(R->segments[g].side ? R->segments[g].side : 'A', len,
                                         R->nwarnings < LATHE_ALBUM_MAX_WARNINGS ? &R->warnings[R->nwarnings] : NULL))
                R->nwarnings += R->nwarnings < LATHE_ALBUM_MAX_WARNINGS;
        }
    }
}

/* Measures each crossfade's overlap and sets the dip that keeps it under the ceiling. */
static lathe_status crossfade_dips(ctx *C)
{
    const int ch = C->channels;
    for (int i = 1; i < C->a->nsongs; i++) {
        song_run *r = &C->runs[i], *p = &C->runs[i - 1];
        /* under the album's ceiling, and under either song's lowered one
         * (lossy: an encode of the overlap went over) */
        double aim = C->rep->ceiling_dbtp - 0.1;
        if (isfinite(r->ceil_run)) aim = fmin(aim, r->ceil_run - 0.1);
        if (isfinite(p->ceil_run)) aim = fmin(aim, p->ceil_run - 0.1);
        C->rep->tracks[i].xfade_peak_dbtp = NAN;
        if (r->xin <= 0) continue;
        long long X = r->xin;
        if (X > (long long)(120 * C->rate))
            return lathe_error_set(C->err, LATHE_E_INVALID, "song %d: crossfade longer than 120 s", i + 1);
        float **a = malloc(sizeof(float *) * (size_t)ch * 3);
        if (!a) return lathe_error_set(C->err, LATHE_E_NOMEM, "out of memory");
        float **b = a + ch, **y = a + 2 * ch;
        int ok = 1;
        for (int c = 0; c < 3 * ch; c++) ok &= (a[c] = malloc(sizeof(float) * (size_t)X)) != NULL;
        lathe_status st = ok ? LATHE_OK : lathe_error_set(C->err, LATHE_E_NOMEM, "out of memory");
        src_reader sa = {0}, sb = {0};
        if (st == LATHE_OK) st = src_open(&sa, p->mastered, C->err);
        if (st == LATHE_OK) st = src_open(&sb, r->mastered, C->err);
        if (st == LATHE_OK) st = src_read(&sa, p->len - X, a, ch, (long)X, C->err);
        if (st == LATHE_OK) st = src_read(&sb, 0, b, ch, (long)X, C->err);
        double D = 0, first = NAN;
        for (int it = 0; st == LATHE_OK && it < 16; it++) {
            for (long long k = 0; k < X; k++) {
                double ga = fade_gain(p, p->len - X + k) * xfade_gain(p, p->len - X + k);
                double gb = fade_gain(r, k) * xfade_gain(r, k);
                double dip = D > 0 ? pow(10.0, -D / 20.0 * dip_window(k, X)) : 1.0;
                for (int c = 0; c < ch; c++) y[c][k] = (float)(((double)a[c][k] * ga + (double)b[c][k] * gb) * dip);
            }
            lathe_analyzer *an = lathe_analyzer_new(C->rate, ch, C->err);
            if (!an) {
                st = C->err->code;
                break;
            }
            lathe_analyzer_add(an, (const float *const *)y, (long)X);
            lathe_analysis res;
            lathe_analyzer_result(an, &res);
            lathe_analyzer_free(an);
            if (it == 0) first = res.true_peak_dbtp;
            if (!(res.true_peak_dbtp > aim)) break;
            D += res.true_peak_dbtp - aim + 0.02;
        }
        lathe_reader_close(sa.r);
        lathe_reader_close(sb.r);
        for (int c = 0; c < 3 * ch; c++) free(a[c]);
        free(a);
        if (st != LATHE_OK) return st;
        r->dip_db = D;
        C->rep->tracks[i].xfade_dip_db = D;
        C->rep->tracks[i].xfade_peak_dbtp = first;
    }
    return LATHE_OK;
}

static void tmp_name(ctx *C, const char *final, char *buf, size_t len)
{
    (void)C;
    const char *b = base_of(final);
    pathf(buf, len, "%.*s.%s.album-tmp", (int)(b - final), final, b);
}

static lathe_status write_songs(ctx *C)
{
    const int ch = C->channels;
    float *buf[LATHE_MAX_CHANNELS], *store = malloc(sizeof(float) * BLOCK * (size_t)ch);
    if (!store) return lathe_error_set(C->err, LATHE_E_NOMEM, "out of memory");
    for (int c = 0; c < ch; c++) buf[c] = store + (size_t)c * BLOCK;
    lathe_status st = LATHE_OK;
    for (int i = 0; i < C->a->nsongs && st == LATHE_OK; i++) {
        song_run *r = &C->runs[i];
        lathe_album_track *t = &C->rep->tracks[i];
        if (!r->dirty) continue; /* lossy passes: only the songs mastered again */
        tmp_name(C, r->final, r->tmp, sizeof r->tmp);
        if (C->lossy) pathf(r->pcm, sizeof r->pcm, "%s/song-%02d.wav", C->work, i + 1);
        out_stream os;
        src_reader sr = {0};
        st = out_open(C, &os, C->lossy ? r->pcm : r->tmp, C->err);
        if (st == LATHE_OK) st = src_open(&sr, r->mastered, C->err);
        long long total = C->rep->cd ? ceil_to(r->len, 588) : r->len;
        for (long long k = 0; k < total && st == LATHE_OK; k += BLOCK) {
            long n = (long)(total - k < BLOCK ? total - k : BLOCK);
            long m = k < r->len ? (long)(r->len - k < n ? r->len - k : n) : 0;
            if (m > 0) st = src_read(&sr, k, buf, ch, m, C->err);
            for (int c = 0; c < ch; c++) memset(buf[c] + m, 0, sizeof(float) * (size_t)(n - m));
            for (long j = 0; j < m; j++) {
                long long q = k + j;
                if (q < r->fin || q >= r->len - r->fout) {
                    double g = fade_gain(r, q);
                    for (int c = 0; c < ch; c++) buf[c][j] = (float)((double)buf[c][j] * g);
                }
            }
            if (st == LATHE_OK) st = out_write(&os, buf, n, C->err);
        }
        lathe_reader_close(sr.r);
        if (st == LATHE_OK) {
            lathe_analysis an;
            lathe_analyzer_result(os.an, &an);
            t->lufs = an.integrated_lufs, t->true_peak_dbtp = an.true_peak_dbtp, t->lra_lu = an.loudness_range_lu;
            r->enc_in_tp = an.true_peak_dbtp;
            st = lathe_writer_commit(os.w, C->err);
            os.w = NULL;
            if (st == LATHE_OK && !C->lossy) r->tmp_done = 1;
        }
        out_free(&os);
        if (st == LATHE_OK && C->lossy) {
            /* codec-aware true peak: encode, decode, measure what was written */
            st = lathe_encode_file(r->pcm, r->tmp, C->ft, &C->a->codec, C->err);
            if (st == LATHE_OK) r->tmp_done = 1;
            lathe_analysis an;
            if (st == LATHE_OK) st = lathe_analyze_file_flags(r->tmp, 0, &an, NULL, C->err);
            if (st == LATHE_OK) {
                t->lufs = an.integrated_lufs, t->true_peak_dbtp = an.true_peak_dbtp, t->lra_lu = an.loudness_range_lu;
                if (t->encodes++ == 0) t->codec_tp_first_dbtp = an.true_peak_dbtp;
                t->codec_tp_final_dbtp = an.true_peak_dbtp;
            }
        }
        if (st == LATHE_OK) r->dirty = 0;
        if (C->o && C->o->progress) C->o->progress(C->o->user, "writing songs", (i + 1.0) / C->a->nsongs);
    }
    free(store);
    return st;
}

static lathe_status write_segment(ctx *C, int g, lathe_error *err)
{
    const int ch = C->channels, n = C->a->nsongs;
    lathe_album_segment *S = &C->rep->segments[g];
    tmp_name(C, S->path, C->seg_tmp[g], sizeof C->seg_tmp[g]);
    float *store = malloc(sizeof(float) * BLOCK * (size_t)ch * 2);
    if (!store) return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
    float *acc[LATHE_MAX_CHANNELS], *tmp[LATHE_MAX_CHANNELS];
    for (int c = 0; c < ch; c++) acc[c] = store + (size_t)c * BLOCK, tmp[c] = store + (size_t)(ch + c) * BLOCK;
    src_reader *rd = calloc((size_t)n, sizeof *rd);
    out_stream os;
    memset(&os, 0, sizeof os);
    if (C->lossy) pathf(C->seg_pcm[g], sizeof C->seg_pcm[g], "%s/album-%d.wav", C->work, g);
    lathe_status st = rd ? out_open(C, &os, C->lossy ? C->seg_pcm[g] : C->seg_tmp[g], err)
                         : lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
    for (long long k = 0; k < S->frames && st == LATHE_OK; k += BLOCK) {
        long nb = (long)(S->frames - k < BLOCK ? S->frames - k : BLOCK);
        for (int c = 0; c < ch; c++) memset(acc[c], 0, sizeof(float) * (size_t)nb);
        double dipb[BLOCK];
        for (long j = 0; j < nb; j++) dipb[j] = 1.0;
        for (int i = 0; i < n && st == LATHE_OK; i++) {
            song_run *r = &C->runs[i];
            if (C->rep->tracks[i].segment != g || r->end <= k || r->start >= k + nb) continue;
            long long from = r->start > k ? r->start : k, to = r->end < k + nb ? r->end : k + nb;
            if (!rd[i].r) st = src_open(&rd[i], r->mastered, err);
            if (st == LATHE_OK) st = src_read(&rd[i], from - r->start, tmp, ch, (long)(to - from), err);
            if (st != LATHE_OK) break;
            for (long long q = from; q < to; q++) {
                long long lk = q - r->start;
                double gsn = 1.0;
                if (lk < r->fin || lk >= r->len - r->fout) gsn *= fade_gain(r, lk);
                if (lk < r->xin || lk >= r->len - r->xout) gsn *= xfade_gain(r, lk);
                if (r->dip_db > 0 && lk < r->xin)
                    dipb[q - k] = pow(10.0, -r->dip_db / 20.0 * dip_window(lk, r->xin));
                for (int c = 0; c < ch; c++) {
                    double v = (double)tmp[c][q - from];
                    acc[c][q - k] += (float)(v * gsn);
                }
            }
            if (r->end <= k + nb) {
                lathe_reader_close(rd[i].r);
                rd[i].r = NULL;
            }
        }
        for (long j = 0; j < nb; j++)
            if (dipb[j] != 1.0)
                for (int c = 0; c < ch; c++) acc[c][j] = (float)((double)acc[c][j] * dipb[j]);
        if (st == LATHE_OK) st = out_write(&os, acc, nb, err);
    }
    if (rd)
        for (int i = 0; i < n; i++) lathe_reader_close(rd[i].r);
    free(rd);
    if (st == LATHE_OK) {
        lathe_analysis an;
        lathe_analyzer_result(os.an, &an);
        S->lufs = an.integrated_lufs, S->true_peak_dbtp = an.true_peak_dbtp;
        st = lathe_writer_commit(os.w, err);
        os.w = NULL;
        if (st == LATHE_OK && !C->lossy) C->seg_done[g] = 1;
    }
    out_free(&os);
    free(store);
    if (st == LATHE_OK && C->lossy) {
        st = lathe_encode_file(C->seg_pcm[g], C->seg_tmp[g], C->ft, &C->a->codec, err);
        if (st == LATHE_OK) C->seg_done[g] = 1;
        lathe_analysis an;
        if (st == LATHE_OK) st = lathe_analyze_file_flags(C->seg_tmp[g], 0, &an, NULL, err);
        if (st == LATHE_OK) {
            S->lufs = an.integrated_lufs, S->true_peak_dbtp = an.true_peak_dbtp;
            if (S->encodes++ == 0) S->codec_tp_first_dbtp = an.true_peak_dbtp;
            S->codec_tp_final_dbtp = an.true_peak_dbtp;
        }
    }
    return st;
}

/* The album file(s), on a thread of their own beside the song files when
 * more than one thread is allowed: the two read the same masters and write
 * different files, each with its own dither and meters (fixed seeds), so
 * the bytes do not depend on it. Lossy albums write them one after the
 * other (their encoders are not run side by side). The song files' error
 * comes first, as it did when they were written first. */
typedef struct {
    ctx *C;
    lathe_status st;
    lathe_error err;
} seg_job;

static void *seg_job_run(void *p)
{
    seg_job *j = p;
    lathe_denormals_off();
    j->st = LATHE_OK;
    for (int g = 0; g < j->C->rep->nsegments && j->st == LATHE_OK; g++) j->st = write_segment(j->C, g, &j->err);
    return NULL;
}

static lathe_status write_files(ctx *C)
{
    seg_job job = {C, LATHE_OK, {0}};
    pthread_t th;
    const int side = !C->lossy && !(C->o && C->o->threads == 1) && C->rep->nsegments > 0 &&
                     pthread_create(&th, NULL, seg_job_run, &job) == 0;
    lathe_status st = write_songs(C);
    if (side) pthread_join(th, NULL);
    else if (st == LATHE_OK) seg_job_run(&job);
    if (st == LATHE_OK && job.st != LATHE_OK) {
        *C->err = job.err;
        st = job.st;
    }
    return st;
}

/* ---- codec-aware true peak (lossy outputs) ---- */

/* An encode over the ceiling lowers the song's limiter ceiling by the
 * overshoot and this margin, as lathe master does (encoders do not scale
 * linearly); at most CODEC_PASSES encodes of the album. */
#define CODEC_MARGIN_DB 0.1
#define CODEC_PASSES 6
/* Frames either side of a song that count as its part of the album file:
 * a codec spreads a transient over its transform (MP3: 1152-sample
 * granules, Vorbis up to 2048, Opus 960) and pre-echo reaches before it. */
#define CODEC_REACH 2048

/* Lowers song i's limiter ceiling for a decoded true peak `dec` over its
 * ceiling, where the encoder's input peaked at `in`: by the overshoot, or
 * further when the codec's own expansion (dec - in) says so. */
static void lower_ceiling(ctx *C, int i, double dec, double in)
{
    song_run *r = &C->runs[i];
    double ceil = song_ceiling(C, i), cur = isfinite(r->ceil_run) ? r->ceil_run : ceil;
    double expand = isfinite(in) ? dec - in : 0;
    double next = fmin(cur - (dec - ceil), ceil - expand) - CODEC_MARGIN_DB;
    if (!isfinite(r->ceil_run) || next < r->ceil_run) r->ceil_run = next;
    r->dirty = 1;
}

/* After an encode pass: every decoded file (song files; each song's part of
 * the album file, crossfades included) against its ceiling. Songs over it
 * get a lower limiter ceiling (dirty: mastered and encoded again); returns
 * how many, or a negative status. */
static int codec_check(ctx *C)
{
    const lathe_album *a = C->a;
    lathe_album_report *R = C->rep;
    int n = a->nsongs;
    for (int i = 0; i < n; i++) C->runs[i].dirty = 0;
    for (int i = 0; i < n; i++)
        if (R->tracks[i].codec_tp_final_dbtp > song_ceiling(C, i))
            lower_ceiling(C, i, R->tracks[i].codec_tp_final_dbtp, C->runs[i].enc_in_tp);
    long long *st = malloc(sizeof(long long) * (size_t)n * 2);
    double *dec = malloc(sizeof(double) * (size_t)n * 2);
    if (!st || !dec) {
        free(st), free(dec);
        return lathe_error_set(C->err, LATHE_E_NOMEM, "out of memory");
    }
    long long *en = st + n;
    double *pin = dec + n;
    lathe_status rs = LATHE_OK;
    for (int g = 0; g < R->nsegments && rs == LATHE_OK; g++) {
        double lowest = R->ceiling_dbtp;
        for (int i = 0; i < n; i++)
            if (R->tracks[i].segment == g) lowest = fmin(lowest, song_ceiling(C, i));
        if (!(R->segments[g].true_peak_dbtp > lowest)) continue;
        /* which songs: the decoded file and the encoder's input, per song */
        for (int i = 0; i < n; i++) {
            int in = R->tracks[i].segment == g;
            st[i] = in ? C->runs[i].start - CODEC_REACH : 0;
            en[i] = in ? C->runs[i].end + CODEC_REACH : 0;
        }
        rs = lathe_range_true_peaks(C->seg_tmp[g], n, st, en, dec, C->err);
        if (rs == LATHE_OK) rs = lathe_range_true_peaks(C->seg_pcm[g], n, st, en, pin, C->err);
        for (int i = 0; rs == LATHE_OK && i < n; i++)
            if (R->tracks[i].segment == g && dec[i] > song_ceiling(C, i)) lower_ceiling(C, i, dec[i], pin[i]);
    }
    free(st), free(dec);
    if (rs != LATHE_OK) return rs;
    int over = 0;
    for (int i = 0; i < n; i++) over += C->runs[i].dirty;
    return over;
}

/* Album loudness: every song's file measured as one programme (ReplayGain 2.0 album gain). */
static lathe_status album_loudness(ctx *C)
{
    lathe_analyzer *an = lathe_analyzer_new(C->rate, C->channels, C->err);
    if (!an) return C->err->code;
    lathe_analyzer_set_flags(an, LATHE_ANALYZE_LOUDNESS_ONLY);
    float *store = malloc(sizeof(float) * BLOCK * (size_t)C->channels);
    float *b[LATHE_MAX_CHANNELS];
    lathe_status st = store ? LATHE_OK : lathe_error_set(C->err, LATHE_E_NOMEM, "out of memory");
    for (int c = 0; c < C->channels && store; c++) b[c] = store + (size_t)c * BLOCK;
    double peak = -INFINITY;
    for (int i = 0; i < C->a->nsongs && st == LATHE_OK; i++) {
        lathe_audio_info info;
        lathe_reader *r = lathe_reader_open(C->runs[i].tmp, &info, C->err);
        if (!r) {
            st = C->err->code;
            break;
        }
        for (;;) {
            long k = lathe_reader_read(r, b, BLOCK, C->err);
            if (k < 0) st = (lathe_status)k;
            if (k <= 0) break;
            lathe_analyzer_add(an, (const float *const *)b, k);
        }
        lathe_reader_close(r);
        peak = fmax(peak, C->rep->tracks[i].true_peak_dbtp);
    }
    lathe_analysis res;
    lathe_analyzer_result(an, &res);
    lathe_analyzer_free(an);
    free(store);
    C->rep->album_lufs = res.integrated_lufs;
    C->rep->album_peak = isfinite(peak) ? pow(10.0, peak / 20.0) : 0;
    return st;
}

static void cue_text(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) fputc(*s == '"' ? '\'' : (unsigned char)*s < 32 ? ' ' : *s, f);
    fputc('"', f);
}

static lathe_status write_cue(ctx *C, const lathe_meta *songm)
{
    const lathe_album *a = C->a;
    lathe_album_report *R = C->rep;
    tmp_name(C, R->cue_path, C->cue_tmp, sizeof C->cue_tmp);
    FILE *f = fopen(C->cue_tmp, "w");
    if (!f) return lathe_error_set(C->err, LATHE_E_IO, "%s: %s", C->cue_tmp, strerror(errno));
    C->cue_done = 1;
    char b[32], b2[32];
    fprintf(f, "REM GENERATOR \"lathe %s\"\n", LATHE_VERSION);
    if (isfinite(R->album_lufs))
        fprintf(f, "REM REPLAYGAIN_ALBUM_GAIN %s\nREM REPLAYGAIN_ALBUM_PEAK %s\n",
                lathe_replaygain_gain_str(b, lathe_replaygain_gain_db(R->album_lufs)),
                lathe_replaygain_peak_str(b2, R->album_peak));
    if (a->meta.genre) fprintf(f, "REM GENRE "), cue_text(f, a->meta.genre), fputc('\n', f);
    if (a->meta.year[0]) fprintf(f, "REM DATE %.4s\n", a->meta.year);
    if (a->meta.upc[0]) fprintf(f, "CATALOG %s%s\n", strlen(a->meta.upc) == 12 ? "0" : "", a->meta.upc);
    const char *perf = a->meta.album_artist ? a->meta.album_artist : a->meta.artist;
    if (perf) fprintf(f, "PERFORMER "), cue_text(f, perf), fputc('\n', f);
    if (a->meta.album) fprintf(f, "TITLE "), cue_text(f, a->meta.album), fputc('\n', f);
    int seg = -1;
    for (int i = 0; i < a->nsongs; i++) {
        const lathe_album_track *t = &R->tracks[i];
        const lathe_meta *m = &songm[i];
        if (t->segment != seg) {
            seg = t->segment;
            /* CDRWIN's types are BINARY, MOTOROLA, AIFF, WAVE and MP3; for
             * every other audio file (FLAC, Ogg Vorbis, Opus) players read
             * WAVE as "audio, decoded by its extension" (docs/album.md) */
            fprintf(f, "FILE ");
            cue_text(f, base_of(R->segments[seg].path));
            fprintf(f, " %s\n", C->ft == LATHE_FILE_AIFF ? "AIFF" : C->ft == LATHE_FILE_MP3 ? "MP3" : "WAVE");
        }
        fprintf(f, "  TRACK %02d AUDIO\n", i + 1);
        if (m->title) fprintf(f, "    TITLE "), cue_text(f, m->title), fputc('\n', f);
        if (m->artist) fprintf(f, "    PERFORMER "), cue_text(f, m->artist), fputc('\n', f);
        if (m->composer) fprintf(f, "    SONGWRITER "), cue_text(f, m->composer), fputc('\n', f);
        if (m->isrc[0]) fprintf(f, "    ISRC %s\n", m->isrc);
        if (t->index00 < t->index01) fprintf(f, "    INDEX 00 %s\n", lathe_cue_time(t->index00, C->rate, b, sizeof b));
        fprintf(f, "    INDEX 01 %s\n", lathe_cue_time(t->index01, C->rate, b, sizeof b));
    }
    if (fclose(f) != 0) return lathe_error_set(C->err, LATHE_E_IO, "%s: write failed", C->cue_tmp);
    return LATHE_OK;
}

void lathe_album_report_json(const lathe_album_report *R, FILE *f)
{
    lathe_json j;
    lathe_json_init(&j, f);
    lathe_json_object(&j, NULL);
    lathe_json_str(&j, "target", R->target);
    lathe_json_num(&j, "target_lufs", R->target_lufs, 2);
    lathe_json_num(&j, "ceiling_dbtp", R->ceiling_dbtp, 2);
    lathe_json_str(&j, "loudness", R->track_mode ? "track" : "album");
    lathe_json_num(&j, "sample_rate", R->rate, 0);
    lathe_json_int(&j, "bits", R->bits);
    lathe_json_str(&j, "format", R->format);
    lathe_json_str(&j, "codec", R->codec);
    if (R->lossy) lathe_json_int(&j, "codec_passes", R->codec_passes);
    lathe_json_num(&j, "album_gain_db", R->album_gain_db, 3);
    lathe_json_num(&j, "album_lufs", R->album_lufs, 2);
    lathe_json_num(&j, "album_peak", R->album_peak, 6);
    lathe_json_str(&j, "cue", R->cue_path);
    lathe_json_array(&j, "files");
    for (int g = 0; g < R->nsegments; g++) {
        lathe_json_object(&j, NULL);
        lathe_json_str(&j, "path", R->segments[g].path);
        if (R->segments[g].side) lathe_json_str(&j, "side", (char[2]){R->segments[g].side, 0});
        lathe_json_int(&j, "frames", R->segments[g].frames);
        lathe_json_num(&j, "duration_s", (double)R->segments[g].frames / R->rate, 3);
        lathe_json_num(&j, "integrated_lufs", R->segments[g].lufs, 2);
        lathe_json_num(&j, "true_peak_dbtp", R->segments[g].true_peak_dbtp, 2);
        if (R->lossy) {
            lathe_json_num(&j, "codec_true_peak_first_dbtp", R->segments[g].codec_tp_first_dbtp, 2);
            lathe_json_num(&j, "codec_true_peak_final_dbtp", R->segments[g].codec_tp_final_dbtp, 2);
            lathe_json_int(&j, "encodes", R->segments[g].encodes);
        }
        lathe_json_end(&j);
    }
    lathe_json_end(&j);
    lathe_json_array(&j, "tracks");
    for (int i = 0; i < R->ntracks; i++) {
        const lathe_album_track *t = &R->tracks[i];
        lathe_json_object(&j, NULL);
        lathe_json_int(&j, "number", t->number);
        lathe_json_str(&j, "title", t->title);
        lathe_json_str(&j, "path", t->path);
        if (t->side) lathe_json_str(&j, "side", (char[2]){(char)t->side, 0});
        lathe_json_int(&j, "file", t->segment);
        lathe_json_int(&j, "index00", t->index00);
        lathe_json_int(&j, "index01", t->index01);
        lathe_json_int(&j, "frames", t->frames);
        lathe_json_num(&j, "duration_s", (double)t->frames / R->rate, 3);
        lathe_json_num(&j, "gain_db", t->gain_db, 3);
        lathe_json_bool(&j, "solved", t->solved);
        lathe_json_num(&j, "target_lufs", t->target_lufs, 2);
        lathe_json_num(&j, "integrated_lufs", t->lufs, 2);
        lathe_json_num(&j, "true_peak_dbtp", t->true_peak_dbtp, 2);
        lathe_json_num(&j, "loudness_range_lu", t->lra_lu, 2);
        lathe_json_num(&j, "crossfade_peak_dbtp", t->xfade_peak_dbtp, 2);
        lathe_json_num(&j, "crossfade_dip_db", t->xfade_dip_db, 2);
        if (R->lossy) {
            lathe_json_num(&j, "codec_true_peak_first_dbtp", t->codec_tp_first_dbtp, 2);
            lathe_json_num(&j, "codec_true_peak_final_dbtp", t->codec_tp_final_dbtp, 2);
            lathe_json_int(&j, "encodes", t->encodes);
            lathe_json_num(&j, "limiter_ceiling_dbtp", t->limiter_ceiling_dbtp, 2);
        }
        lathe_json_array(&j, "warnings");
        for (int w = 0; w < t->nwarnings; w++) {
            lathe_json_object(&j, NULL);
            lathe_json_str(&j, "code", t->warnings[w].code);
            lathe_json_str(&j, "text", t->warnings[w].text);
            lathe_json_end(&j);
        }
        lathe_json_end(&j);
        lathe_json_end(&j);
    }
    lathe_json_end(&j);
    lathe_json_array(&j, "warnings");
    for (int w = 0; w < R->nwarnings; w++) {
        lathe_json_object(&j, NULL);
        lathe_json_str(&j, "code", R->warnings[w].code);
        lathe_json_str(&j, "text", R->warnings[w].text);
        lathe_json_end(&j);
    }
    lathe_json_end(&j);
    lathe_json_end(&j);
    fputc('\n', f);
}

void lathe_album_report_free(lathe_album_report *rep)
{
    if (!rep) return;
    free(rep->tracks);
    rep->tracks = NULL;
    rep->ntracks = 0;
}

static void rm_work(ctx *C)
{
    if (!C->work[0]) return;
    /* masters are numbered by song; more than 99 songs only when not a CD */
    for (int i = 0; i < C->a->nsongs; i++) {
        char p[1200];
        const char *names[] = {"mix", "stereo", "master", "song"};
        for (int k = 0; k < 4; k++) {
            snprintf(p, sizeof p, "%s/%s-%02d.wav", C->work, names[k], i + 1);
            unlink(p);
        }
    }
    for (int g = 0; g < 2; g++)
        if (C->seg_pcm[g][0]) unlink(C->seg_pcm[g]);
    rmdir(C->work);
    C->work[0] = '\0';
}

lathe_status lathe_album_render(const lathe_album *a, const char *outdir, const lathe_album_options *opt,
                                lathe_album_report *rep, lathe_diags *diags, lathe_error *err)
{
    lathe_error lerr;
    if (!err) err = &lerr;
    lathe_error_clear(err);
    lathe_diags ldiags;
    lathe_diags *d = diags ? diags : &ldiags;
    memset(d, 0, sizeof *d);
    d->file = strdup(a->path);
    lathe_album_report lrep;
    lathe_album_report *R = rep ? rep : &lrep;
    memset(R, 0, sizeof *R);
    ctx C;
    memset(&C, 0, sizeof C);
    C.a = a, C.o = opt, C.rep = R, C.d = d, C.err = err;
    C.loudest = -1, C.G = NAN;
    lathe_meta *songm = NULL;
    lathe_meta albm;
    memset(&albm, 0, sizeof albm);
    lathe_status st = LATHE_OK;
    int made_dir = 0;

    C.tg = lathe_target_find(a->target ? a->target : "spotify");
    if (!C.tg) return lathe_error_set(err, LATHE_E_INVALID, "unknown target '%s'", a->target);
    R->cd = strcmp(C.tg->name, "cd") == 0;
    snprintf(R->target, sizeof R->target, "%s", C.tg->name);
    R->target_lufs = isfinite(a->lufs) ? a->lufs : C.tg->lufs;
    if (a->reference && !isfinite(a->lufs) && !a->target) {
        /* the reference's loudness is the album's target */
        lathe_analysis ra;
        lathe_status rs = lathe_analyze_file(a->reference, &ra, NULL, err);
        if (rs != LATHE_OK) {
            lathe_error_prefix(err, "reference");
            return rs;
        }
        if (isfinite(ra.integrated_lufs)) R->target_lufs = ra.integrated_lufs;
    }
    R->ceiling_dbtp = isfinite(a->ceiling_dbtp) ? a->ceiling_dbtp : C.tg->ceiling_dbtp;
    R->track_mode = a->track_mode;
    R->album_gain_db = NAN;
    /* the format: the album's; else the preset's when it is lossless (a
     * lossy preset format, podcast's mp3, gives wav unless asked for) */
    C.ft = a->format ? lathe_file_type_from_name(a->format) : LATHE_FILE_AUTO;
    if (C.ft == LATHE_FILE_AUTO && C.tg->format) {
        C.ft = lathe_file_type_from_name(C.tg->format);
        if (lathe_file_type_lossy(C.ft)) C.ft = LATHE_FILE_AUTO;
    }
    if (C.ft == LATHE_FILE_AUTO) C.ft = LATHE_FILE_WAV;
    C.lossy = lathe_file_type_lossy(C.ft);
    const char *fmt = lathe_file_type_name(C.ft);
    snprintf(C.ext, sizeof C.ext, "%s", fmt);
    snprintf(R->format, sizeof R->format, "%s", fmt);
    R->lossy = C.lossy;
    C.bits = a->bits ? a->bits : C.tg->bits ? C.tg->bits : 24;
    if (strcmp(fmt, "flac") == 0 && C.bits == 32) C.bits = 24;
    C.rate = a->rate > 0 ? a->rate : C.tg->rate;
    if (R->cd && ((a->rate > 0 && a->rate != 44100) || (a->bits && a->bits != 16)))
        return lathe_error_set(err, LATHE_E_INVALID, "the cd preset is 44.1 kHz 16-bit (rate and bits cannot change)");
    const lathe_codec_options *co = &a->codec;
    const int codec_given = co->bitrate_kbps || co->vbr || co->quality > 0;
    if (R->cd && C.lossy)
        return lathe_error_set(err, LATHE_E_INVALID, "the cd preset writes 16-bit PCM (wav, flac or aiff), not %s", fmt);
    if (C.lossy && a->bits)
        return lathe_error_set(err, LATHE_E_INVALID,
                               "bits: %s is encoded from 32-bit float masters (leave bits out)", fmt);
    if (!C.lossy && codec_given)
        return lathe_error_set(err, LATHE_E_INVALID, "bitrate, vbr and quality are for mp3, ogg and opus, not %s", fmt);
    if (C.ft != LATHE_FILE_MP3 && co->vbr)
        return lathe_error_set(err, LATHE_E_INVALID, "vbr is for mp3 (LAME's V0..V9), not %s", fmt);
    if (C.ft != LATHE_FILE_OGG && co->quality > 0)
        return lathe_error_set(err, LATHE_E_INVALID, "quality is for ogg (Vorbis 0.1..10), not %s", fmt);
    if (C.ft == LATHE_FILE_OGG && co->bitrate_kbps)
        return lathe_error_set(err, LATHE_E_INVALID, "bitrate: Vorbis takes a quality (quality: 0.1..10), not a bitrate");
    if (C.ft == LATHE_FILE_MP3 && co->bitrate_kbps && (co->bitrate_kbps < 32 || co->bitrate_kbps > 320))
        return lathe_error_set(err, LATHE_E_INVALID, "bitrate: MP3 takes 32 to 320 kbps, not %d", co->bitrate_kbps);
    if (C.ft == LATHE_FILE_OPUS) {
        /* Opus decodes at 48 kHz (RFC 7845 5.1: the input rate is only a hint) */
        if (a->rate > 0 && a->rate != 48000)
            return lathe_error_set(err, LATHE_E_INVALID, "rate: an Opus album is at 48000 Hz, not %.0f Hz", a->rate);
        C.rate = 48000;
    }
    if (C.ft == LATHE_FILE_MP3 && a->rate > 0 && a->rate != 32000 && a->rate != 44100 && a->rate != 48000)
        return lathe_error_set(err, LATHE_E_INVALID, "rate: an MP3 album is at 32000, 44100 or 48000 Hz, not %.0f Hz",
                               a->rate);

    C.runs = calloc((size_t)a->nsongs, sizeof *C.runs);
    R->tracks = calloc((size_t)a->nsongs, sizeof *R->tracks);
    songm = calloc((size_t)a->nsongs, sizeof *songm);
    if (!C.runs || !R->tracks || !songm) {
        st = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        goto fail;
    }
    R->ntracks = a->nsongs;
    if (a->reference) {
        if (!(C.refan = malloc(sizeof *C.refan))) {
            st = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
            goto fail;
        }
        if ((st = lathe_ref_analyze_file(a->reference, C.refan, err)) != LATHE_OK) {
            lathe_error_prefix(err, "reference");
            goto fail;
        }
    }
    for (int i = 0; i < a->nsongs; i++) {
        C.runs[i].ceil_run = C.runs[i].enc_in_tp = NAN;
        R->tracks[i].codec_tp_first_dbtp = R->tracks[i].codec_tp_final_dbtp = NAN;
        R->tracks[i].limiter_ceiling_dbtp = NAN;
    }
    for (int g = 0; g < 2; g++) R->segments[g].codec_tp_first_dbtp = R->segments[g].codec_tp_final_dbtp = NAN;

    /* names and metadata */
    made_dir = mkdir(outdir, 0777) == 0;
    if (!made_dir && errno != EEXIST) {
        st = lathe_error_set(err, LATHE_E_CREATE, "%s: cannot create the folder: %s", outdir, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (stat(outdir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        st = lathe_error_set(err, LATHE_E_IO, "%s: not a folder", outdir);
        goto fail;
    }
    const char **inputs = calloc((size_t)a->nsongs + 1, sizeof *inputs);
    if (!inputs) {
        st = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < a->nsongs; i++) inputs[i] = a->songs[i].file;
    inputs[a->nsongs] = a->path;
    for (int i = 0; i < a->nsongs && st == LATHE_OK; i++) {
        lathe_meta *m = &songm[i];
        if ((st = lathe_meta_merge(m, &a->meta, err)) == LATHE_OK) st = lathe_meta_merge(m, &a->songs[i].meta, err);
        if (st != LATHE_OK) break;
        if (!a->songs[i].meta.track) m->track = i + 1, m->track_total = a->nsongs;
        char name[300];
        song_name(&a->songs[i], m, name, sizeof name);
        pathf(R->tracks[i].title, sizeof R->tracks[i].title, "%s", m->title ? m->title : name);
        pathf(R->tracks[i].path, sizeof R->tracks[i].path, "%s/%02d %s.%s", outdir, i + 1, name, C.ext);
        pathf(C.runs[i].final, sizeof C.runs[i].final, "%s", R->tracks[i].path);
        st = lathe_output_check(R->tracks[i].path, inputs, a->nsongs + 1, opt && opt->overwrite, err);
    }
    int sides = 0;
    for (int i = 0; i < a->nsongs; i++) sides |= a->songs[i].side == 'B' ? 2 : a->songs[i].side ? 1 : 0;
    for (int g = 0; g < (sides == 3 ? 2 : 1) && st == LATHE_OK; g++) {
        if (sides) pathf(R->segments[g].path, sizeof R->segments[g].path, "%s/%s - side %c.%s", outdir, a->name,
                            (sides & 1) || g ? 'A' + g : 'B', C.ext);
        else pathf(R->segments[g].path, sizeof R->segments[g].path, "%s/%s.%s", outdir, a->name, C.ext);
        st = lathe_output_check(R->segments[g].path, inputs, a->nsongs + 1, opt && opt->overwrite, err);
    }
    pathf(R->cue_path, sizeof R->cue_path, "%s/%s.cue", outdir, a->name);
    pathf(R->json_path, sizeof R->json_path, "%s/%s.json", outdir, a->name);
    if (st == LATHE_OK) st = lathe_output_check(R->cue_path, inputs, a->nsongs + 1, opt && opt->overwrite, err);
    if (st == LATHE_OK) st = lathe_output_check(R->json_path, inputs, a->nsongs + 1, opt && opt->overwrite, err);
    free(inputs);
    if (st != LATHE_OK) goto fail;

    pathf(C.work, sizeof C.work, "%s/.lathe-album-XXXXXX", outdir);
    if (!mkdtemp(C.work)) {
        st = lathe_error_set(err, LATHE_E_IO, "%s: cannot create a work folder: %s", outdir, strerror(errno));
        C.work[0] = '\0';
        goto fail;
    }
    if ((st = make_sources(&C)) != LATHE_OK) goto fail;
    /* the output rate and channels */
    C.channels = 1;
    for (int i = 0; i < a->nsongs; i++) {
        lathe_audio_info info;
        lathe_reader *r = lathe_reader_open(C.runs[i].src, &info, err);
        if (!r) {
            st = err->code;
            goto fail;
        }
        lathe_reader_close(r);
        if (info.channels > C.channels) C.channels = info.channels;
        if (C.rate <= 0) C.rate = info.rate;
        if (!a->master && info.rate != C.rate) {
            st = lathe_error_set(err, LATHE_E_INVALID,
                                 "%s: %.0f Hz, the album is at %.0f Hz (with `master: off` every song must be at the "
                                 "album's rate)",
                                 a->songs[i].file, info.rate, C.rate);
            goto fail;
        }
    }
    if (C.channels > 2) C.channels = 2;
    if (C.ft == LATHE_FILE_MP3 && C.rate != 32000 && C.rate != 44100 && C.rate != 48000)
        C.rate = fmod(C.rate, 11025.0) == 0 ? 44100 : C.rate < 32000 ? 32000 : 48000; /* MPEG-1 Layer III rates */
    if (C.ft == LATHE_FILE_OPUS && co->bitrate_kbps &&
        (co->bitrate_kbps < 6 * C.channels || co->bitrate_kbps > 256 * C.channels)) {
        st = lathe_error_set(err, LATHE_E_INVALID, "bitrate: Opus takes %d to %d kbps for %d channel%s, not %d",
                             6 * C.channels, 256 * C.channels, C.channels, C.channels == 1 ? "" : "s",
                             co->bitrate_kbps);
        goto fail;
    }
    lathe_codec_name(R->codec, sizeof R->codec, C.ft, co, C.lossy ? 32 : C.bits, C.channels);
    for (int i = 0; i < a->nsongs && C.channels == 2 && a->master; i++) {
        lathe_audio_info info;
        lathe_reader *r = lathe_reader_open(C.runs[i].src, &info, err);
        lathe_reader_close(r);
        if (r && info.channels == 1 && (st = upmix(&C, &C.runs[i], i)) != LATHE_OK) goto fail;
    }
    if (C.lossy) C.bits = 32; /* encoded from float: no dither, no quantisation before the codec */
    R->rate = C.rate, R->bits = C.bits;
    C.F = fmod(C.rate, 75.0) == 0 ? (long long)(C.rate / 75.0) : 1;
    if (C.F == 1) warn(R, "cue-frames", "%.0f Hz is not a multiple of 75: CUE times are rounded to 1/75 s", C.rate);

    if ((st = make_masters(&C)) != LATHE_OK) goto fail;
    for (int i = 0; i < a->nsongs; i++) {
        lathe_audio_info info;
        lathe_reader *r = lathe_reader_open(C.runs[i].mastered, &info, err);
        if (!r) {
            st = err->code;
            goto fail;
        }
        lathe_reader_close(r);
        C.runs[i].len = info.frames, C.runs[i].channels = info.channels;
    }
    plan(&C);
    if (d->count) {
        st = LATHE_E_INVALID;
        lathe_error_set(err, st, "the album breaks %d rule%s", d->count, d->count == 1 ? "" : "s");
        goto fail;
    }
    /* write (lossy: encode, decode, measure) until no file is over its
     * ceiling; a song over it, in its own file or in the album file, is
     * mastered again with a lower limiter ceiling */
    for (int i = 0; i < a->nsongs; i++) C.runs[i].dirty = 1;
    for (;;) {
        if ((st = crossfade_dips(&C)) != LATHE_OK) goto fail;
        if ((st = write_files(&C)) != LATHE_OK) goto fail;
        if (!C.lossy) break;
        R->codec_passes++;
        int over = codec_check(&C);
        if (over < 0) {
            st = (lathe_status)over;
            goto fail;
        }
        if (over == 0) break;
        int worst = -1;
        for (int i = 0; i < a->nsongs; i++)
            if (C.runs[i].dirty && (worst < 0 || R->tracks[i].codec_tp_final_dbtp > R->tracks[worst].codec_tp_final_dbtp))
                worst = i;
        if (!a->master || R->codec_passes >= CODEC_PASSES) {
            st = lathe_error_set(err, LATHE_E_INVALID,
                                 "song %d: the %s encoder takes it over its ceiling of %.2f dBTP (%.2f dBTP decoded in "
                                 "its file)%s",
                                 worst + 1, fmt, song_ceiling(&C, worst), R->tracks[worst].codec_tp_final_dbtp,
                                 a->master ? ", still after lowering the limiter's ceiling"
                                           : "; with master: off lathe cannot lower it (lower the ceiling or master)");
            goto fail;
        }
        for (int i = 0; i < a->nsongs; i++) {
            if (!C.runs[i].dirty) continue;
            long long len = C.runs[i].len;
            if ((st = remaster(&C, i)) != LATHE_OK) goto fail;
            lathe_audio_info info;
            lathe_reader *rd = lathe_reader_open(C.runs[i].mastered, &info, err);
            if (!rd) {
                st = err->code;
                goto fail;
            }
            lathe_reader_close(rd);
            if (info.frames != len) {
                st = lathe_error_set(err, LATHE_E_INVALID, "song %d: its length changed when mastered again", i + 1);
                goto fail;
            }
        }
        if (C.o && C.o->progress) C.o->progress(C.o->user, "encoding again", 0);
    }
    if ((st = album_loudness(&C)) != LATHE_OK) goto fail;

    /* tags */
    for (int i = 0; i < a->nsongs; i++) {
        lathe_meta_set_loudness(&songm[i], 0, R->tracks[i].lufs, pow(10.0, R->tracks[i].true_peak_dbtp / 20.0));
        lathe_meta_set_loudness(&songm[i], 1, R->album_lufs, R->album_peak);
        if ((st = lathe_tags_write_named(C.runs[i].tmp, C.runs[i].final, &songm[i], err)) != LATHE_OK) goto fail;
    }
    if ((st = lathe_meta_merge(&albm, &a->meta, err)) != LATHE_OK) goto fail;
    if (!albm.title && albm.album) albm.title = strdup(albm.album);
    for (int g = 0; g < R->nsegments; g++) {
        lathe_meta_set_loudness(&albm, 0, R->segments[g].lufs, pow(10.0, R->segments[g].true_peak_dbtp / 20.0));
        lathe_meta_set_loudness(&albm, 1, R->album_lufs, R->album_peak);
        if ((st = lathe_tags_write_named(C.seg_tmp[g], R->segments[g].path, &albm, err)) != LATHE_OK) goto fail;
    }
    if ((st = write_cue(&C, songm)) != LATHE_OK) goto fail;
    tmp_name(&C, R->json_path, C.json_tmp, sizeof C.json_tmp);
    {
        FILE *f = fopen(C.json_tmp, "w");
        if (!f) {
            st = lathe_error_set(err, LATHE_E_IO, "%s: %s", C.json_tmp, strerror(errno));
            goto fail;
        }
        C.json_done = 1;
        lathe_album_report_json(R, f);
        if (fclose(f) != 0) {
            st = lathe_error_set(err, LATHE_E_IO, "%s: write failed", C.json_tmp);
            goto fail;
        }
    }
    /* every file is finished: move them into place */
    for (int i = 0; i < a->nsongs; i++)
        if (rename(C.runs[i].tmp, C.runs[i].final) == 0) C.runs[i].tmp_done = 0;
        else st = lathe_error_set(err, LATHE_E_IO, "%s: %s", C.runs[i].final, strerror(errno));
    for (int g = 0; g < R->nsegments; g++)
        if (rename(C.seg_tmp[g], R->segments[g].path) == 0) C.seg_done[g] = 0;
        else st = lathe_error_set(err, LATHE_E_IO, "%s: %s", R->segments[g].path, strerror(errno));
    if (rename(C.cue_tmp, R->cue_path) == 0) C.cue_done = 0;
    else st = lathe_error_set(err, LATHE_E_IO, "%s: %s", R->cue_path, strerror(errno));
    if (rename(C.json_tmp, R->json_path) == 0) C.json_done = 0;
    else st = lathe_error_set(err, LATHE_E_IO, "%s: %s", R->json_path, strerror(errno));
    if (st != LATHE_OK) goto fail;
    rm_work(&C);
    for (int i = 0; i < a->nsongs; i++) lathe_meta_free(&songm[i]);
    free(songm);
    lathe_meta_free(&albm);
    free(C.runs);
    free(C.refan);
    if (!diags) lathe_diags_free(&ldiags);
    if (!rep) lathe_album_report_free(&lrep);
    return LATHE_OK;

fail:
    if (C.runs)
        for (int i = 0; i < a->nsongs; i++)
            if (C.runs[i].tmp_done) unlink(C.runs[i].tmp);
    for (int g = 0; g < 2; g++)
        if (C.seg_done[g]) unlink(C.seg_tmp[g]);
    if (C.cue_done) unlink(C.cue_tmp);
    if (C.json_done) unlink(C.json_tmp);
    rm_work(&C);
    if (made_dir) rmdir(outdir); /* only when empty: it was created here */
    if (songm)
        for (int i = 0; i < a->nsongs; i++) lathe_meta_free(&songm[i]);
    free(songm);
    lathe_meta_free(&albm);
    free(C.runs);
    free(C.refan);
    lathe_diags_sort(d);
    if (!diags) lathe_diags_free(&ldiags);
    if (!rep) lathe_album_report_free(&lrep);
    return st != LATHE_OK ? st : LATHE_E_INVALID;
}
