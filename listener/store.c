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

#include "sequence.h"
#include "stats.h"
#include "store.h"
#include "summary.h"

/*
 * Points per mnemic.block row.  A block of n points without NULLs is a
 * 104 + 16n byte heap tuple, so 248 points is the largest block of which two
 * fit one 8 kB page; 256 would leave every page half empty.  See
 * docs/storage.md for the measurements.
 */
#define BLOCK_MAX	248

/* Cached metrics beyond which the caches start afresh (~100 B each). */
#define CACHE_MAX_METRICS	100000

/* Points handed to SummaryAppend() at once (it takes an int count). */
#define SUMMARY_CHUNK	(1024 * 1024)

/* Blocks handed to table_multi_insert() at once (about 1 MB). */
#define MULTI_INSERT_MAX	256

/* µs between the Unix epoch and PostgreSQL's (2000-01-01). */
#define UNIX_TO_PG_EPOCH_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/*
 * The columns of mnemic.block the writer fills, as in sql/schema.sql.  They
 * are found by name among the table's live columns, so a column added and
 * dropped again (which leaves a dropped attribute behind) changes nothing.
 */
typedef enum BlockColumn
{
	BLOCK_METRIC_ID,
	BLOCK_T_FIRST,
	BLOCK_T_LAST,
	BLOCK_N,
	BLOCK_TS,
	BLOCK_VALUE,
	BLOCK_NCOLUMNS
} BlockColumn;

static const struct
{
	const char *name;
	Oid			type;
}			block_columns[BLOCK_NCOLUMNS] = {
	[BLOCK_METRIC_ID] = {"metric_id", INT4OID},
	[BLOCK_T_FIRST] = {"t_first", TIMESTAMPTZOID},
	[BLOCK_T_LAST] = {"t_last", TIMESTAMPTZOID},
	[BLOCK_N] = {"n", INT4OID},
	[BLOCK_TS] = {"ts", TIMESTAMPTZARRAYOID},
	[BLOCK_VALUE] = {"value", FLOAT8ARRAYOID},
};

/* Points of one metric of one run, waiting to be written. */
typedef struct SeriesBuffer
{
	int32		idx;			/* position among the run's metrics */
	char	   *name;			/* import_series: metric named by the caller */
	int64		n;
	int64		cap;
	bool		anynull;
	TimestampTz *ts;
	double	   *values;
	bool	   *isnull;
} SeriesBuffer;

/* Everything buffered for one run; latest description wins. */
typedef struct RunBuffer
{
	pg_uuid_t	uuid;			/* hash key, keep first */
	const char *protocol;		/* for a run created by this batch */
	TimestampTz first_arrival;
	TimestampTz last_arrival;
	int64		datagrams;
	int64		samples;

	SeqBatch	seq;			/* v1 sequence numbers (sequence.h) */

	char	   *tracer;			/* UTF-8, as every string in the batch */
	char	   *host;
	char	   *program;
	char	   *python_version;
	int32		pid;			/* 0 unknown */
	int64		period_us;		/* 0 unknown */
	bool		has_started;
	TimestampTz started;
	bool		has_ended;
	TimestampTz ended;

	char	  **names;			/* metric names by idx; NULL where unnamed */
	int			names_len;
	SeriesBuffer **series;		/* by idx; NULL where no points */
	int			series_len;
	List	   *named_series;	/* import_series: SeriesBuffer * by name */
} RunBuffer;

struct StoreBatch
{
	MemoryContext cxt;			/* everything buffered; reset by a flush */
	StoreSummaries summaries;	/* when summaries are written */
	HTAB	   *runs;
	RunBuffer  *last_run;		/* consecutive datagrams are mostly one run */
	int64		samples;
	int64		bad_timestamps; /* v1 points dropped: time out of range */
};

/* The blocks of one flush: mnemic.block opened once, written as COPY does. */
typedef struct BlockWriter
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	TupleTableSlot *slots[MULTI_INSERT_MAX];
	int			nslots;
	AttrNumber	attno[BLOCK_NCOLUMNS];	/* of each column, 0-based */
} BlockWriter;

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
static bool cache_added_in_xact = false;
static bool xact_callbacks_registered = false;

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

