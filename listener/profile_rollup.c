/*
 * profile_rollup.c
 *	  Building a run's rollups (profile_rollup.h, sql/schema.sql
 *	  mnemic.prof_rollup).
 *
 * Level 0 sums the raw samples of each 10 s bucket by thread and stack;
 * each coarser level sums the buckets of the level below that it covers,
 * so every sample is read once.  prof_run.built_until[L] says how far level
 * L is built: readers take rollups before it and raw samples after.  Rows
 * are written only for closed buckets, once: a sample that arrives for a
 * bucket already built makes the store forget the rollups from there on
 * (profile_store.c), and they are built again here.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "block.h"
#include "profile.h"
#include "profile_rollup.h"
#include "spi_helpers.h"

typedef enum RollupPlan
{
	RP_RUNS,
	RP_LOCK,
	RP_SAMPLES,
	RP_ROWS,
	RP_INSERT,
	RP_BUILT,
	RP_COUNT
} RollupPlan;

static KeptPlan plans[RP_COUNT] = {
	/* runs with samples, and whether their buckets all count as closed */
	[RP_RUNS] = {
		"SELECT p.run_id FROM mnemic.prof_run p JOIN mnemic.run r"
		" ON r.id = p.run_id WHERE p.last_sample IS NOT NULL"
		" AND ($1 = 0 OR p.run_id = $1) ORDER BY p.run_id", 1, {INT4OID}
	},
	[RP_LOCK] = {
		"SELECT p.first_sample, p.last_sample, p.built_until, p.max_span,"
		" r.ended IS NOT NULL OR r.protocol = 'import'"
		" FROM mnemic.prof_run p JOIN mnemic.run r ON r.id = p.run_id"
		" WHERE p.run_id = $1 FOR UPDATE OF p", 1, {INT4OID}
	},
	[RP_SAMPLES] = {
		"SELECT thread, ts, stack, samples, wall, cpu FROM mnemic.prof_sample"
		" WHERE run_id = $1 AND t_first >= $2 - $4 AND t_first < $3"
		" AND t_last >= $2", 4, {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		INTERVALOID}
	},
	[RP_ROWS] = {
		"SELECT bucket, thread, stack, samples, wall, cpu FROM mnemic.prof_rollup"
		" WHERE run_id = $1 AND level = $2 AND bucket >= $3 AND bucket < $4",
		4, {INT4OID, INT2OID, TIMESTAMPTZOID, TIMESTAMPTZOID}
	},
	[RP_INSERT] = {
		"INSERT INTO mnemic.prof_rollup VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
		" ON CONFLICT (run_id, level, bucket, thread) DO UPDATE SET"
		" stack = excluded.stack, samples = excluded.samples,"
		" wall = excluded.wall, cpu = excluded.cpu",
		8, {INT4OID, INT2OID, TIMESTAMPTZOID, INT4OID, INT4ARRAYOID,
		INT4ARRAYOID, INT8ARRAYOID, INT8ARRAYOID}
	},
	[RP_BUILT] = {
		"UPDATE mnemic.prof_run SET built_until = $2 WHERE run_id = $1",
		2, {INT4OID, TIMESTAMPTZARRAYOID}
	},
};

/* The sums of one stack, in a group's open-addressing table. */
typedef struct StackSums
{
	int32		stack;			/* key */
	char		status;			/* simplehash's */
	int64		samples;
	int64		wall;
	int64		cpu;
} StackSums;

#define SH_PREFIX		stacksums
#define SH_ELEMENT_TYPE	StackSums
#define SH_KEY_TYPE		int32
#define SH_KEY			stack
#define SH_HASH_KEY(tb, key)	murmurhash32((uint32) (key))
#define SH_EQUAL(tb, a, b)		((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* The stacks of one thread in one bucket: one rollup row. */
typedef struct RollupGroupKey
{
	TimestampTz bucket;
	int32		thread;
	int32		pad;			/* zeroed: the key is hashed as bytes */
} RollupGroupKey;

