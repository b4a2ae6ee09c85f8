/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `lathe processors`: the generated docs/processors.md is current, every
 * processor is listed and described, --json carries every parameter, and an
 * unknown name is an error that lists the real ones. */
#include "lathe_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/proc.h"

static char *slurp_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    s[fread(s, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return s;
}

static void processors_docs_are_not_stale(void **s)
{
    (void)s;
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/processors.md", getenv("LATHE_SOURCE_DIR"));
    char *doc = slurp_file(path);
    if (!doc) fail_msg("%s is missing: run `make docs`", path);
    lt_run_result r = lt_run("'%s' processors --markdown", lt_lathe_exe());
    assert_int_equal(r.status, 0);
    if (strcmp(r.out, doc) != 0)
        fail_msg("docs/processors.md is stale: run `make docs` and commit it");
    lt_run_free(&r);
    free(doc);
}

static void processors_lists_every_descriptor(void **s)
{
    (void)s;
    int n;
    const lathe_proc_desc *const *t = lathe_processors(&n);
    assert_true(n >= 12);
    lt_run_result r = lt_run("'%s' processors", lt_lathe_exe());
    assert_int_equal(r.status, 0);
    lt_run_result j = lt_run("'%s' processors --json", lt_lathe_exe());
    assert_int_equal(j.status, 0);
    for (int i = 0; i < n; i++) {
        char line[64];
        snprintf(line, sizeof line, "  %-12s ", t[i]->name);
        if (!strstr(r.out, line)) fail_msg("'%s' missing from the listing", t[i]->name);
        assert_true(strlen(t[i]->doc) > 40);
        for (int k = 0; k < t[i]->nparams; k++) {
            char key[160];
            snprintf(key, sizeof key, "\"name\": \"%s\"", t[i]->params[k].name);
            if (!strstr(j.out, key)) fail_msg("%s.%s missing from --json", t[i]->name,
                                              t[i]->params[k].name);
            assert_true(t[i]->params[k].doc && strlen(t[i]->params[k].doc) > 3);
        }
    }
    lt_run_free(&r);
    lt_run_free(&j);
}

static void processors_unknown_name_lists_the_real_ones(void **s)
{
    (void)s;
    lt_run_result r = lt_run("'%s' processors compresor", lt_lathe_exe());
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "lathe: no processor 'compresor' (there are: gain, eq, "));
    lt_run_free(&r);
    r = lt_run("'%s' processors limiter", lt_lathe_exe());
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "ceiling"));
    assert_non_null(strstr(r.out, "-20 dB to 0 dB"));
    lt_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(processors_docs_are_not_stale),
        cmocka_unit_test(processors_lists_every_descriptor),
        cmocka_unit_test(processors_unknown_name_lists_the_real_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
