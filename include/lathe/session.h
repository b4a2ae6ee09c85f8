/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/session.h: a mixing session, as loaded and validated from YAML.
 *
 * A session is a graph: tracks (audio files) feed buses, buses feed the
 * master bus; every node runs a chain of processors, then its fader (gain,
 * pan), then its sends.  The loader resolves every name to an index and
 * every value to its unit, so the engine never parses text.  The format is
 * documented in docs/session.md.
 *
 * Diagnostics: every problem is collected (not only the first), each with
 * the file, line and column: "session.yaml:14:11: message". */
#ifndef LATHE_SESSION_H
#define LATHE_SESSION_H

#include "lathe/error.h"
#include "lathe/proc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- diagnostics ---- */

typedef struct {
    int line, col;  /* 1-based; 0 when not tied to a place */
    char msg[512];  /* without the "file:line:col: " prefix */
} lathe_diag;

typedef struct {
    char *file;      /* the session path, as given */
    lathe_diag *items;
    int count, cap;
} lathe_diags;

/* Formats diagnostic i as "FILE:LINE:COL: MSG" into buf; returns buf. */
const char *lathe_diag_format(const lathe_diags *d, int i, char *buf, size_t len);
void lathe_diags_free(lathe_diags *d); /* frees the contents, not d */

/* ---- the session ---- */

typedef enum {
    LATHE_CURVE_LINEAR = 0, /* linear in the parameter's unit (dB for gains) */
    LATHE_CURVE_EXP,        /* exponential: linear in log(value) (frequencies, times) */
    LATHE_CURVE_HOLD,       /* step: holds the value until the next point */
    LATHE_CURVE_SMOOTH      /* cosine ease in and out */
} lathe_curve;

typedef struct {
    double time_s;    /* on the session timeline */
    double value;     /* in the target parameter's unit (may be -inf for gains) */
    lathe_curve curve;/* shape of the segment from this point to the next */
} lathe_auto_point;

/* What an automation lane drives. */
typedef enum {
    LATHE_TARGET_NODE_GAIN = 0, /* fader gain, dB */
    LATHE_TARGET_NODE_PAN,      /* pan, % (-100 left .. +100 right) */
    LATHE_TARGET_SEND,          /* a send level, dB (index: send) */
    LATHE_TARGET_PROC_PARAM     /* a processor parameter (index: chain entry, param) */
} lathe_target_kind;

typedef struct {
    char *text;             /* as written: "vocal.eq.band2.gain" */
    int node;               /* index into session->nodes */
    lathe_target_kind kind;
    int index;              /* chain entry (PROC_PARAM) or send (SEND) */
    int param;              /* PROC_PARAM: index into the descriptor's params */
    lathe_auto_point *points;
    int npoints;            /* >= 1, sorted by time */
    int line, col;
} lathe_automation;

typedef struct {
    const lathe_proc_desc *desc;
    char *label;            /* name used in automation targets: desc->name, or "eq#2" for a repeat */
    double *values;         /* desc->nparams values (defaults where not given) */
    char **strings;         /* desc->nparams entries; non-NULL only for STRING params given */
    int key_node;           /* sidechain source node, or -1 */
    int bypass;             /* present but switched off */
    int line, col;
} lathe_chain_entry;

typedef struct {
    int dest;               /* node index of the destination bus */
    double level_db;        /* send level */
    int pre_fader;          /* 1: taken before the fader (and pan), 0: after */
    int line, col;
} lathe_send;

typedef enum { LATHE_NODE_TRACK = 0, LATHE_NODE_BUS, LATHE_NODE_MASTER } lathe_node_kind;

