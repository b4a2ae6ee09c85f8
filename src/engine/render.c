/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The mix engine: renders a validated session block by block.
 *
 * Per node and block: gather input (a track reads its source; a bus sums its
 * inputs in node-index order, each through its latency-compensation delay),
 * run the chain (keyed processors get their sidechain, delayed to line up),
 * apply fader and pan, and keep the stereo result for the nodes downstream.
 *
 * Scheduling: nodes are grouped into levels (a node's level is one more than
 * the highest level among its inputs and keys); the nodes of a level run in
 * parallel on the pool, levels one after another.  No two threads write the
 * same buffer and every sum has a fixed order, so the output bytes do not
 * depend on the thread count.
 *
 * Latency compensation (the usual plug-in delay compensation): U_out(n) is
 * the delay a node's output carries relative to the timeline.  A node waits
 * for its latest input: U_in(n) = max over inputs of U_out(i), and over keys
 * of U_out(k) - (latency of the chain before the keyed processor); every
 * other input and key is delayed by the difference.  U_out = U_in + chain
 * latency.  The master's U_out frames are dropped from the start of the
 * output and rendered on at the end. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/source.h"
#include "lathe/engine.h"
#include "util/fpu.h"
#include "util/simd.h"

#define BLOCK 8192 /* engine block: frames per scheduling step */
#define GR_CHUNK 1024 /* frames per gain-reduction reading */
#define CHUNKS (BLOCK / GR_CHUNK)
#define SUB 32     /* automation sub-block */
#define PROC_BLOCK 512
#define MAX_RING 32 /* deepest routing (levels) the pipeline supports */

typedef struct {
    float *buf[2];
    long len, pos; /* ring of `len` frames (delay + BLOCK) */
    long delay;
    long long zero_run; /* frames of exact zeros written last (the ring starts zeroed) */
} delay_line;

typedef struct {
    int src;        /* source node */
    int send;       /* -1: the source's main output; else index into its sends */
    delay_line dl;
} input_edge;

typedef struct {
    const lathe_node *n;
    int idx, ch, level, audible;
    lathe_source *src;
    lathe_proc **procs;      /* per chain entry; NULL when bypassed */
    int *prefix;             /* latency before entry k */
    delay_line *keydl;       /* per chain entry with a key */
    float *keybuf[2];
    int latency;
    long u_in, u_out;
    input_edge *in;
    int nin;
    int has_chain_auto, has_pre_send;
    int pre_used; /* a pre-fader send or a sidechain key reads pre_ring */
    float *buf[2]; /* chain signal, ch channels: own_buf, or the block's out slot when direct */
    float *own_buf[2];
    /* A bus or the master whose fader is at unity and rest (0 dB, centre, no
     * lanes, audible) works in its output slot itself: the fader would
     * multiply every sample by exactly 1 (its inputs are sums, so with
     * denormals off nothing there is denormal), and the copy is saved. */
    int direct;
    /* Outputs live in rings of one slot per level, indexed by block: a node
     * may run ahead of its readers by up to (levels - 1) blocks. pre/out point
     * at the slot of the block being processed. */
    float *pre_ring[MAX_RING][2]; /* pre-fader stereo (for pre-fader sends and keys) */
    float *out_ring[MAX_RING][2]; /* post-fader stereo */
    float *pre[2], *out[2];
    double slot_peak[MAX_RING], slot_sumsq[MAX_RING]; /* meters, taken when the block is kept */
    /* gain reduction of chain entries that report it, per slot and entry:
     * the largest value and the sum of (chunk maximum x chunk frames) */
    double *gr_slot_max, *gr_slot_sum; /* [slot * nchain + k] */
    double *gr_max, *gr_sum;           /* totals over the kept blocks, per entry */
    float *gr_chunk;                   /* [(slot * nchain + k) * CHUNKS + j]: readings per chunk */
    unsigned char *gr_on;              /* entry k reports reduction */
    long long cur_b, cur_pos; /* the block being processed and its render position */
    double gain_lin, pan; /* current fader state (for ramps) */
    /* resting: a track whose input and chain output have been exactly zero for
     * rest_need frames (its chain's tails + 2 s + latency) skips its chain */
    long long quiet, rest_need;
    unsigned char slot_zero[MAX_RING]; /* the slot's pre and out hold zeros from a rest */
    int buf_zero; /* buf holds the zeros of a resting block (nothing wrote it since) */
    int first;
    double peak, sumsq;
    long long frames;
    lathe_writer *stem;
    long stem_skip;
    double cost; /* smoothed seconds per block, for the order of a step's items */
} rnode;

typedef struct {
    const lathe_session *s;
    rnode *nodes;
    int nn, nlevels;
    /* Slots in each node's output ring: nlevels + 1. A node at level L
     * writes block t - L in step t; the sink (metering, writing) takes the
     * master's block of the step before, in parallel with the step, so every
     * ring holds nlevels + 1 blocks at a time. */
    int nslots;
    struct sink {
        lathe_writer *w;
        lathe_analyzer *an;
        long skip;                /* master latency still to drop */
        long long written, last_loud, start, end, tail_max;
        const lathe_mix_options *opt;
        lathe_status st;
        lathe_error err;
        /* gain-reduction curves for opt->series: per master entry, the hop
         * being filled and its maximum */
        long long *gr_hop;
        float *gr_hop_max;
        int from, n;              /* the span of the block being sunk (sink_span) */
    } sink;
    /* The sink's work is three items of a step: writing (with the meters,
     * curves and stems), and the two parts of the analyser
     * (lathe_analyzer_add_part); as rnode.cost, per item */
    double sink_cost[1 + LATHE_ANALYZER_PARTS];
    long long start;           /* render position of block 0 */
    int *items, nitems;        /* the (node, block) pairs of the current step */
    long long *item_b;
    int n;         /* frames in the current block */
    /* pool */
    int threads, stop, next, done_count;
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long long generation;
    lathe_status status;
    lathe_error err;
} engine;

/* ---- small helpers ---- */

static float *falloc(long n)
{
    return calloc((size_t)(n > 0 ? n : 1), sizeof(float));
}

static int dl_init(delay_line *d, long delay)
{
    d->delay = delay;
    d->len = delay + BLOCK;
    d->pos = 0;
    d->zero_run = d->len;
    if (!delay) return 1;
    d->buf[0] = falloc(d->len);
    d->buf[1] = falloc(d->len);
    return d->buf[0] && d->buf[1];
}

static void dl_free(delay_line *d)
{
    free(d->buf[0]);
    free(d->buf[1]);
}

/* An input block known to be all +0: when the line's last `delay` frames
 * were zeros too, its output block is zeros, and writing zeros over zeros
 * changes nothing: only the position moves. Returns 1 then (out not
 * written), 0 when the caller must run the line. */
static int dl_skip_zero(delay_line *d, int n)
{
    if (d->delay && d->zero_run < d->delay) return 0;
    d->pos = d->delay ? (d->pos + n) % d->len : 0;
    d->zero_run += n;
    return 1;
}

/* Delays in[0..1][0..n) by d->delay into out (which may not alias in);
 * zero_in: the block is all +0 (for dl_skip_zero). */
