/*
 * replay.h
 *	  Which (run, sequence) pairs were accepted recently: the receiver's
 *	  defence against a datagram captured and sent again.
 *
 * A signed datagram stays valid forever, so an attacker who can see the
 * traffic could send it again and have its samples stored twice.  Every v1
 * datagram carries its run and a sequence number, unique within the run
 * (docs/protocol.md); under pg_mnemic.auth = verify or require the receiver
 * lets each pair through once.
 *
 * Per run the table keeps the highest number accepted (top) and a bitmap of
 * the REPLAY_WINDOW numbers up to it, as IPsec does (RFC 4303, 3.4.3):
 *
 *	- a number above top is new; top moves up to it;
 *	- a number within the window is new unless its bit is set;
 *	- a number below the window is too old to tell, and dropped.
 *
 * "Above" and "below" are serial-number arithmetic on 32 bits (RFC 1982),
 * so a sequence that wraps from 2^32-1 to 0 goes on as if it had not.
 * UDP reorders only a few datagrams of one client, far fewer than the
 * window holds.
 *
 * Memory is bounded: a fixed table of REPLAY_SETS sets of REPLAY_WAYS runs
 * each; a run that finds its set full takes the place of the run used least
 * recently there.  A run pushed out, and any run after a server restart,
 * starts again with an empty window: its first datagram is taken whatever
 * its number.  The table is salted so that which runs share a set cannot be
 * chosen from outside.
 *
 * Plain C without PostgreSQL headers, like the decoder, so it is unit-tested
 * on its own (regress/decoder).
 */
#ifndef MNEMIC_REPLAY_H
#define MNEMIC_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLAY_WINDOW		1024	/* sequence numbers remembered per run */
#define REPLAY_WAYS			8		/* runs per set */
#define REPLAY_SETS			1024	/* 8,192 runs, about 1.3 MB */

typedef struct ReplayRun
{
	uint8_t		run[16];
	uint32_t	top;			/* highest number accepted */
	bool		used;
	uint64_t	last_use;		/* table clock at its latest datagram */
	uint64_t	seen[REPLAY_WINDOW / 64];	/* bit (n % WINDOW): n accepted */
} ReplayRun;

typedef struct ReplayTable
{
	uint64_t	salt;
	uint64_t	clock;			/* one tick per datagram */
	ReplayRun	runs[REPLAY_SETS * REPLAY_WAYS];
} ReplayTable;

/* Empty the table; salt is a random number. */
extern void replay_init(ReplayTable *table, uint64_t salt);

/*
 * Whether seq of run is new: if so it is remembered and true returned;
 * false for a number accepted before or too old to tell.
 */
extern bool replay_accept(ReplayTable *table, const uint8_t run[16],
						  uint32_t seq);

#endif							/* MNEMIC_REPLAY_H */
