/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Replays every input that ever broke a fuzz target (fuzz/regress/<target>/)
 * and the committed seed corpus (fuzz/corpus/<target>/) through the same
 * entry functions the libFuzzer binaries run (fuzz/fuzz_<target>.c), without
 * libFuzzer.  An input that still breaks a parser aborts (a contract check in
 * the entry function) or trips ASan/UBSan/LeakSanitizer in the sanitizer run.
 * docs/fuzzing.md says how inputs get here. */
#include "lathe_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

typedef int (*entry_fn)(const uint8_t *, size_t);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs fn on every regular file in SOURCE/fuzz/<kind>/<target>/ in name
 * order (dot files and README* skipped); returns how many. */
static int replay(const char *kind, const char *target, entry_fn fn)
{
    const char *src = getenv("LATHE_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fuzz/%s/%s", src ? src : ".", kind, target);
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    char **names = NULL;
    int n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(dp));) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, (size_t)cap * sizeof *names);
            assert_non_null(names);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(dp);
    if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f) fail_msg("%s: cannot open", path);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
        assert_non_null(buf);
        if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len) fail_msg("%s: short read", path);
        fclose(f);
        /* exactly len bytes, no NUL after them, as libFuzzer passes an input */
        assert_int_equal(fn(buf, (size_t)len), 0);
        free(buf);
        free(names[i]);
    }
    free(names);
    return n;
}

static void run(const char *target, entry_fn fn)
{
    int r = replay("regress", target, fn);
    int c = replay("corpus", target, fn);
    print_message("fuzz %s: %d regression inputs, %d corpus inputs replayed\n", target, r, c);
    /* the seed corpus is committed: an empty one means a broken checkout */
    assert_true(c > 0);
}

static void fuzz_regress_session(void **s) { (void)s; run("session", lathe_fuzz_session); }
static void fuzz_regress_param(void **s) { (void)s; run("param", lathe_fuzz_param); }
static void fuzz_regress_audio(void **s) { (void)s; run("audio", lathe_fuzz_audio); }
static void fuzz_regress_album(void **s) { (void)s; run("album", lathe_fuzz_album); }
static void fuzz_regress_chain(void **s) { (void)s; run("chain", lathe_fuzz_chain); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fuzz_regress_session), cmocka_unit_test(fuzz_regress_param),
        cmocka_unit_test(fuzz_regress_audio),   cmocka_unit_test(fuzz_regress_album),
        cmocka_unit_test(fuzz_regress_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
