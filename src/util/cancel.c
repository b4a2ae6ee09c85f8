/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Cancellation: one flag that a signal handler sets and every render's
 * reads and writes poll (lathe/error.h).
 *
 * The flag is a lock-free atomic int rather than a volatile sig_atomic_t:
 * it is set in a signal handler (C11 7.14.1.1 allows lock-free atomics
 * there) and read from the render's worker threads, where a plain volatile
 * would be a data race.  Relaxed order is enough: the flag carries no other
 * data, and a reader that sees it a block late only stops a block later. */
#include <stdatomic.h>

#include "lathe/error.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "cancellation needs a lock-free atomic int");

static atomic_int cancel_sig;

void lathe_cancel_request(int sig)
{
    int none = 0;
    /* the first cause wins: a SIGTERM after a SIGINT still exits as SIGINT */
    atomic_compare_exchange_strong_explicit(&cancel_sig, &none, sig ? sig : -1,
                                            memory_order_relaxed, memory_order_relaxed);
}

int lathe_cancel_requested(void)
{
    return atomic_load_explicit(&cancel_sig, memory_order_relaxed);
}

void lathe_cancel_reset(void)
{
    atomic_store_explicit(&cancel_sig, 0, memory_order_relaxed);
}