static void dl_run(delay_line *d, float *const *in, float *const *out, int n, int zero_in)
{
    d->zero_run = zero_in ? d->zero_run + n : 0;
    if (!d->delay) {
        for (int c = 0; c < 2; c++) memcpy(out[c], in[c], (size_t)n * sizeof(float));
        return;
    }
    /* write the block, then read it delay frames back (len >= delay + n,
     * so the read never meets the part just written): straight runs */
    for (int c = 0; c < 2; c++) {
        long w = d->pos, first = d->len - w < n ? d->len - w : n;
        memcpy(d->buf[c] + w, in[c], (size_t)first * sizeof(float));
        memcpy(d->buf[c], in[c] + first, (size_t)(n - first) * sizeof(float));
        long r = (d->pos - d->delay + d->len) % d->len;
        first = d->len - r < n ? d->len - r : n;
        memcpy(out[c], d->buf[c] + r, (size_t)first * sizeof(float));
        memcpy(out[c] + first, d->buf[c], (size_t)(n - first) * sizeof(float));
    }
    d->pos = (d->pos + n) % d->len;
}

static double db_to_lin(double db)
{
    return isinf(db) && db < 0 ? 0.0 : pow(10.0, db / 20.0);
}

/* ---- automation ---- */

static const lathe_automation *lane(const engine *e, int node, lathe_target_kind kind, int index,
                                    int param)
{
    for (int i = 0; i < e->s->nautos; i++) {
        const lathe_automation *x = &e->s->autos[i];
        if (x->node == node && x->kind == kind && (kind == LATHE_TARGET_NODE_GAIN ||
                                                   kind == LATHE_TARGET_NODE_PAN ||
                                                   (x->index == index &&
                                                    (kind != LATHE_TARGET_PROC_PARAM ||
                                                     x->param == param))))
            return x;
    }
    return NULL;
}

/* ---- per-node processing ---- */

/* buf (+)= x * g over both channels: the first input is added to +0 (as to
 * the zeroed buffer it replaces: a -0 becomes +0), later ones in order. */
LATHE_AVX2_CLONES static void
add_input(float *const *buf, float *const *x, float g, int scaled, int first, int n)
{
    for (int c = 0; c < 2; c++) {
        float *b = buf[c];
        const float *y = x[c];
        if (scaled && first)
            for (int i = 0; i < n; i++) b[i] = 0.0f + y[i] * g;
        else if (scaled)
            for (int i = 0; i < n; i++) b[i] += y[i] * g;
        else if (first)
            for (int i = 0; i < n; i++) b[i] = 0.0f + y[i];
        else
            for (int i = 0; i < n; i++) b[i] += y[i];
    }
}

static void mix_inputs(engine *e, rnode *r, int n)
{
    static _Thread_local float tmp0[BLOCK], tmp1[BLOCK], del0[BLOCK], del1[BLOCK];
    float *tmp[2] = {tmp0, tmp1}, *del[2] = {del0, del1};
    const int slot = (int)(r->cur_b % e->nslots);
    int added = 0, skipped = 0;
    for (int k = 0; k < r->nin; k++) {
        input_edge *ed = &r->in[k];
        rnode *s = &e->nodes[ed->src];
        /* An input that is all +0 in this block (a resting track, a muted node,
         * through a delay line that holds only zeros) would only turn a -0 of the
         * sum into +0: skip it, and do that once at the end. */
        const int zero_in = s->slot_zero[slot] || !s->audible;
        if (zero_in && dl_skip_zero(&ed->dl, n)) {
            skipped = 1;
            continue;
        }
        if (ed->send < 0) {
            float *const *src = s->out_ring[slot];
            if (!ed->dl.delay) { /* the same sums as through a copy, without it */
                add_input(r->buf, src, 1.0f, 0, !added, n);
                added = 1;
                continue;
            }
            dl_run(&ed->dl, src, del, n, zero_in);
        } else {
            const lathe_send *snd = &s->n->sends[ed->send];
            float *const *from = snd->pre_fader ? s->pre_ring[slot] : s->out_ring[slot];
            const lathe_automation *a = lane(e, ed->src, LATHE_TARGET_SEND, ed->send, 0);
            if (!a) {
                const float g = (float)db_to_lin(snd->level_db);
                if (!ed->dl.delay) { /* from * g rounds to float as through tmp */
                    add_input(r->buf, from, g, 1, !added, n);
                    added = 1;
                    continue;
                }
                for (int c = 0; c < 2; c++)
                    for (int i = 0; i < n; i++) tmp[c][i] = from[c][i] * g;
            } else {
                /* automated: evaluated every SUB frames, ramped linearly between */
                double t0 = (double)(r->cur_pos - s->u_out) / e->s->rate;
                double g0 = db_to_lin(lathe_automation_value(a, t0));
                for (int off = 0; off < n; off += SUB) {
                    int m = n - off < SUB ? n - off : SUB;
                    double g1 = db_to_lin(lathe_automation_value(a, t0 + (off + m) / e->s->rate));
                    for (int c = 0; c < 2; c++)
                        for (int i = 0; i < m; i++)
                            tmp[c][off + i] = from[c][off + i] * (float)(g0 + (g1 - g0) * (i + 1) / m);
                    g0 = g1;
                }
            }
            if (!s->audible) memset(tmp0, 0, sizeof tmp0), memset(tmp1, 0, sizeof tmp1);
            dl_run(&ed->dl, tmp, del, n, zero_in);
        }
        add_input(r->buf, del, 1.0f, 0, !added, n);
        added = 1;
    }
    if (!added) {
        for (int c = 0; c < r->ch; c++) memset(r->buf[c], 0, (size_t)n * sizeof(float));
    } else if (skipped) {
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < n; i++) r->buf[c][i] += 0.0f;
    }
}

/* Runs entry k on n frames; entries that report gain reduction run in
 * GR_CHUNK pieces so that the report's mean reduction has a fine grain
 * (processors give the same output for any split). */
static void run_entry(engine *e, rnode *r, int k, float *const *io, const float *const *key, int n)
{
    lathe_proc *p = r->procs[k];
    if (!r->gr_on[k]) {
        lathe_proc_process(p, io, key, n);
        return;
    }
    const int nc = r->n->nchain, slot = (int)(r->cur_b % e->nslots);
    double *mx = &r->gr_slot_max[slot * nc + k], *sm = &r->gr_slot_sum[slot * nc + k];
    for (int off = 0; off < n; off += GR_CHUNK) {
        int m = n - off < GR_CHUNK ? n - off : GR_CHUNK;
        float *b[2] = {io[0] + off, r->ch > 1 ? io[1] + off : NULL};
        const float *kb[2] = {NULL, NULL};
        if (key) kb[0] = key[0] + off, kb[1] = r->ch > 1 ? key[1] + off : NULL;
        lathe_proc_process(p, b, key ? kb : NULL, m);
        double g = lathe_proc_reduction_db(p);
        if (!(g > 0)) continue;
        if (r->gr_chunk) {
            float *gc = &r->gr_chunk[((size_t)slot * (size_t)nc + (size_t)k) * CHUNKS +
                                     (size_t)((io[0] - r->buf[0] + off) / GR_CHUNK)];
            if (g > *gc) *gc = (float)g;
        }
        if (g > *mx) *mx = g;
        *sm += g * m;
    }
}

