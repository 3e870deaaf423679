/*
 * api_runs.c
 *	  The listing of tracers and runs, one run's summary and metrics, and
 *	  deleting a run: /api/tracers, /api/runs and /api/runs/{uuid}[/metrics].
 *
 * Each handler runs one parameterised statement that calls a mnemic.*
 * function and writes the result as JSON.  The two listings take their
 * change cursor in the same statement (mnemic.change_cursor() joined to
 * the listing), so that an answer and its cursor see the same snapshot.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"
#include "params.h"
#include "pgjson.h"

/* One row even when the listing is empty: the cursor, the rest NULL. */
static const char SQL_TRACERS[] =
"SELECT c.cursor, t.* FROM mnemic.change_cursor() AS c (cursor)"
" LEFT JOIN LATERAL mnemic.tracers($1, $2, $3, $4, $5::timestamptz,"
" $6::timestamptz, $7) AS t ON true";

static const char SQL_RUNS[] =
"SELECT c.cursor, r.* FROM mnemic.change_cursor() AS c (cursor)"
" LEFT JOIN LATERAL mnemic.runs($1, $2, $3, $4, $5::timestamptz, $6::timestamptz,"
" $7::timestamptz, $8::uuid, $9::int, $10, coalesce($11::boolean, false)) AS r"
" ON true";

static const char SQL_RUN_INFO[] =
"SELECT * FROM mnemic.run_info($1::uuid)";

static const char SQL_METRICS[] =
"SELECT * FROM mnemic.metrics($1::uuid)";

static const char SQL_DELETE_RUN[] =
"SELECT mnemic.delete_run($1::uuid)";

/* {"cursor": ..., key: [rows but those whose column empty_col is NULL]} */
static void
write_listing(JsonWriter *w, PGresult *res, const char *key, int empty_col,
			  int nrows)
{
	int			i;

	json_begin_object(w);
	json_key(w, "cursor");
	pgjson_value(w, res, 0, 0);
	json_key(w, key);
	json_begin_array(w);
	for (i = 0; i < nrows; i++)
		if (!PQgetisnull(res, i, empty_col))
			pgjson_row_object(w, res, i, 0);
	json_end_array(w);
}

/*
 * Tracers with their counts: all, those a filter keeps, or those changed
 * since a cursor.  {"cursor", "tracers": [{tracer, runs, active_runs,
 * first_seen, last_seen}]}
 */
int
api_tracers(Request *req)
{
	ListingParams p;
	const char *params[7];
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			status;

	if ((status = params_read_listing(req, "name", &p)) != 0)
		return status;
	params[0] = p.name;
	params[1] = p.host;
	params[2] = p.program;
	params[3] = p.state;
	params[4] = p.from;
	params[5] = p.to;
	params[6] = p.changed_since;
	res = db_query(req->db, SQL_TRACERS, 7, params, 0, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	http_begin_json(req, &w);
	/* runs (a count) is NULL only in the row of an empty answer */
	write_listing(&w, res, "tracers", PQfnumber(res, "runs"), PQntuples(res));
	json_end_object(&w);
	PQclear(res);
	return http_finish_json(req);
}

/*
 * A page of runs, newest first: {"cursor", "runs": [...], "next": {"before",
 * "before_run"} or null}.  One row more than the page is asked for, to
 * know whether there is a next page.
 */
int
api_runs(Request *req)
{
	ListingParams p;
	const char *params[11];
	char		page_size[24];
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			status;
	int			nrows;
	int			run_col;

	if ((status = params_read_listing(req, "tracer", &p)) != 0 ||
		(status = params_read_page(req, &p)) != 0)
		return status;
	snprintf(page_size, sizeof(page_size), "%ld", p.limit + 1);
	params[0] = p.name;
	params[1] = p.host;
	params[2] = p.program;
	params[3] = p.state;
	params[4] = p.from;
	params[5] = p.to;
	params[6] = p.before;
	params[7] = p.before_run;
	params[8] = page_size;
	params[9] = p.changed_since;
	params[10] = p.unnamed;
	res = db_query(req->db, SQL_RUNS, 11, params, 0, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	run_col = PQfnumber(res, "run");
	nrows = PQntuples(res);
	http_begin_json(req, &w);
	write_listing(&w, res, "runs", run_col, nrows > p.limit ? (int) p.limit : nrows);
	json_key(&w, "next");
	if (nrows > p.limit)
	{
		json_begin_object(&w);
		json_key(&w, "before");
		pgjson_value(&w, res, (int) p.limit - 1, PQfnumber(res, "started"));
		json_key(&w, "before_run");
		pgjson_value(&w, res, (int) p.limit - 1, run_col);
		json_end_object(&w);
	}
	else
		json_null(&w);
	json_end_object(&w);
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

int
api_delete_run(Request *req)
{
	const char *uuid = req->run;
	const char *params[1] = {uuid};
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	bool		deleted;
	int			status;

	if ((status = http_require_token(req, "deleting runs")) != 0)
		return status;
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
