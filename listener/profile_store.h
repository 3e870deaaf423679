/*
 * profile_store.h
 *	  Writing a run's buffered profile (profile_batch.h): frames, stacks and
 *	  types once per database, the run's ids for them, its threads, and its
 *	  samples as rows of arrays (sql/schema.sql, "Profiles").
 */
#ifndef MNEMIC_PROFILE_STORE_H
#define MNEMIC_PROFILE_STORE_H

#include "postgres.h"

#include "profile_batch.h"

/*
 * Write pb for run run_id, inside the caller's (sub)transaction and SPI
 * connection.  A stack whose frame or parent is not defined yet is kept
 * unresolved and resolved when they arrive; its samples are stored anyway.
 */
extern void ProfileFlushRun(int32 run_id, ProfileBuffer *pb);

/* Forget the cached frame, stack and run ids (see xact_cache.h). */
extern void ProfileForgetCache(void);

#endif							/* MNEMIC_PROFILE_STORE_H */
