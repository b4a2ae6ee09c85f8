/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared test support: signal generators and measurements.  Tests build
 * their signals in code and compare against closed forms or standards. */
#ifndef LATHE_TEST_H
#define LATHE_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lathe/io.h"
#include "lathe/proc.h"

/* Planar buffers: ch channels of n frames, zeroed. Free with lt_free. */
float **lt_alloc(int ch, long n);
void lt_free(float **buf, int ch);

/* x[i] = amp * sin(2π f i / rate + phase) for i in [0, n). */
void lt_sine(float *x, long n, double rate, double freq, double amp, double phase);
/* Uniform white noise in [-amp, amp) from a fixed-seed generator (seed != 0). */
void lt_noise(float *x, long n, double amp, uint64_t *seed);

double lt_rms(const float *x, long n);
double lt_peak(const float *x, long n);
double lt_db(double linear);          /* 20 log10, -inf safe */
double lt_undb(double db);

/* Amplitude and phase of the component at `freq` in x[0..n) by least squares
 * against sin/cos (exact for a steady sine, any n). */
double lt_tone_amp(const float *x, long n, double rate, double freq, double *phase);

/* Steady-state magnitude response (dB) of a processor at `freq`: runs a sine
 * of amplitude `amp` through channel 0 of a mono instance, skips `settle_s`
 * seconds, measures `measure_s` seconds. Fails the test on error. */
double lt_proc_gain_db(const lathe_proc_desc *d, double rate, const char *const *names,
                       const double *values, int n, double freq, double amp);

/* A processor with params set by name (values in param units). Fails the
 * test if a name is unknown or init fails. */
lathe_proc *lt_proc(const char *name, double rate, int channels, const char *const *names,
                    const double *values, int n);

/* ../shared/material (from the source tree), or NULL when absent. */
const char *lt_material_dir(void);
/* The lathe executable under test ($LATHE_EXE), or NULL. */
const char *lt_lathe_exe(void);

#endif

/* ---- running the CLI ---- */

typedef struct {
    int status;  /* exit code, or -1 if it did not exit normally */
    char *out;   /* stdout (owned, NUL-terminated) */
    char *err;   /* stderr */
} lt_run_result;

/* Runs a shell command line (sh -c), capturing stdout and stderr. */
lt_run_result lt_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lt_run_free(lt_run_result *r);
/* The number after "key": in JSON text (the first occurrence after `from`),
 * NAN for null; fails the test if the key is missing. */
double lt_json_num(const char *json, const char *key);
/* A fresh temporary directory (removed by lt_rmdir). */
const char *lt_tmpdir(char *buf, size_t len);
void lt_rmdir(const char *dir);

/* Group fixtures for cmocka_run_group_tests: a fresh temporary folder in
 * lt_dir for the whole group, removed at the end. A test file names it
 * with `static char *const dir = lt_dir;`. */
extern char lt_dir[256];
int lt_dir_setup(void **state);
int lt_dir_teardown(void **state);

/* Writes ch planar channels of n frames to a WAV file of the given sample
 * type through lathe's writer (the test fails when it cannot). */
void lt_write_wav(const char *path, float **b, int ch, long n, double rate, lathe_sample_type t);

/* A music-like stereo signal (lt_alloc'd): filtered noise, a 55 Hz bass
 * line and a 4 Hz level swing, at `level`. */
float **lt_songish(long n, double rate, double level, uint64_t seed);

/* Writes text to path (the test fails when it cannot). */
void lt_write_text(const char *path, const char *text);

/* The bytes of the file at path, followed by eight zero bytes (so text is
 * NUL-terminated); their count in *len (NULL: not wanted). The test fails
 * when the file cannot be read. free() the result. */
char *lt_read_file(const char *path, size_t *len);

/* 1 in the sanitizer run (an ASan build, or LATHE_SANITIZED set, as make
 * check does; a TSan build too), where tests use shorter signals for the
 * same checks. */
int lt_sanitized(void);
/* Whether a program is on PATH. */
int lt_have(const char *program);

/* `secs` seconds of the stereo material song ../shared/material/music/SONG
 * from `start` s, planar (free with lt_free(b, 2)); *n receives the frames.
 * NULL when the material is missing or too short. */
float **lt_load_music(const char *song, double start, double secs, long *n);

/* A file read whole and measured by libebur128 (the independent reference):
 * integrated loudness and true peak (the largest of the channels). */
typedef struct {
    double lufs, tp;  /* LUFS, dBTP */
    double rate;
    int channels;
    long long frames;
    float **b;        /* the samples when kept (free with lt_free(b, channels)), else NULL */
} lt_measured;
lt_measured lt_measure_file(const char *path, int keep);

/* ---- EBU Tech 3341 true-peak signals (48 kHz) ---- */

/* Cases 15-19: a sine at rate/div, peak amp, phase in degrees, with 10 ms
 * fades, into x[0..n-1]. */
void lt_tech3341_sine(float *x, long n, double div, double amp, double phase_deg);
/* Cases 20-23: fs/6 at 0.5 FFS holding one phase-continuous period of fs/4
 * at 1.0 FFS, made at 4 fs, low-passed, decimated at offset 0..3: 1 s
 * (48000 frames) into x. */
void lt_tech3341_burst(float *x, int offset);

/* ---- checks every processor family shares ---- */

/* One NaN and one inf sample in a stereo sine at `freq`: 1 s later the
 * output is finite and within 0.05 dB of an instance that never saw them
 * (bad values must not stay in filters, averages or ballistics). */
void lt_check_recovers_from_nan(const char *proc, double rate, double freq,
                                const char *const *names, const double *vals, int nv);
/* The same stereo input through one call and through uneven pieces (1, 7,
 * 300, 512, 33, 2, 129 frames) gives bit-identical output. */
void lt_check_block_sizes(const char *proc, double rate, const char *const *names,
                          const double *vals, int nv, float *const *in, long n);
