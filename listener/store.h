/*
 * store.h
 *	  The one path samples take into the tables.
 *
 * The inserter worker, mnemic.ingest_datagram() and mnemic.import_series()
 * all buffer into a StoreBatch (batch.h) and write it with StoreBatchFlush(),
 * so what arrives over UDP and what is imported land exactly alike: tracer,
 * run and metric rows created as needed, samples packed into mnemic.block
 * rows (block.h), run counters (datagrams, sequence, lost, samples,
 * last_seen) updated once per run per flush, and summaries maintained
 * (summary.h).
 */
#ifndef MNEMIC_STORE_H
#define MNEMIC_STORE_H

#include "postgres.h"

#include "batch.h"

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
