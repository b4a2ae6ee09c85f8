/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The session loader: YAML tree -> lathe_session.  Every name is resolved to
 * an index and every value to its unit here, and every problem is collected
 * with its line and column (the loader never stops at the first one).  The
 * format is documented in docs/session.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/io.h"
#include "lathe/param.h"
#include "session/session_internal.h"

/* ---- the processors that take a sidechain key ----
 * The one place that knows which processors read an external key: the
 * descriptor has no flag for it yet (one may be added later; then this list
 * goes away). */
static const char *const keyed_procs[] = {"compressor", "expander", "gate", "deesser", NULL};

int lathe_proc_takes_key(const lathe_proc_desc *d) {
    for (int i = 0; keyed_procs[i]; i++)
        if (strcmp(d->name, keyed_procs[i]) == 0) return 1;
    return 0;
}

/* ---- fixed value descriptors (faders, sends, globals) ---- */

#define NUM(name, unit, lo, hi, def)                                                               \
    { name, unit, "", lo, hi, def, LATHE_PARAM_NUMBER, NULL, 0 }
static const lathe_param_desc P_GAIN = NUM("gain", "dB", -INFINITY, 24, 0);
static const lathe_param_desc P_PAN = NUM("pan", "%", -100, 100, 0);
static const lathe_param_desc P_LEVEL = NUM("level", "dB", -INFINITY, 24, 0);
static const lathe_param_desc P_RATE = NUM("rate", "Hz", 8000, 384000, 48000);
static const lathe_param_desc P_TEMPO = NUM("tempo", "bpm", 20, 999, 120);

static const char *const K_TOP[] = {"lathe",  "rate",  "tempo",  "meter",      "range", "tail",
                                    "tracks", "buses", "master", "automation", NULL};
static const char *const K_TRACK[] = {"name", "file",   "start", "gain",  "pan", "mute",
                                      "solo", "invert", "chain", "sends", "out", NULL};
static const char *const K_BUS[] = {"name", "chain",  "gain",  "pan", "mute",
                                    "solo", "invert", "sends", "out", NULL};
static const char *const K_MASTER[] = {"gain", "pan", "invert", "chain", NULL};
static const char *const K_RANGE[] = {"start", "end", NULL};
static const char *const K_SEND[] = {"to", "level", "pre", NULL};
static const char *const K_LANE[] = {"target", "curve", "points", NULL};
static const char *const CURVES[] = {"linear", "exp", "hold", "smooth", NULL};

/* ---- loader state ---- */

typedef struct {
    int from, to; /* `to` is computed after `from` */
    int line, col;
} edge;

typedef struct {
    lathe_diags *d;
    lathe_session *s;
    lathe_param_ctx ctx;
    int ntracks, nbuses;
    edge *edges;
    int nedges, capedges;
    int rate_given;
    int have_rate_from_track;
} loader;

#define DIAG(L, n, ...) lathe_diag_add((L)->d, (n) ? (n)->line : 0, (n) ? (n)->col : 0, __VA_ARGS__)

static char *dupstr(const char *s) {
    size_t n = strlen(s) + 1;
    char *r = malloc(n);
    if (r) memcpy(r, s, n);
    return r;
}

static void add_edge(loader *L, int from, int to, const lathe_yn *at) {
    if (from < 0 || to < 0) return;
    if (L->nedges == L->capedges) {
        int cap = L->capedges ? 2 * L->capedges : 32;
        edge *e = realloc(L->edges, (size_t)cap * sizeof *e);
        if (!e) return;
        L->edges = e, L->capedges = cap;
    }
    L->edges[L->nedges++] = (edge){from, to, at ? at->line : 0, at ? at->col : 0};
}

static const char *kind_word(lathe_yn_kind k) {
    return k == LATHE_YN_SEQ ? "a list" : k == LATHE_YN_MAP ? "a map" : "a single value";
}

static void check_keys(loader *L, const lathe_yn *m, const char *const *valid) {
    lathe_yn_check_keys(L->d, m, valid);
}

/* Type checks: a null value counts as absent (returns 0, no diagnostic). */
static int is_kind(loader *L, const lathe_yn *v, lathe_yn_kind kind, const char *what) {
    if (!v || lathe_yn_is_null(v)) return 0;
    if (v->kind == kind) return 1;
    DIAG(L, v, "'%s' must be %s, not %s", what, kind_word(kind), kind_word(v->kind));
    return 0;
}

static int parse_value(loader *L, const lathe_yn *v, const lathe_param_desc *p, const char *prefix,
                       double *out) {
    if (!v) return 0;
    if (v->kind != LATHE_YN_SCALAR) {
        DIAG(L, v, "%s%s'%s' must be a single value, not %s", prefix ? prefix : "",
             prefix ? ": " : "", p->name, kind_word(v->kind));
        return 0;
    }
    lathe_error err = {0};
    if (lathe_param_parse(p, v->str, &L->ctx, out, &err) != LATHE_OK) {
        DIAG(L, v, "%s%s%s", prefix ? prefix : "", prefix ? ": " : "", err.msg);
        return 0;
    }
    return 1;
}

static int parse_bool(loader *L, const lathe_yn *v, const char *name, int *out) {
    lathe_param_desc b = {name, "", "", 0, 1, 0, LATHE_PARAM_BOOL, NULL, 0};
    double x;
    if (!v || lathe_yn_is_null(v) || !parse_value(L, v, &b, NULL, &x)) return 0;
    *out = x != 0;
    return 1;
}

static int parse_time(loader *L, const lathe_yn *v, const char *name, double *out) {
    if (!v || lathe_yn_is_null(v)) return 0;
    if (v->kind != LATHE_YN_SCALAR) {
        DIAG(L, v, "'%s' must be a time, not %s", name, kind_word(v->kind));
        return 0;
    }
    lathe_error err = {0};
    if (lathe_time_parse(v->str, L->s->tempo_bpm, L->s->beats_per_bar, out, &err) != LATHE_OK) {
        DIAG(L, v, "%s: %s", name, err.msg);
        return 0;
    }
    return 1;
}

/* A path as written in the session, made usable from the current directory. */
static char *resolve_path(const lathe_session *s, const char *p) {
    if (p[0] == '/' || strcmp(s->dir, ".") == 0) return dupstr(p);
    size_t n = strlen(s->dir) + strlen(p) + 2;
    char *r = malloc(n);
    if (r) snprintf(r, n, "%s/%s", s->dir, p);
    return r;
}

/* ---- names ---- */

static int find_node(const loader *L, const char *name) {
    for (int i = 0; i < L->s->nnodes; i++)
        if (L->s->nodes[i].name && strcmp(L->s->nodes[i].name, name) == 0) return i;
    return -1;
}

