/*
 * ring.h
 *	  A bounded single-producer/single-consumer byte ring in shared memory.
 *
 * The receiver pushes every datagram as a record {length, flags, arrival
 * time, bytes}; the inserter peeks at the oldest record, uses it in place and then
 * releases it.  head and tail are byte counts that only grow (64 bits never
 * wrap in practice); the position in data[] is the count modulo capacity.
 * Only the producer writes head and only the consumer writes tail, so no
 * lock is needed, just barriers: the producer publishes head after the bytes
 * are written, the consumer publishes tail after it has finished reading.
 *
 * A record never wraps around the end of data[]: when it would not fit in
 * the space left before the end, the producer skips that space (marked with
 * a RING_SKIP header when there is room for one) and starts at offset 0.
 */
#ifndef MNEMIC_RING_H
#define MNEMIC_RING_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "port/atomics.h"

typedef struct MnemicRing
{
	uint64		capacity;		/* bytes in data[], a multiple of 8 */
	pg_atomic_uint64 head;		/* bytes ever pushed (producer) */
	pg_atomic_uint64 tail;		/* bytes ever released (consumer) */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} MnemicRing;

/*
 * Flags the producer stores with a record.  UNCHECKED: the receiver could
 * not verify the datagram's signature yet (no keys published, auth.h), so
 * the inserter must.
 */
#define RING_FLAG_UNCHECKED		0x01

/* One datagram as the consumer sees it, valid until RingRelease(). */
typedef struct RingRecord
{
	const uint8 *bytes;
	uint32		len;
	uint32		flags;			/* RING_FLAG_* */
	TimestampTz arrival;
	uint64		next;			/* tail once this record is released */
} RingRecord;

/* Shared memory for a ring whose data[] holds capacity bytes. */
extern Size RingShmemSize(uint64 capacity);
extern void RingInit(MnemicRing *ring, uint64 capacity);

/*
 * Producer: copy one datagram in.  False when the ring has no room (the
 * caller counts the drop).
 */
extern bool RingPush(MnemicRing *ring, const void *bytes, uint32 len,
					 TimestampTz arrival, uint32 flags);

/* Consumer: the oldest record, or false when the ring is empty. */
extern bool RingPeek(MnemicRing *ring, RingRecord *rec);

/* Consumer: done with the record RingPeek() returned; its space is freed. */
extern void RingRelease(MnemicRing *ring, const RingRecord *rec);

/* Bytes currently held (either side; a snapshot). */
extern uint64 RingUsed(MnemicRing *ring);

#endif							/* MNEMIC_RING_H */
