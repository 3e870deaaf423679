/*
 * listing.c
 *	  What there is to read: mnemic.tracers(), mnemic.runs(),
 *	  mnemic.run_info() and mnemic.metrics().
 *
 * Each is one query over the tables; they live in C next to series() so
 * that the web tier and SQL users see one set of functions with the same
 * error behaviour (an unknown run or tracer is an error naming it, not an
 * empty answer).  metrics() answers from the coarsest summary level, so it
 * costs a few rows per metric however long the run.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "listener/spi_helpers.h"
#include "sqlutil.h"
#include "coordinator.h"

PG_FUNCTION_INFO_V1(mnemic_tracers);
PG_FUNCTION_INFO_V1(mnemic_runs);
PG_FUNCTION_INFO_V1(mnemic_run_info);
PG_FUNCTION_INFO_V1(mnemic_metrics);

/* A run's state, as described in sql/series.sql. */
#define RUN_STATE_SQL \
	"CASE WHEN r.ended IS NOT NULL THEN 'ended'" \
	" WHEN r.last_seen >= now() - greatest(3 * coalesce(r.period, '0'), interval '10 s')" \
	" THEN 'active' ELSE 'silent' END"

#define RUN_DURATION_SQL \
	"coalesce(r.ended, r.last_seen) - coalesce(r.started, r.first_seen)"

/*
 * Run sql (already connected to SPI) and put every row into the function's
 * result, whose columns the query's match in number and type.
 */
static void
materialize_query(FunctionCallInfo fcinfo, const char *sql, int nargs,
				  Oid *argtypes, Datum *args, const char *nulls)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			natts = rsinfo->setDesc->natts;
	Datum	   *values = palloc(sizeof(Datum) * natts);
	bool	   *isnull = palloc(sizeof(bool) * natts);
	uint64		row;

	if (SPI_execute_with_args(sql, nargs, argtypes, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "listing query failed: %s", sql);
	if (SPI_tuptable->tupdesc->natts != natts)
		elog(ERROR, "listing query returns %d columns, function %d",
			 SPI_tuptable->tupdesc->natts, natts);
	for (row = 0; row < SPI_processed; row++)
	{
		int			col;

		for (col = 0; col < natts; col++)
			values[col] = SPI_getbinval(SPI_tuptable->vals[row],
										SPI_tuptable->tupdesc, col + 1,
										&isnull[col]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
}

/* Error unless the run exists. */
static void
require_run(pg_uuid_t *run)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1] = {UUIDPGetDatum(run)};

	if (SPI_execute_with_args("SELECT 1 FROM mnemic.run WHERE uuid = $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "looking up a run failed");
	if (SPI_processed == 0)
		RunNotFound(run);
}

/*
 * SQL: mnemic.tracers() RETURNS TABLE (tracer, runs, active_runs,
 * first_seen, last_seen).  Runs not yet described (no tracer) are counted
 * under a NULL tracer, listed last.
 */
Datum
mnemic_tracers(PG_FUNCTION_ARGS)
{
	static const char *sql =
	"SELECT t.name, count(r.id), count(r.id) FILTER (WHERE " RUN_STATE_SQL " = 'active'),"
	" t.created, max(r.last_seen)"
	" FROM mnemic.tracer t LEFT JOIN mnemic.run r ON r.tracer_id = t.id"
	" GROUP BY t.id"
	" UNION ALL"
	" SELECT NULL, count(r.id), count(r.id) FILTER (WHERE " RUN_STATE_SQL " = 'active'),"
	" min(r.first_seen), max(r.last_seen)"
	" FROM mnemic.run r WHERE r.tracer_id IS NULL HAVING count(*) > 0"
	" ORDER BY 1 NULLS LAST";

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	materialize_query(fcinfo, sql, 0, NULL, NULL, NULL);
	SPI_finish();
	return (Datum) 0;
}

/*
 * SQL: mnemic.runs(tracer text DEFAULT NULL): runs newest first, of one
 * tracer when given (an error if it does not exist).
 */
Datum
mnemic_runs(PG_FUNCTION_ARGS)
{
	static const char *sql =
	"SELECT r.uuid, t.name, coalesce(r.started, r.first_seen), r.last_seen,"
	" r.ended, " RUN_DURATION_SQL ", r.samples, r.datagrams, r.lost, "
	RUN_STATE_SQL ", r.host, r.pid, r.program,"
	" coalesce(p.stack_samples, 0), coalesce(p.alloc_samples, 0)"
	" FROM mnemic.run r LEFT JOIN mnemic.tracer t ON t.id = r.tracer_id"
	" LEFT JOIN mnemic.prof_run p ON p.run_id = r.id"
	" WHERE $1::text IS NULL OR t.name = $1"
	" ORDER BY coalesce(r.started, r.first_seen) DESC, r.id DESC";
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0)};
	char		nulls[1] = {PG_ARGISNULL(0) ? 'n' : ' '};

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	if (!PG_ARGISNULL(0))
	{
		if (SPI_execute_with_args("SELECT 1 FROM mnemic.tracer WHERE name = $1",
								  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "looking up a tracer failed");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("tracer \"%s\" does not exist",
							text_to_cstring(PG_GETARG_TEXT_PP(0))),
					 errhint("mnemic.tracers() lists the tracers.")));
	}
	materialize_query(fcinfo, sql, 1, argtypes, args, nulls);
	SPI_finish();
	return (Datum) 0;
}

