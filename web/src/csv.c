/*
 * csv.c
 *	  A run as a CSV download, streamed from mnemic.export_csv().
 */
#include <stdio.h>

#include <civetweb.h>

#include "csv.h"
#include "handlers.h"
#include "http.h"

static const char SQL_EXPORT_CSV[] =
"SELECT line FROM mnemic.export_csv($1::uuid) AS line";

int
csv_send_run(Request *req, const char *uuid)
{
	const char *params[1] = {uuid};
	DbError		err;
	PGresult   *row;
	Response   *r;
	char		disposition[128];

	if (!db_stream_begin(req->db, SQL_EXPORT_CSV, 1, params, &err))
		return http_db_error(req, &err);
	r = http_begin(req, 200, "text/csv; charset=utf-8");
	snprintf(disposition, sizeof(disposition),
			 "attachment; filename=\"mnemic-%s.csv\"", uuid);
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
		/* Before the first byte went out the client still gets a JSON error. */
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
	return csv_send_run(req, req->run);
}