static int valid_name(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* Suggestion among node names: buses_only limits it to buses and master. */
static void suggest_nodes(const loader *L, lathe_suggest *sg, int buses_only) {
    for (int i = 0; i < L->s->nnodes; i++) {
        const lathe_node *n = &L->s->nodes[i];
        if (n->name && (!buses_only || n->kind != LATHE_NODE_TRACK)) lathe_suggest_add(sg, n->name);
    }
}

/* Resolves a destination (out, sends): a bus or the master. */
static int resolve_bus(loader *L, const lathe_yn *v, const char *where) {
    if (v->kind != LATHE_YN_SCALAR) {
        DIAG(L, v, "'%s' must name a bus, not %s", where, kind_word(v->kind));
        return -1;
    }
    int i = find_node(L, v->str);
    if (i < 0) {
        lathe_suggest sg;
        char sug[160];
        lathe_suggest_init(&sg, v->str);
        suggest_nodes(L, &sg, 1);
        DIAG(L, v, "unknown bus '%s' in %s%s", v->str, where,
             lathe_suggest_text(&sg, sug, sizeof sug));
        return -1;
    }
    if (L->s->nodes[i].kind == LATHE_NODE_TRACK) {
        DIAG(L, v, "'%s' is a track; %s must name a bus or master", v->str, where);
        return -1;
    }
    return i;
}

/* ---- chains ---- */

/* For a plural key ("bands"): the prefix stem ("band") when the descriptor
 * has grouped params "band1.<x>"; else 0. */
static int group_stem(const lathe_proc_desc *d, const char *key, char *stem, size_t len) {
    size_t n = strlen(key);
    if (n < 2 || key[n - 1] != 's' || n >= len) return 0;
    memcpy(stem, key, n - 1);
    stem[n - 1] = '\0';
    char pre[80];
    snprintf(pre, sizeof pre, "%s1.", stem);
    for (int i = 0; i < d->nparams; i++)
        if (strncmp(d->params[i].name, pre, strlen(pre)) == 0) return 1;
    return 0;
}

static void set_param(loader *L, lathe_chain_entry *ce, int idx, const lathe_yn *v) {
    const lathe_param_desc *p = &ce->desc->params[idx];
    if (p->kind == LATHE_PARAM_STRING) {
        if (v->kind != LATHE_YN_SCALAR) {
            DIAG(L, v, "%s: '%s' must be text (a file path), not %s", ce->label, p->name,
                 kind_word(v->kind));
            return;
        }
        /* Text params are file paths (convolve's ir): resolved like track files. */
        char *path = resolve_path(L->s, v->str);
        if (!path) return;
        lathe_audio_info info;
        lathe_error err = {0};
        lathe_reader *r = lathe_reader_open(path, &info, &err);
        if (!r) DIAG(L, v, "%s: %s: %s", ce->label, p->name, err.msg);
        lathe_reader_close(r);
        free(ce->strings[idx]);
        ce->strings[idx] = path;
        return;
    }
    double x;
    if (parse_value(L, v, p, ce->label, &x)) ce->values[idx] = x;
}

static void parse_group(loader *L, lathe_chain_entry *ce, const char *key, const char *stem,
                        const lathe_yn *list) {
    const lathe_proc_desc *d = ce->desc;
    for (int i = 0; i < list->n; i++) {
        const lathe_yn *el = list->kids[i];
        char pre[80];
        snprintf(pre, sizeof pre, "%s%d.", stem, i + 1);
        size_t plen = strlen(pre);
        int any = 0;
        for (int q = 0; q < d->nparams && !any; q++)
            any = strncmp(d->params[q].name, pre, plen) == 0;
        if (!any) {
            DIAG(L, el, "%s: too many %s (at most %d)", ce->label, key, i);
            return;
        }
        if (lathe_yn_is_null(el)) continue;
        if (el->kind != LATHE_YN_MAP) {
            DIAG(L, el, "%s: each entry of '%s' must be a map, e.g. { type: bell, freq: 1 kHz }",
                 ce->label, key);
            continue;
        }
        check_keys(L, el, NULL);
        for (int k = 0; k + 1 < el->n; k += 2) {
            const lathe_yn *kn = el->kids[k], *vn = el->kids[k + 1];
            if (kn->kind != LATHE_YN_SCALAR) continue;
            char name[160];
            snprintf(name, sizeof name, "%s%s", pre, kn->str);
            int idx = lathe_proc_param_index(d, name);
            if (idx < 0) {
                lathe_suggest sg;
                char sug[160];
                lathe_suggest_init(&sg, kn->str);
                for (int q = 0; q < d->nparams; q++)
                    if (strncmp(d->params[q].name, pre, plen) == 0)
                        lathe_suggest_add(&sg, d->params[q].name + plen);
                DIAG(L, kn, "%s has no %s parameter '%s'%s", ce->label, stem, kn->str,
                     lathe_suggest_text(&sg, sug, sizeof sug));
                continue;
            }
            set_param(L, ce, idx, vn);
        }
    }
}

/* A set of switches: the descriptor has on/off params named "<key>.<name>"
 * with no digit before the dot (the master's reference settings have
 * "match.loudness", "match.tone", ...).  Such a key takes the list of the
 * names that are on, as the command line's --match does: [loudness, tone],
 * "loudness, tone" or one name; the others are off. */
static int flag_group(const lathe_proc_desc *d, const char *key) {
    size_t n = strlen(key);
    if (n == 0 || (key[n - 1] >= '0' && key[n - 1] <= '9')) return 0;
    for (int i = 0; i < d->nparams; i++)
        if (d->params[i].kind == LATHE_PARAM_BOOL && strncmp(d->params[i].name, key, n) == 0 &&
            d->params[i].name[n] == '.')
            return 1;
    return 0;
}

static void set_flag(loader *L, lathe_chain_entry *ce, const char *key, const lathe_yn *at,
                     const char *name, size_t len) {
    const lathe_proc_desc *d = ce->desc;
    size_t n = strlen(key);
    char full[128];
    snprintf(full, sizeof full, "%s.%.*s", key, (int)len, name);
    int idx = lathe_proc_param_index(d, full);
    if (idx >= 0 && d->params[idx].kind == LATHE_PARAM_BOOL) {
        ce->values[idx] = 1;
        return;
    }
    char word[64], list[200] = "", sug[160];
    snprintf(word, sizeof word, "%.*s", (int)len, name);
    lathe_suggest sg;
    lathe_suggest_init(&sg, word);
    for (int q = 0; q < d->nparams; q++) {
        const char *nm = d->params[q].name;
        if (d->params[q].kind != LATHE_PARAM_BOOL || strncmp(nm, key, n) != 0 || nm[n] != '.')
            continue;
        lathe_suggest_add(&sg, nm + n + 1);
        size_t u = strlen(list);
        snprintf(list + u, sizeof list - u, "%s%s", u ? ", " : "", nm + n + 1);
    }
    DIAG(L, at, "%s: %s: '%s' is not one of: %s%s", ce->label, key, word, list,
         lathe_suggest_text(&sg, sug, sizeof sug));
}

static void parse_flags(loader *L, lathe_chain_entry *ce, const char *key, const lathe_yn *v) {
    const lathe_proc_desc *d = ce->desc;
    size_t n = strlen(key);
    if (lathe_yn_is_null(v)) return;
    if (v->kind == LATHE_YN_MAP) {
        DIAG(L, v, "%s: '%s' takes a list of names, e.g. [loudness, tone], not a map", ce->label,
             key);
        return;
    }
    for (int q = 0; q < d->nparams; q++)
        if (d->params[q].kind == LATHE_PARAM_BOOL && strncmp(d->params[q].name, key, n) == 0 &&
            d->params[q].name[n] == '.')
            ce->values[q] = 0;
    int count = v->kind == LATHE_YN_SEQ ? v->n : 1;
    for (int i = 0; i < count; i++) {
        const lathe_yn *it = v->kind == LATHE_YN_SEQ ? v->kids[i] : v;
        if (it->kind != LATHE_YN_SCALAR) {
            DIAG(L, it, "%s: each entry of '%s' must be a name, not %s", ce->label, key,
                 kind_word(it->kind));
            continue;
        }
        /* "loudness, tone" as one value: split at commas */
        for (const char *p = it->str; *p;) {
            while (*p == ' ' || *p == ',')
                p++;
            const char *e = p;
            while (*e && *e != ',')
                e++;
            const char *t = e;
            while (t > p && t[-1] == ' ')
                t--;
            if (t > p) set_flag(L, ce, key, it, p, (size_t)(t - p));
            p = e;
        }
    }
}

static void parse_entry_params(loader *L, lathe_node *nd, int self, lathe_chain_entry *ce,
                               const lathe_yn *m) {
    const lathe_proc_desc *d = ce->desc;
    check_keys(L, m, NULL);
    for (int k = 0; k + 1 < m->n; k += 2) {
        const lathe_yn *kn = m->kids[k], *vn = m->kids[k + 1];
        if (kn->kind != LATHE_YN_SCALAR) continue;
        const char *key = kn->str;
        char stem[64];
        if (strcmp(key, "bypass") == 0) {
            parse_bool(L, vn, "bypass", &ce->bypass);
        } else if (strcmp(key, "key") == 0 && lathe_proc_param_index(d, "key") < 0) {
            if (!lathe_proc_takes_key(d)) {
                DIAG(L, kn,
                     "%s does not take a sidechain key (only compressor, expander, gate and "
                     "deesser do)",
                     ce->label);
                continue;
            }
            if (lathe_yn_is_null(vn)) continue;
            if (vn->kind != LATHE_YN_SCALAR) {
                DIAG(L, vn, "'key' must name a track or bus, not %s", kind_word(vn->kind));
                continue;
            }
            int src = find_node(L, vn->str);
            if (src < 0) {
                lathe_suggest sg;
                char sug[160];
                lathe_suggest_init(&sg, vn->str);
                suggest_nodes(L, &sg, 0);
                DIAG(L, vn, "unknown sidechain source '%s'%s", vn->str,
                     lathe_suggest_text(&sg, sug, sizeof sug));
                continue;
            }
            if (src == self) {
                DIAG(L, vn,
                     "%s: the sidechain key '%s' is this %s itself (a key must come from another "
                     "track or bus)",
                     ce->label, vn->str, nd->kind == LATHE_NODE_TRACK ? "track" : "bus");
                continue;
            }
            ce->key_node = src;
            add_edge(L, src, self, vn);
        } else if (lathe_proc_param_index(d, key) >= 0) {
            set_param(L, ce, lathe_proc_param_index(d, key), vn);
        } else if (flag_group(d, key)) {
            parse_flags(L, ce, key, vn);
        } else if (group_stem(d, key, stem, sizeof stem)) {
            if (vn->kind != LATHE_YN_SEQ) {
                if (!lathe_yn_is_null(vn))
                    DIAG(L, vn, "'%s' must be a list (one map per %s), not %s", key, stem,
                         kind_word(vn->kind));
                continue;
            }
            parse_group(L, ce, key, stem, vn);
        } else {
            lathe_suggest sg;
            char sug[160];
            lathe_suggest_init(&sg, key);
            for (int q = 0; q < d->nparams; q++)
                lathe_suggest_add(&sg, d->params[q].name);
            lathe_suggest_add(&sg, "bypass");
            if (lathe_proc_takes_key(d)) lathe_suggest_add(&sg, "key");
            /* the switch sets ("match" of "match.tone") */
            char flags[4][32];
            int nflags = 0;
            for (int q = 0; q < d->nparams && nflags < 4; q++) {
                const char *nm = d->params[q].name, *dot = strchr(nm, '.');
                size_t sl = dot ? (size_t)(dot - nm) : 0;
                if (!sl || sl >= sizeof flags[0] || (dot[-1] >= '0' && dot[-1] <= '9')) continue;
                int dup = 0;
                for (int z = 0; z < nflags; z++)
                    dup |= strncmp(flags[z], nm, sl) == 0 && !flags[z][sl];
                if (dup) continue;
                memcpy(flags[nflags], nm, sl);
                flags[nflags][sl] = '\0';
                lathe_suggest_add(&sg, flags[nflags++]);
            }
            /* the plural group keys ("bands") */
            char seen[8][64];
            int nseen = 0;
            for (int q = 0; q < d->nparams; q++) {
                const char *nm = d->params[q].name, *dot = strchr(nm, '.');
                if (!dot) continue;
                const char *dg = dot;
                while (dg > nm && dg[-1] >= '0' && dg[-1] <= '9')
                    dg--;
                size_t sl = (size_t)(dg - nm);
                if (sl == 0 || sl + 2 > sizeof seen[0] || dg == dot) continue;
                int dup = 0;
                for (int z = 0; z < nseen; z++)
                    dup |= strncmp(seen[z], nm, sl) == 0 && seen[z][sl] == 's' && !seen[z][sl + 1];
                if (dup || nseen == 8) continue;
                memcpy(seen[nseen], nm, sl);
                seen[nseen][sl] = 's', seen[nseen][sl + 1] = '\0';
                lathe_suggest_add(&sg, seen[nseen++]);
            }
            DIAG(L, kn, "%s has no parameter '%s'%s", ce->label, key,
                 lathe_suggest_text(&sg, sug, sizeof sug));
        }
    }
}

static void parse_chain(loader *L, lathe_node *nd, int self, const lathe_yn *chain) {
    if (!is_kind(L, chain, LATHE_YN_SEQ, "chain")) return;
    nd->chain = calloc((size_t)chain->n, sizeof *nd->chain);
    if (!nd->chain) return;
    for (int i = 0; i < chain->n; i++) {
        const lathe_yn *it = chain->kids[i];
        if (it->kind != LATHE_YN_MAP || it->n != 2 || it->kids[0]->kind != LATHE_YN_SCALAR) {
            DIAG(L, it, "each chain entry is one processor: '- NAME: { param: value, ... }'");
            continue;
        }
        const lathe_yn *kn = it->kids[0], *vn = it->kids[1];
        const lathe_proc_desc *d = lathe_processor_find(kn->str);
        if (!d) {
            int np = 0;
            const lathe_proc_desc *const *all = lathe_processors(&np);
            lathe_suggest sg;
            lathe_suggest_init(&sg, kn->str);
            for (int q = 0; q < np; q++)
                lathe_suggest_add(&sg, all[q]->name);
            if (lathe_suggest_result(&sg))
                DIAG(L, kn, "unknown processor '%s' (did you mean '%s'?)", kn->str,
                     lathe_suggest_result(&sg));
            else
                DIAG(L, kn, "unknown processor '%s' (`lathe processors` lists them)", kn->str);
            continue;
        }
        lathe_chain_entry *ce = &nd->chain[nd->nchain++];
        ce->desc = d;
        ce->key_node = -1;
        ce->line = kn->line, ce->col = kn->col;
        int same = 1;
        for (int q = 0; q < nd->nchain - 1; q++)
            same += nd->chain[q].desc == d;
        char label[96];
        if (same == 1)
            snprintf(label, sizeof label, "%s", d->name);
        else
            snprintf(label, sizeof label, "%s#%d", d->name, same);
        ce->label = dupstr(label);
        ce->values = calloc((size_t)d->nparams + 1, sizeof *ce->values);
        ce->strings = calloc((size_t)d->nparams + 1, sizeof *ce->strings);
        if (!ce->label || !ce->values || !ce->strings) continue;
        for (int q = 0; q < d->nparams; q++)
            ce->values[q] = d->params[q].def;
        if (lathe_yn_is_null(vn)) continue;
        if (vn->kind != LATHE_YN_MAP) {
            DIAG(L, vn, "'%s' takes a map of parameters, e.g. { %s: ... }, not %s", d->name,
                 d->nparams ? d->params[0].name : "bypass", kind_word(vn->kind));
            continue;
        }
        parse_entry_params(L, nd, self, ce, vn);
    }
}

/* ---- sends ---- */

static void add_send(loader *L, lathe_node *nd, int self, const lathe_yn *to, const lathe_yn *level,
                     const lathe_yn *pre, const lathe_yn *at) {
    int dest = resolve_bus(L, to, "sends");
    double lv = 0;
    if (level) parse_value(L, level, &P_LEVEL, NULL, &lv);
    int pf = 0;
    if (pre) parse_bool(L, pre, "pre", &pf);
    if (dest < 0) return;
    for (int i = 0; i < nd->nsends; i++)
        if (nd->sends[i].dest == dest) {
            DIAG(L, to, "duplicate send to '%s' (first at line %d)", to->str, nd->sends[i].line);
            return;
        }
    lathe_send *s = &nd->sends[nd->nsends++];
    s->dest = dest, s->level_db = lv, s->pre_fader = pf;
    s->line = at->line, s->col = at->col;
    add_edge(L, self, dest, to);
}

static void parse_sends(loader *L, lathe_node *nd, int self, const lathe_yn *v) {
    if (!v || lathe_yn_is_null(v)) return;
    if (v->kind == LATHE_YN_SCALAR) {
        DIAG(L, v,
             "'sends' must be a map (sends: { plate: -12 dB }) or a list "
             "(sends: [ { to: plate, level: -12 dB, pre: true } ])");
        return;
    }
    nd->sends = calloc((size_t)v->n + 1, sizeof *nd->sends);
    if (!nd->sends) return;
    if (v->kind == LATHE_YN_MAP) {
        check_keys(L, v, NULL);
        for (int i = 0; i + 1 < v->n; i += 2)
            add_send(L, nd, self, v->kids[i], v->kids[i + 1], NULL, v->kids[i]);
        return;
    }
    for (int i = 0; i < v->n; i++) {
        const lathe_yn *m = v->kids[i];
        if (m->kind != LATHE_YN_MAP) {
            DIAG(L, m, "each send must be a map: { to: BUS, level: -12 dB, pre: false }");
            continue;
        }
        check_keys(L, m, K_SEND);
        const lathe_yn *to = lathe_yn_get(m, "to");
        if (!to || lathe_yn_is_null(to)) {
            DIAG(L, m, "a send needs 'to' (the bus it feeds)");
            continue;
        }
        add_send(L, nd, self, to, lathe_yn_get(m, "level"), lathe_yn_get(m, "pre"), m);
    }
}

/* ---- nodes ---- */

static void parse_node(loader *L, int idx, const lathe_yn *m) {
    lathe_node *nd = &L->s->nodes[idx];
    if (!m || m->kind != LATHE_YN_MAP) return;
    check_keys(L, m,
               nd->kind == LATHE_NODE_TRACK ? K_TRACK
               : nd->kind == LATHE_NODE_BUS ? K_BUS
                                            : K_MASTER);
    const lathe_yn *v;
    if ((v = lathe_yn_get(m, "gain")) && !lathe_yn_is_null(v))
        parse_value(L, v, &P_GAIN, NULL, &nd->gain_db);
    if ((v = lathe_yn_get(m, "pan")) && !lathe_yn_is_null(v))
        parse_value(L, v, &P_PAN, NULL, &nd->pan);
    parse_bool(L, lathe_yn_get(m, "mute"), "mute", &nd->mute);
    parse_bool(L, lathe_yn_get(m, "solo"), "solo", &nd->solo);
    parse_bool(L, lathe_yn_get(m, "invert"), "invert", &nd->invert);
    parse_chain(L, nd, idx, lathe_yn_get(m, "chain"));
    if (nd->kind == LATHE_NODE_MASTER) return;
    parse_sends(L, nd, idx, lathe_yn_get(m, "sends"));
    if ((v = lathe_yn_get(m, "out")) && !lathe_yn_is_null(v)) {
        int o = resolve_bus(L, v, "out");
        if (o >= 0)
            nd->out = o;
        else
            nd->out = -2; /* unresolved: no edge */
    }
    add_edge(L, idx, nd->out, v ? v : m);
    if (nd->kind != LATHE_NODE_TRACK) return;
    parse_time(L, lathe_yn_get(m, "start"), "start", &nd->start_s);
    v = lathe_yn_get(m, "file");
    if (!v || lathe_yn_is_null(v)) {
        if (nd->name) DIAG(L, m, "track '%s' needs a 'file'", nd->name);
        return;
    }
    if (v->kind != LATHE_YN_SCALAR) {
        DIAG(L, v, "'file' must be a path, not %s", kind_word(v->kind));
        return;
    }
    nd->file = resolve_path(L->s, v->str);
    if (!nd->file) return;
    lathe_audio_info info;
    lathe_error err = {0};
    lathe_reader *r = lathe_reader_open(nd->file, &info, &err);
    if (!r) {
        DIAG(L, v, "track '%s': %s", nd->name ? nd->name : "?", err.msg);
        return;
    }
    lathe_reader_close(r);
    if (!L->rate_given && !L->have_rate_from_track) {
        L->s->rate = info.rate;
        L->have_rate_from_track = 1;
    }
}

/* Names first (so that out, sends and keys may point forwards). */
static void parse_name(loader *L, int idx, const lathe_yn *m, const char *what) {
    lathe_node *nd = &L->s->nodes[idx];
    if (m->kind != LATHE_YN_MAP) {
        DIAG(L, m, "each %s must be a map (name: ..., %s)", what,
             nd->kind == LATHE_NODE_TRACK ? "file: ..." : "chain: ...");
        return;
    }
    const lathe_yn *v = lathe_yn_get(m, "name");
    if (!v || lathe_yn_is_null(v)) {
        DIAG(L, m, "this %s needs a 'name'", what);
        return;
    }
    if (v->kind != LATHE_YN_SCALAR) {
        DIAG(L, v, "'name' must be a single value, not %s", kind_word(v->kind));
        return;
    }
    if (!valid_name(v->str)) {
        DIAG(L, v, "name '%s' may only use letters, digits, '_' and '-'", v->str);
        return;
    }
    if (strcmp(v->str, "master") == 0) {
        DIAG(L, v, "'master' is reserved for the master bus; give this %s another name", what);
        return;
    }
    int prev = find_node(L, v->str);
    if (prev >= 0) {
        DIAG(L, v, "duplicate name '%s' (already used at line %d)", v->str, L->s->nodes[prev].line);
        return;
    }
    nd->name = dupstr(v->str);
}

/* ---- automation ---- */

static int parse_curve(loader *L, const lathe_yn *v, lathe_curve *out) {
    if (!v || lathe_yn_is_null(v)) return 0;
    if (v->kind != LATHE_YN_SCALAR) {
        DIAG(L, v, "'curve' must be one of linear, exp, hold, smooth, not %s", kind_word(v->kind));
        return 0;
    }
    lathe_suggest sg;
    char sug[160];
    lathe_suggest_init(&sg, v->str);
    for (int i = 0; CURVES[i]; i++) {
        if (strcmp(v->str, CURVES[i]) == 0) {
            *out = (lathe_curve)i;
            return 1;
        }
        lathe_suggest_add(&sg, CURVES[i]);
    }
    if (lathe_suggest_result(&sg))
        DIAG(L, v, "unknown curve '%s'%s", v->str, lathe_suggest_text(&sg, sug, sizeof sug));
    else
        DIAG(L, v, "unknown curve '%s' (curves: linear, exp, hold, smooth)", v->str);
    return 0;
}

/* Resolves a target; returns the descriptor its values parse with, or NULL. */
static const lathe_param_desc *resolve_target(loader *L, lathe_automation *a, const lathe_yn *tv) {
    const char *t = tv->str;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", t);
    char *dot = strchr(buf, '.');
    if (!dot || !dot[1]) {
        DIAG(L, tv,
             "automation target '%s': write NODE.gain, NODE.pan, NODE.send.BUS or NODE.PROC.PARAM",
             t);
        return NULL;
    }
    *dot = '\0';
    const char *node = buf, *rest = dot + 1;
    lathe_suggest sg;
    char sug[160];
    int ni = find_node(L, node);
    if (ni < 0) {
        lathe_suggest_init(&sg, node);
        suggest_nodes(L, &sg, 0);
        DIAG(L, tv, "automation target '%s': no track or bus named '%s'%s", t, node,
             lathe_suggest_text(&sg, sug, sizeof sug));
        return NULL;
    }
    lathe_node *nd = &L->s->nodes[ni];
    a->node = ni;
    char *dot2 = strchr(rest, '.');
    if (!dot2) {
        if (strcmp(rest, "gain") == 0) return a->kind = LATHE_TARGET_NODE_GAIN, &P_GAIN;
        if (strcmp(rest, "pan") == 0) return a->kind = LATHE_TARGET_NODE_PAN, &P_PAN;
        for (int k = 0; k < nd->nchain; k++)
            if (nd->chain[k].label && strcmp(nd->chain[k].label, rest) == 0) {
                DIAG(L, tv, "automation target '%s': name a parameter of %s (%s.%s.PARAM)", t, rest,
                     node, rest);
                return NULL;
            }
        lathe_suggest_init(&sg, rest);
        lathe_suggest_add(&sg, "gain");
        lathe_suggest_add(&sg, "pan");
        DIAG(L, tv, "automation target '%s': %s has no '%s'%s", t, node, rest,
             lathe_suggest_result(&sg)
                 ? lathe_suggest_text(&sg, sug, sizeof sug)
                 : " (write NODE.gain, NODE.pan, NODE.send.BUS or NODE.PROC.PARAM)");
        return NULL;
    }
    *dot2 = '\0';
    const char *proc = rest, *param = dot2 + 1;
    if (strcmp(proc, "send") == 0) {
        lathe_suggest_init(&sg, param);
        for (int k = 0; k < nd->nsends; k++) {
            const char *dn = L->s->nodes[nd->sends[k].dest].name;
            if (dn && strcmp(dn, param) == 0) {
                a->kind = LATHE_TARGET_SEND, a->index = k;
                return &P_LEVEL;
            }
            if (dn) lathe_suggest_add(&sg, dn);
        }
        DIAG(L, tv, "automation target '%s': %s has no send to '%s'%s", t, node, param,
             lathe_suggest_text(&sg, sug, sizeof sug));
        return NULL;
    }
    lathe_suggest_init(&sg, proc);
    for (int k = 0; k < nd->nchain; k++) {
        lathe_chain_entry *ce = &nd->chain[k];
        if (!ce->label) continue;
        if (strcmp(ce->label, proc) != 0) {
            lathe_suggest_add(&sg, ce->label);
            continue;
        }
        int pi = lathe_proc_param_index(ce->desc, param);
        if (pi < 0) {
            lathe_suggest ps;
            lathe_suggest_init(&ps, param);
            for (int q = 0; q < ce->desc->nparams; q++)
                lathe_suggest_add(&ps, ce->desc->params[q].name);
            DIAG(L, tv, "automation target '%s': %s has no parameter '%s'%s", t, proc, param,
                 lathe_suggest_text(&ps, sug, sizeof sug));
            return NULL;
        }
        const lathe_param_desc *pd = &ce->desc->params[pi];
        if (!(pd->flags & LATHE_PARAM_AUTOMATABLE) || pd->kind == LATHE_PARAM_STRING) {
            DIAG(L, tv,
                 "automation target '%s': %s.%s cannot be automated (it is fixed at the start)", t,
                 proc, param);
            return NULL;
        }
        a->kind = LATHE_TARGET_PROC_PARAM, a->index = k, a->param = pi;
        return pd;
    }
    if (nd->nchain == 0)
        DIAG(L, tv, "automation target '%s': %s has no processor '%s' (its chain is empty)", t,
             node, proc);
    else
        DIAG(L, tv, "automation target '%s': %s has no processor '%s'%s", t, node, proc,
             lathe_suggest_text(&sg, sug, sizeof sug));
    return NULL;
}

static void parse_lane(loader *L, const lathe_yn *m) {
    if (m->kind != LATHE_YN_MAP) {
        DIAG(L, m,
             "each automation lane must be a map: { target: NODE.gain, points: [ [0:00, 0 dB] ] }");
        return;
    }
    check_keys(L, m, K_LANE);
    lathe_automation *a = &L->s->autos[L->s->nautos];
    memset(a, 0, sizeof *a);
    a->line = m->line, a->col = m->col;
    const lathe_yn *tv = lathe_yn_get(m, "target");
    const lathe_param_desc *pd = NULL;
    if (!tv || lathe_yn_is_null(tv)) {
        DIAG(L, m, "an automation lane needs a 'target' (e.g. vocal.gain)");
    } else if (tv->kind != LATHE_YN_SCALAR) {
        DIAG(L, tv, "'target' must be a single value, not %s", kind_word(tv->kind));
    } else {
        a->line = tv->line, a->col = tv->col;
        pd = resolve_target(L, a, tv);
    }
    if (pd) {
        for (int i = 0; i < L->s->nautos; i++) {
            const lathe_automation *b = &L->s->autos[i];
            if (b->node == a->node && b->kind == a->kind &&
                (a->kind == LATHE_TARGET_NODE_GAIN || a->kind == LATHE_TARGET_NODE_PAN ||
                 (b->index == a->index &&
                  (a->kind == LATHE_TARGET_SEND || b->param == a->param)))) {
                DIAG(L, tv, "duplicate automation target '%s' (first at line %d)", tv->str,
                     b->line);
                pd = NULL;
                break;
            }
        }
    }
    lathe_curve def = LATHE_CURVE_LINEAR;
    parse_curve(L, lathe_yn_get(m, "curve"), &def);
    /* choices and switches step: they cannot take values in between */
    int stepped = pd && (pd->kind == LATHE_PARAM_CHOICE || pd->kind == LATHE_PARAM_BOOL);
    const lathe_yn *pts = lathe_yn_get(m, "points");
    if (!pts || lathe_yn_is_null(pts) || (pts->kind == LATHE_YN_SEQ && pts->n == 0)) {
        DIAG(L, pts && !lathe_yn_is_null(pts) ? pts : m,
             "an automation lane needs at least one point in 'points'");
        return;
    }
    if (!is_kind(L, pts, LATHE_YN_SEQ, "points")) return;
    a->points = calloc((size_t)pts->n, sizeof *a->points);
    if (!a->points) return;
    const lathe_yn *prev = NULL;
    double prev_t = 0;
    int ok = 1;
    for (int i = 0; i < pts->n; i++) {
        const lathe_yn *p = pts->kids[i];
        if (p->kind != LATHE_YN_SEQ || p->n < 2 || p->n > 3) {
            DIAG(L, p, "an automation point is [time, value] or [time, value, curve]");
            ok = 0;
            continue;
        }
        lathe_auto_point *ap = &a->points[a->npoints];
        ap->curve = def;
        int good = parse_time(L, p->kids[0], "time", &ap->time_s);
        if (pd) good &= parse_value(L, p->kids[1], pd, NULL, &ap->value);
        if (p->n == 3) good &= parse_curve(L, p->kids[2], &ap->curve);
        if (stepped) ap->curve = LATHE_CURVE_HOLD;
        if (!good) {
            ok = 0;
            continue;
        }
        if (prev && ap->time_s < prev_t) {
            DIAG(L, p->kids[0],
                 "automation point at %s is earlier than the point before it (%s); list points in "
                 "time order",
                 p->kids[0]->str, prev->str);
            ok = 0;
        }
        prev = p->kids[0], prev_t = ap->time_s;
        a->npoints++;
    }
    if (!pd || !ok) {
        free(a->points);
        a->points = NULL;
        a->npoints = 0;
        return;
    }
    a->text = dupstr(tv->str);
    L->s->nautos++;
}

/* ---- routing cycles ---- */

static const char *node_name(const loader *L, int i) {
    return L->s->nodes[i].name ? L->s->nodes[i].name : "(unnamed)";
}

/* Depth-first search over the edges (out, sends, sidechain keys); every
 * back edge closes a cycle, reported at the place that closes it. */
static void dfs(loader *L, int u, int *color, int *stack, int *depth) {
    color[u] = 1;
    stack[(*depth)++] = u;
    for (int e = 0; e < L->nedges; e++) {
        if (L->edges[e].from != u) continue;
        int v = L->edges[e].to;
        if (color[v] == 0) {
            dfs(L, v, color, stack, depth);
        } else if (color[v] == 1) {
            char msg[400] = "routing cycle:";
            int start = *depth - 1;
            while (start > 0 && stack[start] != v)
                start--;
            for (int k = start; k < *depth; k++) {
                size_t n = strlen(msg);
                snprintf(msg + n, sizeof msg - n, " %s ->", node_name(L, stack[k]));
            }
            size_t n = strlen(msg);
            snprintf(msg + n, sizeof msg - n, " %s", node_name(L, v));
            lathe_diag_add(L->d, L->edges[e].line, L->edges[e].col, "%s", msg);
        }
    }
    color[u] = 2;
    (*depth)--;
}

static void check_cycles(loader *L) {
    int n = L->s->nnodes;
    int *color = calloc((size_t)n, sizeof *color), *stack = calloc((size_t)n + 1, sizeof *stack);
    if (color && stack)
        for (int i = 0; i < n; i++) {
            int depth = 0;
            if (color[i] == 0) dfs(L, i, color, stack, &depth);
        }
    free(color);
    free(stack);
}

/* ---- the whole file ---- */

static void parse_globals(loader *L, const lathe_yn *root) {
    lathe_session *s = L->s;
    const lathe_yn *v = lathe_yn_get(root, "lathe");
    if (!v || lathe_yn_is_null(v)) {
        lathe_diag_add(L->d, 1, 1,
                       "missing 'lathe: 1' (the format version) at the top of the file");
    } else if (v->kind != LATHE_YN_SCALAR || strcmp(v->str, "1") != 0) {
        DIAG(L, v, "unsupported format version '%s' (this lathe reads 'lathe: 1')",
             v->kind == LATHE_YN_SCALAR ? v->str : kind_word(v->kind));
    }
    if ((v = lathe_yn_get(root, "tempo")) && !lathe_yn_is_null(v))
        parse_value(L, v, &P_TEMPO, NULL, &s->tempo_bpm);
    L->ctx.tempo_bpm = s->tempo_bpm;
    if ((v = lathe_yn_get(root, "meter")) && !lathe_yn_is_null(v)) {
        int num = 0, den = 0, len = 0;
        if (v->kind != LATHE_YN_SCALAR || sscanf(v->str, "%d/%d%n", &num, &den, &len) != 2 ||
            v->str[len] != '\0' || num < 1 || num > 32 ||
            !(den == 1 || den == 2 || den == 4 || den == 8 || den == 16 || den == 32))
            DIAG(L, v, "meter: '%s' is not a meter (write e.g. 4/4, 3/4 or 6/8)",
                 v->kind == LATHE_YN_SCALAR ? v->str : kind_word(v->kind));
        else
            s->beats_per_bar = num;
    }
    if ((v = lathe_yn_get(root, "rate")) && !lathe_yn_is_null(v))
        L->rate_given = parse_value(L, v, &P_RATE, NULL, &s->rate);
    if ((v = lathe_yn_get(root, "range")) && is_kind(L, v, LATHE_YN_MAP, "range")) {
        check_keys(L, v, K_RANGE);
        const lathe_yn *a = lathe_yn_get(v, "start"), *b = lathe_yn_get(v, "end");
        parse_time(L, a, "start", &s->range_start_s);
        double end;
        if (parse_time(L, b, "end", &end)) {
            if (end <= s->range_start_s)
                DIAG(L, b, "range: end (%s) must be after start (%s)", b->str, a ? a->str : "0");
            else
                s->range_end_s = end;
        }
    }
    if ((v = lathe_yn_get(root, "tail")) && !lathe_yn_is_null(v)) {
        if (v->kind == LATHE_YN_SCALAR && strcmp(v->str, "auto") == 0)
            s->tail_s = -1;
        else
            parse_time(L, v, "tail", &s->tail_s);
    }
}

static void free_chain_entry(lathe_chain_entry *ce) {
    if (ce->strings && ce->desc)
        for (int q = 0; q < ce->desc->nparams; q++)
            free(ce->strings[q]);
    free(ce->strings);
    free(ce->values);
    free(ce->label);
}

void lathe_session_free(lathe_session *s) {
    if (!s) return;
    for (int i = 0; i < s->nnodes; i++) {
        lathe_node *n = &s->nodes[i];
        free(n->name);
        free(n->file);
        for (int k = 0; k < n->nchain; k++)
            free_chain_entry(&n->chain[k]);
        free(n->chain);
        free(n->sends);
    }
    free(s->nodes);
    for (int i = 0; i < s->nautos; i++) {
        free(s->autos[i].text);
        free(s->autos[i].points);
    }
    free(s->autos);
    free(s->path);
    free(s->dir);
    free(s);
}

static lathe_session *new_session(const char *path) {
    lathe_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->path = dupstr(path);
    const char *slash = strrchr(path, '/');
    if (!slash)
        s->dir = dupstr(".");
    else if (slash == path)
        s->dir = dupstr("/");
    else {
        s->dir = malloc((size_t)(slash - path) + 1);
        if (s->dir) {
            memcpy(s->dir, path, (size_t)(slash - path));
            s->dir[slash - path] = '\0';
        }
    }
    s->rate = 48000;
    s->tempo_bpm = 120;
    s->beats_per_bar = 4;
    s->range_start_s = 0;
    s->range_end_s = -1;
    s->tail_s = -1;
    if (!s->path || !s->dir) {
        lathe_session_free(s);
        return NULL;
    }
    return s;
}

static void build(loader *L, const lathe_yn *root) {
    lathe_session *s = L->s;
    if (root->kind != LATHE_YN_MAP) {
        DIAG(L, root, "a session must be a map of keys, starting with 'lathe: 1'");
        return;
    }
    check_keys(L, root, K_TOP);
    parse_globals(L, root);

    const lathe_yn *tracks = lathe_yn_get(root, "tracks"), *buses = lathe_yn_get(root, "buses");
    const lathe_yn *master = lathe_yn_get(root, "master"),
                   *autos = lathe_yn_get(root, "automation");
    if (!is_kind(L, tracks, LATHE_YN_SEQ, "tracks")) tracks = NULL;
    if (!is_kind(L, buses, LATHE_YN_SEQ, "buses")) buses = NULL;
    if (!is_kind(L, master, LATHE_YN_MAP, "master")) master = NULL;
    if (!is_kind(L, autos, LATHE_YN_SEQ, "automation")) autos = NULL;
    L->ntracks = tracks ? tracks->n : 0;
    L->nbuses = buses ? buses->n : 0;
    s->nnodes = L->ntracks + L->nbuses + 1;
    s->nodes = calloc((size_t)s->nnodes, sizeof *s->nodes);
    if (!s->nodes) {
        s->nnodes = 0;
        lathe_diag_add(L->d, 0, 0, "out of memory");
        return;
    }
    s->master = s->nnodes - 1;
    for (int i = 0; i < s->nnodes; i++) {
        lathe_node *n = &s->nodes[i];
        n->kind = i < L->ntracks   ? LATHE_NODE_TRACK
                  : i == s->master ? LATHE_NODE_MASTER
                                   : LATHE_NODE_BUS;
        n->out = i == s->master ? -1 : s->master;
        const lathe_yn *m = i < L->ntracks   ? tracks->kids[i]
                            : i == s->master ? master
                                             : buses->kids[i - L->ntracks];
        if (m) n->line = m->line, n->col = m->col;
    }
    s->nodes[s->master].name = dupstr("master");
    for (int i = 0; i < L->ntracks; i++)
        parse_name(L, i, tracks->kids[i], "track");
    for (int i = 0; i < L->nbuses; i++)
        parse_name(L, L->ntracks + i, buses->kids[i], "bus");
    for (int i = 0; i < L->ntracks; i++)
        parse_node(L, i, tracks->kids[i]);
    for (int i = 0; i < L->nbuses; i++)
        parse_node(L, L->ntracks + i, buses->kids[i]);
    parse_node(L, s->master, master);
    for (int i = 0; i < s->nnodes; i++) /* an unresolved out is reported; keep the default */
        if (s->nodes[i].out == -2) s->nodes[i].out = s->master;
    check_cycles(L);
    if (autos) {
        s->autos = calloc((size_t)autos->n + 1, sizeof *s->autos);
        if (!s->autos) return;
        for (int i = 0; i < autos->n; i++)
            parse_lane(L, autos->kids[i]);
    }
}

lathe_session *lathe_session_parse(const char *text, size_t len, const char *path,
                                   lathe_diags *diags) {
    lathe_diags local;
    lathe_diags *d = diags ? diags : &local;
    memset(d, 0, sizeof *d);
    if (!path) path = "session.yaml";
    d->file = dupstr(path);
    int empty = 0;
    lathe_yn *root = lathe_yaml_tree(text ? text : "", text ? len : 0, d, &empty);
    if (!root) {
        if (empty && d->count == 0)
            lathe_diag_add(d, 1, 1, "the session is empty: it needs at least 'lathe: 1'");
        if (!diags) lathe_diags_free(&local);
        return NULL;
    }
    loader L = {0};
    L.d = d;
    L.s = new_session(path);
    if (!L.s) {
        lathe_diag_add(d, 0, 0, "out of memory");
    } else {
        L.ctx.tempo_bpm = L.s->tempo_bpm;
        build(&L, root);
    }
    free(L.edges);
    lathe_yaml_free(root);
    lathe_diags_sort(d);
    if (d->count > 0) {
        lathe_session_free(L.s);
        if (!diags) lathe_diags_free(&local);
        return NULL;
    }
    return L.s;
}

/* Reads a whole text file (at most 64 MB). Returns NULL with *why set. */
static char *slurp(const char *path, size_t *len, const char **why) {
    FILE *f = fopen(path, "rb");
    int open_errno = errno;
    char *buf = NULL;
    size_t n = 0;
    if (f) {
        size_t cap = 65536;
        buf = malloc(cap);
        while (buf) {
            size_t got = fread(buf + n, 1, cap - n, f);
            n += got;
            if (n < cap) break;
            char *b = cap > ((size_t)64 << 20) ? NULL : realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b, cap *= 2;
        }
        int rerr = ferror(f);
        fclose(f);
        if (rerr) {
            free(buf);
            buf = NULL;
        }
    }
    if (!buf) *why = f ? "read error or too large (over 64 MB)" : strerror(open_errno);
    *len = n;
    return buf;
}

lathe_session *lathe_session_load(const char *path, lathe_diags *diags) {
    lathe_diags local;
    lathe_diags *d = diags ? diags : &local;
    size_t n = 0;
    const char *why = "";
    char *buf = slurp(path, &n, &why);
    if (!buf) {
        memset(d, 0, sizeof *d);
        d->file = dupstr(path);
        lathe_diag_add(d, 0, 0, "cannot read the session file: %s", why);
        if (!diags) lathe_diags_free(&local);
        return NULL;
    }
    lathe_session *s = lathe_session_parse(buf, n, path, diags);
    free(buf);
    return s;
}

/* ---- master chain files ---- */

static void parse_stage(loader *L, lathe_stage *st, const lathe_yn *kn, const lathe_yn *vn) {
    st->line = kn->line, st->col = kn->col;
    if (lathe_yn_is_null(vn)) {
        st->state = 1;
        return;
    }
    /* A stage with a file (the reference settings) takes the path alone as
     * well: `reference: song.flac` is `reference: { file: song.flac }`. */
    int file_idx = lathe_proc_param_index(st->desc, "file");
    if (file_idx >= 0 && st->desc->params[file_idx].kind != LATHE_PARAM_STRING) file_idx = -1;
    int shorthand = 0;
    if (vn->kind == LATHE_YN_SCALAR) {
        lathe_param_desc b = {st->name, "", "", 0, 1, 0, LATHE_PARAM_BOOL, NULL, 0};
        double x;
        lathe_error e = {0};
        if (file_idx < 0 || lathe_param_parse(&b, vn->str, NULL, &x, &e) == LATHE_OK) {
            int on = 0;
            if (parse_bool(L, vn, st->name, &on)) st->state = on;
            return;
        }
        shorthand = 1;
    }
    if (!shorthand && vn->kind != LATHE_YN_MAP) {
        DIAG(L, vn, "stage '%s' takes on, off or a map of %s parameters, not %s", st->name,
             st->desc->name, kind_word(vn->kind));
        return;
    }
    lathe_chain_entry ce = {0};
    ce.desc = st->desc;
    ce.key_node = -1;
    ce.label = dupstr(st->name);
    ce.values = calloc((size_t)st->desc->nparams + 1, sizeof *ce.values);
    ce.strings = calloc((size_t)st->desc->nparams + 1, sizeof *ce.strings);
    if (!ce.label || !ce.values || !ce.strings) {
        free_chain_entry(&ce);
        return;
    }
    for (int q = 0; q < st->desc->nparams; q++)
        ce.values[q] = NAN;
    lathe_node dummy = {0};
    dummy.kind = LATHE_NODE_MASTER;
    if (shorthand)
        set_param(L, &ce, file_idx, vn);
    else
        parse_entry_params(L, &dummy, L->s->master, &ce, vn);
    st->state = ce.bypass ? 0 : 1;
    /* a stage named twice (a duplicate key, diagnosed by check_keys) keeps the last */
    lathe_stages_free(st, 1);
    st->given = ce.values, st->strings = ce.strings;
    ce.values = NULL, ce.strings = NULL;
    free_chain_entry(&ce);
}

lathe_session *lathe_chain_file_parse(const char *text, size_t len, const char *path,
                                      lathe_stage *stages, int nstages, lathe_diags *diags) {
    lathe_diags local;
    lathe_diags *d = diags ? diags : &local;
    memset(d, 0, sizeof *d);
    if (!path) path = "chain.yaml";
    d->file = dupstr(path);
    for (int i = 0; i < nstages; i++)
        stages[i].state = -1, stages[i].given = NULL, stages[i].strings = NULL;
    int empty = 0;
    lathe_yn *root = lathe_yaml_tree(text ? text : "", text ? len : 0, d, &empty);
    loader L = {0};
    L.d = d;
    L.s = new_session(path);
    if (L.s) {
        L.s->nodes = calloc(1, sizeof *L.s->nodes);
        if (L.s->nodes) {
            L.s->nnodes = 1, L.s->master = 0;
            L.s->nodes[0].kind = LATHE_NODE_MASTER;
            L.s->nodes[0].out = -1;
            L.s->nodes[0].name = dupstr("master");
        }
    }
    L.ctx.tempo_bpm = 120;
    if (!L.s || !L.s->nodes) {
        lathe_diag_add(d, 0, 0, "out of memory");
    } else if (root && root->kind != LATHE_YN_MAP) {
        DIAG(&L, root, "a chain file is a map: stage names (%s...) or 'chain:'",
             nstages ? stages[0].name : "");
    } else if (root) {
        const char **valid = calloc((size_t)nstages + 3, sizeof *valid);
        if (valid) {
            valid[0] = "lathe", valid[1] = "chain";
            for (int i = 0; i < nstages; i++)
                valid[2 + i] = stages[i].name;
            check_keys(&L, root, valid);
            free(valid);
        }
        for (int k = 0; k + 1 < root->n; k += 2) {
            const lathe_yn *kn = root->kids[k], *vn = root->kids[k + 1];
            if (kn->kind != LATHE_YN_SCALAR) continue;
            if (strcmp(kn->str, "lathe") == 0) {
                lathe_param_desc ver = {"lathe", "", "", 1, 1, 1, LATHE_PARAM_NUMBER, NULL, 0};
                double v;
                parse_value(&L, vn, &ver, NULL, &v);
            } else if (strcmp(kn->str, "chain") == 0) {
                /* only the first: a second `chain:` (a duplicate key, diagnosed by
                 * check_keys) would append to an array sized for the first */
                if (L.s->nodes[0].chain) continue;
                if (is_kind(&L, vn, LATHE_YN_SEQ, "chain")) parse_chain(&L, &L.s->nodes[0], 0, vn);
            } else {
                for (int i = 0; i < nstages; i++)
                    if (strcmp(kn->str, stages[i].name) == 0) parse_stage(&L, &stages[i], kn, vn);
            }
        }
    }
    free(L.edges);
    lathe_yaml_free(root);
    lathe_diags_sort(d);
    if (d->count > 0) {
        lathe_session_free(L.s);
        lathe_stages_free(stages, nstages);
        if (!diags) lathe_diags_free(&local);
        return NULL;
    }
    if (!diags) lathe_diags_free(&local);
    return L.s;
}

lathe_session *lathe_chain_file_load(const char *path, lathe_stage *stages, int nstages,
                                     lathe_diags *diags) {
    lathe_diags local;
    lathe_diags *d = diags ? diags : &local;
    size_t n = 0;
    const char *why = "";
    char *buf = slurp(path, &n, &why);
    if (!buf) {
        memset(d, 0, sizeof *d);
        d->file = dupstr(path);
        lathe_diag_add(d, 0, 0, "cannot read the chain file: %s", why);
        for (int i = 0; i < nstages; i++)
            stages[i].state = -1, stages[i].given = NULL, stages[i].strings = NULL;
        if (!diags) lathe_diags_free(&local);
        return NULL;
    }
    lathe_session *s = lathe_chain_file_parse(buf, n, path, stages, nstages, diags);
    free(buf);
    return s;
}

void lathe_stages_free(lathe_stage *stages, int nstages) {
    for (int i = 0; i < nstages; i++) {
        if (stages[i].strings && stages[i].desc)
            for (int q = 0; q < stages[i].desc->nparams; q++)
                free(stages[i].strings[q]);
        free(stages[i].strings);
        free(stages[i].given);
        stages[i].strings = NULL, stages[i].given = NULL;
    }
}
