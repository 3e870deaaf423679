/*
 * metrics.c
 *	  /metrics in Prometheus text format: the listener's counters from
 *	  mnemic.listener_stats(), and this server's own request counts and
 *	  latencies, kept in lock-free counters.
 */
#include <ctype.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "http.h"
#include "pgvalue.h"
#include "server.h"

static const char SQL_LISTENER_STATS[] =
"SELECT * FROM mnemic.listener_stats()";

/* Status classes counted per route: 1xx..5xx. */
#define STATUS_CLASSES 5

/* Latency histogram bounds in seconds (Prometheus "le" labels). */
static const double bucket_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define NBUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

static atomic_ullong requests[ROUTE_COUNT][STATUS_CLASSES];
static atomic_ullong latency_buckets[ROUTE_COUNT][NBUCKETS];
static atomic_ullong latency_count[ROUTE_COUNT];
static atomic_ullong latency_sum_us[ROUTE_COUNT];

void
metrics_record(Route route, int status, double seconds)
{
	int			cls = status / 100 - 1;
	size_t		b;

	if (route < 0 || route >= ROUTE_COUNT)
		route = ROUTE_NOT_FOUND;
	if (cls < 0 || cls >= STATUS_CLASSES)
		cls = 4;
	atomic_fetch_add_explicit(&requests[route][cls], 1, memory_order_relaxed);
	for (b = 0; b < NBUCKETS; b++)
		if (seconds <= bucket_bounds[b])
			atomic_fetch_add_explicit(&latency_buckets[route][b], 1,
									  memory_order_relaxed);
	atomic_fetch_add_explicit(&latency_count[route], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&latency_sum_us[route],
							  (unsigned long long) llround(seconds * 1e6),
							  memory_order_relaxed);
}

static unsigned long long
load(atomic_ullong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void
write_web_metrics(Response *r)
{
	int			route;
	int			cls;
	size_t		b;

	response_puts(r,
				  "# HELP mnemic_web_requests_total HTTP requests served by mnemic-web, by route and status class.\n"
				  "# TYPE mnemic_web_requests_total counter\n");
	for (route = 0; route < ROUTE_COUNT; route++)
		for (cls = 0; cls < STATUS_CLASSES; cls++)
			if (load(&requests[route][cls]) > 0)
				response_printf(r, "mnemic_web_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
								route_names[route], cls + 1,
								load(&requests[route][cls]));

	response_puts(r,
				  "# HELP mnemic_web_request_duration_seconds Time to serve a request, by route.\n"
				  "# TYPE mnemic_web_request_duration_seconds histogram\n");
	for (route = 0; route < ROUTE_COUNT; route++)
	{
		unsigned long long count = load(&latency_count[route]);

		if (count == 0)
			continue;
		for (b = 0; b < NBUCKETS; b++)
			response_printf(r, "mnemic_web_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
							route_names[route], bucket_bounds[b],
							load(&latency_buckets[route][b]));
		response_printf(r, "mnemic_web_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
						route_names[route], count);
		response_printf(r, "mnemic_web_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
						route_names[route], load(&latency_sum_us[route]) / 1e6);
		response_printf(r, "mnemic_web_request_duration_seconds_count{route=\"%s\"} %llu\n",
						route_names[route], count);
	}
}

/* Values that go up and down; every other number is a counter. */
static bool
is_gauge(const char *column)
{
	return strstr(column, "high_water") != NULL ||
		strstr(column, "_pid") != NULL ||
		strcmp(column, "ring_used") == 0 ||
		strcmp(column, "ring_size") == 0 ||
		strcmp(column, "receive_buffer") == 0 ||
		strcmp(column, "flush_time_max_ms") == 0 ||
		strcmp(column, "last_error_time") == 0;
}

/* Is name safe as part of a metric name ([a-z0-9_])? */
static bool
is_metric_name(const char *name)
{
	if (*name == '\0')
		return false;
	for (; *name; name++)
		if (!(islower((unsigned char) *name) || isdigit((unsigned char) *name) ||
			  *name == '_'))
			return false;
	return true;
}

/*
 * malformed_by_reason is a flat jsonb object of reason -> count, written by
 * PostgreSQL ({"bad_json": 2, "truncated": 0}); emit it as labelled samples.
 */
static void
write_reason_counts(Response *r, const char *json)
{
	const char *p = json;

	response_puts(r, "# TYPE mnemic_listener_malformed_by_reason_total counter\n");
	while ((p = strchr(p, '"')) != NULL)
	{
		const char *key = p + 1;
		const char *key_end = strchr(key, '"');
		char		reason[64];
		char	   *num_end;
		double		v;

		if (key_end == NULL || (size_t) (key_end - key) >= sizeof(reason))
			return;
		memcpy(reason, key, key_end - key);
		reason[key_end - key] = '\0';
		p = key_end + 1;
		while (*p == ' ' || *p == ':')
			p++;
		v = strtod(p, &num_end);
		if (num_end == p || !is_metric_name(reason))
			continue;
		p = num_end;
		response_printf(r, "mnemic_listener_malformed_by_reason_total{reason=\"%s\"} %.0f\n",
						reason, v);
	}
}

static void
write_listener_metrics(Response *r, const PGresult *res)
{
	int			col;

	for (col = 0; col < PQnfields(res); col++)
	{
		const char *name = PQfname(res, col);
		const char *text;
		double		v;
		char	   *end;
		bool		gauge = is_gauge(name);

		if (PQgetisnull(res, 0, col) || !is_metric_name(name))
			continue;
		text = PQgetvalue(res, 0, col);
		if (strcmp(name, "malformed_by_reason") == 0)
		{
			write_reason_counts(r, text);
			continue;
		}
		if (PQftype(res, col) == TIMESTAMPTZOID)	/* as epoch seconds */
			v = pg_timestamptz_to_epoch(text);
		else
		{
			v = strtod(text, &end);
			if (end == text || *end != '\0')
				continue;		/* text such as last_error */
		}
		if (isnan(v))
			continue;
		response_printf(r, "# TYPE mnemic_listener_%s%s %s\n", name,
						gauge ? "" : "_total", gauge ? "gauge" : "counter");
		response_printf(r, "mnemic_listener_%s%s %.17g\n", name,
						gauge ? "" : "_total", v);
	}
}

int
metrics_serve(Request *req)
{
	DbError		err;
	PGresult   *res = db_query(req->db, SQL_LISTENER_STATS, 0, NULL, 0, &err);
	Response   *r = http_begin(req, 200, "text/plain; version=0.0.4; charset=utf-8");

	/* The web server's own figures are served even when the database is not. */
	response_puts(r, "# HELP mnemic_web_database_up Whether mnemic.listener_stats() could be read.\n"
				  "# TYPE mnemic_web_database_up gauge\n");
	response_printf(r, "mnemic_web_database_up %d\n",
					res != NULL && PQntuples(res) == 1);
	if (res != NULL && PQntuples(res) == 1)
		write_listener_metrics(r, res);
	if (res)
		PQclear(res);
	write_web_metrics(r);
	return http_finish(req);
}
