/*
 * profile_rollup.h
 *	  Summing a run's stack samples by stack per time bucket, at the levels
 *	  of profile.h, once the buckets are closed.
 */
#ifndef MNEMIC_PROFILE_ROLLUP_H
#define MNEMIC_PROFILE_ROLLUP_H

#include "postgres.h"

#include "datatype/timestamp.h"

/*
 * Build the rollups of every closed bucket not built yet, for run run_id
 * (0: every run).  A bucket is closed once it ended PROFILE_ROLLUP_GRACE_US
 * before now, or at once when its run ended or was imported.  Inside the
 * caller's transaction and SPI connection; returns the rows written.
 */
extern int64 ProfileBuildRollups(int32 run_id, TimestampTz now);

#endif							/* MNEMIC_PROFILE_ROLLUP_H */
