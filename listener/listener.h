/*
 * listener.h
 *	  What the two listener workers, their setup (setup.c) and the hook in
 *	  pg_mnemic/pg_mnemic.c share.
 *
 * The listener is two background workers: the receiver (receiver.c) owns the
 * UDP socket and copies every datagram into a shared-memory ring; the
 * inserter (inserter.c) drains the ring, decodes and bulk-inserts.  They are
 * decoupled so that receiving never stops while a flush or a slow commit is
 * under way.  ListenerShared is their meeting point in shared memory: pids,
 * latches, the database-existence handshake (the receiver has no database,
 * so it can look at pg_database for the inserter before the inserter commits
 * itself to one), and the request a DROP DATABASE / DROP EXTENSION makes to
 * get the inserter out of the way.
 */
#ifndef MNEMIC_LISTENER_H
#define MNEMIC_LISTENER_H

#include "postgres.h"

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/spin.h"

#include "ring.h"

/* Settings, defined in setup.c (see the GUC descriptions there). */
extern bool mnemic_enabled;
extern char *mnemic_listen_address;
extern int	mnemic_port;
extern char *mnemic_database;
extern int	mnemic_flush_interval_ms;
extern int	mnemic_batch_size;
extern int	mnemic_receive_buffer;
extern int	mnemic_ring_size_kb;
extern int	mnemic_retention_s;
extern int	mnemic_auth;		/* ListenerAuthMode */

/* pg_mnemic.auth: which datagrams must be signed (auth.h). */
typedef enum ListenerAuthMode
{
	LISTENER_AUTH_OFF = 0,		/* no check: every datagram is decoded */
	LISTENER_AUTH_VERIFY,		/* a tag, when present, must verify */
	LISTENER_AUTH_REQUIRE		/* only correctly signed v1 is decoded */
} ListenerAuthMode;

/* What the receiver last found about pg_mnemic.database. */
typedef enum ListenerDatabaseState
{
	LISTENER_DB_UNKNOWN = 0,
	LISTENER_DB_EXISTS,
	LISTENER_DB_MISSING
} ListenerDatabaseState;

/* What a DROP asks of the inserter. */
typedef enum ListenerLeaveRequest
{
	LISTENER_STAY = 0,
	LISTENER_LEAVE_FLUSH,		/* DROP/RENAME DATABASE: store, then go */
	LISTENER_LEAVE_DISCARD		/* DROP EXTENSION: the tables are going */
} ListenerLeaveRequest;

typedef struct ListenerShared
{
	slock_t		mutex;			/* protects the pids and latches */
	pid_t		receiver_pid;	/* 0 when not running */
	pid_t		inserter_pid;
	Latch	   *receiver_latch;
	Latch	   *inserter_latch;
	bool		receiver_stopping;	/* SIGTERM seen, socket being emptied */

	/*
	 * The inserter bumps db_check_request and waits until db_check_done
	 * reaches it; the receiver then has looked at pg_database after the
	 * request and left the answer in db_state.
	 */
	pg_atomic_uint32 db_check_request;
	pg_atomic_uint32 db_check_done;
	pg_atomic_uint32 db_state;	/* ListenerDatabaseState */

	pg_atomic_uint32 leave_request; /* ListenerLeaveRequest */

	/* "Waiting for ..." is logged once, not at every retry. */
	pg_atomic_flag logged_db_missing;
	pg_atomic_flag logged_ext_missing;

	pg_atomic_uint32 receive_buffer_effective;	/* bytes, from getsockopt */
	pg_atomic_uint64 samples_held;	/* by the inserter, not yet flushed */

	MnemicRing	ring;			/* variable size: keep last */
} ListenerShared;

/* Set up in setup.c; NULL when not preloaded. */
extern ListenerShared *listener_shared;

/* Background worker entry points, found by name by the postmaster. */
extern PGDLLEXPORT void ListenerReceiverMain(Datum arg);
extern PGDLLEXPORT void ListenerInserterMain(Datum arg);

/*
 * Called by a backend about to drop or rename the listener's database, or to
 * drop the extension: asks the inserter to leave and waits (bounded) until it
 * has.  It comes back by itself after its restart interval.
 */
extern void ListenerAskInserterToLeave(ListenerLeaveRequest how);

/* Pids for mnemic.listener_stats(); 0 when not running. */
extern void ListenerWorkerPids(pid_t *receiver, pid_t *inserter);

/* Set the inserter's or the receiver's latch, if it is running. */
extern void ListenerWakeInserter(void);
extern void ListenerWakeReceiver(void);

/* From _PG_init: settings, and when preloading shared memory and workers. */
extern void ListenerSetup(void);

#endif							/* MNEMIC_LISTENER_H */
