/*
 * profile_query.c
 *	  A run's profile summed by stack over a window (profile_query.h).
 *
 * Stack samples: the window [from, to] is covered from the coarsest
 * rollup level down.  At each level, the whole buckets the window still
 * holds (and the level has built) are read from prof_rollup; what is left
 * at the two edges goes down a level; what is left below the finest level
 * is read from the raw samples.  A window of any size thus reads a handful
 * of rollup rows per level and thread and at most two 10 s stretches of
 * samples.
 *
 * Allocations are read from their rows (they are sampled by bytes, so far
 * fewer than stack samples); in-use bytes subtract the frees up to t_to.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "listener/block.h"
#include "listener/profile.h"
#include "listener/spi_helpers.h"
#include "profile_query.h"
#include "sqlutil.h"

typedef enum QueryPlan
{
	QP_RUN,
	QP_THREADS,
	QP_ROLLUPS,
	QP_SAMPLES,
	QP_ALLOCS,
	QP_FREES,
	QP_COUNT
} QueryPlan;

/* $n = thread ids or NULL: the thread filter of every reading statement. */
#define THREADS_OK(n) " AND ($" #n "::int[] IS NULL OR thread = ANY ($" #n "))"

static KeptPlan plans[QP_COUNT] = {
	[QP_RUN] = {
		"SELECT r.id, p.first_sample, p.last_sample, p.built_until, p.max_span,"
		" t.name FROM mnemic.run r LEFT JOIN mnemic.prof_run p ON p.run_id = r.id"
		" LEFT JOIN mnemic.tracer t ON t.id = r.tracer_id WHERE r.uuid = $1",
		1, {UUIDOID}
	},
	[QP_THREADS] = {
		"SELECT wire_id FROM mnemic.prof_thread WHERE run_id = $1 AND name = $2",
		2, {INT4OID, TEXTOID}
	},
	[QP_ROLLUPS] = {
		"SELECT stack, samples, wall, cpu, thread FROM mnemic.prof_rollup"
		" WHERE run_id = $1 AND level = $2 AND bucket >= $3 AND bucket < $4"
		THREADS_OK(5), 5, {INT4OID, INT2OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		INT4ARRAYOID}
	},
	[QP_SAMPLES] = {
		"SELECT ts, stack, samples, wall, cpu, thread FROM mnemic.prof_sample"
		" WHERE run_id = $1"
		" AND t_first >= $2 - $4 AND t_first < $3 AND t_last >= $2"
		THREADS_OK(5), 5, {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		INTERVALOID, INT4ARRAYOID}
	},
	[QP_ALLOCS] = {
		"SELECT ts, stack, bytes, alloc_id, type FROM mnemic.prof_alloc WHERE run_id = $1"
		" AND t_first >= $2 - $4 AND t_first < $3 AND t_last >= $2"
		THREADS_OK(5), 5, {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		INTERVALOID, INT4ARRAYOID}
	},
	[QP_FREES] = {
		"SELECT ts, alloc_id FROM mnemic.prof_free WHERE run_id = $1"
		" AND t_first < $2", 2, {INT4OID, TIMESTAMPTZOID}
	},
};

ProfileWeight
ProfileWeightParse(text *name)
{
	char	   *s = text_to_cstring(name);

	if (strcmp(s, "cpu") == 0)
		return WEIGHT_CPU;
	if (strcmp(s, "wall") == 0)
		return WEIGHT_WALL;
	if (strcmp(s, "samples") == 0)
		return WEIGHT_SAMPLES;
	if (strcmp(s, "alloc") == 0)
		return WEIGHT_ALLOC;
	if (strcmp(s, "inuse") == 0)
		return WEIGHT_INUSE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown weight \"%s\"", s),
			 errhint("The weights are cpu, wall, samples, alloc and inuse.")));
	return WEIGHT_CPU;			/* keep the compiler quiet */
}

double
ProfileWeightScale(ProfileWeight weight)
{
	return weight == WEIGHT_CPU || weight == WEIGHT_WALL ? 1e-6 : 1.0;
}

