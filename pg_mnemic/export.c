/*
 * export.c
 *	  mnemic.export_csv(run): a whole run as CSV lines, a time column plus
 *	  one column per metric.
 *
 * The points of all the run's metrics are read in one pass ordered by time
 * (a cursor, so memory stays bounded) and folded into lines: points of
 * different metrics at the same instant share a line; a metric with two
 * values at one instant gets a second line with the same time.  The result
 * is a tuplestore, which spills to disk for long runs.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "listener/spi_helpers.h"
#include "sqlutil.h"
#include "coordinator.h"

PG_FUNCTION_INFO_V1(mnemic_export_csv);

/* One line being assembled: the values of each metric at line_ts. */
typedef struct CsvLine
{
	int			ncolumns;
	TimestampTz ts;
	bool		open;
	bool	   *has_value;
	bool	   *isnull;
	double	   *values;
} CsvLine;

/* A CSV field, quoted when it holds a separator, quote or line break. */
static void
append_csv_field(StringInfo buf, const char *field)
{
	const char *p;

	if (strpbrk(field, ",\"\r\n") == NULL &&
		field[0] != ' ' && (field[0] == '\0' || field[strlen(field) - 1] != ' '))
	{
		appendStringInfoString(buf, field);
		return;
	}
	appendStringInfoChar(buf, '"');
	for (p = field; *p; p++)
	{
		if (*p == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '"');
}

/* ISO 8601 in UTC, microseconds always shown: sortable and unambiguous. */
static void
append_iso_utc(StringInfo buf, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (TIMESTAMP_NOT_FINITE(ts) ||
		timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
	{
		appendStringInfoString(buf, TIMESTAMP_IS_NOBEGIN(ts) ? "-infinity" : "infinity");
		return;
	}
	appendStringInfo(buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
					 tm.tm_year, tm.tm_mon, tm.tm_mday,
					 tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

static void
put_line(ReturnSetInfo *rsinfo, StringInfo buf)
{
	Datum		value = PointerGetDatum(cstring_to_text_with_len(buf->data, buf->len));
	bool		isnull = false;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	pfree(DatumGetPointer(value));
}

static void
flush_line(ReturnSetInfo *rsinfo, CsvLine *line, StringInfo buf)
{
	int			c;

	if (!line->open)
		return;
	resetStringInfo(buf);
	append_iso_utc(buf, line->ts);
	for (c = 0; c < line->ncolumns; c++)
	{
		appendStringInfoChar(buf, ',');
		if (line->has_value[c] && !line->isnull[c])
		{
			char	   *text = float8out_internal(line->values[c]);

			appendStringInfoString(buf, text);
			pfree(text);
		}
		line->has_value[c] = false;
	}
	put_line(rsinfo, buf);
	line->open = false;
}

/*
 * The header line; returns the metric ids in column order (metric_ids[c]
 * is column c).
 */
static int
put_header(ReturnSetInfo *rsinfo, pg_uuid_t *run, int32 **metric_ids,
		   StringInfo buf)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1] = {UUIDPGetDatum(run)};
	int			n;
	int			i;

	if (SPI_execute_with_args("SELECT m.id, m.name FROM mnemic.run r"
							  " LEFT JOIN mnemic.metric m ON m.run_id = r.id"
							  " WHERE r.uuid = $1 ORDER BY m.idx",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading the metrics of a run failed");
	if (SPI_processed == 0)
		RunNotFound(run);

	*metric_ids = palloc(sizeof(int32) * SPI_processed);
	resetStringInfo(buf);
	appendStringInfoString(buf, "ts");
	n = 0;
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		id = SPI_getbinval(SPI_tuptable->vals[i],
									   SPI_tuptable->tupdesc, 1, &isnull);

		if (isnull)				/* a run without metrics */
			continue;
		(*metric_ids)[n++] = DatumGetInt32(id);
		appendStringInfoChar(buf, ',');
		append_csv_field(buf, SPI_getvalue(SPI_tuptable->vals[i],
										   SPI_tuptable->tupdesc, 2));
	}
	put_line(rsinfo, buf);
	return n;
}

static int
column_of(const int32 *metric_ids, int n, int32 metric_id)
{
	int			c;

	for (c = 0; c < n; c++)
		if (metric_ids[c] == metric_id)
			return c;
	elog(ERROR, "metric %d is not in the export", metric_id);
	return -1;
}

/* The export under way, as add_point() sees it. */
typedef struct CsvExport
{
	ReturnSetInfo *rsinfo;
	int32	   *metric_ids;		/* column c holds metric metric_ids[c] */
	CsvLine		line;
	StringInfoData buf;
} CsvExport;

/* One point (ts, metric_id, value): onto the open line, or a new one. */
static bool
add_point(HeapTuple tuple, TupleDesc desc, void *arg)
{
	CsvExport  *ex = arg;
	CsvLine    *line = &ex->line;
	bool		isnull;
	TimestampTz ts = DatumGetTimestampTz(SPI_getbinval(tuple, desc, 1, &isnull));
	int32		metric_id = DatumGetInt32(SPI_getbinval(tuple, desc, 2, &isnull));
	Datum		value = SPI_getbinval(tuple, desc, 3, &isnull);
	int			c = column_of(ex->metric_ids, line->ncolumns, metric_id);

	if (line->open && (ts != line->ts || line->has_value[c]))
		flush_line(ex->rsinfo, line, &ex->buf);
	line->open = true;
	line->ts = ts;
	line->has_value[c] = true;
	line->isnull[c] = isnull;
	line->values[c] = isnull ? 0.0 : DatumGetFloat8(value);
	return true;
}

/* Every point of the given metrics, in the order the lines want them. */
static KeptPlan points_plan = {
	"SELECT p.ts, b.metric_id, p.value FROM mnemic.block b"
	" CROSS JOIN LATERAL unnest(b.ts, b.value) AS p (ts, value)"
	" WHERE b.metric_id = ANY ($1)"
	" ORDER BY p.ts, b.metric_id, p.value",
	1, {INT4ARRAYOID}
};

/* SQL: mnemic.export_csv(run uuid) RETURNS SETOF text */
Datum
mnemic_export_csv(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *run = PG_GETARG_UUID_P(0);
	CsvExport	ex;
	CsvLine    *line = &ex.line;
	Datum		args[1];
	Datum	   *id_datums;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	ex.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SpiConnect();
	initStringInfo(&ex.buf);
	line->ncolumns = put_header(ex.rsinfo, run, &ex.metric_ids, &ex.buf);
	line->open = false;
	line->has_value = palloc0(sizeof(bool) * Max(line->ncolumns, 1));
	line->isnull = palloc0(sizeof(bool) * Max(line->ncolumns, 1));
	line->values = palloc0(sizeof(double) * Max(line->ncolumns, 1));

	id_datums = palloc(sizeof(Datum) * Max(line->ncolumns, 1));
	for (int c = 0; c < line->ncolumns; c++)
		id_datums[c] = Int32GetDatum(ex.metric_ids[c]);
	args[0] = PointerGetDatum(construct_array(id_datums, line->ncolumns,
											  INT4OID, sizeof(int32), true,
											  TYPALIGN_INT));
	SpiForEachRow(KeptPlanGet(&points_plan), args, NULL, true, 10000, add_point, &ex);
	flush_line(ex.rsinfo, line, &ex.buf);
	SPI_finish();
	return (Datum) 0;
}
