/*
 * profile_memory.c
 *	  The memory side of profiles: mnemic.stack_at() (the stack sampled
 *	  nearest a moment, with the RSS then: vmprof-viewer's memory view) and
 *	  mnemic.allocations_by_type() (PyProfile's allocations of a function);
 *	  and mnemic.threads(), the threads a run's samples were taken on.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "listener/batch.h"
#include "listener/block.h"
#include "listener/spi_helpers.h"
#include "profile_query.h"
#include "profile_tree.h"
#include "sqlutil.h"
#include "coordinator.h"

PG_FUNCTION_INFO_V1(mnemic_stack_at);
PG_FUNCTION_INFO_V1(mnemic_allocations_by_type);
PG_FUNCTION_INFO_V1(mnemic_threads);

typedef enum MemoryPlan
{
	MP_NEAR,
	MP_BEFORE,
	MP_AFTER,
	MP_THREAD,
	MP_RSS_METRIC,
	MP_TYPES,
	MP_THREADS,
	MP_COUNT
} MemoryPlan;

/* $n = thread ids or NULL: the thread filter of the statements below. */
#define THREADS_OK(n) " AND ($" #n "::int[] IS NULL OR thread = ANY ($" #n "))"

static KeptPlan plans[MP_COUNT] = {
	/* the blocks that may hold a sample within a minute of the moment */
	[MP_NEAR] = {
		"SELECT thread, ts, stack FROM mnemic.prof_sample WHERE run_id = $1"
		" AND t_first BETWEEN $2 - $3 - interval '1 minute'"
		" AND $2 + interval '1 minute' AND t_last >= $2 - interval '1 minute'"
		THREADS_OK(4),
		4, {INT4OID, TIMESTAMPTZOID, INTERVALOID, INT4ARRAYOID}
	},
	/* else the nearest blocks before and after, a few per thread */
	[MP_BEFORE] = {
		"SELECT thread, ts, stack FROM mnemic.prof_sample WHERE run_id = $1"
		" AND t_first <= $2" THREADS_OK(3) " ORDER BY t_first DESC LIMIT 256",
		3, {INT4OID, TIMESTAMPTZOID, INT4ARRAYOID}
	},
	[MP_AFTER] = {
		"SELECT thread, ts, stack FROM mnemic.prof_sample WHERE run_id = $1"
		" AND t_first > $2" THREADS_OK(3) " ORDER BY t_first LIMIT 256",
		3, {INT4OID, TIMESTAMPTZOID, INT4ARRAYOID}
	},
	[MP_THREAD] = {
		"SELECT name FROM mnemic.prof_thread WHERE run_id = $1 AND wire_id = $2",
		2, {INT4OID, INT4OID}
	},
	[MP_RSS_METRIC] = {
		"SELECT id, max_span FROM mnemic.metric WHERE run_id = $1 AND idx = $2",
		2, {INT4OID, INT4OID}
	},
	[MP_TYPES] = {
		"SELECT r.wire_id, t.name FROM mnemic.prof_run_type r"
		" JOIN mnemic.prof_type t ON t.id = r.type_id WHERE r.run_id = $1",
		1, {INT4OID}
	},
	[MP_THREADS] = {
		"SELECT name, wire_id, native_id FROM mnemic.prof_thread"
		" WHERE run_id = $1 ORDER BY name, native_id",
		1, {INT4OID}
	},
};

/* The sample nearest to a moment. */
typedef struct Nearest
{
	TimestampTz at;
	bool		found;
	int32		thread;
	TimestampTz ts;
	int32		stack;
} Nearest;

static bool
find_nearest(HeapTuple tuple, TupleDesc desc, void *arg)
{
	Nearest    *near = arg;
	bool		isnull;
	int32		thread = DatumGetInt32(SPI_getbinval(tuple, desc, 1, &isnull));
	ArrayType  *ts = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 2, &isnull));
	ArrayType  *stack = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 3, &isnull));
	int			n = ArrayGetNItems(ARR_NDIM(ts), ARR_DIMS(ts));
	const TimestampTz *tv = (const TimestampTz *) ARR_DATA_PTR(ts);
	const int32 *sv = (const int32 *) ARR_DATA_PTR(stack);

	for (int i = 0; i < n; i++)
	{
		/* nearest; at equal distance the earlier, then the lower thread */
		if (near->found)
		{
			uint64		d = tv[i] > near->at ? tv[i] - near->at : near->at - tv[i];
			uint64		best = near->ts > near->at ? near->ts - near->at :
				near->at - near->ts;

			if (d > best || (d == best && (tv[i] > near->ts ||
										   (tv[i] == near->ts && thread >= near->thread))))
				continue;
		}
		near->found = true;
		near->thread = thread;
		near->ts = tv[i];
		near->stack = sv[i];
	}
	return true;
}