/* The run's state as the window needs it. */
typedef struct RunProfile
{
	TimestampTz built[PROFILE_LEVELS];	/* DT_NOBEGIN: nothing built */
	Datum		max_span;
} RunProfile;

static RunProfile run_profile;

ProfileScope
ProfileScopeMake(const pg_uuid_t *run, bool has_from, TimestampTz from,
				 bool has_to, TimestampTz to, text *thread)
{
	ProfileScope scope;
	Datum		arg = UUIDPGetDatum(run);
	bool		isnull;
	bool		first_null;
	TimestampTz first;
	TimestampTz last;

	memset(&scope, 0, sizeof(scope));
	if (KeptPlanExec(&plans[QP_RUN], &arg, NULL, true, 1) == 0)
		RunNotFound(run);
	scope.run_id = DatumGetInt32(SpiResult(0, 1, &isnull));
	{
		Datum		name = SpiResult(0, 6, &isnull);

		scope.tracer = isnull ? NULL : TextDatumGetCString(name);
	}
	first = DatumGetTimestampTz(SpiResult(0, 2, &first_null));
	last = DatumGetTimestampTz(SpiResult(0, 3, &isnull));
	for (int level = 0; level < PROFILE_LEVELS; level++)
		run_profile.built[level] = DT_NOBEGIN;
	if (!first_null)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(DatumGetArrayTypePCopy(SpiResult(0, 4, &isnull)),
						  TIMESTAMPTZOID, sizeof(TimestampTz), true,
						  TYPALIGN_DOUBLE, &elems, &nulls, &n);
		for (int level = 0; level < Min(n, PROFILE_LEVELS); level++)
			if (!nulls[level])
				run_profile.built[level] = DatumGetTimestampTz(elems[level]);
		run_profile.max_span = SPI_datumTransfer(SpiResult(0, 5, &isnull),
												 false, sizeof(Interval));
		scope.max_span = run_profile.max_span;
	}

	scope.first_sample = first;
	scope.last_sample = last;
	scope.from = has_from && !TIMESTAMP_NOT_FINITE(from) ? from : first;
	scope.to = has_to && !TIMESTAMP_NOT_FINITE(to) ? to : last;
	if (has_from && has_to && !TIMESTAMP_NOT_FINITE(from) &&
		!TIMESTAMP_NOT_FINITE(to) && to < from)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t_to is before t_from")));
	scope.empty = first_null || scope.to < scope.from;

	if (thread != NULL)
	{
		Datum		args[2] = {Int32GetDatum(scope.run_id), PointerGetDatum(thread)};
		uint64		n = KeptPlanExec(&plans[QP_THREADS], args, NULL, true, 0);

		if (n == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("run %s has no thread \"%s\"", UuidText(run),
							text_to_cstring(thread))));
		scope.threads = palloc(sizeof(int32) * n);
		scope.nthreads = (int) n;
		for (uint64 i = 0; i < n; i++)
			scope.threads[i] = DatumGetInt32(SpiResult(i, 1, &isnull));
	}
	return scope;
}