static void run_chain(engine *e, rnode *r, int n)
{
    const lathe_node *nd = r->n;
    for (int k = 0; k < nd->nchain; k++) {
        lathe_proc *p = r->procs[k];
        if (!p) continue;
        const float *const *key = NULL;
        const float *kb[2];
        if (nd->chain[k].key_node >= 0) {
            rnode *kn = &e->nodes[nd->chain[k].key_node];
            static _Thread_local float a0[BLOCK], a1[BLOCK];
            float *del[2] = {a0, a1};
            dl_run(&r->keydl[k], kn->pre_ring[r->cur_b % e->nslots], del, n, 0);
            if (r->ch == 1)
                for (int i = 0; i < n; i++) r->keybuf[0][i] = 0.5f * (a0[i] + a1[i]);
            else
                memcpy(r->keybuf[0], a0, (size_t)n * sizeof(float)),
                    memcpy(r->keybuf[1], a1, (size_t)n * sizeof(float));
            kb[0] = r->keybuf[0], kb[1] = r->keybuf[1];
            key = kb;
        }
        if (!r->has_chain_auto) {
            run_entry(e, r, k, r->buf, key, n);
            continue;
        }
        /* automation: set params every SUB frames at the content's timeline time */
        double base = (double)(r->cur_pos - r->u_in - r->prefix[k]) / e->s->rate;
        for (int off = 0; off < n; off += SUB) {
            int m = n - off < SUB ? n - off : SUB;
            for (int i = 0; i < e->s->nautos; i++) {
                const lathe_automation *a = &e->s->autos[i];
                if (a->node == r->idx && a->kind == LATHE_TARGET_PROC_PARAM && a->index == k)
                    lathe_proc_set(p, a->param, lathe_automation_value(a, base + off / e->s->rate));
            }
            float *io[2] = {r->buf[0] + off, r->ch > 1 ? r->buf[1] + off : NULL};
            const float *ks[2];
            if (key) ks[0] = key[0] + off, ks[1] = r->ch > 1 ? key[1] + off : NULL;
            run_entry(e, r, k, io, key ? ks : NULL, m);
        }
    }
}

/* The node meter of one channel's block: sum of squares (in double) and
 * peak, into *sumsq and *peak. Eight lanes by position in the block, folded
 * at its end, in GCC vector types (the plain loop did not vectorise): the
 * squares are exact in double; only the summation order differs from one
 * running sum, by about 1e-16 of it, far below the report's 0.01 dB. */
typedef float lt_v4f __attribute__((vector_size(16)));
typedef int lt_v4i __attribute__((vector_size(16)));
typedef double lt_v4d __attribute__((vector_size(32)));

LATHE_AVX2_CLONES static void
meter(const float *restrict o, int n, double *sumsq, double *peak)
{
    const float p = (float)*peak;
    lt_v4d s0 = {0, 0, 0, 0}, s1 = s0;
    lt_v4f p0 = {p, p, p, p}, p1 = p0;
    const lt_v4i abs_mask = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        lt_v4f a, b;
        memcpy(&a, o + i, sizeof a);
        memcpy(&b, o + i + 4, sizeof b);
        lt_v4d da = __builtin_convertvector(a, lt_v4d), db = __builtin_convertvector(b, lt_v4d);
        s0 += da * da;
        s1 += db * db;
        lt_v4f ma = (lt_v4f)((lt_v4i)a & abs_mask), mb = (lt_v4f)((lt_v4i)b & abs_mask);
        lt_v4i ga = ma > p0, gb = mb > p1;
        p0 = (lt_v4f)((ga & (lt_v4i)ma) | (~ga & (lt_v4i)p0));
        p1 = (lt_v4f)((gb & (lt_v4i)mb) | (~gb & (lt_v4i)p1));
    }
    double t = ((s0[0] + s0[1]) + (s0[2] + s0[3])) + ((s1[0] + s1[1]) + (s1[2] + s1[3]));
    float q = p;
    for (int j = 0; j < 4; j++) {
        q = p0[j] > q ? p0[j] : q;
        q = p1[j] > q ? p1[j] : q;
    }
    for (; i < n; i++) {
        t += (double)o[i] * o[i];
        q = fabsf(o[i]) > q ? fabsf(o[i]) : q;
    }
    *sumsq += t;
    *peak = q;
}

/* out = in * g over n frames (a fader at rest). Multiplied even at g = 1:
 * with denormals off that flushes a denormal input as the ramp did. */
LATHE_AVX2_CLONES static void
scale(const float *restrict x, float *restrict o, float g, int n)
{
    for (int i = 0; i < n; i++) o[i] = g * x[i];
}

/* The fader's channel gains at pan p (-100..100): the -3 dB sin/cos pan law
 * for a mono node, balance (turn the other side down) for a stereo one. */
static void pan_gains(int ch, double p, double *gl, double *gr)
{
    if (ch == 1) {
        double th = (p + 100.0) / 200.0 * M_PI / 2;
        *gl = cos(th), *gr = sin(th);
    } else {
        *gl = p > 0 ? 1 - p / 100 : 1, *gr = p < 0 ? 1 + p / 100 : 1;
    }
}

static void fader(engine *e, rnode *r, int n)
{
    const lathe_node *nd = r->n;
    /* pre-fader stereo: mono sources centred at -3 dB (the pan law's centre);
     * only kept when something reads it */
    if (!r->pre_used) {
    } else if (r->ch == 1) {
        for (int i = 0; i < n; i++) r->pre[0][i] = r->pre[1][i] = r->buf[0][i] * 0.70710678f;
    } else {
        memcpy(r->pre[0], r->buf[0], (size_t)n * sizeof(float));
        memcpy(r->pre[1], r->buf[1], (size_t)n * sizeof(float));
    }
    const lathe_automation *ga = lane(e, r->idx, LATHE_TARGET_NODE_GAIN, 0, 0);
    const lathe_automation *pa = lane(e, r->idx, LATHE_TARGET_NODE_PAN, 0, 0);
    double t = (double)(r->cur_pos - r->u_out) / e->s->rate;
    const double g_fixed = ga ? 0.0 : db_to_lin(nd->gain_db); /* once, not every SUB frames */
    if (!ga && !pa && r->first) r->gain_lin = g_fixed, r->pan = nd->pan, r->first = 0;
    /* at rest (no lanes, no ramp left): the SUB loop's steady case for the
     * whole block at once, the same gains and products */
    const int at_rest = !ga && !pa && r->gain_lin == g_fixed && r->pan == nd->pan;
    if (at_rest && r->direct) {
        /* the chain ran in the output slot: out = 1 * buf is already there */
    } else if (at_rest) {
        double gl, gr;
        pan_gains(r->ch, nd->pan, &gl, &gr);
        scale(r->buf[0], r->out[0], (float)(g_fixed * gl), n);
        scale(r->buf[r->ch > 1 ? 1 : 0], r->out[1], (float)(g_fixed * gr), n);
    }
    for (int off = 0; !at_rest && off < n; off += SUB) {
        int m = n - off < SUB ? n - off : SUB;
        double g1 = ga ? db_to_lin(lathe_automation_value(ga, t + (off + m) / e->s->rate)) : g_fixed;
        double p1 = pa ? lathe_automation_value(pa, t + (off + m) / e->s->rate) : nd->pan;
        if (r->first) r->gain_lin = g1, r->pan = p1, r->first = 0;
        double g0 = r->gain_lin, p0 = r->pan;
        if (g0 == g1 && p0 == p1) {
            /* steady fader: the same gains every sample (bit-identical to the ramp) */
            double gl, gr;
            pan_gains(r->ch, p1, &gl, &gr);
            const float fl = (float)(g1 * gl), fr = (float)(g1 * gr);
            const float *x0 = r->buf[0] + off, *x1 = r->buf[r->ch > 1 ? 1 : 0] + off;
            float *o0 = r->out[0] + off, *o1 = r->out[1] + off;
            for (int i = 0; i < m; i++) o0[i] = fl * x0[i], o1[i] = fr * x1[i];
            continue;
        }
        for (int i = 0; i < m; i++) {
            double f = (double)(i + 1) / m;
            double g = g0 + (g1 - g0) * f, p = p0 + (p1 - p0) * f;
            double gl, gr;
            pan_gains(r->ch, p, &gl, &gr);
            float x0 = r->buf[0][off + i], x1 = r->ch > 1 ? r->buf[1][off + i] : x0;
            r->out[0][off + i] = (float)(g * gl) * x0;
            r->out[1][off + i] = (float)(g * gr) * x1;
        }
        r->gain_lin = g1, r->pan = p1;
    }
    if (!r->audible) {
        memset(r->out[0], 0, (size_t)n * sizeof(float));
        memset(r->out[1], 0, (size_t)n * sizeof(float));
    }
    const int slot = (int)(r->cur_b % e->nslots);
    for (int c = 0; c < 2; c++) meter(r->out[c], n, &r->slot_sumsq[slot], &r->slot_peak[slot]);
}