typedef struct {
    char *name;
    lathe_node_kind kind;
    /* tracks only */
    char *file;             /* absolute or relative to the current directory (resolved from the session's folder) */
    double start_s;         /* where the file's first frame sits on the timeline */
    /* every node */
    double gain_db;         /* fader */
    double pan;             /* -100 .. +100 %; pan law -3 dB for mono sources, balance for stereo */
    int mute, solo, invert; /* invert: polarity of every channel */
    lathe_chain_entry *chain;
    int nchain;
    lathe_send *sends;
    int nsends;
    int out;                /* destination node index (a bus or the master); -1 for the master */
    int line, col;
} lathe_node;

typedef struct {
    char *path;             /* the session file */
    char *dir;              /* its folder: relative file paths resolve from here */
    double rate;            /* render rate, Hz */
    double tempo_bpm;       /* for bars|beats times and note values; 120 when not given */
    int beats_per_bar;      /* 4 unless `meter: 3/4` etc. */
    double range_start_s;   /* render range; end < 0 = to the end of the last track */
    double range_end_s;
    double tail_s;          /* < 0: automatic (until the tails fall below -90 dBFS) */
    lathe_node *nodes;      /* tracks first (file order), then buses, the master last */
    int nnodes;
    int master;             /* index of the master node */
    lathe_automation *autos;
    int nautos;
} lathe_session;

/* Loads and validates `path`. On success returns the session (caller owns
 * it: lathe_session_free) and diags->count == 0. On failure returns NULL and
 * fills diags with every problem found (caller frees with lathe_diags_free).
 * Checks: YAML syntax; unknown keys (with the nearest valid name); wrong
 * types; values out of range (with range and unit, via lathe_param_parse);
 * missing or unreadable audio files; unknown buses and sidechain sources;
 * routing cycles; automation targets that do not exist. */
lathe_session *lathe_session_load(const char *path, lathe_diags *diags);

/* Parses an in-memory YAML text as if it were the file `path` (for tests and
 * for `lathe master --chain`). Same contract as lathe_session_load. */
lathe_session *lathe_session_parse(const char *text, size_t len, const char *path,
                                   lathe_diags *diags);

void lathe_session_free(lathe_session *s); /* NULL-safe */

/* ---- master chain files (`lathe master --chain FILE`, docs/master.md) ----
 * A map whose keys are stage names of the mastering chain (value: on, off,
 * or a map of the stage processor's parameters, as in a session chain entry,
 * `bypass: on` included) and optionally `chain:` (a list of processor
 * entries, exactly as a session chain, that replaces the stages before the
 * limiter). */
typedef struct {
    const char *name;             /* in: the stage's name in the file ("glue") */
    const lathe_proc_desc *desc;  /* in: its processor */
    int state;                    /* out: -1 not mentioned, 0 off, 1 on */
    double *given;                /* out: desc->nparams values, NAN where not given; or NULL */
    char **strings;               /* out: string params given (NULL entries otherwise); or NULL */
    int line, col;                /* out: where the stage is named */
} lathe_stage;

/* Loads a chain file. On success returns a session whose master node's
 * chain holds the `chain:` list (nchain 0 without one) and fills stages;
 * on failure returns NULL with every problem in diags. Free the result with
 * lathe_session_free and the stages with lathe_stages_free. */
lathe_session *lathe_chain_file_load(const char *path, lathe_stage *stages, int nstages,
                                     lathe_diags *diags);
lathe_session *lathe_chain_file_parse(const char *text, size_t len, const char *path,
                                      lathe_stage *stages, int nstages, lathe_diags *diags);
void lathe_stages_free(lathe_stage *stages, int nstages);

/* Parses a time as written in sessions: "12.5", "12.5 s", "1:30", "1:30.25"
 * (m:ss.ms), "33|1" or "33|2.5" (bars|beats, 1-based, at tempo and meter).
 * Returns LATHE_OK or LATHE_E_INVALID with a message. */
lathe_status lathe_time_parse(const char *text, double tempo_bpm, int beats_per_bar,
                              double *seconds, lathe_error *err);

/* Value of an automation lane at time t (seconds). */
double lathe_automation_value(const lathe_automation *a, double t);

#ifdef __cplusplus
}
#endif
#endif
