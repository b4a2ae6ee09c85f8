/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/lathe.h: the umbrella header of liblathe, a mixing and mastering
 * engine.  See README.md for a tour and each header for its conventions. */
#ifndef LATHE_H
#define LATHE_H

#include "lathe/analysis.h"
#include "lathe/engine.h"
#include "lathe/error.h"
#include "lathe/io.h"
#include "lathe/param.h"
#include "lathe/proc.h"
#include "lathe/session.h"
#include "lathe/targets.h"

#endif
