/*
 * ingest.c
 *	  SQL functions that put samples in through the listener's storage path:
 *	  mnemic.ingest_datagram(bytea) and mnemic.import_series(...).
 *
 * Both buffer into a StoreBatch and flush it in the calling transaction, so
 * what they store is exactly what the inserter worker would have stored.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "listener/block.h"
#include "listener/counters.h"
#include "listener/decode.h"
#include "listener/store.h"
#include "coordinator.h"

PG_FUNCTION_INFO_V1(mnemic_ingest_datagram);
PG_FUNCTION_INFO_V1(mnemic_import_series);
PG_FUNCTION_INFO_V1(mnemic_block_capacity);

static uint8_t *arena_base = NULL;

/*
 * mnemic.ingest_datagram(datagram bytea) returns bigint
 *
 * Counted in the listener's statistics as if it had come off the socket.
 * A malformed datagram is a WARNING and NULL rather than an ERROR, so that
 * replaying a capture with a few bad datagrams in it goes on.
 */
Datum
mnemic_ingest_datagram(PG_FUNCTION_ARGS)
{
	bytea	   *datagram = PG_GETARG_BYTEA_PP(0);
	const uint8_t *bytes = (const uint8_t *) VARDATA_ANY(datagram);
	size_t		len = VARSIZE_ANY_EXHDR(datagram);
	DecodeArena arena;
	DecodedDatagram decoded;
	DecodeResult result;
	StoreBatch *batch;
	int64		stored;

	if (MnemicCoordinating())
		CoordinatorStoresNothing("ingest_datagram");

	CountersAdd(&listener_counters->datagrams_received, 1);
	CountersAdd(&listener_counters->bytes_received, len);

	if (len > DG_MAX_DATAGRAM)
		result = DECODE_OVERSIZED;
	else
	{
		/* One arena for the backend's life: replays call this many times. */
		if (arena_base == NULL)
			arena_base = MemoryContextAlloc(TopMemoryContext, DECODE_ARENA_SIZE);
		arena.base = arena_base;
		arena.size = DECODE_ARENA_SIZE;
		arena.used = 0;
		result = decode_datagram(bytes, len, &arena, &decoded);
	}
	if (result != DECODE_OK)
	{
		CountersAdd(&listener_counters->malformed[result], 1);
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("datagram dropped as malformed: %s",
						decode_reason_name(result)),
				 errhint("docs/protocol.md lists what each reason means.")));
		PG_RETURN_NULL();
	}
	CountersAdd(&listener_counters->datagrams_decoded, 1);
	if (decoded.unknown_kinds > 0)
		CountersAdd(&listener_counters->unknown_kinds, decoded.unknown_kinds);

	batch = StoreBatchCreate(CurrentMemoryContext, STORE_SUMMARIES_AT_COMMIT);
	StoreBatchAddDatagram(batch, &decoded, GetCurrentTimestamp());
	stored = StoreBatchFlush(batch);
	CountersAdd(&listener_counters->samples_stored, stored);
	PG_RETURN_INT64(stored);
}

static void
require_argument(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

/*
 * The elements of a one-dimensional array of an 8-byte type, contiguous,
 * with a NULL flag per element (*isnull NULL when there are none).
 */
static const void *
array_elements(ArrayType *array, const char *name, int *n, bool **isnull)
{
	const char *data = ARR_DATA_PTR(array);
	bits8	   *bitmap = ARR_NULLBITMAP(array);
	char	   *copy;

	if (ARR_NDIM(array) == 0)
	{
		*n = 0;
		*isnull = NULL;
		return data;
	}
	if (ARR_NDIM(array) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name)));
	*n = ARR_DIMS(array)[0];
	*isnull = NULL;
	if (bitmap == NULL)
		return data;

	/* With NULLs the stored elements are packed: spread them out. */
	copy = palloc0((Size) *n * 8);
	*isnull = palloc((Size) *n * sizeof(bool));
	for (int i = 0; i < *n; i++)
	{
		(*isnull)[i] = (bitmap[i / 8] & (1 << (i % 8))) == 0;
		if (!(*isnull)[i])
		{
			memcpy(copy + (Size) i * 8, data, 8);
			data += 8;
		}
	}
	return copy;
}

/*
 * mnemic.import_series(tracer text, run uuid, metric text,
 *						ts timestamptz[], value float8[]) returns bigint
 */
Datum
mnemic_import_series(PG_FUNCTION_ARGS)
{
	ArrayType  *ts_array;
	ArrayType  *value_array;
	const TimestampTz *ts;
	const double *values;
	bool	   *ts_isnull;
	bool	   *value_isnull;
	int			nts;
	int			nvalues;
	StoreBatch *batch;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	require_argument(fcinfo, 0, "tracer");
	require_argument(fcinfo, 1, "run");
	require_argument(fcinfo, 2, "metric");
	require_argument(fcinfo, 3, "ts");
	require_argument(fcinfo, 4, "value");

	ts_array = PG_GETARG_ARRAYTYPE_P(3);
	value_array = PG_GETARG_ARRAYTYPE_P(4);
	ts = array_elements(ts_array, "ts", &nts, &ts_isnull);
	values = array_elements(value_array, "value", &nvalues, &value_isnull);

	if (nts != nvalues)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ts and value must have the same length"),
				 errdetail("ts has %d elements, value has %d.", nts, nvalues)));
	for (int i = 0; i < nts; i++)
	{
		if (ts_isnull != NULL && ts_isnull[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("ts must not contain NULL"),
					 errdetail("Element %d is NULL.", i + 1)));
		if (TIMESTAMP_NOT_FINITE(ts[i]))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("ts must not contain infinite times"),
					 errdetail("Element %d is %s.", i + 1,
							   TIMESTAMP_IS_NOBEGIN(ts[i]) ? "-infinity" : "infinity")));
	}

	batch = StoreBatchCreate(CurrentMemoryContext, STORE_SUMMARIES_AT_COMMIT);
	StoreBatchAddSeries(batch, text_to_cstring(PG_GETARG_TEXT_PP(0)),
						PG_GETARG_UUID_P(1),
						text_to_cstring(PG_GETARG_TEXT_PP(2)),
						ts, values, value_isnull, nts);
	PG_RETURN_INT64(StoreBatchFlush(batch));
}

/*
 * SQL: mnemic.block_capacity() RETURNS int: points per mnemic.block row, as
 * the store writes them, so that SQL (mnemic.compact_blocks) and C agree.
 */
Datum
mnemic_block_capacity(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(BLOCK_MAX);
}
