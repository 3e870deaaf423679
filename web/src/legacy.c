/*
 * legacy.c
 *	  The endpoints of dolon 0.2.0's UI server, with the same JSON shapes,
 *	  so scripts written against it keep working:
 *
 *	  /tracers                  [{"tracer_name": t, "runs": [{"creation_time":
 *	                            "YYYY-MM-DD HH:MM:SS", "uuid": u}, ...]}, ...]
 *	                            each tracer's newest LEGACY_RUNS_PER_TRACER runs
 *	  /trace_run_info?uuid=     {"app_name", "counter", "started":
 *	                            "Mon DD YYYY HH:MM:SS", "duration":
 *	                            "HH hours MM minutes SS seconds"}
 *	  /tracing_data_handler?uuid=
 *	                            {metric: [["time", metric],
 *	                            ["YYYY-MM-DD HH:MM:SS", value], ...], ...}
 *	  /tracing_data_handler_as_csv?uuid=   the run as CSV
 *	  /get_csv_name?uuid=       {"csv_name": name}
 *
 *	  Unknown runs get a JSON 404 where dolon answered 500; missing values
 *	  are left out of tracing_data_handler.  The bodies end without the
 *	  newline that /api/ adds (http_finish, not http_finish_json), as they
 *	  always have.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "handlers.h"
#include "http.h"
#include "json_writer.h"
#include "params.h"
#include "pgjson.h"
#include "pgvalue.h"

/*
 * dolon listed every run of every tracer; with years of runs that is
 * megabytes for a dropdown.  Each tracer keeps its newest runs, tracers by
 * their newest run first.
 */
#define LEGACY_RUNS_PER_TRACER "100"

static const char SQL_RUNS[] =
"SELECT t.tracer, r.run, r.started"
" FROM mnemic.tracers() AS t"
" CROSS JOIN LATERAL mnemic.runs(t.tracer, page_size => " LEGACY_RUNS_PER_TRACER ")"
"  WITH ORDINALITY AS r"
" WHERE t.tracer IS NOT NULL"
" ORDER BY max(r.started) OVER (PARTITION BY t.tracer) DESC, t.tracer, r.ordinality";

static const char SQL_RUN_INFO[] =
"SELECT tracer, samples, COALESCE(started, first_seen) AS started, duration "
"FROM mnemic.run_info($1::uuid)";

/* Every stored point, metric by metric (dolon returned every row). */
static const char SQL_ALL_POINTS[] =
"SELECT m.metric, s.ts, s.value "
"FROM mnemic.metrics($1::uuid) AS m "
"LEFT JOIN LATERAL mnemic.series($1::uuid, m.metric, NULL, NULL, 1000, 'raw') "
"  WITH ORDINALITY AS s(ts, value, n) ON true "
"ORDER BY m.idx, s.n";

/* "YYYY-MM-DD HH:MM:SS" (or another strftime format) from epoch seconds. */
static void
format_epoch(double epoch, const char *fmt, char *buf, size_t buflen)
{
	time_t		secs = (time_t) floor(epoch);
	struct tm	tm;

	if (isnan(epoch) || gmtime_r(&secs, &tm) == NULL)
	{
		snprintf(buf, buflen, "%s", "");
		return;
	}
	strftime(buf, buflen, fmt, &tm);
}

int
legacy_tracers(Request *req)
{
	DbError		err;
	PGresult   *res = db_query(req->db, SQL_RUNS, 0, NULL, 0, &err);
	JsonWriter	w;
	char	   *done;
	int			nrows;
	int			i;

	if (res == NULL)
		return http_db_error(req, &err);
	nrows = PQntuples(res);
	done = calloc(nrows + 1, 1);
	if (done == NULL)
	{
		PQclear(res);
		return http_out_of_memory(req);
	}
	http_begin_json(req, &w);
	json_begin_array(&w);
	for (i = 0; i < nrows; i++)
	{
		const char *name;
		int			j;

		/* dolon only listed runs whose header had arrived. */
		if (done[i] || PQgetisnull(res, i, 0))
			continue;
		name = PQgetvalue(res, i, 0);
		json_begin_object(&w);
		json_key(&w, "tracer_name");
		json_string(&w, name);
		json_key(&w, "runs");
		json_begin_array(&w);
		for (j = i; j < nrows; j++)
		{
			char		when[32];

			if (done[j] || PQgetisnull(res, j, 0) ||
				strcmp(PQgetvalue(res, j, 0), name) != 0)
				continue;
			done[j] = 1;
			format_epoch(PQgetisnull(res, j, 2) ? NAN :
						 pg_timestamptz_to_epoch(PQgetvalue(res, j, 2)),
						 "%Y-%m-%d %H:%M:%S", when, sizeof(when));
			json_begin_object(&w);
			json_key(&w, "creation_time");
			json_string(&w, when);
			json_key(&w, "uuid");
			json_string(&w, PQgetvalue(res, j, 1));
			json_end_object(&w);
		}
		json_end_array(&w);
		json_end_object(&w);
	}
	json_end_array(&w);
	free(done);
	PQclear(res);
	return http_finish(req);
}

