/*
 * sequence.c
 *	  Counting the datagrams a v1 run lost (see sequence.h).
 */
#include "sequence.h"

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Datagrams missing from a sequence of numbers first..last. */
static int64_t
range_lost(int64_t first, int64_t last, int64_t count)
{
	return max64(0, (last - first + 1) - count);
}

/*
 * Whether numbers lo..hi belong to the sequence first..last, seen
 * silence_us after its latest datagram.
 */
static bool
plausible(int64_t lo, int64_t hi, int64_t first, int64_t last,
		  int64_t silence_us)
{
	int64_t		window = SEQ_WINDOW;

	if (silence_us > 0)
		window += min64(silence_us, SEQ_SILENCE_MAX_US) *
			SEQ_WINDOW_PER_SECOND / 1000000;
	return hi >= first - window && lo <= last + window;
}

/* The offset from seg's origin of number seq, nearest to its latest. */
static int64_t
segment_offset(const SeqSegment *seg, uint32_t seq)
{
	uint32_t	latest = (uint32_t) (seg->ref + (uint64_t) seg->prev);

	return seg->prev + (int32_t) (seq - latest);
}

static void
segment_add(SeqSegment *seg, int64_t offset, int64_t arrival)
{
	seg->prev = offset;
	seg->lo = min64(seg->lo, offset);
	seg->hi = max64(seg->hi, offset);
	seg->count++;
	seg->first_arrival = min64(seg->first_arrival, arrival);
	seg->last_arrival = max64(seg->last_arrival, arrival);
}

/*
 * Make room by closing the smallest segment other than the current one: its
 * datagrams are counted as a sequence of their own, now.
 */
static void
close_smallest(SeqBatch *b)
{
	int			victim = -1;

	for (int i = 0; i < b->nsegments; i++)
		if (i != b->current &&
			(victim < 0 || b->segments[i].count < b->segments[victim].count))
			victim = i;
	b->closed_lost += range_lost(b->segments[victim].lo,
								 b->segments[victim].hi,
								 b->segments[victim].count);
	b->closed_resets++;
	b->segments[victim] = b->segments[--b->nsegments];
	if (b->current == b->nsegments)
		b->current = victim;
}

void
seq_batch_note(SeqBatch *b, uint32_t seq, int64_t arrival)
{
	SeqSegment *seg;

	/* The current sequence first: almost every datagram belongs to it. */
	for (int k = 0; k < b->nsegments; k++)
	{
		int			i = (k == 0) ? b->current : (k <= b->current ? k - 1 : k);
		int64_t		offset;

		seg = &b->segments[i];
		offset = segment_offset(seg, seq);
		if (plausible(offset, offset, seg->lo, seg->hi,
					  arrival - seg->last_arrival))
		{
			segment_add(seg, offset, arrival);
			b->current = i;
			return;
		}
	}

	if (b->nsegments == SEQ_MAX_SEGMENTS)
		close_smallest(b);
	seg = &b->segments[b->nsegments];
	seg->ref = seq;
	seg->prev = seg->lo = seg->hi = 0;
	seg->count = 1;
	seg->first_arrival = seg->last_arrival = arrival;
	b->current = b->nsegments++;
}

void
seq_state_merge(SeqState *state, const SeqBatch *b)
{
	bool		fits[SEQ_MAX_SEGMENTS] = {false};
	int64_t		base[SEQ_MAX_SEGMENTS];
	int64_t		lost_closed;
	int64_t		resets = b->closed_resets;
	int			nonfitting = 0;
	bool		was_valid = state->valid;

	if (b->nsegments == 0)
		return;

	lost_closed = state->lost + b->closed_lost;
	if (state->valid)
		lost_closed -= range_lost(state->first, state->last, state->count);

	/* Where each segment's offsets start, unwrapped near the stored range */
	for (int i = 0; i < b->nsegments; i++)
	{
		const SeqSegment *seg = &b->segments[i];

		if (state->valid)
			base[i] = state->last + (int32_t) (seg->ref - (uint32_t) state->last);
		else
			base[i] = seg->ref;
		fits[i] = state->valid &&
			plausible(base[i] + seg->lo, base[i] + seg->hi,
					  state->first, state->last,
					  seg->first_arrival - state->last_arrival);
		nonfitting += !fits[i];
	}

	/* Numbers that belong to the stored sequence extend it. */
	for (int i = 0; i < b->nsegments; i++)
		if (fits[i])
		{
			const SeqSegment *seg = &b->segments[i];

			state->first = min64(state->first, base[i] + seg->lo);
			state->last = max64(state->last, base[i] + seg->hi);
			state->count += seg->count;
			state->last_arrival = max64(state->last_arrival, seg->last_arrival);
		}

	/*
	 * Every other segment is a sequence of its own.  The one the latest
	 * datagram belongs to becomes current (closing the stored one); the
	 * rest are closed at once.  Each is a reset, but for the very first
	 * sequence of a run.
	 */
	if (!fits[b->current])
	{
		const SeqSegment *cur = &b->segments[b->current];

		/* a new sequence counts from its own numbers, as sent */
		if (state->valid)
			lost_closed += range_lost(state->first, state->last, state->count);
		state->valid = true;
		state->first = (int64_t) cur->ref + cur->lo;
		state->last = (int64_t) cur->ref + cur->hi;
		state->count = cur->count;
		state->last_arrival = cur->last_arrival;
	}
	for (int i = 0; i < b->nsegments; i++)
		if (!fits[i] && i != b->current)
			lost_closed += range_lost(b->segments[i].lo, b->segments[i].hi,
									  b->segments[i].count);
	resets += nonfitting - (was_valid ? 0 : 1);

	state->lost = lost_closed + range_lost(state->first, state->last,
										   state->count);
	state->resets += resets;
}
