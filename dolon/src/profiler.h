/*
 * profiler.h
 *	  The @profiler wrapper (profiler.c).
 */
#ifndef DOLON_PROFILER_H
#define DOLON_PROFILER_H

#include "state.h"

extern int	dolon_profiler_init_types(PyObject *module, DolonState *st);
extern PyObject *dolon_profile(PyObject *module, PyObject *args);

#endif							/* DOLON_PROFILER_H */
