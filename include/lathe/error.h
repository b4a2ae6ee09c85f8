/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/error.h: status codes and the error record every fallible call fills.
 *
 * Conventions for the whole library: a fallible function returns a
 * lathe_status (LATHE_OK == 0, negative on failure) and, when it fails,
 * writes a message a user can act on into the caller's lathe_error (which
 * may be NULL when the caller does not want the text).  The library never
 * prints and never exits. */
#ifndef LATHE_ERROR_H
#define LATHE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LATHE_OK = 0,
    LATHE_E_IO = -1,      /* file cannot be opened, read or written */
    LATHE_E_FORMAT = -2,  /* file is not audio, or is malformed */
    LATHE_E_INVALID = -3, /* argument, value or text is invalid */
    LATHE_E_RANGE = -4,   /* value out of its range */
    LATHE_E_NOMEM = -5,   /* allocation failed */
    LATHE_E_EXISTS = -6,  /* output exists and overwrite was not allowed */
    LATHE_E_SAME = -7,    /* output path is one of the inputs */
    LATHE_E_DATA = -8     /* sample data is bad (NaN, Inf) */
} lathe_status;

#define LATHE_ERROR_MAX 1024

typedef struct {
    lathe_status code;
    char msg[LATHE_ERROR_MAX];
} lathe_error;

/* Fills err (if not NULL) with code and a printf-style message; returns code. */
lathe_status lathe_error_set(lathe_error *err, lathe_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefixes the existing message with "prefix: " (e.g. a file name). */
void lathe_error_prefix(lathe_error *err, const char *prefix);

/* Clears err to LATHE_OK with an empty message. NULL-safe. */
void lathe_error_clear(lathe_error *err);

/* A short fixed text for a status code ("i/o error", ...). Never NULL. */
const char *lathe_status_str(lathe_status code);

#ifdef __cplusplus
}
#endif
#endif