static int all_zero(float *const *b, int ch, int n)
{
    /* exactly +-0 (NaN is not zero): the bits without the sign are 0; OR-ed
     * in runs of 64 that the compiler vectorises, stopping at the first run
     * with anything in it */
    for (int c = 0; c < ch; c++) {
        const float *x = b[c];
        for (int off = 0; off < n; off += 64) {
            int m = n - off < 64 ? n - off : 64;
            uint32_t acc = 0;
            for (int i = 0; i < m; i++) {
                uint32_t u;
                memcpy(&u, &x[off + i], sizeof u);
                acc |= u & 0x7fffffffu;
            }
            if (acc) return 0;
        }
    }
    return 1;
}

static void process_node(engine *e, rnode *r, long long b)
{
    int n = e->n;
    lathe_error err;
    const int slot = (int)(b % e->nslots);
    r->cur_b = b;
    r->cur_pos = e->start + b * BLOCK;
    r->out[0] = r->out_ring[slot][0], r->out[1] = r->out_ring[slot][1];
    r->pre[0] = r->pre_ring[slot][0], r->pre[1] = r->pre_ring[slot][1];
    r->slot_peak[slot] = 0, r->slot_sumsq[slot] = 0;
    for (int k = 0; k < r->n->nchain; k++)
        r->gr_slot_max[slot * r->n->nchain + k] = 0, r->gr_slot_sum[slot * r->n->nchain + k] = 0;
    if (r->gr_chunk)
        memset(r->gr_chunk + (size_t)slot * (size_t)r->n->nchain * CHUNKS, 0,
               sizeof(float) * (size_t)r->n->nchain * CHUNKS);
    if (r->n->kind == LATHE_NODE_TRACK) {
        int known_zero = 0;
        lathe_status st = lathe_source_read(r->src, r->cur_pos - r->u_in, r->buf, n, r->buf_zero,
                                            &known_zero, &err);
        if (st != LATHE_OK) {
            pthread_mutex_lock(&e->mu);
            if (e->status == LATHE_OK) e->status = st, e->err = err;
            pthread_mutex_unlock(&e->mu);
            for (int c = 0; c < r->ch; c++) memset(r->buf[c], 0, (size_t)n * sizeof(float));
            known_zero = 0;
        }
        /* A track at rest (silent input and exactly silent output for longer than
         * its chain can ring) stays silent on silent input: processing would
         * give exact zeros, so skip it. Stems exported full length are mostly
         * silence. Data-dependent only, so the bytes do not change with threads. */
        int zero_in = known_zero || all_zero(r->buf, r->ch, n);
        if (zero_in && r->quiet >= r->rest_need) {
            if (!r->slot_zero[slot]) /* zeroed once; the slot keeps them while resting */
                for (int c = 0; c < 2; c++) {
                    memset(r->pre[c], 0, (size_t)n * sizeof(float));
                    memset(r->out[c], 0, (size_t)n * sizeof(float));
                }
            r->slot_zero[slot] = 1;
            r->first = 1;
            r->buf_zero = 1; /* the next read need not write its silence again */
            return;
        }
        r->slot_zero[slot] = 0;
        r->buf_zero = 0;
        if (r->n->invert)
            for (int c = 0; c < r->ch; c++)
                for (int i = 0; i < n; i++) r->buf[c][i] = -r->buf[c][i];
        run_chain(e, r, n);
        r->quiet = zero_in && all_zero(r->buf, r->ch, n) ? r->quiet + n : 0;
    } else {
        if (r->direct) r->buf[0] = r->out[0], r->buf[1] = r->out[1];
        mix_inputs(e, r, n);
        if (r->n->invert)
            for (int c = 0; c < 2; c++)
                for (int i = 0; i < n; i++) r->buf[c][i] = -r->buf[c][i];
        run_chain(e, r, n);
    }
    fader(e, r, n);
}

static void sink_block(engine *e, long long bm);
static void sink_span(engine *e, long long bm);
static void sink_analyze(engine *e, long long bm, int part);

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* An item of a step: a node (>= 0), or a part of the sink: -1 writing,
 * -2 - p part p of the analysis. */
static double *item_cost(engine *e, int it)
{
    return it < 0 ? &e->sink_cost[-1 - it] : &e->nodes[it].cost;
}

static void run_item(engine *e, int k)
{
    const double t0 = e->threads > 1 ? now_s() : 0;
    const int it = e->items[k];
    if (it == -1) sink_block(e, e->item_b[k]);
    else if (it < -1) sink_analyze(e, e->item_b[k], -2 - it);
    else process_node(e, &e->nodes[it], e->item_b[k]);
    if (e->threads > 1) {
        /* each item's cost is written by the thread that ran it and read by
         * run_step after the step's barrier */
        double *c = item_cost(e, it);
        *c = 0.5 * *c + 0.5 * (now_s() - t0);
    }
}

/* ---- the pool ---- */

/* A step is short (a block of 8192 frames: a few hundred microseconds of
 * work per item), and waking a sleeping thread costs tens of microseconds
 * on a virtual machine, a large share of a step. So a thread that waits
 * for the next step, or for the others to finish this one, first polls for
 * up to SPIN_S before it sleeps on the condition variable. The shared
 * counters are written under the mutex and read by the polls atomically;
 * the sleeping path is unchanged, so the spin only saves time. */
#define SPIN_S 100e-6

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Polls while *v == not, for at most SPIN_S. */
static void spin_while_equal(const unsigned long long *v, unsigned long long not)
{
    double t0 = 0;
    for (int i = 1;; i++) {
        if (__atomic_load_n(v, __ATOMIC_ACQUIRE) != not) return;
        cpu_relax();
        if (i % 64 == 0) {
            double t = now_s();
            if (t0 == 0) t0 = t;
            else if (t - t0 > SPIN_S) return;
        }
    }
}