typedef struct RollupGroup
{
	RollupGroupKey key;
	stacksums_hash *stacks;
} RollupGroup;

/*
 * Sums by (bucket, thread) and then by stack: a few groups, each a small
 * table that stays in the CPU's cache, and rows written straight from it.
 */
typedef struct Sums
{
	HTAB	   *groups;
	RollupGroup *last;			/* the group of the previous addition */
	MemoryContext cxt;			/* where the groups' tables live */
} Sums;

static void
sums_init(Sums *sums)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(RollupGroupKey);
	ctl.entrysize = sizeof(RollupGroup);
	ctl.hcxt = CurrentMemoryContext;
	sums->groups = hash_create("mnemic rollup groups", 64, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	sums->last = NULL;
	sums->cxt = CurrentMemoryContext;
}

static inline RollupGroup *
sums_group(Sums *sums, TimestampTz bucket, int32 thread)
{
	RollupGroupKey key;
	bool		found;
	RollupGroup *g;

	if (sums->last != NULL && sums->last->key.bucket == bucket &&
		sums->last->key.thread == thread)
		return sums->last;
	memset(&key, 0, sizeof(key));
	key.bucket = bucket;
	key.thread = thread;
	g = hash_search(sums->groups, &key, HASH_ENTER, &found);
	if (!found)
		g->stacks = stacksums_create(sums->cxt, 256, NULL);
	sums->last = g;
	return g;
}

static inline void
sums_add(Sums *sums, TimestampTz bucket, int32 thread, int32 stack,
		 int64 samples, int64 wall, int64 cpu)
{
	RollupGroup *g = sums_group(sums, bucket, thread);
	bool		found;
	StackSums  *e = stacksums_insert(g->stacks, stack, &found);

	if (!found)
		e->samples = e->wall = e->cpu = 0;
	e->samples += samples;
	e->wall += wall;
	e->cpu += cpu;
}

/* What one level's pass reads and adds to. */
typedef struct RollupPass
{
	Sums		sums;
	int			level;
	TimestampTz from;
	TimestampTz to;				/* exclusive */
} RollupPass;

/* The samples of one prof_sample row in [from, to), into level 0 buckets. */
static bool
add_sample_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	RollupPass *pass = arg;
	bool		isnull;
	int32		thread = DatumGetInt32(SPI_getbinval(tuple, desc, 1, &isnull));
	ArrayType  *ts = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 2, &isnull));
	ArrayType  *stack = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 3, &isnull));
	ArrayType  *samples = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 4, &isnull));
	ArrayType  *wall = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 5, &isnull));
	ArrayType  *cpu = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 6, &isnull));
	int			n = ArrayGetNItems(ARR_NDIM(ts), ARR_DIMS(ts));
	const TimestampTz *tsv = (const TimestampTz *) ARR_DATA_PTR(ts);
	const int32 *sv = (const int32 *) ARR_DATA_PTR(stack);
	const int32 *nv = (const int32 *) ARR_DATA_PTR(samples);
	const int32 *wv = (const int32 *) ARR_DATA_PTR(wall);
	const int32 *cv = (const int32 *) ARR_DATA_PTR(cpu);

	for (int i = 0; i < n; i++)
		if (tsv[i] >= pass->from && tsv[i] < pass->to)
			sums_add(&pass->sums, ProfileBucket(0, tsv[i]), thread, sv[i], nv[i],
					 wv[i], cv[i]);
	return true;
}

