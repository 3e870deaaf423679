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
 *
 * runs() and tracers() take the same run filters and are built from fixed
 * fragments, with only the conditions asked for, so that each query the
 * planner sees can use the index made for it: a page of a tracer's runs
 * walks run_tracer_started from a keyset, changes come from run_changed and
 * run_active_until (run_changes.h), and no request reads every run except
 * tracers() without changed_since, which counts them.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"
#include "utils/xid8.h"

#include "listener/spi_helpers.h"
#include "run_changes.h"
#include "sqlutil.h"
#include "coordinator.h"

PG_FUNCTION_INFO_V1(mnemic_tracers);
PG_FUNCTION_INFO_V1(mnemic_runs);
PG_FUNCTION_INFO_V1(mnemic_run_info);
PG_FUNCTION_INFO_V1(mnemic_metrics);

#define RUN_DURATION_SQL \
	"coalesce(r.ended, r.last_seen) - coalesce(r.started, r.first_seen)"

/* Of runs r, how many are active. */
#define ACTIVE_COUNT_SQL \
	"count(*) FILTER (WHERE r.ended IS NULL AND " RUN_ACTIVE_UNTIL_SQL " >= now())"

/* The listing's order, newest first; run_tracer_started and run_started. */
#define RUN_STARTED_SQL "coalesce(r.started, r.first_seen)"

/* Arguments runs() and tracers() share, at the same positions. */
#define ARG_HOST		1
#define ARG_PROGRAM		2
#define ARG_STATE		3
#define ARG_FROM		4
#define ARG_TO			5

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


/* ---------------------------------------------------------------------
 * Building the listing queries
 * ---------------------------------------------------------------------
 */

#define LISTING_MAX_ARGS 16

/* A query and its parameters, appended to together. */
typedef struct ListingQuery
{
	StringInfoData sql;
	int			nargs;
	Oid			types[LISTING_MAX_ARGS];
	Datum		values[LISTING_MAX_ARGS];
} ListingQuery;

/* Add a parameter; returns its placeholder ("$n"). */
static const char *
query_param(ListingQuery *q, Oid type, Datum value)
{
	if (q->nargs >= LISTING_MAX_ARGS)
		elog(ERROR, "too many listing query parameters");
	q->types[q->nargs] = type;
	q->values[q->nargs] = value;
	q->nargs++;
	return psprintf("$%d", q->nargs);
}

/* What the run filters of runs() and tracers() ask for. */
typedef struct RunFilter
{
	Datum		host;			/* text, contained in the host; 0 if none */
	Datum		program;		/* text, contained in the program; 0 if none */
	const char *state;			/* 'active', 'silent' or 'ended'; NULL if none */
	bool		has_from;		/* runs alive at some moment from ... */
	TimestampTz from;
	bool		has_to;			/* ... to */
	TimestampTz to;
	bool		has_cursor;		/* changed since */
	ChangeCursor cursor;
} RunFilter;

static const char *const run_states[] = {"active", "silent", "ended"};

static void
read_run_filter(FunctionCallInfo fcinfo, int changed_since_arg, RunFilter *f)
{
	memset(f, 0, sizeof(*f));
	if (!PG_ARGISNULL(ARG_HOST))
		f->host = PG_GETARG_DATUM(ARG_HOST);
	if (!PG_ARGISNULL(ARG_PROGRAM))
		f->program = PG_GETARG_DATUM(ARG_PROGRAM);
	if (!PG_ARGISNULL(ARG_STATE))
	{
		char	   *state = text_to_cstring(PG_GETARG_TEXT_PP(ARG_STATE));

		for (int i = 0; i < lengthof(run_states); i++)
			if (strcmp(state, run_states[i]) == 0)
				f->state = run_states[i];
		if (f->state == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown run state \"%s\"", state),
					 errhint("The states are active, silent and ended.")));
	}
	f->has_from = !PG_ARGISNULL(ARG_FROM);
	if (f->has_from)
		f->from = PG_GETARG_TIMESTAMPTZ(ARG_FROM);
	f->has_to = !PG_ARGISNULL(ARG_TO);
	if (f->has_to)
		f->to = PG_GETARG_TIMESTAMPTZ(ARG_TO);
	if (f->has_from && f->has_to && f->from > f->to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t_from is after t_to")));
	f->has_cursor = !PG_ARGISNULL(changed_since_arg);
	if (f->has_cursor)
		ChangeCursorParse(text_to_cstring(PG_GETARG_TEXT_PP(changed_since_arg)),
						  &f->cursor);
}

