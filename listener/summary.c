/*
 * summary.c
 *	  Per-metric time-bucket summaries maintained on the insert path.
 *
 * The store calls SummaryAppend() with each metric's points of a flush;
 * it aggregates them in C per (level, bucket) and merges the buckets into a
 * backend-local accumulator.  The accumulated rows are upserted into
 * mnemic.summary with one multi-row statement per chunk, once per
 * transaction at commit, or at the end of a run's subtransaction when the
 * store asks (SummaryWritePending).  The merge follows the tie rules of
 * BucketAggMerge (downsample.c), so a bucket ends up the same whatever order
 * its points arrived in, which is what makes M4 from summaries identical to
 * M4 over the raw points.
 *
 * Which levels a metric keeps is decided once, at its first block: the
 * finest level whose buckets hold about SUMMARY_POINTS_PER_BUCKET points at
 * the block's median spacing, and SUMMARY_LEVELS_KEPT levels up from there.
 * Finer levels would cost more rows than the raw points they stand for;
 * series() reads raw blocks when zoomed in below the finest level.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bucket.h"
#include "spi_helpers.h"
#include "summary.h"

#define SUMMARY_POINTS_PER_BUCKET 16
#define SUMMARY_LEVELS_KEPT 11
/* assumed when the first block cannot tell (one point, no run period) */
#define SUMMARY_DEFAULT_SPACING_US INT64CONST(100000)

/* the columns of mnemic.summary after metric_id, as parallel arrays */
#define SUMMARY_NCOLS 14

typedef struct SummaryRows
{
	int			n;
	int			capacity;
	Datum	   *values[SUMMARY_NCOLS];
	bool	   *nulls[SUMMARY_NCOLS];
} SummaryRows;

static const Oid summary_col_types[SUMMARY_NCOLS] = {
	INT2OID, TIMESTAMPTZOID, INT8OID, FLOAT8OID,
	TIMESTAMPTZOID, FLOAT8OID, TIMESTAMPTZOID, FLOAT8OID,
	TIMESTAMPTZOID, FLOAT8OID, TIMESTAMPTZOID, FLOAT8OID,
	INT8OID, TIMESTAMPTZOID
};

/*
 * Merge rule per column: see BucketAggMerge.  A row comparison with a NULL
 * side is NULL, so an all-missing incoming bucket keeps what is stored.
 */
static KeptPlan upsert_plan = {
"INSERT INTO mnemic.summary AS s (metric_id, level, bucket, n, sum,"
" first_ts, first_v, last_ts, last_v, min_ts, min_v, max_ts, max_v,"
" missing, missing_ts)"
" SELECT u.* FROM unnest($1::int4[], $2::int2[], $3::timestamptz[], $4::int8[],"
" $5::float8[], $6::timestamptz[], $7::float8[], $8::timestamptz[],"
" $9::float8[], $10::timestamptz[], $11::float8[], $12::timestamptz[],"
" $13::float8[], $14::int8[], $15::timestamptz[]) AS u"
" ON CONFLICT (metric_id, level, bucket) DO UPDATE SET"
" n = s.n + excluded.n,"
" sum = mnemic.summary_sum(s.sum, excluded.sum),"
" first_ts = CASE WHEN s.n = 0 OR (excluded.first_ts, excluded.first_v) < (s.first_ts, s.first_v)"
"  THEN excluded.first_ts ELSE s.first_ts END,"
" first_v = CASE WHEN s.n = 0 OR (excluded.first_ts, excluded.first_v) < (s.first_ts, s.first_v)"
"  THEN excluded.first_v ELSE s.first_v END,"
" last_ts = CASE WHEN s.n = 0 OR (excluded.last_ts, excluded.last_v) > (s.last_ts, s.last_v)"
"  THEN excluded.last_ts ELSE s.last_ts END,"
" last_v = CASE WHEN s.n = 0 OR (excluded.last_ts, excluded.last_v) > (s.last_ts, s.last_v)"
"  THEN excluded.last_v ELSE s.last_v END,"
" min_ts = CASE WHEN s.n = 0 OR (excluded.min_v, excluded.min_ts) < (s.min_v, s.min_ts)"
"  THEN excluded.min_ts ELSE s.min_ts END,"
" min_v = CASE WHEN s.n = 0 OR (excluded.min_v, excluded.min_ts) < (s.min_v, s.min_ts)"
"  THEN excluded.min_v ELSE s.min_v END,"
" max_ts = CASE WHEN s.n = 0 OR excluded.max_v > s.max_v"
"  OR (excluded.max_v = s.max_v AND excluded.max_ts < s.max_ts)"
"  THEN excluded.max_ts ELSE s.max_ts END,"
" max_v = CASE WHEN s.n = 0 OR excluded.max_v > s.max_v"
"  OR (excluded.max_v = s.max_v AND excluded.max_ts < s.max_ts)"
"  THEN excluded.max_v ELSE s.max_v END,"
" missing = s.missing + excluded.missing,"
" missing_ts = CASE WHEN s.missing = 0 OR excluded.missing_ts < s.missing_ts"
"  THEN excluded.missing_ts ELSE s.missing_ts END",
	/* metric ids, then the columns of summary_col_types, as arrays */
	SUMMARY_NCOLS + 1,
	{INT4ARRAYOID, INT2ARRAYOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID,
		FLOAT8ARRAYOID, TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID,
		TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, TIMESTAMPTZARRAYOID,
		FLOAT8ARRAYOID, TIMESTAMPTZARRAYOID, FLOAT8ARRAYOID, INT8ARRAYOID,
	TIMESTAMPTZARRAYOID}
};

