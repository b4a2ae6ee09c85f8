/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Cancellation (lathe/error.h): after lathe_cancel_request, reads and
 * writes fail with LATHE_E_CANCELLED ("interrupted"), the first cause is
 * kept, aborting the writer leaves no file, and a reset lets work go on.
 * The signal path itself (handlers, exit codes) is tests/e2e/signals.sh. */
#include "lathe_test.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lathe/io.h"

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

static void cancel_stops_reads_and_writes_and_abort_leaves_nothing(void **state)
{
    (void)state;
    char dir[256], in[512], out[512];
    lt_tmpdir(dir, sizeof dir);
    snprintf(in, sizeof in, "%s/in.wav", dir);
    snprintf(out, sizeof out, "%s/out.wav", dir);
    lathe_error err;
    float **b = lt_alloc(2, 4096);
    lt_sine(b[0], 4096, 48000, 440, 0.5, 0);
    lathe_writer_spec spec = {LATHE_FILE_WAV, LATHE_SAMPLE_PCM16, 48000, 2, 0};
    lathe_writer *w = lathe_writer_open(in, &spec, &err);
    assert_non_null(w);
    assert_int_equal(lathe_writer_write(w, (const float *const *)b, 4096, &err), LATHE_OK);
    assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);

    assert_int_equal(lathe_cancel_requested(), 0);
    lathe_reader *r = lathe_reader_open(in, NULL, &err);
    assert_non_null(r);
    w = lathe_writer_open(out, &spec, &err);
    assert_non_null(w);
    assert_int_equal(lathe_reader_read(r, b, 1024, &err), 1024);
    assert_int_equal(lathe_writer_write(w, (const float *const *)b, 1024, &err), LATHE_OK);

    lathe_cancel_request(SIGINT);
    lathe_cancel_request(SIGTERM); /* the first cause stays */
    assert_int_equal(lathe_cancel_requested(), SIGINT);
    err.code = LATHE_OK;
    assert_int_equal(lathe_reader_read(r, b, 1024, &err), LATHE_E_CANCELLED);
    assert_int_equal(err.code, LATHE_E_CANCELLED);
    assert_string_equal(err.msg, "interrupted");
    assert_int_equal(lathe_writer_write(w, (const float *const *)b, 1024, &err), LATHE_E_CANCELLED);
    assert_string_equal(err.msg, "interrupted");
    assert_string_equal(lathe_status_str(LATHE_E_CANCELLED), "interrupted");
    assert_int_equal(entries(dir), 2); /* in.wav and the writer's temporary */
    lathe_writer_abort(w);
    assert_int_equal(entries(dir), 1);

    lathe_cancel_reset();
    assert_int_equal(lathe_cancel_requested(), 0);
    assert_int_equal(lathe_reader_read(r, b, 1024, &err), 1024); /* goes on where it stopped */
    lathe_reader_close(r);
    lt_free(b, 2);
    lt_rmdir(dir);
}

static void output_check_refuses_a_missing_or_unwritable_folder_first(void **state)
{
    (void)state;
    char dir[256], path[600], want[1300];
    lt_tmpdir(dir, sizeof dir);
    lathe_error err;
    snprintf(path, sizeof path, "%s/nodir/m.wav", dir);
    assert_int_equal(lathe_output_check(path, NULL, 0, 0, &err), LATHE_E_CREATE);
    snprintf(want, sizeof want, "%s: folder %s/nodir does not exist", path, dir);
    assert_string_equal(err.msg, want);
    assert_int_equal(lathe_output_check(dir, NULL, 0, 1, &err), LATHE_E_CREATE);
    snprintf(want, sizeof want, "%s: is a directory", dir);
    assert_string_equal(err.msg, want);
    snprintf(path, sizeof path, "%s/m.wav", dir);
    assert_int_equal(lathe_output_check(path, NULL, 0, 0, &err), LATHE_OK);
    lt_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cancel_stops_reads_and_writes_and_abort_leaves_nothing),
        cmocka_unit_test(output_check_refuses_a_missing_or_unwritable_folder_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
