/*
 * block.h
 *	  mnemic.block, the sample storage: a row holds up to BLOCK_MAX
 *	  consecutive points of one metric as parallel arrays (sql/schema.sql,
 *	  docs/storage.md).  Writing blocks as COPY does, and reading a metric's
 *	  blocks back.
 */
#ifndef MNEMIC_BLOCK_H
#define MNEMIC_BLOCK_H

#include "postgres.h"

#include "access/heapam.h"
#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "utils/array.h"
#include "utils/rel.h"

/*
 * Points per mnemic.block row.  A block of n points without NULLs is a
 * 104 + 16n byte heap tuple, so 248 points is the largest block of which two
 * fit one 8 kB page; 256 would leave every page half empty.  See
 * docs/storage.md for the measurements.  SQL reads it as
 * mnemic.block_capacity(); blocks below half of it are "small" and merged
 * by mnemic.compact_blocks() (the partial index block_small says n < 124).
 */
#define BLOCK_MAX	248
#define BLOCK_SMALL	(BLOCK_MAX / 2)

/* Blocks handed to table_multi_insert() at once (about 1 MB). */
#define BLOCK_MULTI_INSERT_MAX	256

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

/*
 * The blocks of one flush: mnemic.block opened once, written with
 * table_multi_insert() and index maintenance, as COPY does, so no trigger,
 * constraint, default or rule of the table applies (docs/sql.md).
 */
typedef struct BlockWriter
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	TupleTableSlot *slots[BLOCK_MULTI_INSERT_MAX];
	int			nslots;
	AttrNumber	attno[BLOCK_NCOLUMNS];	/* of each column, 0-based */
} BlockWriter;

/*
 * A one-dimensional array of n pass-by-value elements of elemlen (4 or 8)
 * bytes (int4, int8, float8, timestamptz) built directly from C values,
 * without going through Datum arrays; isnull may be NULL.
 */
extern ArrayType *ArrayOfFixed(const void *data, const bool *isnull, int n,
							   Oid elemtype, int elemlen);

/* mnemic.block's OID, or an error saying the extension is not installed. */
extern Oid	BlockRelid(void);

/*
 * Open the writer outside the runs' subtransactions (the slots pin the
 * tuple descriptor in the current resource owner, which must outlive a
 * failed run).  Errors when the table's live columns are not the ones
 * written.
 */
extern void BlockWriterOpen(BlockWriter *w, Oid relid);

/* Buffer one block of n sorted points (isnull may be NULL). */
extern void BlockWriterAdd(BlockWriter *w, int32 metric_id,
						   const TimestampTz *ts, const double *values,
						   const bool *isnull, int n);

/* At the end of a run's subtransaction: write what is buffered. */
extern void BlockWriterFinishRun(BlockWriter *w);

/* After a run's subtransaction was rolled back. */
extern void BlockWriterAbandonRun(BlockWriter *w);

extern void BlockWriterClose(BlockWriter *w);

/*
 * Read a metric's blocks through SPI (connected by the caller), calling fn
 * with the points of each block (isnull[i] for a NULL value) until it
 * returns false.  With a range, only blocks that may hold points of
 * [from, to] (their first point within max_span_us before from), in no
 * particular order; without, every block in order of its first point.
 */
typedef bool (*BlockPointsFn) (const TimestampTz *ts, const double *values,
							   const bool *isnull, int n, void *arg);
extern void BlockReadRange(int32 metric_id, TimestampTz from, TimestampTz to,
						   Datum max_span, BlockPointsFn fn, void *arg);
extern void BlockReadAll(int32 metric_id, BlockPointsFn fn, void *arg);

#endif							/* MNEMIC_BLOCK_H */
