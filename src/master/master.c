/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe master: the mastering chain as data, the loudness solve, the checks
 * and the findings.  See lathe/master.h for the design. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lathe/engine.h"
#include "lathe/io.h"
#include "lathe/master.h"
#include "lathe/param.h"
#include "lathe/reference.h"
#include "lathe/targets.h"
#include "session/session_internal.h"
#include "master/encode.h"

/* ---- the default chain, as data ---- */

typedef struct {
    const char *key, *value; /* parameter and its text, as in a chain file */
} kv;

typedef struct {
    const char *name;     /* stage name in chain files */
    const char *proc;     /* processor */
    int on;               /* on by default */
    kv set[8];            /* settings that differ from the processor's defaults */
} stage_def;

/* Order is the signal order. The drive (solved gain) sits between the last
 * of these and the limiter. */
static const stage_def STAGES[] = {
    /* DC and subsonic rumble: 2nd-order Butterworth at 20 Hz (-0.3 dB at 40 Hz) */
    {"highpass", "eq", 1, {{"band1.type", "highpass"}, {"band1.freq", "20 Hz"}, {"band1.slope", "12"}}},
    /* tonal EQ: flat until the user gives bands (or phase: linear) */
    {"eq", "eq", 0, {{0, 0}}},
    /* reference mastering: tone and width toward a reference (lathe/reference.h),
     * on only when a plan sets it (or a chain file) */
    {"match", "match", 0, {{0, 0}}},
    /* glue: gentle, slow, RMS, bass-insensitive detector; threshold set from
     * the input's loudness when not given (see glue_threshold) */
    {"glue", "compressor", 1,
     {{"ratio", "2"}, {"knee", "6 dB"}, {"attack", "30 ms"}, {"release", "300 ms"},
      {"detect", "rms"}, {"window", "50 ms"}, {"sc_hpf", "80 Hz"}}},
    {"multiband", "multiband", 0, {{0, 0}}},
    {"deesser", "deesser", 0, {{"threshold", "-24 dB"}, {"range", "4 dB"}}},
    {"stereo", "stereo", 0, {{0, 0}}},
    {"saturate", "saturate", 0, {{"curve", "softclip"}, {"drive", "3 dB"}, {"output", "-3 dB"}}},
    {"reverb", "reverb", 0, {{"mix", "6 %"}}},
    /* the true-peak limiter: programme-dependent release, 3 ms lookahead */
    {"limiter", "limiter", 1, {{"lookahead", "3 ms"}, {"release", "120 ms"}, {"auto_release", "on"}}},
    {"dither", "dither", 1, {{0, 0}}},
};
#define NSTAGES ((int)(sizeof STAGES / sizeof STAGES[0]))
enum { S_HIGHPASS, S_EQ, S_MATCH, S_GLUE, S_MULTIBAND, S_DEESSER, S_STEREO, S_SATURATE, S_REVERB,
       S_LIMITER, S_DITHER };

/* ---- the reference settings of a chain file, as a parameter table ----
 * `reference:` in a chain file is read like a stage: a map of these
 * parameters (units, ranges and "did you mean" from the one parser), or a
 * path alone.  They mirror the command line (--reference, --tone-target,
 * --match, --amount[-tone|-width|-dynamics], --max-eq), which wins. */
static const char *const REF_TONE_TARGETS[] = {"neutral", "warm", "bright", NULL};
static const char *const REF_PHASES[] = {"linear", "minimum", NULL};
static const lathe_param_desc REF_PARAMS[] = {
    {"file", "", "the reference track (a path relative to the chain file)", 0, 0, 0,
     LATHE_PARAM_STRING, NULL, 0},
    {"tone_target", "", "a built-in tone target instead of a track", 0, 2, 0, LATHE_PARAM_CHOICE,
     REF_TONE_TARGETS, 0},
    {"match.loudness", "", "match the integrated loudness", 0, 1, 1, LATHE_PARAM_BOOL, NULL, 0},
    {"match.tone", "", "match the mid spectrum's shape", 0, 1, 1, LATHE_PARAM_BOOL, NULL, 0},
    {"match.width", "", "match side/mid per band", 0, 1, 1, LATHE_PARAM_BOOL, NULL, 0},
    {"match.dynamics", "", "compress toward the reference's PLR", 0, 1, 0, LATHE_PARAM_BOOL, NULL, 0},
    {"amount", "%", "every correction's amount", 0, 100, 100, LATHE_PARAM_NUMBER, NULL, 0},
    {"amount_tone", "%", "the tone correction's amount", 0, 100, 100, LATHE_PARAM_NUMBER, NULL, 0},
    {"amount_width", "%", "the width change's amount", 0, 100, 100, LATHE_PARAM_NUMBER, NULL, 0},
    {"amount_dynamics", "%", "the compression's amount", 0, 100, 100, LATHE_PARAM_NUMBER, NULL, 0},
    {"max_eq", "dB", "limit of each band's tone correction", 0, 24, 6, LATHE_PARAM_NUMBER, NULL, 0},
    {"max_width", "dB", "limit of each band's width change", 0, 24, 6, LATHE_PARAM_NUMBER, NULL, 0},
    {"phase", "", "the match stage's FIR: linear or minimum phase", 0, 1, 0, LATHE_PARAM_CHOICE,
     REF_PHASES, 0},
};
enum { R_FILE, R_TONE, R_M_LOUD, R_M_TONE, R_M_WIDTH, R_M_DYN, R_AMOUNT, R_AMOUNT_TONE,
       R_AMOUNT_WIDTH, R_AMOUNT_DYN, R_MAX_EQ, R_MAX_WIDTH, R_PHASE, R_N };