/*
 * A cursor names transactions of one database; a coordinator's say nothing
 * of its nodes', and forwarding it would hide their changes.
 */
static void
refuse_cursor_through_coordinator(FunctionCallInfo fcinfo, int changed_since_arg)
{
	if (!PG_ARGISNULL(changed_since_arg))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("changed_since is not answered through a coordinator"),
				 errhint("Ask for the listing whole: mnemic.change_cursor() returns NULL here.")));
}

static bool
run_filter_narrows(const RunFilter *f)
{
	return f->host != 0 || f->program != 0 || f->state != NULL ||
		f->has_from || f->has_to;
}

/* " AND ..." for each run filter but changed_since, on run r. */
static void
append_run_filter(ListingQuery *q, const RunFilter *f)
{
	if (f->host != 0)
		appendStringInfo(&q->sql, " AND strpos(lower(r.host), lower(%s)) > 0",
						 query_param(q, TEXTOID, f->host));
	if (f->program != 0)
		appendStringInfo(&q->sql, " AND strpos(lower(r.program), lower(%s)) > 0",
						 query_param(q, TEXTOID, f->program));
	if (f->state == run_states[0])
		appendStringInfoString(&q->sql, " AND r.ended IS NULL AND "
							   RUN_ACTIVE_UNTIL_SQL " >= now()");
	else if (f->state == run_states[1])
		appendStringInfoString(&q->sql, " AND r.ended IS NULL AND "
							   RUN_ACTIVE_UNTIL_SQL " < now()");
	else if (f->state == run_states[2])
		appendStringInfoString(&q->sql, " AND r.ended IS NOT NULL");
	/* Alive at some moment of [from, to]: started by to, seen since from. */
	if (f->has_to)
		appendStringInfo(&q->sql, " AND " RUN_STARTED_SQL " <= %s",
						 query_param(q, TIMESTAMPTZOID, TimestampTzGetDatum(f->to)));
	if (f->has_from)
		appendStringInfo(&q->sql, " AND coalesce(r.ended, r.last_seen) >= %s",
						 query_param(q, TIMESTAMPTZOID, TimestampTzGetDatum(f->from)));
}

/*
 * "<alias>.changed >= xmin AND <alias>.changed < next": written by a
 * transaction not older than the cursor's.  None visible can have started
 * after the next transaction id; rows that say so came from a dump of a
 * database further on, restored here, and are no change.
 */
static void
append_written_since(ListingQuery *q, const RunFilter *f, const char *alias)
{
	const char *xmin = query_param(q, XID8OID,
								   FullTransactionIdGetDatum(f->cursor.xmin));
	const char *next = query_param(q, XID8OID,
								   FullTransactionIdGetDatum(ReadNextFullTransactionId()));

	appendStringInfo(&q->sql, "%s.changed >= %s AND %s.changed < %s",
					 alias, xmin, alias, next);
}

/*
 * The condition that run r changed since the cursor: written since, or
 * stopped being active since (run_changes.h).  The two halves are what
 * run_changed and run_active_until answer.
 */
static void
append_changed(ListingQuery *q, const RunFilter *f)
{
	const char *taken;

	appendStringInfoString(&q->sql, "((");
	append_written_since(q, f, "r");
	taken = query_param(q, TIMESTAMPTZOID, TimestampTzGetDatum(f->cursor.taken));
	appendStringInfo(&q->sql,
					 ") OR (r.ended IS NULL AND "
					 RUN_ACTIVE_UNTIL_SQL " >= %s AND "
					 RUN_ACTIVE_UNTIL_SQL " < now()))",
					 taken);
}