static HTAB *
sums_create(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(StackSum);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("mnemic stack sums", 1024, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static inline void
sums_add(HTAB *sums, int32 stack, int64 value)
{
	bool		found;
	StackSum   *s = hash_search(sums, &stack, HASH_ENTER, &found);

	s->value = found ? s->value + value : value;
}

/* What a reading pass adds to. */
typedef struct SumPass
{
	HTAB	   *sums;
	HTAB	   *threads;		/* instead of sums: ThreadSum by thread */
	ProfileWeight weight;
	TimestampTz from;			/* raw samples: [from, to) */
	TimestampTz to;
	HTAB	   *freed;			/* inuse: allocation ids freed by then */
	HTAB	   *types;			/* allocations by (stack, type), or NULL */
} SumPass;

static int64
weigh(ProfileWeight weight, int64 samples, int64 wall_us, int64 cpu_us)
{
	switch (weight)
	{
		case WEIGHT_CPU:
			return cpu_us;
		case WEIGHT_WALL:
			return wall_us;
		default:
			return samples;
	}
}

/*
 * When the pass sums by thread: the sums of the thread of a row (its
 * column col), made when new; else NULL.
 */
static ThreadSum *
thread_sum(SumPass *pass, HeapTuple tuple, TupleDesc desc, int col)
{
	bool		isnull;
	int32		thread;
	bool		found;
	ThreadSum  *t;

	if (pass->threads == NULL)
		return NULL;
	thread = DatumGetInt32(SPI_getbinval(tuple, desc, col, &isnull));
	t = hash_search(pass->threads, &thread, HASH_ENTER, &found);

	if (!found)
		t->samples = t->wall_us = t->cpu_us = 0;
	return t;
}

/* One entry of a row: to its thread's sums (t), else to its stack's. */
static inline void
add_entry(SumPass *pass, ThreadSum *t, int32 stack, int64 samples,
		  int64 wall_us, int64 cpu_us)
{
	if (t != NULL)
	{
		t->samples += samples;
		t->wall_us += wall_us;
		t->cpu_us += cpu_us;
	}
	else
		sums_add(pass->sums, stack, weigh(pass->weight, samples, wall_us, cpu_us));
}

static bool
add_rollup_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	SumPass    *pass = arg;
	bool		isnull;
	ArrayType  *stack = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 1, &isnull));
	ArrayType  *samples = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 2, &isnull));
	ArrayType  *wall = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 3, &isnull));
	ArrayType  *cpu = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 4, &isnull));
	int			n = ArrayGetNItems(ARR_NDIM(stack), ARR_DIMS(stack));
	const int32 *sv = (const int32 *) ARR_DATA_PTR(stack);
	const int32 *nv = (const int32 *) ARR_DATA_PTR(samples);
	const int64 *wv = (const int64 *) ARR_DATA_PTR(wall);
	const int64 *cv = (const int64 *) ARR_DATA_PTR(cpu);

	ThreadSum  *t = thread_sum(pass, tuple, desc, 5);

	for (int i = 0; i < n; i++)
		add_entry(pass, t, sv[i], nv[i], wv[i], cv[i]);
	return true;
}

static bool
add_sample_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	SumPass    *pass = arg;
	bool		isnull;
	ArrayType  *ts = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 1, &isnull));
	ArrayType  *stack = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 2, &isnull));
	ArrayType  *samples = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 3, &isnull));
	ArrayType  *wall = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 4, &isnull));
	ArrayType  *cpu = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 5, &isnull));
	int			n = ArrayGetNItems(ARR_NDIM(ts), ARR_DIMS(ts));
	const TimestampTz *tv = (const TimestampTz *) ARR_DATA_PTR(ts);
	const int32 *sv = (const int32 *) ARR_DATA_PTR(stack);
	const int32 *nv = (const int32 *) ARR_DATA_PTR(samples);
	const int32 *wv = (const int32 *) ARR_DATA_PTR(wall);
	const int32 *cv = (const int32 *) ARR_DATA_PTR(cpu);

	ThreadSum  *t = thread_sum(pass, tuple, desc, 6);

	for (int i = 0; i < n; i++)
		if (tv[i] >= pass->from && tv[i] < pass->to)
			add_entry(pass, t, sv[i], nv[i], wv[i], cv[i]);
	return true;
}

Datum
ProfileThreadsArg(const ProfileScope *scope, char *null)
{
	*null = scope->threads == NULL ? 'n' : ' ';
	if (scope->threads == NULL)
		return (Datum) 0;
	return PointerGetDatum(ArrayOfFixed(scope->threads, NULL, scope->nthreads,
										INT4OID, 4));
}

/* The rollup buckets of level in [from, to), whole ones. */
static void
read_rollups(const ProfileScope *scope, SumPass *pass, int level,
			 TimestampTz from, TimestampTz to)
{
	Datum		args[5];
	char		nulls[6] = "     ";

	args[0] = Int32GetDatum(scope->run_id);
	args[1] = Int16GetDatum(level);
	args[2] = TimestampTzGetDatum(from);
	args[3] = TimestampTzGetDatum(to);
	args[4] = ProfileThreadsArg(scope, &nulls[4]);
	SpiForEachRow(KeptPlanGet(&plans[QP_ROLLUPS]), args, nulls, true, 64,
				  add_rollup_row, pass);
}