/* A row of the level below, into this level's bucket. */
static bool
add_rollup_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	RollupPass *pass = arg;
	bool		isnull;
	TimestampTz bucket = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 1, &isnull));
	int32		thread = DatumGetInt32(SPI_getbinval(tuple, desc, 2, &isnull));
	ArrayType  *stack = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 3, &isnull));
	ArrayType  *samples = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 4, &isnull));
	ArrayType  *wall = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 5, &isnull));
	ArrayType  *cpu = DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 6, &isnull));
	int			n = ArrayGetNItems(ARR_NDIM(stack), ARR_DIMS(stack));
	const int32 *sv = (const int32 *) ARR_DATA_PTR(stack);
	const int32 *nv = (const int32 *) ARR_DATA_PTR(samples);
	const int64 *wv = (const int64 *) ARR_DATA_PTR(wall);
	const int64 *cv = (const int64 *) ARR_DATA_PTR(cpu);
	TimestampTz mine = ProfileBucket(pass->level, bucket);

	for (int i = 0; i < n; i++)
		sums_add(&pass->sums, mine, thread, sv[i], nv[i], wv[i], cv[i]);
	return true;
}

/* Write one row per (bucket, thread), its stacks in no particular order. */
static int64
write_sums(int32 run_id, int level, Sums *sums)
{
	HASH_SEQ_STATUS seq;
	RollupGroup *g;
	int64		rows = 0;
	int			cap = 0;
	int32	   *stack = NULL;
	int32	   *samples = NULL;
	int64	   *wall = NULL;
	int64	   *cpu = NULL;

	hash_seq_init(&seq, sums->groups);
	while ((g = hash_seq_search(&seq)) != NULL)
	{
		stacksums_iterator it;
		StackSums  *e;
		int			m = 0;
		Datum		args[8];

		if ((int) g->stacks->members > cap)
		{
			cap = Max(g->stacks->members, 256);
			stack = palloc(sizeof(int32) * cap);
			samples = palloc(sizeof(int32) * cap);
			wall = palloc(sizeof(int64) * cap);
			cpu = palloc(sizeof(int64) * cap);
		}
		stacksums_start_iterate(g->stacks, &it);
		while ((e = stacksums_iterate(g->stacks, &it)) != NULL)
		{
			stack[m] = e->stack;
			samples[m] = (int32) Min(e->samples, PG_INT32_MAX);
			wall[m] = e->wall;
			cpu[m] = e->cpu;
			m++;
		}
		args[0] = Int32GetDatum(run_id);
		args[1] = Int16GetDatum(level);
		args[2] = TimestampTzGetDatum(g->key.bucket);
		args[3] = Int32GetDatum(g->key.thread);
		args[4] = PointerGetDatum(ArrayOfFixed(stack, NULL, m, INT4OID, 4));
		args[5] = PointerGetDatum(ArrayOfFixed(samples, NULL, m, INT4OID, 4));
		args[6] = PointerGetDatum(ArrayOfFixed(wall, NULL, m, INT8OID, 8));
		args[7] = PointerGetDatum(ArrayOfFixed(cpu, NULL, m, INT8OID, 8));
		KeptPlanExec(&plans[RP_INSERT], args, NULL, false, 0);
		rows++;
	}
	return rows;
}

/* Sum [from, to) of one level (whole buckets) and write it. */
static int64
build_range(int32 run_id, int level, TimestampTz from, TimestampTz to,
			Datum max_span)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext,
											   "mnemic rollup",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(work);
	RollupPass	pass = {{0}, level, from, to};
	int64		rows;

	sums_init(&pass.sums);
	if (level == 0)
	{
		Datum		args[4] = {Int32GetDatum(run_id), TimestampTzGetDatum(from),
		TimestampTzGetDatum(to), max_span};

		SpiForEachRow(KeptPlanGet(&plans[RP_SAMPLES]), args, NULL, false, 256,
					  add_sample_row, &pass);
	}
	else
	{
		Datum		args[4] = {Int32GetDatum(run_id), Int16GetDatum(level - 1),
		TimestampTzGetDatum(from), TimestampTzGetDatum(to)};

		SpiForEachRow(KeptPlanGet(&plans[RP_ROWS]), args, NULL, false, 256,
					  add_rollup_row, &pass);
	}
	rows = write_sums(run_id, level, &pass.sums);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return rows;
}

