/*
 * pg_mnemic.c
 *	  Loading the extension: settings, shared memory, the listener's
 *	  background workers, and the hook that keeps the listener from blocking
 *	  DROP DATABASE and DROP EXTENSION.
 *
 * Everything except the settings needs pg_mnemic in shared_preload_libraries;
 * loaded any other way the SQL functions work and the counters read as
 * absent.
 */
#include "postgres.h"

#include <limits.h>

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "listener.h"
#include "stats.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* How long a stopped worker stays down before the postmaster restarts it. */
#define RECEIVER_RESTART_SECONDS	1
#define INSERTER_RESTART_SECONDS	2

bool		mnemic_enabled = true;
char	   *mnemic_listen_address = NULL;
int			mnemic_port = 12013;
char	   *mnemic_database = NULL;
int			mnemic_flush_interval_ms = 200;

/*
 * A flush costs a commit and a round of run-row updates whatever its size, so
 * under load batches should be large; at 1,000,000 samples/s this is ten
 * flushes a second.  Below that, flush_interval decides.
 */
int			mnemic_batch_size = 100000;

/*
 * 32 MB asked: the kernel doubles it, and 64 MB of socket buffer holds about
 * 80,000 small (117-byte) datagrams on loopback, 0.8 s at 100,000/s, enough
 * to ride out the receiver being descheduled on a busy machine (16 MB held
 * 20,000).  Without CAP_NET_ADMIN the kernel caps the request at
 * net.core.rmem_max (Debian: 4 MB, i.e. 8 MB effective); the receiver logs
 * what it got.
 */
int			mnemic_receive_buffer = 32 * 1024 * 1024;

/*
 * 64 MB holds 2 s of a 200,000 datagram/s legacy flood (about 140 bytes a
 * record); the benchmark's 2 s lock on mnemic.block at 100,000 samples/s
 * needs about 10 MB and loses nothing, where a 1 MB ring loses 22%.
 */
int			mnemic_ring_size_kb = 64 * 1024;
int			mnemic_retention_s = 0;

ListenerShared *listener_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProcessUtility_hook_type prev_process_utility_hook = NULL;

