/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "lathe_test.h"

#include <ebur128.h>

#include "lathe/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

float **lt_alloc(int ch, long n)
{
    float **b = calloc((size_t)ch, sizeof *b);
    assert_non_null(b);
    for (int c = 0; c < ch; c++) {
        b[c] = calloc((size_t)(n > 0 ? n : 1), sizeof **b);
        assert_non_null(b[c]);
    }
    return b;
}

void lt_free(float **b, int ch)
{
    if (!b) return;
    for (int c = 0; c < ch; c++) free(b[c]);
    free(b);
}

void lt_sine(float *x, long n, double rate, double freq, double amp, double phase)
{
    double w = 2.0 * M_PI * freq / rate;
    for (long i = 0; i < n; i++) x[i] = (float)(amp * sin(w * (double)i + phase));
}

void lt_noise(float *x, long n, double amp, uint64_t *seed)
{
    for (long i = 0; i < n; i++) {
        /* xorshift64* */
        uint64_t s = *seed;
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        *seed = s;
        uint64_t r = s * 2685821657736338717ULL;
        x[i] = (float)(amp * ((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0));
    }
}

double lt_rms(const float *x, long n)
{
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)x[i] * x[i];
    return n ? sqrt(s / (double)n) : 0;
}

double lt_peak(const float *x, long n)
{
    double p = 0;
    for (long i = 0; i < n; i++) p = fmax(p, fabs(x[i]));
    return p;
}

double lt_db(double v)
{
    return v > 0 ? 20.0 * log10(v) : -INFINITY;
}

double lt_undb(double db)
{
    return pow(10.0, db / 20.0);
}

double lt_tone_amp(const float *x, long n, double rate, double freq, double *phase)
{
    /* Least squares fit of a*sin + b*cos (+ DC) via the 3x3 normal equations. */
    double w = 2.0 * M_PI * freq / rate;
    double ss = 0, cc = 0, sc = 0, s1 = 0, c1 = 0, xs = 0, xc = 0, x1 = 0;
    for (long i = 0; i < n; i++) {
        double s = sin(w * (double)i), c = cos(w * (double)i), v = x[i];
        ss += s * s, cc += c * c, sc += s * c, s1 += s, c1 += c;
        xs += v * s, xc += v * c, x1 += v;
    }
    double N = (double)n;
    /* Solve [ss sc s1; sc cc c1; s1 c1 N] [a b d]' = [xs xc x1]' by Cramer's rule. */
    double A[3][3] = {{ss, sc, s1}, {sc, cc, c1}, {s1, c1, N}}, B[3] = {xs, xc, x1};
    double det = A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
                 A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
                 A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);
    double sol[2];
    for (int k = 0; k < 2; k++) {
        double M[3][3];
        memcpy(M, A, sizeof M);
        for (int r = 0; r < 3; r++) M[r][k] = B[r];
        sol[k] = (M[0][0] * (M[1][1] * M[2][2] - M[1][2] * M[2][1]) -
                  M[0][1] * (M[1][0] * M[2][2] - M[1][2] * M[2][0]) +
                  M[0][2] * (M[1][0] * M[2][1] - M[1][1] * M[2][0])) /
                 det;
    }
    if (phase) *phase = atan2(sol[1], sol[0]);
    return hypot(sol[0], sol[1]);
}

lathe_proc *lt_proc(const char *name, double rate, int channels, const char *const *names,
                    const double *values, int n)
{
    const lathe_proc_desc *d = lathe_processor_find(name);
    if (!d) fail_msg("no processor '%s'", name);
    int idx[256];
    assert_true(n <= 256);
    for (int i = 0; i < n; i++) {
        idx[i] = lathe_proc_param_index(d, names[i]);
        if (idx[i] < 0) fail_msg("%s: no parameter '%s'", name, names[i]);
    }
    lathe_error err = {0};
    lathe_proc *p = lathe_proc_new_with(d, rate, channels, 512, idx, values, n, &err);
    if (!p) fail_msg("%s: %s", name, err.msg);
    return p;
}