static KeptPlan grid_select_plan = {
	"SELECT finest, coarsest, spacing FROM mnemic.summary_grid"
	" WHERE metric_id = $1", 1, {INT4OID}
};

static KeptPlan grid_insert_plan = {
	"INSERT INTO mnemic.summary_grid (metric_id, finest, coarsest, spacing)"
	" VALUES ($1, $2, $3, $4) ON CONFLICT (metric_id) DO NOTHING",
	4, {INT4OID, INT2OID, INT2OID, INT8OID}
};

static KeptPlan grid_spacing_plan = {
	"UPDATE mnemic.summary_grid SET spacing = $2"
	" WHERE metric_id = $1 AND spacing IS NULL", 2, {INT4OID, INT8OID}
};

static KeptPlan run_period_plan = {
	"SELECT (extract(epoch FROM r.period) * 1000000)::int8"
	" FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id"
	" WHERE m.id = $1", 1, {INT4OID}
};


static int
compare_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* Median of the positive steps between sorted points; 0 if there are none. */
static int64
median_spacing(const SeriesPoint *points, int n)
{
	int64	   *steps = palloc(sizeof(int64) * Max(n, 1));
	int			nsteps = 0;
	int64		median = 0;
	int			i;

	for (i = 1; i < n; i++)
		if (points[i].ts > points[i - 1].ts)
			steps[nsteps++] = points[i].ts - points[i - 1].ts;
	if (nsteps > 0)
	{
		qsort(steps, nsteps, sizeof(int64), compare_int64);
		median = steps[nsteps / 2];
	}
	pfree(steps);
	return median;
}

static int
finest_level_for(int64 spacing)
{
	int			level = 0;

	while (level < SUMMARY_MAX_LEVEL &&
		   SummaryLevelWidth(level) < spacing * SUMMARY_POINTS_PER_BUCKET)
		level++;
	return level;
}

static bool
fetch_grid(int32 metric_id, int *finest, int *coarsest, bool *has_spacing)
{
	Datum		arg = Int32GetDatum(metric_id);
	bool		isnull;

	if (SPI_execute_plan(KeptPlanGet(&grid_select_plan), &arg, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading mnemic.summary_grid failed");
	if (SPI_processed == 0)
		return false;
	*finest = DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	*coarsest = DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 2, &isnull));
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3,
						 &isnull);
	*has_spacing = !isnull;
	return true;
}

/*
 * The levels this metric keeps, deciding them now if this is its first
 * block.  A concurrent first block may win the insert; both then read the
 * same row.
 */
