/*
 * server.h
 *	  What every part of mnemic-web shares: the configuration, the routes
 *	  counted by /metrics, and the handlers.
 */
#ifndef MNEMIC_WEB_SERVER_H
#define MNEMIC_WEB_SERVER_H

#include <stdbool.h>
#include <stddef.h>

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

typedef struct Request Request;	/* http.h */

/* A handler serves one request and returns the HTTP status it sent. */
typedef int (*Handler) (Request *req);

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
