/*
 * series.c
 *	  mnemic.series(): one metric of one run over a time range, reduced to
 *	  what a chart `points` pixels wide needs; mnemic.series_grid() shows
 *	  how it would answer.
 *
 * The cost follows the pixels: M4 and avg are answered from the coarsest
 * summary level (listener/summary.c) whose buckets still fit in a pixel
 * column.  The columns are built on that level's bucket grid (the range is
 * widened outward to whole buckets and the column width is a whole number
 * of buckets, never wider than a pixel: PixelGridMake), so every column is
 * an exact union of buckets and M4 from summaries equals M4 over the raw
 * points of the same columns.  Zoomed in
 * below the finest level kept, the raw blocks are read instead; there are
 * then fewer than about 64 points per column.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "downsample.h"
#include "listener/block.h"
#include "listener/pgtime.h"
#include "listener/spi_helpers.h"
#include "listener/summary.h"
#include "sqlutil.h"
#include "coordinator.h"

PG_FUNCTION_INFO_V1(mnemic_series);
PG_FUNCTION_INFO_V1(mnemic_series_grid);

#define SERIES_MAX_POINTS 1000000
#define SERIES_RAW_LIMIT 1000000
/* LTTB reads raw points up to this many, else works on the M4 reduction */
#define SERIES_LTTB_RAW_LIMIT 200000
/* a hole longer than this many typical spacings is a gap */
#define SERIES_GAP_FACTOR 5

typedef enum SeriesMethod
{
	SERIES_M4,
	SERIES_LTTB,
	SERIES_AVG,
	SERIES_RAW
} SeriesMethod;

/* The metric asked for, and what is known about its points. */
typedef struct SeriesTarget
{
	int32		metric_id;
	Datum		max_span;		/* interval */
	int64		gap;			/* microseconds; 0: no gap detection */
	bool		has_summary;
	int			finest;
	int			coarsest;
} SeriesTarget;

/* How a request is answered. */
typedef struct SeriesPlan
{
	TimestampTz t_from;			/* the range asked for, resolved */
	TimestampTz t_to;
	bool		empty;			/* no data and no range: nothing to do */
	int			level;			/* summary level read; -1: raw blocks */
	ColumnGrid	grid;
} SeriesPlan;

/* Find the run and its metric; errors name what is missing. */
static SeriesTarget
resolve_target(pg_uuid_t *run, text *metric)
{
	static const char *sql =
	"SELECT r.id, m.id, m.max_span,"
	" (extract(epoch FROM r.period) * 1000000)::int8,"
	" g.finest, g.coarsest, g.spacing"
	" FROM mnemic.run r"
	" LEFT JOIN LATERAL (SELECT id, max_span FROM mnemic.metric"
	"  WHERE run_id = r.id AND name = $2 ORDER BY idx LIMIT 1) m ON true"
	" LEFT JOIN mnemic.summary_grid g ON g.metric_id = m.id"
	" WHERE r.uuid = $1";
	Oid			argtypes[2] = {UUIDOID, TEXTOID};
	Datum		args[2] = {UUIDPGetDatum(run), PointerGetDatum(metric)};
	SeriesTarget target;
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	int64		typical = 0;
	Datum		d;

	if (SPI_execute_with_args(sql, 2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "looking up the run failed");
	if (SPI_processed == 0)
		RunNotFound(run);
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	d = SPI_getbinval(tuple, desc, 2, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("run %s has no metric \"%s\"",
						UuidText(run),
						text_to_cstring(metric)),
				 errhint("mnemic.metrics(run) lists its metrics.")));
	target.metric_id = DatumGetInt32(d);
	target.max_span = SPI_datumTransfer(SPI_getbinval(tuple, desc, 3, &isnull),
										false, sizeof(Interval));
	d = SPI_getbinval(tuple, desc, 4, &isnull);
	if (!isnull)
		typical = DatumGetInt64(d);
	d = SPI_getbinval(tuple, desc, 5, &isnull);
	target.has_summary = !isnull;
	target.finest = isnull ? 0 : DatumGetInt16(d);
	d = SPI_getbinval(tuple, desc, 6, &isnull);
	target.coarsest = isnull ? 0 : DatumGetInt16(d);
	if (typical <= 0)
	{
		d = SPI_getbinval(tuple, desc, 7, &isnull);
		if (!isnull)
			typical = DatumGetInt64(d);
	}
	target.gap = typical > 0 ? typical * SERIES_GAP_FACTOR : 0;
	return target;
}

