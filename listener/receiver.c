/*
 * receiver.c
 *	  The receiver: the background worker that owns the UDP socket.
 *
 * It does as little as possible per datagram so that the kernel buffer,
 * which holds only milliseconds of traffic, never overflows: it waits on one
 * WaitEventSet (latch, postmaster death, socket), drains the socket with
 * recvmmsg() until EAGAIN, and copies each datagram with its kernel arrival
 * time into the shared ring (ring.h), where the inserter picks it up.  It
 * never decodes and never touches a table, so a slow flush or commit cannot
 * stop it; when the inserter falls behind by a whole ring, datagrams are
 * dropped here and counted (ring_drops).
 *
 * Under pg_mnemic.auth = verify or require it first judges each datagram's
 * signature and freshness (auth.h) and drops forged, unsigned and replayed
 * ones before they take room in the ring.
 *
 * It connects to no database, but it can read shared catalogs: it answers
 * the inserter's "does pg_mnemic.database exist?" so that the inserter never
 * has to fail a connection attempt (and be restarted over and over) to find
 * out.
 */
#include "postgres.h"

#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "auth.h"
#include "counters.h"
#include "listener.h"

/* Datagrams taken per recvmmsg() call. */
#define RECV_BATCH		64

/* A datagram buffer one byte larger than the largest datagram we accept, so
 * that an oversized one (IPv6 allows more) shows up as longer than allowed. */
#define RECV_BUFFER_SIZE	(DG_MAX_DATAGRAM + 1)

/* How often to try again when the socket cannot be bound. */
#define BIND_RETRY_MS	5000

typedef struct ReceiveBuffers
{
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	char	   *data[RECV_BATCH];
	char		control[RECV_BATCH][CMSG_SPACE(sizeof(uint32)) +
								CMSG_SPACE(sizeof(struct timeval))];
} ReceiveBuffers;

/* The socket and what it was opened with, to see what a reload changes. */
typedef struct ReceiverSocket
{
	pgsocket	sock;
	char	   *address;
	int			port;
	int			receive_buffer;
	uint32		kernel_drops_seen;	/* last SO_RXQ_OVFL value */
	bool		bind_failure_logged;
} ReceiverSocket;

static void
receiver_exit(int code, Datum arg)
{
	SpinLockAcquire(&listener_shared->mutex);
	listener_shared->receiver_pid = 0;
	listener_shared->receiver_latch = NULL;
	listener_shared->receiver_stopping = false;
	SpinLockRelease(&listener_shared->mutex);
}

static void
set_receive_buffer(pgsocket sock, int bytes)
{
	int			effective = 0;
	socklen_t	len = sizeof(effective);

	/*
	 * SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; fall
	 * back to SO_RCVBUF, which the kernel silently caps at rmem_max.
	 */
	if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
		(void) setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (getsockopt(sock, SOL_SOCKET, SO_RCVBUF, &effective, &len) == 0)
	{
		pg_atomic_write_u32(&listener_shared->receive_buffer_effective,
							(uint32) effective);
		ereport(LOG,
				(errmsg("pg_mnemic receiver: receive buffer is %d bytes (pg_mnemic.receive_buffer asked for %d)",
						effective, bytes),
				 effective < bytes ?
				 errhint("The kernel caps it at net.core.rmem_max; raise that with sysctl for a larger buffer.") : 0));
	}
}

