/*
 * summary_sql.c
 *	  The SQL functions around the summaries (listener/summary.h):
 *	  mnemic.summary_append(), mnemic.summary_rebuild() and the merge rule
 *	  mnemic.summary_sum().
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "listener/block.h"
#include "listener/spi_helpers.h"
#include "listener/summary.h"

PG_FUNCTION_INFO_V1(mnemic_summary_append);
PG_FUNCTION_INFO_V1(mnemic_summary_rebuild);
PG_FUNCTION_INFO_V1(mnemic_summary_sum);

/*
 * SQL: mnemic.summary_sum(a float8, b float8): a + b as BucketAggMerge adds
 * them, saturating to +/-Infinity.  float8 + raises an error on overflow,
 * which in the summary upsert would lose the run being stored.
 */
Datum
mnemic_summary_sum(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(PG_GETARG_FLOAT8(0) + PG_GETARG_FLOAT8(1));
}

/* SQL: mnemic.summary_append(metric_id int, ts timestamptz[], value float8[]) */
Datum
mnemic_summary_append(PG_FUNCTION_ARGS)
{
	int32		metric_id = PG_GETARG_INT32(0);
	ArrayType  *ts_array = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *value_array = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *ts_datums;
	bool	   *ts_nulls;
	Datum	   *value_datums;
	bool	   *value_nulls;
	int			nts;
	int			nvalues;
	TimestampTz *ts;
	double	   *values;
	int			i;

	deconstruct_array(ts_array, TIMESTAMPTZOID, sizeof(TimestampTz), true,
					  TYPALIGN_DOUBLE, &ts_datums, &ts_nulls, &nts);
	deconstruct_array(value_array, FLOAT8OID, sizeof(float8), true,
					  TYPALIGN_DOUBLE, &value_datums, &value_nulls, &nvalues);
	if (nts != nvalues)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("ts and value arrays differ in length (%d and %d)",
						nts, nvalues)));
	ts = palloc(sizeof(TimestampTz) * Max(nts, 1));
	values = palloc(sizeof(double) * Max(nts, 1));
	for (i = 0; i < nts; i++)
	{
		if (ts_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("timestamp %d of the points is NULL", i + 1)));
		ts[i] = DatumGetTimestampTz(ts_datums[i]);
		values[i] = value_nulls[i] ? 0.0 : DatumGetFloat8(value_datums[i]);
	}
	SummaryAppend(metric_id, ts, values, value_nulls, nts);
	PG_RETURN_VOID();
}

/*
 * Points gathered from blocks before one SummaryAppend() call: each call
 * merges into the metric's coarse buckets, so calling once per block would
 * repeat that work thousands of times.
 */
#define REBUILD_CHUNK 262144

typedef struct RebuildBuffer
{
	int32		metric_id;
	int			n;
	int64		total;
	TimestampTz ts[REBUILD_CHUNK];
	double		values[REBUILD_CHUNK];
	bool		isnull[REBUILD_CHUNK];
} RebuildBuffer;

static void
rebuild_flush(RebuildBuffer *buf)
{
	if (buf->n > 0)
		SummaryAppend(buf->metric_id, buf->ts, buf->values, buf->isnull, buf->n);
	buf->n = 0;
}

static bool
rebuild_add_block(const TimestampTz *ts, const double *values,
				  const bool *isnull, int n, void *arg)
{
	RebuildBuffer *buf = arg;

	for (int k = 0; k < n; k++)
	{
		if (buf->n == REBUILD_CHUNK)
			rebuild_flush(buf);
		buf->ts[buf->n] = ts[k];
		buf->values[buf->n] = values[k];
		buf->isnull[buf->n] = isnull[k];
		buf->n++;
	}
	buf->total += n;
	return true;
}

static KeptPlan clear_summary_plan = {
	"DELETE FROM mnemic.summary WHERE metric_id = $1", 1, {INT4OID}
};

static KeptPlan clear_grid_plan = {
	"DELETE FROM mnemic.summary_grid WHERE metric_id = $1", 1, {INT4OID}
};

/*
 * SQL: mnemic.summary_rebuild(metric_id int): forget the metric's summaries
 * and build them again from its blocks, in time order.  Returns the points
 * summarised.
 */
Datum
mnemic_summary_rebuild(PG_FUNCTION_ARGS)
{
	int32		metric_id = PG_GETARG_INT32(0);
	Datum		args[1] = {Int32GetDatum(metric_id)};
	RebuildBuffer *buf;
	int64		total;

	SummaryForgetMetric(metric_id);
	SpiConnect();
	KeptPlanExec(&clear_summary_plan, args, NULL, false, 0);
	KeptPlanExec(&clear_grid_plan, args, NULL, false, 0);

	buf = palloc(sizeof(RebuildBuffer));
	buf->metric_id = metric_id;
	buf->n = 0;
	buf->total = 0;
	BlockReadAll(metric_id, rebuild_add_block, buf);
	rebuild_flush(buf);
	total = buf->total;
	pfree(buf);
	SPI_finish();
	PG_RETURN_INT64(total);
}
