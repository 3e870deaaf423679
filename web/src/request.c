/*
 * request.c
 *	  Small helpers every handler uses: query parameters and DB errors.
 */
#include <string.h>

#include <civetweb.h>

#include "response.h"
#include "server.h"

int
request_param(Request *req, const char *name, size_t n, char *buf,
			  size_t buflen)
{
	const char *qs = req->info->query_string;
	int			got;

	if (qs == NULL)
		return 0;
	got = mg_get_var2(qs, strlen(qs), name, buf, buflen, n);
	if (got >= 0)
		return 1;
	if (got == -1)
		return 0;
	{
		char		msg[128];

		snprintf(msg, sizeof(msg), "parameter \"%s\" is too long (at most %zu bytes)",
				 name, buflen - 1);
		send_json_error(req->conn, 400, msg);
	}
	return -1;
}

int
send_db_error(Request *req, const DbError *err)
{
	int			status = err->http_status ? err->http_status : 500;

	if (status >= 500)
		mg_cry(req->conn, "%s %s: %s", req->info->request_method,
			   req->info->local_uri, err->message);
	return send_json_error(req->conn, status, err->message);
}