/* The run's RSS at exactly ts, from its rss_bytes metric; NaN if none. */
typedef struct RssAt
{
	TimestampTz ts;
	double		value;
} RssAt;

static bool
find_rss(const TimestampTz *ts, const double *values, const bool *isnull,
		 int n, void *arg)
{
	RssAt	   *rss = arg;

	for (int i = 0; i < n; i++)
		if (ts[i] == rss->ts && !isnull[i])
			rss->value = values[i];
	return true;
}

static double
rss_at(int32 run_id, TimestampTz ts)
{
	Datum		args[2] = {Int32GetDatum(run_id), Int32GetDatum(RSS_METRIC_IDX)};
	RssAt		rss = {ts, NAN};
	bool		isnull;

	if (KeptPlanExec(&plans[MP_RSS_METRIC], args, NULL, true, 1) == 0)
		return NAN;
	BlockReadRange(DatumGetInt32(SpiResult(0, 1, &isnull)), ts, ts,
				   SPI_datumTransfer(SpiResult(0, 2, &isnull), false,
									 sizeof(Interval)),
				   find_rss, &rss);
	return rss.value;
}

/*
 * SQL: mnemic.stack_at(run uuid, ts timestamptz, thread text) RETURNS TABLE
 * (thread, sampled_at, rss_bytes, depth, function, file, line): the
 * sample nearest to ts (of that thread when given), one row per frame,
 * outermost first.
 */
