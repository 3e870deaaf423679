/*
 * store.c
 *	  The one path samples take into the tables (see store.h).
 *
 * A StoreBatch groups what arrives by run, and within a run by metric
 * position, into growing C arrays; nothing per sample is allocated or sent
 * through SPI.  StoreBatchFlush() then writes run after run, each in its own
 * subtransaction: the rare metadata (tracer, run and metric rows, the run's
 * counters) through SPI with parameters, the samples as mnemic.block rows of
 * at most BLOCK_MAX points through table_multi_insert() with index
 * maintenance, as COPY does.
 *
 * Backend-local caches map run uuid -> run id and (run id, idx) -> metric id
 * across flushes.  They are validated cheaply: every flush locks and reads
 * each run's row by id and uuid (which it needs anyway to update the
 * counters), and a run found missing makes the store forget everything and
 * recreate it.  The caches are also forgotten when the extension was
 * recreated (mnemic.block has a new OID) and when a transaction or
 * subtransaction that added entries aborts, so they never name rows that a
 * rollback removed.  The run cache also keeps the ctid of the run's row
 * version this backend wrote last, so that many flushes in one transaction
 * do not walk an ever longer chain of row versions.
 *
 * Summaries (summary.h) are appended once per metric per flush, with all of
 * the metric's points of the flush, rather than once per block.
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "block.h"
#include "counters.h"
#include "pgtime.h"
#include "profile_store.h"
#include "sequence.h"
#include "spi_helpers.h"
#include "store.h"
#include "summary.h"
#include "xact_cache.h"

/* Cached metrics beyond which the caches start afresh (~100 B each). */
#define CACHE_MAX_METRICS	100000

/* Points handed to SummaryAppend() at once (it takes an int count). */
#define SUMMARY_CHUNK	(1024 * 1024)

/* Backend-local caches, see the file header. */
typedef struct RunCacheEntry
{
	pg_uuid_t	uuid;
	int32		run_id;
	bool		tid_valid;
	ItemPointerData tid;		/* of the row version this backend last wrote */
} RunCacheEntry;

typedef struct MetricKey
{
	int32		run_id;
	int32		idx;
} MetricKey;

typedef struct MetricCacheEntry
{
	MetricKey	key;
	int32		metric_id;
	char	   *name;			/* server encoding, in cache_cxt */
	int64		max_span_us;
} MetricCacheEntry;

static MemoryContext cache_cxt = NULL;
static HTAB *run_cache = NULL;
static HTAB *metric_cache = NULL;
static Oid	cache_block_relid = InvalidOid;

/* SPI statements of the metadata path, prepared once and kept. */
typedef enum StorePlan
{
	PLAN_RUN_INSERT,
	PLAN_RUN_FIND,
	PLAN_RUN_LOCK,
	PLAN_RUN_LOCK_TID,
	PLAN_RUN_UPDATE,
	PLAN_TRACER_INSERT,
	PLAN_TRACER_FIND,
	PLAN_METRIC_NAME_UPSERT,
	PLAN_METRIC_INSERT,
	PLAN_METRIC_FIND,
	PLAN_METRIC_FIND_BY_NAME,
	PLAN_METRIC_INSERT_NEXT,
	PLAN_METRIC_SPAN,
	PLAN_COUNT
} StorePlan;

