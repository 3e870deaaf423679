/*
 * downsample.h
 *	  Downsampling over C arrays of points: pixel-column grids, M4, avg and
 *	  Largest-Triangle-Three-Buckets, with gaps kept as gaps.
 *
 * Nothing here touches tables; series.c feeds it from blocks or summaries,
 * and the generic aggregates mnemic.lttb / mnemic.m4 feed it from any rows.
 * Points and bucket aggregates are listener/bucket.h's, shared with the
 * summaries' insert side.  Missing points (NULL, NaN, +/-Infinity) turn
 * into a NULL point (a break in the line) in M4 and avg output.
 */
#ifndef MNEMIC_DOWNSAMPLE_H
#define MNEMIC_DOWNSAMPLE_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "listener/bucket.h"

/* A growable list of points: the output of every reduction. */
typedef struct PointList
{
	SeriesPoint *points;
	int64		n;
	int64		capacity;
} PointList;

/*
 * Pixel columns: column c covers [start + c * width, start + (c+1) * width).
 * width is a multiple of the unit the grid was built on.
 */
typedef struct ColumnGrid
{
	TimestampTz start;
	int64		width;			/* microseconds */
	int64		columns;
} ColumnGrid;

extern void PointListInit(PointList *list, int64 capacity);
extern void PointListAppend(PointList *list, TimestampTz ts, double value,
							bool isnull);

/*
 * Columns of about `points` equal widths, multiples of unit, covering
 * [t_from, t_to], starting at t_from rounded down to a multiple of unit:
 * the grid of the mnemic.m4 aggregate (columns as wide as needed).
 */
extern ColumnGrid ColumnGridMake(TimestampTz t_from, TimestampTz t_to,
								 int points, int64 unit);

/*
 * The grid of a chart `points` pixels wide: columns a whole number of units
 * wide but no wider than a pixel, (t_to - t_from) / points (at least one
 * unit), starting at t_from rounded down to a multiple of unit and covering
 * [t_from, t_to].  A column wider than a pixel would let two pixel columns
 * share one min/max.  False when that takes more than 2 * points columns
 * (unit too coarse for this range); the grid is filled in anyway.
 */
extern bool PixelGridMake(TimestampTz t_from, TimestampTz t_to, int points,
						  int64 unit, ColumnGrid *grid);

/*
 * Emitting column aggregates, in column order.  Between two columns whose
 * finite points are more than gap apart (gap > 0) a NULL point is emitted
 * at the middle of the hole; a column with missing values emits a NULL
 * point at the earliest of them.  Never two NULL points in a row.
 */
typedef struct ColumnEmitter
{
	PointList  *out;
	int64		gap;			/* microseconds; 0: no gap detection */
	bool		have_last;
	TimestampTz last_ts;		/* last finite point emitted so far */
} ColumnEmitter;

extern void ColumnEmitterInit(ColumnEmitter *em, PointList *out, int64 gap);

/* first, min, max and last of the column, in time order, without repeats */
extern void EmitColumnM4(ColumnEmitter *em, const BucketAgg *agg);

/* the mean of the column at mid_ts */
extern void EmitColumnAvg(ColumnEmitter *em, const BucketAgg *agg,
						  TimestampTz mid_ts);

/*
 * M4 or avg of sorted points over grid; points outside it are ignored.
 */
extern void M4SortedPoints(const SeriesPoint *points, int64 n,
						   const ColumnGrid *grid, int64 gap, bool average,
						   PointList *out);

/*
 * Every point of sorted input with a NULL point inserted where two
 * consecutive points are more than gap apart (gap > 0).
 */
extern void RawWithGaps(const SeriesPoint *points, int64 n, int64 gap,
						PointList *out);

/*
 * LTTB of sorted points down to `threshold` points (all of them when there
 * are no more than that; the first for 1; first and last for 2).  Missing
 * points do not take part; a NULL point is inserted between two chosen
 * points when the input between them holds a missing point or two
 * consecutive points more than gap apart (gap > 0).
 */
extern void LttbSortedPoints(const SeriesPoint *points, int64 n,
							 int threshold, int64 gap, PointList *out);

#endif							/* MNEMIC_DOWNSAMPLE_H */