/* The raw samples of [from, to). */
static void
read_samples(const ProfileScope *scope, SumPass *pass, TimestampTz from,
			 TimestampTz to)
{
	Datum		args[5];
	char		nulls[6] = "     ";

	pass->from = from;
	pass->to = to;
	args[0] = Int32GetDatum(scope->run_id);
	args[1] = TimestampTzGetDatum(from);
	args[2] = TimestampTzGetDatum(to);
	args[3] = run_profile.max_span;
	args[4] = ProfileThreadsArg(scope, &nulls[4]);
	SpiForEachRow(KeptPlanGet(&plans[QP_SAMPLES]), args, nulls, true, 64,
				  add_sample_row, pass);
}

/* A stretch of the window not covered yet. */
typedef struct Stretch
{
	TimestampTz from;
	TimestampTz to;				/* exclusive */
} Stretch;

/*
 * Cover the window level by level, coarsest first: the whole built buckets
 * of a stretch come from the rollups, its two ends go down a level.  A
 * stretch splits into at most two, so at most two are ever open.
 */
static void
sum_stack_samples(const ProfileScope *scope, SumPass *pass)
{
	Stretch		open[2 * PROFILE_LEVELS + 2];
	int			nopen = 1;
	int			top = PROFILE_LEVELS - 1;

	/*
	 * A window that reaches past the run's first or last sample may reach
	 * to the edge of the coarsest bucket there: no sample lies beyond, and
	 * whole buckets are read from the rollups.
	 */
	open[0].from = scope->from <= scope->first_sample ?
		ProfileBucket(top, scope->first_sample) : scope->from;
	open[0].to = scope->to >= scope->last_sample ?
		ProfileBucket(top, scope->last_sample) + ProfileLevelWidth(top) :
		scope->to + 1;
	for (int level = PROFILE_LEVELS - 1; level >= 0; level--)
	{
		int64		w = ProfileLevelWidth(level);
		Stretch		next[2 * PROFILE_LEVELS + 2];
		int			nnext = 0;

		for (int i = 0; i < nopen; i++)
		{
			Stretch		s = open[i];
			TimestampTz first = ProfileBucket(level, s.from - 1) + w;	/* ceil */
			TimestampTz last = ProfileBucket(level, s.to);	/* floor */

			last = Min(last, run_profile.built[level]);
			if (first < last)
			{
				read_rollups(scope, pass, level, first, last);
				if (s.from < first)
					next[nnext++] = (Stretch) {s.from, first};
				if (last < s.to)
					next[nnext++] = (Stretch) {last, s.to};
			}
			else
				next[nnext++] = s;
		}
		memcpy(open, next, sizeof(Stretch) * nnext);
		nopen = nnext;
	}
	for (int i = 0; i < nopen; i++)
		read_samples(scope, pass, open[i].from, open[i].to);
}

/* Allocation ids freed by the end of the window (a set of int64). */
static bool
add_free_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	SumPass    *pass = arg;
	bool		isnull;
	ArrayType  *ts = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 1, &isnull));
	ArrayType  *ids = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 2, &isnull));
	int			n = ArrayGetNItems(ARR_NDIM(ts), ARR_DIMS(ts));
	const TimestampTz *tv = (const TimestampTz *) ARR_DATA_PTR(ts);
	const int64 *iv = (const int64 *) ARR_DATA_PTR(ids);

	for (int i = 0; i < n; i++)
		if (tv[i] < pass->to)
			(void) hash_search(pass->freed, &iv[i], HASH_ENTER, NULL);
	return true;
}

