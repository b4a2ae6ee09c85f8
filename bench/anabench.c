/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Analyser benchmark (not a test): reads a file into memory, then times the
 * analyser and its pieces over it, best of REPEATS runs, in process CPU time
 * (CLOCK_PROCESS_CPUTIME_ID; the machine is shared, wall clock is noisy).
 *
 *   lathe-anabench FILE [REPEATS]
 *
 * Prints, per piece: CPU seconds and x realtime. The pieces: the whole
 * analyser (lathe_analyzer_add, 8192-frame blocks as the engine feeds it),
 * part 0 and part 1 alone (lathe_analyzer_add_part), the K-meter alone
 * (lathe_kmeter_add) and the true-peak meter alone (lathe_tp_chan_peak per
 * channel). Then the figures of the analysis with 17 digits, to compare the
 * results of two builds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/kmeter.h"
#include "analysis/truepeak.h"
#include "lathe/analysis.h"
#include "lathe/io.h"
#include "util/fpu.h"

#define FEED 8192

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    float **b;
    int ch;
    long n;
    double rate;
} audio;

enum { ALL, PART0, PART1, KMETER, TPEAK, NPIECE };
static const char *const piece_name[NPIECE] = {"analyzer (add)", "part 0 (loudness)",
                                               "part 1 (the rest)", "kmeter alone",
                                               "true peak alone"};

static void analyse(const audio *au, int piece, lathe_analysis *out)
{
    lathe_error err;
    const float *p[LATHE_MAX_CHANNELS];
    if (piece == KMETER) {
        lathe_kmeter *m = lathe_kmeter_new(au->rate, au->ch);
        for (long off = 0; off < au->n; off += FEED) {
            long k = au->n - off < FEED ? au->n - off : FEED;
            for (int c = 0; c < au->ch; c++) p[c] = au->b[c] + off;
            lathe_kmeter_add(m, p, k);
        }
        out->integrated_lufs = lathe_kmeter_integrated(m);
        lathe_kmeter_free(m);
        return;
    }
    if (piece == TPEAK) {
        lathe_tp_design d;
        lathe_tp_design_init(&d, au->rate);
        lathe_tp_chan *tp = aligned_alloc(64, (sizeof *tp + 63) / 64 * 64);
        float pk = 0;
        for (int c = 0; c < au->ch; c++) {
            lathe_tp_chan_init(tp, &d);
            for (long off = 0; off < au->n; off += FEED) {
                long k = au->n - off < FEED ? au->n - off : FEED;
                pk = lathe_tp_chan_peak(tp, au->b[c] + off, (int)k, pk);
            }
        }
        out->true_peak_dbtp = pk;
        free(tp);
        return;
    }
    lathe_analyzer *a = lathe_analyzer_new(au->rate, au->ch, &err);
    if (!a) {
        fprintf(stderr, "anabench: %s\n", err.msg);
        exit(1);
    }
    for (long off = 0; off < au->n; off += FEED) {
        long k = au->n - off < FEED ? au->n - off : FEED;
        for (int c = 0; c < au->ch; c++) p[c] = au->b[c] + off;
        if (piece == ALL) lathe_analyzer_add(a, p, k);
        else lathe_analyzer_add_part(a, p, k, piece == PART0 ? 0 : 1);
    }
    lathe_analyzer_result(a, out);
    lathe_analyzer_free(a);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lathe-anabench FILE [REPEATS]\n");
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (reps < 1) reps = 1;
    lathe_denormals_off(); /* as the engine and the CLI run */
    lathe_error err;
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(argv[1], &info, &err);
    if (!r) {
        fprintf(stderr, "anabench: %s\n", err.msg);
        return 1;
    }
    audio au = {NULL, info.channels, 0, info.rate};
    long cap = 1 << 20;
    au.b = calloc((size_t)au.ch, sizeof *au.b);
    for (int c = 0; c < au.ch; c++) au.b[c] = malloc(sizeof(float) * (size_t)cap);
    for (;;) {
        if (au.n + 4096 > cap) {
            cap *= 2;
            for (int c = 0; c < au.ch; c++) au.b[c] = realloc(au.b[c], sizeof(float) * (size_t)cap);
        }
        float *d[LATHE_MAX_CHANNELS];
        for (int c = 0; c < au.ch; c++) d[c] = au.b[c] + au.n;
        long k = lathe_reader_read(r, d, 4096, &err);
        if (k < 0) {
            fprintf(stderr, "anabench: %s\n", err.msg);
            return 1;
        }
        if (k == 0) break;
        au.n += k;
    }
    lathe_reader_close(r);
    const double dur = (double)au.n / au.rate;
    printf("%s: %d ch, %.0f Hz, %.1f s; best of %d\n", argv[1], au.ch, au.rate, dur, reps);
    lathe_analysis res;
    memset(&res, 0, sizeof res);
    for (int piece = 0; piece < NPIECE; piece++) {
        double best = 1e30;
        for (int i = 0; i < reps; i++) {
            lathe_analysis o;
            memset(&o, 0, sizeof o);
            double t0 = cpu_now();
            analyse(&au, piece, &o);
            double t = cpu_now() - t0;
            if (t < best) best = t;
            if (piece == ALL) res = o;
        }
        printf("  %-20s %7.4f s cpu  %6.0fx realtime\n", piece_name[piece], best, dur / best);
    }
    printf("integrated %.17g\nrange %.17g\nmax_momentary %.17g\nmax_short_term %.17g\n",
           res.integrated_lufs, res.loudness_range_lu, res.max_momentary_lufs,
           res.max_short_term_lufs);
    printf("sample_peak %.17g\ntrue_peak %.17g\nrms %.17g\ncrest %.17g\nclipped %lld\n",
           res.sample_peak_dbfs, res.true_peak_dbtp, res.rms_dbfs, res.crest_db,
           res.clipped_samples);
    printf("correlation %.17g\nside_mid %.17g\n", res.correlation, res.side_mid_db);
    for (int c = 0; c < au.ch; c++)
        printf("ch%d tp %.17g sp %.17g dc %.17g\n", c, res.channel_true_peak_dbtp[c],
               res.channel_sample_peak_dbfs[c], res.dc_offset[c]);
    for (int c = 0; c < au.ch; c++) free(au.b[c]);
    free(au.b);
    return 0;
}
