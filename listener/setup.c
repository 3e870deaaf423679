/*
 * setup.c
 *	  Setting the listener up when the library loads: its settings, its
 *	  shared memory (the ring, the workers' meeting point, the counters, the
 *	  ingest keys) and the registration of its two background workers.
 *
 * Everything except the settings needs pg_mnemic in shared_preload_libraries;
 * loaded any other way the SQL functions work and the counters read as
 * absent.
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "counters.h"
#include "ingest_keys.h"
#include "listener.h"

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
int			mnemic_auth = LISTENER_AUTH_OFF;

static const struct config_enum_entry auth_options[] = {
	{"off", LISTENER_AUTH_OFF, false},
	{"verify", LISTENER_AUTH_VERIFY, false},
	{"require", LISTENER_AUTH_REQUIRE, false},
	{NULL, 0, false}
};

ListenerShared *listener_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
define_settings(void)
{
	DefineCustomBoolVariable("pg_mnemic.enabled",
							 "Receive traces on the UDP socket.",
							 "When off, the receiver closes its socket; what was already received is still stored.",
							 &mnemic_enabled, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pg_mnemic.listen_address",
							   "Address (IPv4 or IPv6, or a host name) the listener binds its UDP socket to.",
							   "0.0.0.0 receives on every IPv4 interface, :: on every IPv6 one.",
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
	DefineCustomEnumVariable("pg_mnemic.auth",
							 "Which datagrams must carry a valid signature (HMAC-SHA-256 under a key of mnemic.ingest_key).",
							 "off: none is checked; verify: a signed datagram must verify, unsigned ones are taken; require: only correctly signed binary v1 datagrams are taken.",
							 &mnemic_auth, LISTENER_AUTH_OFF, auth_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
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
	RequestAddinShmemSpace(CountersShmemSize());
	RequestAddinShmemSpace(IngestKeysShmemSize());
	RequestAddinShmemSpace(listener_shmem_size());
}

static void
mnemic_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	CountersShmemInit();
	IngestKeysShmemInit();
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

/* Set a worker's latch, read under the mutex; no-op when it is not running. */
static void
wake(Latch **latch_slot)
{
	Latch	   *latch;

	SpinLockAcquire(&listener_shared->mutex);
	latch = *latch_slot;
	SpinLockRelease(&listener_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

void
ListenerWakeInserter(void)
{
	wake(&listener_shared->inserter_latch);
}

void
ListenerWakeReceiver(void)
{
	wake(&listener_shared->receiver_latch);
}

/*
 * Called from _PG_init: the settings always; when preloading, the shared
 * memory and the two workers.
 */
void
ListenerSetup(void)
{
	define_settings();
	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mnemic_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = mnemic_shmem_startup;
	register_listener_workers();
}
