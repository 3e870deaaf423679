/*
 * downsample.c
 *	  M4, avg and LTTB over C arrays of points, and the generic aggregates
 *	  mnemic.m4() and mnemic.lttb() that apply them to any rows.
 *
 * M4 (Jugel et al., VLDB 2014) keeps the first, last, lowest and highest
 * point of every pixel column: a line drawn through them at that width sets
 * exactly the pixels the raw line sets.  LTTB (Steinarsson 2013) keeps, per
 * bucket, the point forming the largest triangle with the point kept before
 * it and the mean of the next bucket.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "downsample.h"

PG_FUNCTION_INFO_V1(mnemic_lttb_accum);
PG_FUNCTION_INFO_V1(mnemic_lttb_final);
PG_FUNCTION_INFO_V1(mnemic_m4_accum);
PG_FUNCTION_INFO_V1(mnemic_m4_final);

/* ---------------------------------------------------------------------
 * Point lists and ordering
 */

void
PointListInit(PointList *list, int64 capacity)
{
	list->capacity = Max(capacity, 16);
	list->n = 0;
	list->points = palloc(sizeof(SeriesPoint) * list->capacity);
}

void
PointListAppend(PointList *list, TimestampTz ts, double value, bool isnull)
{
	SeriesPoint *p;

	if (list->n == list->capacity)
	{
		list->capacity *= 2;
		list->points = repalloc_huge(list->points,
									 sizeof(SeriesPoint) * list->capacity);
	}
	p = &list->points[list->n++];
	p->ts = ts;
	p->value = isnull ? 0.0 : value;
	p->isnull = isnull;
}

/* Ceiling division for timestamps before the epoch. */
static int64
ceil_div(int64 a, int64 b)
{
	return -FloorDiv(-a, b);
}

/* ---------------------------------------------------------------------
 * Pixel columns and their output
 */

ColumnGrid
ColumnGridMake(TimestampTz t_from, TimestampTz t_to, int points, int64 unit)
{
	ColumnGrid	grid;
	int64		span;

	Assert(points > 0 && unit > 0 && t_to >= t_from);
	grid.start = FloorDiv(t_from, unit) * unit;
	span = t_to - grid.start + 1;
	grid.width = ceil_div(ceil_div(span, points), unit) * unit;
	grid.columns = ceil_div(span, grid.width);
	return grid;
}

bool
PixelGridMake(TimestampTz t_from, TimestampTz t_to, int points, int64 unit,
			  ColumnGrid *grid)
{
	int64		pixel = (t_to - t_from) / points;

	Assert(points > 0 && unit > 0 && t_to >= t_from);
	grid->start = FloorDiv(t_from, unit) * unit;
	grid->width = Max(pixel / unit, 1) * unit;
	grid->columns = ceil_div(t_to - grid->start + 1, grid->width);
	return grid->columns <= 2 * (int64) points;
}

void
ColumnEmitterInit(ColumnEmitter *em, PointList *out, int64 gap)
{
	em->out = out;
	em->gap = gap;
	em->have_last = false;
	em->last_ts = 0;
}

static bool
last_emitted_is_null(ColumnEmitter *em)
{
	return em->out->n > 0 && em->out->points[em->out->n - 1].isnull;
}

static void
emit_null(ColumnEmitter *em, TimestampTz ts)
{
	if (!last_emitted_is_null(em))
		PointListAppend(em->out, ts, 0.0, true);
}

/* A hole between the last finite point so far and the next one is a gap. */
static void
emit_gap_before(ColumnEmitter *em, TimestampTz next_ts)
{
	if (em->gap > 0 && em->have_last && next_ts - em->last_ts > em->gap)
		emit_null(em, em->last_ts + (next_ts - em->last_ts) / 2);
}

static void
emit_sorted_candidates(ColumnEmitter *em, SeriesPoint *cand, int ncand)
{
	int			i;

	SortPoints(cand, ncand);
	for (i = 0; i < ncand; i++)
	{
		if (i > 0 && ComparePoints(&cand[i - 1], &cand[i]) == 0)
			continue;
		if (cand[i].isnull)
			emit_null(em, cand[i].ts);
		else
			PointListAppend(em->out, cand[i].ts, cand[i].value, false);
	}
}

