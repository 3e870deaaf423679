/*
 * http.h
 *	  The request a handler serves, and the answers every handler gives:
 *	  its query parameters, a body (usually JSON), and JSON errors.
 *
 * A handler writes its body into req->response, which the dispatcher
 * allocated before calling it and frees afterwards, so handlers never
 * allocate one.  An error replaces whatever body was started, as long as no
 * header has gone out yet.
 */
#ifndef MNEMIC_WEB_HTTP_H
#define MNEMIC_WEB_HTTP_H

#include <stddef.h>

#include "config.h"
#include "db.h"
#include "json_writer.h"
#include "response.h"

/* A run's uuid in canonical text form, as paths and parameters carry it. */
#define UUID_TEXT_LEN	36

struct mg_connection;
struct mg_request_info;

typedef struct Request
{
	struct mg_connection *conn;
	const struct mg_request_info *info;
	DbSession  *db;				/* borrowed from the pool for this request */
	const WebConfig *config;
	Response   *response;		/* the body; see above */
	char		run[UUID_TEXT_LEN + 1]; /* the path's {uuid} (routes.c), or "" */
} Request;

/*
 * Read query parameter name (occurrence n: 0 is the first).  Returns 1 when
 * found, 0 when absent, and -1 after sending a 400 because it was too long.
 */
extern int	http_param(Request *req, const char *name, size_t n,
					   char *buf, size_t buflen);

/* Start the body: status and content type.  Returns req->response. */
extern Response *http_begin(Request *req, int status, const char *content_type);

/* Start a 200 JSON body with w writing into it. */
extern Response *http_begin_json(Request *req, JsonWriter *w);

/* Send what is left of the body; returns the status that went out. */
extern int	http_finish(Request *req);

/* The same, after ending a JSON body with a newline. */
extern int	http_finish_json(Request *req);

/* A JSON error: {"error": {"status": N, "message": ...}}.  Returns status. */
extern int	http_error(Request *req, int status, const char *message);

/* The JSON error for a failed statement, with its HTTP status. */
extern int	http_db_error(Request *req, const DbError *err);

/*
 * Refuse a request that changes data unless it carries the --token secret
 * in X-Mnemic-Token: 403 when no token is configured (what names the
 * action, "deleting runs"), 401 for a missing or wrong one.  Returns 0 when
 * the token matches, else the status sent.
 */
extern int	http_require_token(Request *req, const char *what);

/* The 500 for an allocation that failed. */
extern int	http_out_of_memory(Request *req);

#endif							/* MNEMIC_WEB_HTTP_H */