double lt_proc_gain_db(const lathe_proc_desc *d, double rate, const char *const *names,
                       const double *values, int n, double freq, double amp)
{
    lathe_proc *p = lt_proc(d->name, rate, 1, names, values, n);
    /* Settle long enough for low-frequency filters: at least 50 periods or 0.5 s. */
    long settle = (long)fmax(0.5 * rate, 50.0 * rate / freq);
    long meas = (long)fmax(0.25 * rate, 20.0 * rate / freq);
    long total = settle + meas;
    float **b = lt_alloc(1, total);
    lt_sine(b[0], total, rate, freq, amp, 0);
    lathe_proc_process(p, b, NULL, total);
    double a = lt_tone_amp(b[0] + settle, meas, rate, freq, NULL);
    lt_free(b, 1);
    lathe_proc_free(p);
    return lt_db(a / amp);
}

static char material[4096];

const char *lt_material_dir(void)
{
    const char *src = getenv("LATHE_SOURCE_DIR");
    if (!src) return NULL;
    snprintf(material, sizeof material, "%s/../shared/material", src);
    struct stat st;
    if (stat(material, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return material;
}

const char *lt_lathe_exe(void)
{
    return getenv("LATHE_EXE");
}

#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

lt_run_result lt_run(const char *fmt, ...)
{
    char cmd[8192], full[9000], dir[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    lt_tmpdir(dir, sizeof dir);
    snprintf(full, sizeof full, "(%s) >%s/out 2>%s/err", cmd, dir, dir);
    int st = system(full);
    lt_run_result r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    char p[300];
    snprintf(p, sizeof p, "%s/out", dir);
    r.out = slurp(p);
    snprintf(p, sizeof p, "%s/err", dir);
    r.err = slurp(p);
    lt_rmdir(dir);
    return r;
}

void lt_run_free(lt_run_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

double lt_json_num(const char *json, const char *key)
{
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    if (!p) fail_msg("JSON has no key '%s'", key);
    p += strlen(pat);
    if (!strncmp(p, "null", 4)) return NAN;
    return strtod(p, NULL);
}

const char *lt_tmpdir(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/lathe-test-XXXXXX");
    if (!mkdtemp(buf)) fail_msg("mkdtemp failed");
    return buf;
}

void lt_rmdir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

char lt_dir[256];

int lt_dir_setup(void **state)
{
    (void)state;
    lt_tmpdir(lt_dir, sizeof lt_dir);
    return 0;
}

int lt_dir_teardown(void **state)
{
    (void)state;
    lt_rmdir(lt_dir);
    return 0;
}

void lt_write_wav(const char *path, float **b, int ch, long n, double rate, lathe_sample_type t)
{
    lathe_error err;
    lathe_writer_spec spec = {LATHE_FILE_WAV, t, rate, ch, 1};
    lathe_writer *w = lathe_writer_open(path, &spec, &err);
    if (!w) fail_msg("%s", err.msg);
    assert_int_equal(lathe_writer_write(w, (const float *const *)b, n, &err), LATHE_OK);
    assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);
}

float **lt_songish(long n, double rate, double level, uint64_t seed)
{
    float **b = lt_alloc(2, n);
    lt_noise(b[0], n, 1.0, &seed);
    lt_noise(b[1], n, 1.0, &seed);
    double z0 = 0, z1 = 0;
    for (long i = 0; i < n; i++) {
        double t = i / rate, env = 0.7 + 0.3 * sin(2 * M_PI * 4 * t);
        z0 = 0.9 * z0 + 0.3 * b[0][i], z1 = 0.9 * z1 + 0.3 * b[1][i];
        double bass = 0.3 * sin(2 * M_PI * 55 * t);
        b[0][i] = (float)(level * env * (0.8 * z0 + 0.2 * z1 + bass));
        b[1][i] = (float)(level * env * (0.2 * z0 + 0.8 * z1 + bass));
    }
    return b;
}

void lt_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    fputs(text, f);
    if (fclose(f) != 0) fail_msg("cannot write %s", path);
}

char *lt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = calloc(1, (size_t)n + 8);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) fail_msg("%s: short read", path);
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

int lt_sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return 1;
#else
    return getenv("LATHE_SANITIZED") != NULL;
#endif
}