static KeptPlan plans[PLAN_COUNT] = {
	[PLAN_RUN_INSERT] = {
		"INSERT INTO mnemic.run (uuid, protocol, first_seen, last_seen) "
		"VALUES ($1, $2, $3, $3) ON CONFLICT (uuid) DO NOTHING RETURNING id",
		3, {UUIDOID, TEXTOID, TIMESTAMPTZOID}
	},
	[PLAN_RUN_FIND] = {
		"SELECT id FROM mnemic.run WHERE uuid = $1",
		1, {UUIDOID}
	},
	/* Locks the run for the flush and reads what the counters need. */
	[PLAN_RUN_LOCK] = {
		"SELECT first_seq, max_seq, seq_datagrams, lost, seq_resets, "
		"last_seen, ctid FROM mnemic.run WHERE id = $1 AND uuid = $2 "
		"FOR UPDATE",
		2, {INT4OID, UUIDOID}
	},

	/*
	 * The same, straight to the row version this backend wrote last.  Many
	 * flushes in one transaction (a replay through ingest_datagram) make a
	 * long chain of versions of the run's row, which a lookup by id walks
	 * from its start every time: quadratic.  Finds nothing when someone
	 * else updated the row since; the lookup by id then does.
	 */
	[PLAN_RUN_LOCK_TID] = {
		"SELECT first_seq, max_seq, seq_datagrams, lost, seq_resets, "
		"last_seen, ctid FROM mnemic.run WHERE ctid = $3 AND id = $1 "
		"AND uuid = $2 FOR UPDATE",
		3, {INT4OID, UUIDOID, TIDOID}
	},
	[PLAN_RUN_UPDATE] = {
		"UPDATE mnemic.run SET datagrams = datagrams + $2, "
		"samples = samples + $3, last_seen = greatest(last_seen, $4), "
		"first_seq = $5, max_seq = $6, lost = $7, seq_datagrams = $17, "
		"seq_resets = $18, "
		"tracer_id = coalesce($8, tracer_id), host = coalesce($9, host), "
		"pid = coalesce($10, pid), program = coalesce($11, program), "
		"python_version = coalesce($12, python_version), "
		"period = coalesce($13, period), started = least(started, $14), "
		"ended = coalesce($15, ended), changed = pg_current_xact_id() "
		"WHERE ctid = $16 AND id = $1 "
		"RETURNING ctid",
		18, {INT4OID, INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID, INT8OID,
			INT8OID, INT4OID, TEXTOID, INT4OID, TEXTOID, TEXTOID, INTERVALOID,
		TIMESTAMPTZOID, TIMESTAMPTZOID, TIDOID, INT8OID, INT8OID}
	},
	[PLAN_TRACER_INSERT] = {
		"INSERT INTO mnemic.tracer (name) VALUES ($1) "
		"ON CONFLICT (name) DO NOTHING RETURNING id",
		1, {TEXTOID}
	},
	[PLAN_TRACER_FIND] = {
		"SELECT id FROM mnemic.tracer WHERE name = $1",
		1, {TEXTOID}
	},
	[PLAN_METRIC_NAME_UPSERT] = {
		"INSERT INTO mnemic.metric (run_id, idx, name) VALUES ($1, $2, $3) "
		"ON CONFLICT (run_id, idx) DO UPDATE SET name = EXCLUDED.name "
		"WHERE metric.name IS DISTINCT FROM EXCLUDED.name "
		"RETURNING id, name, max_span",
		3, {INT4OID, INT4OID, TEXTOID}
	},
	[PLAN_METRIC_INSERT] = {
		"INSERT INTO mnemic.metric (run_id, idx, name) "
		"VALUES ($1, $2, 'col_' || $2) ON CONFLICT (run_id, idx) DO NOTHING "
		"RETURNING id, name, max_span",
		2, {INT4OID, INT4OID}
	},
	[PLAN_METRIC_FIND] = {
		"SELECT id, name, max_span FROM mnemic.metric "
		"WHERE run_id = $1 AND idx = $2",
		2, {INT4OID, INT4OID}
	},
	[PLAN_METRIC_FIND_BY_NAME] = {
		"SELECT idx FROM mnemic.metric WHERE run_id = $1 AND name = $2 "
		"ORDER BY idx LIMIT 1",
		2, {INT4OID, TEXTOID}
	},
	/* The run's row is locked by the flush, so max(idx) + 1 is ours. */
	[PLAN_METRIC_INSERT_NEXT] = {
		"INSERT INTO mnemic.metric (run_id, idx, name) "
		"SELECT $1, coalesce(max(idx) + 1, 0), $2 FROM mnemic.metric "
		"WHERE run_id = $1 RETURNING idx",
		2, {INT4OID, TEXTOID}
	},
	[PLAN_METRIC_SPAN] = {
		"UPDATE mnemic.metric SET max_span = greatest(max_span, $2) "
		"WHERE id = $1",
		2, {INT4OID, INTERVALOID}
	},
};