/*
 * Run a listing query into the function's result, without JIT: these are
 * index walks of a few thousand rows at most, which JIT would make a
 * hundred milliseconds slower whenever the planner's estimate of a
 * filter's rows crosses jit_above_cost.
 */
static void
run_query(FunctionCallInfo fcinfo, ListingQuery *q)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	materialize_query(fcinfo, q->sql.data, q->nargs, q->types, q->values, NULL);
	AtEOXact_GUC(true, nestlevel);
}

/*
 * The tracers whose row may have changed since the cursor (tracers(),
 * changed_since): as an int[] datum, and whether runs without a tracer
 * changed too.  Found through run_changed, run_active_until and the small
 * tracer table, so an idle database answers from two index probes.
 */
static Datum
changed_tracers(const RunFilter *f, bool *unnamed_changed, int *n)
{
	ListingQuery q = {0};
	Datum		ids;
	bool		isnull;

	initStringInfo(&q.sql);
	appendStringInfoString(&q.sql,
						   "SELECT coalesce(array_agg(DISTINCT id) FILTER (WHERE id IS NOT NULL), '{}'),"
						   " coalesce(bool_or(id IS NULL), false)"
						   " FROM (SELECT t.id FROM mnemic.tracer t WHERE ");
	append_written_since(&q, f, "t");
	appendStringInfoString(&q.sql, " UNION ALL SELECT r.tracer_id FROM mnemic.run r WHERE ");
	append_changed(&q, f);
	appendStringInfoString(&q.sql, ") s");
	if (SPI_execute_with_args(q.sql.data, q.nargs, q.types, q.values, NULL,
							  true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "looking up changed tracers failed");
	ids = SpiResult(0, 1, &isnull);
	*unnamed_changed = DatumGetBool(SpiResult(0, 2, &isnull));
	/* Out of SPI's memory, which the next query frees. */
	ids = PointerGetDatum(SPI_datumTransfer(ids, false, -1));
	*n = ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(ids)),
						ARR_DIMS(DatumGetArrayTypeP(ids)));
	return ids;
}


/* ---------------------------------------------------------------------
 * tracers() and runs()
 * ---------------------------------------------------------------------
 */

#define TRACERS_ARG_NAME			0
#define TRACERS_ARG_CHANGED_SINCE	6

/*
 * SQL: mnemic.tracers(name, host, program, state, t_from, t_to,
 * changed_since) RETURNS TABLE (tracer, runs, active_runs, first_seen,
 * last_seen).  Runs not yet described (no tracer) are counted under a NULL
 * tracer, listed last.  Counts are of the runs the run filters let through;
 * with any, tracers without such runs are left out.  With changed_since,
 * only the tracers whose counts may have moved since: one of their runs
 * changed or was deleted (listed even when none of their runs is left).
 */