static void
metric_levels(int32 metric_id, const SeriesPoint *points, int n,
			  int *finest, int *coarsest)
{
	int64		spacing = median_spacing(points, n);
	bool		has_spacing;

	if (!fetch_grid(metric_id, finest, coarsest, &has_spacing))
	{
		int64		basis = spacing;
		Datum		args[4];
		char		nulls[4] = {' ', ' ', ' ', ' '};
		int			level;

		if (basis <= 0)
		{
			Datum		arg = Int32GetDatum(metric_id);
			bool		isnull = true;

			if (SPI_execute_plan(KeptPlanGet(&run_period_plan), &arg, NULL, true, 1) == SPI_OK_SELECT &&
				SPI_processed == 1)
				basis = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1,
													&isnull));
			if (isnull || basis <= 0)
				basis = SUMMARY_DEFAULT_SPACING_US;
		}
		level = finest_level_for(basis);
		args[0] = Int32GetDatum(metric_id);
		args[1] = Int16GetDatum(level);
		args[2] = Int16GetDatum(Min(level + SUMMARY_LEVELS_KEPT - 1,
									SUMMARY_MAX_LEVEL));
		args[3] = Int64GetDatum(spacing);
		if (spacing <= 0)
			nulls[3] = 'n';
		if (SPI_execute_plan(KeptPlanGet(&grid_insert_plan), args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "writing mnemic.summary_grid failed");
		if (!fetch_grid(metric_id, finest, coarsest, &has_spacing))
			elog(ERROR, "mnemic.summary_grid row of metric %d vanished", metric_id);
	}
	if (!has_spacing && spacing > 0)
	{
		Datum		args[2] = {Int32GetDatum(metric_id), Int64GetDatum(spacing)};

		if (SPI_execute_plan(KeptPlanGet(&grid_spacing_plan), args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "updating mnemic.summary_grid failed");
	}
}

/* ---------------------------------------------------------------------
 * Buckets of one call, and the per-transaction accumulator
 *
 * SummaryAppend() only merges a call's buckets into a backend-local hash;
 * the touched rows are written once, at pre-commit, with one multi-row
 * upsert per chunk of rows.  Updating the same rows once per call made a
 * transaction of many calls walk ever longer chains of dead row versions.
 *
 * Subtransactions: the accumulator is a stack with one hash per nesting
 * level that added points.  A subtransaction's hash is merged into its
 * parent's on commit (or just relabelled when the parent has none) and
 * thrown away on abort, so rolled-back runs leave no trace in summaries.
 */

typedef struct SummaryKey
{
	int32		metric_id;
	int16		level;
	int16		pad;			/* always zero: keys are hashed as bytes */
	TimestampTz bucket;
} SummaryKey;

typedef struct SummaryEntry
{
	SummaryKey	key;
	BucketAgg	agg;
} SummaryEntry;

typedef struct SummaryAcc
{
	int			nest_level;
	HTAB	   *hash;
} SummaryAcc;

static MemoryContext acc_context = NULL;	/* child of TopTransactionContext */
static SummaryAcc *acc_stack = NULL;	/* in TopMemoryContext */
static int	acc_depth = 0;
static int	acc_capacity = 0;
static bool callbacks_registered = false;

/* rows per execution of the upsert */
#define SUMMARY_UPSERT_CHUNK 8192

/* A bucket of one level while summarising a call's sorted points. */
typedef struct LevelBucket
{
	TimestampTz bucket;
	BucketAgg	agg;
} LevelBucket;

/*
 * Buckets of the finest level from the sorted points, then each coarser
 * level from the buckets of the one below (widths grow by 4, buckets stay
 * aligned), instead of walking every point once per level.  emit is
 * called for every (level, bucket).
 */
typedef void (*BucketEmit) (void *arg, int level, TimestampTz bucket,
							const BucketAgg *agg);

static void
summarise_points(const SeriesPoint *points, int n, int finest, int coarsest,
				 BucketEmit emit, void *arg)
{
	LevelBucket *cur = palloc(sizeof(LevelBucket) * n);
	int			ncur = 0;
	int64		width = SummaryLevelWidth(finest);
	int			level;
	int			i;

	for (i = 0; i < n; i++)
	{
		TimestampTz b = FloorDiv(points[i].ts, width) * width;

		if (ncur == 0 || cur[ncur - 1].bucket != b)
		{
			cur[ncur].bucket = b;
			BucketAggInit(&cur[ncur].agg);
			ncur++;
		}
		BucketAggAddPoint(&cur[ncur - 1].agg, &points[i]);
	}

	for (level = finest;; level++)
	{
		int			nnext = 0;

		for (i = 0; i < ncur; i++)
			emit(arg, level, cur[i].bucket, &cur[i].agg);
		if (level >= coarsest)
			break;

		/* coarser level, in place: bucket starts only ever merge */
		width = SummaryLevelWidth(level + 1);
		for (i = 0; i < ncur; i++)
		{
			TimestampTz b = FloorDiv(cur[i].bucket, width) * width;

			if (nnext > 0 && cur[nnext - 1].bucket == b)
				BucketAggMerge(&cur[nnext - 1].agg, &cur[i].agg);
			else
			{
				cur[nnext].agg = cur[i].agg;
				cur[nnext].bucket = b;
				nnext++;
			}
		}
		ncur = nnext;
	}
	pfree(cur);
}

