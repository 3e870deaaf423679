/*
 * inserter.c
 *	  The inserter: the background worker that drains the ring, decodes each
 *	  datagram, buffers the samples and writes them in one transaction per
 *	  flush.
 *
 * A flush happens when pg_mnemic.batch_size samples are held or when the
 * oldest datagram held has waited pg_mnemic.flush_interval.  The receiver
 * keeps filling the ring meanwhile, so a slow flush costs ring space, not
 * datagrams.  A flush that fails is logged, counted and forgotten; the
 * worker carries on.
 *
 * The inserter is connected to pg_mnemic.database, and a connected backend
 * blocks DROP DATABASE; so before connecting it makes sure (through the
 * receiver) that the database exists, it waits for CREATE EXTENSION, and it
 * leaves when a DROP DATABASE or DROP EXTENSION asks it to (see
 * ListenerAskInserterToLeave).  "Waiting for ..." is logged once per wait,
 * not at every retry.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "auth.h"
#include "counters.h"
#include "decode.h"
#include "ingest_keys.h"
#include "listener.h"
#include "spi_helpers.h"
#include "store.h"

/* How often to look again for a missing database or extension. */
#define RECHECK_MS			2000

/* How often housekeeping (compaction, retention, profile rollups) runs. */
#define HOUSEKEEPING_EVERY_MS	(60 * 1000)

/* How often unused frames and stacks are collected (and after retention). */
#define GARBAGE_EVERY_MS		(3600 * 1000)

/*
 * At SIGTERM, how long to wait for the receiver to say it is stopping too
 * (a server shutdown signals both at once), and then for it to finish.
 */
#define RECEIVER_STOP_GRACE_MS	500
#define RECEIVER_STOP_WAIT_MS	10000

/* How long a DROP waits for the inserter to leave. */
#define LEAVE_WAIT_MS		10000

typedef struct Inserter
{
	MemoryContext batch_parent; /* reset to throw a batch away */
	StoreBatch *batch;
	DecodeArena arena;
	int64		datagrams_held; /* in the batch, with or without samples */
	TimestampTz oldest_arrival; /* of the datagrams held */
	TimestampTz last_housekeeping;
	TimestampTz last_garbage_collection;
	char	   *database;		/* the one we are connected to */
	AuthChecker *auth;			/* for datagrams the receiver could not check */
	uint32		keys_request_seen;	/* IngestKeysReloadRequest() at the last load */
	bool		keys_stale;		/* SIGHUP: read them again */
} Inserter;

static void
inserter_exit(int code, Datum arg)
{
	SpinLockAcquire(&listener_shared->mutex);
	listener_shared->inserter_pid = 0;
	listener_shared->inserter_latch = NULL;
	SpinLockRelease(&listener_shared->mutex);
}