static void spin_until_at_least(const int *v, int at_least)
{
    double t0 = 0;
    for (int i = 1;; i++) {
        if (__atomic_load_n(v, __ATOMIC_ACQUIRE) >= at_least) return;
        cpu_relax();
        if (i % 64 == 0) {
            double t = now_s();
            if (t0 == 0) t0 = t;
            else if (t - t0 > SPIN_S) return;
        }
    }
}

/* Claims and processes the items of the current step until none is left.
 * A worker late from an earlier step sees the generation changed, or (while
 * the next step is being set up) no item left, since the count changes only
 * with the generation: it can never take an item of another step. */
static void run_level(engine *e, unsigned long long gen)
{
    for (;;) {
        pthread_mutex_lock(&e->mu);
        int i = (e->generation == gen && e->next < e->nitems) ? e->next++ : -1;
        pthread_mutex_unlock(&e->mu);
        if (i < 0) return;
        run_item(e, i);
        pthread_mutex_lock(&e->mu);
        if (__atomic_add_fetch(&e->done_count, 1, __ATOMIC_RELEASE) == e->nitems)
            pthread_cond_broadcast(&e->done);
        pthread_mutex_unlock(&e->mu);
    }
}

static void *worker(void *arg)
{
    engine *e = arg;
    lathe_denormals_off();
    unsigned long long seen = 0;
    for (;;) {
        spin_while_equal(&e->generation, seen);
        pthread_mutex_lock(&e->mu);
        while (!e->stop && e->generation == seen) pthread_cond_wait(&e->go, &e->mu);
        if (e->stop) {
            pthread_mutex_unlock(&e->mu);
            return NULL;
        }
        seen = e->generation;
        pthread_mutex_unlock(&e->mu);
        run_level(e, seen);
    }
}

/* Step t of the pipeline: every node of level L works on block t - L. The
 * inputs of a node at level L come from lower levels, which finished that
 * block in earlier steps, and the rings keep each slot until every reader
 * is done with it, so all the work of a step runs in parallel: the tracks
 * of the next blocks overlap the buses and the master of earlier ones. */
/* Step t: every node at level L on block t - L, and the sink on block
 * `sink_b` of the master (< 0: none), all in parallel. */
static void run_step(engine *e, long long t, long long sink_b)
{
    /* The items are gathered in a local count: e->nitems changes only under
     * the mutex, with the generation. A worker late from the last step
     * claims while next < nitems, so it cannot take an item of this step
     * while the list is being written (it did when the count grew first:
     * the writer then ran twice on one block, or on two threads at once). */
    int n = 0;
    if (sink_b >= 0 && e->sink.st == LATHE_OK) {
        sink_span(e, sink_b);
        const int parts = e->sink.opt && (e->sink.opt->analysis_flags & LATHE_ANALYZE_LOUDNESS_ONLY)
                              ? 1 : LATHE_ANALYZER_PARTS;
        for (int p = -1; p < parts; p++) {
            e->items[n] = p < 0 ? -1 : -2 - p;
            e->item_b[n++] = sink_b;
        }
    }
    for (int i = 0; i < e->nn; i++) {
        long long b = t - e->nodes[i].level;
        if (b < 0) continue;
        e->items[n] = i;
        e->item_b[n++] = b;
    }
    if (e->threads <= 1 || n <= 1) {
        for (int k = 0; k < n; k++) run_item(e, k);
        return;
    }
    /* Longest first (by the last blocks' costs): the threads then finish the
     * step together instead of one waiting for a long item (the master, a
     * reverb bus) claimed last. The order never changes the bytes: the items
     * of a step are independent. */
    for (int k = 1; k < n; k++) {
        int it = e->items[k];
        long long b = e->item_b[k];
        double c = *item_cost(e, it);
        int j = k;
        for (; j > 0; j--) {
            int p = e->items[j - 1];
            if (*item_cost(e, p) >= c) break;
            e->items[j] = p, e->item_b[j] = e->item_b[j - 1];
        }
        e->items[j] = it, e->item_b[j] = b;
    }
    pthread_mutex_lock(&e->mu);
    e->nitems = n;
    e->next = 0;
    __atomic_store_n(&e->done_count, 0, __ATOMIC_RELAXED);
    unsigned long long gen = e->generation + 1;
    __atomic_store_n(&e->generation, gen, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&e->go);
    pthread_mutex_unlock(&e->mu);
    run_level(e, gen); /* the calling thread works too */
    spin_until_at_least(&e->done_count, e->nitems);
    pthread_mutex_lock(&e->mu);
    while (e->done_count < e->nitems) pthread_cond_wait(&e->done, &e->mu);
    pthread_mutex_unlock(&e->mu);
}

/* ---- set-up ---- */

static int level_of(engine *e, int i, int *state)
{
    rnode *r = &e->nodes[i];
    if (state[i] == 2) return r->level;
    if (state[i] == 1) return -1; /* cycle: the loader rejects these; be safe */
    state[i] = 1;
    int lv = 0;
    for (int k = 0; k < r->nin; k++) {
        int l = level_of(e, r->in[k].src, state);
        if (l < 0) return -1;
        if (l + 1 > lv) lv = l + 1;
    }
    for (int k = 0; k < r->n->nchain; k++) {
        int key = r->n->chain[k].key_node;
        if (key < 0) continue;
        int l = level_of(e, key, state);
        if (l < 0) return -1;
        if (l + 1 > lv) lv = l + 1;
    }
    state[i] = 2;
    r->level = lv;
    return lv;
}

static long compensate(engine *e, int i, int *state)
{
    rnode *r = &e->nodes[i];
    if (state[i]) return r->u_out;
    state[i] = 1;
    long need = 0;
    for (int k = 0; k < r->nin; k++) {
        long u = compensate(e, r->in[k].src, state);
        if (u > need) need = u;
    }
    for (int k = 0; k < r->n->nchain; k++) {
        int key = r->n->chain[k].key_node;
        if (key < 0) continue;
        long u = compensate(e, key, state) - r->prefix[k];
        if (u > need) need = u;
    }
    r->u_in = need;
    r->u_out = need + r->latency;
    return r->u_out;
}

static int audible(const lathe_session *s, int i)
{
    int any_solo = 0;
    for (int k = 0; k < s->nnodes; k++) any_solo |= s->nodes[k].solo;
    const lathe_node *n = &s->nodes[i];
    if (n->mute) return 0;
    if (!any_solo || n->kind != LATHE_NODE_TRACK) return 1;
    /* a track is heard when it, or a bus it feeds, is soloed */
    for (int k = i, hops = 0; k >= 0 && hops <= s->nnodes; k = s->nodes[k].out, hops++)
        if (s->nodes[k].solo) return 1;
    return 0;
}

