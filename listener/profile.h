/*
 * profile.h
 *	  The shape of stored profiles, shared by the store (profile_store.c,
 *	  profile_rollup.c) and the readers (pg_mnemic/profile_*.c): block sizes
 *	  and the rollup levels (sql/schema.sql, docs/storage.md "Profiles").
 */
#ifndef MNEMIC_PROFILE_H
#define MNEMIC_PROFILE_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* Samples per mnemic.prof_sample / prof_alloc / prof_free row. */
#define PROFILE_BLOCK_MAX	512

/*
 * Rollup levels: buckets of 10 s, 1 min, 10 min, 1 h, 6 h and 1 day, each
 * a whole number of the level below, aligned on the PostgreSQL epoch.
 */
#define PROFILE_LEVELS		6

static inline int64
ProfileLevelWidth(int level)
{
	static const int64 seconds[PROFILE_LEVELS] = {10, 60, 600, 3600, 21600, 86400};

	return seconds[level] * USECS_PER_SEC;
}

/* The start of the bucket of level holding t. */
static inline TimestampTz
ProfileBucket(int level, TimestampTz t)
{
	int64		w = ProfileLevelWidth(level);
	int64		q = t / w;

	if (t % w != 0 && t < 0)
		q--;
	return q * w;
}

/*
 * How long after a bucket ends its rollup waits for late samples before it
 * is built, unless the run ended or was imported.  A sample that comes
 * later still counts: the rollups it falls in are built again.
 */
#define PROFILE_ROLLUP_GRACE_US	(60 * USECS_PER_SEC)

/*
 * The advisory lock writers of profiles hold shared, and
 * mnemic.collect_profile_garbage() exclusive (sql/housekeeping.sql).
 */
#define PROFILE_GC_LOCK_KEY		INT64CONST(7132051620131103)

#endif							/* MNEMIC_PROFILE_H */
