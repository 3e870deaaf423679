/*
 * routes.c
 *	  Every path mnemic-web answers, in one table, and the dispatcher that
 *	  serves them: method, path, the response to write, timing, counts.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <civetweb.h>

#include "handlers.h"
#include "http.h"
#include "params.h"
#include "request_stats.h"
#include "routes.h"

/* Methods a route answers; HEAD is a GET without the body (response.c). */
#define GET		0x01
#define DELETE	0x02
#define POST	0x04

typedef int (*Handler) (Request *req);

typedef struct Route
{
	int			methods;
	const char *path;
	Handler		handler;
	const char *name;			/* mnemic_web_requests_total{route=...} */
} Route;

static int	refuse_delete(Request *req);

/* What every request is served with; CivetWeb hands it to dispatch(). */
typedef struct Serving
{
	const WebConfig *config;
	DbPool	   *pool;
} Serving;

static Serving serving;

/*
 * How long a request waits in line for a database session before it gets
 * a 503: longer than any burst of short requests takes to drain, shorter
 * than a person waits.
 */
#define SESSION_WAIT_MS 10000

/*
 * The first row whose path and method match serves the request.  Paths
 * match without regard to case, as CivetWeb's own patterns do, and in them
 *
 *	 {uuid}	is a run's uuid in canonical text form, given to the handler
 *			as req->run;
 *	 [/]	at the end, is an optional slash;
 *	 *		at the end, is anything, or nothing.
 *
 * A path that matches a row up to a {uuid} but has no uuid there gets a
 * 400; one that matches no row a 404.
 *
 * The rows that take GET | DELETE answer a DELETE as if it were a GET:
 * those paths always have, and the table keeps that.  Under a run, DELETE
 * applies to the run itself only; any other path there refuses it.
 */
static const Route routes[] = {
	{GET | DELETE, "/api/tracers", api_tracers, "tracers"},
	{GET, "/api/runs[/]", api_runs, "runs"},
	{GET, "/api/runs/{uuid}[/]", api_run, "run"},
	{GET, "/api/runs/{uuid}/metrics", api_run_metrics, "run_metrics"},
	{GET, "/api/runs/{uuid}/series", api_series, "series"},
	{GET, "/api/runs/{uuid}/tail", api_tail, "tail"},
	{GET, "/api/runs/{uuid}.csv", api_csv, "csv"},
	{GET, "/api/runs/{uuid}/flamegraph", api_flamegraph, "flamegraph"},
	{GET, "/api/runs/{uuid}/flamegraph/diff", api_flamegraph_diff, "flamegraph_diff"},
	{GET, "/api/runs/{uuid}/top", api_top_functions, "top_functions"},
	{GET, "/api/runs/{uuid}/threads", api_threads, "threads"},
	{GET, "/api/runs/{uuid}/stack", api_stack_at, "stack_at"},
	{GET, "/api/runs/{uuid}/allocations", api_allocations, "allocations"},
	{GET, "/api/runs/{uuid}/profile", api_export_profile, "export_profile"},
	{POST, "/api/import", api_import_profile, "import_profile"},
	{DELETE, "/api/runs/{uuid}[/]", api_delete_run, "delete"},
	{DELETE, "/api/runs/{uuid}*", refuse_delete, "delete"},
	{GET | DELETE, "/healthz", monitoring_healthz, "healthz"},
	{GET | DELETE, "/metrics", monitoring_metrics, "metrics"},
	/* dolon 0.2.0's endpoints, with its shapes (legacy.c) */
	{GET | DELETE, "/tracers", legacy_tracers, "legacy_tracers"},
	{GET | DELETE, "/trace_run_info", legacy_trace_run_info, "legacy_trace_run_info"},
	{GET | DELETE, "/tracing_data_handler", legacy_tracing_data, "legacy_tracing_data"},
	{GET | DELETE, "/tracing_data_handler_as_csv", legacy_tracing_data_csv,
	"legacy_tracing_data_csv"},
	{GET | DELETE, "/get_csv_name", legacy_get_csv_name, "legacy_get_csv_name"},
};

#define NROUTES ((int) (sizeof(routes) / sizeof(routes[0])))

_Static_assert(NROUTES + 1 <= REQUEST_STATS_MAX_ROUTES,
			   "request_stats.h counts too few routes");

/*
 * Requests are counted by route name (rows with one name share a counter),
 * then those that matched no row, as "not_found".
 */
static const char *counter_names[NROUTES + 1];
static int	counter_of_row[NROUTES];
static int	not_found_counter;

/* Everything under this prefix is ours: an unknown API path gets JSON. */
#define API_PREFIX "/api/"

typedef enum PathMatch
{
	PATH_MATCHES,
	PATH_DIFFERS,
	PATH_BAD_UUID				/* matched up to a {uuid}, which was not one */
} PathMatch;

/* Does path match pattern (see the table)?  A matched {uuid} goes to uuid. */
static PathMatch
match_path(const char *pattern, const char *path, char *uuid)
{
	for (;;)
	{
		if (strncmp(pattern, "{uuid}", 6) == 0)
		{
			if (strnlen(path, UUID_TEXT_LEN) < UUID_TEXT_LEN ||
				!param_is_uuid(path, UUID_TEXT_LEN))
				return PATH_BAD_UUID;
			memcpy(uuid, path, UUID_TEXT_LEN);
			uuid[UUID_TEXT_LEN] = '\0';
			pattern += 6;
			path += UUID_TEXT_LEN;
		}
		else if (strcmp(pattern, "[/]") == 0)
			return (path[0] == '\0' || strcmp(path, "/") == 0) ?
				PATH_MATCHES : PATH_DIFFERS;
		else if (strcmp(pattern, "*") == 0)
			return PATH_MATCHES;
		else if (*pattern == '\0')
			return *path == '\0' ? PATH_MATCHES : PATH_DIFFERS;
		else if (tolower((unsigned char) *pattern) != tolower((unsigned char) *path))
			return PATH_DIFFERS;
		else
		{
			pattern++;
			path++;
		}
	}
}