static void engine_free(engine *e)
{
    if (e->tid) {
        pthread_mutex_lock(&e->mu);
        e->stop = 1;
        pthread_cond_broadcast(&e->go);
        pthread_mutex_unlock(&e->mu);
        for (int t = 0; t < e->threads - 1; t++) pthread_join(e->tid[t], NULL);
        free(e->tid);
    }
    for (int i = 0; i < e->nn; i++) {
        rnode *r = &e->nodes[i];
        if (!r->n) continue; /* set-up stopped before this node */
        lathe_source_close(r->src);
        for (int k = 0; k < r->n->nchain; k++) {
            if (r->procs) lathe_proc_free(r->procs[k]);
            if (r->keydl) dl_free(&r->keydl[k]);
        }
        free(r->procs);
        free(r->gr_slot_max), free(r->gr_slot_sum), free(r->gr_max), free(r->gr_sum), free(r->gr_on);
        free(r->gr_chunk);
        free(r->prefix);
        free(r->keydl);
        for (int k = 0; k < r->nin; k++) dl_free(&r->in[k].dl);
        free(r->in);
        for (int c = 0; c < 2; c++) {
            free(r->own_buf[c]), free(r->keybuf[c]);
            for (int k = 0; k < MAX_RING; k++) free(r->pre_ring[k][c]), free(r->out_ring[k][c]);
        }
        lathe_writer_abort(r->stem);
    }
    free(e->nodes);
    free(e->items);
    free(e->item_b);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->go);
    pthread_cond_destroy(&e->done);
}

static lathe_status setup(engine *e, const lathe_session *s, const lathe_mix_options *opt,
                          double *end_s, double *tail_cap, lathe_error *err)
{
    e->s = s;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->go, NULL);
    pthread_cond_init(&e->done, NULL);
    if (s->nnodes < 1 || s->master < 0 || s->master >= s->nnodes)
        return lathe_error_set(err, LATHE_E_INVALID, "session has no master");
    e->nn = s->nnodes;
    e->nodes = calloc((size_t)e->nn, sizeof *e->nodes);
    if (!e->nodes) return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
    *end_s = 0;
    *tail_cap = 0;
    for (int i = 0; i < e->nn; i++) {
        rnode *r = &e->nodes[i];
        const lathe_node *n = &s->nodes[i];
        r->n = n, r->idx = i, r->first = 1;
        r->audible = audible(s, i);
        r->direct = n->kind != LATHE_NODE_TRACK && r->audible && n->gain_db == 0 && n->pan == 0 &&
                    !lane(e, i, LATHE_TARGET_NODE_GAIN, 0, 0) && !lane(e, i, LATHE_TARGET_NODE_PAN, 0, 0);
        r->ch = 2;
        if (n->kind == LATHE_NODE_TRACK) {
            double end;
            r->src = lathe_source_open(n->file, s->rate, n->start_s, &r->ch, &end, err);
            if (!r->src) return err->code;
            if (end > *end_s) *end_s = end;
        }
        r->procs = calloc((size_t)(n->nchain ? n->nchain : 1), sizeof *r->procs);
        r->prefix = calloc((size_t)(n->nchain + 1), sizeof *r->prefix);
        r->keydl = calloc((size_t)(n->nchain ? n->nchain : 1), sizeof *r->keydl);
        size_t ng = (size_t)(n->nchain ? n->nchain : 1);
        r->gr_slot_max = calloc(ng * MAX_RING, sizeof(double));
        r->gr_slot_sum = calloc(ng * MAX_RING, sizeof(double));
        r->gr_max = calloc(ng, sizeof(double));
        r->gr_sum = calloc(ng, sizeof(double));
        r->gr_on = calloc(ng, 1);
        if (!r->procs || !r->prefix || !r->keydl || !r->gr_slot_max || !r->gr_slot_sum ||
            !r->gr_max || !r->gr_sum || !r->gr_on)
            return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        double node_tail = 0;
        for (int k = 0; k < n->nchain; k++) {
            const lathe_chain_entry *ce = &n->chain[k];
            r->prefix[k] = r->latency;
            if (ce->bypass) continue;
            /* values and strings (e.g. convolve's ir) are set before init: no ramps */
            const char *names[8], *texts[8];
            int ns = 0, nv = 0;
            int *idx = malloc(sizeof(int) * (size_t)(ce->desc->nparams + 1));
            if (!idx) return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
            for (int q = 0; q < ce->desc->nparams; q++) {
                if (ce->desc->params[q].kind != LATHE_PARAM_STRING) idx[nv++] = q;
                else if (ce->strings && ce->strings[q] && ns < 8)
                    names[ns] = ce->desc->params[q].name, texts[ns++] = ce->strings[q];
            }
            double *vals = malloc(sizeof(double) * (size_t)(nv + 1));
            for (int q = 0; vals && q < nv; q++) vals[q] = ce->values[idx[q]];
            lathe_proc *p = vals ? lathe_proc_new_full(ce->desc, s->rate, r->ch, PROC_BLOCK, idx,
                                                       vals, nv, names, texts, ns, err)
                                 : NULL;
            free(idx);
            free(vals);
            if (!p) {
                char where[128];
                snprintf(where, sizeof where, "%s: %s", n->name, ce->label);
                lathe_error_prefix(err, where);
                return err->code;
            }
            r->procs[k] = p;
            r->gr_on[k] = ce->desc->reduction_db != NULL;
            r->latency += lathe_proc_latency(p);
            node_tail += lathe_proc_tail_s(p);
        }
        r->prefix[n->nchain] = r->latency;
        r->rest_need = llround((node_tail + 2.0) * s->rate) + r->latency;
        if (node_tail > *tail_cap) *tail_cap = node_tail;
        for (int c = 0; c < 2; c++) {
            r->buf[c] = r->own_buf[c] = falloc(BLOCK);
            r->keybuf[c] = falloc(BLOCK);
            if (!r->buf[c] || !r->keybuf[c])
                return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        }
        for (int a = 0; a < s->nautos; a++)
            if (s->autos[a].node == i && s->autos[a].kind == LATHE_TARGET_PROC_PARAM)
                r->has_chain_auto = 1;
    }
    /* input edges: main outputs, then sends, by source index */
    for (int i = 0; i < e->nn; i++) {
        rnode *r = &e->nodes[i];
        if (r->n->kind == LATHE_NODE_TRACK) continue;
        int cap = 0;
        for (int j = 0; j < e->nn; j++) cap += 1 + s->nodes[j].nsends;
        r->in = calloc((size_t)cap, sizeof *r->in);
        for (int j = 0; j < e->nn; j++) {
            if (j == i) continue;
            if (s->nodes[j].out == i) r->in[r->nin++] = (input_edge){j, -1, {{0}, 0, 0, 0, 0}};
            for (int k = 0; k < s->nodes[j].nsends; k++)
                if (s->nodes[j].sends[k].dest == i)
                    r->in[r->nin++] = (input_edge){j, k, {{0}, 0, 0, 0, 0}};
        }
    }
    /* who reads a node's pre-fader signal */
    for (int j = 0; j < e->nn; j++) {
        for (int k = 0; k < s->nodes[j].nsends; k++)
            if (s->nodes[j].sends[k].pre_fader) e->nodes[j].pre_used = 1;
        for (int k = 0; k < s->nodes[j].nchain; k++)
            if (s->nodes[j].chain[k].key_node >= 0) e->nodes[s->nodes[j].chain[k].key_node].pre_used = 1;
    }
    /* levels and latency */
    int *state = calloc((size_t)e->nn, sizeof *state);
    int maxlv = 0;
    for (int i = 0; i < e->nn; i++) {
        int l = level_of(e, i, state);
        if (l < 0) {
            free(state);
            return lathe_error_set(err, LATHE_E_INVALID, "routing cycle through %s",
                                   s->nodes[i].name);
        }
        if (l > maxlv) maxlv = l;
    }
    memset(state, 0, (size_t)e->nn * sizeof *state);
    for (int i = 0; i < e->nn; i++) compensate(e, i, state);
    free(state);
    e->nlevels = maxlv + 1;
    e->nslots = e->nlevels + 1;
    if (e->nslots > MAX_RING)
        return lathe_error_set(err, LATHE_E_INVALID, "routing is %d levels deep (at most %d)",
                               e->nlevels, MAX_RING - 1);
    e->items = calloc((size_t)e->nn + 1 + LATHE_ANALYZER_PARTS, sizeof *e->items);
    e->item_b = calloc((size_t)e->nn + 1 + LATHE_ANALYZER_PARTS, sizeof *e->item_b);
    if (!e->items || !e->item_b) return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
    for (int i = 0; i < e->nn; i++)
        for (int k = 0; k < e->nslots; k++)
            for (int c = 0; c < 2; c++) {
                e->nodes[i].pre_ring[k][c] = falloc(BLOCK);
                e->nodes[i].out_ring[k][c] = falloc(BLOCK);
                if (!e->nodes[i].pre_ring[k][c] || !e->nodes[i].out_ring[k][c])
                    return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
            }
    for (int i = 0; i < e->nn; i++) {
        rnode *r = &e->nodes[i];
        for (int k = 0; k < r->nin; k++)
            if (!dl_init(&r->in[k].dl, r->u_in - e->nodes[r->in[k].src].u_out))
                return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        for (int k = 0; k < r->n->nchain; k++) {
            int key = r->n->chain[k].key_node;
            if (key >= 0 && !dl_init(&r->keydl[k], r->u_in + r->prefix[k] - e->nodes[key].u_out))
                return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        }
    }
    /* threads */
    int threads = opt && opt->threads > 0 ? opt->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    e->threads = threads < 1 ? 1 : threads;
    if (e->threads > 1) {
        e->tid = calloc((size_t)e->threads - 1, sizeof *e->tid);
        for (int t = 0; t < e->threads - 1; t++) pthread_create(&e->tid[t], NULL, worker, e);
    }
    return LATHE_OK;
}

