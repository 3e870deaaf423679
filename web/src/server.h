/*
 * server.h
 *	  What every part of mnemic-web shares: the configuration, the request
 *	  a handler serves, and the routes counted by /metrics.
 */
#ifndef MNEMIC_WEB_SERVER_H
#define MNEMIC_WEB_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

struct mg_connection;
struct mg_request_info;

typedef struct WebConfig
{
	int			port;
	const char *listen;			/* IPv4 address to bind */
	const char *db;				/* libpq connection string or URI */
	int			threads;
	const char *static_dir;
	const char *token;			/* enables DELETE when set */
} WebConfig;

/* Routes, as counted in /metrics (mnemic_web_requests_total{route=...}). */
typedef enum Route
{
	ROUTE_TRACERS,
	ROUTE_RUN,
	ROUTE_RUN_METRICS,
	ROUTE_SERIES,
	ROUTE_TAIL,
	ROUTE_CSV,
	ROUTE_DELETE,
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_LEGACY_TRACERS,
	ROUTE_LEGACY_RUN_INFO,
	ROUTE_LEGACY_DATA,
	ROUTE_LEGACY_CSV,
	ROUTE_LEGACY_CSV_NAME,
	ROUTE_NOT_FOUND,
	ROUTE_COUNT
} Route;

extern const char *const route_names[ROUTE_COUNT];

typedef struct Request
{
	struct mg_connection *conn;
	const struct mg_request_info *info;
	DbSession  *db;				/* this worker thread's session */
	const WebConfig *config;
	Route		route;			/* set by the handler once it knows */
} Request;

/* A handler serves one request and returns the HTTP status it sent. */
typedef int (*Handler) (Request *req);

/*
 * Read query parameter name (occurrence n: 0 is the first).  Returns 1 when
 * found, 0 when absent, and -1 after sending a 400 because it was too long.
 */
extern int	request_param(Request *req, const char *name, size_t n,
						  char *buf, size_t buflen);

/* Send a JSON error for a failed statement, with its HTTP status. */
extern int	send_db_error(Request *req, const DbError *err);

/* api.c */
extern int	api_tracers(Request *req);
extern int	api_runs(Request *req);
extern int	api_not_found(Request *req);
extern int	api_healthz(Request *req);
extern int	stream_csv(Request *req, const char *uuid, const char *filename);

/* legacy.c: dolon 0.2.0's UI endpoints */
extern int	legacy_tracers(Request *req);
extern int	legacy_trace_run_info(Request *req);
extern int	legacy_tracing_data(Request *req);
extern int	legacy_tracing_data_csv(Request *req);
extern int	legacy_csv_name(Request *req);

/* metrics.c */
extern void metrics_record(Route route, int status, double seconds);
extern int	metrics_serve(Request *req);

#endif							/* MNEMIC_WEB_SERVER_H */
