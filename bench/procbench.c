/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Processor benchmarks (make bench), not tests.
 *
 *   procbench table SECONDS        throughput of every processor: stereo,
 *                                  48 kHz, 512-frame blocks, noise input
 *   procbench strip IN OUT         the "channel strip" (4-band EQ and a
 *                                  compressor) file to file, to compare with
 *                                  SoX's `equalizer ... compand ...` on the
 *                                  same file
 *   procbench master IN [REPS [STAGE]]  the processors of `lathe master --reference`
 *                                  (highpass, match, glue, limiter, dither)
 *                                  with master's settings, in chain order, on
 *                                  IN held in memory, in the engine's block
 *                                  sizes: CPU seconds of each (best of REPS)
 *                                  and a hash of each stage's output bytes;
 *                                  with STAGE, only that one is repeated and
 *                                  the chain stops after it (for perf)
 *
 * table and strip time wall clock (CLOCK_MONOTONIC); master times the
 * thread's CPU (CLOCK_THREAD_CPUTIME_ID), which other load on a shared
 * machine disturbs much less. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lathe/io.h"
#include "lathe/proc.h"
#include "util/fpu.h"

#define BLOCK 512

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    const char *name;
    const char *const *keys;
    const double *vals;
    int n;
} setting;

/* Realistic settings for the processors whose defaults do nothing. */
static const char *const eq_keys[] = {"band1.type", "band1.freq", "band2.type", "band2.freq",
                                      "band2.gain", "band2.q", "band3.type", "band3.freq",
                                      "band3.gain", "band3.q", "band4.type", "band4.freq",
                                      "band4.gain"};
static const double eq_vals[] = {4, 80, 1, 250, -3, 1.0, 1, 2500, 2, 1.4, 3, 8000, 2};

static lathe_proc *make(const char *name, double rate, int ch, lathe_error *err)
{
    const lathe_proc_desc *d = lathe_processor_find(name);
    if (!d) return NULL;
    if (!strcmp(name, "eq")) {
        int idx[13];
        for (int i = 0; i < 13; i++) idx[i] = lathe_proc_param_index(d, eq_keys[i]);
        return lathe_proc_new_with(d, rate, ch, BLOCK, idx, eq_vals, 13, err);
    }
    if (!strcmp(name, "convolve")) {
        /* a 2 s decaying-noise IR, written once */
        static const char *ir = "/tmp/lathe-procbench-ir.wav";
        lathe_writer_spec spec = {LATHE_FILE_WAV, LATHE_SAMPLE_FLOAT32, rate, 2, 1};
        lathe_writer *w = lathe_writer_open(ir, &spec, err);
        if (!w) return NULL;
        long n = (long)(2 * rate);
        float *l = malloc(sizeof(float) * (size_t)n), *r = malloc(sizeof(float) * (size_t)n);
        uint64_t s = 1;
        for (long i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double v = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * exp(-6.9 * i / (double)n);
            l[i] = (float)v, r[i] = (float)(-v);
        }
        const float *p[2] = {l, r};
        lathe_writer_write(w, p, n, err);
        lathe_writer_commit(w, err);
        free(l), free(r);
        const char *names[] = {"ir"}, *values[] = {ir};
        return lathe_proc_new(d, rate, ch, BLOCK, names, values, 1, err);
    }
    return lathe_proc_new(d, rate, ch, BLOCK, NULL, NULL, 0, err);
}

static int table(double seconds)
{
    const double rate = 48000;
    const long n = (long)(seconds * rate);
    float *buf[2];
    for (int c = 0; c < 2; c++) {
        buf[c] = malloc(sizeof(float) * (size_t)n);
        uint64_t s = 12345 + (uint64_t)c;
        for (long i = 0; i < n; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            buf[c][i] = (float)(0.5 * ((double)(s >> 11) / 9007199254740992.0 - 0.5));
        }
    }
    float *work[2] = {malloc(sizeof(float) * (size_t)n), malloc(sizeof(float) * (size_t)n)};
    int count;
    const lathe_proc_desc *const *t = lathe_processors(&count);
    printf("  %-12s %14s %12s\n", "processor", "frames/s", "x realtime");
    for (int i = 0; i < count; i++) {
        lathe_error err;
        lathe_proc *p = make(t[i]->name, rate, 2, &err);
        if (!p) {
            printf("  %-12s (could not create: %s)\n", t[i]->name, err.msg);
            continue;
        }
        memcpy(work[0], buf[0], sizeof(float) * (size_t)n);
        memcpy(work[1], buf[1], sizeof(float) * (size_t)n);
        double t0 = now();
        for (long off = 0; off < n; off += BLOCK) {
            int k = (int)(n - off < BLOCK ? n - off : BLOCK);
            float *io[2] = {work[0] + off, work[1] + off};
            lathe_proc_process(p, io, NULL, k);
        }
        double dt = now() - t0;
        printf("  %-12s %14.3g %12.0f\n", t[i]->name, (double)n / dt, seconds / dt);
        lathe_proc_free(p);
    }
    for (int c = 0; c < 2; c++) free(buf[c]), free(work[c]);
    return 0;
}