/* First and last stored timestamps of the metric; false if it has none. */
static bool
data_extent(const SeriesTarget *target, TimestampTz *first, TimestampTz *last)
{
	static const char *sql =
	"SELECT (SELECT min(t_first) FROM mnemic.block WHERE metric_id = $1),"
	" (SELECT max(t_last) FROM mnemic.block WHERE metric_id = $1"
	"  AND t_first >= (SELECT max(t_first) FROM mnemic.block"
	"                  WHERE metric_id = $1) - $2)";
	Oid			argtypes[2] = {INT4OID, INTERVALOID};
	Datum		args[2] = {Int32GetDatum(target->metric_id), target->max_span};
	bool		isnull1;
	bool		isnull2;

	if (SPI_execute_with_args(sql, 2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading the extent of a metric failed");
	*first = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull1));
	*last = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 2, &isnull2));
	return !isnull1 && !isnull2;
}

static void
check_points(int points)
{
	if (points < 1 || points > SERIES_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("points must be between 1 and %d, not %d",
						SERIES_MAX_POINTS, points)));
}

/*
 * Resolve the range (NULL or infinite ends: the data's) and choose the
 * coarsest summary level whose buckets fit the pixel columns.
 */
static SeriesPlan
plan_series(const SeriesTarget *target, bool from_null, TimestampTz t_from,
			bool to_null, TimestampTz t_to, int points)
{
	SeriesPlan	plan;
	bool		open_from = from_null || TIMESTAMP_NOT_FINITE(t_from);
	bool		open_to = to_null || TIMESTAMP_NOT_FINITE(t_to);
	int64		per_column;
	int			level;

	memset(&plan, 0, sizeof(plan));
	plan.level = -1;
	if (open_from || open_to)
	{
		TimestampTz first;
		TimestampTz last;

		if (!data_extent(target, &first, &last))
		{
			plan.empty = true;
			return plan;
		}
		if (open_from)
			t_from = first;
		if (open_to)
			t_to = last;
	}
	if (t_to < t_from)
	{
		if (open_from || open_to)
		{
			/* a fixed end outside the data: nothing there */
			plan.empty = true;
			return plan;
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t_to is before t_from")));
	}
	plan.t_from = t_from;
	plan.t_to = t_to;

	/*
	 * The coarsest summary level on whose buckets a grid of pixel-wide
	 * columns can be laid (PixelGridMake); raw points when none can.
	 */
	per_column = (t_to - t_from) / points;
	if (target->has_summary)
	{
		for (level = target->coarsest; level >= target->finest; level--)
			if (SummaryLevelWidth(level) <= per_column &&
				PixelGridMake(t_from, t_to, points, SummaryLevelWidth(level),
							  &plan.grid))
			{
				plan.level = level;
				break;
			}
	}
	if (plan.level < 0)
		(void) PixelGridMake(t_from, t_to, points, 1, &plan.grid);
	return plan;
}

/* Where read_raw_points() collects, and what it may take. */
typedef struct RawPointsState
{
	TimestampTz from;
	TimestampTz to;
	int64		limit;
	PointList  *out;
} RawPointsState;

static bool
add_block_points(const TimestampTz *ts, const double *values,
				 const bool *isnull, int n, void *arg)
{
	RawPointsState *state = arg;

	for (int i = 0; i < n; i++)
		if (ts[i] >= state->from && ts[i] <= state->to)
			PointListAppend(state->out, ts[i], values[i], isnull[i]);
	if (state->limit > 0 && state->out->n > state->limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the range holds more than %lld points, too many for method raw",
						(long long) state->limit),
				 errhint("Ask for a narrower range, or use method m4, lttb or avg.")));
	return true;
}

/*
 * Every stored point of the metric in [from, to], sorted.  Errors once more
 * than limit points are found (limit 0: no limit).
 */
static void
read_raw_points(const SeriesTarget *target, TimestampTz from, TimestampTz to,
				int64 limit, PointList *out)
{
	RawPointsState state = {from, to, limit, out};

	BlockReadRange(target->metric_id, from, to, target->max_span,
				   add_block_points, &state);
	SortPoints(out->points, out->n);
}

/*
 * The summary buckets of the plan's level inside its grid, merged into
 * pixel columns and emitted in column order.  Returns the points (finite
 * and missing) the columns hold.
 */
