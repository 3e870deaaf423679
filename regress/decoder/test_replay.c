/*
 * test_replay.c
 *	  Unit tests of listener/replay.c: each (run, sequence) pair accepted
 *	  once, a window of REPLAY_WINDOW numbers per run, sequences that wrap,
 *	  and a table of bounded size that forgets the runs used least recently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

static int	n_passed = 0;
static int	n_failed = 0;

static void
expect(const char *what, bool got, bool want, uint32_t seq)
{
	if (got == want)
	{
		n_passed++;
		return;
	}
	n_failed++;
	printf("FAIL %s: seq %u %s, expected %s\n", what, (unsigned) seq,
		   got ? "accepted" : "refused", want ? "accepted" : "refused");
}

static void
make_run(uint8_t run[16], uint32_t n)
{
	memset(run, 0, 16);
	memcpy(run, &n, sizeof(n));
	run[15] = 0x5a;
}

static void
test_in_order_and_again(ReplayTable *t)
{
	uint8_t		run[16];
	int			ok = 1;

	make_run(run, 1);
	for (uint32_t s = 0; s < 5000; s++)
		ok &= replay_accept(t, run, s);
	expect("5,000 numbers in order, each new", ok, true, 4999);
	expect("the latest again", replay_accept(t, run, 4999), false, 4999);
	expect("one inside the window again", replay_accept(t, run, 4000), false, 4000);
	expect("the oldest the window holds again",
		   replay_accept(t, run, 5000 - REPLAY_WINDOW), false, 5000 - REPLAY_WINDOW);
	expect("below the window: too old to tell",
		   replay_accept(t, run, 4999 - REPLAY_WINDOW), false, 4999 - REPLAY_WINDOW);
	expect("the first ever, long gone", replay_accept(t, run, 0), false, 0);
	expect("the next one", replay_accept(t, run, 5000), true, 5000);
}

static void
test_reordered(ReplayTable *t)
{
	uint8_t		run[16];

	make_run(run, 2);
	expect("first of a run, any number", replay_accept(t, run, 10), true, 10);
	expect("late, never seen", replay_accept(t, run, 8), true, 8);
	expect("late, never seen", replay_accept(t, run, 9), true, 9);
	expect("late, seen", replay_accept(t, run, 8), false, 8);
	expect("a gap stays open", replay_accept(t, run, 5), true, 5);
	expect("and closes", replay_accept(t, run, 5), false, 5);
}

static void
test_wrap(ReplayTable *t)
{
	uint8_t		run[16];
	int			ok = 1;
	uint32_t	s = UINT32_MAX - 20;

	make_run(run, 3);
	for (int i = 0; i < 40; i++, s++)
		ok &= replay_accept(t, run, s);
	expect("numbers across 2^32 -> 0, each new", ok, true, s - 1);
	expect("before the wrap, again", replay_accept(t, run, UINT32_MAX - 1), false,
		   UINT32_MAX - 1);
	expect("zero again", replay_accept(t, run, 0), false, 0);
	expect("after the wrap, next", replay_accept(t, run, s), true, s);
}

static void
test_jump(ReplayTable *t)
{
	uint8_t		run[16];

	make_run(run, 4);
	expect("start", replay_accept(t, run, 100), true, 100);
	expect("far ahead", replay_accept(t, run, 100 + 5000), true, 5100);
	expect("the old top is now too old", replay_accept(t, run, 100), false, 100);
	expect("inside the new window, unseen", replay_accept(t, run, 5099), true, 5099);
	expect("just ahead of a short jump", replay_accept(t, run, 5110), true, 5110);
	expect("skipped by it, unseen", replay_accept(t, run, 5105), true, 5105);
	expect("the far-ahead one again", replay_accept(t, run, 5100), false, 5100);
}

static void
test_runs_apart(ReplayTable *t)
{
	uint8_t		a[16];
	uint8_t		b[16];

	make_run(a, 5);
	make_run(b, 6);
	expect("run A, 7", replay_accept(t, a, 7), true, 7);
	expect("run B, 7", replay_accept(t, b, 7), true, 7);
	expect("run A, 7 again", replay_accept(t, a, 7), false, 7);
}

/*
 * Far more runs than the table holds: a run that keeps sending keeps its
 * window, one that went quiet is forgotten (its first datagram is then
 * taken again, as after a restart).
 */