typedef struct StorePlanDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[18];
} StorePlanDef;

static const StorePlanDef plan_defs[PLAN_COUNT] = {
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
		"period = coalesce($13, period), started = coalesce($14, started), "
		"ended = coalesce($15, ended) WHERE ctid = $16 AND id = $1 "
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

static SPIPlanPtr plans[PLAN_COUNT];


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
	cache_added_in_xact = false;
}

/* A rollback may have removed rows the cache names: forget them all. */
static void
store_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		if (cache_added_in_xact)
			StoreForgetCache();
	}
	else if (event == XACT_EVENT_COMMIT ||
			 event == XACT_EVENT_PARALLEL_COMMIT ||
			 event == XACT_EVENT_PREPARE)
		cache_added_in_xact = false;
}

static void
store_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && cache_added_in_xact)
		StoreForgetCache();
}

static void
cache_ensure(Oid block_relid)
{
	HASHCTL		ctl;

	if (!xact_callbacks_registered)
	{
		RegisterXactCallback(store_xact_callback, NULL);
		RegisterSubXactCallback(store_subxact_callback, NULL);
		xact_callbacks_registered = true;
	}

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
	cache_added_in_xact = true;
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
	cache_added_in_xact = true;
	return entry;
}


/* ---------------------------------------------------------------------
 * Buffering
 * ---------------------------------------------------------------------
 */

StoreBatch *
StoreBatchCreate(MemoryContext parent, StoreSummaries summaries)
{
	MemoryContext cxt;
	StoreBatch *batch;

	cxt = AllocSetContextCreate(parent, "mnemic store batch",
								ALLOCSET_DEFAULT_SIZES);
	batch = MemoryContextAllocZero(parent, sizeof(StoreBatch));
	batch->cxt = cxt;
	batch->summaries = summaries;
	return batch;
}

int64
StoreBatchSamples(StoreBatch *batch)
{
	return batch->samples;
}

static void
batch_reset(StoreBatch *batch)
{
	MemoryContextReset(batch->cxt);
	batch->runs = NULL;
	batch->last_run = NULL;
	batch->samples = 0;
	batch->bad_timestamps = 0;
}

