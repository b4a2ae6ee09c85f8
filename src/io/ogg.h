/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal: deterministic Ogg serial numbers (see ogg.c). */
#ifndef LATHE_IO_OGG_H
#define LATHE_IO_OGG_H

#include <stddef.h>
#include <stdint.h>

#include "lathe/error.h"

/* The Ogg page checksum (RFC 3533) of n bytes. */
uint32_t lathe_ogg_crc(const unsigned char *page, size_t n);

/* Rewrites the serial number of the single logical stream in the Ogg file
 * at path with one derived from its content, and every page's checksum.
 * Files with more than one stream are left alone. Errors name `name`. */
lathe_status lathe_ogg_fix_serial(const char *path, const char *name, lathe_error *err);

#endif
