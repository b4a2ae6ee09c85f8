/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Terminal output: colours only on a terminal, never with NO_COLOR
 * (https://no-color.org) or TERM=dumb; the progress bar only on a terminal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

int cli_use_color(FILE *f)
{
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    if (nc && *nc) return 0;
    if (term && strcmp(term, "dumb") == 0) return 0;
    return isatty(fileno(f));
}

const char *cli_color(FILE *f, cli_colour c)
{
    static const char *const codes[] = {"\033[0m", "\033[1;31m", "\033[1;33m", "\033[32m", "\033[1m",
                                        "\033[2m"};
    if (!cli_use_color(f)) return "";
    return codes[c];
}

int cli_want_progress(int quiet)
{
    return !quiet && isatty(STDERR_FILENO) && !getenv("LATHE_NO_PROGRESS");
}

void cli_progress(const char *what, double f)
{
    int w = 40, k = (int)(f * w);
    fprintf(stderr, "\r%-10s %3d%% [", what, (int)(f * 100));
    for (int i = 0; i < w; i++) fputc(i < k ? '=' : (i == k ? '>' : ' '), stderr);
    fputc(']', stderr);
    fflush(stderr);
}

void cli_progress_done(void)
{
    fputs("\r\033[K", stderr);
    fflush(stderr);
}