static RunBuffer *
batch_run(StoreBatch *batch, const pg_uuid_t *uuid, const char *protocol,
		  TimestampTz arrival)
{
	RunBuffer  *rb;
	bool		found;

	if (batch->last_run != NULL &&
		memcmp(batch->last_run->uuid.data, uuid->data, UUID_LEN) == 0)
		rb = batch->last_run;
	else
	{
		if (batch->runs == NULL)
		{
			HASHCTL		ctl;

			memset(&ctl, 0, sizeof(ctl));
			ctl.keysize = sizeof(pg_uuid_t);
			ctl.entrysize = sizeof(RunBuffer);
			ctl.hcxt = batch->cxt;
			batch->runs = hash_create("mnemic batch runs", 64, &ctl,
									  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		rb = hash_search(batch->runs, uuid, HASH_ENTER, &found);
		if (!found)
		{
			memset(((char *) rb) + sizeof(pg_uuid_t), 0,
				   sizeof(RunBuffer) - sizeof(pg_uuid_t));
			rb->protocol = protocol;
			rb->first_arrival = arrival;
			rb->last_arrival = arrival;
		}
		batch->last_run = rb;
	}
	if (arrival < rb->first_arrival)
		rb->first_arrival = arrival;
	if (arrival > rb->last_arrival)
		rb->last_arrival = arrival;
	return rb;
}

static char *
batch_string(StoreBatch *batch, DgString s)
{
	char	   *copy = MemoryContextAlloc(batch->cxt, s.len + 1);

	memcpy(copy, s.ptr, s.len);
	copy[s.len] = '\0';
	return copy;
}

static void
run_set_name(StoreBatch *batch, RunBuffer *rb, int idx, char *name)
{
	if (idx >= rb->names_len)
	{
		int			newlen = Max(idx + 1, Max(16, rb->names_len * 2));

		if (rb->names == NULL)
			rb->names = MemoryContextAllocZero(batch->cxt,
											   newlen * sizeof(char *));
		else
		{
			rb->names = repalloc(rb->names, newlen * sizeof(char *));
			memset(rb->names + rb->names_len, 0,
				   (newlen - rb->names_len) * sizeof(char *));
		}
		rb->names_len = newlen;
	}
	rb->names[idx] = name;
}

static SeriesBuffer *
series_new(StoreBatch *batch, int32 idx, char *name)
{
	SeriesBuffer *sb = MemoryContextAllocZero(batch->cxt, sizeof(SeriesBuffer));

	sb->idx = idx;
	sb->name = name;
	return sb;
}

/* The buffer of metric idx of rb, created on first use. */
static SeriesBuffer *
run_series(StoreBatch *batch, RunBuffer *rb, int idx)
{
	if (idx >= rb->series_len)
	{
		int			newlen = Max(idx + 1, Max(16, rb->series_len * 2));

		if (rb->series == NULL)
			rb->series = MemoryContextAllocZero(batch->cxt,
												newlen * sizeof(SeriesBuffer *));
		else
		{
			rb->series = repalloc(rb->series, newlen * sizeof(SeriesBuffer *));
			memset(rb->series + rb->series_len, 0,
				   (newlen - rb->series_len) * sizeof(SeriesBuffer *));
		}
		rb->series_len = newlen;
	}
	if (rb->series[idx] == NULL)
		rb->series[idx] = series_new(batch, idx, NULL);
	return rb->series[idx];
}

static void
series_reserve(StoreBatch *batch, SeriesBuffer *sb, int64 more)
{
	int64		need = sb->n + more;
	int64		newcap;

	if (need <= sb->cap)
		return;
	newcap = Max(need, Max(64, sb->cap * 2));
	if (sb->ts == NULL)
	{
		sb->ts = MemoryContextAllocHuge(batch->cxt, newcap * sizeof(TimestampTz));
		sb->values = MemoryContextAllocHuge(batch->cxt, newcap * sizeof(double));
		sb->isnull = MemoryContextAllocHuge(batch->cxt, newcap * sizeof(bool));
	}
	else
	{
		sb->ts = repalloc_huge(sb->ts, newcap * sizeof(TimestampTz));
		sb->values = repalloc_huge(sb->values, newcap * sizeof(double));
		sb->isnull = repalloc_huge(sb->isnull, newcap * sizeof(bool));
	}
	sb->cap = newcap;
}

/* µs since the Unix epoch to a TimestampTz; false when out of range. */
static bool
unix_us_to_timestamptz(int64 us, TimestampTz *out)
{
	/* Every int64 is below END_TIMESTAMP once shifted; only check the floor. */
	if (us < MIN_TIMESTAMP + UNIX_TO_PG_EPOCH_US)
		return false;
	*out = us - UNIX_TO_PG_EPOCH_US;
	return true;
}

static void
add_describe(StoreBatch *batch, RunBuffer *rb, const DgDescribe *d)
{
	TimestampTz started;

	rb->tracer = batch_string(batch, d->tracer);
	rb->host = batch_string(batch, d->host);
	rb->program = batch_string(batch, d->program);
	rb->python_version = batch_string(batch, d->python_version);
	if (d->pid != 0 && d->pid <= PG_INT32_MAX)
		rb->pid = (int32) d->pid;
	if (d->period_us != 0)
		rb->period_us = d->period_us;
	if (unix_us_to_timestamptz(d->start_us, &started))
	{
		rb->has_started = true;
		rb->started = started;
	}
	for (int i = 0; i < d->metric_count; i++)
		run_set_name(batch, rb, d->first_metric + i,
					 batch_string(batch, d->metrics[i]));
}

/* v1 values: NaN is "not measured" and stored as NULL. */
static void
add_ticks(StoreBatch *batch, RunBuffer *rb, const DgTicks *t)
{
	TimestampTz *ts;
	bool	   *tick_ok = NULL;
	int			nticks = t->tick_count;
	int			nvalues = t->value_count;
	int			nbad = 0;

	ts = palloc(nticks * sizeof(TimestampTz));
	for (int k = 0; k < nticks; k++)
	{
		if (!unix_us_to_timestamptz(t->ts_us[k], &ts[k]))
		{
			if (tick_ok == NULL)
			{
				tick_ok = palloc(nticks * sizeof(bool));
				memset(tick_ok, true, nticks * sizeof(bool));
			}
			tick_ok[k] = false;
			nbad++;
		}
	}

	for (int v = 0; v < nvalues; v++)
	{
		SeriesBuffer *sb = run_series(batch, rb, t->first_metric + v);
		int64		n;

		series_reserve(batch, sb, nticks);
		n = sb->n;
		for (int k = 0; k < nticks; k++)
		{
			double		value = t->values[(size_t) k * nvalues + v];
			bool		null = isnan(value);

			if (tick_ok != NULL && !tick_ok[k])
				continue;
			sb->ts[n] = ts[k];
			sb->values[n] = null ? 0.0 : value;
			sb->isnull[n] = null;
			sb->anynull |= null;
			n++;
		}
		rb->samples += n - sb->n;
		batch->samples += n - sb->n;
		sb->n = n;
	}
	batch->bad_timestamps += (int64) nbad * nvalues;

	pfree(ts);
	if (tick_ok != NULL)
		pfree(tick_ok);
}

/* Legacy values: JSON null is NULL; NaN and the infinities are values. */
static void
add_legacy_row(StoreBatch *batch, RunBuffer *rb, const DgLegacyRow *row,
			   TimestampTz arrival)
{
	for (uint32 v = 0; v < row->value_count; v++)
	{
		SeriesBuffer *sb = run_series(batch, rb, v);
		bool		null = row->isnull != NULL && row->isnull[v];

		series_reserve(batch, sb, 1);
		sb->ts[sb->n] = arrival;
		sb->values[sb->n] = null ? 0.0 : row->values[v];
		sb->isnull[sb->n] = null;
		sb->anynull |= null;
		sb->n++;
	}
	rb->samples += row->value_count;
	batch->samples += row->value_count;
}

void
StoreBatchAddDatagram(StoreBatch *batch, const DecodedDatagram *dg,
					  TimestampTz arrival, size_t nbytes)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(batch->cxt);
	RunBuffer  *rb;

	rb = batch_run(batch, (const pg_uuid_t *) dg->run,
				   dg->format == DG_FORMAT_V1 ? "v1" : "json", arrival);
	rb->datagrams++;
	if (dg->has_seq)
		seq_batch_note(&rb->seq, dg->seq, arrival);

	for (uint32 i = 0; i < dg->message_count; i++)
	{
		const DgMessage *msg = &dg->messages[i];

		switch (msg->kind)
		{
			case DG_DESCRIBE:
				add_describe(batch, rb, &msg->u.describe);
				break;
			case DG_TICKS:
				add_ticks(batch, rb, &msg->u.ticks);
				break;
			case DG_END:
				{
					TimestampTz ended;

					if (unix_us_to_timestamptz(msg->u.end_us, &ended))
					{
						rb->has_ended = true;
						rb->ended = ended;
					}
					break;
				}
			case DG_LEGACY_HEADER:
				{
					const DgLegacyHeader *h = &msg->u.legacy_header;

					rb->tracer = batch_string(batch, h->app_name);
					for (uint32 c = 0; c < h->column_count; c++)
						run_set_name(batch, rb, c,
									 batch_string(batch, h->columns[c]));
					break;
				}
			case DG_LEGACY_ROW:
				add_legacy_row(batch, rb, &msg->u.legacy_row, arrival);
				break;
		}
	}
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Strings in the batch are kept in UTF-8 (what the wire carries) and
 * converted to the server encoding in the flush, where a failure is one run's
 * error and not the caller's.
 */
static char *
to_utf8(StoreBatch *batch, const char *s)
{
	char	   *conv = pg_server_to_any(s, strlen(s), PG_UTF8);

	return MemoryContextStrdup(batch->cxt, conv);
}

void
StoreBatchAddSeries(StoreBatch *batch, const char *tracer,
					const pg_uuid_t *run, const char *metric,
					const TimestampTz *ts, const double *values,
					const bool *isnull, int n)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(batch->cxt);
	TimestampTz now = GetCurrentTimestamp();
	RunBuffer  *rb;
	SeriesBuffer *sb = NULL;
	char	   *name = to_utf8(batch, metric);
	ListCell   *lc;

	rb = batch_run(batch, run, "import", now);
	if (tracer != NULL)
		rb->tracer = to_utf8(batch, tracer);

	foreach(lc, rb->named_series)
	{
		SeriesBuffer *candidate = lfirst(lc);

		if (strcmp(candidate->name, name) == 0)
		{
			sb = candidate;
			break;
		}
	}
	if (sb == NULL)
	{
		sb = series_new(batch, -1, name);
		rb->named_series = lappend(rb->named_series, sb);
	}

	series_reserve(batch, sb, n);
	memcpy(sb->ts + sb->n, ts, n * sizeof(TimestampTz));
	memcpy(sb->values + sb->n, values, n * sizeof(double));
	if (isnull != NULL)
	{
		memcpy(sb->isnull + sb->n, isnull, n * sizeof(bool));
		for (int i = 0; i < n && !sb->anynull; i++)
			sb->anynull = isnull[i];
	}
	else
		memset(sb->isnull + sb->n, false, n * sizeof(bool));
	sb->n += n;
	rb->samples += n;
	batch->samples += n;
	MemoryContextSwitchTo(oldcxt);
}


/* ---------------------------------------------------------------------
 * SPI helpers for the metadata path
 * ---------------------------------------------------------------------
 */

static SPIPlanPtr
store_plan(StorePlan which)
{
	if (plans[which] == NULL)
	{
		const StorePlanDef *def = &plan_defs[which];
		SPIPlanPtr	plan;

		plan = SPI_prepare(def->sql, def->nargs, (Oid *) def->argtypes);
		if (plan == NULL)
			elog(ERROR, "pg_mnemic: SPI_prepare failed for \"%s\": %s",
				 def->sql, SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		plans[which] = plan;
	}
	return plans[which];
}

/* Run a prepared statement; returns the number of rows it returned. */
static uint64
store_exec(StorePlan which, Datum *values, const char *nulls)
{
	int			rc;

	rc = SPI_execute_plan(store_plan(which), values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "pg_mnemic: \"%s\" failed: %s", plan_defs[which].sql,
			 SPI_result_code_string(rc));
	return SPI_processed;
}

static Datum
result_datum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col,
						 isnull);
}