static HTAB *
acc_create_hash(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(SummaryKey);
	ctl.entrysize = sizeof(SummaryEntry);
	ctl.hcxt = acc_context;
	return hash_create("mnemic summary accumulator", 1024, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
acc_forget_all(void)
{
	/* the hashes live in acc_context, which the transaction frees */
	acc_depth = 0;
	acc_context = NULL;
}

/* The hash of the current nesting level, made on first use. */
static HTAB *
acc_current(void)
{
	int			nest = GetCurrentTransactionNestLevel();

	if (acc_depth > 0 && acc_stack[acc_depth - 1].nest_level == nest)
		return acc_stack[acc_depth - 1].hash;
	Assert(acc_depth == 0 || acc_stack[acc_depth - 1].nest_level < nest);
	if (acc_context == NULL)
		acc_context = AllocSetContextCreate(TopTransactionContext,
											"mnemic summary accumulator",
											ALLOCSET_DEFAULT_SIZES);
	if (acc_depth == acc_capacity)
	{
		int			capacity = Max(8, acc_capacity * 2);

		if (acc_stack == NULL)
			acc_stack = MemoryContextAlloc(TopMemoryContext,
										   sizeof(SummaryAcc) * capacity);
		else
			acc_stack = repalloc(acc_stack, sizeof(SummaryAcc) * capacity);
		acc_capacity = capacity;
	}
	acc_stack[acc_depth].nest_level = nest;
	acc_stack[acc_depth].hash = acc_create_hash();
	return acc_stack[acc_depth++].hash;
}

static void
acc_merge_entry(HTAB *hash, const SummaryKey *key, const BucketAgg *agg)
{
	SummaryEntry *entry;
	bool		found;

	entry = hash_search(hash, key, HASH_ENTER, &found);
	if (!found)
		entry->agg = *agg;
	else
		BucketAggMerge(&entry->agg, agg);
}

typedef struct AccEmitArg
{
	HTAB	   *hash;
	int32		metric_id;
} AccEmitArg;

static void
acc_emit(void *arg, int level, TimestampTz bucket, const BucketAgg *agg)
{
	AccEmitArg *a = (AccEmitArg *) arg;
	SummaryKey	key;

	memset(&key, 0, sizeof(key));
	key.metric_id = a->metric_id;
	key.level = (int16) level;
	key.bucket = bucket;
	acc_merge_entry(a->hash, &key, agg);
}

static void
rows_init(SummaryRows *rows, int capacity)
{
	int			c;

	rows->n = 0;
	rows->capacity = capacity;
	for (c = 0; c < SUMMARY_NCOLS; c++)
	{
		rows->values[c] = palloc(sizeof(Datum) * capacity);
		rows->nulls[c] = palloc(sizeof(bool) * capacity);
	}
}

static void
rows_set(SummaryRows *rows, int c, Datum value, bool isnull)
{
	rows->values[c][rows->n] = value;
	rows->nulls[c][rows->n] = isnull;
}

/* rows->metric_ids runs parallel to the columns */
static void
rows_add(SummaryRows *rows, int32 *metric_ids, int32 metric_id, int level,
		 TimestampTz bucket, const BucketAgg *agg)
{
	bool		empty = agg->n == 0;

	Assert(rows->n < rows->capacity);
	metric_ids[rows->n] = metric_id;
	rows_set(rows, 0, Int16GetDatum(level), false);
	rows_set(rows, 1, TimestampTzGetDatum(bucket), false);
	rows_set(rows, 2, Int64GetDatum(agg->n), false);
	rows_set(rows, 3, Float8GetDatum(agg->sum), false);
	rows_set(rows, 4, TimestampTzGetDatum(agg->first.ts), empty);
	rows_set(rows, 5, Float8GetDatum(agg->first.value), empty);
	rows_set(rows, 6, TimestampTzGetDatum(agg->last.ts), empty);
	rows_set(rows, 7, Float8GetDatum(agg->last.value), empty);
	rows_set(rows, 8, TimestampTzGetDatum(agg->min.ts), empty);
	rows_set(rows, 9, Float8GetDatum(agg->min.value), empty);
	rows_set(rows, 10, TimestampTzGetDatum(agg->max.ts), empty);
	rows_set(rows, 11, Float8GetDatum(agg->max.value), empty);
	rows_set(rows, 12, Int64GetDatum(agg->missing), false);
	rows_set(rows, 13, TimestampTzGetDatum(agg->missing_ts), agg->missing == 0);
	rows->n++;
}

static void
upsert_rows(const int32 *metric_ids, const SummaryRows *rows)
{
	Datum		args[SUMMARY_NCOLS + 1];
	Datum	   *ids = palloc(sizeof(Datum) * Max(rows->n, 1));
	int			c;

	for (c = 0; c < rows->n; c++)
		ids[c] = Int32GetDatum(metric_ids[c]);
	args[0] = PointerGetDatum(construct_array(ids, rows->n, INT4OID,
											  sizeof(int32), true,
											  TYPALIGN_INT));
	for (c = 0; c < SUMMARY_NCOLS; c++)
	{
		int16		typlen;
		bool		typbyval;
		char		typalign;
		int			dims[1] = {rows->n};
		int			lbs[1] = {1};

		get_typlenbyvalalign(summary_col_types[c], &typlen, &typbyval,
							 &typalign);
		args[c + 1] = PointerGetDatum(construct_md_array(rows->values[c],
														 rows->nulls[c], 1,
														 dims, lbs,
														 summary_col_types[c],
														 typlen, typbyval,
														 typalign));
	}
	if (SPI_execute_plan(KeptPlanGet(&upsert_plan), args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "writing mnemic.summary failed");
}

static int
compare_entries(const void *a, const void *b)
{
	const SummaryKey *x = &(*(SummaryEntry *const *) a)->key;
	const SummaryKey *y = &(*(SummaryEntry *const *) b)->key;

	if (x->metric_id != y->metric_id)
		return x->metric_id < y->metric_id ? -1 : 1;
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return 0;
}

/*
 * Upsert the given buckets, once per row, in key order (so that concurrent
 * writers lock rows in the same order), in chunks of SUMMARY_UPSERT_CHUNK.
 */
static void
write_entries(SummaryEntry **entries, long nentries)
{
	MemoryContext work;
	MemoryContext old;
	SummaryRows rows;
	int32	   *metric_ids;
	bool		pushed_snapshot = false;
	long		i;

	if (nentries == 0)
		return;
	work = AllocSetContextCreate(CurrentMemoryContext, "mnemic summary write",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	qsort(entries, nentries, sizeof(SummaryEntry *), compare_entries);

	SpiConnect();
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed_snapshot = true;
	}
	rows_init(&rows, (int) Min(nentries, SUMMARY_UPSERT_CHUNK));
	metric_ids = palloc(sizeof(int32) * rows.capacity);
	for (i = 0; i < nentries; i++)
	{
		rows_add(&rows, metric_ids, entries[i]->key.metric_id,
				 entries[i]->key.level, entries[i]->key.bucket,
				 &entries[i]->agg);
		if (rows.n == rows.capacity || i == nentries - 1)
		{
			upsert_rows(metric_ids, &rows);
			rows.n = 0;
		}
	}
	if (pushed_snapshot)
		PopActiveSnapshot();
	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
}

/* Every entry of hash, in an array allocated in the current context. */
static SummaryEntry **
hash_entries(HTAB *hash, long *nentries)
{
	SummaryEntry **entries;
	HASH_SEQ_STATUS seq;
	SummaryEntry *entry;
	long		n = 0;

	entries = palloc(sizeof(SummaryEntry *) *
					 Max(hash_get_num_entries(hash), 1));
	hash_seq_init(&seq, hash);
	while ((entry = hash_seq_search(&seq)) != NULL)
		entries[n++] = entry;
	*nentries = n;
	return entries;
}

/*
 * Write every accumulated bucket.  Only called at pre-commit, when no
 * subtransaction is open, so one hash is left.
 */
static void
acc_flush(void)
{
	MemoryContext old;
	SummaryEntry **entries;
	HASH_SEQ_STATUS seq;
	SummaryEntry *entry;
	long		nentries;

	/* merge what is left of inner levels (there should be none) */
	while (acc_depth > 1)
	{
		HTAB	   *from = acc_stack[acc_depth - 1].hash;

		hash_seq_init(&seq, from);
		while ((entry = hash_seq_search(&seq)) != NULL)
			acc_merge_entry(acc_stack[acc_depth - 2].hash, &entry->key,
							&entry->agg);
		acc_depth--;
	}
	if (acc_depth == 0)
		return;

	old = MemoryContextSwitchTo(acc_context);
	entries = hash_entries(acc_stack[0].hash, &nentries);
	/* the accumulator is gone whatever happens now */
	acc_depth = 0;
	write_entries(entries, nentries);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(acc_context);
	acc_context = NULL;
}

/*
 * Write now what the current (sub)transaction accumulated, rather than at
 * commit.  The inserter calls this at the end of each run's subtransaction,
 * so that a failing summary write costs that run alone, as any other failure
 * of its rows does; at commit there would be no run left to blame, and the
 * whole flush would be lost.  Callers that flush many times in one
 * transaction (a replay through ingest_datagram) leave summaries for commit,
 * where each row is written once.
 */
void
SummaryWritePending(void)
{
	int			nest = GetCurrentTransactionNestLevel();
	SummaryEntry **entries;
	long		nentries;

	if (acc_depth == 0 || acc_stack[acc_depth - 1].nest_level != nest)
		return;
	entries = hash_entries(acc_stack[acc_depth - 1].hash, &nentries);
	write_entries(entries, nentries);
	hash_destroy(acc_stack[acc_depth - 1].hash);
	acc_depth--;
	pfree(entries);
}

static void
summary_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			acc_flush();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_ABORT:
			acc_forget_all();
			break;
		default:
			break;
	}
}

static void
summary_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	int			nest = GetCurrentTransactionNestLevel();
	SummaryAcc *top;

	if (acc_depth == 0 || acc_stack[acc_depth - 1].nest_level != nest)
		return;
	top = &acc_stack[acc_depth - 1];
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		hash_destroy(top->hash);
		acc_depth--;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		if (acc_depth > 1 && acc_stack[acc_depth - 2].nest_level == nest - 1)
		{
			HTAB	   *into = acc_stack[acc_depth - 2].hash;
			HASH_SEQ_STATUS seq;
			SummaryEntry *entry;

			hash_seq_init(&seq, top->hash);
			while ((entry = hash_seq_search(&seq)) != NULL)
				acc_merge_entry(into, &entry->key, &entry->agg);
			hash_destroy(top->hash);
			acc_depth--;
		}
		else
			top->nest_level = nest - 1;
	}
}