static lathe_status open_stems(engine *e, const lathe_mix_options *opt, lathe_error *err)
{
    if (!opt || !opt->stems_dir) return LATHE_OK;
    struct stat st;
    if (stat(opt->stems_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return lathe_error_set(err, LATHE_E_IO, "%s: no such folder (for --stems)", opt->stems_dir);
    for (int i = 0; i < e->nn; i++) {
        rnode *r = &e->nodes[i];
        if (r->n->kind != LATHE_NODE_BUS) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.wav", opt->stems_dir, r->n->name);
        lathe_writer_spec spec = {LATHE_FILE_WAV, LATHE_SAMPLE_FLOAT32, e->s->rate, 2,
                                  opt->overwrite};
        r->stem = lathe_writer_open(path, &spec, err);
        if (!r->stem) return err->code;
        r->stem_skip = r->u_out;
    }
    return LATHE_OK;
}

/* The part of the master's block bm that is output: the compensated latency
 * dropped at the start, the tail cut at the end. Run by run_step before the
 * step, for the sink's items. */
static void sink_span(engine *e, long long bm)
{
    struct sink *k = &e->sink;
    const rnode *m = &e->nodes[e->s->master];
    long long timeline = k->start + bm * BLOCK - m->u_out;
    int from = 0;
    if (k->skip) {
        from = k->skip < e->n ? (int)k->skip : e->n;
        k->skip -= from;
    }
    long long room = k->end + k->tail_max - (timeline + from);
    int n = e->n - from;
    if (room < n) n = room > 0 ? (int)room : 0;
    k->from = from, k->n = n;
}

/* One part of the analysis of the master's block bm (its span), in parallel
 * with the writing and the other part. */
static void sink_analyze(engine *e, long long bm, int part)
{
    struct sink *k = &e->sink;
    const rnode *m = &e->nodes[e->s->master];
    const int slot = (int)(bm % e->nslots);
    const float *o[2] = {m->out_ring[slot][0] + k->from, m->out_ring[slot][1] + k->from};
    if (k->n > 0) lathe_analyzer_add_part(k->an, o, k->n, part);
}

/* The master's block bm: write its span, meter; node meters, gain
 * reductions and bus stems of the same block. Runs in parallel with the
 * next step (see nslots) and the analysis of the same block; touches only
 * sink state and the per-node totals, which nothing else writes during a
 * render. */
static void sink_block(engine *e, long long bm)
{
    struct sink *k = &e->sink;
    if (k->st != LATHE_OK) return;
    rnode *m = &e->nodes[e->s->master];
    const int slot = (int)(bm % e->nslots);
    const float quiet = 3.1623e-5f; /* -90 dBFS */
    const int from = k->from, n = k->n;
    const float *o[2] = {m->out_ring[slot][0] + from, m->out_ring[slot][1] + from};
    if (n > 0) {
        for (int i = 0; i < n; i++)
            if (fabsf(o[0][i]) > quiet || fabsf(o[1][i]) > quiet) k->last_loud = k->written + i;
        if (k->w && lathe_writer_write(k->w, o, n, &k->err) != LATHE_OK) {
            k->st = k->err.code;
            return;
        }
        if (k->opt && k->opt->series && lathe_series_add(k->opt->series, o, n) != LATHE_OK) {
            k->st = lathe_error_set(&k->err, LATHE_E_NOMEM, "report series: out of memory");
            return;
        }
        k->written += n;
    }
    if (k->opt && k->opt->series && m->gr_chunk) {
        /* each chunk's reading goes to the hop its first output frame falls in */
        const long hop = lathe_series_hop_frames(k->opt->series);
        const int nc = m->n->nchain;
        for (int q = 0; q < nc; q++) {
            if (!m->gr_on[q]) continue;
            for (int j = 0; j < CHUNKS; j++) {
                long long f = bm * BLOCK + (long long)j * GR_CHUNK - m->u_out;
                if (f < 0 || f >= k->written) continue;
                long long h = f / hop;
                while (k->gr_hop[q] < h) {
                    if (lathe_series_add_gr(k->opt->series, m->n->chain[q].label, &k->gr_hop_max[q], 1) !=
                        LATHE_OK)
                        break;
                    k->gr_hop_max[q] = 0;
                    k->gr_hop[q]++;
                }
                float g = m->gr_chunk[((size_t)slot * (size_t)nc + (size_t)q) * CHUNKS + (size_t)j];
                if (g > k->gr_hop_max[q]) k->gr_hop_max[q] = g;
            }
        }
    }
    for (int i = 0; i < e->nn; i++) {
        rnode *r = &e->nodes[i];
        r->peak = fmax(r->peak, r->slot_peak[slot]);
        r->sumsq += r->slot_sumsq[slot];
        r->frames += e->n;
        for (int q = 0; q < r->n->nchain; q++) {
            r->gr_max[q] = fmax(r->gr_max[q], r->gr_slot_max[slot * r->n->nchain + q]);
            r->gr_sum[q] += r->gr_slot_sum[slot * r->n->nchain + q];
        }
        if (!r->stem) continue;
        int f = (int)(r->stem_skip < e->n ? r->stem_skip : e->n);
        r->stem_skip -= f;
        const float *so[2] = {r->out_ring[slot][0] + f, r->out_ring[slot][1] + f};
        if (e->n - f > 0 && lathe_writer_write(r->stem, so, e->n - f, &k->err) != LATHE_OK) {
            k->st = k->err.code;
            return;
        }
    }
    if (k->opt && k->opt->progress) {
        double total = (double)(k->end - k->start) + (double)k->tail_max;
        k->opt->progress(k->opt->user, total > 0 ? fmin(1.0, (double)k->written / total) : 1.0);
    }
}

lathe_status lathe_mix_render(const lathe_session *s, const char *out_path,
                              const lathe_mix_options *opt, lathe_mix_report *rep,
                              lathe_error *err)
{
    lathe_denormals_off();
    engine e;
    memset(&e, 0, sizeof e);
    lathe_error local;
    if (!err) err = &local;
    if (rep) memset(rep, 0, sizeof *rep);
    double end_s = 0, tail_cap = 0;
    lathe_status st = setup(&e, s, opt, &end_s, &tail_cap, err);
    lathe_writer *w = NULL;
    lathe_analyzer *an = NULL;
    if (st == LATHE_OK) st = open_stems(&e, opt, err);
    if (st != LATHE_OK) {
        engine_free(&e);
        return st;
    }
    const int och = opt && opt->channels == 1 ? 1 : 2;
    lathe_writer_spec spec = {LATHE_FILE_AUTO, opt ? opt->sample : LATHE_SAMPLE_AUTO, s->rate, och,
                              opt ? opt->overwrite : 0};
    if (out_path) w = lathe_writer_open(out_path, &spec, err);
    if (w && opt && opt->scratch) lathe_writer_set_scratch(w);
    an = lathe_analyzer_new(s->rate, och, err);
    if (an && opt) lathe_analyzer_set_flags(an, opt->analysis_flags);
    if ((out_path && !w) || !an) {
        lathe_writer_abort(w);
        lathe_analyzer_free(an);
        engine_free(&e);
        return err->code;
    }

    rnode *m = &e.nodes[s->master];
    const long lat = m->u_out;
    const long long start = llround(s->range_start_s * s->rate);
    const long long end = s->range_end_s >= 0 ? llround(s->range_end_s * s->rate) : llround(end_s * s->rate);
    const int auto_tail = s->tail_s < 0;
    /* auto: until the tails fall below -90 dBFS, at most the chains' tails + 1 s */
    const long long tail_max = llround((auto_tail ? (tail_cap > 0 ? tail_cap + 1.0 : 0.0)
                                                  : s->tail_s) * s->rate);
    struct sink *sk = &e.sink;
    sk->w = w, sk->an = an, sk->skip = lat, sk->written = 0, sk->last_loud = end - start;
    sk->start = start, sk->end = end, sk->tail_max = tail_max, sk->opt = opt, sk->st = LATHE_OK;
    if (opt && opt->series) {
        int nc = m->n->nchain ? m->n->nchain : 1;
        m->gr_chunk = calloc((size_t)nc * CHUNKS * MAX_RING, sizeof(float));
        sk->gr_hop = calloc((size_t)nc, sizeof(long long));
        sk->gr_hop_max = calloc((size_t)nc, sizeof(float));
        if (!m->gr_chunk || !sk->gr_hop || !sk->gr_hop_max) {
            free(sk->gr_hop), free(sk->gr_hop_max);
            lathe_writer_abort(w);
            lathe_analyzer_free(an);
            engine_free(&e);
            return lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        }
    }
    e.start = start;
    e.n = BLOCK;
    long long pending = -1; /* the master's block that the next step sinks */
    for (long long t = 0;; t++) {
        run_step(&e, t, pending);
        pending = -1;
        if (e.status != LATHE_OK || sk->st != LATHE_OK) {
            st = e.status != LATHE_OK ? e.status : sk->st;
            *err = e.status != LATHE_OK ? e.err : sk->err;
            break;
        }
        /* the master finished block bm in this step: keep it (the next step
         * writes and meters it), or stop (last_loud covers the blocks up
         * to bm - 1, sunk in this step) */
        long long bm = t - m->level;
        if (bm < 0) continue;
        long long timeline = start + bm * BLOCK - lat; /* what the master emits now */
        if (timeline >= end + tail_max) break;
        if (auto_tail && timeline >= end && timeline - start > sk->last_loud + (long long)(0.1 * s->rate))
            break;
        pending = bm;
    }
    long long written = sk->written;
    if (opt && opt->series && sk->gr_hop) {
        /* the last hop of every curve */
        for (int q = 0; q < m->n->nchain; q++)
            if (m->gr_on[q] && sk->written > 0)
                lathe_series_add_gr(opt->series, m->n->chain[q].label, &sk->gr_hop_max[q], 1);
        free(sk->gr_hop), free(sk->gr_hop_max);
    }
    if (st == LATHE_OK && w) {
        st = lathe_writer_commit(w, err);
        w = NULL;
    }
    for (int i = 0; i < e.nn && st == LATHE_OK; i++)
        if (e.nodes[i].stem) {
            st = lathe_writer_commit(e.nodes[i].stem, err);
            e.nodes[i].stem = NULL;
        }
    if (st == LATHE_OK && rep) {
        lathe_analyzer_result(an, &rep->mix);
        rep->nnodes = e.nn;
        rep->nodes = calloc((size_t)e.nn, sizeof *rep->nodes);
        for (int i = 0; rep->nodes && i < e.nn; i++) {
            rnode *r = &e.nodes[i];
            snprintf(rep->nodes[i].name, sizeof rep->nodes[i].name, "%s", r->n->name);
            rep->nodes[i].kind = r->n->kind;
            rep->nodes[i].peak_dbfs = r->peak > 0 ? 20 * log10(r->peak) : -HUGE_VAL;
            double ms = r->frames ? r->sumsq / (2.0 * (double)r->frames) : 0;
            rep->nodes[i].rms_dbfs = ms > 0 ? 10 * log10(ms) : -HUGE_VAL;
            rep->nodes[i].latency = r->latency;
        }
        int nr = 0;
        for (int i = 0; i < e.nn; i++)
            for (int k = 0; k < e.nodes[i].n->nchain; k++) nr += e.nodes[i].gr_on[k];
        rep->reductions = calloc((size_t)(nr ? nr : 1), sizeof *rep->reductions);
        for (int i = 0; rep->reductions && i < e.nn; i++) {
            rnode *r = &e.nodes[i];
            for (int k = 0; k < r->n->nchain; k++) {
                if (!r->gr_on[k]) continue;
                lathe_reduction *x = &rep->reductions[rep->nreductions++];
                x->node = i, x->entry = k;
                snprintf(x->label, sizeof x->label, "%s.%s", r->n->name, r->n->chain[k].label);
                x->max_db = r->gr_max[k];
                x->mean_db = r->frames ? r->gr_sum[k] / (double)r->frames : 0;
            }
        }
        rep->latency = (int)lat;
        rep->rendered_s = (double)written / s->rate;
        rep->tail_s = fmax(0.0, (double)(start + written - end) / s->rate);
        double tp = rep->mix.true_peak_dbtp;
        rep->suggested_trim_db = tp > 0 ? -(tp + 3.0) : 0.0;
    }
    lathe_writer_abort(w);
    lathe_analyzer_free(an);
    engine_free(&e);
    return st;
}

void lathe_mix_report_free(lathe_mix_report *rep)
{
    if (!rep) return;
    free(rep->nodes);
    free(rep->reductions);
    rep->nodes = NULL;
    rep->reductions = NULL;
    rep->nreductions = 0;
}
