/*
 * batch.h
 *	  What the store holds between flushes: everything received, grouped by
 *	  run, and within a run by metric, in growing C arrays.
 *
 * The inserter, mnemic.ingest_datagram() and mnemic.import_series() buffer
 * into a StoreBatch; StoreBatchFlush() (store.h) writes it.  Nothing per
 * sample is allocated or sent through SPI.  Strings are kept in UTF-8, as
 * the wire carries them, and converted in the flush, where a failure is one
 * run's and not the caller's.
 */
#ifndef MNEMIC_BATCH_H
#define MNEMIC_BATCH_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/hsearch.h"
#include "utils/uuid.h"

#include "decode.h"
#include "profile_batch.h"
#include "sequence.h"

/*
 * When a flush writes the summaries of what it stored.  The inserter writes
 * them at the end of each run's subtransaction, so that nothing one run sends
 * can make another run's samples fail; SQL callers, which may flush many
 * times in one transaction, leave them for commit, where each summary row is
 * written once.
 */
typedef enum StoreSummaries
{
	STORE_SUMMARIES_PER_RUN,
	STORE_SUMMARIES_AT_COMMIT
} StoreSummaries;

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
	TimestampTz first_arrival;	/* imports: their first and last point */
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

	ProfileBuffer *profile;		/* NULL until a profile message comes */
	int64		profile_samples;	/* stack and allocation samples */
	SeriesBuffer *rss;			/* the samples' RSS: metric rss_bytes */
} RunBuffer;

/* The metric the stack samples' RSS is stored as, and its position. */
#define RSS_METRIC_NAME		"rss_bytes"
#define RSS_METRIC_IDX		(-1)

typedef struct StoreBatch
{
	MemoryContext cxt;			/* everything buffered; reset by a flush */
	StoreSummaries summaries;	/* when summaries are written */
	HTAB	   *runs;
	RunBuffer  *last_run;		/* consecutive datagrams are mostly one run */
	int64		samples;
	int64		bad_timestamps; /* v1 points dropped: time out of range */
} StoreBatch;

/* A batch lives in its own memory context under parent; reused after flush. */
extern StoreBatch *StoreBatchCreate(MemoryContext parent,
									StoreSummaries summaries);

/*
 * Buffer one decoded datagram that arrived at `arrival` (legacy rows are
 * stamped with it).  Copies everything it keeps.
 */
extern void StoreBatchAddDatagram(StoreBatch *batch, const DecodedDatagram *dg,
								  TimestampTz arrival);

/* Buffer points of one metric for mnemic.import_series(). */
extern void StoreBatchAddSeries(StoreBatch *batch, const char *tracer,
								const pg_uuid_t *run, const char *metric,
								const TimestampTz *ts, const double *values,
								const bool *isnull, int n);

/*
 * Buffer a whole imported profile as run `run` of tracer (protocol
 * 'import', dated by its samples), with rss[i] at rss_ts[i] for its metric
 * rss_bytes.  pb must live in the batch's memory context.
 */
extern void StoreBatchAddImport(StoreBatch *batch, const char *tracer,
								const pg_uuid_t *run, ProfileBuffer *pb,
								int64 nrss, const TimestampTz *rss_ts,
								const double *rss);

/* The memory context a batch keeps what it buffers in. */
extern MemoryContext StoreBatchContext(StoreBatch *batch);

/* Samples buffered and not yet flushed. */
extern int64 StoreBatchSamples(StoreBatch *batch);

/* Forget everything buffered (after a flush, or to throw a batch away). */
extern void StoreBatchReset(StoreBatch *batch);

/* Sort a metric's buffered points by time (stable: equal times keep order). */
extern void SeriesBufferSort(SeriesBuffer *sb);

#endif							/* MNEMIC_BATCH_H */
