/*
 * delete_runs.c
 *	  Deleting runs: mnemic.delete_run(run) and
 *	  mnemic.drop_runs_older_than(age).
 *
 * Blocks, summaries and profiles name their metric or run by id without a
 * foreign key (a per-row check would slow the insert path), so deleting a
 * run removes them explicitly before the run row, whose delete cascades to
 * its metrics.  Frames and stacks are shared by every run: those no run
 * uses any more are collected by mnemic.collect_profile_garbage().
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "listener/spi_helpers.h"
#include "coordinator.h"

PG_FUNCTION_INFO_V1(mnemic_delete_run);
PG_FUNCTION_INFO_V1(mnemic_drop_runs_older_than);

/*
 * Delete the runs with the ids in the int[] datum run_ids and everything
 * stored for them.  Returns how many runs went.
 */
static uint64
delete_runs(Datum run_ids)
{
	static const char *const dependents[] = {
		"DELETE FROM mnemic.block WHERE metric_id IN"
		" (SELECT id FROM mnemic.metric WHERE run_id = ANY ($1))",
		"DELETE FROM mnemic.summary WHERE metric_id IN"
		" (SELECT id FROM mnemic.metric WHERE run_id = ANY ($1))",
		"DELETE FROM mnemic.summary_grid WHERE metric_id IN"
		" (SELECT id FROM mnemic.metric WHERE run_id = ANY ($1))",
		"DELETE FROM mnemic.prof_sample WHERE run_id = ANY ($1)",
		"DELETE FROM mnemic.prof_rollup WHERE run_id = ANY ($1)",
		"DELETE FROM mnemic.prof_alloc WHERE run_id = ANY ($1)",
		"DELETE FROM mnemic.prof_free WHERE run_id = ANY ($1)",
		"DELETE FROM mnemic.prof_run_frame WHERE run_id = ANY ($1)",
		"DELETE FROM mnemic.prof_run_stack WHERE run_id = ANY ($1)",
		"DELETE FROM mnemic.prof_run_type WHERE run_id = ANY ($1)",
		"DELETE FROM mnemic.prof_thread WHERE run_id = ANY ($1)",
		"DELETE FROM mnemic.prof_run WHERE run_id = ANY ($1)",
	};
	Oid			argtypes[1] = {INT4ARRAYOID};
	Datum		args[1] = {run_ids};
	int			i;

	/* Their tracers' counts move: tracers(changed_since) must list them. */
	if (SPI_execute_with_args("UPDATE mnemic.tracer SET changed = pg_current_xact_id()"
							  " WHERE id IN (SELECT tracer_id FROM mnemic.run"
							  " WHERE id = ANY ($1))",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "marking the tracers of deleted runs failed");
	for (i = 0; i < lengthof(dependents); i++)
		if (SPI_execute_with_args(dependents[i], 1, argtypes, args, NULL,
								  false, 0) != SPI_OK_DELETE)
			elog(ERROR, "deleting the data of runs failed");
	if (SPI_execute_with_args("DELETE FROM mnemic.run WHERE id = ANY ($1)",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "deleting runs failed");
	return SPI_processed;
}

/* The ids the query (one int column) returns, as an int[] datum. */
static Datum
select_run_ids(const char *sql, Oid argtype, Datum arg, int *n)
{
	Datum		ids;
	bool		isnull;

	if (SPI_execute_with_args(psprintf("SELECT coalesce(array_agg(id), '{}') FROM (%s) q", sql),
							  1, &argtype, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "selecting runs failed");
	ids = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	*n = ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(ids)),
						ARR_DIMS(DatumGetArrayTypeP(ids)));
	return ids;
}

/* SQL: mnemic.delete_run(run uuid) RETURNS boolean; false if unknown. */
Datum
mnemic_delete_run(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *run = PG_GETARG_UUID_P(0);
	Datum		ids;
	int			n;
	uint64		deleted = 0;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	SpiConnect();
	ids = select_run_ids("SELECT id FROM mnemic.run WHERE uuid = $1",
						 UUIDOID, UUIDPGetDatum(run), &n);
	if (n > 0)
		deleted = delete_runs(ids);
	SPI_finish();
	PG_RETURN_BOOL(deleted > 0);
}

/*
 * SQL: mnemic.drop_runs_older_than(age interval) RETURNS bigint: delete the
 * runs last seen (last datagram) longer ago than age.
 */
Datum
mnemic_drop_runs_older_than(PG_FUNCTION_ARGS)
{
	Interval   *age = PG_GETARG_INTERVAL_P(0);
	Datum		ids;
	int			n;
	uint64		deleted = 0;

	if (age->time < 0 || age->day < 0 || age->month < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("age must not be negative"),
				 errhint("drop_runs_older_than('30 days') deletes runs last seen more than 30 days ago.")));
	SpiConnect();
	ids = select_run_ids("SELECT id FROM mnemic.run"
						 " WHERE last_seen < now() - $1",
						 INTERVALOID, IntervalPGetDatum(age), &n);
	if (n > 0)
		deleted = delete_runs(ids);
	SPI_finish();
	PG_RETURN_INT64((int64) deleted);
}
