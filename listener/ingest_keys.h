/*
 * ingest_keys.h
 *	  The secrets that sign datagrams (mnemic.ingest_key), copied into
 *	  shared memory for the receiver, which has no database to read them
 *	  from.
 *
 * How a change reaches the receiver, after COMMIT and only then:
 *
 *	1. A statement that changes mnemic.ingest_key fires a trigger
 *	   (pg_mnemic/ingest_keys.c) that marks the transaction.
 *	2. When that transaction commits, the backend bumps reload_request and
 *	   sets the inserter's latch (IngestKeysRequestReload); an abort does
 *	   nothing.
 *	3. The inserter, connected to pg_mnemic.database, sees the request,
 *	   reads the table in a transaction of its own, which sees the commit,
 *	   and publishes the keys here (IngestKeysLoad).
 *	4. The receiver looks at the version before each batch of datagrams and
 *	   copies the keys when it has changed (IngestKeysCopy).
 *
 * The inserter also reloads once a minute and on SIGHUP, so a change it
 * missed (it was not running, COMMIT PREPARED in another session, a change
 * in another database) is picked up within a minute.
 *
 * Until the inserter has published the keys once after the server started,
 * version is 0 and the receiver cannot verify a tag: it passes signed
 * datagrams on unchecked, and the inserter, which publishes the keys before
 * it takes anything from the ring, checks those itself (auth.h).
 *
 * The inserter is the only writer.  Readers copy without a lock, as
 * PostgreSQL's backend status does: version is odd while a write is under
 * way, and a copy is good if version was the same even number before and
 * after it.
 */
#ifndef MNEMIC_INGEST_KEYS_H
#define MNEMIC_INGEST_KEYS_H

#include "postgres.h"

#include "port/atomics.h"

#define INGEST_KEY_IDS			256 /* key ids are one byte on the wire */
#define INGEST_KEY_MIN_BYTES	16
#define INGEST_KEY_MAX_BYTES	64	/* SHA-256's block: longer keys are hashed */

typedef struct IngestKey
{
	uint8		len;			/* 0: no key of this id */
	uint8		secret[INGEST_KEY_MAX_BYTES];
} IngestKey;

typedef struct IngestKeySet
{
	int			count;			/* keys with len > 0 */
	IngestKey	keys[INGEST_KEY_IDS];
} IngestKeySet;

typedef struct IngestKeysShared
{
	pg_atomic_uint32 reload_request;	/* bumped by committing backends */
	pg_atomic_uint64 version;	/* 0 never published; odd while writing */
	IngestKeySet set;
} IngestKeysShared;

extern IngestKeysShared *ingest_keys_shared;	/* NULL when not preloaded */

extern Size IngestKeysShmemSize(void);
extern void IngestKeysShmemInit(void);

/* A backend whose transaction changed the keys has committed. */
extern void IngestKeysRequestReload(void);

/* The current reload request, for the inserter to compare with. */
extern uint32 IngestKeysReloadRequest(void);

/*
 * Inserter: read mnemic.ingest_key in a transaction of its own and publish
 * it.  An error is logged and counted, and the keys published before stay.
 * Returns whether the keys were published.
 */
extern bool IngestKeysLoad(void);

/*
 * Copy the published keys into *set if their version differs from
 * *version, and update *version; 0 stays 0 until they are published.
 * Returns whether *set changed.
 */
extern bool IngestKeysCopy(IngestKeySet *set, uint64 *version);

/* How many keys are published; -1 before they are (listener_stats()). */
extern int	IngestKeysCount(void);

#endif							/* MNEMIC_INGEST_KEYS_H */
