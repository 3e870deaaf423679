/*
 * api.c
 *	  The JSON API under /api/ and /healthz.
 *
 * Each handler checks its parameters, runs ONE parameterised statement that
 * calls mnemic.* functions (the statements are constants below), and
 * streams the result as JSON.  Errors are JSON with a 4xx/5xx status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "json_writer.h"
#include "http.h"
#include "params.h"
#include "pgjson.h"
#include "pgvalue.h"
#include "handlers.h"

static const char SQL_RUNS[] =
"SELECT * FROM mnemic.runs()";

static const char SQL_RUN_INFO[] =
"SELECT * FROM mnemic.run_info($1::uuid)";

static const char SQL_METRICS[] =
"SELECT * FROM mnemic.metrics($1::uuid)";

/* Several named metrics over one range and resolution, in request order. */
static const char SQL_SERIES_NAMED[] =
"SELECT m.name, s.ts, s.value "
"FROM unnest($2::text[]) WITH ORDINALITY AS m(name, ord) "
"LEFT JOIN LATERAL mnemic.series($1::uuid, m.name, $3::timestamptz, "
"  $4::timestamptz, $5::int, $6::text) WITH ORDINALITY AS s(ts, value, n) "
"  ON true "
"ORDER BY m.ord, s.n";

/* Every metric of the run, in column order. */
static const char SQL_SERIES_ALL[] =
"SELECT m.metric, s.ts, s.value "
"FROM mnemic.metrics($1::uuid) AS m "
"LEFT JOIN LATERAL mnemic.series($1::uuid, m.metric, $2::timestamptz, "
"  $3::timestamptz, $4::int, $5::text) WITH ORDINALITY AS s(ts, value, n) "
"  ON true "
"ORDER BY m.idx, s.n";

/*
 * Points after `since`, for live tailing.  Metrics with nothing newer are
 * skipped before series() is asked, since it needs t_from <= last point.
 */
static const char SQL_TAIL[] =
"SELECT m.metric, s.ts, s.value "
"FROM mnemic.metrics($1::uuid) AS m "
"CROSS JOIN LATERAL mnemic.series($1::uuid, m.metric, $2::timestamptz, "
"  NULL, $3::int, 'm4') WITH ORDINALITY AS s(ts, value, n) "
"WHERE m.last_ts > $2::timestamptz AND s.ts > $2::timestamptz "
"ORDER BY m.idx, s.n";

static const char SQL_EXPORT_CSV[] =
"SELECT line FROM mnemic.export_csv($1::uuid) AS line";

static const char SQL_DELETE_RUN[] =
"SELECT mnemic.delete_run($1::uuid)";

/* Tracers with their runs, newest first, grouped from mnemic.runs(). */
int
api_tracers(Request *req)
{
	DbError		err;
	PGresult   *res = db_query(req->db, SQL_RUNS, 0, NULL, 0, &err);
	JsonWriter	w;
	int			tracer_col;
	int			nrows;
	int			i;
	char	   *done;

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
	tracer_col = PQfnumber(res, "tracer");

	/*
	 * Runs come newest first, so a tracer's first appearance orders the
	 * tracers by their latest run.  Runs whose header has not arrived have
	 * no tracer yet and are grouped under null.
	 */
	json_begin_array(&w);
	for (i = 0; i < nrows; i++)
	{
		bool		null_tracer;
		const char *name;
		int			j;

		if (done[i])
			continue;
		null_tracer = tracer_col < 0 || PQgetisnull(res, i, tracer_col);
		name = null_tracer ? NULL : PQgetvalue(res, i, tracer_col);
		json_begin_object(&w);
		json_key(&w, "tracer");
		json_string(&w, name);
		json_key(&w, "runs");
		json_begin_array(&w);
		for (j = i; j < nrows; j++)
		{
			bool		same;

			if (done[j])
				continue;
			if (null_tracer)
				same = PQgetisnull(res, j, tracer_col);
			else
				same = !PQgetisnull(res, j, tracer_col) &&
					strcmp(PQgetvalue(res, j, tracer_col), name) == 0;
			if (!same)
				continue;
			done[j] = 1;
			pgjson_row_object(&w, res, j, tracer_col);
		}
		json_end_array(&w);
		json_end_object(&w);
	}
	json_end_array(&w);
	free(done);
	PQclear(res);
	return http_finish_json(req);
}

