/*
 * ingest_keys.c
 *	  The SQL side of the ingest keys: the trigger on mnemic.ingest_key that
 *	  gets a committed change to the listener (listener/ingest_keys.h tells
 *	  the whole way), and mnemic.ingest_key_usage().
 *
 * The trigger only marks the transaction; the reload is asked for when it
 * commits, so the inserter never reads keys that are not committed yet,
 * and a rolled back change costs nothing.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/timestamp.h"

#include "listener/counters.h"
#include "listener/ingest_keys.h"

PG_FUNCTION_INFO_V1(mnemic_ingest_key_changed);
PG_FUNCTION_INFO_V1(mnemic_ingest_key_usage);

static bool changed_in_this_transaction = false;
static bool callback_registered = false;

static void
ingest_keys_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (changed_in_this_transaction)
				IngestKeysRequestReload();
			changed_in_this_transaction = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* PREPARE: COMMIT PREPARED may come from anywhere; the
			 * inserter's reload once a minute picks it up. */
			changed_in_this_transaction = false;
			break;
		default:
			break;
	}
}

/*
 * mnemic.ingest_key_changed(): AFTER ... FOR EACH STATEMENT trigger on
 * mnemic.ingest_key.
 */
Datum
mnemic_ingest_key_changed(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mnemic.ingest_key_changed() must be called as a trigger")));
	if (!callback_registered)
	{
		RegisterXactCallback(ingest_keys_xact_callback, NULL);
		callback_registered = true;
	}
	changed_in_this_transaction = true;
	return PointerGetDatum(NULL);
}

/*
 * mnemic.ingest_key_usage(): per key id, the datagrams signed with it that
 * the listener took since the server started, and when the latest came.
 * Key ids never used are left out; a dropped key's row stays.
 */
Datum
mnemic_ingest_key_usage(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	if (listener_counters == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_mnemic is not loaded through shared_preload_libraries"),
				 errhint("Add pg_mnemic to shared_preload_libraries in postgresql.conf and restart the server.")));
	InitMaterializedSRF(fcinfo, 0);
	for (int id = 0; id < INGEST_KEY_IDS; id++)
	{
		uint64		datagrams = pg_atomic_read_u64(&listener_counters->key_datagrams[id]);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (datagrams == 0)
			continue;
		values[0] = Int32GetDatum(id);
		values[1] = Int64GetDatum((int64) datagrams);
		values[2] = TimestampTzGetDatum((TimestampTz)
										pg_atomic_read_u64(&listener_counters->key_last_used[id]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
