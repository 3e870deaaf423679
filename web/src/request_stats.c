/*
 * request_stats.c
 *	  Per-route request counts by status class, and a latency histogram,
 *	  in lock-free counters.
 */
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>

#include "request_stats.h"

/* Status classes counted per route: 1xx..5xx. */
#define STATUS_CLASSES 5

/* Latency histogram bounds in seconds (Prometheus "le" labels). */
static const double bucket_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define NBUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

static const char *const *route_names;
static int	nroutes;

static atomic_ullong requests[REQUEST_STATS_MAX_ROUTES][STATUS_CLASSES];
static atomic_ullong latency_buckets[REQUEST_STATS_MAX_ROUTES][NBUCKETS];
static atomic_ullong latency_count[REQUEST_STATS_MAX_ROUTES];
static atomic_ullong latency_sum_us[REQUEST_STATS_MAX_ROUTES];

void
request_stats_init(const char *const *names, int n)
{
	route_names = names;
	nroutes = n < REQUEST_STATS_MAX_ROUTES ? n : REQUEST_STATS_MAX_ROUTES;
}

void
request_stats_record(int route, int status, double seconds)
{
	int			cls = status / 100 - 1;
	size_t		b;

	if (route < 0 || route >= nroutes)
		return;					/* not a route of request_stats_init() */
	/* Outside 1xx..5xx (0 or -1: nothing could be sent) counts as 5xx. */
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

void
request_stats_write(Response *r)
{
	int			route;
	int			cls;
	size_t		b;

	response_puts(r,
				  "# HELP mnemic_web_requests_total HTTP requests served by mnemic-web, by route and status class.\n"
				  "# TYPE mnemic_web_requests_total counter\n");
	for (route = 0; route < nroutes; route++)
		for (cls = 0; cls < STATUS_CLASSES; cls++)
			if (load(&requests[route][cls]) > 0)
				response_printf(r, "mnemic_web_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
								route_names[route], cls + 1,
								load(&requests[route][cls]));

	response_puts(r,
				  "# HELP mnemic_web_request_duration_seconds Time to serve a request, by route.\n"
				  "# TYPE mnemic_web_request_duration_seconds histogram\n");
	for (route = 0; route < nroutes; route++)
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