int
api_run(Request *req)
{
	const char *uuid = req->run;
	const char *params[1] = {uuid};
	DbError		err;
	PGresult   *res = db_query(req->db, SQL_RUN_INFO, 1, params, 0, &err);
	JsonWriter	w;

	if (res == NULL)
		return http_db_error(req, &err);
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		return http_error(req, 404, "no such run");
	}
	http_begin_json(req, &w);
	pgjson_row_object(&w, res, 0, -1);
	PQclear(res);
	return http_finish_json(req);
}

int
api_run_metrics(Request *req)
{
	const char *uuid = req->run;
	const char *params[1] = {uuid};
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			i;

	res = db_query(req->db, SQL_METRICS, 1, params, 0, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	http_begin_json(req, &w);
	json_begin_array(&w);
	for (i = 0; i < PQntuples(res); i++)
		pgjson_row_object(&w, res, i, -1);
	json_end_array(&w);
	PQclear(res);
	return http_finish_json(req);
}

/*
 * Write series rows (metric, ts, value in binary) grouped by metric:
 * "series": [{"metric": m, "ts": [epoch s...], "value": [...]}, ...].
 * Rows with a NULL ts stand for a metric with no points in the range.
 */
static void
write_series(JsonWriter *w, const PGresult *res)
{
	int			nrows = PQntuples(res);
	int			i = 0;

	json_key(w, "series");
	json_begin_array(w);
	while (i < nrows)
	{
		const char *metric = PQgetvalue(res, i, 0);
		int			mlen = PQgetlength(res, i, 0);
		int			end = i;
		int			k;

		while (end < nrows && PQgetlength(res, end, 0) == mlen &&
			   memcmp(PQgetvalue(res, end, 0), metric, mlen) == 0)
			end++;

		json_begin_object(w);
		json_key(w, "metric");
		json_string_len(w, metric, mlen);
		json_key(w, "ts");
		json_begin_array(w);
		for (k = i; k < end; k++)
			if (!PQgetisnull(res, k, 1))
				json_double(w, pg_binary_timestamptz_to_epoch(PQgetvalue(res, k, 1)));
		json_end_array(w);
		json_key(w, "value");
		json_begin_array(w);
		for (k = i; k < end; k++)
		{
			if (PQgetisnull(res, k, 1))
				continue;
			if (PQgetisnull(res, k, 2))
				json_null(w);
			else
				json_double(w, pg_binary_float8(PQgetvalue(res, k, 2)));
		}
		json_end_array(w);
		json_end_object(w);
		i = end;
	}
	json_end_array(w);
}

/* Append s to buf as one element of a text[] literal: "..." with escapes. */
static bool
append_array_element(char *buf, size_t buflen, size_t *len, const char *s)
{
	const char *p;

	if (*len + 4 >= buflen)
		return false;
	if (*len > 1)
		buf[(*len)++] = ',';
	buf[(*len)++] = '"';
	for (p = s; *p; p++)
	{
		if (*len + 4 >= buflen)
			return false;
		if (*p == '"' || *p == '\\')
			buf[(*len)++] = '\\';
		buf[(*len)++] = *p;
	}
	buf[(*len)++] = '"';
	buf[*len] = '\0';
	return true;
}

typedef struct SeriesParams
{
	char		from[TIME_PARAM_MAX + 8];
	char		to[TIME_PARAM_MAX + 8];
	bool		has_from;
	bool		has_to;
	char		points[16];
	char		method[16];
} SeriesParams;

/*
 * An optional time parameter ("from" or "to") into out; *present says whether
 * it was given.  False after sending a 400.
 */
static bool
read_time_param(Request *req, const char *name, char *out, size_t outlen,
				bool *present)
{
	char		raw[TIME_PARAM_MAX + 8];
	char		msg[96];
	int			got;

	*present = false;
	if ((got = http_param(req, name, 0, raw, sizeof(raw))) < 0)
		return false;
	if (!got || !*raw)
		return true;
	if (!param_time(raw, out, outlen))
	{
		snprintf(msg, sizeof(msg),
				 "%s must be seconds since the epoch or an ISO 8601 time", name);
		http_error(req, 400, msg);
		return false;
	}
	*present = true;
	return true;
}

/* from, to, points and method; false after sending a 400. */
static bool
read_series_params(Request *req, SeriesParams *p)
{
	char		raw[TIME_PARAM_MAX + 8];
	long		points = DEFAULT_POINTS;
	int			got;

	if (!read_time_param(req, "from", p->from, sizeof(p->from), &p->has_from) ||
		!read_time_param(req, "to", p->to, sizeof(p->to), &p->has_to))
		return false;
	if ((got = http_param(req, "points", 0, raw, sizeof(raw))) < 0)
		return false;
	if (got && !param_positive_int(raw, MAX_POINTS, &points))
	{
		char		msg[96];

		snprintf(msg, sizeof(msg), "points must be a whole number from 1 to %d", MAX_POINTS);
		http_error(req, 400, msg);
		return false;
	}
	snprintf(p->points, sizeof(p->points), "%ld", points);
	snprintf(p->method, sizeof(p->method), "m4");
	if ((got = http_param(req, "method", 0, p->method, sizeof(p->method))) < 0)
		return false;
	if (!got)
		snprintf(p->method, sizeof(p->method), "m4");
	else if (!param_is_method(p->method))
	{
		http_error(req, 400, "method must be one of m4, lttb, avg, raw");
		return false;
	}
	return true;
}

/* The requested metric names as a text[] literal; NULL if none were given. */
static int
read_metric_names(Request *req, char **array_out)
{
	size_t		cap = 2 + MAX_METRICS_PER_REQUEST * (2 * METRIC_NAME_MAX + 3);
	char	   *array;
	char		name[METRIC_NAME_MAX + 1];
	size_t		len;
	size_t		n;
	int			got;

	*array_out = NULL;
	array = malloc(cap + 2);
	if (array == NULL)
		return http_out_of_memory(req);
	array[0] = '{';
	len = 1;
	for (n = 0;; n++)
	{
		got = http_param(req, "metric", n, name, sizeof(name));
		if (got < 0)
		{
			free(array);
			return 400;
		}
		if (got == 0)
			break;
		if (n == MAX_METRICS_PER_REQUEST)
		{
			char		msg[80];

			free(array);
			snprintf(msg, sizeof(msg), "at most %d metric parameters per request",
					 MAX_METRICS_PER_REQUEST);
			return http_error(req, 400, msg);
		}
		append_array_element(array, cap, &len, name);
	}
	if (n == 0)
	{
		free(array);
		return 0;
	}
	array[len++] = '}';
	array[len] = '\0';
	*array_out = array;
	return 0;
}

int
api_series(Request *req)
{
	const char *uuid = req->run;
	SeriesParams p;
	char	   *names;
	const char *params[6];
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			status;

	if (!read_series_params(req, &p))
		return 400;
	if ((status = read_metric_names(req, &names)) != 0)
		return status;

	params[0] = uuid;
	if (names)
	{
		params[1] = names;
		params[2] = p.has_from ? p.from : NULL;
		params[3] = p.has_to ? p.to : NULL;
		params[4] = p.points;
		params[5] = p.method;
		res = db_query(req->db, SQL_SERIES_NAMED, 6, params, 1, &err);
	}
	else
	{
		params[1] = p.has_from ? p.from : NULL;
		params[2] = p.has_to ? p.to : NULL;
		params[3] = p.points;
		params[4] = p.method;
		res = db_query(req->db, SQL_SERIES_ALL, 5, params, 1, &err);
	}
	free(names);
	if (res == NULL)
		return http_db_error(req, &err);

	http_begin_json(req, &w);
	json_begin_object(&w);
	json_key(&w, "run");
	json_string(&w, uuid);
	json_key(&w, "from");
	json_string(&w, p.has_from ? p.from : NULL);
	json_key(&w, "to");
	json_string(&w, p.has_to ? p.to : NULL);
	json_key(&w, "points");
	json_int(&w, atol(p.points));
	json_key(&w, "method");
	json_string(&w, p.method);
	write_series(&w, res);
	json_end_object(&w);
	PQclear(res);
	return http_finish_json(req);
}

int
api_tail(Request *req)
{
	const char *uuid = req->run;
	char		raw[TIME_PARAM_MAX + 8];
	char		since[TIME_PARAM_MAX + 8];
	char		points[16] = "1000";
	long		npoints;
	const char *params[3];
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			got;

	if ((got = http_param(req, "since", 0, raw, sizeof(raw))) < 0)
		return 400;
	if (!got || !param_time(raw, since, sizeof(since)))
		return http_error(req, 400,
							   "since is required: seconds since the epoch or an ISO 8601 time");
	if ((got = http_param(req, "points", 0, raw, sizeof(raw))) < 0)
		return 400;
	if (got)
	{
		if (!param_positive_int(raw, MAX_POINTS, &npoints))
			return http_error(req, 400, "points must be a whole number from 1 to 100000");
		snprintf(points, sizeof(points), "%ld", npoints);
	}
	params[0] = uuid;
	params[1] = since;
	params[2] = points;
	res = db_query(req->db, SQL_TAIL, 3, params, 1, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	http_begin_json(req, &w);
	json_begin_object(&w);
	json_key(&w, "run");
	json_string(&w, uuid);
	json_key(&w, "since");
	json_string(&w, since);
	write_series(&w, res);
	json_end_object(&w);
	PQclear(res);
	return http_finish_json(req);
}

/* Stream mnemic.export_csv() line by line as a download. */
int
stream_csv(Request *req, const char *uuid, const char *filename)
{
	const char *params[1] = {uuid};
	DbError		err;
	PGresult   *row;
	Response   *r;
	char		disposition[128];

	if (!db_stream_begin(req->db, SQL_EXPORT_CSV, 1, params, &err))
		return http_db_error(req, &err);
	r = http_begin(req, 200, "text/csv; charset=utf-8");
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"%s\"", filename);
	r->content_disposition = disposition;
	while ((row = db_stream_next(req->db, &err)) != NULL)
	{
		if (!PQgetisnull(row, 0, 0))
			response_write(r, PQgetvalue(row, 0, 0), PQgetlength(row, 0, 0));
		response_write(r, "\n", 1);
		PQclear(row);
		if (r->failed)
		{
			db_stream_cancel(req->db);
			break;
		}
	}
	if (err.http_status != 0)
	{
		if (!r->headers_sent)
			return http_db_error(req, &err);
		mg_cry(req->conn, "CSV of %s cut short: %s", uuid, err.message);
		response_abort(r);
		return 500;
	}
	return http_finish(req);
}

int
api_csv(Request *req)
{
	const char *uuid = req->run;
	char		filename[64];

	snprintf(filename, sizeof(filename), "mnemic-%s.csv", uuid);
	return stream_csv(req, uuid, filename);
}

/* Compare without leaking how much of the token matched through timing. */
static bool
token_matches(const char *given, const char *expected)
{
	size_t		glen = strlen(given);
	size_t		elen = strlen(expected);
	unsigned char diff = glen != elen;
	size_t		i;

	for (i = 0; i < elen; i++)
		diff |= (unsigned char) expected[i] ^ (unsigned char) (i < glen ? given[i] : 0);
	return diff == 0;
}

int
api_delete_run(Request *req)
{
	const char *uuid = req->run;
	const char *params[1] = {uuid};
	const char *token;
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	bool		deleted;

	if (req->config->token == NULL)
		return http_error(req, 403,
							   "deleting runs is disabled: start mnemic-web with --token");
	token = mg_get_header(req->conn, "X-Mnemic-Token");
	if (token == NULL || !token_matches(token, req->config->token))
		return http_error(req, 401, "a valid X-Mnemic-Token header is required");
	res = db_query(req->db, SQL_DELETE_RUN, 1, params, 0, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	deleted = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
		PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!deleted)
		return http_error(req, 404, "no such run");
	http_begin_json(req, &w);
	json_begin_object(&w);
	json_key(&w, "deleted");
	json_string(&w, uuid);
	json_end_object(&w);
	return http_finish_json(req);
}

int
api_healthz(Request *req)
{
	DbError		err;
	Response   *r;
	JsonWriter	w;
	bool		up = db_ping(req->db, &err);

	r = http_begin_json(req, &w);
	r->status = up ? 200 : 503;
	json_begin_object(&w);
	json_key(&w, "status");
	json_string(&w, up ? "ok" : "unavailable");
	json_key(&w, "database");
	json_string(&w, up ? "ok" : err.message);
	json_end_object(&w);
	return http_finish_json(req);
}
