/*
 * auth.h
 *	  Judging a datagram's signature before it is decoded: the AUTH trailer
 *	  of binary v1 (docs/protocol.md), HMAC-SHA-256 under the keys of
 *	  mnemic.ingest_key (ingest_keys.h), and the replay window (replay.h).
 *
 * The receiver judges every datagram as it comes off the socket, so that a
 * flood of forged or replayed datagrams is dropped there and never takes
 * room in the ring or time in the inserter.  The one case it cannot judge,
 * a signed datagram before the keys were published after the server
 * started, it passes on as UNCHECKED (RING_FLAG_UNCHECKED), and the inserter
 * judges it with a checker of its own.  That checker's replay window is not
 * the receiver's: like a restart, it is a moment when a replay of those few
 * datagrams is taken once more.
 *
 * Under pg_mnemic.auth:
 *	off		  every datagram passes; a trailer is skipped unverified.
 *	verify	  a datagram with the AUTH flag must carry a tag that verifies
 *			  under a known key; others pass (legacy JSON too).
 *	require	  only a v1 datagram with a tag that verifies passes.
 * Under verify and require, a v1 datagram that passes is then looked up in
 * the replay window: its (run, sequence) must not have passed before.
 */
#ifndef MNEMIC_AUTH_H
#define MNEMIC_AUTH_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "listener.h"

typedef enum AuthVerdict
{
	AUTH_PASS = 0,				/* decode it */
	AUTH_UNCHECKED,				/* signed, but no keys yet: decoder decides
								 * after the inserter checked it */
	AUTH_BAD_TAG,				/* the tag does not verify, or is no tag */
	AUTH_UNKNOWN_KEY,			/* signed with a key id we have no key for */
	AUTH_UNSIGNED,				/* not a signed v1 datagram, under require */
	AUTH_REPLAYED				/* its (run, sequence) passed before */
} AuthVerdict;

typedef struct AuthChecker AuthChecker;

/* A checker for this process's life: an HMAC context and a replay window. */
extern AuthChecker *AuthCheckerCreate(void);

/* Take the published keys if they changed; cheap when they did not. */
extern void AuthCheckerRefresh(AuthChecker *checker);

/*
 * What to do with a datagram under mode (ListenerAuthMode).  A signed one
 * that passes is counted for its key, as used at now.
 */
extern AuthVerdict AuthJudge(AuthChecker *checker, int mode,
							 const uint8 *bytes, size_t len, TimestampTz now);

/* Count a datagram dropped for verdict (anything but PASS and UNCHECKED). */
extern void AuthCountDrop(AuthVerdict verdict);

#endif							/* MNEMIC_AUTH_H */