/* ---------------------------------------------------------------------
 * Caches
 * ---------------------------------------------------------------------
 */

void
StoreForgetCache(void)
{
	if (cache_cxt != NULL)
		MemoryContextDelete(cache_cxt);
	cache_cxt = NULL;
	run_cache = NULL;
	metric_cache = NULL;
	cache_block_relid = InvalidOid;
}

static void
cache_ensure(Oid block_relid)
{
	HASHCTL		ctl;

	XactCacheRegister(StoreForgetCache);

	/*
	 * A recreated extension reuses ids: the old cache would mislead.  And
	 * runs come and go for as long as the inserter lives, so the cache is
	 * dropped when it grows large rather than kept forever; refilling it
	 * costs one lookup per run and metric.
	 */
	if (cache_cxt != NULL &&
		(cache_block_relid != block_relid ||
		 hash_get_num_entries(metric_cache) > CACHE_MAX_METRICS))
		StoreForgetCache();
	if (cache_cxt != NULL)
		return;

	cache_cxt = AllocSetContextCreate(TopMemoryContext, "mnemic store cache",
									  ALLOCSET_DEFAULT_SIZES);
	cache_block_relid = block_relid;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(RunCacheEntry);
	ctl.hcxt = cache_cxt;
	run_cache = hash_create("mnemic run cache", 256, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(MetricKey);
	ctl.entrysize = sizeof(MetricCacheEntry);
	ctl.hcxt = cache_cxt;
	metric_cache = hash_create("mnemic metric cache", 1024, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
cache_remember_run(const pg_uuid_t *uuid, int32 run_id)
{
	RunCacheEntry *entry;

	entry = hash_search(run_cache, uuid, HASH_ENTER, NULL);
	entry->run_id = run_id;
	entry->tid_valid = false;
	XactCacheAdded();
}

static MetricCacheEntry *
cache_remember_metric(int32 run_id, int32 idx, int32 metric_id,
					  const char *name, int64 max_span_us)
{
	MetricKey	key;
	MetricCacheEntry *entry;
	bool		found;

	key.run_id = run_id;
	key.idx = idx;
	entry = hash_search(metric_cache, &key, HASH_ENTER, &found);
	if (found && entry->name != NULL)
		pfree(entry->name);
	entry->metric_id = metric_id;
	entry->name = MemoryContextStrdup(cache_cxt, name);
	entry->max_span_us = max_span_us;
	XactCacheAdded();
	return entry;
}


/* ---------------------------------------------------------------------
 * SPI helpers for the metadata path
 * ---------------------------------------------------------------------
 */

/* Run one of the statements above; returns the number of rows. */
static uint64
store_exec(StorePlan which, Datum *values, const char *nulls)
{
	return KeptPlanExec(&plans[which], values, nulls, false, 0);
}

/* From the first row of an (id, name, max_span) result. */
static MetricCacheEntry *
remember_metric_result(int32 run_id, int32 idx)
{
	bool		isnull;
	int32		metric_id = SpiResultInt32(1);
	char	   *name = TextDatumGetCString(SpiResult(0, 2, &isnull));
	Interval   *span = DatumGetIntervalP(SpiResult(0, 3, &isnull));

	return cache_remember_metric(run_id, idx, metric_id, name,
								 interval_to_us(span));
}


/* ---------------------------------------------------------------------
 * Flushing one run
 * ---------------------------------------------------------------------
 */

static char *
server_string(const char *utf8)
{
	return pg_any_to_server(utf8, strlen(utf8), PG_UTF8);
}

static int32
tracer_id_for(const char *utf8_name)
{
	Datum		args[1];

	/*
	 * Look before inserting: every description names its tracer again, and
	 * an INSERT that meets a conflict still uses up a serial number.
	 */
	args[0] = WireTextDatum(utf8_name);
	if (store_exec(PLAN_TRACER_FIND, args, NULL) == 0 &&
		store_exec(PLAN_TRACER_INSERT, args, NULL) == 0 &&
		store_exec(PLAN_TRACER_FIND, args, NULL) == 0)
		elog(ERROR, "pg_mnemic: tracer vanished while being created");
	return SpiResultInt32(1);
}

static int32
run_create(RunBuffer *rb)
{
	Datum		args[3];
	int32		run_id;

	args[0] = UUIDPGetDatum(&rb->uuid);
	args[1] = CStringGetTextDatum(rb->protocol);
	args[2] = TimestampTzGetDatum(rb->first_arrival);
	if (store_exec(PLAN_RUN_INSERT, args, NULL) == 0 &&
		store_exec(PLAN_RUN_FIND, args, NULL) == 0)
		elog(ERROR, "pg_mnemic: run vanished while being created");
	run_id = SpiResultInt32(1);
	cache_remember_run(&rb->uuid, run_id);
	return run_id;
}

/* What the run's row holds before this flush. */
typedef struct RunCounters
{
	SeqState	seq;			/* sequence, lost and resets */
	ItemPointerData tid;		/* of the locked row version */
} RunCounters;

/*
 * Lock the run's row for this flush and read its counters; create the run
 * if it is new, or if it was deleted since it was cached.  Locking runs in
 * uuid order (the flush sorts them) keeps concurrent flushes from
 * deadlocking.
 */
static int32
run_lock(RunBuffer *rb, RunCounters *rc)
{
	RunCacheEntry *cached;
	int32		run_id;
	Datum		args[3];
	bool		isnull;

	cached = hash_search(run_cache, &rb->uuid, HASH_FIND, NULL);
	run_id = cached != NULL ? cached->run_id : run_create(rb);

	args[0] = Int32GetDatum(run_id);
	args[1] = UUIDPGetDatum(&rb->uuid);
	if (cached != NULL && cached->tid_valid)
		args[2] = PointerGetDatum(&cached->tid);
	if ((cached == NULL || !cached->tid_valid ||
		 store_exec(PLAN_RUN_LOCK_TID, args, NULL) == 0) &&
		store_exec(PLAN_RUN_LOCK, args, NULL) == 0)
	{
		Oid			block_relid = cache_block_relid;

		if (cached == NULL)
			elog(ERROR, "pg_mnemic: run vanished while being created");
		/* Deleted behind our back, and its metrics with it. */
		StoreForgetCache();
		cache_ensure(block_relid);
		run_id = run_create(rb);
		args[0] = Int32GetDatum(run_id);
		if (store_exec(PLAN_RUN_LOCK, args, NULL) == 0)
			elog(ERROR, "pg_mnemic: run vanished while being created");
	}

	rc->seq.first = DatumGetInt64(SpiResult(0, 1, &isnull));
	rc->seq.valid = !isnull;
	rc->seq.last = DatumGetInt64(SpiResult(0, 2, &isnull));
	rc->seq.valid &= !isnull;
	rc->seq.count = DatumGetInt64(SpiResult(0, 3, &isnull));
	rc->seq.valid &= !isnull;
	rc->seq.lost = DatumGetInt64(SpiResult(0, 4, &isnull));
	rc->seq.resets = DatumGetInt64(SpiResult(0, 5, &isnull));
	rc->seq.last_arrival = DatumGetTimestampTz(SpiResult(0, 6, &isnull));
	rc->tid = *(ItemPointer) DatumGetPointer(SpiResult(0, 7, &isnull));
	return run_id;
}

static Datum
text_arg(const char *utf8, char *null)
{
	*null = utf8 != NULL ? ' ' : 'n';
	return utf8 != NULL ? WireTextDatum(utf8) : (Datum) 0;
}

/*
 * Update the run's counters and description.  Sequence numbers are stored
 * unwrapped to 64 bits (sequence.h), so a run that wraps past 2^32 keeps
 * counting.
 */
static void
run_update(RunBuffer *rb, int32 run_id, int32 tracer_id, RunCounters *rc)
{
	SeqState	before = rc->seq;
	Datum		args[18];
	char		nulls[19];
	RunCacheEntry *cached;

	seq_state_merge(&rc->seq, &rb->seq);
	/* A late datagram may fill a gap: the counter follows both ways. */
	if (rc->seq.lost != before.lost)
		CountersAdd(&listener_counters->lost, (uint64) (rc->seq.lost - before.lost));
	if (rc->seq.resets != before.resets)
		CountersAdd(&listener_counters->seq_resets,
					   (uint64) (rc->seq.resets - before.resets));

	memset(nulls, ' ', sizeof(nulls));
	nulls[18] = '\0';
	args[0] = Int32GetDatum(run_id);
	args[1] = Int64GetDatum(rb->datagrams);
	args[2] = Int64GetDatum(rb->samples);
	args[3] = TimestampTzGetDatum(rb->last_arrival);
	args[4] = Int64GetDatum(rc->seq.first);
	args[5] = Int64GetDatum(rc->seq.last);
	args[16] = Int64GetDatum(rc->seq.count);
	if (!rc->seq.valid)
		nulls[4] = nulls[5] = nulls[16] = 'n';
	args[6] = Int64GetDatum(rc->seq.lost);
	args[17] = Int64GetDatum(rc->seq.resets);
	args[7] = Int32GetDatum(tracer_id);
	nulls[7] = tracer_id != 0 ? ' ' : 'n';
	args[8] = text_arg(rb->host, &nulls[8]);
	args[9] = Int32GetDatum(rb->pid);
	nulls[9] = rb->pid != 0 ? ' ' : 'n';
	args[10] = text_arg(rb->program, &nulls[10]);
	args[11] = text_arg(rb->python_version, &nulls[11]);
	args[12] = rb->period_us != 0 ? us_to_interval_datum(rb->period_us) : (Datum) 0;
	nulls[12] = rb->period_us != 0 ? ' ' : 'n';
	args[13] = TimestampTzGetDatum(rb->started);
	nulls[13] = rb->has_started ? ' ' : 'n';
	args[14] = TimestampTzGetDatum(rb->ended);
	nulls[14] = rb->has_ended ? ' ' : 'n';
	args[15] = PointerGetDatum(&rc->tid);
	if (store_exec(PLAN_RUN_UPDATE, args, nulls) != 1)
		elog(ERROR, "pg_mnemic: locked run %d could not be updated", run_id);

	cached = hash_search(run_cache, &rb->uuid, HASH_FIND, NULL);
	if (cached != NULL)
	{
		bool		isnull;

		cached->tid = *(ItemPointer) DatumGetPointer(SpiResult(0, 1, &isnull));
		cached->tid_valid = true;
		XactCacheAdded();
	}
}

/* Name metric idx of the run, creating it; skipped when the cache agrees. */
static void
metric_set_name(int32 run_id, int32 idx, const char *utf8)
{
	char	   *name = server_string(utf8);
	MetricKey	key;
	MetricCacheEntry *cached;
	Datum		args[3];

	key.run_id = run_id;
	key.idx = idx;
	cached = hash_search(metric_cache, &key, HASH_FIND, NULL);
	if (cached != NULL && strcmp(cached->name, name) == 0)
		return;

	args[0] = Int32GetDatum(run_id);
	args[1] = Int32GetDatum(idx);
	args[2] = CStringGetTextDatum(name);
	/* No row back when the name was already right: read it instead. */
	if (store_exec(PLAN_METRIC_NAME_UPSERT, args, NULL) == 0 &&
		store_exec(PLAN_METRIC_FIND, args, NULL) == 0)
		elog(ERROR, "pg_mnemic: metric vanished while being named");
	remember_metric_result(run_id, idx);
}

/* Metric idx of the run, created with a placeholder name if new. */
static MetricCacheEntry *
metric_for(int32 run_id, int32 idx)
{
	MetricKey	key;
	MetricCacheEntry *cached;
	Datum		args[2];

	key.run_id = run_id;
	key.idx = idx;
	cached = hash_search(metric_cache, &key, HASH_FIND, NULL);
	if (cached != NULL)
		return cached;

	args[0] = Int32GetDatum(run_id);
	args[1] = Int32GetDatum(idx);
	if (store_exec(PLAN_METRIC_INSERT, args, NULL) == 0 &&
		store_exec(PLAN_METRIC_FIND, args, NULL) == 0)
		elog(ERROR, "pg_mnemic: metric vanished while being created");
	return remember_metric_result(run_id, idx);
}

/* import_series names metrics: the first with that name, or a new one. */
static int32
metric_idx_by_name(int32 run_id, const char *utf8)
{
	Datum		args[2];

	args[0] = Int32GetDatum(run_id);
	args[1] = WireTextDatum(utf8);
	if (store_exec(PLAN_METRIC_FIND_BY_NAME, args, NULL) == 0 &&
		store_exec(PLAN_METRIC_INSERT_NEXT, args, NULL) == 0)
		elog(ERROR, "pg_mnemic: could not create metric");
	return SpiResultInt32(1);
}


/* Write a metric's points as blocks of at most BLOCK_MAX; keep max_span. */
static void
write_series(BlockWriter *w, int32 run_id, SeriesBuffer *sb)
{
	MetricCacheEntry *metric = metric_for(run_id, sb->idx);
	int32		metric_id = metric->metric_id;
	int64		max_span = 0;

	SeriesBufferSort(sb);
	for (int64 start = 0; start < sb->n; start += BLOCK_MAX)
	{
		int			n = (int) Min(BLOCK_MAX, sb->n - start);
		const TimestampTz *ts = sb->ts + start;
		const double *values = sb->values + start;
		const bool *isnull = NULL;

		if (sb->anynull)
			for (int i = 0; i < n && isnull == NULL; i++)
				if (sb->isnull[start + i])
					isnull = sb->isnull + start;

		max_span = Max(max_span, ts[n - 1] - ts[0]);
		BlockWriterAdd(w, metric_id, ts, values, isnull, n);
	}

	/*
	 * One summary update for all the blocks of this metric in this flush:
	 * summaries merge the same whatever the grouping, and each call rewrites
	 * the metric's coarse buckets, so one call per block would rewrite them
	 * once per block.
	 */
	for (int chunk = 0; (int64) chunk * SUMMARY_CHUNK < sb->n; chunk++)
	{
		int64		start = (int64) chunk * SUMMARY_CHUNK;
		int			n = (int) Min(SUMMARY_CHUNK, sb->n - start);

		SummaryAppend(metric_id, sb->ts + start, sb->values + start,
					  sb->anynull ? sb->isnull + start : NULL, n);
	}

	if (max_span > metric->max_span_us)
	{
		Datum		args[2];

		args[0] = Int32GetDatum(metric_id);
		args[1] = us_to_interval_datum(max_span);
		store_exec(PLAN_METRIC_SPAN, args, NULL);
		metric->max_span_us = max_span;
		XactCacheAdded();
	}
}

/* Everything of one run; runs inside its own subtransaction. */
static void
flush_run(StoreBatch *batch, BlockWriter *w, RunBuffer *rb)
{
	RunCounters rc;
	int32		run_id;
	int32		tracer_id = 0;
	ListCell   *lc;

	/* A previous run's failure may have made the store forget its caches. */
	cache_ensure(RelationGetRelid(w->rel));
	run_id = run_lock(rb, &rc);
	if (rb->tracer != NULL)
		tracer_id = tracer_id_for(rb->tracer);
	run_update(rb, run_id, tracer_id, &rc);

	for (int idx = 0; idx < rb->names_len; idx++)
		if (rb->names[idx] != NULL)
			metric_set_name(run_id, idx, rb->names[idx]);

	foreach(lc, rb->named_series)
	{
		SeriesBuffer *sb = lfirst(lc);

		sb->idx = metric_idx_by_name(run_id, sb->name);
		if (sb->n > 0)
			write_series(w, run_id, sb);
	}
	for (int idx = 0; idx < rb->series_len; idx++)
		if (rb->series[idx] != NULL && rb->series[idx]->n > 0)
			write_series(w, run_id, rb->series[idx]);
	if (rb->rss != NULL && rb->rss->n > 0)
	{
		metric_set_name(run_id, RSS_METRIC_IDX, RSS_METRIC_NAME);
		write_series(w, run_id, rb->rss);
	}
	if (rb->profile != NULL)
		ProfileFlushRun(run_id, rb->profile);
	BlockWriterFinishRun(w);
	if (batch->summaries == STORE_SUMMARIES_PER_RUN)
		SummaryWritePending();
}

/*
 * One run in a subtransaction, as a PL/pgSQL exception block does it: a
 * failure is logged with the run's uuid, counted, and the flush goes on.
 * Returns the samples stored.
 */
static int64
flush_run_guarded(StoreBatch *batch, BlockWriter *w, RunBuffer *rb,
				  MemoryContext run_cxt)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	int64		stored = 0;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(run_cxt);
	PG_TRY();
	{
		flush_run(batch, w, rb);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		stored = rb->samples + rb->profile_samples;
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *uuid;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		BlockWriterAbandonRun(w);

		/* A cancel is the caller's to see, not one run's failure. */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);

		/*
		 * A WARNING tells an SQL caller (ingest_datagram); the inserter has
		 * no client, and LOG reaches the server log whatever
		 * log_min_messages says.
		 */
		uuid = DatumGetCString(DirectFunctionCall1(uuid_out,
												   UUIDPGetDatum(&rb->uuid)));
		ereport(whereToSendOutput == DestRemote ? WARNING : LOG,
				(errcode(edata->sqlerrcode),
				 errmsg("pg_mnemic: samples of run %s not stored: %s",
						uuid, edata->message),
				 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
				 errcontext("flushing %lld samples of run %s",
							(long long) rb->samples, uuid)));
		/* The text first: whoever sees the count then sees what failed. */
		if (listener_counters != NULL)
			CountersSetError(psprintf("run %s: %s", uuid, edata->message));
		CountersAdd(&listener_counters->flush_errors, 1);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextReset(run_cxt);
	return stored;
}

static int
compare_run_uuid(const void *a, const void *b)
{
	const RunBuffer *ra = *(RunBuffer *const *) a;
	const RunBuffer *rb = *(RunBuffer *const *) b;

	return memcmp(ra->uuid.data, rb->uuid.data, UUID_LEN);
}

static void
flush_runs(StoreBatch *batch, int64 *stored)
{
	RunBuffer **runs;
	int			nruns = 0;
	HASH_SEQ_STATUS seq;
	RunBuffer  *rb;
	BlockWriter writer;
	MemoryContext run_cxt;

	runs = palloc(hash_get_num_entries(batch->runs) * sizeof(RunBuffer *));
	hash_seq_init(&seq, batch->runs);
	while ((rb = hash_seq_search(&seq)) != NULL)
		runs[nruns++] = rb;
	qsort(runs, nruns, sizeof(RunBuffer *), compare_run_uuid);

	SpiConnect();
	cache_ensure(BlockRelid());
	BlockWriterOpen(&writer, cache_block_relid);
	run_cxt = AllocSetContextCreate(CurrentMemoryContext, "mnemic flush run",
									ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < nruns; i++)
		*stored += flush_run_guarded(batch, &writer, runs[i], run_cxt);
	MemoryContextDelete(run_cxt);
	BlockWriterClose(&writer);
	SPI_finish();
	pfree(runs);
}

int64
StoreBatchFlush(StoreBatch *batch)
{
	int64		stored = 0;

	if (batch->runs == NULL)
		return 0;
	if (batch->bad_timestamps > 0)
		ereport(LOG,
				(errmsg("pg_mnemic: dropped %lld v1 samples whose time is out of range",
						(long long) batch->bad_timestamps)));

	PG_TRY();
	{
		flush_runs(batch, &stored);
	}
	PG_FINALLY();
	{
		StoreBatchReset(batch);
	}
	PG_END_TRY();

	/* samples_stored is the caller's to count, once its commit succeeded. */
	return stored;
}