static int64
build_run(int32 run_id, TimestampTz now)
{
	Datum		arg = Int32GetDatum(run_id);
	bool		isnull;
	TimestampTz first;
	TimestampTz last;
	Datum		max_span;
	bool		closed;
	Datum	   *elems;
	bool	   *nulls;
	int			nbuilt;
	TimestampTz until[PROFILE_LEVELS];
	TimestampTz horizon;
	bool		changed = false;
	int64		rows = 0;

	if (KeptPlanExec(&plans[RP_LOCK], &arg, NULL, false, 1) == 0)
		return 0;				/* deleted meanwhile */
	first = DatumGetTimestampTz(SpiResult(0, 1, &isnull));
	if (isnull)
		return 0;
	last = DatumGetTimestampTz(SpiResult(0, 2, &isnull));
	deconstruct_array(DatumGetArrayTypePCopy(SpiResult(0, 3, &isnull)),
					  TIMESTAMPTZOID, sizeof(TimestampTz), true,
					  TYPALIGN_DOUBLE, &elems, &nulls, &nbuilt);
	max_span = SPI_datumTransfer(SpiResult(0, 4, &isnull), false, sizeof(Interval));
	closed = DatumGetBool(SpiResult(0, 5, &isnull));
	/*
	 * Buckets are built up to the end of the last sample's coarsest bucket
	 * (so every level covers the last sample once the run is over), and
	 * only the closed ones: all of them once the run ended.
	 */
	horizon = ProfileBucket(PROFILE_LEVELS - 1, last) +
		ProfileLevelWidth(PROFILE_LEVELS - 1);
	if (!closed)
		horizon = Min(horizon, now - PROFILE_ROLLUP_GRACE_US);

	for (int level = 0; level < PROFILE_LEVELS; level++)
	{
		int64		w = ProfileLevelWidth(level);
		TimestampTz start = level < nbuilt && !nulls[level] ?
			DatumGetTimestampTz(elems[level]) : ProfileBucket(level, first);
		TimestampTz end = ProfileBucket(level, horizon);

		/* a bucket of a coarser level sums built buckets of the level below */
		if (level > 0)
			end = Min(end, ProfileBucket(level, until[level - 1]));
		until[level] = Max(start, end);
		if (end <= start)
			continue;
		/*
		 * A bucket of the next level at a time: the sums stay small enough
		 * to live in the CPU's cache, however long the range.
		 */
		for (TimestampTz from = start; from < end;)
		{
			int			next = Min(level + 1, PROFILE_LEVELS - 1);
			TimestampTz to = Min(end, ProfileBucket(next, from) +
								 ProfileLevelWidth(next));

			if (level == PROFILE_LEVELS - 1)
				to = Min(end, from + w);
			rows += build_range(run_id, level, from, to, max_span);
			from = to;
		}
		changed = true;
	}
	if (changed)
	{
		Datum		args[2];

		args[0] = Int32GetDatum(run_id);
		args[1] = PointerGetDatum(ArrayOfFixed(until, NULL, PROFILE_LEVELS,
											   TIMESTAMPTZOID, 8));
		KeptPlanExec(&plans[RP_BUILT], args, NULL, false, 0);
	}
	return rows;
}

int64
ProfileBuildRollups(int32 run_id, TimestampTz now)
{
	Datum		arg = Int32GetDatum(run_id);
	uint64		nruns = KeptPlanExec(&plans[RP_RUNS], &arg, NULL, true, 0);
	int32	   *runs = palloc(sizeof(int32) * Max(nruns, 1));
	int64		rows = 0;

	for (uint64 i = 0; i < nruns; i++)
	{
		bool		isnull;

		runs[i] = DatumGetInt32(SpiResult(i, 1, &isnull));
	}
	for (uint64 i = 0; i < nruns; i++)
		rows += build_run(runs[i], now);
	pfree(runs);
	return rows;
}