/* SQL: mnemic.run_info(run uuid): one row, or an error for an unknown run. */
Datum
mnemic_run_info(PG_FUNCTION_ARGS)
{
	static const char *sql =
	"SELECT r.uuid, t.name, r.protocol, coalesce(r.started, r.first_seen),"
	" r.first_seen, r.last_seen, r.ended, " RUN_DURATION_SQL ", "
	RUN_STATE_SQL ", r.host, r.pid, r.program, r.python_version, r.period,"
	" r.datagrams, r.lost, r.samples,"
	" (SELECT count(*) FROM mnemic.metric m WHERE m.run_id = r.id)::int,"
	" coalesce(p.stack_samples, 0), coalesce(p.alloc_samples, 0)"
	" FROM mnemic.run r LEFT JOIN mnemic.tracer t ON t.id = r.tracer_id"
	" LEFT JOIN mnemic.prof_run p ON p.run_id = r.id"
	" WHERE r.uuid = $1";
	pg_uuid_t  *run = PG_GETARG_UUID_P(0);
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1] = {UUIDPGetDatum(run)};

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	require_run(run);
	materialize_query(fcinfo, sql, 1, argtypes, args, NULL);
	SPI_finish();
	return (Datum) 0;
}

/*
 * SQL: mnemic.metrics(run uuid): per metric in column order, the points
 * stored and the extent and extremes of its finite values.  From the
 * coarsest summary level when the metric has summaries, else (blocks
 * written without them) from the blocks themselves.
 */
Datum
mnemic_metrics(PG_FUNCTION_ARGS)
{
	static const char *sql =
	"SELECT m.name, m.idx, s.points, s.first_ts, s.last_ts, s.min_v, s.max_v,"
	" s.last_v"
	" FROM mnemic.run r JOIN mnemic.metric m ON m.run_id = r.id"
	" LEFT JOIN mnemic.summary_grid g ON g.metric_id = m.id"
	" CROSS JOIN LATERAL ("
	"  SELECT coalesce(sum(x.n + x.missing), 0)::int8 AS points,"
	"   min(x.first_ts) AS first_ts, max(x.last_ts) AS last_ts,"
	"   min(x.min_v) AS min_v, max(x.max_v) AS max_v,"
	"   (array_agg(x.last_v ORDER BY x.last_ts DESC NULLS LAST,"
	"    x.last_v DESC NULLS LAST))[1] AS last_v"
	"  FROM mnemic.summary x"
	"  WHERE x.metric_id = m.id AND x.level = g.coarsest"
	"  HAVING g.metric_id IS NOT NULL"
	"  UNION ALL"
	"  SELECT count(*)::int8, min(p.ts) FILTER (WHERE f.ok),"
	"   max(p.ts) FILTER (WHERE f.ok), min(p.value) FILTER (WHERE f.ok),"
	"   max(p.value) FILTER (WHERE f.ok),"
	"   (array_agg(p.value ORDER BY p.ts DESC, p.value DESC)"
	"    FILTER (WHERE f.ok))[1]"
	"  FROM mnemic.block b"
	"  CROSS JOIN LATERAL unnest(b.ts, b.value) AS p (ts, value)"
	"  CROSS JOIN LATERAL (SELECT p.value IS NOT NULL AND"
	"   p.value NOT IN ('NaN', 'Infinity', '-Infinity') AS ok) f"
	"  WHERE b.metric_id = m.id"
	"  HAVING g.metric_id IS NULL"
	" ) s"
	" WHERE r.uuid = $1"
	" ORDER BY m.idx";
	pg_uuid_t  *run = PG_GETARG_UUID_P(0);
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1] = {UUIDPGetDatum(run)};

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	require_run(run);
	materialize_query(fcinfo, sql, 1, argtypes, args, NULL);
	SPI_finish();
	return (Datum) 0;
}