static void
wait_a_while(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

static long
ms_since(TimestampTz t)
{
	return (long) ((GetCurrentTimestamp() - t) / 1000);
}

/*
 * Before connecting: SIGTERM simply ends us, SIGHUP rereads the settings, and
 * a DROP that asks us to leave gets its answer by our leaving (we hold
 * nothing yet).
 */
static void
handle_signals_unconnected(void)
{
	if (ShutdownRequestPending ||
		pg_atomic_exchange_u32(&listener_shared->leave_request, LISTENER_STAY) != LISTENER_STAY)
		proc_exit(1);
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/* Ask the receiver whether pg_mnemic.database exists; wait for the answer. */
static ListenerDatabaseState
ask_receiver_about_database(void)
{
	uint32		request;

	request = pg_atomic_add_fetch_u32(&listener_shared->db_check_request, 1);
	for (;;)
	{
		handle_signals_unconnected();
		ListenerWakeReceiver();

		if ((int32) (pg_atomic_read_u32(&listener_shared->db_check_done) - request) >= 0)
		{
			pg_read_barrier();
			return (ListenerDatabaseState) pg_atomic_read_u32(&listener_shared->db_state);
		}
		wait_a_while(100);
	}
}

static void
wait_for_database(void)
{
	while (ask_receiver_about_database() != LISTENER_DB_EXISTS)
	{
		if (pg_atomic_test_set_flag(&listener_shared->logged_db_missing))
			ereport(LOG,
					(errmsg("pg_mnemic inserter: database \"%s\" does not exist; waiting for it",
							mnemic_database),
					 errhint("Create it with CREATE DATABASE and CREATE EXTENSION pg_mnemic, or point pg_mnemic.database at another one.")));
		wait_a_while(RECHECK_MS);
	}
	pg_atomic_clear_flag(&listener_shared->logged_db_missing);
}

/* Whether pg_mnemic is installed in our database, at our version. */
typedef enum ExtensionState
{
	EXTENSION_MISSING,
	EXTENSION_OLDER,			/* needs ALTER EXTENSION pg_mnemic UPDATE */
	EXTENSION_READY
} ExtensionState;

/* version: where to put the installed version's text, or NULL */
static ExtensionState
extension_state(char *version, size_t size)
{
	ExtensionState state = EXTENSION_MISSING;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (OidIsValid(get_extension_oid("pg_mnemic", true)))
	{
		bool		isnull;

		SpiConnect();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_execute("SELECT extversion FROM pg_catalog.pg_extension "
						"WHERE extname = 'pg_mnemic'", true, 1) == SPI_OK_SELECT &&
			SPI_processed == 1)
		{
			char	   *installed = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
																	  SPI_tuptable->tupdesc,
																	  1, &isnull));

			state = strcmp(installed, MNEMIC_EXT_VERSION) == 0 ?
				EXTENSION_READY : EXTENSION_OLDER;
			if (version != NULL)
				strlcpy(version, installed, size);
		}
		PopActiveSnapshot();
		SPI_finish();
	}
	CommitTransactionCommand();
	return state;
}

/*
 * Let the inserter go: called on SIGTERM, on a reload that names another
 * database, and when a DROP asks.  Exit code 1 makes the postmaster start a
 * new one after its restart interval unless the server is shutting down.
 */
static void
exit_to_be_restarted(void)
{
	proc_exit(1);
}

static bool flush_batch(Inserter *ins);

/*
 * Publish mnemic.ingest_key for the receiver.  The request is read before
 * the table, so that a commit after the read asks again.
 */
static void
reload_ingest_keys(Inserter *ins)
{
	ins->keys_request_seen = IngestKeysReloadRequest();
	ins->keys_stale = false;
	pgstat_report_activity(STATE_RUNNING, "loading the ingest keys");
	(void) IngestKeysLoad();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Connected: the checks that come before and between flushes. */
static void
handle_signals_connected(Inserter *ins)
{
	uint32		request;

	request = pg_atomic_exchange_u32(&listener_shared->leave_request, LISTENER_STAY);
	if (request == LISTENER_LEAVE_DISCARD)
	{
		ereport(LOG,
				(errmsg("pg_mnemic inserter: the extension is being dropped; leaving, %lld held samples discarded",
						(long long) StoreBatchSamples(ins->batch))));
		exit_to_be_restarted();
	}
	if (request == LISTENER_LEAVE_FLUSH)
	{
		(void) flush_batch(ins);
		ereport(LOG,
				(errmsg("pg_mnemic inserter: database \"%s\" is being dropped or renamed; leaving",
						ins->database)));
		exit_to_be_restarted();
	}

	if (ConfigReloadPending)
	{
		int			old_retention = mnemic_retention_s;

		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);

		/* A new retention applies at once, not a minute later. */
		if (mnemic_retention_s != old_retention)
			ins->last_housekeeping = 0;
		ins->keys_stale = true;

		if (strcmp(ins->database, mnemic_database) != 0)
		{
			(void) flush_batch(ins);
			ereport(LOG,
					(errmsg("pg_mnemic inserter: pg_mnemic.database is now \"%s\"; reconnecting",
							mnemic_database)));
			exit_to_be_restarted();
		}
	}
}

/*
 * Wait until the extension is installed at the library's version: a library
 * newer than the installed SQL objects would write to tables and call
 * functions as they are after ALTER EXTENSION pg_mnemic UPDATE.
 */