void
EmitColumnM4(ColumnEmitter *em, const BucketAgg *agg)
{
	SeriesPoint cand[5];
	int			ncand = 0;

	if (agg->n > 0)
	{
		emit_gap_before(em, agg->missing > 0 ?
						Min(agg->first.ts, agg->missing_ts) : agg->first.ts);
		cand[ncand++] = agg->first;
		cand[ncand++] = agg->min;
		cand[ncand++] = agg->max;
		cand[ncand++] = agg->last;
	}
	if (agg->missing > 0)
	{
		cand[ncand].ts = agg->missing_ts;
		cand[ncand].value = 0.0;
		cand[ncand].isnull = true;
		ncand++;
	}
	emit_sorted_candidates(em, cand, ncand);
	if (agg->n > 0)
	{
		em->have_last = true;
		em->last_ts = agg->last.ts;
	}
}

void
EmitColumnAvg(ColumnEmitter *em, const BucketAgg *agg, TimestampTz mid_ts)
{
	SeriesPoint cand[2];
	int			ncand = 0;

	if (agg->n > 0)
	{
		emit_gap_before(em, agg->missing > 0 ?
						Min(agg->first.ts, agg->missing_ts) : agg->first.ts);
		cand[ncand].ts = mid_ts;
		cand[ncand].value = agg->sum / agg->n;
		cand[ncand].isnull = false;
		ncand++;
	}
	if (agg->missing > 0)
	{
		cand[ncand].ts = agg->missing_ts;
		cand[ncand].value = 0.0;
		cand[ncand].isnull = true;
		ncand++;
	}
	emit_sorted_candidates(em, cand, ncand);
	if (agg->n > 0)
	{
		em->have_last = true;
		em->last_ts = agg->last.ts;
	}
}

void
M4SortedPoints(const SeriesPoint *points, int64 n, const ColumnGrid *grid,
			   int64 gap, bool average, PointList *out)
{
	ColumnEmitter em;
	BucketAgg	agg;
	int64		column = -1;
	int64		i;

	ColumnEmitterInit(&em, out, gap);
	BucketAggInit(&agg);
	for (i = 0; i < n; i++)
	{
		int64		c = FloorDiv(points[i].ts - grid->start, grid->width);

		if (c < 0 || c >= grid->columns)
			continue;
		if (c != column)
		{
			if (column >= 0)
			{
				if (average)
					EmitColumnAvg(&em, &agg, grid->start +
								  column * grid->width + grid->width / 2);
				else
					EmitColumnM4(&em, &agg);
			}
			BucketAggInit(&agg);
			column = c;
		}
		BucketAggAddPoint(&agg, &points[i]);
	}
	if (column >= 0)
	{
		if (average)
			EmitColumnAvg(&em, &agg,
						  grid->start + column * grid->width + grid->width / 2);
		else
			EmitColumnM4(&em, &agg);
	}
}

void
RawWithGaps(const SeriesPoint *points, int64 n, int64 gap, PointList *out)
{
	int64		i;

	for (i = 0; i < n; i++)
	{
		const SeriesPoint *p = &points[i];

		if (gap > 0 && i > 0 && p->ts - points[i - 1].ts > gap &&
			!points[i - 1].isnull && !p->isnull)
			PointListAppend(out, points[i - 1].ts + (p->ts - points[i - 1].ts) / 2,
							0.0, true);
		PointListAppend(out, p->ts, p->value, p->isnull);
	}
}

/* ---------------------------------------------------------------------
 * Largest-Triangle-Three-Buckets
 */

/*
 * The chosen indexes into finite[] (nfinite of them) down to threshold,
 * following Steinarsson's reference: first and last kept, the n - 2 points
 * between split into threshold - 2 buckets of equal fractional size.
 */