static void
define_settings(void)
{
	DefineCustomBoolVariable("pg_mnemic.enabled",
							 "Receive traces on the UDP socket.",
							 "When off, the receiver closes its socket; what was already received is still stored.",
							 &mnemic_enabled, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_mnemic.listen_address",
							   "IPv4 address the listener binds its UDP socket to.",
							   "0.0.0.0 receives on every interface.",
							   &mnemic_listen_address, "127.0.0.1",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mnemic.port",
							"UDP port the listener receives traces on.",
							NULL,
							&mnemic_port, 12013, 1, 65535,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_mnemic.database",
							   "Database whose pg_mnemic extension stores the traces.",
							   NULL,
							   &mnemic_database, "mnemic",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mnemic.flush_interval",
							"Longest time a received sample waits before it is written.",
							NULL,
							&mnemic_flush_interval_ms, 200, 1, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mnemic.batch_size",
							"Samples that make the listener write at once, without waiting for the flush interval.",
							NULL,
							&mnemic_batch_size, 100000, 1, 100 * 1000 * 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mnemic.receive_buffer",
							"Kernel receive buffer (SO_RCVBUF) of the UDP socket.",
							"The kernel may grant a different size; listener_stats() shows the effective one.",
							&mnemic_receive_buffer, 32 * 1024 * 1024, 4096, INT_MAX / 2,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	/*
	 * A PGC_POSTMASTER setting can only be created while preloading; loaded
	 * later (CREATE EXTENSION without preloading) there is no ring to size.
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("pg_mnemic.ring_size",
								"Shared memory that holds received datagrams until they are written.",
								"Datagrams arriving while it is full are dropped and counted as ring_drops.",
								&mnemic_ring_size_kb, 64 * 1024, 1024, 16 * 1024 * 1024,
								PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mnemic.retention",
							"Runs last seen longer ago than this are dropped; 0 keeps everything.",
							"Checked once a minute.",
							&mnemic_retention_s, 0, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	MarkGUCPrefixReserved("pg_mnemic");
}

static Size
listener_shmem_size(void)
{
	return add_size(offsetof(ListenerShared, ring),
					RingShmemSize((uint64) mnemic_ring_size_kb * 1024));
}

static void
listener_shmem_init(void)
{
	bool		found;
	ListenerShared *shared;

	shared = ShmemInitStruct("pg_mnemic listener", listener_shmem_size(), &found);
	if (!found)
	{
		SpinLockInit(&shared->mutex);
		shared->receiver_pid = 0;
		shared->inserter_pid = 0;
		shared->receiver_latch = NULL;
		shared->inserter_latch = NULL;
		shared->receiver_stopping = false;
		pg_atomic_init_u32(&shared->db_check_request, 0);
		pg_atomic_init_u32(&shared->db_check_done, 0);
		pg_atomic_init_u32(&shared->db_state, LISTENER_DB_UNKNOWN);
		pg_atomic_init_u32(&shared->leave_request, LISTENER_STAY);
		pg_atomic_init_flag(&shared->logged_db_missing);
		pg_atomic_init_flag(&shared->logged_ext_missing);
		pg_atomic_init_u32(&shared->receive_buffer_effective, 0);
		pg_atomic_init_u64(&shared->samples_held, 0);
		RingInit(&shared->ring, (uint64) mnemic_ring_size_kb * 1024);
	}
	listener_shared = shared;
}

static void
mnemic_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MnemicStatsShmemSize());
	RequestAddinShmemSpace(listener_shmem_size());
}

static void
mnemic_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	MnemicStatsShmemInit();
	listener_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

static void
register_worker(const char *name, const char *function, int flags,
				int restart_seconds)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = flags;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = restart_seconds;
	strlcpy(worker.bgw_library_name, "pg_mnemic", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker.bgw_name, name, BGW_MAXLEN);
	strlcpy(worker.bgw_type, name, BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * Both workers attach to shared memory and may run transactions: the receiver
 * only to look at pg_database (it connects to no database), the inserter in
 * pg_mnemic.database.
 */
static void
register_listener_workers(void)
{
	int			flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;

	register_worker("pg_mnemic receiver", "ListenerReceiverMain", flags,
					RECEIVER_RESTART_SECONDS);
	register_worker("pg_mnemic inserter", "ListenerInserterMain", flags,
					INSERTER_RESTART_SECONDS);
}

void
ListenerWorkerPids(pid_t *receiver, pid_t *inserter)
{
	SpinLockAcquire(&listener_shared->mutex);
	*receiver = listener_shared->receiver_pid;
	*inserter = listener_shared->inserter_pid;
	SpinLockRelease(&listener_shared->mutex);
}

/* Does a DROP EXTENSION statement name pg_mnemic? */
static bool
drops_this_extension(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_EXTENSION)
		return false;
	foreach(lc, stmt->objects)
	{
		if (strcmp(strVal(lfirst(lc)), "pg_mnemic") == 0)
			return true;
	}
	return false;
}

static bool
in_listener_database(void)
{
	char	   *current = get_database_name(MyDatabaseId);

	return current != NULL && mnemic_database != NULL &&
		strcmp(current, mnemic_database) == 0;
}

/*
 * What a utility statement needs from the inserter before it can run: a
 * database that is dropped or renamed must have no one connected, and the
 * extension's tables must not be written while they are dropped.
 */
static ListenerLeaveRequest
leave_request_for(Node *parsetree)
{
	const char *dbname = NULL;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			dbname = ((DropdbStmt *) parsetree)->dbname;
			break;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
				dbname = ((RenameStmt *) parsetree)->subname;
			break;
		case T_DropStmt:
			/* Only the listener's own database matters. */
			if (drops_this_extension((DropStmt *) parsetree) &&
				in_listener_database())
				return LISTENER_LEAVE_DISCARD;
			break;
		default:
			break;
	}
	if (dbname != NULL && mnemic_database != NULL &&
		strcmp(dbname, mnemic_database) == 0)
		return LISTENER_LEAVE_FLUSH;
	return LISTENER_STAY;
}

static void
mnemic_process_utility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	if (listener_shared != NULL)
	{
		ListenerLeaveRequest how = leave_request_for(pstmt->utilityStmt);

		if (how != LISTENER_STAY)
			ListenerAskInserterToLeave(how);
	}

	if (prev_process_utility_hook)
		prev_process_utility_hook(pstmt, queryString, readOnlyTree, context,
								  params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
_PG_init(void)
{
	define_settings();

	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = mnemic_process_utility;

	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mnemic_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = mnemic_shmem_startup;

	register_listener_workers();
}
