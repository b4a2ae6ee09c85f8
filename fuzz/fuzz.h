/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz/fuzz.h: the entry functions of the fuzz targets (docs/fuzzing.md).
 *
 * Each lathe_fuzz_<target> takes one input and returns 0; a bug shows as a
 * sanitizer report or an abort.  The same functions run under libFuzzer
 * (fuzz/libfuzzer_main.c, one binary per target) and in the regression test
 * tests/unit/test_fuzz_regress.c, which replays fuzz/regress/<target>/ and
 * fuzz/corpus/<target>/ without libFuzzer. */
#ifndef LATHE_FUZZ_H
#define LATHE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "lathe/session.h"

int lathe_fuzz_session(const uint8_t *data, size_t size); /* lathe_session_parse */
int lathe_fuzz_param(const uint8_t *data, size_t size);   /* lathe_param_parse & co. */
int lathe_fuzz_audio(const uint8_t *data, size_t size);   /* lathe_reader_* + analyzer */
int lathe_fuzz_album(const uint8_t *data, size_t size);   /* lathe_album_parse */
int lathe_fuzz_chain(const uint8_t *data, size_t size);   /* lathe_chain_file_parse */

/* The work folder ($TMPDIR or /tmp, "lathe-fuzz-<uid>"), made on the first
 * call with the tiny files the seed inputs name (kick.wav, bass.wav,
 * vocal.wav, ir.wav, song1.wav, song2.flac, long.wav, song.yaml,
 * chain.yaml) and kept between runs (about 1.1 MB).  Inputs are only ever
 * written to one file in it (the audio target's "input-<pid>", removed
 * after each input); nothing a fuzz input says can create or write a file.
 * Aborts when the folder cannot be made (a run without it tests nothing). */
const char *lathe_fuzz_dir(void);

/* dir/name into buf (which holds len bytes); returns buf. */
const char *lathe_fuzz_path(char *buf, size_t len, const char *name);

/* Diagnostics sanity: every entry formats, and has a message. Frees d. */
void lathe_fuzz_check_diags(lathe_diags *d);

#endif