static int64
lttb_choose(const SeriesPoint *finite, int64 nfinite, int threshold,
			int64 *chosen)
{
	double		every;
	int64		a = 0;
	int64		nchosen = 0;
	TimestampTz t0;
	int			i;

	if (nfinite == 0)
		return 0;
	if (threshold >= nfinite)
	{
		for (a = 0; a < nfinite; a++)
			chosen[a] = a;
		return nfinite;
	}
	chosen[nchosen++] = 0;
	if (threshold == 1)
		return nchosen;
	if (threshold == 2)
	{
		chosen[nchosen++] = nfinite - 1;
		return nchosen;
	}

	/* x in microseconds from the first point keeps doubles exact */
	t0 = finite[0].ts;
	every = (double) (nfinite - 2) / (double) (threshold - 2);
	for (i = 0; i < threshold - 2; i++)
	{
		int64		avg_start = (int64) floor((i + 1) * every) + 1;
		int64		avg_end = Min((int64) floor((i + 2) * every) + 1, nfinite);
		int64		range_start = (int64) floor(i * every) + 1;
		int64		range_end = (int64) floor((i + 1) * every) + 1;
		double		avg_x = 0.0;
		double		avg_y = 0.0;
		double		ax = (double) (finite[a].ts - t0);
		double		ay = finite[a].value;
		double		max_area = -1.0;
		int64		next_a = range_start;
		int64		j;

		for (j = avg_start; j < avg_end; j++)
		{
			avg_x += (double) (finite[j].ts - t0);
			avg_y += finite[j].value;
		}
		avg_x /= (double) (avg_end - avg_start);
		avg_y /= (double) (avg_end - avg_start);

		for (j = range_start; j < range_end; j++)
		{
			double		bx = (double) (finite[j].ts - t0);
			double		by = finite[j].value;
			double		area = fabs((ax - avg_x) * (by - ay) -
									(ax - bx) * (avg_y - ay)) * 0.5;

			if (area > max_area)
			{
				max_area = area;
				next_a = j;
			}
		}
		chosen[nchosen++] = next_a;
		a = next_a;
	}
	chosen[nchosen++] = nfinite - 1;
	return nchosen;
}

void
LttbSortedPoints(const SeriesPoint *points, int64 n, int threshold,
				 int64 gap, PointList *out)
{
	SeriesPoint *finite = palloc(sizeof(SeriesPoint) * Max(n, 1));
	int64	   *gaps_before = palloc(sizeof(int64) * Max(n, 1));
	int64	   *chosen = palloc(sizeof(int64) * Max(n, 1));
	int64		nfinite = 0;
	int64		gaps = 0;
	bool		missing_pending = false;
	int64		nchosen;
	int64		i;

	/*
	 * gaps_before[k]: holes found before finite point k, so two chosen
	 * points have a gap between them when their counts differ.
	 */
	for (i = 0; i < n; i++)
	{
		if (PointIsMissing(&points[i]))
		{
			missing_pending = true;
			continue;
		}
		if (nfinite > 0 && (missing_pending ||
							(gap > 0 && points[i].ts - finite[nfinite - 1].ts > gap)))
			gaps++;
		missing_pending = false;
		gaps_before[nfinite] = gaps;
		finite[nfinite++] = points[i];
	}

	/* Only missing values: one NULL point, as M4 and avg give. */
	if (nfinite == 0 && n > 0)
		PointListAppend(out, points[0].ts, 0.0, true);

	nchosen = lttb_choose(finite, nfinite, threshold, chosen);
	for (i = 0; i < nchosen; i++)
	{
		const SeriesPoint *p = &finite[chosen[i]];

		if (i > 0 && gaps_before[chosen[i]] != gaps_before[chosen[i - 1]])
		{
			const SeriesPoint *prev = &finite[chosen[i - 1]];

			PointListAppend(out, prev->ts + (p->ts - prev->ts) / 2, 0.0, true);
		}
		PointListAppend(out, p->ts, p->value, false);
	}
	pfree(finite);
	pfree(gaps_before);
	pfree(chosen);
}

/* ---------------------------------------------------------------------
 * Generic aggregates: mnemic.lttb(ts, value, n), mnemic.m4(ts, value,
 * t_from, t_to, width).  The state collects the finite points; the final
 * function sorts them, so input order does not matter.
 */

typedef struct DownsampleState
{
	PointList	points;
	int			target;			/* lttb: n; m4: width */
	TimestampTz t_from;			/* m4 only */
	TimestampTz t_to;
} DownsampleState;

static DownsampleState *
downsample_state(FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;
	MemoryContext old;
	DownsampleState *state;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "mnemic downsampling aggregate called in non-aggregate context");
	if (!PG_ARGISNULL(0))
		return (DownsampleState *) PG_GETARG_POINTER(0);
	old = MemoryContextSwitchTo(aggcontext);
	state = palloc0(sizeof(DownsampleState));
	PointListInit(&state->points, 1024);
	MemoryContextSwitchTo(old);
	return state;
}

static void
downsample_state_add(DownsampleState *state, FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;
	MemoryContext old;
	double		value;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return;
	value = PG_GETARG_FLOAT8(2);
	if (isnan(value) || isinf(value))
		return;
	AggCheckCallContext(fcinfo, &aggcontext);
	old = MemoryContextSwitchTo(aggcontext);
	PointListAppend(&state->points, PG_GETARG_TIMESTAMPTZ(1), value, false);
	MemoryContextSwitchTo(old);
}

