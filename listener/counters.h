/*
 * counters.h
 *	  The listener's counters in shared memory: what was received, stored
 *	  and dropped, and how the flushes went.  mnemic.listener_stats()
 *	  (pg_mnemic/listener_stats.c) reads them.
 *
 * Counters are atomics so the receiver, the inserter and any backend running
 * mnemic.ingest_datagram() can bump them without a lock; the last error text
 * is guarded by a spinlock.
 */
#ifndef MNEMIC_COUNTERS_H
#define MNEMIC_COUNTERS_H

#include "port/atomics.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "decode.h"

typedef struct ListenerCounters
{
	pg_atomic_uint64 datagrams_received;	/* taken off the socket */
	pg_atomic_uint64 bytes_received;
	pg_atomic_uint64 datagrams_decoded;		/* decoded and handed to storage */
	pg_atomic_uint64 samples_stored;		/* values committed */
	pg_atomic_uint64 malformed[DECODE_NREASONS];	/* by DecodeResult */
	pg_atomic_uint64 unknown_kinds;			/* v1 messages skipped */
	pg_atomic_uint64 lost;					/* sequence gaps, all runs */
	pg_atomic_uint64 seq_resets;			/* sequences started anew */
	pg_atomic_uint64 auth_bad;				/* tag did not verify */
	pg_atomic_uint64 auth_unknown_key;		/* signed with a key id we lack */
	pg_atomic_uint64 auth_unsigned;			/* unsigned under auth = require */
	pg_atomic_uint64 auth_replayed;			/* (run, sequence) seen before */
	pg_atomic_uint64 key_datagrams[256];	/* taken, signed with key id i */
	pg_atomic_uint64 key_last_used[256];	/* TimestampTz of the latest */
	pg_atomic_uint64 kernel_drops;			/* SO_RXQ_OVFL */
	pg_atomic_uint64 ring_drops;			/* ring full: receiver outran inserter */
	pg_atomic_uint64 flushes;
	pg_atomic_uint64 flush_errors;
	pg_atomic_uint64 flush_time_us;			/* total */
	pg_atomic_uint64 flush_time_max_us;
	pg_atomic_uint64 ring_high_water;		/* bytes */
	pg_atomic_uint64 batch_high_water;		/* samples held by the inserter */
	slock_t		mutex;						/* protects the two below */
	TimestampTz last_error_time;
	char		last_error[512];
} ListenerCounters;

extern ListenerCounters *listener_counters;	/* NULL when not preloaded */

extern Size CountersShmemSize(void);
extern void CountersShmemInit(void);

/* Bump a counter; a no-op when the library was not preloaded. */
static inline void
CountersAdd(pg_atomic_uint64 *counter, uint64 n)
{
	if (listener_counters != NULL)
		pg_atomic_fetch_add_u64(counter, n);
}

/* Raise a high-water mark to v if it is lower. */
extern void CountersMax(pg_atomic_uint64 *mark, uint64 v);

/* Remember the most recent error, for listener_stats(). */
extern void CountersSetError(const char *msg);

#endif							/* MNEMIC_COUNTERS_H */