static void
wait_for_extension(Inserter *ins)
{
	char		version[64];
	ExtensionState state;

	while ((state = extension_state(version, sizeof(version))) != EXTENSION_READY)
	{
		if (pg_atomic_test_set_flag(&listener_shared->logged_ext_missing))
		{
			if (state == EXTENSION_MISSING)
				ereport(LOG,
						(errmsg("pg_mnemic inserter: extension pg_mnemic is not installed in database \"%s\"; waiting for it",
								ins->database),
						 errhint("Run CREATE EXTENSION pg_mnemic in database \"%s\".",
								 ins->database)));
			else
				ereport(LOG,
						(errmsg("pg_mnemic inserter: extension pg_mnemic is at version %s in database \"%s\", its library at %s; waiting for the update",
								version, ins->database, MNEMIC_EXT_VERSION),
						 errhint("Run ALTER EXTENSION pg_mnemic UPDATE in database \"%s\".",
								 ins->database)));
		}
		if (ShutdownRequestPending)
			exit_to_be_restarted();
		handle_signals_connected(ins);
		wait_a_while(RECHECK_MS);
	}
	pg_atomic_clear_flag(&listener_shared->logged_ext_missing);
	StoreForgetCache();

	/* Before anything is taken from the ring: it may hold unchecked ones. */
	reload_ingest_keys(ins);
}

/* Throw away whatever the batch holds, whatever state it was left in. */
static void
discard_batch(Inserter *ins)
{
	MemoryContextReset(ins->batch_parent);
	ins->batch = StoreBatchCreate(ins->batch_parent, STORE_SUMMARIES_PER_RUN);
	ins->datagrams_held = 0;
	pg_atomic_write_u64(&listener_shared->samples_held, 0);
}

/* Decode one datagram from the ring and add it to the batch. */
static void
take_datagram(Inserter *ins, const RingRecord *rec)
{
	DecodedDatagram dg;
	DecodeResult result;

	if (rec->flags & RING_FLAG_UNCHECKED)
	{
		AuthVerdict verdict;

		AuthCheckerRefresh(ins->auth);
		verdict = AuthJudge(ins->auth, mnemic_auth, rec->bytes, rec->len,
							rec->arrival);
		/* still no keys: none could be read, so this one's is unknown */
		if (verdict == AUTH_UNCHECKED)
			verdict = AUTH_UNKNOWN_KEY;
		if (verdict != AUTH_PASS)
		{
			AuthCountDrop(verdict);
			return;
		}
	}

	ins->arena.used = 0;
	result = decode_datagram(rec->bytes, rec->len, &ins->arena, &dg);
	if (result != DECODE_OK)
	{
		CountersAdd(&listener_counters->malformed[result], 1);
		return;
	}
	CountersAdd(&listener_counters->datagrams_decoded, 1);
	if (dg.unknown_kinds > 0)
		CountersAdd(&listener_counters->unknown_kinds, dg.unknown_kinds);

	if (ins->datagrams_held == 0 || rec->arrival < ins->oldest_arrival)
		ins->oldest_arrival = rec->arrival;
	ins->datagrams_held++;
	StoreBatchAddDatagram(ins->batch, &dg, rec->arrival);
}

/* Take datagrams from the ring until it is empty or the batch is full. */
static void
take_from_ring(Inserter *ins)
{
	MnemicRing *ring = &listener_shared->ring;
	RingRecord	rec;

	while (StoreBatchSamples(ins->batch) < mnemic_batch_size &&
		   RingPeek(ring, &rec))
	{
		take_datagram(ins, &rec);
		RingRelease(ring, &rec);
	}
	pg_atomic_write_u64(&listener_shared->samples_held,
						(uint64) StoreBatchSamples(ins->batch));
}

