/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Times as written in sessions: seconds ("12.5", "12.5 s", "500 ms"),
 * clock times ("1:30", "1:30.250", "1:02:03.5") and bars|beats ("33|1",
 * "33|2.5", 1-based, at the session's tempo and meter). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/param.h"
#include "lathe/session.h"

#define HINT "write e.g. 12.5 s, 500 ms, 1:30.250 or 33|1"

/* A non-negative decimal number filling [s, end): digits with an optional
 * fraction, nothing else. Returns -1 when it is not one. */
static double plain_number(const char *s, const char *end, int allow_fraction) {
    const char *p = s;
    int digits = 0, dot = 0;
    for (; p < end; p++) {
        if (isdigit((unsigned char)*p))
            digits++;
        else if (*p == '.' && allow_fraction && !dot)
            dot = 1;
        else
            return -1;
    }
    if (!digits) return -1;
    char buf[64];
    size_t n = (size_t)(end - s);
    if (n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return strtod(buf, NULL);
}

lathe_status lathe_time_parse(const char *text, double tempo_bpm, int beats_per_bar,
                              double *seconds, lathe_error *err) {
    const char *s = text ? text : "";
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    const char *e = s + n;
    if (n == 0) return lathe_error_set(err, LATHE_E_INVALID, "empty time (" HINT ")");

    const char *bar = memchr(s, '|', n);
    if (bar) {
        double b = plain_number(s, bar, 0), beat = plain_number(bar + 1, e, 1);
        if (b < 0 || beat < 0)
            return lathe_error_set(err, LATHE_E_INVALID,
                                   "'%s' is not a time (bars|beats: write e.g. 33|1 or 33|2.5)",
                                   text);
        if (b < 1 || beat < 1)
            return lathe_error_set(
                err, LATHE_E_INVALID,
                "'%s' is not a time (bars and beats count from 1: 1|1 is the start)", text);
        if (beat >= beats_per_bar + 1)
            return lathe_error_set(err, LATHE_E_INVALID,
                                   "'%s' is not a time (a bar has %d beats: beat is 1 to below %d)",
                                   text, beats_per_bar, beats_per_bar + 1);
        if (!(tempo_bpm > 0))
            return lathe_error_set(err, LATHE_E_INVALID, "'%s': bars|beats need a tempo", text);
        *seconds = ((b - 1) * beats_per_bar + (beat - 1)) * 60.0 / tempo_bpm;
        return LATHE_OK;
    }

    const char *c1 = memchr(s, ':', n);
    if (c1) {
        const char *c2 = memchr(c1 + 1, ':', (size_t)(e - c1 - 1));
        double h = 0, m, sec;
        const char *sec_start;
        if (c2) {
            h = plain_number(s, c1, 0);
            m = plain_number(c1 + 1, c2, 0);
            sec_start = c2 + 1;
            if (m >= 60)
                return lathe_error_set(err, LATHE_E_INVALID,
                                       "'%s' is not a time (minutes must be below 60)", text);
        } else {
            m = plain_number(s, c1, 0);
            sec_start = c1 + 1;
        }
        sec = plain_number(sec_start, e, 1);
        /* seconds are written with two digits: 1:05, not 1:5 */
        int two = (e - sec_start >= 2) && isdigit((unsigned char)sec_start[0]) &&
                  isdigit((unsigned char)sec_start[1]) &&
                  (e - sec_start == 2 || sec_start[2] == '.');
        if (h < 0 || m < 0 || sec < 0 || !two)
            return lathe_error_set(err, LATHE_E_INVALID,
                                   "'%s' is not a time (m:ss: write e.g. 1:30 or 1:30.250)", text);
        if (sec >= 60)
            return lathe_error_set(err, LATHE_E_INVALID,
                                   "'%s' is not a time (seconds must be below 60)", text);
        *seconds = h * 3600 + m * 60 + sec;
        return LATHE_OK;
    }

    lathe_param_ctx ctx = {tempo_bpm};
    double v;
    lathe_error e2;
    if (lathe_value_parse(text, "s", &ctx, &v, &e2) != LATHE_OK || !isfinite(v))
        return lathe_error_set(err, LATHE_E_INVALID, "'%s' is not a time (" HINT ")", text);
    if (v < 0)
        return lathe_error_set(err, LATHE_E_INVALID, "'%s' is before the start (times are >= 0)",
                               text);
    *seconds = v;
    return LATHE_OK;
}