static int64
columns_from_summaries(const SeriesTarget *target, const SeriesPlan *plan,
					   bool average, int64 gap, PointList *out)
{
	static const char *sql =
	"SELECT bucket, n, sum, first_ts, first_v, last_ts, last_v,"
	" min_ts, min_v, max_ts, max_v, missing, missing_ts"
	" FROM mnemic.summary WHERE metric_id = $1 AND level = $2"
	" AND bucket >= $3 AND bucket < $4 ORDER BY bucket";
	const ColumnGrid *grid = &plan->grid;
	Oid			argtypes[4] = {INT4OID, INT2OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[4];
	ColumnEmitter em;
	BucketAgg	column_agg;
	int64		column = -1;
	int64		total = 0;
	uint64		row;

	args[0] = Int32GetDatum(target->metric_id);
	args[1] = Int16GetDatum(plan->level);
	args[2] = TimestampTzGetDatum(grid->start);
	args[3] = TimestampTzGetDatum(grid->start + grid->columns * grid->width);
	if (SPI_execute_with_args(sql, 4, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading mnemic.summary failed");

	ColumnEmitterInit(&em, out, gap);
	BucketAggInit(&column_agg);
	for (row = 0; row <= SPI_processed; row++)
	{
		BucketAgg	agg;
		TimestampTz bucket = 0;
		int64		c = -1;

		if (row < SPI_processed)
		{
			HeapTuple	tuple = SPI_tuptable->vals[row];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;

#define COL(i) SPI_getbinval(tuple, desc, (i), &isnull)
			bucket = DatumGetTimestampTz(COL(1));
			agg.n = DatumGetInt64(COL(2));
			agg.sum = DatumGetFloat8(COL(3));
			if (agg.n > 0)
			{
				agg.first.ts = DatumGetTimestampTz(COL(4));
				agg.first.value = DatumGetFloat8(COL(5));
				agg.last.ts = DatumGetTimestampTz(COL(6));
				agg.last.value = DatumGetFloat8(COL(7));
				agg.min.ts = DatumGetTimestampTz(COL(8));
				agg.min.value = DatumGetFloat8(COL(9));
				agg.max.ts = DatumGetTimestampTz(COL(10));
				agg.max.value = DatumGetFloat8(COL(11));
				agg.first.isnull = agg.last.isnull = false;
				agg.min.isnull = agg.max.isnull = false;
			}
			agg.missing = DatumGetInt64(COL(12));
			agg.missing_ts = agg.missing > 0 ? DatumGetTimestampTz(COL(13)) : 0;
#undef COL
			total += agg.n + agg.missing;
			c = FloorDiv(bucket - grid->start, grid->width);
		}
		if (c != column || row == SPI_processed)
		{
			if (column >= 0)
			{
				if (average)
					EmitColumnAvg(&em, &column_agg, grid->start +
								  column * grid->width + grid->width / 2);
				else
					EmitColumnM4(&em, &column_agg);
			}
			BucketAggInit(&column_agg);
			column = c;
		}
		if (row < SPI_processed)
			BucketAggMerge(&column_agg, &agg);
	}
	SPI_freetuptable(SPI_tuptable);
	return total;
}

static SeriesMethod
parse_method(text *method)
{
	char	   *name = text_to_cstring(method);

	if (strcmp(name, "m4") == 0)
		return SERIES_M4;
	if (strcmp(name, "lttb") == 0)
		return SERIES_LTTB;
	if (strcmp(name, "avg") == 0)
		return SERIES_AVG;
	if (strcmp(name, "raw") == 0)
		return SERIES_RAW;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown series method \"%s\"", name),
			 errhint("The methods are m4, lttb, avg and raw.")));
	return SERIES_M4;			/* keep the compiler quiet */
}

/*
 * The gap threshold for reduced output: a hole narrower than a pixel column
 * cannot show as a gap, and breaking the line there would only turn jitter
 * in the sampling into specks.  Raw output uses the data's threshold.
 */
static int64
column_gap(const SeriesTarget *target, const ColumnGrid *grid)
{
	if (target->gap == 0)
		return 0;
	return Max(target->gap, grid->width);
}

