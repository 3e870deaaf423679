/*
 * store.h
 *	  The one path samples take into the tables.
 *
 * The inserter worker, mnemic.ingest_datagram() and mnemic.import_series()
 * all buffer into a StoreBatch and write it with StoreBatchFlush(), so what
 * arrives over UDP and what is imported land exactly alike: tracer, run and
 * metric rows created as needed, samples packed into mnemic.block rows through
 * table_multi_insert() with index maintenance (as COPY does), run counters
 * (datagrams, sequence, lost, samples, last_seen) updated once per run per
 * flush, and summaries maintained (pg_mnemic/summary.h).
 */
#ifndef MNEMIC_STORE_H
#define MNEMIC_STORE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/uuid.h"

#include "decode.h"

typedef struct StoreBatch StoreBatch;

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

/* A batch lives in its own memory context under parent; reused after flush. */
extern StoreBatch *StoreBatchCreate(MemoryContext parent,
									StoreSummaries summaries);

/*
 * Buffer one decoded datagram that arrived at `arrival` (legacy rows are
 * stamped with it) and was nbytes long.  Copies everything it keeps.
 */
extern void StoreBatchAddDatagram(StoreBatch *batch, const DecodedDatagram *dg,
								  TimestampTz arrival, size_t nbytes);

/* Buffer points of one metric for mnemic.import_series(). */
extern void StoreBatchAddSeries(StoreBatch *batch, const char *tracer,
								const pg_uuid_t *run, const char *metric,
								const TimestampTz *ts, const double *values,
								const bool *isnull, int n);

/* Samples buffered and not yet flushed. */
extern int64 StoreBatchSamples(StoreBatch *batch);

/*
 * Write everything buffered.  Must be called inside a transaction; each run
 * is written in its own subtransaction, so a run whose rows fail (logged,
 * counted in flush_errors) does not lose the other runs.  Returns the number
 * of samples stored.  The batch is empty afterwards.
 */
extern int64 StoreBatchFlush(StoreBatch *batch);

/* Forget cached tracer/run/metric ids (after an error or DROP EXTENSION). */
extern void StoreForgetCache(void);

#endif							/* MNEMIC_STORE_H */
