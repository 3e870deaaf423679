/*
 * sequence.h
 *	  Counting the datagrams a v1 run lost, from their sequence numbers.
 *
 * A v1 client numbers its datagrams 0, 1, 2, ... (32 bits, wrapping).  The
 * server keeps, per run, the current sequence: the lowest and highest number
 * seen (unwrapped to 64 bits) and how many datagrams carried a number in
 * that range; lost = (last - first + 1) - count, never below 0, so a late
 * datagram that fills a gap lowers it again.
 *
 * A number far outside any plausible window around the current sequence is
 * not taken as loss: one spoofed datagram with a random number would
 * otherwise count up to 2^31 datagrams lost.  It starts a new sequence,
 * counted as a reset; the datagrams the old sequence lost stay counted.  The
 * window is SEQ_WINDOW numbers either side of the current range, widened by
 * SEQ_WINDOW_PER_SECOND for each second the run was silent (up to
 * SEQ_SILENCE_MAX_US), as a client that was cut off keeps numbering.
 *
 * The run's current sequence is the one its latest datagram belongs to; a
 * spoofed datagram in the middle of a run's traffic therefore costs two
 * resets (to it, and back when the next real datagram follows a flush
 * later) or one, and no loss.
 *
 * Plain C without PostgreSQL headers, like the decoder, so it is unit-tested
 * on its own (regress/decoder).
 */
#ifndef MNEMIC_SEQUENCE_H
#define MNEMIC_SEQUENCE_H

#include <stdbool.h>
#include <stdint.h>

#define SEQ_WINDOW				(INT64_C(1) << 20)
#define SEQ_WINDOW_PER_SECOND	(INT64_C(1) << 16)
#define SEQ_SILENCE_MAX_US		(INT64_C(600) * 1000000)

/* Distinct sequences one run may show within one batch before the smallest
 * is closed early. */
#define SEQ_MAX_SEGMENTS		8

/* Numbers of one sequence seen in a batch, as offsets from the first. */
typedef struct SeqSegment
{
	uint32_t	ref;			/* the first number seen: offset 0 */
	int64_t		prev;			/* offset of the latest number */
	int64_t		lo;				/* lowest and highest offsets */
	int64_t		hi;
	int64_t		count;			/* datagrams */
	int64_t		first_arrival;	/* µs, any epoch, the same for all */
	int64_t		last_arrival;
} SeqSegment;

/* What one batch saw of one run's sequence numbers. */
typedef struct SeqBatch
{
	int			nsegments;
	int			current;		/* segment of the latest datagram */
	SeqSegment	segments[SEQ_MAX_SEGMENTS];
	int64_t		closed_lost;	/* of segments closed to make room */
	int64_t		closed_resets;
} SeqBatch;

/* A run's sequence as stored between batches. */
typedef struct SeqState
{
	bool		valid;			/* false until the run's first number */
	int64_t		first;			/* the current sequence, unwrapped */
	int64_t		last;
	int64_t		count;
	int64_t		last_arrival;	/* µs, of the run's latest datagram */
	int64_t		lost;			/* every sequence of the run, this one too */
	int64_t		resets;
} SeqState;

static inline void
seq_batch_init(SeqBatch *b)
{
	b->nsegments = 0;
	b->current = 0;
	b->closed_lost = 0;
	b->closed_resets = 0;
}

/* Note one datagram's number, arrived at arrival (µs). */
extern void seq_batch_note(SeqBatch *b, uint32_t seq, int64_t arrival);

/*
 * Fold a batch into the run's stored state: its lost, resets and current
 * sequence afterwards.  A no-op for an empty batch.
 */
extern void seq_state_merge(SeqState *state, const SeqBatch *b);

#endif							/* MNEMIC_SEQUENCE_H */