Datum
mnemic_tracers(PG_FUNCTION_ARGS)
{
	RunFilter	f;
	ListingQuery q = {0};
	Datum		name = PG_ARGISNULL(TRACERS_ARG_NAME) ? (Datum) 0 :
		PG_GETARG_DATUM(TRACERS_ARG_NAME);
	Datum		changed_ids = (Datum) 0;
	bool		unnamed_changed = false;
	bool		unnamed = name == 0;

	if (MnemicCoordinating())
	{
		refuse_cursor_through_coordinator(fcinfo, TRACERS_ARG_CHANGED_SINCE);
		return CoordinatorAnswer(fcinfo);
	}

	read_run_filter(fcinfo, TRACERS_ARG_CHANGED_SINCE, &f);
	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	if (f.has_cursor)
	{
		int			n;

		changed_ids = changed_tracers(&f, &unnamed_changed, &n);
		unnamed = unnamed && unnamed_changed;
		/* Nothing changed: what an idle refresh costs. */
		if (n == 0 && !unnamed)
		{
			SPI_finish();
			return (Datum) 0;
		}
	}
	initStringInfo(&q.sql);

	if (f.has_cursor || name != 0)
	{
		/*
		 * A few tracers: each counts its own runs through run_tracer_started
		 * (a lateral subquery, so that the planner cannot choose to read
		 * every run for them).
		 */
		appendStringInfoString(&q.sql,
							   "SELECT t.name, a.runs, a.active, t.created, a.last_seen"
							   " FROM mnemic.tracer t CROSS JOIN LATERAL ("
							   "SELECT count(*) AS runs, " ACTIVE_COUNT_SQL " AS active,"
							   " max(r.last_seen) AS last_seen"
							   " FROM mnemic.run r WHERE r.tracer_id = t.id");
		append_run_filter(&q, &f);
		appendStringInfoString(&q.sql, ") a WHERE true");
		if (name != 0)
			appendStringInfo(&q.sql, " AND strpos(lower(t.name), lower(%s)) > 0",
							 query_param(&q, TEXTOID, name));
		if (f.has_cursor)
			appendStringInfo(&q.sql, " AND t.id = ANY (%s)",
							 query_param(&q, INT4ARRAYOID, changed_ids));
		else if (run_filter_narrows(&f))
			appendStringInfoString(&q.sql, " AND a.runs > 0");
	}
	else
	{
		/* Every tracer: count all runs in one pass, grouped by tracer. */
		appendStringInfoString(&q.sql,
							   "SELECT t.name, coalesce(a.runs, 0), coalesce(a.active, 0),"
							   " t.created, a.last_seen FROM mnemic.tracer t ");
		appendStringInfoString(&q.sql, run_filter_narrows(&f) ? "JOIN" : "LEFT JOIN");
		appendStringInfoString(&q.sql,
							   " (SELECT r.tracer_id, count(*) AS runs, " ACTIVE_COUNT_SQL " AS active,"
							   " max(r.last_seen) AS last_seen"
							   " FROM mnemic.run r WHERE r.tracer_id IS NOT NULL");
		append_run_filter(&q, &f);
		appendStringInfoString(&q.sql, " GROUP BY r.tracer_id) a ON a.tracer_id = t.id");
	}

	/*
	 * The runs without a tracer, when the name filter allows them (and,
	 * with changed_since, when one of them changed).
	 */
	if (unnamed)
	{
		appendStringInfoString(&q.sql,
							   " UNION ALL SELECT NULL, count(*), " ACTIVE_COUNT_SQL ","
							   " min(r.first_seen), max(r.last_seen)"
							   " FROM mnemic.run r WHERE r.tracer_id IS NULL");
		append_run_filter(&q, &f);
		appendStringInfoString(&q.sql, " HAVING count(*) > 0");
	}
	appendStringInfoString(&q.sql, " ORDER BY 1 NULLS LAST");
	run_query(fcinfo, &q);
	SPI_finish();
	return (Datum) 0;
}

#define RUNS_ARG_TRACER			0
#define RUNS_ARG_BEFORE_STARTED	6
#define RUNS_ARG_BEFORE_RUN		7
#define RUNS_ARG_PAGE_SIZE		8
#define RUNS_ARG_CHANGED_SINCE	9
#define RUNS_ARG_UNNAMED		10

/* The id of the tracer named by the text datum; an error if none. */
static int32
tracer_id_by_name(Datum name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {name};

	if (SPI_execute_with_args("SELECT id FROM mnemic.tracer WHERE name = $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "looking up a tracer failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tracer \"%s\" does not exist", TextDatumGetCString(name)),
				 errhint("mnemic.tracers() lists the tracers.")));
	return SpiResultInt32(1);
}

/*
 * SQL: mnemic.runs(tracer, host, program, state, t_from, t_to,
 * before_started, before_run, page_size, changed_since, unnamed): runs
 * newest first (by started, then run), of one tracer when given (an error
 * if it does not exist) or of none with unnamed, that the filters let
 * through; after the keyset (before_started, before_run) when given, at
 * most page_size of them.
 */
