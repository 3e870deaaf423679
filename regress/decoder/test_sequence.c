/*
 * test_sequence.c
 *	  Unit tests of listener/sequence.c: lost datagrams and sequence resets
 *	  from v1 sequence numbers, within one batch and across batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sequence.h"

static int	n_passed = 0;
static int	n_failed = 0;

#define SECOND INT64_C(1000000)

static void
expect_state(const char *what, const SeqState *s, int64_t first,
			 int64_t last, int64_t count, int64_t lost, int64_t resets)
{
	if (s->valid && s->first == first && s->last == last &&
		s->count == count && s->lost == lost && s->resets == resets)
	{
		n_passed++;
		return;
	}
	n_failed++;
	printf("FAIL %s: got valid=%d first=%lld last=%lld count=%lld lost=%lld "
		   "resets=%lld; want first=%lld last=%lld count=%lld lost=%lld "
		   "resets=%lld\n", what, s->valid, (long long) s->first,
		   (long long) s->last, (long long) s->count, (long long) s->lost,
		   (long long) s->resets, (long long) first, (long long) last,
		   (long long) count, (long long) lost, (long long) resets);
}

/* One batch of numbers, all arriving at time at, merged into state. */
static void
batch(SeqState *state, const uint32_t *seqs, int n, int64_t at)
{
	SeqBatch	b;

	seq_batch_init(&b);
	for (int i = 0; i < n; i++)
		seq_batch_note(&b, seqs[i], at);
	seq_state_merge(state, &b);
}

static void
test_gaps(void)
{
	SeqState	s = {0};
	uint32_t	a[] = {0, 1, 2, 3, 5, 6, 7, 8, 9};
	uint32_t	late[] = {4};
	uint32_t	none[] = {0};

	batch(&s, a, 9, 0);
	expect_state("a gap in one batch", &s, 0, 9, 9, 1, 0);
	batch(&s, late, 1, SECOND);
	expect_state("a late datagram fills it", &s, 0, 9, 10, 0, 0);
	batch(&s, none, 0, 2 * SECOND);
	expect_state("an empty batch changes nothing", &s, 0, 9, 10, 0, 0);
}

static void
test_wrap(void)
{
	SeqState	s = {0};
	uint32_t	a[] = {4294967294u, 4294967295u};
	uint32_t	b[] = {0, 2};
	uint32_t	both[] = {4294967295u, 1, 0};

	batch(&s, a, 2, 0);
	batch(&s, b, 2, SECOND);
	expect_state("wrapping across batches", &s, 4294967294LL, 4294967298LL,
				 4, 1, 0);

	memset(&s, 0, sizeof(s));
	batch(&s, both, 3, 0);
	expect_state("wrapping within a batch", &s, 4294967295LL, 4294967297LL,
				 3, 0, 0);
}

static void
test_spoof_in_a_batch(void)
{
	SeqState	s = {0};
	uint32_t	a[] = {0, 1, 2, 2654435769u, 3, 5};

	/* The random number is closed at once; the run's own goes on. */
	batch(&s, a, 6, 0);
	expect_state("one random number in the middle", &s, 0, 5, 5, 1, 1);
}

static void
test_spoof_last(void)
{
	SeqState	s = {0};
	uint32_t	a[] = {0, 1, 2, 2654435769u};
	uint32_t	b[] = {3, 4, 6};

	/* The latest datagram decides the current sequence. */
	batch(&s, a, 4, 0);
	expect_state("a random number last", &s, 2654435769LL, 2654435769LL,
				 1, 0, 1);
	batch(&s, b, 3, SECOND / 10);
	expect_state("back to the run's own numbers", &s, 3, 6, 3, 1, 2);
}

static void
test_silence_widens_the_window(void)
{
	SeqState	s = {0};
	SeqState	t;
	uint32_t	a[] = {100};
	uint32_t	far[] = {100 + 3000000};

	batch(&s, a, 1, 0);
	t = s;
	batch(&t, far, 1, 1 * SECOND);
	expect_state("3M ahead after 1 s of silence: a reset", &t, 3000100,
				 3000100, 1, 0, 1);
	t = s;
	batch(&t, far, 1, 60 * SECOND);
	expect_state("3M ahead after 60 s of silence: lost", &t, 100, 3000100,
				 2, 2999999, 0);
}

static void
test_backwards(void)
{
	SeqState	s = {0};
	uint32_t	a[] = {10000000, 10000001};
	uint32_t	b[] = {0, 1, 2};

	batch(&s, a, 2, 0);
	batch(&s, b, 3, SECOND);
	expect_state("a client that restarts its numbering", &s, 0, 2, 3, 0, 1);
}

static void
test_many_random_numbers(void)
{
	SeqState	s = {0};
	uint32_t	a[14];
	int			n = 0;

	for (uint32_t i = 0; i < 5; i++)
		a[n++] = i;
	/* 9 numbers far from each other and from the run's */
	for (uint32_t i = 1; i <= 9; i++)
		a[n++] = i * 400000000u;

	/* 10 sequences for 8 places: the two smallest closed early */
	batch(&s, a, n, 0);
	expect_state("more sequences than places", &s, 3600000000LL,
				 3600000000LL, 1, 0, 9);
}

int
main(void)
{
	test_gaps();
	test_wrap();
	test_spoof_in_a_batch();
	test_spoof_last();
	test_silence_widens_the_window();
	test_backwards();
	test_many_random_numbers();
	printf("sequence: %d passed, %d failed\n", n_passed, n_failed);
	return n_failed == 0 ? 0 : 1;
}