static int32
result_int32(int col)
{
	bool		isnull;
	Datum		d = result_datum(0, col, &isnull);

	if (isnull)
		elog(ERROR, "pg_mnemic: unexpected NULL in column %d", col);
	return DatumGetInt32(d);
}

static int64
interval_to_us(const Interval *iv)
{
	return iv->time + (int64) iv->day * USECS_PER_DAY +
		(int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;
}

static Datum
us_to_interval_datum(int64 us)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = us;
	return IntervalPGetDatum(iv);
}

/* From the first row of an (id, name, max_span) result. */
static MetricCacheEntry *
remember_metric_result(int32 run_id, int32 idx)
{
	bool		isnull;
	int32		metric_id = result_int32(1);
	char	   *name = TextDatumGetCString(result_datum(0, 2, &isnull));
	Interval   *span = DatumGetIntervalP(result_datum(0, 3, &isnull));

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
	args[0] = CStringGetTextDatum(server_string(utf8_name));
	if (store_exec(PLAN_TRACER_FIND, args, NULL) == 0 &&
		store_exec(PLAN_TRACER_INSERT, args, NULL) == 0 &&
		store_exec(PLAN_TRACER_FIND, args, NULL) == 0)
		elog(ERROR, "pg_mnemic: tracer vanished while being created");
	return result_int32(1);
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
	run_id = result_int32(1);
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

	rc->seq.first = DatumGetInt64(result_datum(0, 1, &isnull));
	rc->seq.valid = !isnull;
	rc->seq.last = DatumGetInt64(result_datum(0, 2, &isnull));
	rc->seq.valid &= !isnull;
	rc->seq.count = DatumGetInt64(result_datum(0, 3, &isnull));
	rc->seq.valid &= !isnull;
	rc->seq.lost = DatumGetInt64(result_datum(0, 4, &isnull));
	rc->seq.resets = DatumGetInt64(result_datum(0, 5, &isnull));
	rc->seq.last_arrival = DatumGetTimestampTz(result_datum(0, 6, &isnull));
	rc->tid = *(ItemPointer) DatumGetPointer(result_datum(0, 7, &isnull));
	return run_id;
}