static void
report_flush_error(Inserter *ins, MemoryContext cxt, int64 samples)
{
	ErrorData  *edata;
	char	   *message;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();

	message = psprintf("flush of %lld samples failed: %s",
					   (long long) samples, edata->message);
	ereport(LOG,
			(errcode(edata->sqlerrcode),
			 errmsg("pg_mnemic inserter: %s", message),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
			 edata->context ? errcontext("%s", edata->context) : 0));
	/* The text first: whoever sees the count then sees what failed. */
	CountersSetError(message);
	CountersAdd(&listener_counters->flush_errors, 1);
	FreeErrorData(edata);
	pfree(message);

	StoreForgetCache();
	discard_batch(ins);
}

/*
 * Write everything held in one transaction.  An error is caught here, not
 * allowed to end the worker: the store already isolates each run in a
 * subtransaction, so what reaches us is unexpected (a failed commit, a
 * dropped table) and costs this one batch.  False when it failed.
 */
static bool
flush_batch(Inserter *ins)
{
	MemoryContext cxt = CurrentMemoryContext;
	int64		samples = StoreBatchSamples(ins->batch);
	TimestampTz start;
	uint64		elapsed_us;
	volatile bool ok = true;

	if (ins->datagrams_held == 0 && samples == 0)
		return true;
	CountersMax(&listener_counters->batch_high_water, samples);
	start = GetCurrentTimestamp();
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("flushing %lld samples", (long long) samples));

	PG_TRY();
	{
		int64		stored;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		stored = StoreBatchFlush(ins->batch);
		PopActiveSnapshot();
		CommitTransactionCommand();

		CountersAdd(&listener_counters->samples_stored, stored);
		CountersAdd(&listener_counters->flushes, 1);
		ins->datagrams_held = 0;
		pg_atomic_write_u64(&listener_shared->samples_held, 0);
	}
	PG_CATCH();
	{
		report_flush_error(ins, cxt, samples);
		ok = false;
	}
	PG_END_TRY();

	MemoryContextSwitchTo(cxt);
	elapsed_us = (uint64) (GetCurrentTimestamp() - start);
	CountersAdd(&listener_counters->flush_time_us, elapsed_us);
	CountersMax(&listener_counters->flush_time_max_us, elapsed_us);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

/*
 * Run one housekeeping statement that yields a bigint, in a transaction of
 * its own, if the SQL function it calls exists (the installed extension may
 * be older than the library).  Returns that bigint, or -1 when the statement
 * did not run or failed; a failure is logged and counted, never fatal.
 */
static int64
run_housekeeping_sql(const char *activity, const char *function,
					 const char *sql, int nargs, Oid *argtypes, Datum *args)
{
	MemoryContext cxt = CurrentMemoryContext;
	int64		result = -1;

	pgstat_report_activity(STATE_RUNNING, activity);
	PG_TRY();
	{
		Oid			probe_type[1] = {TEXTOID};
		Datum		probe_arg[1];
		bool		isnull;
		bool		exists;

		probe_arg[0] = CStringGetTextDatum(function);
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		SpiConnect();
		PushActiveSnapshot(GetTransactionSnapshot());
		SPI_execute_with_args("SELECT to_regprocedure($1) IS NOT NULL",
							  1, probe_type, probe_arg, NULL, true, 1);
		exists = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 1, &isnull));
		if (exists &&
			SPI_execute_with_args(sql, nargs, argtypes, args, NULL, false, 0) == SPI_OK_SELECT &&
			SPI_processed == 1)
		{
			Datum		n = SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull);

			result = isnull ? 0 : DatumGetInt64(n);
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(LOG,
				(errcode(edata->sqlerrcode),
				 errmsg("pg_mnemic inserter: %s failed: %s",
						activity, edata->message)));
		CountersSetError(edata->message);
		FreeErrorData(edata);
		result = -1;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	return result;
}

/*
 * Once a minute: merge the small blocks that metrics sampled less often than
 * the flush interval leave behind (mnemic.compact_blocks, which leaves the
 * last ten minutes alone), drop runs past pg_mnemic.retention when it is
 * set, and read the ingest keys again.
 */