/* What the table says about a request. */
typedef struct RouteMatch
{
	const Route *route;			/* serves it; NULL if none does */
	const Route *bad_uuid;		/* the first row matched up to a bad {uuid} */
	const Route *other_method;	/* the first row of the path, not the method */
	char		run[UUID_TEXT_LEN + 1]; /* route's {uuid}, or "" */
} RouteMatch;

static void
find_route(const char *path, int method, RouteMatch *m)
{
	int			i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < NROUTES && m->route == NULL; i++)
	{
		char		uuid[UUID_TEXT_LEN + 1] = "";

		switch (match_path(routes[i].path, path, uuid))
		{
			case PATH_MATCHES:
				if (routes[i].methods & method)
				{
					m->route = &routes[i];
					memcpy(m->run, uuid, sizeof(m->run));
				}
				else if (m->other_method == NULL &&
						 routes[i].path[strlen(routes[i].path) - 1] != '*')
					m->other_method = &routes[i];	/* a catch-all row is no path */
				break;
			case PATH_BAD_UUID:
				if (m->bad_uuid == NULL)
					m->bad_uuid = &routes[i];
				break;
			case PATH_DIFFERS:
				break;
		}
	}
}

/* The counter of a request: its route's, or that of the row it nearly matched. */
static int
counter_of(const RouteMatch *m)
{
	const Route *r = m->route ? m->route :
		m->other_method ? m->other_method : m->bad_uuid;

	return r ? counter_of_row[r - routes] : not_found_counter;
}

static int
method_of(const char *name)
{
	if (strcmp(name, "GET") == 0 || strcmp(name, "HEAD") == 0)
		return GET;
	if (strcmp(name, "DELETE") == 0)
		return DELETE;
	if (strcmp(name, "POST") == 0)
		return POST;
	return 0;
}

static int
refuse_delete(Request *req)
{
	return http_error(req, 405, "DELETE applies to /api/runs/{uuid} only");
}

/* The 400 for a path with something else where its row has {uuid}. */
static int
refuse_bad_uuid(Request *req, const Route *route)
{
	const char *end = strstr(route->path, "{uuid}") + strlen("{uuid}");
	char		msg[256];

	snprintf(msg, sizeof(msg),
			 "expected %.*s with a uuid like 123e4567-e89b-12d3-a456-426614174000",
			 (int) (end - route->path), route->path);
	return http_error(req, 400, msg);
}

static double
monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CivetWeb calls this for every path routes_register() handed it. */
static int
dispatch(struct mg_connection *conn, void *cbdata)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const Serving *sv = cbdata;
	double		start = monotonic_seconds();
	int			method = method_of(ri->request_method);
	RouteMatch	m;
	Request		req;
	int			status;

	/* A method no route takes is refused, but counted as if it were a GET. */
	find_route(ri->local_uri, method ? method : GET, &m);
	req.conn = conn;
	req.info = ri;
	/* Only a request a route serves borrows a session, and only while it runs. */
	req.db = m.route && method ? db_pool_acquire(sv->pool, SESSION_WAIT_MS) : NULL;
	req.config = sv->config;
	memcpy(req.run, m.run, sizeof(req.run));
	req.response = malloc(sizeof(Response));

	if (req.response == NULL)
		status = mg_send_http_error(conn, 500, "out of memory");
	else if (method == 0)
		status = http_error(&req, 405, "method not allowed");
	else if (m.route != NULL && req.db == NULL)
		status = http_error(&req, 503, "every database session is busy; try again");
	else if (m.route != NULL)
		status = m.route->handler(&req);
	else if (m.other_method != NULL)
		status = http_error(&req, 405, "method not allowed");
	else if (m.bad_uuid != NULL)
		status = refuse_bad_uuid(&req, m.bad_uuid);
	else
		status = http_error(&req, 404, "no such endpoint");
	free(req.response);
	db_pool_release(sv->pool, req.db);

	request_stats_record(counter_of(&m), status, monotonic_seconds() - start);
	return status > 0 ? status : 500;
}

void
routes_register(struct mg_context *ctx, const WebConfig *config, DbPool *pool)
{
	char		pattern[128];
	int			ncounters = 0;
	int			i;

	for (i = 0; i < NROUTES; i++)
	{
		int			c = 0;

		while (c < ncounters && strcmp(counter_names[c], routes[i].name) != 0)
			c++;
		if (c == ncounters)
			counter_names[ncounters++] = routes[i].name;
		counter_of_row[i] = c;
	}
	not_found_counter = ncounters;
	counter_names[ncounters++] = "not_found";
	request_stats_init(counter_names, ncounters);
	serving.config = config;
	serving.pool = pool;

	/* CivetWeb serves the static files of every path not handed over here. */
	mg_set_request_handler(ctx, API_PREFIX, dispatch, &serving);
	for (i = 0; i < NROUTES; i++)
	{
		if (strncmp(routes[i].path, API_PREFIX, strlen(API_PREFIX)) == 0)
			continue;
		/* The other paths are plain text: "$" anchors CivetWeb's pattern. */
		snprintf(pattern, sizeof(pattern), "%s$", routes[i].path);
		mg_set_request_handler(ctx, pattern, dispatch, &serving);
	}
}
