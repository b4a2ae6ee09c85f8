/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The lathe command: shared helpers for its subcommands. */
#ifndef LATHE_CLI_H
#define LATHE_CLI_H

#include <stdio.h>

#include "lathe/error.h"

/* Exit codes (sysexits.h values, so scripts can tell causes apart). */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,      /* anything else */
    EXIT_USAGE = 64,    /* bad command line */
    EXIT_DATAERR = 65,  /* input is not valid audio / session */
    EXIT_NOINPUT = 66,  /* input missing or unreadable */
    EXIT_CANTCREAT = 73,/* output cannot be created (exists, is an input, no folder) */
    EXIT_IOERR = 74     /* error while writing */
};

/* Maps a failed status on an input to an exit code. */
int cli_exit_for_input(lathe_status st);
/* Maps a failed status on an output to an exit code. */
int cli_exit_for_output(lathe_status st);

/* Prints "lathe: MESSAGE" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "lathe CMD: MESSAGE", the command's usage line, and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats seconds as m:ss.s into buf. */
const char *cli_duration(double s, char *buf, size_t len);
/* Formats a level with one decimal (cli_db) or `decimals`, "-inf" for
 * -inf and "n/a" for NaN, into buf. */
const char *cli_db(double v, char *buf, size_t len);
const char *cli_db_n(double v, int decimals, char *buf, size_t len);

/* ---- terminal (term.c) ---- */
typedef enum { CLI_RESET = 0, CLI_RED, CLI_YELLOW, CLI_GREEN, CLI_BOLD, CLI_DIM } cli_colour;
/* Whether f is a terminal that may get colours (not with NO_COLOR or TERM=dumb). */
int cli_use_color(FILE *f);
/* The escape sequence for c, or "" when f gets no colours. */
const char *cli_color(FILE *f, cli_colour c);
/* A progress bar is wanted: not quiet, stderr is a terminal, LATHE_NO_PROGRESS unset. */
int cli_want_progress(int quiet);
/* Draws "WHAT  42% [=====>   ]" on stderr (\r, no newline); _done clears the line. */
void cli_progress(const char *what, double fraction);
void cli_progress_done(void);

int cmd_analyze(int argc, char **argv);
int cmd_processors(int argc, char **argv);
int cmd_targets(int argc, char **argv);
int cmd_mix(int argc, char **argv);
int cmd_master(int argc, char **argv);
int cmd_album(int argc, char **argv);
int cmd_clean(int argc, char **argv);

#endif
