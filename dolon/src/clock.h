/*
 * clock.h
 *	  The two clocks of dolon's C core.
 *
 * Durations (call times, a tick's own cost, CPU percentages) come from the
 * monotonic clock, which never jumps; what goes on the wire is stamped with
 * the wall clock, so that the server stores when a value was measured.
 */
#ifndef DOLON_CLOCK_H
#define DOLON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
dolon_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t
dolon_wallclock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif							/* DOLON_CLOCK_H */
