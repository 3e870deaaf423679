/*
 * bucket.c
 *	  The order of points and the merge rules of bucket aggregates
 *	  (bucket.h).
 */
#include "postgres.h"

#include "bucket.h"

/*
 * The one total order of points: by time; at equal times finite values
 * ascending, then the missing ones.  NaN sorts after +Infinity, as in SQL.
 */
int
ComparePoints(const void *a, const void *b)
{
	const SeriesPoint *p = a;
	const SeriesPoint *q = b;

	if (p->ts != q->ts)
		return p->ts < q->ts ? -1 : 1;
	if (p->isnull != q->isnull)
		return p->isnull ? 1 : -1;
	if (p->isnull)
		return 0;
	if (isnan(p->value) || isnan(q->value))
		return isnan(p->value) - isnan(q->value);
	if (p->value != q->value)
		return p->value < q->value ? -1 : 1;
	return 0;
}

void
SortPoints(SeriesPoint *points, int64 n)
{
	int64		i;

	/* blocks usually arrive in order: skip the sort when they do */
	for (i = 1; i < n; i++)
		if (ComparePoints(&points[i - 1], &points[i]) > 0)
			break;
	if (i < n)
		qsort(points, n, sizeof(SeriesPoint), ComparePoints);
}

int64
FloorDiv(int64 a, int64 b)
{
	int64		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* ---------------------------------------------------------------------
 * Bucket aggregates
 */

void
BucketAggInit(BucketAgg *agg)
{
	memset(agg, 0, sizeof(BucketAgg));
}

static bool
ts_value_less(TimestampTz t1, double v1, TimestampTz t2, double v2)
{
	return t1 < t2 || (t1 == t2 && v1 < v2);
}

void
BucketAggAddPoint(BucketAgg *agg, const SeriesPoint *p)
{
	if (PointIsMissing(p))
	{
		if (agg->missing == 0 || p->ts < agg->missing_ts)
			agg->missing_ts = p->ts;
		agg->missing++;
		return;
	}
	if (agg->n == 0)
	{
		agg->first = agg->last = agg->min = agg->max = *p;
		agg->n = 1;
		agg->sum = p->value;
		return;
	}
	agg->n++;
	agg->sum += p->value;
	if (ts_value_less(p->ts, p->value, agg->first.ts, agg->first.value))
		agg->first = *p;
	if (ts_value_less(agg->last.ts, agg->last.value, p->ts, p->value))
		agg->last = *p;
	if (p->value < agg->min.value ||
		(p->value == agg->min.value && p->ts < agg->min.ts))
		agg->min = *p;
	if (p->value > agg->max.value ||
		(p->value == agg->max.value && p->ts < agg->max.ts))
		agg->max = *p;
}

void
BucketAggMerge(BucketAgg *into, const BucketAgg *from)
{
	if (from->missing > 0)
	{
		if (into->missing == 0 || from->missing_ts < into->missing_ts)
			into->missing_ts = from->missing_ts;
		into->missing += from->missing;
	}
	if (from->n == 0)
		return;
	if (into->n == 0)
	{
		into->n = from->n;
		into->sum = from->sum;
		into->first = from->first;
		into->last = from->last;
		into->min = from->min;
		into->max = from->max;
		return;
	}
	/* the tie rules of BucketAggAddPoint, so merging order never shows */
	into->n += from->n;
	into->sum += from->sum;
	if (ts_value_less(from->first.ts, from->first.value,
					  into->first.ts, into->first.value))
		into->first = from->first;
	if (ts_value_less(into->last.ts, into->last.value,
					  from->last.ts, from->last.value))
		into->last = from->last;
	if (from->min.value < into->min.value ||
		(from->min.value == into->min.value && from->min.ts < into->min.ts))
		into->min = from->min;
	if (from->max.value > into->max.value ||
		(from->max.value == into->max.value && from->max.ts < into->max.ts))
		into->max = from->max;
}