static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(summary_xact_callback, NULL);
	RegisterSubXactCallback(summary_subxact_callback, NULL);
	callbacks_registered = true;
}

void
SummaryForgetMetric(int32 metric_id)
{
	int			d;

	for (d = 0; d < acc_depth; d++)
	{
		HASH_SEQ_STATUS seq;
		SummaryEntry *entry;

		hash_seq_init(&seq, acc_stack[d].hash);
		while ((entry = hash_seq_search(&seq)) != NULL)
			if (entry->key.metric_id == metric_id)
				hash_search(acc_stack[d].hash, &entry->key, HASH_REMOVE, NULL);
	}
}

void
SummaryAppend(int32 metric_id, const TimestampTz *ts, const double *values,
			  const bool *isnull, int n)
{
	MemoryContext work;
	MemoryContext old;
	SeriesPoint *points;
	bool		pushed_snapshot = false;
	int			npoints = 0;
	int			finest;
	int			coarsest;
	int			i;

	if (n <= 0)
		return;
	register_callbacks();
	work = AllocSetContextCreate(CurrentMemoryContext, "mnemic summary",
								 ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);

	/* infinite timestamps belong to no bucket */
	points = palloc(sizeof(SeriesPoint) * n);
	for (i = 0; i < n; i++)
	{
		if (TIMESTAMP_NOT_FINITE(ts[i]))
			continue;
		points[npoints].ts = ts[i];
		points[npoints].isnull = isnull != NULL && isnull[i];
		points[npoints].value = points[npoints].isnull ? 0.0 : values[i];
		npoints++;
	}
	SortPoints(points, npoints);

	if (npoints > 0)
	{
		AccEmitArg arg;

		SpiConnect();
		if (!ActiveSnapshotSet())
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			pushed_snapshot = true;
		}
			metric_levels(metric_id, points, npoints, &finest, &coarsest);
		if (pushed_snapshot)
			PopActiveSnapshot();
		SPI_finish();

		arg.hash = acc_current();
		arg.metric_id = metric_id;
		summarise_points(points, npoints, finest, coarsest, acc_emit, &arg);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
}

