/*
 * profile_query.h
 *	  Reading a run's profile for a time window: its samples summed by the
 *	  client's stack id, from the rollups where whole buckets fit and from
 *	  the raw samples at the edges, so the cost follows the distinct stacks
 *	  of the window rather than its samples.
 */
#ifndef MNEMIC_PROFILE_QUERY_H
#define MNEMIC_PROFILE_QUERY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/hsearch.h"
#include "utils/uuid.h"

/* What a flame graph weighs: see mnemic.flamegraph() in sql/profiles.sql. */
typedef enum ProfileWeight
{
	WEIGHT_CPU,					/* seconds on CPU */
	WEIGHT_WALL,				/* seconds */
	WEIGHT_SAMPLES,				/* stack samples */
	WEIGHT_ALLOC,				/* bytes allocated */
	WEIGHT_INUSE				/* bytes allocated and not freed by t_to */
} ProfileWeight;

/* A run, and the window and threads asked for. */
typedef struct ProfileScope
{
	int32		run_id;
	TimestampTz from;			/* resolved: the run's first sample if NULL */
	TimestampTz to;				/* inclusive */
	TimestampTz first_sample;	/* the run's, when not empty */
	TimestampTz last_sample;
	bool		empty;			/* no samples at all, or an empty window */
	int32	   *threads;		/* the client's thread ids; NULL: all */
	int			nthreads;
	Datum		max_span;		/* interval: the longest block of samples */
	char	   *tracer;			/* the run's tracer, NULL if not named */
} ProfileScope;

/*
 * The summed weight of one of the client's stacks, in the weight's unit:
 * samples, microseconds or bytes.  Sums are exact integers; readers scale
 * them for output (ProfileWeightScale).
 */
typedef struct StackSum
{
	int32		stack;			/* key: the client's stack id */
	int64		value;
} StackSum;

/* Parse a weight name; an error names the unknown one. */
extern ProfileWeight ProfileWeightParse(text *name);

/* What one unit of weight is in SQL's terms: 1e-6 (µs to s) or 1. */
extern double ProfileWeightScale(ProfileWeight weight);

/*
 * Find the run (an error if unknown) and resolve the window and thread
 * (NULL: every thread; a name matches every thread of that name, an error
 * if none does).
 */
extern ProfileScope ProfileScopeMake(const pg_uuid_t *run, bool has_from,
									 TimestampTz from, bool has_to,
									 TimestampTz to, text *thread);

/* The scope's threads as an int4[] argument (NULL and null 'n': all). */
extern Datum ProfileThreadsArg(const ProfileScope *scope, char *null);

/* The weight of every stack in the scope, as StackSum entries. */
extern HTAB *ProfileSumStacks(const ProfileScope *scope, ProfileWeight weight);

/* The stack samples of one of the client's threads, summed. */
typedef struct ThreadSum
{
	int32		thread;			/* key: the client's thread id */
	int64		samples;
	int64		wall_us;
	int64		cpu_us;
} ThreadSum;

/* Every thread's stack samples in the scope, as ThreadSum entries. */
extern HTAB *ProfileSumThreads(const ProfileScope *scope);

/* Sampled allocations summed by the client's stack and type id. */
typedef struct AllocTypeKey
{
	int32		stack;
	int32		type;			/* 0: not known */
} AllocTypeKey;

typedef struct AllocTypeSum
{
	AllocTypeKey key;
	int64		bytes;
	int64		count;
} AllocTypeSum;

/* weight is WEIGHT_ALLOC or WEIGHT_INUSE. */
extern HTAB *ProfileSumAllocTypes(const ProfileScope *scope,
								  ProfileWeight weight);

#endif							/* MNEMIC_PROFILE_QUERY_H */
