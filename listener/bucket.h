/*
 * bucket.h
 *	  Points and the aggregate of a time bucket: what summaries store per
 *	  bucket and what M4 and avg need per pixel column.
 *
 * The summaries' insert side (summary.c) and the readers in pg_mnemic/
 * (series.c, downsample.c) share these, so the merge rules are written once
 * and a bucket merged in the store equals one merged while reading.
 *
 * A point is "missing" when its value is NULL, NaN or +/-Infinity.  Missing
 * points never enter a BucketAgg's first/last/min/max/sum; they are counted.
 */
#ifndef MNEMIC_BUCKET_H
#define MNEMIC_BUCKET_H

#include "postgres.h"

#include <math.h>

#include "datatype/timestamp.h"

typedef struct SeriesPoint
{
	TimestampTz ts;
	double		value;
	bool		isnull;			/* a SQL NULL value */
} SeriesPoint;

/*
 * What M4 and avg need from the points of one time bucket (a pixel column or
 * a stored summary bucket).  Ties are broken so that the result does not
 * depend on the order points are added or buckets merged: first is the
 * lowest (ts, value), last the highest (ts, value), min the lowest value at
 * its earliest ts, max the highest value at its earliest ts.
 */
typedef struct BucketAgg
{
	int64		n;				/* finite values */
	double		sum;
	SeriesPoint first;
	SeriesPoint last;
	SeriesPoint min;
	SeriesPoint max;
	int64		missing;		/* NULL / NaN / Infinity values */
	TimestampTz missing_ts;		/* earliest missing point */
} BucketAgg;

static inline bool
PointIsMissing(const SeriesPoint *p)
{
	return p->isnull || isnan(p->value) || isinf(p->value);
}

/*
 * The one total order of points (a qsort comparator): by time; at equal
 * times finite values ascending, then the missing ones.
 */
extern int	ComparePoints(const void *a, const void *b);

/* Sort by ts, then finite values ascending, then missing ones. */
extern void SortPoints(SeriesPoint *points, int64 n);

extern void BucketAggInit(BucketAgg *agg);
extern void BucketAggAddPoint(BucketAgg *agg, const SeriesPoint *p);
extern void BucketAggMerge(BucketAgg *into, const BucketAgg *from);

/* Floor division for timestamps before the epoch. */
extern int64 FloorDiv(int64 a, int64 b);

#endif							/* MNEMIC_BUCKET_H */
