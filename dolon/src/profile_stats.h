/*
 * profile_stats.h
 *	  The counters of @profiler-decorated functions, and the registry the
 *	  tracer lists them from (profile_stats.c).
 *
 * The decorator (profiler.c) writes these counters on every call and the
 * sender (sender.c) reads them on every tick; neither knows the other.  All
 * reads and writes happen with the GIL held, which is what makes the counts
 * exact across threads without further locking.
 */
#ifndef DOLON_PROFILE_STATS_H
#define DOLON_PROFILE_STATS_H

#include "compat.h"

#include <stdint.h>

#include "call_clock.h"

/* ProfileStats: the counters one profiled name accumulates. */
typedef struct ProfileStats
{
	PyObject_HEAD
	PyObject   *name;			/* qualname with '.' replaced by '_' */
	PyObject   *qualname;		/* registry key */
	uint64_t	hits;			/* calls started */
	int64_t		active;			/* calls running now */
	uint64_t	completed;		/* calls finished (returned or raised) */
	int64_t		total_ticks;	/* summed duration of completed calls, in
								 * ticks of the call clock (call_clock.h) */
	uint64_t	epoch;			/* bumped by a reset; in-flight calls of an
								 * older epoch do not touch the counters */
	int			registered;		/* present in the registry */
} ProfileStats;

/* The three figures a tracer sends per profiled name, in metric order. */
typedef enum ProfileStatistic
{
	PROFILE_HITS = 0,
	PROFILE_ACTIVE = 1,
	PROFILE_AVERAGE = 2
} ProfileStatistic;

/*
 * Every ProfileStats by qualname, one registry per module instance (it lives
 * in the module state).  version changes whenever an entry comes or goes, so
 * that a tracer can tell cheaply when to list the registry again.
 */
typedef struct ProfileRegistry
{
	PyTypeObject *stats_type;	/* dolon._core.ProfileStats */
	PyObject   *by_qualname;	/* dict: qualname -> ProfileStats */
	uint64_t	version;
} ProfileRegistry;

extern int	profile_registry_init(ProfileRegistry *reg, PyObject *module);
extern ProfileStats *profile_registry_get(ProfileRegistry *reg,
										  PyObject *qualname);
extern ProfileStats *profile_registry_rejoin(ProfileRegistry *reg,
											 ProfileStats *s);
extern void profile_registry_reset(ProfileRegistry *reg);

static inline double
profile_stats_average_seconds(const ProfileStats *s)
{
	if (s->completed == 0)
		return 0.0;
	return ((double) s->total_ticks * call_clock_ns_per_tick() /
			(double) s->completed) / 1e9;
}

static inline double
profile_stats_read(const ProfileStats *s, ProfileStatistic which)
{
	switch (which)
	{
		case PROFILE_HITS:
			return (double) s->hits;
		case PROFILE_ACTIVE:
			return (double) s->active;
		case PROFILE_AVERAGE:
			return profile_stats_average_seconds(s);
	}
	return 0.0;
}

#endif							/* DOLON_PROFILE_STATS_H */
