/*
 * alloc_types.h
 *	  The type of the object in a sampled block of memory (alloc_types.c).
 *
 * The allocator hands out a block before anyone writes an object into it,
 * so a sampled allocation learns its type later: on 3.13 from the
 * object-creation event of PyRefTracer that follows it; on every version,
 * and as the fallback on 3.13, by looking into the block when it is freed
 * or at the next flush, whichever comes first.
 */
#ifndef DOLON_ALLOC_TYPES_H
#define DOLON_ALLOC_TYPES_H

#include "profile_data.h"

extern PyTypeObject *alloc_type_in_block(ProfileData *d, const void *block,
										 size_t size);
extern void alloc_type_watch(ProfileData *d, AllocRecord *r);
extern void alloc_type_unwatch_all(void);

#endif							/* DOLON_ALLOC_TYPES_H */