static int strip(const char *in, const char *out)
{
    lathe_error err;
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(in, &info, &err);
    if (!r) return fprintf(stderr, "%s\n", err.msg), 1;
    lathe_proc *eq = make("eq", info.rate, info.channels, &err);
    const lathe_proc_desc *cd = lathe_processor_find("compressor");
    int ci[4] = {lathe_proc_param_index(cd, "threshold"), lathe_proc_param_index(cd, "ratio"),
                 lathe_proc_param_index(cd, "attack"), lathe_proc_param_index(cd, "release")};
    double cv[4] = {-18, 4, 10, 120};
    lathe_proc *comp = lathe_proc_new_with(cd, info.rate, info.channels, BLOCK, ci, cv, 4, &err);
    if (!eq || !comp) return fprintf(stderr, "%s\n", err.msg), 1;
    lathe_writer_spec spec = {LATHE_FILE_WAV, info.bits == 24 ? LATHE_SAMPLE_PCM24
                                                              : LATHE_SAMPLE_PCM16,
                              info.rate, info.channels, 1};
    lathe_writer *w = lathe_writer_open(out, &spec, &err);
    if (!w) return fprintf(stderr, "%s\n", err.msg), 1;
    float *b[LATHE_MAX_CHANNELS];
    for (int c = 0; c < info.channels; c++) b[c] = malloc(sizeof(float) * 4096);
    long n;
    while ((n = lathe_reader_read(r, b, 4096, &err)) > 0) {
        lathe_proc_process(eq, b, NULL, n);
        lathe_proc_process(comp, b, NULL, n);
        if (lathe_writer_write(w, (const float *const *)b, n, &err) != LATHE_OK) break;
    }
    if (n < 0 || lathe_writer_commit(w, &err) != LATHE_OK)
        return fprintf(stderr, "%s\n", err.msg), 1;
    for (int c = 0; c < info.channels; c++) free(b[c]);
    lathe_proc_free(eq);
    lathe_proc_free(comp);
    lathe_reader_close(r);
    return 0;
}

/* A stage of the reference master: processor, engine block size, settings
 * (param names and values in param units; choices by index). The settings
 * are master.c's STAGES; the glue's threshold, which master sets from the
 * programme's loudness, is a typical -20 dB; match has a tilt and a width
 * change (any non-flat curve costs the same). */
typedef struct {
    const char *label, *proc;
    int block;
    const char *keys[16];
    double vals[16];
} master_stage;

static const master_stage MASTER_STAGES[] = {
    {"highpass", "eq", 8192, {"band1.type", "band1.freq", "band1.slope"}, {4, 20, 12}},
    {"match", "match", 8192,
     {"band3.mid", "band8.mid", "band14.mid", "band20.mid", "band26.mid", "band30.mid",
      "band14.side", "band26.side"},
     {1.5, 1, -0.5, 0.5, 1, 2, 1, 2}},
    {"glue", "compressor", 1024,
     {"threshold", "ratio", "knee", "attack", "release", "detect", "window", "sc_hpf"},
     {-20, 2, 6, 30, 300, 1, 50, 80}},
    {"limiter", "limiter", 1024, {"lookahead", "release", "auto_release"}, {3, 120, 1}},
    {"dither", "dither", 8192, {"bits"}, {24}},
};
#define MASTER_DRIVE_DB 6.0 /* the solved gain before the limiter: some limiting */

/* FNV-1a over the samples' 32-bit patterns (a word at a time: cheap) */
static uint64_t fnv1a(uint64_t h, const float *x, long n)
{
    for (long i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        h = (h ^ u) * 0x100000001b3ULL;
    }
    return h;
}

/* only: NULL, or the one stage to time (REPS times; the ones before it run
 * once for its input, the ones after it not at all: for perf record) */