Datum
mnemic_lttb_accum(PG_FUNCTION_ARGS)
{
	DownsampleState *state = downsample_state(fcinfo);

	if (state->target == 0)
	{
		if (PG_ARGISNULL(3) || PG_GETARG_INT32(3) < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("mnemic.lttb: n must be a positive number of points")));
		state->target = PG_GETARG_INT32(3);
	}
	downsample_state_add(state, fcinfo);
	PG_RETURN_POINTER(state);
}

Datum
mnemic_m4_accum(PG_FUNCTION_ARGS)
{
	DownsampleState *state = downsample_state(fcinfo);

	if (state->target == 0)
	{
		if (PG_ARGISNULL(3) || PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("mnemic.m4: t_from and t_to must not be NULL")));
		if (PG_ARGISNULL(5) || PG_GETARG_INT32(5) < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("mnemic.m4: width must be a positive number of columns")));
		state->t_from = PG_GETARG_TIMESTAMPTZ(3);
		state->t_to = PG_GETARG_TIMESTAMPTZ(4);
		if (state->t_to < state->t_from)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("mnemic.m4: t_to is before t_from")));
		if (TIMESTAMP_NOT_FINITE(state->t_from) ||
			TIMESTAMP_NOT_FINITE(state->t_to))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("mnemic.m4: t_from and t_to must be finite")));
		state->target = PG_GETARG_INT32(5);
	}
	if (!PG_ARGISNULL(1) &&
		(PG_GETARG_TIMESTAMPTZ(1) < state->t_from ||
		 PG_GETARG_TIMESTAMPTZ(1) > state->t_to))
		PG_RETURN_POINTER(state);
	downsample_state_add(state, fcinfo);
	PG_RETURN_POINTER(state);
}

/* The mnemic.point composite type, found next to the calling function. */
static Oid
point_type_oid(FunctionCallInfo fcinfo)
{
	Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	Oid			typid;

	typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
							CStringGetDatum("point"), ObjectIdGetDatum(nsp));
	if (!OidIsValid(typid))
		elog(ERROR, "type mnemic.point is missing");
	return typid;
}

/* An array of mnemic.point from a list. */
static Datum
point_list_to_array(const PointList *list, Oid point_typid)
{
	TupleDesc	tupdesc = lookup_rowtype_tupdesc_copy(point_typid, -1);
	Datum	   *elems = palloc(sizeof(Datum) * Max(list->n, 1));
	int64		i;

	BlessTupleDesc(tupdesc);
	for (i = 0; i < list->n; i++)
	{
		Datum		values[2];
		bool		nulls[2];

		values[0] = TimestampTzGetDatum(list->points[i].ts);
		values[1] = Float8GetDatum(list->points[i].value);
		nulls[0] = false;
		nulls[1] = list->points[i].isnull;
		elems[i] = HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
	}
	return PointerGetDatum(construct_array(elems, (int) list->n, point_typid,
										   -1, false, TYPALIGN_DOUBLE));
}

Datum
mnemic_lttb_final(PG_FUNCTION_ARGS)
{
	DownsampleState *state;
	PointList	out;

	/* no rows: no points, as for rows that are all NULL */
	if (PG_ARGISNULL(0))
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(point_type_oid(fcinfo)));
	state = (DownsampleState *) PG_GETARG_POINTER(0);
	SortPoints(state->points.points, state->points.n);
	PointListInit(&out, Min(state->points.n, state->target));
	LttbSortedPoints(state->points.points, state->points.n, state->target,
					 0, &out);
	PG_RETURN_DATUM(point_list_to_array(&out, point_type_oid(fcinfo)));
}

Datum
mnemic_m4_final(PG_FUNCTION_ARGS)
{
	DownsampleState *state;
	ColumnGrid	grid;
	PointList	out;

	if (PG_ARGISNULL(0))
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(point_type_oid(fcinfo)));
	state = (DownsampleState *) PG_GETARG_POINTER(0);
	SortPoints(state->points.points, state->points.n);
	grid = ColumnGridMake(state->t_from, state->t_to, state->target, 1);
	PointListInit(&out, 64);
	M4SortedPoints(state->points.points, state->points.n, &grid, 0, false,
				   &out);
	PG_RETURN_DATUM(point_list_to_array(&out, point_type_oid(fcinfo)));
}