int lt_have(const char *program)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", program);
    return system(cmd) == 0;
}

void lt_check_recovers_from_nan(const char *proc, double rate, double freq,
                                const char *const *names, const double *vals, int nv)
{
    long n = (long)(1.5 * rate), tail = (long)(0.3 * rate);
    double amp[2][2];
    for (int bad = 0; bad < 2; bad++) {
        lathe_proc *p = lt_proc(proc, rate, 2, names, vals, nv);
        float **b = lt_alloc(2, n);
        for (int c = 0; c < 2; c++) lt_sine(b[c], n, rate, freq, 0.5, c);
        if (bad) {
            b[0][1000] = NAN;
            b[1][2000] = INFINITY;
        }
        lathe_proc_process(p, b, NULL, n);
        for (int c = 0; c < 2; c++) {
            for (long i = n - tail; i < n; i++) assert_true(isfinite(b[c][i]));
            amp[bad][c] = lt_db(lt_tone_amp(b[c] + n - tail, tail, rate, freq, NULL));
        }
        lt_free(b, 2);
        lathe_proc_free(p);
    }
    for (int c = 0; c < 2; c++)
        if (fabs(amp[1][c] - amp[0][c]) > 0.05)
            fail_msg("%s ch %d: %.3f dB after NaN/inf, %.3f dB without", proc, c, amp[1][c],
                     amp[0][c]);
}

void lt_check_block_sizes(const char *proc, double rate, const char *const *names,
                          const double *vals, int nv, float *const *in, long n)
{
    float **a = lt_alloc(2, n), **b = lt_alloc(2, n);
    for (int c = 0; c < 2; c++) {
        memcpy(a[c], in[c], (size_t)n * sizeof(float));
        memcpy(b[c], in[c], (size_t)n * sizeof(float));
    }
    lathe_proc *pa = lt_proc(proc, rate, 2, names, vals, nv);
    lathe_proc *pb = lt_proc(proc, rate, 2, names, vals, nv);
    lathe_proc_process(pa, a, NULL, n);
    static const int sizes[] = {1, 7, 300, 512, 33, 2, 129};
    long off = 0;
    for (int k = 0; off < n; k = (k + 1) % 7) {
        long m = sizes[k] < n - off ? sizes[k] : n - off;
        float *io[2] = {b[0] + off, b[1] + off};
        lathe_proc_process(pb, io, NULL, m);
        off += m;
    }
    for (int c = 0; c < 2; c++) assert_memory_equal(a[c], b[c], (size_t)n * sizeof(float));
    lathe_proc_free(pa);
    lathe_proc_free(pb);
    lt_free(a, 2);
    lt_free(b, 2);
}

void lt_tech3341_sine(float *x, long n, double div, double amp, double phase_deg)
{
    const long fade = 480;
    for (long i = 0; i < n; i++) {
        double g = i < fade ? (double)i / fade : i >= n - fade ? (double)(n - 1 - i) / fade : 1;
        x[i] = (float)(amp * g * sin(2 * M_PI * (double)i / div + phase_deg * M_PI / 180));
    }
}

