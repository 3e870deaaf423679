/*
 * state.h
 *	  The state of one instance of dolon._core (PEP 489 module state).
 *
 * module.c creates it, has each file put its types in it, and clears it;
 * the files reach it from the module (dolon_state) or from one of the
 * module's types (PyType_GetModuleState), and keep no piece of it in a C
 * global, so that each interpreter that imports dolon has its own.
 */
#ifndef DOLON_STATE_H
#define DOLON_STATE_H

#include "compat.h"
#include "profile_stats.h"

typedef struct DolonState
{
	ProfileRegistry profiles;	/* @profiler statistics by qualname */
	PyTypeObject *profiled_function_type;
	PyTypeObject *profiled_coroutine_type;
	PyTypeObject *profiled_generator_type;
	PyTypeObject *profiled_async_generator_type;
	PyTypeObject *profiled_async_step_type;
	PyTypeObject *builtin_reader_type;
	PyTypeObject *sender_type;
	PyTypeObject *pg_connection_type;
	PyObject   *gc_get_stats;	/* gc.get_stats, for gc collections */
	PyTypeObject *partial_type;	/* functools.partial, that @profiler mirrors */
	PyTypeObject *stack_sampler_type;
	struct StackSampler *samplers;	/* the started ones, to stop at unload */
} DolonState;

static inline DolonState *
dolon_state(PyObject *module)
{
	return (DolonState *) PyModule_GetState(module);
}

/*
 * Python 3.8 has no PyType_GetModuleState (nor types that know their
 * module): module.c remembers the one state there is.
 */
#if PY_VERSION_HEX < 0x03090000
extern DolonState *dolon_state_for_py38;
#define PyType_GetModuleState(type) ((void *) dolon_state_for_py38)
#endif

#endif							/* DOLON_STATE_H */
