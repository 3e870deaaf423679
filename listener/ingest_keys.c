/*
 * ingest_keys.c
 *	  The shared-memory copy of mnemic.ingest_key: loading it (inserter),
 *	  copying it (receiver) and asking for a reload (a committing backend).
 *	  See ingest_keys.h for how a change travels.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "counters.h"
#include "ingest_keys.h"
#include "listener.h"
#include "spi_helpers.h"

/* How often a reader retries a copy that a write overlapped. */
#define COPY_TRIES	100

IngestKeysShared *ingest_keys_shared = NULL;

Size
IngestKeysShmemSize(void)
{
	return MAXALIGN(sizeof(IngestKeysShared));
}

/* Called from the shmem_startup_hook with AddinShmemInitLock held. */
void
IngestKeysShmemInit(void)
{
	bool		found;
	IngestKeysShared *shared;

	shared = ShmemInitStruct("pg_mnemic ingest keys", IngestKeysShmemSize(),
							 &found);
	if (!found)
	{
		pg_atomic_init_u32(&shared->reload_request, 0);
		pg_atomic_init_u64(&shared->version, 0);
		memset(&shared->set, 0, sizeof(shared->set));
	}
	ingest_keys_shared = shared;
}

void
IngestKeysRequestReload(void)
{
	if (ingest_keys_shared == NULL || listener_shared == NULL)
		return;
	pg_atomic_fetch_add_u32(&ingest_keys_shared->reload_request, 1);
	ListenerWakeInserter();
}

uint32
IngestKeysReloadRequest(void)
{
	return pg_atomic_read_u32(&ingest_keys_shared->reload_request);
}

/* Write set as the new version; the inserter is the only writer. */
static void
publish(const IngestKeySet *set)
{
	uint64		version = pg_atomic_read_u64(&ingest_keys_shared->version);

	pg_atomic_write_u64(&ingest_keys_shared->version, version + 1);
	pg_write_barrier();
	memcpy(&ingest_keys_shared->set, set, sizeof(*set));
	pg_write_barrier();
	pg_atomic_write_u64(&ingest_keys_shared->version, version + 2);
}

bool
IngestKeysCopy(IngestKeySet *set, uint64 *version)
{
	for (int i = 0; i < COPY_TRIES; i++)
	{
		uint64		before = pg_atomic_read_u64(&ingest_keys_shared->version);

		if (before == *version)
			return false;
		if (before & 1)
		{
			pg_spin_delay();
			continue;
		}
		pg_read_barrier();
		memcpy(set, &ingest_keys_shared->set, sizeof(*set));
		pg_read_barrier();
		if (pg_atomic_read_u64(&ingest_keys_shared->version) == before)
		{
			*version = before;
			return true;
		}
	}
	return false;				/* a write keeps overlapping: next time */
}

int
IngestKeysCount(void)
{
	for (int i = 0; i < COPY_TRIES; i++)
	{
		uint64		before = pg_atomic_read_u64(&ingest_keys_shared->version);
		int			count;

		if (before == 0)
			return -1;
		if (before & 1)
		{
			pg_spin_delay();
			continue;
		}
		pg_read_barrier();
		count = ingest_keys_shared->set.count;
		pg_read_barrier();
		if (pg_atomic_read_u64(&ingest_keys_shared->version) == before)
			return count;
	}
	return -1;
}

/* Read mnemic.ingest_key into *set; rows outside the limits are skipped. */
static void
read_key_table(IngestKeySet *set)
{
	memset(set, 0, sizeof(*set));
	SpiConnect();
	if (SPI_execute("SELECT key_id, secret FROM mnemic.ingest_key", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed reading mnemic.ingest_key");
	for (uint64 row = 0; row < SPI_processed; row++)
	{
		bool		id_null;
		bool		secret_null;
		int32		key_id = DatumGetInt32(SpiResult(row, 1, &id_null));
		Datum		secret_datum = SpiResult(row, 2, &secret_null);
		bytea	   *secret;
		Size		len;

		if (id_null || secret_null)
			continue;
		secret = DatumGetByteaPP(secret_datum);
		len = VARSIZE_ANY_EXHDR(secret);
		if (key_id < 0 || key_id >= INGEST_KEY_IDS ||
			len < INGEST_KEY_MIN_BYTES || len > INGEST_KEY_MAX_BYTES)
		{
			ereport(LOG,
					(errmsg("pg_mnemic inserter: ingest key %d skipped: ids are 0 to %d, secrets %d to %d bytes",
							key_id, INGEST_KEY_IDS - 1, INGEST_KEY_MIN_BYTES,
							INGEST_KEY_MAX_BYTES)));
			continue;
		}
		set->keys[key_id].len = (uint8) len;
		memcpy(set->keys[key_id].secret, VARDATA_ANY(secret), len);
		set->count++;
	}
	SPI_finish();
}

/* "1, 7, 200": the ids of a set, for the log (never the secrets). */
static char *
key_ids_text(const IngestKeySet *set)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int id = 0; id < INGEST_KEY_IDS; id++)
		if (set->keys[id].len > 0)
			appendStringInfo(&buf, "%s%d", buf.len > 0 ? ", " : "", id);
	return buf.data;
}

static void
log_change(const IngestKeySet *set, bool first)
{
	if (set->count > 0)
		ereport(LOG,
				(errmsg_plural("pg_mnemic inserter: verifying with %d ingest key (id %s)",
							   "pg_mnemic inserter: verifying with %d ingest keys (ids %s)",
							   set->count, set->count, key_ids_text(set))));
	else if (!first)
		ereport(LOG,
				(errmsg("pg_mnemic inserter: mnemic.ingest_key is now empty")));
	if (set->count == 0 && mnemic_auth == LISTENER_AUTH_REQUIRE)
		ereport(LOG,
				(errmsg("pg_mnemic.auth is \"require\" and there is no ingest key: every datagram is dropped"),
				 errhint("Add one with mnemic.add_ingest_key().")));
}

bool
IngestKeysLoad(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	IngestKeySet *set = palloc(sizeof(IngestKeySet));
	volatile bool ok = true;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		read_key_table(set);
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
				 errmsg("pg_mnemic inserter: could not read the ingest keys: %s",
						edata->message),
				 errdetail("The keys read before stay in use.")));
		CountersSetError(edata->message);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);

	if (ok)
	{
		uint64		version = pg_atomic_read_u64(&ingest_keys_shared->version);

		if (version == 0 ||
			memcmp(set, &ingest_keys_shared->set, sizeof(*set)) != 0)
		{
			publish(set);
			log_change(set, version == 0);
		}
	}
	explicit_bzero(set, sizeof(*set));
	pfree(set);
	return ok;
}