static void
housekeeping(Inserter *ins)
{
	int64		n;

	if (ms_since(ins->last_housekeeping) < HOUSEKEEPING_EVERY_MS)
		return;
	ins->last_housekeeping = GetCurrentTimestamp();

	/* a change whose request we missed, or made in another session's 2PC */
	reload_ingest_keys(ins);

	n = run_housekeeping_sql("merging small blocks",
							 "mnemic.compact_blocks(interval,uuid)",
							 "SELECT mnemic.compact_blocks()", 0, NULL, NULL);
	if (n > 0)
		ereport(DEBUG1,
				(errmsg("pg_mnemic inserter: merged %lld points of small blocks",
						(long long) n)));

	if (mnemic_retention_s > 0)
	{
		Oid			argtypes[1] = {FLOAT8OID};
		Datum		args[1];

		args[0] = Float8GetDatum((double) mnemic_retention_s);
		n = run_housekeeping_sql("dropping runs past pg_mnemic.retention",
								 "mnemic.drop_runs_older_than(interval)",
								 "SELECT mnemic.drop_runs_older_than(make_interval(secs => $1))",
								 1, argtypes, args);
		if (n > 0)
			ereport(LOG,
					(errmsg("pg_mnemic inserter: dropped %lld runs last seen more than %d seconds ago (pg_mnemic.retention)",
							(long long) n, mnemic_retention_s)));
		if (n > 0)
			ins->last_garbage_collection = 0;
	}

	(void) run_housekeeping_sql("summing profile samples",
								"mnemic.build_profile_rollups(uuid)",
								"SELECT mnemic.build_profile_rollups()",
								0, NULL, NULL);

	/* frames and stacks of deleted runs: after retention, else hourly */
	if (ms_since(ins->last_garbage_collection) >= GARBAGE_EVERY_MS)
	{
		ins->last_garbage_collection = GetCurrentTimestamp();
		n = run_housekeeping_sql("collecting unused frames and stacks",
								 "mnemic.collect_profile_garbage()",
								 "SELECT mnemic.collect_profile_garbage()",
								 0, NULL, NULL);
		if (n > 0)
			ereport(DEBUG1,
					(errmsg("pg_mnemic inserter: collected %lld unused frames, stacks and types",
							(long long) n)));
	}
}

/*
 * SIGTERM: store everything held, then leave.  When the server is shutting
 * down, the receiver got SIGTERM too and is emptying the socket into the
 * ring; wait for it to finish and store that as well, so that a fast
 * shutdown loses nothing that reached the socket.  When only we were
 * signalled (pg_terminate_backend), the receiver does not stop: after a short
 * grace period we go, and what the ring still holds waits there for our
 * successor.
 */
static void
store_everything_and_leave(Inserter *ins)
{
	TimestampTz start = GetCurrentTimestamp();

	pgstat_report_activity(STATE_RUNNING, "storing what was received before exiting");
	for (;;)
	{
		pid_t		receiver_pid;
		bool		receiver_stopping;

		SpinLockAcquire(&listener_shared->mutex);
		receiver_pid = listener_shared->receiver_pid;
		receiver_stopping = listener_shared->receiver_stopping;
		SpinLockRelease(&listener_shared->mutex);

		if (receiver_pid != 0 && !receiver_stopping &&
			ms_since(start) >= RECEIVER_STOP_GRACE_MS)
			break;

		take_from_ring(ins);
		if (StoreBatchSamples(ins->batch) >= mnemic_batch_size)
			(void) flush_batch(ins);

		if (RingUsed(&listener_shared->ring) == 0)
		{
			if (receiver_pid == 0)
				break;
			wait_a_while(10);
		}
		if (ms_since(start) >= RECEIVER_STOP_WAIT_MS)
			break;
	}
	(void) flush_batch(ins);
	exit_to_be_restarted();
}

/* Milliseconds until the oldest held datagram is due, or -1 if none. */
static long
ms_until_due(Inserter *ins)
{
	long		waited;

	if (ins->datagrams_held == 0)
		return -1;
	waited = ms_since(ins->oldest_arrival);
	return waited >= mnemic_flush_interval_ms ? 0 : mnemic_flush_interval_ms - waited;
}

