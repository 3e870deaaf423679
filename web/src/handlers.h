/*
 * handlers.h
 *	  The handler of every route; the table in routes.c says which path
 *	  each one serves.
 *
 * A handler serves one request and returns the HTTP status it sent.  The
 * run named by a path's {uuid} is in req->run.
 */
#ifndef MNEMIC_WEB_HANDLERS_H
#define MNEMIC_WEB_HANDLERS_H

#include "http.h"

/* api_runs.c */
extern int	api_tracers(Request *req);
extern int	api_runs(Request *req);
extern int	api_run(Request *req);
extern int	api_run_metrics(Request *req);
extern int	api_delete_run(Request *req);

/* api_series.c */
extern int	api_series(Request *req);
extern int	api_tail(Request *req);

/* api_profiles.c */
extern int	api_flamegraph(Request *req);
extern int	api_flamegraph_diff(Request *req);
extern int	api_top_functions(Request *req);
extern int	api_threads(Request *req);
extern int	api_stack_at(Request *req);
extern int	api_allocations(Request *req);

/* profile_files.c */
extern int	api_export_profile(Request *req);
extern int	api_import_profile(Request *req);

/* csv.c */
extern int	api_csv(Request *req);

/* monitoring.c */
extern int	monitoring_healthz(Request *req);
extern int	monitoring_metrics(Request *req);

/* legacy.c: dolon 0.2.0's UI endpoints */
extern int	legacy_tracers(Request *req);
extern int	legacy_trace_run_info(Request *req);
extern int	legacy_tracing_data(Request *req);
extern int	legacy_tracing_data_csv(Request *req);
extern int	legacy_get_csv_name(Request *req);

#endif							/* MNEMIC_WEB_HANDLERS_H */
