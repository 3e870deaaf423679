/*
 * api_series.c
 *	  A run's metrics as chart series: /api/runs/{uuid}/series for a range
 *	  at a resolution, and /api/runs/{uuid}/tail for what came after a time.
 *
 * Both run one statement that calls mnemic.series() per metric, with
 * timestamps and values in binary, and write the points as arrays that
 * uPlot draws without conversion.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"
#include "params.h"
#include "pgvalue.h"

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

	if ((status = params_read_series(req, &p)) != 0 ||
		(status = params_read_metric_names(req, &names)) != 0)
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
	char		since[TIME_TEXT_LEN];
	char		points[POINTS_TEXT_LEN];
	const char *params[3];
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			status;

	if ((status = params_read_since(req, since)) != 0 ||
		(status = params_read_points(req, points)) != 0)
		return status;
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
