/*
 * replay.c
 *	  Which (run, sequence) pairs were accepted recently (see replay.h).
 */
#include "replay.h"

#include <string.h>

/* The set of a run: its UUID mixed with the salt (murmur3's finalizer). */
static uint32_t
set_of(const ReplayTable *table, const uint8_t run[16])
{
	uint64_t	a;
	uint64_t	b;
	uint64_t	h;

	memcpy(&a, run, 8);
	memcpy(&b, run + 8, 8);
	h = a ^ (b * UINT64_C(0x9e3779b97f4a7c15)) ^ table->salt;
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (uint32_t) (h % REPLAY_SETS);
}

static bool
is_seen(const ReplayRun *r, uint32_t seq)
{
	uint32_t	bit = seq % REPLAY_WINDOW;

	return (r->seen[bit / 64] >> (bit % 64)) & 1;
}

static void
set_seen(ReplayRun *r, uint32_t seq, bool seen)
{
	uint32_t	bit = seq % REPLAY_WINDOW;
	uint64_t	mask = UINT64_C(1) << (bit % 64);

	if (seen)
		r->seen[bit / 64] |= mask;
	else
		r->seen[bit / 64] &= ~mask;
}

/* The run's entry, or a fresh one in place of the least recently used. */
static ReplayRun *
find_run(ReplayTable *table, const uint8_t run[16], bool *fresh)
{
	ReplayRun  *set = &table->runs[set_of(table, run) * REPLAY_WAYS];
	ReplayRun  *victim = &set[0];

	for (int i = 0; i < REPLAY_WAYS; i++)
	{
		if (set[i].used && memcmp(set[i].run, run, 16) == 0)
		{
			*fresh = false;
			return &set[i];
		}
		if (!set[i].used)
			victim = &set[i];
		else if (victim->used && set[i].last_use < victim->last_use)
			victim = &set[i];
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->run, run, 16);
	victim->used = true;
	*fresh = true;
	return victim;
}

void
replay_init(ReplayTable *table, uint64_t salt)
{
	memset(table, 0, sizeof(*table));
	table->salt = salt;
}

bool
replay_accept(ReplayTable *table, const uint8_t run[16], uint32_t seq)
{
	bool		fresh;
	ReplayRun  *r = find_run(table, run, &fresh);
	int32_t		ahead = (int32_t) (seq - r->top);

	r->last_use = ++table->clock;
	if (fresh)
	{
		r->top = seq;
		set_seen(r, seq, true);
		return true;
	}
	if (ahead > 0)
	{
		/* Forget the numbers that fall out of the window as top moves up. */
		if (ahead >= REPLAY_WINDOW)
			memset(r->seen, 0, sizeof(r->seen));
		else
			for (uint32_t n = r->top + 1; n != seq; n++)
				set_seen(r, n, false);
		r->top = seq;
		set_seen(r, seq, true);
		return true;
	}
	if (ahead <= -REPLAY_WINDOW || is_seen(r, seq))
		return false;
	set_seen(r, seq, true);
	return true;
}