static void
test_bounded(ReplayTable *t)
{
	uint8_t		busy[16];
	uint8_t		quiet[16];
	uint8_t		other[16];
	uint32_t	busy_seq = 0;
	int			ok = 1;

	make_run(busy, 7);
	make_run(quiet, 8);
	replay_accept(t, quiet, 0);
	for (uint32_t i = 0; i < 20 * REPLAY_SETS * REPLAY_WAYS; i++)
	{
		make_run(other, 1000 + i);
		replay_accept(t, other, 0);
		if (i % 100 == 0)
			ok &= replay_accept(t, busy, busy_seq++);
	}
	expect("a busy run among 163,840 others, each new", ok, true, busy_seq - 1);
	expect("the busy run's window is kept", replay_accept(t, busy, busy_seq - 1),
		   false, busy_seq - 1);
	expect("the quiet run was forgotten", replay_accept(t, quiet, 0), true, 0);
}

/*
 * Random numbers around a moving top, against a model that remembers every
 * number it accepted (unwrapped to 64 bits), starting near 2^32 so that the
 * sequence wraps on the way.
 */
#define MODEL_SPAN	(1 << 22)

static void
test_against_model(ReplayTable *t)
{
	static bool accepted[MODEL_SPAN];
	uint8_t		run[16];
	const int64_t base = (INT64_C(1) << 32) - (1 << 20);
	int64_t		top = -1;
	int			mismatches = 0;
	uint32_t	state = 12345;

	make_run(run, 9);
	memset(accepted, 0, sizeof(accepted));
	for (int i = 0; i < 400000; i++)
	{
		int64_t		n;
		bool		want;
		bool		got;
		int			r;

		state = state * 1103515245 + 12345;
		r = (int) ((state >> 8) % 1000);
		if (top < 0)
			n = 0;
		else if (r < 5)
			n = top + 1 + (state >> 12) % 3000;		/* a jump ahead */
		else
			n = top - 1500 + (int64_t) ((state >> 12) % 1510);
		if (n < 0)
			n = 0;
		if (n >= MODEL_SPAN)
			break;

		if (top < 0 || n > top)
			want = true;
		else if (top - n >= REPLAY_WINDOW)
			want = false;
		else
			want = !accepted[n];
		got = replay_accept(t, run, (uint32_t) (base + n));
		if (got != want && mismatches++ < 5)
			printf("FAIL model: number %lld (top %lld): %s, expected %s\n",
				   (long long) n, (long long) top, got ? "accepted" : "refused",
				   want ? "accepted" : "refused");
		if (want)
		{
			accepted[n] = true;
			if (n > top)
				top = n;
		}
	}
	if (top < (1 << 20) + 1000)
	{
		printf("FAIL model: the walk did not cross the wrap (top %lld)\n",
			   (long long) top);
		mismatches++;
	}
	if (mismatches == 0)
		n_passed++;
	else
		n_failed++;
}

int
main(void)
{
	ReplayTable *t = malloc(sizeof(ReplayTable));

	if (t == NULL)
		return 2;
	replay_init(t, 0x1234567890abcdefULL);
	test_in_order_and_again(t);
	test_reordered(t);
	test_wrap(t);
	test_jump(t);
	test_runs_apart(t);
	test_against_model(t);
	replay_init(t, 42);
	test_bounded(t);
	free(t);
	printf("replay: %d passed, %d failed\n", n_passed, n_failed);
	return n_failed == 0 ? 0 : 1;
}