/* Open and bind the socket as the settings say; false (logged) on failure. */
static bool
open_socket(ReceiverSocket *rs)
{
	struct addrinfo hints;
	struct addrinfo *addrs = NULL;
	char		port_text[16];
	int			one = 1;
	int			rc;
	pgsocket	sock;

	if (rs->address)
		pfree(rs->address);
	rs->address = pstrdup(mnemic_listen_address);
	rs->port = mnemic_port;
	rs->receive_buffer = mnemic_receive_buffer;
	rs->kernel_drops_seen = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port_text, sizeof(port_text), "%d", rs->port);
	rc = getaddrinfo(rs->address, port_text, &hints, &addrs);
	if (rc != 0)
	{
		if (!rs->bind_failure_logged)
			ereport(LOG,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("pg_mnemic receiver: cannot resolve pg_mnemic.listen_address \"%s\": %s",
							rs->address, gai_strerror(rc))));
		rs->bind_failure_logged = true;
		return false;
	}

	sock = socket(addrs->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock == PGINVALID_SOCKET ||
		bind(sock, addrs->ai_addr, addrs->ai_addrlen) < 0)
	{
		if (!rs->bind_failure_logged)
			ereport(LOG,
					(errcode_for_socket_access(),
					 errmsg("pg_mnemic receiver: cannot listen on %s port %d/udp: %m",
							rs->address, rs->port),
					 errhint("Retrying every %d seconds; pg_mnemic.listen_address and pg_mnemic.port choose where to listen.",
							 BIND_RETRY_MS / 1000)));
		rs->bind_failure_logged = true;
		if (sock != PGINVALID_SOCKET)
			close(sock);
		freeaddrinfo(addrs);
		return false;
	}
	freeaddrinfo(addrs);

	/* Per-datagram kernel drop counts and arrival times, as control data. */
	(void) setsockopt(sock, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	(void) setsockopt(sock, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof(one));
	set_receive_buffer(sock, rs->receive_buffer);

	rs->sock = sock;
	rs->bind_failure_logged = false;
	ereport(LOG,
			(errmsg("pg_mnemic receiver: listening on %s port %d/udp",
					rs->address, rs->port)));
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("receiving on %s port %d/udp",
									rs->address, rs->port));
	return true;
}

static void
close_socket(ReceiverSocket *rs)
{
	if (rs->sock != PGINVALID_SOCKET)
		close(rs->sock);
	rs->sock = PGINVALID_SOCKET;
	if (rs->address)
		pfree(rs->address);
	rs->address = NULL;
	pgstat_report_activity(STATE_IDLE, NULL);
}

static WaitEventSet *
make_wait_set(ReceiverSocket *rs)
{
	WaitEventSet *set = CreateWaitEventSet(TopMemoryContext, 3);

	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	if (rs->sock != PGINVALID_SOCKET)
		AddWaitEventToSet(set, WL_SOCKET_READABLE, rs->sock, NULL, NULL);
	return set;
}

static ReceiveBuffers *
make_receive_buffers(void)
{
	ReceiveBuffers *rb = MemoryContextAllocZero(TopMemoryContext,
												sizeof(ReceiveBuffers));
	int			i;

	for (i = 0; i < RECV_BATCH; i++)
	{
		rb->data[i] = MemoryContextAlloc(TopMemoryContext, RECV_BUFFER_SIZE);
		rb->iov[i].iov_base = rb->data[i];
		rb->iov[i].iov_len = RECV_BUFFER_SIZE;
		rb->msgs[i].msg_hdr.msg_iov = &rb->iov[i];
		rb->msgs[i].msg_hdr.msg_iovlen = 1;
		rb->msgs[i].msg_hdr.msg_control = rb->control[i];
	}
	return rb;
}

/*
 * The datagram's arrival time from SO_TIMESTAMP, and the socket's kernel
 * drop count from SO_RXQ_OVFL (cumulative; added to kernel_drops as it
 * grows).
 */
static TimestampTz
read_control_data(struct msghdr *hdr, ReceiverSocket *rs, TimestampTz fallback)
{
	struct cmsghdr *cmsg;
	TimestampTz arrival = fallback;

	for (cmsg = CMSG_FIRSTHDR(hdr); cmsg != NULL; cmsg = CMSG_NXTHDR(hdr, cmsg))
	{
		if (cmsg->cmsg_level != SOL_SOCKET)
			continue;
		if (cmsg->cmsg_type == SO_RXQ_OVFL)
		{
			uint32		drops;

			memcpy(&drops, CMSG_DATA(cmsg), sizeof(drops));
			if (drops != rs->kernel_drops_seen)
			{
				CountersAdd(&listener_counters->kernel_drops,
							   (uint32) (drops - rs->kernel_drops_seen));
				rs->kernel_drops_seen = drops;
			}
		}
		else if (cmsg->cmsg_type == SCM_TIMESTAMP)
		{
			struct timeval tv;

			memcpy(&tv, CMSG_DATA(cmsg), sizeof(tv));
			arrival = (TimestampTz) tv.tv_sec * USECS_PER_SEC + tv.tv_usec -
				((TimestampTz) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
				 SECS_PER_DAY * USECS_PER_SEC);
		}
	}
	return arrival;
}

