/*
 * api_runs.c
 *	  The tree of tracers and runs, one run's summary and metrics, and
 *	  deleting a run: /api/tracers and /api/runs/{uuid}[/metrics].
 *
 * Each handler runs one parameterised statement that calls a mnemic.*
 * function and writes the result as JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"
#include "pgjson.h"

static const char SQL_RUNS[] =
"SELECT * FROM mnemic.runs()";

static const char SQL_RUN_INFO[] =
"SELECT * FROM mnemic.run_info($1::uuid)";

static const char SQL_METRICS[] =
"SELECT * FROM mnemic.metrics($1::uuid)";

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
