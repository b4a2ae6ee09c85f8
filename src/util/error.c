/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Error records: a status code plus a message a user can act on. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lathe/error.h"

lathe_status lathe_error_set(lathe_error *err, lathe_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void lathe_error_prefix(lathe_error *err, const char *prefix)
{
    if (!err || !prefix) return;
    char tmp[LATHE_ERROR_MAX];
    size_t n = strlen(prefix);
    if (n > sizeof tmp - 3) n = sizeof tmp - 3;
    memcpy(tmp, prefix, n);
    tmp[n] = ':', tmp[n + 1] = ' ';
    size_t m = strlen(err->msg);
    if (m > sizeof tmp - n - 3) m = sizeof tmp - n - 3;
    memcpy(tmp + n + 2, err->msg, m);
    tmp[n + 2 + m] = '\0';
    memcpy(err->msg, tmp, sizeof tmp);
}

void lathe_error_clear(lathe_error *err)
{
    if (!err) return;
    err->code = LATHE_OK;
    err->msg[0] = '\0';
}

const char *lathe_status_str(lathe_status code)
{
    switch (code) {
    case LATHE_OK: return "ok";
    case LATHE_E_IO: return "i/o error";
    case LATHE_E_FORMAT: return "bad format";
    case LATHE_E_INVALID: return "invalid value";
    case LATHE_E_RANGE: return "out of range";
    case LATHE_E_NOMEM: return "out of memory";
    case LATHE_E_EXISTS: return "output exists";
    case LATHE_E_SAME: return "output is an input";
    case LATHE_E_DATA: return "bad sample data";
    case LATHE_E_CANCELLED: return "interrupted";
    case LATHE_E_CREATE: return "output cannot be created";
    }
    return "unknown error";
}