static int master(const char *in, int reps, const char *only)
{
    lathe_error err;
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(in, &info, &err);
    if (!r) return fprintf(stderr, "%s\n", err.msg), 1;
    const int ch = info.channels;
    long cap = 1 << 20, n = 0;
    float *sig[LATHE_MAX_CHANNELS], *work[LATHE_MAX_CHANNELS];
    for (int c = 0; c < ch; c++) sig[c] = malloc(sizeof(float) * (size_t)cap);
    for (;;) {
        if (n + 65536 > cap) {
            cap *= 2;
            for (int c = 0; c < ch; c++) sig[c] = realloc(sig[c], sizeof(float) * (size_t)cap);
        }
        float *dst[LATHE_MAX_CHANNELS];
        for (int c = 0; c < ch; c++) dst[c] = sig[c] + n;
        long k = lathe_reader_read(r, dst, 65536, &err);
        if (k < 0) return fprintf(stderr, "%s\n", err.msg), 1;
        if (k == 0) break;
        n += k;
    }
    lathe_reader_close(r);
    for (int c = 0; c < ch; c++) work[c] = malloc(sizeof(float) * (size_t)n);
    const double secs = (double)n / info.rate;
    printf("  %s: %.1f s, %d ch, %.0f Hz; CPU seconds, best of %d\n", in, secs, ch, info.rate,
           reps);
    printf("  %-10s %6s %10s %12s  %s\n", "stage", "block", "cpu s", "x realtime", "output hash");
    double total = 0;
    for (size_t k = 0; k < sizeof MASTER_STAGES / sizeof MASTER_STAGES[0]; k++) {
        const master_stage *m = &MASTER_STAGES[k];
        const lathe_proc_desc *d = lathe_processor_find(m->proc);
        int idx[16], nv = 0;
        for (; nv < 16 && m->keys[nv]; nv++) idx[nv] = lathe_proc_param_index(d, m->keys[nv]);
        if (!strcmp(m->label, "limiter")) { /* the drive */
            const float g = (float)pow(10.0, MASTER_DRIVE_DB / 20.0);
            for (int c = 0; c < ch; c++)
                for (long i = 0; i < n; i++) sig[c][i] *= g;
        }
        if (only && k > 0 && !strcmp(MASTER_STAGES[k - 1].label, only)) break;
        const int nrep = only && strcmp(m->label, only) ? 1 : reps;
        double best = 1e300;
        for (int rep = 0; rep < nrep; rep++) {
            lathe_proc *p = lathe_proc_new_with(d, info.rate, ch, m->block, idx, m->vals, nv, &err);
            if (!p) return fprintf(stderr, "%s: %s\n", m->label, err.msg), 1;
            for (int c = 0; c < ch; c++) memcpy(work[c], sig[c], sizeof(float) * (size_t)n);
            double t0 = cpu_now();
            for (long off = 0; off < n; off += m->block) {
                int b = (int)(n - off < m->block ? n - off : m->block);
                float *io[LATHE_MAX_CHANNELS];
                for (int c = 0; c < ch; c++) io[c] = work[c] + off;
                lathe_proc_process(p, io, NULL, b);
                if (d->reduction_db) (void)lathe_proc_reduction_db(p);
            }
            double dt = cpu_now() - t0;
            best = dt < best ? dt : best;
            lathe_proc_free(p);
        }
        uint64_t h = 0xcbf29ce484222325ULL;
        for (int c = 0; c < ch; c++) h = fnv1a(h, work[c], n);
        printf("  %-10s %6d %10.4f %12.0f  %016llx\n", m->label, m->block, best, secs / best,
               (unsigned long long)h);
        total += best;
        for (int c = 0; c < ch; c++) { /* the next stage takes this one's output */
            float *t = sig[c];
            sig[c] = work[c], work[c] = t;
        }
    }
    printf("  %-10s %6s %10.4f %12.0f\n", "total", "", total, secs / total);
    for (int c = 0; c < ch; c++) free(sig[c]), free(work[c]);
    return 0;
}

int main(int argc, char **argv)
{
    lathe_denormals_off();
    if (argc == 3 && !strcmp(argv[1], "table")) return table(atof(argv[2]));
    if (argc == 4 && !strcmp(argv[1], "strip")) return strip(argv[2], argv[3]);
    if (argc >= 3 && argc <= 5 && !strcmp(argv[1], "master"))
        return master(argv[2], argc >= 4 ? atoi(argv[3]) : 3, argc == 5 ? argv[4] : NULL);
    fprintf(stderr, "usage: procbench table SECONDS | procbench strip IN.wav OUT.wav | "
                    "procbench master IN.wav [REPS [STAGE]]\n");
    return 64;
}
