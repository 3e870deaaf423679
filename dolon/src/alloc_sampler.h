/*
 * alloc_sampler.h
 *	  Sampling Python's allocations by bytes through the PEP 445 hooks
 *	  (alloc_sampler.c).
 *
 * Python has one set of allocators per process, so one run at a time
 * records allocations; the hooks stay installed once set (another tool may
 * have wrapped them since) and pass every call straight through while no
 * run records.
 */
#ifndef DOLON_ALLOC_SAMPLER_H
#define DOLON_ALLOC_SAMPLER_H

#include "profile_data.h"

extern int	alloc_sampler_start(ProfileData *d, double mean_bytes);
extern void alloc_sampler_stop(ProfileData *d);
extern int	alloc_sampler_recording(const ProfileData *d);
extern void alloc_sampler_resolve_types(ProfileData *d);
extern int	alloc_sampler_exempt_thread(int exempt);

#endif							/* DOLON_ALLOC_SAMPLER_H */