static const lathe_proc_desc REF_DESC = {
    "reference", "reference mastering settings (docs/reference.md)", REF_PARAMS, R_N, 0,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

int lathe_master_chain_stages(lathe_stage *st, int max)
{
    int n = 0;
    for (int i = 0; i < NSTAGES && n < max; i++) {
        const lathe_proc_desc *d = lathe_processor_find(STAGES[i].proc);
        if (!d) continue; /* as the render: a stage without its processor is left out */
        memset(&st[n], 0, sizeof st[n]);
        st[n].name = STAGES[i].name, st[n].desc = d;
        n++;
    }
    if (n < max) {
        memset(&st[n], 0, sizeof st[n]);
        st[n].name = "reference", st[n].desc = &REF_DESC;
        n++;
    }
    return n;
}

int lathe_master_chain_check(const char *path, lathe_diags *diags)
{
    lathe_stage st[NSTAGES + 1];
    int n = lathe_master_chain_stages(st, NSTAGES + 1);
    lathe_session *s = lathe_chain_file_load(path, st, n, diags);
    lathe_session_free(s);
    lathe_stages_free(st, n);
    return s != NULL;
}

/* The reference settings in force: the chain file's, under the caller's. */
typedef struct {
    int given;            /* the chain file has a reference: map (on) */
    char *file;           /* its file, resolved (owned) */
    int tone;             /* its tone target (index), or -1 */
    int phase;            /* its phase (0 linear, 1 minimum), or -1 */
    double v[R_N];        /* its values, NAN where not given */
    int line, col;        /* where `reference:` is */
} chain_ref;

typedef struct {
    const lathe_proc_desc *desc; /* NULL when the processor is not built in */
    int on;
    double *values;
    char **strings;
    int threshold_given;
} stage;

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static lathe_status set_text(stage *st, const char *key, const char *text, lathe_error *err)
{
    int i = lathe_proc_param_index(st->desc, key);
    if (i < 0) return lathe_error_set(err, LATHE_E_INVALID, "%s has no parameter %s", st->desc->name, key);
    return lathe_param_parse(&st->desc->params[i], text, NULL, &st->values[i], err);
}

static void stages_free(stage *s)
{
    for (int i = 0; i < NSTAGES; i++) {
        if (s[i].strings && s[i].desc)
            for (int q = 0; q < s[i].desc->nparams; q++) free(s[i].strings[q]);
        free(s[i].strings);
        free(s[i].values);
    }
}

/* ---- building the one-track sessions ---- */

static lathe_chain_entry entry_from(const lathe_proc_desc *d, const double *values,
                                    char *const *strings, const char *label)
{
    lathe_chain_entry ce;
    memset(&ce, 0, sizeof ce);
    ce.desc = d;
    ce.label = dupstr(label);
    ce.values = calloc((size_t)d->nparams + 1, sizeof *ce.values);
    ce.strings = calloc((size_t)d->nparams + 1, sizeof *ce.strings);
    ce.key_node = -1;
    for (int q = 0; ce.values && q < d->nparams; q++) ce.values[q] = values ? values[q] : d->params[q].def;
    for (int q = 0; ce.strings && strings && q < d->nparams; q++)
        if (strings[q]) ce.strings[q] = dupstr(strings[q]);
    return ce;
}

/* A session: one track (file, gain) and `chain` on a line of nodes. The
 * engine runs the nodes of a session's levels on different blocks at the same
 * time (render.c, "Scheduling"), so a chain spread over a line of nodes keeps
 * both cores busy where one node would run it on one. The entries before the
 * first one that reports gain reduction get a bus each; that entry and the
 * rest run on the master, whose entries are the ones the engine reports
 * curves for (lathe_mix_options.series). A bus at 0 dB, centre, copies its
 * input exactly, so the output is what one node would give. *split receives
 * the index of the first entry on the master. The caller frees the session
 * with line_free (the chain stays the caller's). */
static lathe_session *one_track(const char *file, double rate, double gain_db, lathe_chain_entry *chain,
                                int nchain, int *split)
{
    int nb = 0;
    while (nb < nchain && !chain[nb].desc->reduction_db) nb++;
    *split = nb;
    lathe_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->path = dupstr("master");
    s->dir = dupstr(".");
    s->rate = rate;
    s->tempo_bpm = 120;
    s->beats_per_bar = 4;
    s->range_end_s = -1;
    s->tail_s = -1;
    s->nnodes = nb + 2;
    s->master = nb + 1;
    s->nodes = calloc((size_t)s->nnodes, sizeof *s->nodes);
    if (!s->nodes) {
        lathe_session_free(s);
        return NULL;
    }
    lathe_node *t = &s->nodes[0], *m = &s->nodes[nb + 1];
    t->name = dupstr("input");
    t->kind = LATHE_NODE_TRACK;
    t->file = dupstr(file);
    t->gain_db = gain_db;
    t->out = 1;
    for (int k = 0; k < nb; k++) {
        lathe_node *b = &s->nodes[1 + k];
        b->name = dupstr(chain[k].label);
        b->kind = LATHE_NODE_BUS;
        b->out = 2 + k;
        b->chain = chain + k;
        b->nchain = 1;
    }
    m->name = dupstr("master");
    m->kind = LATHE_NODE_MASTER;
    m->out = -1;
    m->chain = chain + nb;
    m->nchain = nchain - nb;
    return s;
}

/* Frees a one_track session, not the chain it borrows. */
static void line_free(lathe_session *s)
{
    for (int i = 0; s && i < s->nnodes; i++) s->nodes[i].chain = NULL, s->nodes[i].nchain = 0;
    lathe_session_free(s);
}

/* ---- temporary files ---- */

static char *temp_wav(lathe_error *err)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t n = strlen(dir) + 48;
    char *p = malloc(n);
    if (!p) return NULL;
    snprintf(p, n, "%s/lathe-master-XXXXXX.wav", dir);
    int fd = mkstemps(p, 4);
    if (fd < 0) {
        lathe_error_set(err, LATHE_E_IO, "%s: cannot create a temporary file: %s", dir, strerror(errno));
        free(p);
        return NULL;
    }
    close(fd);
    return p;
}

/* A write error names the file the user asked for, not a temporary one:
 * "OUT: write failed: ..." for the final render beside OUT, "OUT: its
 * temporary file in DIR: ..." for the cache and the encoder's input in
 * $TMPDIR (so the message says which disk is full). */
static void blame_output(lathe_error *err, const char *tmp, const char *out, int in_tmpdir)
{
    size_t n = tmp ? strlen(tmp) : 0;
    if (!err || !n || strncmp(err->msg, tmp, n) != 0 || strncmp(err->msg + n, ": ", 2) != 0) return;
    char rest[LATHE_ERROR_MAX], dir[LATHE_ERROR_MAX / 2];
    snprintf(rest, sizeof rest, "%s", err->msg + n + 2);
    const char *slash = strrchr(tmp, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - tmp) : 1, slash ? tmp : ".");
    if (in_tmpdir)
        snprintf(err->msg, sizeof err->msg, "%.300s: its temporary file in %.300s: %.380s", out, dir, rest);
    else
        snprintf(err->msg, sizeof err->msg, "%.500s: %.500s", out, rest);
}

/* "DIR/.NAME.lathe-final.EXT" next to out: the final render, renamed onto
 * out only once it passed the checks. */
static char *candidate_path(const char *out, lathe_file_type ft)
{
    const char *slash = strrchr(out, '/');
    const char *base = slash ? slash + 1 : out;
    const char *dot = strrchr(base, '.');
    size_t n = strlen(out) + 32;
    char *p = malloc(n);
    if (!p) return NULL;
    int dirlen = (int)(base - out);
    int stem = dot ? (int)(dot - base) : (int)strlen(base);
    /* the extension tells the engine's writer the type: --format wins over OUT's */
    const char *ext = lathe_file_type_from_path(out) == ft && dot ? dot : lathe_file_type_ext(ft);
    snprintf(p, n, "%.*s.%.*s.lathe-final%s", dirlen, out, stem, base, ext);
    return p;
}

/* ---- findings ---- */

