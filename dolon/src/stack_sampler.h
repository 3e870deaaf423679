/*
 * stack_sampler.h
 *	  dolon._core.StackSampler: a run's profile, sampled from a native
 *	  thread (stack_sampler.c).
 */
#ifndef DOLON_STACK_SAMPLER_H
#define DOLON_STACK_SAMPLER_H

#include "state.h"

extern int	dolon_stack_sampler_init_types(PyObject *module, DolonState *st);
extern void stack_samplers_stop_all(DolonState *st);

#endif							/* DOLON_STACK_SAMPLER_H */
