/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe clean IN -o OUT [--denoise [AMOUNT]] [--noise-profile auto|START-END|FILE]
 *                 [--dehum auto|50|60] [--declick] [--declip] [--report FILE.html]
 *                 [--force] [--quiet]
 * Restoration: a direct reader -> processors -> writer loop (memory flat
 * with duration).  The chain is declip -> declick -> dehum -> denoise.
 * A noise profile from a range or a noise-only file is measured in a first
 * pass into a temporary profile file, which denoise reads through its
 * `profile` string param; `auto` leaves denoise to minimum statistics
 * (docs/clean.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dsp/restore.h"
#include "lathe/io.h"
#include "lathe/param.h"
#include "lathe/proc.h"
#include "lathe/report.h"

static const char use[] =
    "usage: lathe clean IN -o OUT [--denoise [AMOUNT]] [--noise-profile auto|START-END|FILE]\n"
    "                   [--dehum auto|50|60] [--declick] [--declip] [--report FILE.html]\n"
    "                   [--force] [--quiet]\n";

static const char help[] =
    "\n"
    "Restoration: noise reduction, hum removal, click removal, clipped-peak repair.\n"
    "At least one of --denoise, --dehum, --declick, --declip. The chain runs in the\n"
    "order declip, declick, dehum, denoise; the output has the input's length.\n"
    "\n"
    "  -o OUT                  output file (WAV float, FLAC 24, AIFF, ...; by extension)\n"
    "  --denoise [AMOUNT]      spectral noise reduction, largest reduction AMOUNT dB (12)\n"
    "  --noise-profile P       auto (default: minimum statistics while playing),\n"
    "                          START-END (a noise-only stretch of IN, in s or m:ss),\n"
    "                          or FILE (a noise-only recording at IN's rate)\n"
    "  --dehum auto|50|60      remove mains hum and its harmonics (auto: 50 or 60 found)\n"
    "  --declick               remove clicks up to 2 ms\n"
    "  --declip                rebuild clipped peaks (the output is 6 dB lower to fit them)\n"
    "  --report FILE.html      before/after report: loudness, waveform, spectrum, levels\n"
    "  --force                 replace OUT (and the report) if it exists (never the input)\n"
    "  --quiet                 no summary\n";

#define BLOCK 4096
#define MAXPROC 4

/* "90", "1:30", "1:02.5" (in [s, end)) -> seconds; -1 when not a time */
static double parse_time(const char *s, const char *end) {
    double v = 0;
    const char *p = s;
    if (p >= end) return -1;
    for (;;) {
        char *q;
        errno = 0;
        double part = strtod(p, &q);
        if (q == p || errno || part < 0 || q > end) return -1;
        v = v * 60 + part;
        if (q == end) return v;
        if (*q != ':') return -1;
        p = q + 1;
    }
}

static int parse_range(const char *s, double *a, double *b) {
    const char *dash = strchr(s, '-');
    if (!dash || dash == s) return 0;
    *a = parse_time(s, dash);
    *b = parse_time(dash + 1, dash + strlen(dash));
    return *a >= 0 && *b > *a;
}

static int is_number(const char *s) {
    char *e;
    if (!s || !*s) return 0;
    strtod(s, &e);
    return *e == 0 || !strcmp(e, " dB") || !strcmp(e, "dB");
}

/* Measures a noise profile of frames [f0, f1) of `path` (all of it when
 * f1 < 0) into `out`; rate must match. */
static int measure_profile(const char *path, double rate, long long f0, long long f1,
                           const char *out, const char *what) {
    lathe_error err = {0};
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(path, &info, &err);
    if (!r) {
        cli_error("%s", err.msg);
        return cli_exit_for_input(err.code);
    }
    if (info.rate != rate) {
        cli_error("%s: noise profile at %g Hz, the input is at %g Hz", path, info.rate, rate);
        lathe_reader_close(r);
        return EXIT_DATAERR;
    }
    if (f1 >= 0 && info.frames >= 0 && f1 > info.frames) {
        cli_error("%s: noise range %s ends after the end of the file (%.2f s)", path, what,
                  info.frames / rate);
        lathe_reader_close(r);
        return EXIT_USAGE;
    }
    if (f0 > 0 && lathe_reader_seek(r, f0, &err) != LATHE_OK) {
        cli_error("%s", err.msg);
        lathe_reader_close(r);
        return cli_exit_for_input(err.code);
    }
    lathe_noise_profile *p = lathe_noise_profile_new(rate, info.channels);
    float *buf[LATHE_MAX_CHANNELS];
    for (int c = 0; c < info.channels; c++) buf[c] = malloc(sizeof(float) * BLOCK);
    long long left = f1 >= 0 ? f1 - f0 : -1;
    int rc = EXIT_OK;
    for (;;) {
        long want = BLOCK;
        if (left >= 0 && left < want) want = (long)left;
        if (want == 0) break;
        long k = lathe_reader_read(r, buf, want, &err);
        if (k < 0) {
            cli_error("%s", err.msg);
            rc = cli_exit_for_input(err.code);
            break;
        }
        if (k == 0) break;
        lathe_noise_profile_add(p, (const float *const *)buf, k);
        if (left >= 0) left -= k;
    }
    if (rc == EXIT_OK && lathe_noise_profile_frames(p) < 4) {
        cli_error("%s: the noise %s is too short for a profile (at least %.2f s)", path, what,
                  (lathe_denoise_fft_size(rate) * 1.75) / rate);
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK && lathe_noise_profile_save(p, out, &err) != LATHE_OK) {
        cli_error("%s", err.msg);
        rc = EXIT_IOERR;
    }
    lathe_noise_profile_free(p);
    for (int c = 0; c < info.channels; c++) free(buf[c]);
    lathe_reader_close(r);
    return rc;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int cmd_clean(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *profile_arg = "auto", *dehum_arg = NULL, *report = NULL;
    double amount = NAN;
    int denoise = 0, declick = 0, declip = 0, force = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(use, stdout);
            fputs(help, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i >= argc) return cli_usage_error("clean", use, "-o needs a file");
            out = argv[i];
        } else if (!strcmp(a, "--denoise") || !strncmp(a, "--denoise=", 10)) {
            denoise = 1;
            const char *v = a[9] == '=' ? a + 10 : (i + 1 < argc && is_number(argv[i + 1]) ? argv[++i] : NULL);
            if (v) {
                const lathe_proc_desc *d = lathe_processor_find("denoise");
                const lathe_param_desc *pd = &d->params[lathe_proc_param_index(d, "amount")];
                lathe_error err = {0};
                if (lathe_param_parse(pd, v, NULL, &amount, &err) != LATHE_OK)
                    return cli_usage_error("clean", use, "--denoise %s", err.msg);
            }
        } else if (!strcmp(a, "--noise-profile")) {
            if (++i >= argc) return cli_usage_error("clean", use, "--noise-profile needs auto, START-END or a file");
            profile_arg = argv[i];
        } else if (!strcmp(a, "--dehum")) {
            if (++i >= argc) return cli_usage_error("clean", use, "--dehum needs auto, 50 or 60");
            dehum_arg = argv[i];
            if (strcmp(dehum_arg, "auto") && strcmp(dehum_arg, "50") && strcmp(dehum_arg, "60"))
                return cli_usage_error("clean", use, "--dehum: '%s' is not auto, 50 or 60", dehum_arg);
        } else if (!strcmp(a, "--report")) {
            if (++i >= argc) return cli_usage_error("clean", use, "--report needs a .html file");
            report = argv[i];
            size_t L = strlen(report);
            if (L < 5 || (strcmp(report + L - 5, ".html") && strcmp(report + L - 4, ".htm")))
                return cli_usage_error("clean", use, "--report wants a .html file, not '%s'", report);
        } else if (!strcmp(a, "--declick")) {
            declick = 1;
        } else if (!strcmp(a, "--declip")) {
            declip = 1;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("clean", use, "unknown option '%s'", a);
        } else if (!in) {
            in = a;
        } else {
            return cli_usage_error("clean", use, "one input only ('%s' is extra)", a);
        }
    }
    if (!in) return cli_usage_error("clean", use, "no input file");
    if (!out) return cli_usage_error("clean", use, "no output file (-o OUT)");
    if (!denoise && !dehum_arg && !declick && !declip)
        return cli_usage_error("clean", use, "nothing to do: give --denoise, --dehum, --declick or --declip");
    if (strcmp(profile_arg, "auto") && !denoise)
        return cli_usage_error("clean", use, "--noise-profile without --denoise");

    lathe_error err = {0};
    lathe_status st = lathe_output_check(out, &in, 1, force, &err);
    if (st != LATHE_OK) {
        cli_error("%s", err.msg);
        return cli_exit_for_output(st);
    }
    if (report) {
        const char *both[2] = {in, out};
        st = lathe_output_check(report, both, 2, force, &err);
        if (st != LATHE_OK) {
            cli_error("%s", err.msg);
            return cli_exit_for_output(st);
        }
    }
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(in, &info, &err);
    if (!r) {
        cli_error("%s", err.msg);
        return cli_exit_for_input(err.code);
    }
    const double rate = info.rate;
    const int ch = info.channels;
    /* the report: analysis and series of the input and of the output */
    lathe_analyzer *an[2] = {NULL, NULL};
    lathe_series *se[2] = {NULL, NULL};
    if (report) {
        for (int k = 0; k < 2; k++) {
            an[k] = lathe_analyzer_new(rate, ch, &err);
            se[k] = an[k] ? lathe_series_new(rate, ch, &err) : NULL;
            if (!se[k]) {
                cli_error("%s: %s", in, err.msg);
                for (int j = 0; j <= k; j++) {
                    lathe_analyzer_free(an[j]);
                    lathe_series_free(se[j]);
                }
                lathe_reader_close(r);
                return EXIT_FAIL;
            }
        }
    }

    /* noise profile: first pass into a temporary file */
    char prof[64] = "";
    const char *profile_desc = "minimum statistics (auto)";
    char pdesc[1200];
    int rc = EXIT_OK;
    if (denoise && strcmp(profile_arg, "auto")) {
        const char *tmp = getenv("TMPDIR");
        snprintf(prof, sizeof prof, "%s/lathe-noise-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        int fd = mkstemp(prof);
        if (fd < 0) {
            cli_error("%s: %s", prof, strerror(errno));
            lathe_reader_close(r);
            return EXIT_IOERR;
        }
        close(fd);
        struct stat sb;
        double t0, t1;
        if (stat(profile_arg, &sb) == 0 && S_ISREG(sb.st_mode)) {
            rc = measure_profile(profile_arg, rate, 0, -1, prof, "file");
            snprintf(pdesc, sizeof pdesc, "noise-only file %s", profile_arg);
        } else if (parse_range(profile_arg, &t0, &t1)) {
            rc = measure_profile(in, rate, llround(t0 * rate), llround(t1 * rate), prof, "range");
            snprintf(pdesc, sizeof pdesc, "%s from %.2f s to %.2f s", in, t0, t1);
        } else {
            cli_error("--noise-profile: '%s' is neither auto, a range START-END nor a file", profile_arg);
            rc = EXIT_USAGE;
        }
        profile_desc = pdesc;
        if (rc != EXIT_OK) {
            unlink(prof);
            lathe_reader_close(r);
            return rc;
        }
    }

    /* the chain */
    lathe_proc *procs[MAXPROC];
    const char *pname[MAXPROC];
    int np = 0;
    if (declip) {
        pname[np] = "declip";
        procs[np++] = lathe_proc_new(lathe_processor_find("declip"), rate, ch, BLOCK, NULL, NULL, 0, &err);
    }
    if (declick && (np == 0 || procs[np - 1])) {
        pname[np] = "declick";
        procs[np++] = lathe_proc_new(lathe_processor_find("declick"), rate, ch, BLOCK, NULL, NULL, 0, &err);
    }
    if (dehum_arg && (np == 0 || procs[np - 1])) {
        const lathe_proc_desc *d = lathe_processor_find("dehum");
        int idx = lathe_proc_param_index(d, "mains");
        double v = !strcmp(dehum_arg, "50") ? 1 : !strcmp(dehum_arg, "60") ? 2 : 0;
        pname[np] = "dehum";
        procs[np++] = lathe_proc_new_with(d, rate, ch, BLOCK, &idx, &v, 1, &err);
    }
    if (denoise && (np == 0 || procs[np - 1])) {
        const lathe_proc_desc *d = lathe_processor_find("denoise");
        int idx = lathe_proc_param_index(d, "amount");
        const char *sn[1] = {"profile"}, *sv[1] = {prof};
        pname[np] = "denoise";
        procs[np++] = lathe_proc_new_full(d, rate, ch, BLOCK, &idx, &amount, isnan(amount) ? 0 : 1,
                                          sn, sv, prof[0] ? 1 : 0, &err);
    }
    if (prof[0]) unlink(prof); /* read by denoise's init */
    int latency = 0;
    for (int i = 0; i < np; i++) {
        if (!procs[i]) {
            cli_error("%s: %s", in, err.msg);
            for (int j = 0; j < i; j++) lathe_proc_free(procs[j]);
            lathe_reader_close(r);
            return EXIT_FAIL;
        }
        latency += lathe_proc_latency(procs[i]);
    }

    lathe_writer_spec spec = {lathe_file_type_from_path(out), LATHE_SAMPLE_AUTO, rate, ch, force};
    lathe_writer *w = lathe_writer_open(out, &spec, &err);
    if (!w) {
        cli_error("%s", err.msg);
        for (int j = 0; j < np; j++) lathe_proc_free(procs[j]);
        lathe_reader_close(r);
        return cli_exit_for_output(err.code);
    }
    float *buf[LATHE_MAX_CHANNELS];
    for (int c = 0; c < ch; c++) buf[c] = malloc(sizeof(float) * BLOCK);
    double t_start = now_s();
    long long in_frames = 0, written = 0, skip = latency, flush = latency;
    int eof = 0;
    while (rc == EXIT_OK) {
        long k = 0;
        if (!eof) {
            k = lathe_reader_read(r, buf, BLOCK, &err);
            if (k < 0) {
                cli_error("%s", err.msg);
                rc = cli_exit_for_input(err.code);
                break;
            }
            if (k == 0) eof = 1;
            in_frames += k;
            if (report && k > 0) {
                lathe_analyzer_add(an[0], (const float *const *)buf, k);
                lathe_series_add(se[0], (const float *const *)buf, k);
            }
        }
        if (eof) { /* push the chain's latency out with silence */
            if (flush == 0) break;
            k = flush < BLOCK ? (long)flush : BLOCK;
            for (int c = 0; c < ch; c++) memset(buf[c], 0, sizeof(float) * (size_t)k);
            flush -= k;
        }
        for (int i = 0; i < np; i++) lathe_proc_process(procs[i], buf, NULL, k);
        long off = 0;
        if (skip > 0) {
            off = skip < k ? (long)skip : k;
            skip -= off;
        }
        long m = k - off;
        if (written + m > in_frames) m = (long)(in_frames - written);
        if (m > 0) {
            const float *o[LATHE_MAX_CHANNELS];
            for (int c = 0; c < ch; c++) o[c] = buf[c] + off;
            if (lathe_writer_write(w, o, m, &err) != LATHE_OK) {
                cli_error("%s", err.msg);
                rc = EXIT_IOERR;
                break;
            }
            if (report) {
                lathe_analyzer_add(an[1], o, m);
                lathe_series_add(se[1], o, m);
            }
            written += m;
        }
    }
    double elapsed = now_s() - t_start;
    long long clipped = lathe_writer_clipped(w);
    if (rc == EXIT_OK) {
        if (lathe_writer_commit(w, &err) != LATHE_OK) {
            cli_error("%s", err.msg);
            rc = EXIT_IOERR;
        }
    } else {
        lathe_writer_abort(w);
    }
    if (rc == EXIT_OK && report) {
        lathe_analysis a[2];
        for (int k = 0; k < 2; k++) {
            lathe_series_finish(se[k]);
            lathe_analyzer_result(an[k], &a[k]);
        }
        char title[1100], text[600];
        snprintf(title, sizeof title, "lathe clean: %s", in);
        lathe_report *rp = lathe_report_new(title, &err);
        st = rp ? LATHE_OK : err.code;
        if (rp) {
            int len = snprintf(text, sizeof text, "Chain:");
            for (int i = 0; i < np && len < (int)sizeof text; i++)
                len += snprintf(text + len, sizeof text - (size_t)len, "%s %s", i ? "," : "", pname[i]);
            if (denoise && len < (int)sizeof text)
                snprintf(text + len, sizeof text - (size_t)len, ". Noise profile: %s.", profile_desc);
            lathe_report_part(rp, in);
            lathe_report_text(rp, text);
            st = lathe_report_add_comparison(rp, out, &a[0], se[0], &a[1], se[1], &err);
            if (st == LATHE_OK) st = lathe_report_write(rp, report, force, &err);
            lathe_report_free(rp);
        }
        lathe_report_release_caches(); /* cairo's font faces: as mix, master and album do */
        if (st != LATHE_OK) {
            cli_error("%s", err.msg);
            rc = cli_exit_for_output(st);
        }
    }
    for (int k = 0; k < 2; k++) {
        lathe_analyzer_free(an[k]);
        lathe_series_free(se[k]);
    }
    if (rc == EXIT_OK && !quiet) {
        printf("%s -> %s: %.2f s, %d channel%s at %g Hz, %.1fx realtime\n", in, out,
               written / rate, ch, ch == 1 ? "" : "s", rate, elapsed > 0 ? written / rate / elapsed : 0.0);
        for (int i = 0; i < np; i++) {
            printf("  %-8s", pname[i]);
            if (!strcmp(pname[i], "denoise"))
                printf(" amount %.0f dB, noise profile: %s", isnan(amount) ? 12.0 : amount, profile_desc);
            else if (!strcmp(pname[i], "dehum"))
                printf(" mains %s%s", dehum_arg, strcmp(dehum_arg, "auto") ? " Hz" : " (50 or 60 Hz)");
            else if (!strcmp(pname[i], "declip"))
                printf(" output 6 dB lower (headroom for the rebuilt peaks)");
            else
                printf(" clicks up to 2 ms");
            printf(", latency %d frames (compensated)\n", lathe_proc_latency(procs[i]));
        }
        if (clipped > 0) printf("  warning: %lld samples clipped in the output\n", clipped);
        if (report) printf("  report: %s\n", report);
    }
    for (int c = 0; c < ch; c++) free(buf[c]);
    for (int j = 0; j < np; j++) lathe_proc_free(procs[j]);
    lathe_reader_close(r);
    return rc;
}
