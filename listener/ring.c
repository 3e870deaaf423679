/*
 * ring.c
 *	  The bounded single-producer/single-consumer byte ring between the
 *	  receiver and the inserter (see ring.h for the layout and the rules).
 */
#include "postgres.h"

#include "ring.h"

/* Each record starts with this header, 8-byte aligned. */
typedef struct RingRecordHeader
{
	uint32		len;			/* datagram bytes, or RING_SKIP */
	uint32		flags;			/* RING_FLAG_* */
	TimestampTz arrival;
} RingRecordHeader;

/* len of a header that says "nothing more before the end of data[]" */
#define RING_SKIP	PG_UINT32_MAX

#define RING_ALIGN(n)	TYPEALIGN(8, (n))

Size
RingShmemSize(uint64 capacity)
{
	return add_size(offsetof(MnemicRing, data), RING_ALIGN(capacity));
}

void
RingInit(MnemicRing *ring, uint64 capacity)
{
	ring->capacity = RING_ALIGN(capacity);
	pg_atomic_init_u64(&ring->head, 0);
	pg_atomic_init_u64(&ring->tail, 0);
}

bool
RingPush(MnemicRing *ring, const void *bytes, uint32 len, TimestampTz arrival,
		 uint32 flags)
{
	uint64		head = pg_atomic_read_u64(&ring->head);
	uint64		tail = pg_atomic_read_u64(&ring->tail);
	uint64		offset = head % ring->capacity;
	uint64		until_end = ring->capacity - offset;
	uint64		need = sizeof(RingRecordHeader) + RING_ALIGN(len);
	uint64		skip = 0;
	RingRecordHeader *hdr;

	/*
	 * The consumer must have finished reading the space up to tail before we
	 * overwrite it: order our read of tail before the writes below.
	 */
	pg_memory_barrier();

	if (need > until_end)
		skip = until_end;
	if (skip + need > ring->capacity - (head - tail))
		return false;

	if (skip > 0)
	{
		if (skip >= sizeof(RingRecordHeader))
		{
			hdr = (RingRecordHeader *) (ring->data + offset);
			hdr->len = RING_SKIP;
		}
		offset = 0;
	}

	hdr = (RingRecordHeader *) (ring->data + offset);
	hdr->len = len;
	hdr->flags = flags;
	hdr->arrival = arrival;
	memcpy(ring->data + offset + sizeof(RingRecordHeader), bytes, len);

	/* The record's bytes must be visible before the new head is. */
	pg_write_barrier();
	pg_atomic_write_u64(&ring->head, head + skip + need);
	return true;
}

bool
RingPeek(MnemicRing *ring, RingRecord *rec)
{
	uint64		tail = pg_atomic_read_u64(&ring->tail);
	uint64		head = pg_atomic_read_u64(&ring->head);
	uint64		offset;
	uint64		until_end;
	RingRecordHeader *hdr;

	if (tail == head)
		return false;

	/* Read the record only after seeing the head that covers it. */
	pg_read_barrier();

	offset = tail % ring->capacity;
	until_end = ring->capacity - offset;
	hdr = (RingRecordHeader *) (ring->data + offset);
	if (until_end < sizeof(RingRecordHeader) || hdr->len == RING_SKIP)
	{
		tail += until_end;
		offset = 0;
		hdr = (RingRecordHeader *) ring->data;
		Assert(tail != head);
	}

	rec->len = hdr->len;
	rec->flags = hdr->flags;
	rec->arrival = hdr->arrival;
	rec->bytes = (const uint8 *) ring->data + offset + sizeof(RingRecordHeader);
	rec->next = tail + sizeof(RingRecordHeader) + RING_ALIGN(hdr->len);
	return true;
}

void
RingRelease(MnemicRing *ring, const RingRecord *rec)
{
	/* Every read of the record must be done before the space is reused. */
	pg_memory_barrier();
	pg_atomic_write_u64(&ring->tail, rec->next);
}

uint64
RingUsed(MnemicRing *ring)
{
	uint64		tail = pg_atomic_read_u64(&ring->tail);
	uint64		head = pg_atomic_read_u64(&ring->head);

	return head - tail;
}