/*
 * Take every datagram the socket holds into the ring, until EAGAIN (or a
 * signal asks for attention between two batches).
 */
static void
drain_socket(ReceiverSocket *rs, ReceiveBuffers *rb, AuthChecker *checker)
{
	MnemicRing *ring = &listener_shared->ring;

	for (;;)
	{
		int			n;
		int			i;
		uint64		bytes = 0;
		uint64		dropped = 0;
		uint64		passed = 0;
		TimestampTz now;

		for (i = 0; i < RECV_BATCH; i++)
			rb->msgs[i].msg_hdr.msg_controllen = sizeof(rb->control[i]);

		n = recvmmsg(rs->sock, rb->msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ereport(LOG,
						(errcode_for_socket_access(),
						 errmsg("pg_mnemic receiver: recvmmsg failed: %m")));
			return;
		}

		now = GetCurrentTimestamp();
		if (mnemic_auth != LISTENER_AUTH_OFF)
			AuthCheckerRefresh(checker);
		for (i = 0; i < n; i++)
		{
			struct msghdr *hdr = &rb->msgs[i].msg_hdr;
			uint32		len = rb->msgs[i].msg_len;
			TimestampTz arrival = read_control_data(hdr, rs, now);
			AuthVerdict verdict;

			/* A truncated datagram is longer than any we accept. */
			if (hdr->msg_flags & MSG_TRUNC)
				len = RECV_BUFFER_SIZE;
			bytes += len;
			verdict = AuthJudge(checker, mnemic_auth,
								(const uint8 *) rb->data[i], len, now);
			if (verdict != AUTH_PASS && verdict != AUTH_UNCHECKED)
			{
				AuthCountDrop(verdict);
				continue;
			}
			if (RingPush(ring, rb->data[i], len, arrival,
						 verdict == AUTH_UNCHECKED ? RING_FLAG_UNCHECKED : 0))
				passed++;
			else
				dropped++;
		}

		CountersAdd(&listener_counters->datagrams_received, n);
		CountersAdd(&listener_counters->bytes_received, bytes);
		if (dropped > 0)
			CountersAdd(&listener_counters->ring_drops, dropped);
		CountersMax(&listener_counters->ring_high_water, RingUsed(ring));
		if (passed > 0)
			ListenerWakeInserter();

		if (n < RECV_BATCH || ShutdownRequestPending || ConfigReloadPending)
			return;
	}
}

/*
 * Is there a database of this name that one could connect to now?  A
 * sequential scan of pg_database: get_database_oid() goes through the name
 * index, whose relcache entry cannot be built without a database, and we
 * have none.  A database that DROP DATABASE is removing is still in the
 * catalog until it commits; connecting to it would wait for the drop and then
 * fail, so a database whose lock we cannot take at once counts as missing.
 */