static void
series_points(const SeriesTarget *target, const SeriesPlan *plan,
			  SeriesMethod method, int points, PointList *out)
{
	const ColumnGrid *grid = &plan->grid;
	TimestampTz grid_end = grid->start + grid->columns * grid->width - 1;
	int64		gap = column_gap(target, grid);
	PointList	raw;

	PointListInit(&raw, 1024);
	switch (method)
	{
		case SERIES_M4:
		case SERIES_AVG:
			if (plan->level >= 0)
				columns_from_summaries(target, plan, method == SERIES_AVG,
									   gap, out);
			else
			{
				read_raw_points(target, grid->start, grid_end, 0, &raw);
				M4SortedPoints(raw.points, raw.n, grid, gap,
							   method == SERIES_AVG, out);
			}
			break;
		case SERIES_LTTB:
			if (plan->level >= 0)
			{
				PointList	reduced;
				int64		total;

				/*
				 * Too many points to read: LTTB over the M4 reduction, which
				 * holds every extreme a pixel column shows.
				 */
				PointListInit(&reduced, 4 * (int64) points);
				total = columns_from_summaries(target, plan, false,
											   gap, &reduced);
				if (total > SERIES_LTTB_RAW_LIMIT)
				{
					LttbSortedPoints(reduced.points, reduced.n, points, 0, out);
					break;
				}
			}
			read_raw_points(target, plan->t_from, plan->t_to, 0, &raw);
			LttbSortedPoints(raw.points, raw.n, points, gap, out);
			break;
		case SERIES_RAW:
			read_raw_points(target, plan->t_from, plan->t_to,
							SERIES_RAW_LIMIT, &raw);
			RawWithGaps(raw.points, raw.n, target->gap, out);
			break;
	}
}

/*
 * SQL: mnemic.series(run uuid, metric text, t_from timestamptz, t_to
 * timestamptz, points int, method text) RETURNS TABLE (ts, value)
 */
Datum
mnemic_series(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pg_uuid_t  *run = RequiredUuid(fcinfo, 0, "run");
	text	   *metric = RequiredText(fcinfo, 1, "metric");
	int			points = PG_ARGISNULL(4) ? 1000 : PG_GETARG_INT32(4);
	SeriesMethod method = PG_ARGISNULL(5) ? SERIES_M4 :
		parse_method(PG_GETARG_TEXT_PP(5));
	SeriesTarget target;
	SeriesPlan	plan;
	PointList	out;
	int64		i;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	check_points(points);
	InitMaterializedSRF(fcinfo, 0);

	SpiConnect();
	target = resolve_target(run, metric);
	plan = plan_series(&target,
					   PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMESTAMPTZ(2),
					   PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_TIMESTAMPTZ(3),
					   points);
	PointListInit(&out, 4 * (int64) points);
	if (!plan.empty)
		series_points(&target, &plan, method, points, &out);

	for (i = 0; i < out.n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, out.points[i].isnull};

		values[0] = TimestampTzGetDatum(out.points[i].ts);
		values[1] = Float8GetDatum(out.points[i].value);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * SQL: mnemic.series_grid(run, metric, t_from, t_to, points) RETURNS TABLE
 * (grid_start, column_width, columns, level, gap): the plan of series().
 */
Datum
mnemic_series_grid(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	pg_uuid_t  *run = RequiredUuid(fcinfo, 0, "run");
	text	   *metric = RequiredText(fcinfo, 1, "metric");
	int			points = PG_ARGISNULL(4) ? 1000 : PG_GETARG_INT32(4);
	SeriesTarget target;
	SeriesPlan	plan;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	check_points(points);
	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	target = resolve_target(run, metric);
	plan = plan_series(&target,
					   PG_ARGISNULL(2), PG_ARGISNULL(2) ? 0 : PG_GETARG_TIMESTAMPTZ(2),
					   PG_ARGISNULL(3), PG_ARGISNULL(3) ? 0 : PG_GETARG_TIMESTAMPTZ(3),
					   points);
	if (!plan.empty)
	{
		Datum		values[5];
		int64		gap = column_gap(&target, &plan.grid);
		bool		nulls[5] = {false, false, false, plan.level < 0, gap == 0};

		values[0] = TimestampTzGetDatum(plan.grid.start);
		values[1] = us_to_interval_datum(plan.grid.width);
		values[2] = Int32GetDatum((int32) plan.grid.columns);
		values[3] = Int32GetDatum(plan.level);
		values[4] = us_to_interval_datum(gap);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}