static Datum
text_arg(const char *utf8, char *null)
{
	*null = utf8 != NULL ? ' ' : 'n';
	return utf8 != NULL ? CStringGetTextDatum(server_string(utf8)) : (Datum) 0;
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
		MnemicStatsAdd(&mnemic_stats->lost, (uint64) (rc->seq.lost - before.lost));
	if (rc->seq.resets != before.resets)
		MnemicStatsAdd(&mnemic_stats->seq_resets,
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

		cached->tid = *(ItemPointer) DatumGetPointer(result_datum(0, 1, &isnull));
		cached->tid_valid = true;
		cache_added_in_xact = true;
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
	args[1] = CStringGetTextDatum(server_string(utf8));
	if (store_exec(PLAN_METRIC_FIND_BY_NAME, args, NULL) == 0 &&
		store_exec(PLAN_METRIC_INSERT_NEXT, args, NULL) == 0)
		elog(ERROR, "pg_mnemic: could not create metric");
	return result_int32(1);
}


/* ---------------------------------------------------------------------
 * Blocks
 * ---------------------------------------------------------------------
 */

/*
 * A one-dimensional array of 8-byte pass-by-value elements (float8,
 * timestamptz) built directly, without going through Datum arrays.
 */
static ArrayType *
array_of_8byte(const void *data, const bool *isnull, int n, Oid elemtype)
{
	const char *src = data;
	int			nvalid = n;
	Size		overhead;
	Size		total;
	ArrayType  *array;

	if (isnull != NULL)
		for (int i = 0; i < n; i++)
			nvalid -= isnull[i];
	overhead = isnull != NULL ? ARR_OVERHEAD_WITHNULLS(1, n) :
		ARR_OVERHEAD_NONULLS(1);
	total = overhead + (Size) nvalid * 8;

	array = palloc(total);
	memset(array, 0, overhead);
	SET_VARSIZE(array, total);
	array->ndim = 1;
	array->dataoffset = isnull != NULL ? overhead : 0;
	array->elemtype = elemtype;
	ARR_DIMS(array)[0] = n;
	ARR_LBOUND(array)[0] = 1;

	if (isnull == NULL)
		memcpy(ARR_DATA_PTR(array), src, (Size) n * 8);
	else
	{
		bits8	   *bitmap = ARR_NULLBITMAP(array);
		char	   *dst = ARR_DATA_PTR(array);

		for (int i = 0; i < n; i++)
		{
			if (isnull[i])
				continue;
			bitmap[i / 8] |= 1 << (i % 8);
			memcpy(dst, src + (Size) i * 8, 8);
			dst += 8;
		}
	}
	return array;
}

/*
 * Find the writer's columns among mnemic.block's live ones.  Any other live
 * column would be left NULL by the bulk path, whatever its default or
 * constraints say: refuse it rather than write such rows.
 */
static void
writer_map_columns(BlockWriter *w)
{
	TupleDesc	desc = RelationGetDescr(w->rel);
	int			found = 0;

	for (int c = 0; c < BLOCK_NCOLUMNS; c++)
		w->attno[c] = -1;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			c;

		if (att->attisdropped)
			continue;
		for (c = 0; c < BLOCK_NCOLUMNS; c++)
			if (strcmp(NameStr(att->attname), block_columns[c].name) == 0)
				break;
		if (c == BLOCK_NCOLUMNS || att->atttypid != block_columns[c].type)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("mnemic.block has a column \"%s\" of type %s that pg_mnemic does not write",
							NameStr(att->attname),
							format_type_be(att->atttypid)),
					 errhint("mnemic.block is internal: drop the column, or reinstall the extension with the same version as its library.")));
		w->attno[c] = i;
		found++;
	}
	if (found != BLOCK_NCOLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mnemic.block lacks columns pg_mnemic writes"),
				 errhint("Reinstall the extension with the same version as its library.")));
}

