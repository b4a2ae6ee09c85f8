/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe: mixing and mastering from the command line.  Dispatches to one
 * file per subcommand; prints, maps errors to exit codes. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/fpu.h"

static const char usage[] =
    "usage: lathe COMMAND [OPTIONS] ...\n"
    "\n"
    "commands:\n"
    "  analyze FILE... [--json]      loudness (EBU R128), true peak, LRA, PLR, stereo, platforms\n"
    "  mix SESSION.yaml -o MIX.wav   render a multitrack session (--check validates only)\n"
    "  master MIX -o MASTER.wav      master to a loudness target under a true-peak ceiling\n"
    "  album ALBUM.yaml -o OUTDIR    master and sequence an album: songs, album file, CUE, JSON\n"
    "  clean IN -o OUT --denoise ... restoration: noise, hum, clicks, clipped peaks\n"
    "  processors [NAME] [--json]    the processors and their parameters\n"
    "  targets [--json]              loudness targets of platforms and delivery formats\n"
    "  version                       print the version\n"
    "\n"
    "`lathe COMMAND --help` shows a command's options.\n";

/* 128 + the signal that cancelled the run (130 SIGINT, 143 SIGTERM), as a
 * shell reports a process killed by it. */
static int exit_for_cancel(void)
{
    int sig = lathe_cancel_requested();
    return sig > 0 ? 128 + sig : EXIT_FAIL;
}

int cli_exit_for_input(lathe_status st)
{
    switch (st) {
    case LATHE_E_CANCELLED: return exit_for_cancel();
    case LATHE_E_CREATE: return EXIT_CANTCREAT;
    case LATHE_E_IO: return EXIT_NOINPUT;
    case LATHE_E_FORMAT:
    case LATHE_E_DATA:
    case LATHE_E_INVALID:
    case LATHE_E_RANGE: return EXIT_DATAERR;
    default: return EXIT_FAIL;
    }
}

int cli_exit_for_output(lathe_status st)
{
    switch (st) {
    case LATHE_E_CANCELLED: return exit_for_cancel();
    case LATHE_E_EXISTS:
    case LATHE_E_SAME:
    case LATHE_E_CREATE: return EXIT_CANTCREAT;
    case LATHE_E_IO: return EXIT_IOERR;
    case LATHE_E_INVALID: return EXIT_USAGE;
    default: return EXIT_FAIL;
    }
}

static int said_interrupted;

void cli_error(const char *fmt, ...)
{
    /* A cancelled run fails everywhere at once (each file of an analysis, a
     * render and its report): one line says why, whatever the callers add. */
    if (lathe_cancel_requested()) {
        if (!said_interrupted)
            fprintf(stderr, "%slathe:%s interrupted\n", cli_color(stderr, CLI_RED),
                    cli_color(stderr, CLI_RESET));
        said_interrupted = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%slathe:%s ", cli_color(stderr, CLI_RED), cli_color(stderr, CLI_RESET));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *use, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%slathe %s:%s ", cli_color(stderr, CLI_RED), cmd, cli_color(stderr, CLI_RESET));
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n%s", use);
    va_end(ap);
    return EXIT_USAGE;
}

const char *cli_duration(double s, char *buf, size_t len)
{
    int m = (int)(s / 60.0);
    snprintf(buf, len, "%d:%04.1f", m, s - 60.0 * m);
    return buf;
}

const char *cli_db_n(double v, int decimals, char *buf, size_t len)
{
    if (v == -__builtin_inf()) snprintf(buf, len, "-inf");
    else if (v != v) snprintf(buf, len, "n/a");
    else snprintf(buf, len, "%.*f", decimals, v);
    return buf;
}

const char *cli_db(double v, char *buf, size_t len)
{
    return cli_db_n(v, 1, buf, len);
}

static void on_signal(int sig)
{
    lathe_cancel_request(sig); /* async-signal-safe: one atomic store */
}

/* SIGINT and SIGTERM cancel the run cooperatively (lathe_cancel_request):
 * every render stops at its next block and removes its temporary files.
 * SA_RESETHAND: a second signal finds the default action and kills at once.
 * A signal the parent ignores stays ignored (nohup, `cmd &` in a script).
 * SIGXFSZ (a file-size limit, ulimit -f) is ignored, so the write fails
 * with EFBIG and the error path cleans up, instead of a core dump leaving
 * the temporary file behind. */
static void install_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old, sa;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND | SA_RESTART;
        sigaction(sigs[i], &sa, NULL);
    }
    signal(SIGXFSZ, SIG_IGN);
}

static int run(int argc, char **argv);

int main(int argc, char **argv)
{
    lathe_denormals_off();
    install_signals();
    int rc = run(argc, argv);
    /* Cancelled: whatever failed on the way out, the cause is the signal.
     * A run that finished before the signal was seen keeps its result. */
    if (rc != EXIT_OK && lathe_cancel_requested()) {
        cli_error("interrupted");
        rc = exit_for_cancel();
    }
    return rc;
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "analyze") || !strcmp(cmd, "analyse")) return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(cmd, "mix")) return cmd_mix(argc - 1, argv + 1);
    if (!strcmp(cmd, "master")) return cmd_master(argc - 1, argv + 1);
    if (!strcmp(cmd, "album")) return cmd_album(argc - 1, argv + 1);
    if (!strcmp(cmd, "clean")) return cmd_clean(argc - 1, argv + 1);
    if (!strcmp(cmd, "processors")) return cmd_processors(argc - 1, argv + 1);
    if (!strcmp(cmd, "targets")) return cmd_targets(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("lathe %s\n", LATHE_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    cli_error("unknown command '%s'", cmd);
    fputs(usage, stderr);
    return EXIT_USAGE;
}
