/*
 * listener_stats.c
 *	  The SQL functions that read the listener's counters (listener/
 *	  counters.h): mnemic.listener_stats() and mnemic.listener_malformed().
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "listener/counters.h"
#include "listener/ingest_keys.h"
#include "listener/listener.h"
#include "coordinator.h"

static void
require_preloaded(void)
{
	if (listener_counters == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_mnemic is not loaded through shared_preload_libraries"),
				 errhint("Add pg_mnemic to shared_preload_libraries in postgresql.conf and restart the server.")));
}

static int64
counter(pg_atomic_uint64 *c)
{
	return (int64) pg_atomic_read_u64(c);
}

/* {"empty": 0, "bad_magic": 3, ...}: every reason, zeros included. */
static Datum
malformed_by_reason_jsonb(void)
{
	StringInfoData buf;
	int			r;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (r = DECODE_OK + 1; r < DECODE_NREASONS; r++)
		appendStringInfo(&buf, "%s\"%s\": " INT64_FORMAT,
						 r > DECODE_OK + 1 ? ", " : "",
						 decode_reason_name((DecodeResult) r),
						 counter(&listener_counters->malformed[r]));
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

PG_FUNCTION_INFO_V1(mnemic_listener_stats);

/*
 * One row: what the listener has received, stored and dropped since the
 * server started, and how its flushes went.
 */
Datum
mnemic_listener_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[30];
	bool		nulls[30];
	int			i = 0;
	int			r;
	int64		malformed_total = 0;
	TimestampTz error_time;
	char		error_text[sizeof(listener_counters->last_error)];
	pid_t		receiver_pid = 0;
	pid_t		inserter_pid = 0;
	ListenerCounters *s = listener_counters;
	int			keys;

	/* a coordinator's are its nodes' listeners, summed */
	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	require_preloaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(nulls, 0, sizeof(nulls));

	for (r = DECODE_OK + 1; r < DECODE_NREASONS; r++)
		malformed_total += counter(&s->malformed[r]);

	SpinLockAcquire(&s->mutex);
	error_time = s->last_error_time;
	strlcpy(error_text, s->last_error, sizeof(error_text));
	SpinLockRelease(&s->mutex);

	if (listener_shared != NULL)
		ListenerWorkerPids(&receiver_pid, &inserter_pid);

	values[i++] = Int64GetDatum(counter(&s->datagrams_received));
	values[i++] = Int64GetDatum(counter(&s->bytes_received));
	values[i++] = Int64GetDatum(counter(&s->datagrams_decoded));
	values[i++] = Int64GetDatum(counter(&s->samples_stored));
	values[i++] = Int64GetDatum(malformed_total);
	values[i++] = malformed_by_reason_jsonb();
	values[i++] = Int64GetDatum(counter(&s->unknown_kinds));
	values[i++] = Int64GetDatum(counter(&s->lost));
	values[i++] = Int64GetDatum(counter(&s->kernel_drops));
	values[i++] = Int64GetDatum(counter(&s->ring_drops));
	values[i++] = Int64GetDatum(counter(&s->flushes));
	values[i++] = Int64GetDatum(counter(&s->flush_errors));
	values[i++] = Float8GetDatum(counter(&s->flush_time_us) / 1000.0);
	values[i++] = Float8GetDatum(counter(&s->flush_time_max_us) / 1000.0);
	values[i++] = Int64GetDatum(listener_shared ? (int64) RingUsed(&listener_shared->ring) : 0);
	values[i++] = Int64GetDatum(counter(&s->ring_high_water));
	values[i++] = Int64GetDatum(listener_shared ? (int64) listener_shared->ring.capacity : 0);
	values[i++] = Int64GetDatum(listener_shared ? (int64) pg_atomic_read_u64(&listener_shared->samples_held) : 0);
	values[i++] = Int64GetDatum(counter(&s->batch_high_water));
	if (error_text[0] != '\0')
	{
		values[i++] = CStringGetTextDatum(error_text);
		values[i++] = TimestampTzGetDatum(error_time);
	}
	else
	{
		nulls[i++] = true;
		nulls[i++] = true;
	}
	nulls[i] = (receiver_pid == 0);
	values[i++] = Int32GetDatum(receiver_pid);
	nulls[i] = (inserter_pid == 0);
	values[i++] = Int32GetDatum(inserter_pid);
	if (listener_shared != NULL &&
		pg_atomic_read_u32(&listener_shared->receive_buffer_effective) > 0)
		values[i++] = Int64GetDatum(pg_atomic_read_u32(&listener_shared->receive_buffer_effective));
	else
		nulls[i++] = true;
	values[i++] = Int64GetDatum(counter(&s->seq_resets));
	values[i++] = Int64GetDatum(counter(&s->auth_bad));
	values[i++] = Int64GetDatum(counter(&s->auth_unknown_key));
	values[i++] = Int64GetDatum(counter(&s->auth_unsigned));
	values[i++] = Int64GetDatum(counter(&s->auth_replayed));
	keys = ingest_keys_shared != NULL ? IngestKeysCount() : -1;
	nulls[i] = (keys < 0);
	values[i++] = Int32GetDatum(keys);

	Assert(i == tupdesc->natts);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PG_FUNCTION_INFO_V1(mnemic_listener_malformed);

/* (reason, count) for every reason a datagram can be dropped for. */
Datum
mnemic_listener_malformed(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			r;

	require_preloaded();
	InitMaterializedSRF(fcinfo, 0);
	for (r = DECODE_OK + 1; r < DECODE_NREASONS; r++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(decode_reason_name((DecodeResult) r));
		values[1] = Int64GetDatum(counter(&listener_counters->malformed[r]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