static void
writer_open(BlockWriter *w, Oid relid)
{
	memset(w, 0, sizeof(*w));
	w->rel = table_open(relid, RowExclusiveLock);
	writer_map_columns(w);
	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->rel, 1, NULL, 0);
	ExecOpenIndices(w->rri, false);

	/*
	 * Slots pin the tuple descriptor in the current resource owner: made
	 * here, outside the runs' subtransactions, a failed run cannot take the
	 * pins with it.
	 */
	for (int i = 0; i < MULTI_INSERT_MAX; i++)
		w->slots[i] = table_slot_create(w->rel, NULL);
}

/* Write the buffered blocks and their index entries. */
static void
writer_flush(BlockWriter *w)
{
	if (w->nslots == 0)
		return;
	if (w->bistate == NULL)
		w->bistate = GetBulkInsertState();
	table_multi_insert(w->rel, w->slots, w->nslots, GetCurrentCommandId(true),
					   0, w->bistate);
	for (int i = 0; i < w->nslots; i++)
	{
		List	   *recheck;

		recheck = ExecInsertIndexTuples(w->rri, w->slots[i], w->estate,
										false, false, NULL, NIL);
		list_free(recheck);
		ExecClearTuple(w->slots[i]);
	}
	ResetPerTupleExprContext(w->estate);
	w->nslots = 0;
}

