/*
 * call_clock.h
 *	  The clock that times @profiler calls (call_clock.c).
 *
 * A call is timed by two readings of this clock around it.  On the virtual
 * machines the project is built on, clock_gettime costs about 42 ns: the
 * two readings were most of what a decorated call adds.  Where the kernel
 * itself keeps time by the processor's time-stamp counter (its clocksource
 * is "tsc": a constant rate, the same on every processor), the counter is
 * read directly, in about half that, and its ticks are turned into
 * nanoseconds only when a duration is read.  Elsewhere a tick is a
 * nanosecond of the monotonic clock.
 */
#ifndef DOLON_CALL_CLOCK_H
#define DOLON_CALL_CLOCK_H

#include <stdint.h>

#include "clock.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <x86intrin.h>
#define DOLON_CALL_CLOCK_HAS_TSC 1
#endif

/* 1 once call_clock_init() chose the time-stamp counter */
extern int	dolon_call_clock_tsc;

static inline int64_t
call_clock_ticks(void)
{
#ifdef DOLON_CALL_CLOCK_HAS_TSC
	if (dolon_call_clock_tsc)
		return (int64_t) __rdtsc();
#endif
	return dolon_monotonic_ns();
}

extern void call_clock_init(void);
extern double call_clock_ns_per_tick(void);
extern const char *call_clock_name(void);

#endif							/* DOLON_CALL_CLOCK_H */
