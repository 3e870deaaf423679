/*
 * profiled_steps.h
 *	  What a profiled call returns when the call runs in steps -- its
 *	  coroutine, generator or async generator, wrapped so that the call is
 *	  timed from its first step to its end (profiled_steps.c).
 */
#ifndef DOLON_PROFILED_STEPS_H
#define DOLON_PROFILED_STEPS_H

#include "state.h"

/*
 * What a profiled callable is, as inspect sees what it wraps: this decides
 * what its calls return and so how they are timed.
 */
typedef enum ProfiledKind
{
	PROFILED_FUNCTION = 0,		/* timed around the call itself */
	PROFILED_COROUTINE = 1,		/* async def */
	PROFILED_GENERATOR = 2,		/* def with yield */
	PROFILED_ASYNC_GENERATOR = 3	/* async def with yield */
} ProfiledKind;

extern int	dolon_profiled_steps_init_types(PyObject *module, DolonState *st);

/*
 * Wrap what a call of a profiled callable of this kind returned (a new
 * reference, stolen), counting into stats.  A result that is not what the
 * kind promises is returned as it is and counted as a call that ended.
 */
extern PyObject *profiled_steps_wrap(DolonState *st, ProfiledKind kind,
									 PyObject *result, ProfileStats *stats);

#endif							/* DOLON_PROFILED_STEPS_H */