static inline void
block_set(BlockWriter *w, TupleTableSlot *slot, BlockColumn c, Datum value)
{
	slot->tts_values[w->attno[c]] = value;
	slot->tts_isnull[w->attno[c]] = false;
}

static void
writer_add_block(BlockWriter *w, int32 metric_id, const TimestampTz *ts,
				 const double *values, const bool *isnull, int n)
{
	TupleTableSlot *slot;

	slot = w->slots[w->nslots];
	ExecClearTuple(slot);
	/* dropped columns stay NULL */
	memset(slot->tts_isnull, true, slot->tts_tupleDescriptor->natts * sizeof(bool));
	block_set(w, slot, BLOCK_METRIC_ID, Int32GetDatum(metric_id));
	block_set(w, slot, BLOCK_T_FIRST, TimestampTzGetDatum(ts[0]));
	block_set(w, slot, BLOCK_T_LAST, TimestampTzGetDatum(ts[n - 1]));
	block_set(w, slot, BLOCK_N, Int32GetDatum(n));
	block_set(w, slot, BLOCK_TS,
			  PointerGetDatum(array_of_8byte(ts, NULL, n, TIMESTAMPTZOID)));
	block_set(w, slot, BLOCK_VALUE,
			  PointerGetDatum(array_of_8byte(values, isnull, n, FLOAT8OID)));
	ExecStoreVirtualTuple(slot);

	if (++w->nslots == MULTI_INSERT_MAX)
		writer_flush(w);
}

/*
 * End of a run's subtransaction.  The bulk-insert buffer pin belongs to the
 * subtransaction, so it is dropped before the subtransaction ends.
 */
static void
writer_finish_run(BlockWriter *w)
{
	writer_flush(w);
	if (w->bistate != NULL)
		FreeBulkInsertState(w->bistate);
	w->bistate = NULL;
}

