/*
 * profiler.h
 *	  The @profiler wrapper and the statistics it keeps (profiler.c).
 */
#ifndef DOLON_PROFILER_H
#define DOLON_PROFILER_H

#include <stdint.h>

#include "state.h"

/* ProfileStats: the counters one profiled name accumulates. */
typedef struct ProfileStats
{
	PyObject_HEAD
	PyObject   *name;			/* qualname with '.' replaced by '_' */
	PyObject   *qualname;		/* registry key */
	uint64_t	hits;			/* calls started */
	int64_t		active;			/* calls running now */
	uint64_t	completed;		/* calls finished (returned or raised) */
	int64_t		total_ns;		/* summed duration of completed calls */
	uint64_t	epoch;			/* bumped by clear(); in-flight calls of an
								 * older epoch do not touch the counters */
	int			registered;		/* present in the registry dict */
} ProfileStats;

extern int	dolon_registry_version(void);
extern int	dolon_profiler_init_types(PyObject *module, DolonState *st);
extern PyObject *dolon_profile(PyObject *module, PyObject *args);
extern PyObject *dolon_clear(PyObject *module, PyObject *unused);
extern double profile_stats_average_seconds(const ProfileStats *s);

#endif							/* DOLON_PROFILER_H */