static bool
add_alloc_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	SumPass    *pass = arg;
	bool		isnull;
	ArrayType  *ts = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 1, &isnull));
	ArrayType  *stack = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 2, &isnull));
	ArrayType  *bytes = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 3, &isnull));
	ArrayType  *ids = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 4, &isnull));
	int			n = ArrayGetNItems(ARR_NDIM(ts), ARR_DIMS(ts));
	const TimestampTz *tv = (const TimestampTz *) ARR_DATA_PTR(ts);
	const int32 *sv = (const int32 *) ARR_DATA_PTR(stack);
	const int64 *bv = (const int64 *) ARR_DATA_PTR(bytes);
	const int64 *iv = (const int64 *) ARR_DATA_PTR(ids);
	ArrayType  *types = pass->types != NULL ?
		DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 5, &isnull)) : NULL;

	for (int i = 0; i < n; i++)
	{
		if (tv[i] < pass->from || tv[i] >= pass->to)
			continue;
		if (pass->freed != NULL &&
			hash_search(pass->freed, &iv[i], HASH_FIND, NULL) != NULL)
			continue;
		if (types != NULL)
		{
			AllocTypeKey key = {sv[i], ((const int32 *) ARR_DATA_PTR(types))[i]};
			bool		found;
			AllocTypeSum *t = hash_search(pass->types, &key, HASH_ENTER, &found);

			t->bytes = (found ? t->bytes : 0) + bv[i];
			t->count = (found ? t->count : 0) + 1;
		}
		else
			sums_add(pass->sums, sv[i], bv[i]);
	}
	return true;
}

static void
sum_allocations(const ProfileScope *scope, SumPass *pass)
{
	Datum		args[5];
	char		nulls[6] = "     ";

	pass->from = scope->from;
	pass->to = scope->to + 1;
	if (pass->weight == WEIGHT_INUSE)
	{
		HASHCTL		ctl;
		Datum		fargs[2] = {Int32GetDatum(scope->run_id),
		TimestampTzGetDatum(pass->to)};

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(int64);
		ctl.hcxt = CurrentMemoryContext;
		pass->freed = hash_create("mnemic freed", 1024, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		SpiForEachRow(KeptPlanGet(&plans[QP_FREES]), fargs, NULL, true, 64,
					  add_free_row, pass);
	}
	args[0] = Int32GetDatum(scope->run_id);
	args[1] = TimestampTzGetDatum(pass->from);
	args[2] = TimestampTzGetDatum(pass->to);
	args[3] = run_profile.max_span;
	args[4] = ProfileThreadsArg(scope, &nulls[4]);
	SpiForEachRow(KeptPlanGet(&plans[QP_ALLOCS]), args, nulls, true, 64,
				  add_alloc_row, pass);
}

HTAB *
ProfileSumStacks(const ProfileScope *scope, ProfileWeight weight)
{
	SumPass		pass;

	memset(&pass, 0, sizeof(pass));
	pass.sums = sums_create();
	pass.weight = weight;
	if (scope->empty)
		return pass.sums;
	if (weight == WEIGHT_ALLOC || weight == WEIGHT_INUSE)
		sum_allocations(scope, &pass);
	else
		sum_stack_samples(scope, &pass);
	return pass.sums;
}

HTAB *
ProfileSumThreads(const ProfileScope *scope)
{
	SumPass		pass;
	HASHCTL		ctl;

	memset(&pass, 0, sizeof(pass));
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(ThreadSum);
	ctl.hcxt = CurrentMemoryContext;
	pass.threads = hash_create("mnemic thread sums", 64, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	pass.weight = WEIGHT_SAMPLES;
	if (!scope->empty)
		sum_stack_samples(scope, &pass);
	return pass.threads;
}

HTAB *
ProfileSumAllocTypes(const ProfileScope *scope, ProfileWeight weight)
{
	SumPass		pass;
	HASHCTL		ctl;

	memset(&pass, 0, sizeof(pass));
	pass.weight = weight;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(AllocTypeKey);
	ctl.entrysize = sizeof(AllocTypeSum);
	ctl.hcxt = CurrentMemoryContext;
	pass.types = hash_create("mnemic allocation types", 256, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	if (!scope->empty)
		sum_allocations(scope, &pass);
	return pass.types;
}