/* Run info row for uuid, or NULL after an error response was sent. */
static PGresult *
fetch_run_info(Request *req, const char *uuid, int *status)
{
	const char *params[1] = {uuid};
	DbError		err;
	PGresult   *res = db_query(req->db, SQL_RUN_INFO, 1, params, 0, &err);

	if (res == NULL)
	{
		*status = http_db_error(req, &err);
		return NULL;
	}
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		*status = http_error(req, 404, "no such run");
		return NULL;
	}
	return res;
}

int
legacy_trace_run_info(Request *req)
{
	char		uuid[UUID_TEXT_LEN + 1];
	char		started[64];
	char		duration[96];
	double		secs;
	PGresult   *res;
	JsonWriter	w;
	int			status;

	if ((status = params_read_uuid(req, uuid)) != 0)
		return status;
	if ((res = fetch_run_info(req, uuid, &status)) == NULL)
		return status;

	format_epoch(PQgetisnull(res, 0, 2) ? NAN :
				 pg_timestamptz_to_epoch(PQgetvalue(res, 0, 2)),
				 "%b %d %Y %H:%M:%S", started, sizeof(started));
	secs = PQgetisnull(res, 0, 3) ? 0 : pg_interval_to_seconds(PQgetvalue(res, 0, 3));
	if (isnan(secs) || secs < 0)
		secs = 0;
	snprintf(duration, sizeof(duration), "%02ld hours %02ld minutes %02ld seconds",
			 (long) secs / 3600, ((long) secs / 60) % 60, (long) secs % 60);

	http_begin_json(req, &w);
	json_begin_object(&w);
	json_key(&w, "app_name");
	json_string(&w, PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0));
	json_key(&w, "counter");
	pgjson_value(&w, res, 0, 1);
	json_key(&w, "started");
	json_string(&w, started);
	json_key(&w, "duration");
	json_string(&w, duration);
	json_end_object(&w);
	PQclear(res);
	return http_finish(req);
}

/* {metric: [["time", metric], [time, value], ...], ...}, streamed. */
int
legacy_tracing_data(Request *req)
{
	char		uuid[UUID_TEXT_LEN + 1];
	const char *params[1];
	char	   *current = NULL;
	DbError		err;
	PGresult   *row;
	Response   *r;
	JsonWriter	w;
	int			status;

	if ((status = params_read_uuid(req, uuid)) != 0)
		return status;
	params[0] = uuid;
	if (!db_stream_begin(req->db, SQL_ALL_POINTS, 1, params, &err))
		return http_db_error(req, &err);
	r = http_begin_json(req, &w);
	json_begin_object(&w);
	while ((row = db_stream_next(req->db, &err)) != NULL)
	{
		const char *metric = PQgetvalue(row, 0, 0);

		if (current == NULL || strcmp(current, metric) != 0)
		{
			if (current != NULL)
				json_end_array(&w);
			free(current);
			current = strdup(metric);
			json_key(&w, metric);
			json_begin_array(&w);
			json_begin_array(&w);
			json_string(&w, "time");
			json_string(&w, metric);
			json_end_array(&w);
		}
		/*
		 * NULL values are left out: series() also uses them to mark gaps,
		 * which dolon never sent, and its rows never had empty cells.
		 */
		if (!PQgetisnull(row, 0, 1) && !PQgetisnull(row, 0, 2))
		{
			char		when[32];

			format_epoch(pg_timestamptz_to_epoch(PQgetvalue(row, 0, 1)),
						 "%Y-%m-%d %H:%M:%S", when, sizeof(when));
			json_begin_array(&w);
			json_string(&w, when);
			pgjson_value(&w, row, 0, 2);
			json_end_array(&w);
		}
		PQclear(row);
		if (r->failed)
		{
			db_stream_cancel(req->db);
			break;
		}
	}
	if (err.http_status != 0)
	{
		free(current);
		if (!r->headers_sent)
			return http_db_error(req, &err);
		response_abort(r);
		return 500;
	}
	if (current != NULL)
		json_end_array(&w);
	free(current);
	json_end_object(&w);
	return http_finish(req);
}

int
legacy_tracing_data_csv(Request *req)
{
	char		uuid[UUID_TEXT_LEN + 1];
	int			status;

	if ((status = params_read_uuid(req, uuid)) != 0)
		return status;
	return csv_send_run(req, uuid);
}

int
legacy_get_csv_name(Request *req)
{
	char		uuid[UUID_TEXT_LEN + 1];
	char		started[32];
	char		name[1200];
	PGresult   *res;
	JsonWriter	w;
	int			status;

	if ((status = params_read_uuid(req, uuid)) != 0)
		return status;
	if ((res = fetch_run_info(req, uuid, &status)) == NULL)
		return status;
	format_epoch(PQgetisnull(res, 0, 2) ? NAN :
				 pg_timestamptz_to_epoch(PQgetvalue(res, 0, 2)),
				 "%Y-%m-%d-%H-%M-%S", started, sizeof(started));
	snprintf(name, sizeof(name), "%s-%s.csv",
			 PQgetisnull(res, 0, 0) ? "run" : PQgetvalue(res, 0, 0), started);
	PQclear(res);

	http_begin_json(req, &w);
	json_begin_object(&w);
	json_key(&w, "csv_name");
	json_string(&w, name);
	json_end_object(&w);
	return http_finish(req);
}