static void warn(lathe_master_report *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn(lathe_master_report *r, const char *code, const char *fmt, ...)
{
    if (r->nwarnings >= LATHE_MASTER_MAX_WARNINGS) return;
    lathe_master_warning *w = &r->warnings[r->nwarnings++];
    snprintf(w->code, sizeof w->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->text, sizeof w->text, fmt, ap);
    va_end(ap);
}

/* Thresholds of the findings (documented in docs/master.md). */
#define HEAVY_LIMITING_DB 4.0
#define LOW_PLR_DB 8.0
#define DC_LIMIT 0.001     /* 0.1 % of full scale, -60 dBFS */
#define LOW_SIDE_DB -12.0  /* side within 12 dB of mid below 150 Hz */
#define VINYL_HF_DB -14.0  /* more than 4 % of the energy above 10 kHz */
#define VINYL_CORR 0.2

static void source_findings(lathe_master_report *r, const lathe_analysis *a, int vinyl, int hp_on)
{
    if (a->clipped_samples > 0)
        warn(r, "clipped-source",
             "the source has %lld clipped samples (sample peak %.2f dBFS): clipping cannot be "
             "undone by mastering; export the mix again with headroom (peaks around -3 dBFS)",
             a->clipped_samples, a->sample_peak_dbfs);
    for (int c = 0; c < a->channels; c++)
        if (fabs(a->dc_offset[c]) > DC_LIMIT) {
            warn(r, "dc-offset",
                 "channel %d has a DC offset of %.2f %% of full scale; %s", c + 1,
                 100 * a->dc_offset[c],
                 hp_on ? "the highpass stage removes it, but check the recording chain"
                       : "switch the highpass stage on, or fix it in the mix");
            break;
        }
    if (a->channels == 2 && isfinite(a->correlation) && a->correlation < (vinyl ? VINYL_CORR : 0.0))
        warn(r, "phase",
             "left/right correlation is %+.2f: %s; check polarity and stereo wideners in the mix",
             a->correlation,
             vinyl ? "a vinyl cutter needs a mostly in-phase signal (vertical groove motion)"
                   : "the mix partly cancels in mono");
    if (a->channels == 2 && isfinite(a->low_side_mid_db) && a->low_side_mid_db > LOW_SIDE_DB)
        warn(r, "side-bass",
             "below 150 Hz the side channel is only %.1f dB under the mid: bass out of phase "
             "between the speakers weakens in mono%s; set stereo: { mono_below: 120 Hz } or fix "
             "the bass in the mix",
             -a->low_side_mid_db, vinyl ? " and makes a vinyl groove jump" : "");
    if (isfinite(a->integrated_lufs) && a->plr_db < LOW_PLR_DB)
        warn(r, "already-limited",
             "the source is already heavily limited (peak-to-loudness ratio %.1f dB): mastering "
             "a master squashes it further; start from the unlimited mix",
             a->plr_db);
    if (vinyl && a->high_share_db > VINYL_HF_DB)
        warn(r, "vinyl-hf",
             "%.1f %% of the energy is above 10 kHz: strong highs distort on vinyl and strain "
             "the cutter head; tame them (eq, deesser) before cutting",
             100 * pow(10, a->high_share_db / 10));
}

/* ---- the loudness solve ---- */

typedef struct {
    const char *cache;       /* the pre-limiter signal */
    double cache_gain_db;    /* track gain on the cache (mono sources: +3.01 dB, see below) */
    double rate;
    lathe_chain_entry *tail; /* drive, limiter, dither */
    int ntail;
    int drive;               /* index of the drive entries in tail (two: +24 dB each at most) */
    lathe_mix_options mo;
    int split;               /* of the last render's line of nodes (one_track) */
} solver;

static lathe_status render_tail(solver *sv, double gain_db, const char *out, lathe_mix_report *rep,
                                lathe_error *err)
{
    /* the gain processor reaches +24 dB: a second one takes the rest (at 0 dB
     * it multiplies by exactly 1) */
    int gi = lathe_proc_param_index(sv->tail[sv->drive].desc, "gain");
    double g1 = gain_db > 24 ? 24 : gain_db;
    sv->tail[sv->drive].values[gi] = g1;
    sv->tail[sv->drive + 1].values[gi] = gain_db - g1;
    int split;
    lathe_session *s = one_track(sv->cache, sv->rate, sv->cache_gain_db, sv->tail, sv->ntail, &split);
    if (!s) return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
    lathe_status st = lathe_mix_render(s, out, &sv->mo, rep, err);
    sv->split = split;
    line_free(s); /* the tail is the solver's */
    return st;
}

/* Reduction of entry `entry` of a one_track chain split at `split`: the
 * entries that report it are on the master (the last node). */
static double entry_reduction(const lathe_mix_report *m, int split, int entry, int want_max)
{
    for (int i = 0; i < m->nreductions; i++)
        if (m->reductions[i].node == split + 1 && m->reductions[i].entry == entry - split)
            return want_max ? m->reductions[i].max_db : m->reductions[i].mean_db;
    return NAN;
}

static void describe(lathe_master_stage *ms, const char *name, const lathe_proc_desc *d,
                     const double *v, char *const *strings)
{
    snprintf(ms->name, sizeof ms->name, "%s", name);
    snprintf(ms->proc, sizeof ms->proc, "%s", d->name);
    ms->settings[0] = '\0';
    if (strcmp(d->name, "match") == 0) {
        /* 62 band gains: the reference plan's table says them better */
        int pi = lathe_proc_param_index(d, "phase");
        char ph[32] = "";
        if (pi >= 0 && v[pi] != d->params[pi].def) lathe_param_format(&d->params[pi], v[pi], ph, sizeof ph);
        snprintf(ms->settings, sizeof ms->settings,
                 "tone and width per 1/3 octave from the reference plan (its table)%s%s", *ph ? ", phase: " : "",
                 ph);
        return;
    }
    size_t u = 0;
    for (int q = 0; q < d->nparams; q++) {
        const lathe_param_desc *p = &d->params[q];
        char t[96];
        if (p->kind == LATHE_PARAM_STRING) {
            if (!strings || !strings[q]) continue;
            snprintf(t, sizeof t, "%s", strings[q]);
        } else {
            if (v[q] == p->def) continue;
            /* eq bands that are off say nothing about their other params */
            const char *dot = strchr(p->name, '.');
            if (dot && strcmp(dot, ".type") != 0) {
                char tn[64];
                snprintf(tn, sizeof tn, "%.*s.type", (int)(dot - p->name), p->name);
                int ti = lathe_proc_param_index(d, tn);
                if (ti >= 0 && v[ti] == 0) continue;
            }
            lathe_param_format(p, v[q], t, sizeof t);
        }
        int w = snprintf(ms->settings + u, sizeof ms->settings - u, "%s%s: %s", u ? ", " : "",
                         p->name, t);
        if (w < 0 || (size_t)w >= sizeof ms->settings - u) break;
        u += (size_t)w;
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One file's reference analysis, for a second thread. */
typedef struct {
    const char *path;
    lathe_ref_analysis *out;
    lathe_status st;
    lathe_error err;
} ref_job;

static void *ref_job_run(void *p)
{
    ref_job *j = p;
    j->st = lathe_ref_analyze_file(j->path, j->out, &j->err);
    return NULL;
}

/* Reference mastering: analyse the input (its `before` analysis comes from
 * the same pass: the file is read once) and the reference (at the same time
 * on a second thread, unless one thread is asked for), or take a tone
 * target; plan; set the match stage, the loudness target and (when asked)
 * the glue toward the reference's PLR. A silent input returns LATHE_OK
 * without a plan (the caller reports it). */
static lathe_status plan_reference(const char *in, const char *ref_path, const lathe_ref_analysis *ref_given,
                                   const char *tone_target, const lathe_ref_options *ro, int phase,
                                   unsigned before_flags, int threads, stage *st, lathe_master_report *rep,
                                   lathe_error *err)
{
    lathe_ref_analysis *mix = malloc(sizeof *mix), *ref = malloc(sizeof *ref);
    lathe_ref_master_plan *plan = calloc(1, sizeof *plan);
    lathe_status s = LATHE_OK;
    if (!mix || !ref || !plan) s = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
    ref_job job = {ref_path, ref, LATHE_OK, {0}};
    pthread_t th;
    int threaded = 0;
    if (s == LATHE_OK && ref_path && ref_given) {
        *ref = *ref_given; /* analysed once by the caller (lathe album: once for every song) */
        ref_path = NULL, job.path = NULL;
    }
    if (s == LATHE_OK && ref_path && threads != 1)
        threaded = pthread_create(&th, NULL, ref_job_run, &job) == 0;
    if (s == LATHE_OK) s = lathe_ref_analyze_file_flags(in, before_flags, mix, &rep->before, NULL, err);
    if (threaded)
        pthread_join(th, NULL);
    else if (s == LATHE_OK && ref_path)
        ref_job_run(&job);
    if (s == LATHE_OK && ref_path && job.st != LATHE_OK) {
        *err = job.err;
        s = job.st;
    }
    if (s == LATHE_OK && !isfinite(rep->before.integrated_lufs)) goto out; /* silent */
    if (s == LATHE_OK && !ref_path && !ref_given) s = lathe_ref_tone_target(tone_target, mix, ref, err);
    if (s == LATHE_OK) s = lathe_ref_plan(mix, ref, ro, plan, err);
    if (s == LATHE_OK) {
        if (plan->use_match && st[S_MATCH].desc) {
            int idx[2 * LATHE_REF_BANDS + 2];
            double v[2 * LATHE_REF_BANDS + 2];
            int n = lathe_ref_plan_match_values(plan, idx, v);
            for (int i = 0; i < n; i++) st[S_MATCH].values[idx[i]] = v[i];
            st[S_MATCH].on = 1;
        }
        /* the phase by name: the match processor lists its choices its own way */
        int pi = st[S_MATCH].desc ? lathe_proc_param_index(st[S_MATCH].desc, "phase") : -1;
        lathe_error perr;
        if (phase >= 0 && pi >= 0)
            lathe_param_parse(&st[S_MATCH].desc->params[pi], REF_PHASES[phase], NULL, &st[S_MATCH].values[pi],
                              &perr);
        if (isfinite(plan->target_lufs)) rep->target_lufs = plan->target_lufs;
        if (plan->use_dynamics && st[S_GLUE].desc) {
            st[S_GLUE].on = 1;
            st[S_GLUE].values[lathe_proc_param_index(st[S_GLUE].desc, "ratio")] = plan->dyn_ratio;
        }
        for (int i = 0; i < plan->nwarnings; i++) warn(rep, "reference", "%s", plan->warnings[i]);
        rep->reference = plan;
        plan = NULL;
    }
out:
    free(mix);
    free(ref);
    free(plan);
    return s;
}

/* The chain file's reference: map, from its pseudo-stage (lathe_stage). */
static void chain_ref_take(chain_ref *cr, lathe_stage *fs)
{
    for (int q = 0; q < R_N; q++) cr->v[q] = NAN;
    cr->tone = cr->phase = -1;
    cr->line = fs->line, cr->col = fs->col;
    if (fs->state != 1) return;
    cr->given = 1;
    for (int q = 0; fs->given && q < R_N; q++) cr->v[q] = fs->given[q];
    if (!isnan(cr->v[R_TONE])) cr->tone = (int)cr->v[R_TONE];
    if (!isnan(cr->v[R_PHASE])) cr->phase = (int)cr->v[R_PHASE];
    if (fs->strings && fs->strings[R_FILE]) {
        cr->file = fs->strings[R_FILE];
        fs->strings[R_FILE] = NULL;
    }
}

/* The reference options in force: defaults, then the chain file's, then
 * the caller's (its NaN fields and match 0 are "not given"). */
static void ref_options_merge(const chain_ref *cr, const lathe_ref_options *caller, lathe_ref_options *ro)
{
    lathe_ref_options_default(ro);
    const double *v = cr->v;
    if (!isnan(v[R_M_LOUD])) {
        ro->match = 0;
        static const unsigned bits[] = {LATHE_REF_MATCH_LOUDNESS, LATHE_REF_MATCH_TONE,
                                        LATHE_REF_MATCH_WIDTH, LATHE_REF_MATCH_DYNAMICS};
        for (int i = 0; i < 4; i++)
            if (v[R_M_LOUD + i] > 0) ro->match |= bits[i];
    }
    /* the specific amounts win over `amount`, wherever they are written */
    if (!isnan(v[R_AMOUNT])) ro->amount_tone = ro->amount_width = ro->amount_dynamics = v[R_AMOUNT] / 100;
    if (!isnan(v[R_AMOUNT_TONE])) ro->amount_tone = v[R_AMOUNT_TONE] / 100;
    if (!isnan(v[R_AMOUNT_WIDTH])) ro->amount_width = v[R_AMOUNT_WIDTH] / 100;
    if (!isnan(v[R_AMOUNT_DYN])) ro->amount_dynamics = v[R_AMOUNT_DYN] / 100;
    if (!isnan(v[R_MAX_EQ])) ro->max_eq_db = v[R_MAX_EQ];
    if (!isnan(v[R_MAX_WIDTH])) ro->max_width_db = v[R_MAX_WIDTH];
    if (!caller) return;
    if (caller->match) ro->match = caller->match;
    const double *const from[] = {&caller->amount_tone, &caller->amount_width, &caller->amount_dynamics,
                                  &caller->max_eq_db,   &caller->max_width_db, &caller->max_dyn_db,
                                  &caller->target_lufs, &caller->warn_db,      &caller->lo_hz,
                                  &caller->hi_hz};
    double *const to[] = {&ro->amount_tone, &ro->amount_width, &ro->amount_dynamics,
                          &ro->max_eq_db,   &ro->max_width_db, &ro->max_dyn_db,
                          &ro->target_lufs, &ro->warn_db,      &ro->lo_hz,
                          &ro->hi_hz};
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++)
        if (!isnan(*from[i])) *to[i] = *from[i];
}

lathe_status lathe_master_render(const char *in, const char *out, const lathe_master_options *opt,
                                 lathe_master_report *rep_out, lathe_diags *diags, lathe_error *err)
{
    lathe_master_options defaults;
    memset(&defaults, 0, sizeof defaults);
    defaults.lufs = NAN, defaults.ceiling_dbtp = NAN, defaults.fixed_gain_db = NAN;
    if (!opt) opt = &defaults;
    lathe_error local;
    if (!err) err = &local;
    lathe_master_report *rep = calloc(1, sizeof *rep);
    if (!rep) return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
    if (diags) memset(diags, 0, sizeof *diags);

    stage st[NSTAGES];
    memset(st, 0, sizeof st);
    lathe_session *custom = NULL;
    char *cache = NULL, *cand = NULL, *pcm = NULL;
    lathe_meta tags;
    memset(&tags, 0, sizeof tags);
    lathe_chain_entry *pre = NULL, tail[5];
    int npre = 0, ntail = 0;
    lathe_mix_report mr;
    memset(&mr, 0, sizeof mr);
    lathe_series *pre_series = NULL;
    memset(tail, 0, sizeof tail);
    chain_ref cref;
    memset(&cref, 0, sizeof cref);
    for (int q = 0; q < R_N; q++) cref.v[q] = NAN;
    cref.tone = cref.phase = -1;
    lathe_status status = LATHE_OK;

    /* target */
    const char *tname = opt->target ? opt->target : "spotify";
    const lathe_target *tg = lathe_target_find(tname);
    if (!tg) {
        status = lathe_error_set(err, LATHE_E_INVALID, "unknown target '%s' (`lathe targets` lists them)", tname);
        goto done;
    }
    snprintf(rep->target, sizeof rep->target, "%s", tg->name);
    const int vinyl = strcmp(tg->name, "vinyl") == 0;

    /* the output may be written; the input is readable and what it is */
    status = lathe_output_check(out, &in, 1, opt->overwrite, err);
    if (status != LATHE_OK) goto done;
    /* the format now, the analysis once the chain (and its reference
     * settings) is known: with a reference it comes from the same pass */
    lathe_audio_info info;
    {
        lathe_reader *r = lathe_reader_open(in, &info, err);
        if (!r) {
            status = err->code;
            goto done;
        }
        lathe_reader_close(r);
    }
    const int mono = info.channels == 1;
    rep->out_channels = mono ? 1 : 2;
    rep->target_lufs = isfinite(opt->lufs) ? opt->lufs : mono ? tg->mono_lufs : tg->lufs;
    rep->ceiling_dbtp = isfinite(opt->ceiling_dbtp) ? opt->ceiling_dbtp : tg->ceiling_dbtp;
    rep->out_rate = opt->rate > 0 ? opt->rate : tg->rate > 0 ? tg->rate : info.rate;
    const lathe_file_type ft = opt->format ? opt->format : lathe_file_type_from_path(out);
    if (ft == LATHE_FILE_AUTO) {
        status = lathe_error_set(err, LATHE_E_INVALID,
                                 "%s: unknown output format (use .wav, .flac, .aiff, .mp3, .ogg or "
                                 ".opus, or --format)", out);
        goto done;
    }
    const int lossy = lathe_file_type_lossy(ft);
    rep->lossy = lossy;
    snprintf(rep->format, sizeof rep->format, "%s", lathe_file_type_name(ft));
    rep->codec_true_peak_first_dbtp = rep->codec_true_peak_final_dbtp = NAN;
    if (ft == LATHE_FILE_OPUS) {
        /* Opus runs at 48 kHz (and 8/12/16/24): the master's SRC takes the
         * input there on the way in */
        double r = opt->rate;
        if (r > 0 && r != 48000 && r != 24000 && r != 16000 && r != 12000 && r != 8000) {
            status = lathe_error_set(err, LATHE_E_INVALID,
                                     "%s: Opus runs at 8, 12, 16, 24 or 48 kHz, not %.0f Hz", out, r);
            goto done;
        }
        rep->out_rate = r > 0 ? r : 48000;
    } else if (ft == LATHE_FILE_MP3 && !(opt->rate > 0) && rep->out_rate > 48000) {
        rep->out_rate = 48000; /* MPEG-1 Layer III stops at 48 kHz */
    }
    rep->out_bits = lossy ? 32 : opt->bits ? opt->bits : tg->bits ? tg->bits : 24;
    if (ft == LATHE_FILE_FLAC && rep->out_bits == 32) rep->out_bits = 24;
    if (rep->out_bits != 16 && rep->out_bits != 24 && rep->out_bits != 32) {
        status = lathe_error_set(err, LATHE_E_INVALID, "bits must be 16, 24 or 32 (float), not %d", rep->out_bits);
        goto done;
    }
    if (ft == LATHE_FILE_FLAC && rep->out_bits == 32) {
        status = lathe_error_set(err, LATHE_E_INVALID, "%s: FLAC holds 16 or 24-bit integers, not float", out);
        goto done;
    }
    lathe_codec_name(rep->codec, sizeof rep->codec, ft, &opt->codec, rep->out_bits, rep->out_channels);

    /* stages: defaults, preset, chain file */
    for (int i = 0; i < NSTAGES; i++) {
        st[i].desc = lathe_processor_find(STAGES[i].proc);
        if (!st[i].desc) continue;
        st[i].on = STAGES[i].on;
        st[i].values = calloc((size_t)st[i].desc->nparams + 1, sizeof(double));
        st[i].strings = calloc((size_t)st[i].desc->nparams + 1, sizeof(char *));
        if (!st[i].values || !st[i].strings) {
            status = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
            goto done;
        }
        for (int q = 0; q < st[i].desc->nparams; q++) st[i].values[q] = st[i].desc->params[q].def;
        for (int k = 0; k < 8 && STAGES[i].set[k].key; k++)
            if ((status = set_text(&st[i], STAGES[i].set[k].key, STAGES[i].set[k].value, err)) != LATHE_OK)
                goto done;
    }
    if (vinyl) {
        /* mono bass, tamed sibilance, a softer limiter (no brickwall squeeze) */
        if (st[S_STEREO].desc) st[S_STEREO].on = 1, set_text(&st[S_STEREO], "mono_below", "150 Hz", err);
        if (st[S_DEESSER].desc) st[S_DEESSER].on = 1;
        set_text(&st[S_LIMITER], "release", "250 ms", err);
        set_text(&st[S_LIMITER], "lookahead", "5 ms", err);
    }
    if (opt->chain_path) {
        /* the same list album --check and the fuzz target parse with; the
         * reference settings ride along as its last "stage" */
        lathe_stage fs[NSTAGES + 1];
        const int nfs = lathe_master_chain_stages(fs, NSTAGES + 1), fref = nfs - 1;
        int map[NSTAGES]; /* fs index -> st index: both skip a stage without its processor */
        for (int i = 0, f = 0; i < NSTAGES; i++)
            if (st[i].desc) map[f++] = i;
        lathe_diags local_d;
        custom = lathe_chain_file_load(opt->chain_path, fs, nfs, diags ? diags : &local_d);
        if (!custom) {
            if (!diags) lathe_diags_free(&local_d);
            status = lathe_error_set(err, LATHE_E_INVALID, "%s: invalid chain file", opt->chain_path);
            goto done;
        }
        chain_ref_take(&cref, &fs[fref]);
        /* a source for the settings: its own, or the caller's */
        const char *why = NULL;
        if (cref.file && cref.tone >= 0)
            why = "reference: file and tone_target exclude each other";
        else if (cref.given && !cref.file && cref.tone < 0 && !opt->reference && !opt->tone_target)
            why = "reference: settings but no file or tone_target to match (give one here, or "
                  "--reference / --tone-target)";
        if (why) {
            lathe_diags *dd = diags ? diags : &local_d;
            lathe_diag_add(dd, cref.line, cref.col, "%s", why);
            if (!diags) lathe_diags_free(&local_d);
            lathe_stages_free(fs, nfs);
            status = lathe_error_set(err, LATHE_E_INVALID, "%s: invalid chain file", opt->chain_path);
            goto done;
        }
        if (!diags) lathe_diags_free(&local_d);
        for (int f = 0; f < fref; f++) {
            stage *s = &st[map[f]];
            if (fs[f].state < 0) continue;
            s->on = fs[f].state;
            for (int q = 0; fs[f].given && q < s->desc->nparams; q++)
                if (!isnan(fs[f].given[q])) {
                    s->values[q] = fs[f].given[q];
                    if (map[f] == S_GLUE && strcmp(s->desc->params[q].name, "threshold") == 0)
                        s->threshold_given = 1;
                }
            for (int q = 0; fs[f].strings && q < s->desc->nparams; q++)
                if (fs[f].strings[q]) {
                    free(s->strings[q]);
                    s->strings[q] = fs[f].strings[q];
                    fs[f].strings[q] = NULL;
                }
        }
        lathe_stages_free(fs, nfs);
    }
    /* the input's analysis; with a reference (the caller's wins over the
     * chain file's) the reference plan's pass gives it */
    const unsigned before_flags = LATHE_ANALYZE_BANDS | (vinyl ? LATHE_ANALYZE_HF : 0);
    const char *ref_path = opt->reference, *tone_target = opt->tone_target;
    if (!ref_path && !tone_target) {
        ref_path = cref.file;
        tone_target = cref.tone >= 0 ? REF_TONE_TARGETS[cref.tone] : NULL;
    }
    double t0 = now_s();
    if (ref_path || tone_target) {
        lathe_ref_options ro;
        ref_options_merge(&cref, opt->ref_options, &ro);
        if (opt->target || isfinite(opt->lufs)) ro.match &= ~(unsigned)LATHE_REF_MATCH_LOUDNESS;
        const lathe_ref_analysis *given = ref_path && ref_path == opt->reference ? opt->reference_analysis : NULL;
        status = plan_reference(in, ref_path, given, tone_target, &ro, cref.phase, before_flags, opt->threads,
                                st, rep, err);
    } else {
        status = lathe_analyze_file_flags(in, before_flags, &rep->before, NULL, err);
    }
    rep->time_analysis_s = now_s() - t0;
    if (status != LATHE_OK) goto done;
    if (!isfinite(rep->before.integrated_lufs)) {
        status = lathe_error_set(err, LATHE_E_INVALID, "%s: the input is silent (no gated loudness)", in);
        goto done;
    }
    /* the glue's threshold follows the programme: 5 dB under its integrated
     * loudness, which at 2:1 gives a mean reduction of 1-2 dB over a song
     * (1.2-1.4 dB on the material songs, docs/master.md) */
    if (st[S_GLUE].desc && !st[S_GLUE].threshold_given) {
        double thr = rep->before.integrated_lufs - 5.0;
        thr = floor(thr * 10 + 0.5) / 10;
        if (!isfinite(thr)) thr = -20;
        thr = fmin(0.0, fmax(-60.0, thr));
        int ti = lathe_proc_param_index(st[S_GLUE].desc, "threshold");
        st[S_GLUE].values[ti] = thr;
    }
    rep->ceiling_dbtp = fmin(0.0, rep->ceiling_dbtp);
    int ci = lathe_proc_param_index(st[S_LIMITER].desc, "ceiling");
    st[S_LIMITER].values[ci] = rep->ceiling_dbtp;
    if (!st[S_LIMITER].on) st[S_LIMITER].on = 0; /* allowed: a chain file may switch it off */

    /* dither: auto = on when the output is an integer format */
    const char *dmode = opt->dither ? opt->dither : "auto";
    int dither_on = st[S_DITHER].desc && st[S_DITHER].on && rep->out_bits != 32 &&
                    strcmp(dmode, "off") != 0;
    snprintf(rep->dither, sizeof rep->dither, "off");
    if (dither_on) {
        set_text(&st[S_DITHER], "bits", rep->out_bits == 16 ? "16" : "24", err);
        if (strcmp(dmode, "auto") != 0 &&
            (status = set_text(&st[S_DITHER], "shape", dmode, err)) != LATHE_OK) {
            lathe_error_prefix(err, "--dither");
            goto done;
        }
        int si = lathe_proc_param_index(st[S_DITHER].desc, "shape");
        lathe_param_format(&st[S_DITHER].desc->params[si], st[S_DITHER].values[si], rep->dither,
                           sizeof rep->dither);
    } else if (opt->dither && strcmp(dmode, "off") != 0 && strcmp(dmode, "auto") != 0 &&
               !st[S_DITHER].desc) {
        status = lathe_error_set(err, LATHE_E_INVALID, "--dither: no dither processor in this build");
        goto done;
    }

    /* the stages before the drive */
    pre = calloc(NSTAGES + (custom ? (size_t)custom->nodes[0].nchain : 0) + 1, sizeof *pre);
    if (!pre) {
        status = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        goto done;
    }
    if (custom && custom->nodes[0].nchain > 0) {
        /* `chain:` replaces the stages before the limiter */
        for (int k = 0; k < custom->nodes[0].nchain; k++) {
            lathe_chain_entry *ce = &custom->nodes[0].chain[k];
            if (ce->bypass) continue;
            pre[npre++] = entry_from(ce->desc, ce->values, ce->strings, ce->label);
            describe(&rep->stages[rep->nstages++], ce->label, ce->desc, ce->values, ce->strings);
        }
    } else {
        for (int i = 0; i < S_LIMITER; i++) {
            if (!st[i].desc || !st[i].on) continue;
            pre[npre++] = entry_from(st[i].desc, st[i].values, st[i].strings, STAGES[i].name);
            if (rep->nstages < LATHE_MASTER_MAX_STAGES)
                describe(&rep->stages[rep->nstages++], STAGES[i].name, st[i].desc, st[i].values,
                         st[i].strings);
        }
    }
    for (int k = 0; k < npre; k++)
        if (!pre[k].label || !pre[k].values || !pre[k].strings) {
            status = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
            goto done;
        }

    /* mono sources: the engine centres a mono track at -3 dB (pan law), so
     * +3.0103 dB makes both channels the source itself; the output keeps
     * the left one. */
    const double mono_gain = mono ? 20 * log10(sqrt(2.0)) : 0.0;
    lathe_mix_options mo;
    memset(&mo, 0, sizeof mo);
    mo.threads = opt->threads;
    mo.sample = LATHE_SAMPLE_FLOAT32;
    mo.overwrite = 1;
    mo.channels = rep->out_channels;

    /* pass 1: the stages before the drive, to a float cache */
    const char *source = in;
    double source_gain = mono_gain;
    if (npre > 0 || rep->out_rate != info.rate) {
        cache = temp_wav(err);
        if (!cache) {
            status = err->code;
            goto done;
        }
        int split;
        lathe_session *s = one_track(in, rep->out_rate, mono_gain, pre, npre, &split);
        if (!s) {
            status = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
            goto done;
        }
        if (opt->want_series) {
            pre_series = lathe_series_new(rep->out_rate, rep->out_channels, err);
            if (!pre_series) {
                line_free(s);
                status = err->code;
                goto done;
            }
            mo.series = pre_series;
        }
        t0 = now_s();
        mo.scratch = 1; /* deleted at the end */
        status = lathe_mix_render(s, cache, &mo, &mr, err);
        mo.scratch = 0;
        rep->time_chain_s = now_s() - t0;
        mo.series = NULL;
        line_free(s);
        if (status != LATHE_OK) goto done;
        rep->pre_limiter = mr.mix;
        rep->glue_max_db = rep->glue_mean_db = NAN;
        rep->multiband_max_db = rep->multiband_mean_db = NAN;
        for (int k = 0; k < npre; k++) {
            if (strcmp(pre[k].label, "glue") == 0)
                rep->glue_max_db = entry_reduction(&mr, split, k, 1),
                rep->glue_mean_db = entry_reduction(&mr, split, k, 0);
            if (strcmp(pre[k].label, "multiband") == 0)
                rep->multiband_max_db = entry_reduction(&mr, split, k, 1),
                rep->multiband_mean_db = entry_reduction(&mr, split, k, 0);
        }
        lathe_mix_report_free(&mr);
        source = cache;
        source_gain = mono ? mono_gain : 0.0;
    } else {
        rep->pre_limiter = rep->before;
        rep->glue_max_db = rep->glue_mean_db = NAN;
        rep->multiband_max_db = rep->multiband_mean_db = NAN;
    }
    if (!isfinite(rep->pre_limiter.integrated_lufs)) {
        status = lathe_error_set(err, LATHE_E_INVALID, "%s: silent after the chain", in);
        goto done;
    }

    /* the tail: drive, limiter, dither */
    const lathe_proc_desc *gd = lathe_processor_find("gain");
    tail[ntail++] = entry_from(gd, NULL, NULL, "drive");
    tail[ntail++] = entry_from(gd, NULL, NULL, "drive#2");
    const int drive = 0;
    int lim = -1, dit = -1;
    if (st[S_LIMITER].on) {
        lim = ntail;
        tail[ntail++] = entry_from(st[S_LIMITER].desc, st[S_LIMITER].values, NULL, "limiter");
    }
    if (dither_on) {
        dit = ntail;
        tail[ntail++] = entry_from(st[S_DITHER].desc, st[S_DITHER].values, NULL, "dither");
    }
    for (int k = 0; k < ntail; k++)
        if (!tail[k].label || !tail[k].values || !tail[k].strings) {
            status = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
            goto done;
        }
    if (lim >= 0) describe(&rep->stages[rep->nstages++], "limiter", tail[lim].desc, tail[lim].values, NULL);
    if (dit >= 0) describe(&rep->stages[rep->nstages++], "dither", tail[dit].desc, tail[dit].values, NULL);

    solver sv = {source, source_gain, rep->out_rate, tail, ntail, drive, mo, 0};
    const double T = rep->target_lufs;
    const double gmax = 48.0; /* two gain processors */
    /* start: the caller's gain first, a candidate kept only on target */
    const int start = isfinite(opt->fixed_gain_db) && opt->fixed_then_solve;
    const int fixed = isfinite(opt->fixed_gain_db) && !start;
    double g = isfinite(opt->fixed_gain_db) ? opt->fixed_gain_db : T - rep->pre_limiter.integrated_lufs;
    if (g > gmax) {
        status = lathe_error_set(err, LATHE_E_INVALID,
                                 "%s: reaching %.1f LUFS needs %+.1f dB of gain (more than %+.0f dB): "
                                 "the input is too quiet (%.1f LUFS); raise the mix first",
                                 in, T, g, gmax, rep->pre_limiter.integrated_lufs);
        goto done;
    }
    /* Without limiting the output is the cache times the gain: on target at
     * once. The limiter aims 0.1 dB under its ceiling, so that is the test. */
    double ceil_run = rep->ceiling_dbtp;
    const double pk0 = rep->pre_limiter.true_peak_dbtp;
    int linear = fixed || lim < 0 || pk0 + g <= ceil_run - 0.1;
    /* Light limiting: when the linear gain takes the true peak at most
     * LIGHT_LIMIT_DB over the ceiling, the limiter only catches transients
     * and the loudness falls short of the linear guess by far less than
     * SOLVE_TOL (on the material songs, 1.0 to 1.5 dB over: 0.001 to 0.005
     * LU; 5.5 dB over: 0.5 LU), so the measuring render would say "on
     * target" and the same gain would be rendered again as the candidate.
     * The first render is then a candidate at once: one render of drive +
     * limiter instead of two, the same bytes. When it misses, it is the
     * solve's first point, as the measuring render would have been. */
    const double LIGHT_LIMIT_DB = 2.0;
    /* Moderate limiting (up to MODERATE_LIMIT_DB over, typical of -14 LUFS
     * masters): the loudness falls short by more, 0.05 to 0.11 LU on the 15
     * reference masters of the material songs (bench_reference.sh) at 2.7 to
     * 4.2 dB over, about LOSS_PER_DB per dB over. The first render is then a
     * candidate at the linear gain plus that estimate: it lands within
     * SOLVE_TOL on all 15 (the measuring render it replaces found 0.05 to
     * 0.11 LU short, and the solve took two renders there). The candidate is
     * measured like any other; a miss is the solve's first point. */
    const double MODERATE_LIMIT_DB = 4.5, LOSS_PER_DB = 0.02;
    const double over0 = pk0 + g - ceil_run;
    const int light = !linear && !start && over0 <= MODERATE_LIMIT_DB;
    if (light && over0 > LIGHT_LIMIT_DB) g = fmin(gmax, g + LOSS_PER_DB * over0);
    /* The solve. Without limiting the first render is on target. With it,
     * the first render only measures (limiting makes the loudness fall
     * short of the linear guess), and every later one is a candidate: it is
     * written, measured in full and kept when it is on target (within
     * SOLVE_TOL LU) and under the ceiling. Secant steps on the measured
     * loudness; a candidate over the ceiling (it should not happen: the
     * limiter aims 0.1 dB under and clamps) lowers the limiter's ceiling by
     * the overshoot and goes on. */
    const double SOLVE_TOL = 0.05;
    /* lossy: an encode that overshoots lowers the limiter's ceiling by the
     * overshoot and this margin (encoders do not scale linearly) */
    const double CODEC_MARGIN_DB = 0.1;
    const int CODEC_TRIES = 6;
    int encoded_last = 0;
    double gs[24], ls[24];
    int ns = 0, done_ok = 0;
    const lathe_sample_type out_sample = rep->out_bits == 16   ? LATHE_SAMPLE_PCM16
                                         : rep->out_bits == 24 ? LATHE_SAMPLE_PCM24
                                                               : LATHE_SAMPLE_FLOAT32;
    const unsigned full_flags = vinyl ? LATHE_ANALYZE_BANDS | LATHE_ANALYZE_HF : LATHE_ANALYZE_BANDS;
    cand = candidate_path(out, ft);
    if (lossy && cand) {
        pcm = temp_wav(err);
        if (!pcm) {
            status = err->code;
            goto done;
        }
    }
    if (!cand) {
        status = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        goto done;
    }
    t0 = now_s();
    for (int it = 0; it < 16 && !done_ok; it++) {
        if (lim >= 0) tail[lim].values[ci] = ceil_run;
        const int write = linear || light || start || it > 0;
        double L;
        if (!write) {
            lathe_mix_report m;
            sv.mo.sample = LATHE_SAMPLE_FLOAT32;
            sv.mo.analysis_flags = LATHE_ANALYZE_LOUDNESS_ONLY;
            status = render_tail(&sv, g, NULL, &m, err);
            if (status != LATHE_OK) goto done;
            L = m.mix.integrated_lufs;
            lathe_mix_report_free(&m);
        } else {
            sv.mo.sample = out_sample;
            sv.mo.analysis_flags = full_flags;
            sv.mo.progress = opt->progress, sv.mo.user = opt->user;
            if (opt->want_series) {
                lathe_series_free(rep->series);
                rep->series = lathe_series_new(rep->out_rate, rep->out_channels, err);
                if (!rep->series) {
                    status = err->code;
                    goto done;
                }
                sv.mo.series = rep->series;
            }
            sv.mo.scratch = lossy || opt->scratch; /* the encoder's input, or a work file of the caller's */
            status = render_tail(&sv, g, lossy ? pcm : cand, &mr, err);
            sv.mo.series = NULL;
            if (rep->series) lathe_series_finish(rep->series);
            encoded_last = 0;
            sv.mo.progress = NULL;
            if (status != LATHE_OK) goto done;
            rep->after = mr.mix;
            rep->gain_db = g;
            rep->limiter_ceiling_dbtp = ceil_run;
            rep->limiter_max_db = lim >= 0 ? entry_reduction(&mr, sv.split, lim, 1) : 0;
            rep->limiter_mean_db = lim >= 0 ? entry_reduction(&mr, sv.split, lim, 0) : 0;
            lathe_mix_report_free(&mr);
            L = rep->after.integrated_lufs;
            double over = rep->after.true_peak_dbtp - rep->ceiling_dbtp;
            if (over > 0 && lim >= 0) {
                ceil_run -= over + 0.02;
                ns = 0; /* a new curve */
                linear = 0;
                rep->passes++;
                continue;
            }
            /* lossy: the last renders are kept for the codec check (the
             * loudness as reached, an off-target finding if it is not) */
            if (fabs(L - T) <= SOLVE_TOL || (lim < 0 && !start) || fixed || (lossy && it >= 16 - CODEC_TRIES))
                done_ok = 1;
            if (done_ok && lossy) {
                /* codec-aware true peak: encode, decode, measure */
                status = lathe_encode_file(pcm, cand, ft, &opt->codec, err);
                if (status != LATHE_OK) goto done;
                lathe_analysis dec;
                status = lathe_analyze_file_flags(cand, full_flags, &dec, NULL, err);
                if (status != LATHE_OK) goto done;
                encoded_last = 1;
                rep->encodes++;
                if (rep->encodes == 1) rep->codec_true_peak_first_dbtp = dec.true_peak_dbtp;
                rep->codec_true_peak_final_dbtp = dec.true_peak_dbtp;
                rep->encoder_input = rep->after;
                rep->after = dec;
                double cover = dec.true_peak_dbtp - rep->ceiling_dbtp;
                if (cover > 0 && lim >= 0) {
                    /* lower by the overshoot, or further when the codec's own
                     * expansion (decoded over encoded true peak) says so */
                    double expand = dec.true_peak_dbtp - rep->encoder_input.true_peak_dbtp;
                    ceil_run = fmin(ceil_run - cover, rep->ceiling_dbtp - expand) - CODEC_MARGIN_DB;
                    done_ok = 0;
                    ns = 0;
                    linear = 0;
                    rep->passes++;
                    continue;
                }
            }
        }
        rep->passes++;
        if (done_ok) break;
        if (ns < 24) gs[ns] = g, ls[ns] = L, ns++;
        if (fabs(L - T) <= SOLVE_TOL) continue; /* measured on target: write it next */
        double slope = 1.0;
        if (ns >= 2 && gs[ns - 1] != gs[ns - 2])
            slope = (ls[ns - 1] - ls[ns - 2]) / (gs[ns - 1] - gs[ns - 2]);
        if (!(slope > 0.05)) slope = 0.05;
        if (slope > 1.2) slope = 1.2;
        double step = (T - L) / slope;
        if (step > 6) step = 6;
        if (step < -6) step = -6;
        g += step;
        if (g > gmax) g = gmax;
        linear = 0;
    }
    rep->time_solve_s = now_s() - t0;
    if (!done_ok && status == LATHE_OK && (access(cand, F_OK) != 0 || (lossy && !encoded_last))) {
        status = lathe_error_set(err, LATHE_E_INVALID, "%s: the loudness solve did not converge", out);
        goto done;
    }
    if (lim >= 0 && rep->after.true_peak_dbtp > rep->ceiling_dbtp) {
        status = lathe_error_set(err, LATHE_E_INVALID,
                                 "%s: the master's true peak %.2f dBTP stays over the ceiling %.2f dBTP",
                                 out, rep->after.true_peak_dbtp, rep->ceiling_dbtp);
        goto done;
    }
    /* tags: the user's, and the loudness of the master as written */
    if (opt->meta && (status = lathe_meta_merge(&tags, opt->meta, err)) != LATHE_OK) goto done;
    if (opt->loudness_tags > 0 ||
        (opt->loudness_tags == 0 && (opt->meta || ft == LATHE_FILE_FLAC || lossy)))
        lathe_meta_set_loudness(&tags, 0, rep->after.integrated_lufs,
                                pow(10.0, rep->after.true_peak_dbtp / 20.0));
    if (!lathe_meta_empty(&tags)) {
        status = lathe_tags_write_named(cand, out, &tags, err);
        if (status != LATHE_OK) goto done;
        rep->tagged = 1;
    }
    if (rename(cand, out) != 0) {
        status = lathe_error_set(err, LATHE_E_IO, "%s: cannot rename the finished master into place: %s",
                                 out, strerror(errno));
        goto done;
    }
    free(cand);
    cand = NULL;

    /* findings */
    rep->limited = rep->limiter_max_db > 0;
    rep->turned_down = rep->gain_db < 0 && !rep->limited;
    source_findings(rep, &rep->before, vinyl, st[S_HIGHPASS].on);
    if (!fixed && fabs(rep->after.integrated_lufs - T) > 0.1)
        warn(rep, "off-target",
             "the master measures %.2f LUFS, %.2f LU from the target %.1f: the limiter cannot go "
             "further; lower the target or raise the ceiling",
             rep->after.integrated_lufs, rep->after.integrated_lufs - T, T);
    if (rep->limiter_max_db > HEAVY_LIMITING_DB)
        warn(rep, "heavy-limiting",
             "reaching %.1f LUFS takes up to %.1f dB of limiting (mean %.1f dB): the master will "
             "sound squashed; the fix is in the mix (tame peaks, bus compression) or a lower target",
             T, rep->limiter_max_db, rep->limiter_mean_db);
    if (rep->turned_down)
        warn(rep, "turned-down",
             "the input is louder than the target: it was turned down by %.1f dB, with no limiting",
             -rep->gain_db);
    if (vinyl && rep->after.loudness_range_lu < 4 && isfinite(rep->after.loudness_range_lu))
        warn(rep, "vinyl-dynamics",
             "loudness range %.1f LU: vinyl needs no loudness war; consider a lower target",
             rep->after.loudness_range_lu);

    /* the report's gain-reduction curves: the stages before the drive too */
    for (int i = 0; rep->series && pre_series && i < lathe_series_gr_count(pre_series); i++) {
        long n = 0;
        const float *v = lathe_series_gr(pre_series, i, &n);
        lathe_series_add_gr(rep->series, lathe_series_gr_name(pre_series, i), v, n);
    }

done:
    lathe_series_free(pre_series);
    if (status == LATHE_E_IO) {
        blame_output(err, cand, out, 0);
        blame_output(err, cache, out, 1);
        blame_output(err, pcm, out, 1);
    }
    if (status != LATHE_OK) {
        lathe_series_free(rep->series);
        rep->series = NULL;
        free(rep->reference);
        rep->reference = NULL;
    }
    lathe_meta_free(&tags);
    free(cref.file);
    if (pcm) {
        unlink(pcm);
        free(pcm);
    }
    if (cache) {
        unlink(cache);
        free(cache);
    }
    if (cand) {
        unlink(cand);
        free(cand);
    }
    for (int k = 0; k < npre; k++) {
        free(pre[k].label), free(pre[k].values);
        if (pre[k].strings)
            for (int q = 0; q < pre[k].desc->nparams; q++) free(pre[k].strings[q]);
        free(pre[k].strings);
    }
    free(pre);
    for (int k = 0; k < ntail; k++) free(tail[k].label), free(tail[k].values), free(tail[k].strings);
    lathe_mix_report_free(&mr);
    lathe_session_free(custom);
    stages_free(st);
    if (rep_out)
        *rep_out = *rep;
    else
        lathe_series_free(rep->series), free(rep->reference);
    free(rep);
    return status;
}