/* After a failed run: the rollback already released the pin. */
static void
writer_abandon_run(BlockWriter *w)
{
	for (int i = 0; i < w->nslots; i++)
		ExecClearTuple(w->slots[i]);
	w->nslots = 0;
	w->bistate = NULL;
}

static void
writer_close(BlockWriter *w)
{
	for (int i = 0; i < MULTI_INSERT_MAX; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	ExecCloseIndices(w->rri);
	FreeExecutorState(w->estate);
	table_close(w->rel, NoLock);
}

static int
compare_point_order(const void *a, const void *b, void *arg)
{
	const TimestampTz *ts = arg;
	int64		ia = *(const int64 *) a;
	int64		ib = *(const int64 *) b;

	if (ts[ia] != ts[ib])
		return ts[ia] < ts[ib] ? -1 : 1;
	return ia < ib ? -1 : (ia > ib ? 1 : 0);
}

/*
 * Blocks hold their points in time order so they are tight in time; points
 * arrive sorted almost always, so sorting is rare.  Equal times keep their
 * arrival order.
 */
static void
series_sort(SeriesBuffer *sb)
{
	int64	   *order;
	TimestampTz *ts;
	double	   *values;
	bool	   *isnull;
	int64		i;

	for (i = 1; i < sb->n; i++)
		if (sb->ts[i] < sb->ts[i - 1])
			break;
	if (i >= sb->n)
		return;

	order = palloc_extended(sb->n * sizeof(int64), MCXT_ALLOC_HUGE);
	for (i = 0; i < sb->n; i++)
		order[i] = i;
	qsort_arg(order, sb->n, sizeof(int64), compare_point_order, sb->ts);

	ts = palloc_extended(sb->n * sizeof(TimestampTz), MCXT_ALLOC_HUGE);
	values = palloc_extended(sb->n * sizeof(double), MCXT_ALLOC_HUGE);
	isnull = palloc_extended(sb->n * sizeof(bool), MCXT_ALLOC_HUGE);
	for (i = 0; i < sb->n; i++)
	{
		ts[i] = sb->ts[order[i]];
		values[i] = sb->values[order[i]];
		isnull[i] = sb->isnull[order[i]];
	}
	sb->ts = ts;
	sb->values = values;
	sb->isnull = isnull;
	pfree(order);
}

/* Write a metric's points as blocks of at most BLOCK_MAX; keep max_span. */
static void
write_series(BlockWriter *w, int32 run_id, SeriesBuffer *sb)
{
	MetricCacheEntry *metric = metric_for(run_id, sb->idx);
	int32		metric_id = metric->metric_id;
	int64		max_span = 0;

	series_sort(sb);
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
		writer_add_block(w, metric_id, ts, values, isnull, n);
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
		cache_added_in_xact = true;
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
	writer_finish_run(w);
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
		stored = rb->samples;
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
		writer_abandon_run(w);

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
		MnemicStatsAdd(&mnemic_stats->flush_errors, 1);
		if (mnemic_stats != NULL)
			MnemicStatsSetError(psprintf("run %s: %s", uuid, edata->message));
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

/* mnemic.block, or an error naming what is missing. */
static Oid
block_relid(void)
{
	Oid			nsp = get_namespace_oid("mnemic", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("block", nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pg_mnemic is not installed in this database"),
				 errhint("Run CREATE EXTENSION pg_mnemic.")));
	return relid;
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

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_mnemic: SPI_connect failed");
	cache_ensure(block_relid());
	writer_open(&writer, cache_block_relid);
	run_cxt = AllocSetContextCreate(CurrentMemoryContext, "mnemic flush run",
									ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < nruns; i++)
		*stored += flush_run_guarded(batch, &writer, runs[i], run_cxt);
	MemoryContextDelete(run_cxt);
	writer_close(&writer);
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
		batch_reset(batch);
	}
	PG_END_TRY();

	/* samples_stored is the caller's to count, once its commit succeeded. */
	return stored;
}
