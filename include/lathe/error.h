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
    LATHE_E_DATA = -8,    /* sample data is bad (NaN, Inf) */
    LATHE_E_CANCELLED = -9, /* lathe_cancel_request() was called (a signal): "interrupted" */
    LATHE_E_CREATE = -10  /* output cannot be created: its folder is missing or not writable */
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

/* ---- cancellation (src/util/cancel.c) ----
 *
 * Cooperative: a request sets one process-wide flag, and the chokepoints of
 * every render (lathe_reader_read, lathe_writer_write) then fail with
 * LATHE_E_CANCELLED ("interrupted"), so a render unwinds through its normal
 * error path, which removes its temporary files.  Nothing is ever left
 * half-written under a final name.  The flag is the one piece of global
 * state in the library: a signal handler has nowhere else to put it. */

/* Requests cancellation of every render in the process; sig is the cause
 * (SIGINT, SIGTERM, or any nonzero number). Async-signal-safe: call it from
 * a signal handler. */
void lathe_cancel_request(int sig);

/* The sig of the first request since the last reset, or 0 when none.
 * Safe from any thread. */
int lathe_cancel_requested(void);

/* Clears the request (for a program that goes on after a cancelled render). */
void lathe_cancel_reset(void);

#ifdef __cplusplus
}
#endif
#endif