Datum
mnemic_stack_at(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pg_uuid_t  *run = RequiredUuid(fcinfo, 0, "run");
	TimestampTz at;
	ProfileScope scope;
	Nearest		near = {0};
	Datum		args[4];
	char		nulls[5] = "    ";
	char	   *thread_name = NULL;
	double		rss;
	HTAB	   *sums;
	StackSum   *sum;
	bool		found;
	ProfilePaths paths;
	HTAB	   *infos;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ts must not be NULL")));
	at = PG_GETARG_TIMESTAMPTZ(1);
	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	scope = ProfileScopeMake(run, false, 0, false, 0,
							 PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2));
	if (scope.empty)
	{
		SPI_finish();
		return (Datum) 0;
	}

	/* Around the moment first; else the samples just before and after. */
	near.at = at;
	args[0] = Int32GetDatum(scope.run_id);
	args[1] = TimestampTzGetDatum(at);
	args[2] = scope.max_span;
	args[3] = ProfileThreadsArg(&scope, &nulls[3]);
	SpiForEachRow(KeptPlanGet(&plans[MP_NEAR]), args, nulls, true, 64, find_nearest,
				  &near);
	if (!near.found)
	{
		Datum		args3[3] = {args[0], args[1], args[3]};
		char		nulls3[4] = {' ', ' ', nulls[3], '\0'};

		SpiForEachRow(KeptPlanGet(&plans[MP_BEFORE]), args3, nulls3, true, 64,
					  find_nearest, &near);
		SpiForEachRow(KeptPlanGet(&plans[MP_AFTER]), args3, nulls3, true, 64,
					  find_nearest, &near);
	}
	if (!near.found)
	{
		SPI_finish();
		return (Datum) 0;
	}

	args[1] = Int32GetDatum(near.thread);
	if (KeptPlanExec(&plans[MP_THREAD], args, NULL, true, 1) > 0)
	{
		bool		isnull;

		thread_name = TextDatumGetCString(SpiResult(0, 1, &isnull));
	}
	rss = rss_at(scope.run_id, near.ts);

	/* the one stack, resolved as a flame graph resolves its stacks */
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(StackSum);
		ctl.hcxt = CurrentMemoryContext;
		sums = hash_create("mnemic one stack", 4, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	sum = hash_search(sums, &near.stack, HASH_ENTER, &found);
	sum->value = 1;
	paths = ProfileResolvePaths(scope.run_id, sums);
	infos = ProfileFrameInfos(paths.paths[0].frames, paths.paths[0].depth);
	for (int d = 0; d < paths.paths[0].depth; d++)
	{
		ProfileFrameInfo *f = ProfileFrameInfoOf(infos, paths.paths[0].frames[d]);
		Datum		values[7];
		bool		isnull[7] = {thread_name == NULL, false, isnan(rss), false,
		false, false, false};

		values[0] = thread_name ? CStringGetTextDatum(thread_name) : (Datum) 0;
		values[1] = TimestampTzGetDatum(near.ts);
		values[2] = Float8GetDatum(rss);
		values[3] = Int32GetDatum(d + 1);
		values[4] = CStringGetTextDatum(f->function);
		values[5] = CStringGetTextDatum(f->file);
		values[6] = Int32GetDatum(paths.paths[0].lines[d] != 0 ?
								  paths.paths[0].lines[d] : f->line);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	SPI_finish();
	return (Datum) 0;
}

/* A type name of the run, by its client's id. */
typedef struct RunTypeName
{
	int32		wire;			/* key */
	char	   *name;
} RunTypeName;

/* One type's sums for allocations_by_type(). */
typedef struct TypeSums
{
	int32		type;			/* key: the client's type id, 0 not known */
	int64		bytes;
	int64		count;
} TypeSums;

static int
compare_types(const void *a, const void *b)
{
	const TypeSums *x = *(TypeSums *const *) a;
	const TypeSums *y = *(TypeSums *const *) b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return 0;
}

/* The stacks (client ids) whose path holds a frame of that function. */
static HTAB *
stacks_through(int32 run_id, HTAB *by_type, const char *function)
{
	HASHCTL		ctl;
	HTAB	   *stacks;
	HTAB	   *through;
	HASH_SEQ_STATUS seq;
	AllocTypeSum *t;
	ProfilePaths paths;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(StackSum);
	ctl.hcxt = CurrentMemoryContext;
	stacks = hash_create("mnemic alloc stacks", 256, &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	through = hash_create("mnemic stacks through", 256, &ctl,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	hash_seq_init(&seq, by_type);
	while ((t = hash_seq_search(&seq)) != NULL)
	{
		StackSum   *s = hash_search(stacks, &t->key.stack, HASH_ENTER, NULL);

		s->value = 0;
	}
	paths = ProfileResolvePaths(run_id, stacks);
	for (int i = 0; i < paths.n; i++)
	{
		HTAB	   *infos = ProfileFrameInfos(paths.paths[i].frames,
											  paths.paths[i].depth);

		for (int d = 0; d < paths.paths[i].depth; d++)
			if (strcmp(ProfileFrameInfoOf(infos, paths.paths[i].frames[d])->function,
					   function) == 0)
			{
				(void) hash_search(through, &paths.paths[i].stack, HASH_ENTER, NULL);
				break;
			}
		hash_destroy(infos);
	}
	return through;
}

/*
 * SQL: mnemic.allocations_by_type(run uuid, t_from, t_to, function text,
 * weight text) RETURNS TABLE (type, bytes, count): sampled allocations of
 * the window by type, the most bytes first; with a function, only those
 * whose stack holds a frame of that name.
 */
Datum
mnemic_allocations_by_type(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pg_uuid_t  *run = RequiredUuid(fcinfo, 0, "run");
	ProfileWeight weight = ProfileWeightParse(RequiredText(fcinfo, 3, "weight"));
	ProfileScope scope;
	HTAB	   *by_type;
	HTAB	   *through = NULL;
	HTAB	   *sums;
	HTAB	   *names;
	HASHCTL		ctl;
	HASH_SEQ_STATUS seq;
	AllocTypeSum *t;
	TypeSums   *ts;
	TypeSums  **sorted;
	long		n;
	long		k = 0;
	uint64		rows;
	Datum		arg;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	if (weight != WEIGHT_ALLOC && weight != WEIGHT_INUSE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("allocations are weighed by alloc or inuse"),
				 errhint("alloc: bytes allocated; inuse: bytes still allocated at t_to.")));
	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	scope = ProfileScopeMake(run, !PG_ARGISNULL(1),
							 PG_ARGISNULL(1) ? 0 : PG_GETARG_TIMESTAMPTZ(1),
							 !PG_ARGISNULL(2),
							 PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMESTAMPTZ(2), NULL);
	by_type = ProfileSumAllocTypes(&scope, weight);
	if (!PG_ARGISNULL(4))
		through = stacks_through(scope.run_id, by_type,
								 text_to_cstring(PG_GETARG_TEXT_PP(4)));

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(TypeSums);
	ctl.hcxt = CurrentMemoryContext;
	sums = hash_create("mnemic type sums", 64, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	hash_seq_init(&seq, by_type);
	while ((t = hash_seq_search(&seq)) != NULL)
	{
		bool		found;

		if (through != NULL &&
			hash_search(through, &t->key.stack, HASH_FIND, NULL) == NULL)
			continue;
		ts = hash_search(sums, &t->key.type, HASH_ENTER, &found);
		ts->bytes = (found ? ts->bytes : 0) + t->bytes;
		ts->count = (found ? ts->count : 0) + t->count;
	}

	/* the run's type names, by its client's ids */
	ctl.entrysize = sizeof(RunTypeName);
	names = hash_create("mnemic type names", 64, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	arg = Int32GetDatum(scope.run_id);
	rows = KeptPlanExec(&plans[MP_TYPES], &arg, NULL, true, 0);
	for (uint64 i = 0; i < rows; i++)
	{
		bool		isnull;
		int32		wire = DatumGetInt32(SpiResult(i, 1, &isnull));
		RunTypeName   *name = hash_search(names, &wire, HASH_ENTER, NULL);

		name->name = TextDatumGetCString(SpiResult(i, 2, &isnull));
	}

	n = hash_get_num_entries(sums);
	sorted = palloc(sizeof(TypeSums *) * Max(n, 1));
	hash_seq_init(&seq, sums);
	while ((ts = hash_seq_search(&seq)) != NULL)
		sorted[k++] = ts;
	qsort(sorted, n, sizeof(TypeSums *), compare_types);
	for (long i = 0; i < n; i++)
	{
		RunTypeName   *entry = sorted[i]->type == 0 ? NULL :
			hash_search(names, &sorted[i]->type, HASH_FIND, NULL);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(entry != NULL ? entry->name : "(unknown)");
		values[1] = Int64GetDatum(sorted[i]->bytes);
		values[2] = Int64GetDatum(sorted[i]->count);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/* A thread name's row of mnemic.threads(). */
typedef struct NamedThreads
{
	char	   *name;
	int64	   *native_ids;
	int			nids;
	int64		samples;
	int64		wall_us;
	int64		cpu_us;
} NamedThreads;

static int
by_samples_then_name(const void *a, const void *b)
{
	const NamedThreads *x = a;
	const NamedThreads *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * SQL: mnemic.threads(run uuid, t_from, t_to) RETURNS TABLE (thread text,
 * native_ids bigint[], samples bigint, cpu_seconds float8, wall_seconds
 * float8): the run's threads by name (what the thread argument of
 * flamegraph(), top_functions() and stack_at() names), with their stack
 * samples in the window summed as a flame graph sums them, the most
 * samples first.
 */
Datum
mnemic_threads(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pg_uuid_t  *run = RequiredUuid(fcinfo, 0, "run");
	ProfileScope scope;
	HTAB	   *sums;
	NamedThreads *named;
	int			nnamed = 0;
	Datum		arg;
	uint64		rows;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	scope = ProfileScopeMake(run, !PG_ARGISNULL(1),
							 PG_ARGISNULL(1) ? 0 : PG_GETARG_TIMESTAMPTZ(1),
							 !PG_ARGISNULL(2),
							 PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMESTAMPTZ(2), NULL);
	sums = ProfileSumThreads(&scope);

	/* the client's threads, a name's together */
	arg = Int32GetDatum(scope.run_id);
	rows = KeptPlanExec(&plans[MP_THREADS], &arg, NULL, true, 0);
	named = palloc0(sizeof(NamedThreads) * Max(rows, 1));
	for (uint64 i = 0; i < rows; i++)
	{
		bool		isnull;
		char	   *name = TextDatumGetCString(SpiResult(i, 1, &isnull));
		int32		wire = DatumGetInt32(SpiResult(i, 2, &isnull));
		int64		native = DatumGetInt64(SpiResult(i, 3, &isnull));
		ThreadSum  *sum = hash_search(sums, &wire, HASH_FIND, NULL);
		NamedThreads *t;

		if (nnamed == 0 || strcmp(named[nnamed - 1].name, name) != 0)
		{
			t = &named[nnamed++];
			t->name = name;
			t->native_ids = palloc(sizeof(int64) * (rows - i));
		}
		t = &named[nnamed - 1];
		if (t->nids == 0 || t->native_ids[t->nids - 1] != native)
			t->native_ids[t->nids++] = native;
		if (sum != NULL)
		{
			t->samples += sum->samples;
			t->wall_us += sum->wall_us;
			t->cpu_us += sum->cpu_us;
		}
	}
	qsort(named, nnamed, sizeof(NamedThreads), by_samples_then_name);
	for (int k = 0; k < nnamed; k++)
	{
		NamedThreads *t = &named[k];
		Datum	   *ids = palloc(sizeof(Datum) * Max(t->nids, 1));
		Datum		values[5];
		bool		isnull[5] = {false, false, false, false, false};

		for (int i = 0; i < t->nids; i++)
			ids[i] = Int64GetDatum(t->native_ids[i]);
		values[0] = CStringGetTextDatum(t->name);
		values[1] = PointerGetDatum(construct_array(ids, t->nids, INT8OID, 8,
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[2] = Int64GetDatum(t->samples);
		values[3] = Float8GetDatum(t->cpu_us / 1e6);
		values[4] = Float8GetDatum(t->wall_us / 1e6);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	/* what was read lives in SPI's memory until here */
	SPI_finish();
	return (Datum) 0;
}
