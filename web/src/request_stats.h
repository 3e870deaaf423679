/*
 * request_stats.h
 *	  Requests served and their latencies, per route, for /metrics.
 *
 * Counting is lock-free (relaxed atomics): any worker thread records, the
 * /metrics handler reads whatever the counts are at that moment.
 */
#ifndef MNEMIC_WEB_REQUEST_STATS_H
#define MNEMIC_WEB_REQUEST_STATS_H

#include "response.h"

#define REQUEST_STATS_MAX_ROUTES 32

/*
 * Name the routes (numbered from 0, in this order) before any request is
 * recorded.  The names must outlive the server.
 */
extern void request_stats_init(const char *const *names, int nroutes);

/* One request served on route with status, in seconds. */
extern void request_stats_record(int route, int status, double seconds);

/*
 * mnemic_web_requests_total and mnemic_web_request_duration_seconds in
 * Prometheus text format.
 */
extern void request_stats_write(Response *r);

#endif							/* MNEMIC_WEB_REQUEST_STATS_H */
