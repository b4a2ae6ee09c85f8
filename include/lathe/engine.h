/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/engine.h: rendering a session (lathe/session.h) to a stereo mix.
 *
 * The render streams in blocks: memory does not grow with duration.
 * Every path is latency-compensated (lookahead, FIR), so sends, sidechains
 * and parallel paths stay sample-aligned; independent nodes run in parallel
 * on a thread pool, and every sum happens in a fixed order, so the output
 * bytes are the same for every thread count. */
#ifndef LATHE_ENGINE_H
#define LATHE_ENGINE_H

#include "lathe/analysis.h"
#include "lathe/error.h"
#include "lathe/io.h"
#include "lathe/series.h"
#include "lathe/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int threads;              /* worker threads; 0 = one per core */
    lathe_sample_type sample; /* output samples: AUTO = 32-bit float */
    const char *stems_dir;    /* also write every bus's output there (NULL = no) */
    int overwrite;            /* replace existing outputs (--force) */
    /* progress, called from the rendering thread with 0..1; may be NULL */
    void (*progress)(void *user, double fraction);
    void *user;
    int channels;             /* output channels: 1 = mono (the master's left channel), else 2 */
    unsigned analysis_flags;  /* for the report's analysis of the output (lathe/analysis.h) */
    /* When not NULL: the output is added to this series (lathe/series.h, for
     * HTML reports), and so is the gain reduction of every master-chain
     * entry that reports it, one value per hop, named by the entry's label.
     * The caller creates it at the session rate and output channels and
     * finishes it after the render. */
    lathe_series *series;
    /* The output is a scratch file of the caller's (a cache it deletes
     * after use): not synced to the disk (lathe_writer_set_scratch). */
    int scratch;
} lathe_mix_options;

typedef struct {
    char name[64];
    int kind;           /* lathe_node_kind */
    double peak_dbfs;   /* sample peak of the node's output (post-fader) */
    double rms_dbfs;    /* RMS of the output over the render */
    int latency;        /* frames of its own chain */
} lathe_node_level;

/* Gain reduction of one chain entry that reports it (compressor, limiter, ...),
 * read every 1024 frames: the largest reading, and the time average of the
 * readings (0 where it does not act). */
typedef struct {
    int node, entry;        /* session node index and chain entry */
    char label[96];         /* "master.limiter" */
    double max_db, mean_db; /* >= 0 */
} lathe_reduction;

typedef struct {
    lathe_analysis mix;       /* the rendered mix */
    lathe_node_level *nodes;  /* one per session node (caller frees with lathe_mix_report_free) */
    int nnodes;
    lathe_reduction *reductions; /* every chain entry that reports gain reduction, in node order */
    int nreductions;
    int latency;              /* frames compensated at the master */
    double rendered_s;        /* duration written */
    double tail_s;            /* of which tail after the last track */
    double suggested_trim_db; /* 0 unless the mix clips: the master gain change that leaves 3 dB */
} lathe_mix_report;

/* Renders `s` to `out_path` (WAV, FLAC or AIFF by extension); with out_path
 * NULL it only measures (rep). rep may be NULL. Returns LATHE_OK or fills err. */
lathe_status lathe_mix_render(const lathe_session *s, const char *out_path,
                              const lathe_mix_options *opt, lathe_mix_report *rep,
                              lathe_error *err);
void lathe_mix_report_free(lathe_mix_report *rep); /* NULL-safe; frees rep->nodes */

#ifdef __cplusplus
}
#endif
#endif
