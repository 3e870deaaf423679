/*
 * http.c
 *	  Query parameters, bodies and JSON errors for handlers.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <civetweb.h>

#include "http.h"

#define JSON_TYPE "application/json; charset=utf-8"

int
http_param(Request *req, const char *name, size_t n, char *buf, size_t buflen)
{
	const char *qs = req->info->query_string;
	char		msg[128];
	int			got;

	if (qs == NULL)
		return 0;
	got = mg_get_var2(qs, strlen(qs), name, buf, buflen, n);
	if (got >= 0)
		return 1;
	if (got == -1)
		return 0;
	snprintf(msg, sizeof(msg), "parameter \"%s\" is too long (at most %zu bytes)",
			 name, buflen - 1);
	http_error(req, 400, msg);
	return -1;
}

Response *
http_begin(Request *req, int status, const char *content_type)
{
	response_init(req->response, req->conn, status, content_type);
	req->response->warning = db_warning(req->db);
	return req->response;
}

Response *
http_begin_json(Request *req, JsonWriter *w)
{
	Response   *r = http_begin(req, 200, JSON_TYPE);

	json_init(w, r);
	return r;
}

int
http_finish(Request *req)
{
	return response_finish(req->response);
}

int
http_finish_json(Request *req)
{
	response_puts(req->response, "\n");
	return response_finish(req->response);
}

int
http_error(Request *req, int status, const char *message)
{
	Response   *r = http_begin(req, status, JSON_TYPE);
	JsonWriter	w;

	json_init(&w, r);
	json_begin_object(&w);
	json_key(&w, "error");
	json_begin_object(&w);
	json_key(&w, "status");
	json_int(&w, status);
	json_key(&w, "message");
	json_string(&w, message);
	json_end_object(&w);
	json_end_object(&w);
	return http_finish_json(req);
}

int
http_db_error(Request *req, const DbError *err)
{
	int			status = err->http_status ? err->http_status : 500;

	if (status >= 500)
		mg_cry(req->conn, "%s %s: %s", req->info->request_method,
			   req->info->local_uri, err->message);
	return http_error(req, status, err->message);
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
http_require_token(Request *req, const char *what)
{
	const char *token;
	char		msg[128];

	if (req->config->token == NULL)
	{
		snprintf(msg, sizeof(msg), "%s is disabled: start mnemic-web with --token", what);
		return http_error(req, 403, msg);
	}
	token = mg_get_header(req->conn, "X-Mnemic-Token");
	if (token == NULL || !token_matches(token, req->config->token))
		return http_error(req, 401, "a valid X-Mnemic-Token header is required");
	return 0;
}

int
http_out_of_memory(Request *req)
{
	return http_error(req, 500, "out of memory");
}