Datum
mnemic_runs(PG_FUNCTION_ARGS)
{
	RunFilter	f;
	ListingQuery q = {0};
	bool		unnamed = !PG_ARGISNULL(RUNS_ARG_UNNAMED) && PG_GETARG_BOOL(RUNS_ARG_UNNAMED);

	/* The nodes check the arguments themselves. */
	if (MnemicCoordinating())
	{
		refuse_cursor_through_coordinator(fcinfo, RUNS_ARG_CHANGED_SINCE);
		return CoordinatorAnswer(fcinfo);
	}
	read_run_filter(fcinfo, RUNS_ARG_CHANGED_SINCE, &f);
	if (unnamed && !PG_ARGISNULL(RUNS_ARG_TRACER))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a tracer and unnamed => true exclude each other"),
				 errhint("unnamed => true lists the runs that have no tracer yet.")));
	if (PG_ARGISNULL(RUNS_ARG_BEFORE_STARTED) && !PG_ARGISNULL(RUNS_ARG_BEFORE_RUN))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("before_run needs before_started"),
				 errhint("The next page starts after the last row's started and run.")));
	if (!PG_ARGISNULL(RUNS_ARG_PAGE_SIZE) && PG_GETARG_INT32(RUNS_ARG_PAGE_SIZE) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("page_size must not be negative")));

	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	initStringInfo(&q.sql);
	appendStringInfoString(&q.sql,
						   "SELECT r.uuid, t.name, " RUN_STARTED_SQL ", r.last_seen,"
						   " r.ended, " RUN_DURATION_SQL ", r.samples, r.datagrams, r.lost, "
						   RUN_STATE_SQL ", r.host, r.pid, r.program,"
						   " coalesce(p.stack_samples, 0), coalesce(p.alloc_samples, 0)"
						   " FROM mnemic.run r LEFT JOIN mnemic.tracer t ON t.id = r.tracer_id"
						   " LEFT JOIN mnemic.prof_run p ON p.run_id = r.id WHERE true");
	if (!PG_ARGISNULL(RUNS_ARG_TRACER))
	{
		int32		tracer_id = tracer_id_by_name(PG_GETARG_DATUM(RUNS_ARG_TRACER));

		appendStringInfo(&q.sql, " AND r.tracer_id = %s",
						 query_param(&q, INT4OID, Int32GetDatum(tracer_id)));
	}
	else if (unnamed)
		appendStringInfoString(&q.sql, " AND r.tracer_id IS NULL");
	append_run_filter(&q, &f);
	if (!PG_ARGISNULL(RUNS_ARG_BEFORE_STARTED))
	{
		Datum		started = PG_GETARG_DATUM(RUNS_ARG_BEFORE_STARTED);

		if (PG_ARGISNULL(RUNS_ARG_BEFORE_RUN))
			appendStringInfo(&q.sql, " AND " RUN_STARTED_SQL " < %s",
							 query_param(&q, TIMESTAMPTZOID, started));
		else
		{
			const char *s = query_param(&q, TIMESTAMPTZOID, started);
			const char *u = query_param(&q, UUIDOID, PG_GETARG_DATUM(RUNS_ARG_BEFORE_RUN));

			appendStringInfo(&q.sql, " AND (" RUN_STARTED_SQL ", r.uuid) < (%s, %s)", s, u);
		}
	}
	if (f.has_cursor)
	{
		appendStringInfoString(&q.sql, " AND ");
		append_changed(&q, &f);
	}
	appendStringInfoString(&q.sql, " ORDER BY " RUN_STARTED_SQL " DESC, r.uuid DESC");
	if (!PG_ARGISNULL(RUNS_ARG_PAGE_SIZE))
		appendStringInfo(&q.sql, " LIMIT %s",
						 query_param(&q, INT4OID, PG_GETARG_DATUM(RUNS_ARG_PAGE_SIZE)));
	run_query(fcinfo, &q);
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
