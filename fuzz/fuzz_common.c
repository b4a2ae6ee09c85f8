/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What every fuzz target shares: the per-process work folder with the tiny
 * audio files that the seed sessions, albums and chains name, so parsing
 * gets past "no such file" into the checks that follow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "lathe/io.h"

static char work[512];

/* name, channels, rate, frames (0 for the text files below) */
static const struct {
    const char *name;
    int channels;
    double rate;
    long frames;
} FILES[] = {
    {"kick.wav", 1, 44100, 441},   {"bass.wav", 1, 44100, 441},    {"vocal.wav", 2, 44100, 441},
    {"ir.wav", 1, 48000, 64},      {"song1.wav", 2, 44100, 4410},  {"song2.flac", 2, 44100, 4410},
    {"long.wav", 2, 44100, 44100 * 5},
};
static const struct {
    const char *name, *text;
} TEXTS[] = {
    {"song.yaml", "lathe: 1\ntracks:\n  - { name: a, file: kick.wav }\n"},
    {"chain.yaml", "limiter: { release: 60 ms }\n"},
};
#define NFILES (sizeof FILES / sizeof FILES[0])
#define NTEXTS (sizeof TEXTS / sizeof TEXTS[0])

const char *lathe_fuzz_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", lathe_fuzz_dir(), name);
    return buf;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "lathe fuzz: %s: %s\n", what, why);
    abort();
}

static void make_audio(const char *name, int channels, double rate, long frames)
{
    char p[600];
    lathe_writer_spec spec = {LATHE_FILE_AUTO, LATHE_SAMPLE_PCM16, rate, channels, 1};
    lathe_error err = {0};
    lathe_writer *w = lathe_writer_open(lathe_fuzz_path(p, sizeof p, name), &spec, &err);
    if (!w) die(p, err.msg);
    float buf[2][441];
    const float *in[2] = {buf[0], buf[1]};
    for (long done = 0; done < frames;) {
        long n = frames - done < 441 ? frames - done : 441;
        for (long i = 0; i < n; i++) /* a quiet square wave: not silence, not clipping */
            buf[0][i] = buf[1][i] = ((done + i) / 50 % 2) ? 0.25f : -0.25f;
        if (lathe_writer_write(w, in, n, &err) != LATHE_OK) die(p, err.msg);
        done += n;
    }
    if (lathe_writer_commit(w, &err) != LATHE_OK) die(p, err.msg);
}

/* Writes text to path through a temporary and a rename, so a process that
 * runs at the same time never sees half a file. */
static void make_text(const char *path, const char *text)
{
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) die(path, "cannot write");
}

const char *lathe_fuzz_dir(void)
{
    if (work[0]) return work;
    /* A session naming /dev/stdin (or "-") must not wait for a terminal. */
    if (!freopen("/dev/null", "rb", stdin)) die("/dev/null", "cannot open");
    /* One folder per user, kept between runs: libFuzzer ends with _Exit, so
     * a per-process folder would be left behind by every run.  Its files
     * never change; only missing ones are made. */
    const char *t = getenv("TMPDIR");
    snprintf(work, sizeof work, "%s/lathe-fuzz-%ld", t && *t ? t : "/tmp", (long)getuid());
    struct stat st;
    if (mkdir(work, 0700) != 0 && errno != EEXIST) die(work, strerror(errno));
    if (lstat(work, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid())
        die(work, "not a folder of this user");
    char p[600];
    for (size_t i = 0; i < NFILES; i++)
        if (access(lathe_fuzz_path(p, sizeof p, FILES[i].name), R_OK) != 0)
            make_audio(FILES[i].name, FILES[i].channels, FILES[i].rate, FILES[i].frames);
    for (size_t i = 0; i < NTEXTS; i++)
        if (access(lathe_fuzz_path(p, sizeof p, TEXTS[i].name), R_OK) != 0)
            make_text(p, TEXTS[i].text);
    return work;
}

void lathe_fuzz_check_diags(lathe_diags *d)
{
    char buf[1200];
    /* LATHE_FUZZ_VERBOSE=1: print them (to see how far a seed gets) */
    const char *verbose = getenv("LATHE_FUZZ_VERBOSE");
    for (int i = 0; i < d->count; i++) {
        lathe_diag_format(d, i, buf, sizeof buf);
        if (verbose && *verbose == '1') fprintf(stderr, "%s\n", buf);
        /* every diagnostic says something, at a place inside the text */
        if (!d->items[i].msg[0] || d->items[i].line < 0 || d->items[i].col < 0) {
            fprintf(stderr, "lathe fuzz: bad diagnostic %d: '%s'\n", i, buf);
            abort();
        }
    }
    if (verbose && *verbose == '1' && d->count == 0) fprintf(stderr, "%s: valid\n", d->file);
    lathe_diags_free(d);
}