void lt_tech3341_burst(float *out, int offset)
{
    const double fs = 48000, fs4 = 4 * fs;
    const long n4 = (long)fs4; /* 1 s at 4 fs */
    double *x = calloc((size_t)n4, sizeof *x);
    if (!x) fail_msg("out of memory");
    double ph = 0;
    const long start = n4 / 2, len = (long)(fs4 / (fs / 4)); /* one period of fs/4 = 16 samples */
    for (long i = 0; i < n4; i++) {
        int burst = i >= start && i < start + len;
        double f = burst ? fs / 4 : fs / 6, amp = burst ? 1.0 : 0.5;
        x[i] = amp * sin(ph);
        ph += 2 * M_PI * f / fs4;
    }
    /* Anti-alias low-pass: Kaiser-windowed sinc, cutoff 21 kHz, 511 taps. */
    const int taps = 511, half = taps / 2;
    double h[511], fc = 21000.0 / fs4, beta = 9, i0b = 0;
    double t0 = 1, q0 = beta * beta / 4;
    for (int k = 1; k < 60; k++) t0 *= q0 / ((double)k * k), i0b += t0;
    i0b += 1;
    for (int k = 0; k < taps; k++) {
        double m = k - half, r = m / half, arg = beta * sqrt(fmax(0, 1 - r * r)), i0 = 1, t = 1;
        for (int j = 1; j < 60; j++) t *= (arg * arg / 4) / ((double)j * j), i0 += t;
        h[k] = (m == 0 ? 2 * fc : sin(2 * M_PI * fc * m) / (M_PI * m)) * i0 / i0b;
    }
    long n = n4 / 4;
    for (long j = 0; j < n; j++) {
        long i = 4 * j + offset;
        double acc = 0;
        for (int k = 0; k < taps; k++) {
            long idx = i - k + half;
            if (idx >= 0 && idx < n4) acc += h[k] * x[idx];
        }
        out[j] = (float)acc;
    }
    free(x);
}

float **lt_load_music(const char *song, double start, double secs, long *n_out)
{
    const char *dir = lt_material_dir();
    if (!dir) return NULL;
    char path[4096 + 512];
    snprintf(path, sizeof path, "%s/music/%s", dir, song);
    lathe_audio_info info;
    lathe_error err = {0};
    lathe_reader *r = lathe_reader_open(path, &info, &err);
    if (!r) return NULL;
    if (info.channels != 2 || lathe_reader_seek(r, (long long)(start * info.rate), &err) != LATHE_OK) {
        lathe_reader_close(r);
        return NULL;
    }
    long n = (long)(secs * info.rate), got = 0;
    float **b = lt_alloc(2, n);
    while (got < n) {
        float *o[2] = {b[0] + got, b[1] + got};
        long k = lathe_reader_read(r, o, n - got, &err);
        if (k <= 0) break;
        got += k;
    }
    lathe_reader_close(r);
    if (got < n) {
        lt_free(b, 2);
        return NULL;
    }
    *n_out = n;
    return b;
}

lt_measured lt_measure_file(const char *path, int keep)
{
    lt_measured m = {0};
    lathe_error err;
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(path, &info, &err);
    if (!r) fail_msg("%s", err.msg);
    m.rate = info.rate, m.channels = info.channels, m.frames = info.frames;
    m.b = lt_alloc(info.channels, (long)info.frames + 1);
    long got = 0;
    while (got < info.frames) {
        float *o[2] = {m.b[0] + got, info.channels > 1 ? m.b[1] + got : NULL};
        long k = lathe_reader_read(r, o, (long)info.frames - got, &err);
        if (k <= 0) break;
        got += k;
    }
    lathe_reader_close(r);
    assert_int_equal(got, info.frames);
    ebur128_state *e = ebur128_init((unsigned)info.channels, (unsigned long)info.rate,
                                    EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    float *il = malloc(sizeof(float) * (size_t)(got + 1) * (size_t)info.channels);
    for (long i = 0; i < got; i++)
        for (int c = 0; c < info.channels; c++) il[i * info.channels + c] = m.b[c][i];
    ebur128_add_frames_float(e, il, (size_t)got);
    ebur128_loudness_global(e, &m.lufs);
    double tp = 0;
    for (int c = 0; c < info.channels; c++) {
        double p;
        ebur128_true_peak(e, (unsigned)c, &p);
        if (p > tp) tp = p;
    }
    m.tp = 20 * log10(tp);
    ebur128_destroy(&e);
    free(il);
    if (!keep) lt_free(m.b, info.channels), m.b = NULL;
    return m;
}