static bool
database_exists(const char *dbname)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;
	Oid			dboid = InvalidOid;
	LOCKTAG		tag;

	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (!found &&
		   (tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);

		found = strcmp(NameStr(db->datname), dbname) == 0;
		if (found)
			dboid = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!found)
		return false;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, dboid, 0);
	if (LockAcquire(&tag, AccessShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	LockRelease(&tag, AccessShareLock, false);
	return true;
}

/*
 * Answer the inserter's question whether pg_mnemic.database exists, if it
 * has asked one since the last answer.
 */
static void
answer_database_check(void)
{
	uint32		request = pg_atomic_read_u32(&listener_shared->db_check_request);
	bool		exists;

	if (request == pg_atomic_read_u32(&listener_shared->db_check_done))
		return;

	StartTransactionCommand();
	exists = database_exists(mnemic_database);
	CommitTransactionCommand();

	pg_atomic_write_u32(&listener_shared->db_state,
						exists ? LISTENER_DB_EXISTS : LISTENER_DB_MISSING);
	pg_write_barrier();
	pg_atomic_write_u32(&listener_shared->db_check_done, request);
	ListenerWakeInserter();
}

static bool
socket_settings_changed(ReceiverSocket *rs)
{
	if (rs->sock == PGINVALID_SOCKET)
		return mnemic_enabled;
	return !mnemic_enabled ||
		rs->port != mnemic_port ||
		strcmp(rs->address, mnemic_listen_address) != 0;
}

void
ListenerReceiverMain(Datum arg)
{
	ReceiverSocket rs = {PGINVALID_SOCKET};
	ReceiveBuffers *rb;
	AuthChecker *checker;
	WaitEventSet *set;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	/* No database: shared catalogs only, for answer_database_check(). */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pg_mnemic receiver");

	SpinLockAcquire(&listener_shared->mutex);
	listener_shared->receiver_pid = MyProcPid;
	listener_shared->receiver_latch = MyLatch;
	listener_shared->receiver_stopping = false;
	SpinLockRelease(&listener_shared->mutex);
	on_shmem_exit(receiver_exit, (Datum) 0);

	rb = make_receive_buffers();
	checker = AuthCheckerCreate();
	if (mnemic_auth != LISTENER_AUTH_OFF)
		ereport(LOG,
				(errmsg("pg_mnemic receiver: pg_mnemic.auth is \"%s\"",
						GetConfigOption("pg_mnemic.auth", false, false))));
	if (mnemic_enabled)
		open_socket(&rs);
	set = make_wait_set(&rs);

	for (;;)
	{
		WaitEvent	event;
		int			timeout = -1;

		if (ShutdownRequestPending)
			break;

		if (ConfigReloadPending)
		{
			int			old_auth = mnemic_auth;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (mnemic_auth != old_auth)
				ereport(LOG,
						(errmsg("pg_mnemic receiver: pg_mnemic.auth is now \"%s\"",
								GetConfigOption("pg_mnemic.auth", false, false))));
			if (socket_settings_changed(&rs))
			{
				close_socket(&rs);
				if (mnemic_enabled)
					open_socket(&rs);
				FreeWaitEventSet(set);
				set = make_wait_set(&rs);
			}
			else if (rs.sock != PGINVALID_SOCKET &&
					 rs.receive_buffer != mnemic_receive_buffer)
			{
				rs.receive_buffer = mnemic_receive_buffer;
				set_receive_buffer(rs.sock, rs.receive_buffer);
			}
		}

		answer_database_check();

		if (rs.sock != PGINVALID_SOCKET)
			drain_socket(&rs, rb, checker);
		else if (mnemic_enabled)
		{
			/* Binding failed before: try again now and then. */
			timeout = BIND_RETRY_MS;
			if (open_socket(&rs))
			{
				FreeWaitEventSet(set);
				set = make_wait_set(&rs);
				timeout = -1;
			}
		}

		(void) WaitEventSetWait(set, timeout, &event, 1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}

	/*
	 * Stopping: take what the kernel still holds into the ring, so that the
	 * inserter, which waits for us to finish, stores it too.
	 */
	ereport(DEBUG1, (errmsg("pg_mnemic receiver: stopping on SIGTERM")));
	SpinLockAcquire(&listener_shared->mutex);
	listener_shared->receiver_stopping = true;
	SpinLockRelease(&listener_shared->mutex);
	ShutdownRequestPending = false;
	if (rs.sock != PGINVALID_SOCKET)
		drain_socket(&rs, rb, checker);
	close_socket(&rs);
	ListenerWakeInserter();

	/* Exit code 1: the postmaster restarts us unless it is shutting down. */
	proc_exit(1);
}