static void
inserter_loop(Inserter *ins)
{
	for (;;)
	{
		long		timeout;

		handle_signals_connected(ins);
		if (ShutdownRequestPending)
			store_everything_and_leave(ins);

		if (ins->keys_stale ||
			IngestKeysReloadRequest() != ins->keys_request_seen)
			reload_ingest_keys(ins);

		take_from_ring(ins);
		if (StoreBatchSamples(ins->batch) >= mnemic_batch_size ||
			ms_until_due(ins) == 0)
		{
			/* A flush can fail because the extension went away. */
			if (!flush_batch(ins) && extension_state(NULL, 0) != EXTENSION_READY)
				wait_for_extension(ins);
			continue;
		}

		housekeeping(ins);

		timeout = ms_until_due(ins);
		if (timeout < 0 || timeout > HOUSEKEEPING_EVERY_MS)
			timeout = HOUSEKEEPING_EVERY_MS;
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_EXIT_ON_PM_DEATH |
						 (timeout >= 0 ? WL_TIMEOUT : 0),
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

void
ListenerInserterMain(Datum arg)
{
	Inserter	ins;

	/* every field starts at zero: the first garbage collection is due */
	memset(&ins, 0, sizeof(ins));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	SpinLockAcquire(&listener_shared->mutex);
	listener_shared->inserter_pid = MyProcPid;
	listener_shared->inserter_latch = MyLatch;
	SpinLockRelease(&listener_shared->mutex);
	on_shmem_exit(inserter_exit, (Datum) 0);

	/* A leave request made before we started is not for us. */
	pg_atomic_write_u32(&listener_shared->leave_request, LISTENER_STAY);

	wait_for_database();
	ins.database = MemoryContextStrdup(TopMemoryContext, mnemic_database);
	BackgroundWorkerInitializeConnection(ins.database, NULL, 0);
	pgstat_report_appname("pg_mnemic inserter");

	/*
	 * Telemetry: losing the last few hundred milliseconds of samples in an
	 * operating-system crash is acceptable, waiting for a WAL flush at every
	 * commit is not.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION);

	ins.batch_parent = AllocSetContextCreate(TopMemoryContext,
											 "pg_mnemic inserter batch",
											 ALLOCSET_DEFAULT_SIZES);
	ins.batch = StoreBatchCreate(ins.batch_parent, STORE_SUMMARIES_PER_RUN);
	ins.arena.base = MemoryContextAlloc(TopMemoryContext, DECODE_ARENA_SIZE);
	ins.arena.size = DECODE_ARENA_SIZE;
	ins.arena.used = 0;
	ins.datagrams_held = 0;
	ins.oldest_arrival = 0;
	ins.last_housekeeping = GetCurrentTimestamp();
	ins.auth = AuthCheckerCreate();
	ins.keys_request_seen = 0;
	ins.keys_stale = true;

	wait_for_extension(&ins);
	ereport(LOG,
			(errmsg("pg_mnemic inserter: storing traces in database \"%s\"",
					ins.database)));
	inserter_loop(&ins);
}

void
ListenerAskInserterToLeave(ListenerLeaveRequest how)
{
	pid_t		pid;
	Latch	   *latch;
	TimestampTz start = GetCurrentTimestamp();

	SpinLockAcquire(&listener_shared->mutex);
	pid = listener_shared->inserter_pid;
	latch = listener_shared->inserter_latch;
	SpinLockRelease(&listener_shared->mutex);
	if (pid == 0 || pid == MyProcPid)
		return;

	pg_atomic_write_u32(&listener_shared->leave_request, how);
	SetLatch(latch);

	for (;;)
	{
		pid_t		now_pid;

		SpinLockAcquire(&listener_shared->mutex);
		now_pid = listener_shared->inserter_pid;
		SpinLockRelease(&listener_shared->mutex);
		if (now_pid != pid)
			return;
		if (ms_since(start) >= LEAVE_WAIT_MS)
		{
			ereport(WARNING,
					(errmsg("pg_mnemic inserter (pid %d) has not left after %d seconds; going on without it",
							(int) pid, LEAVE_WAIT_MS / 1000)));
			return;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 20, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
