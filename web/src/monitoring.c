/*
 * monitoring.c
 *	  What load balancers and Prometheus ask: /healthz, whether the
 *	  database answers, and /metrics in Prometheus text format, the
 *	  listener's counters from mnemic.listener_stats() and this server's
 *	  own request counts and latencies (request_stats.c).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"
#include "pgvalue.h"
#include "request_stats.h"

static const char SQL_LISTENER_STATS[] =
"SELECT * FROM mnemic.listener_stats()";

int
monitoring_healthz(Request *req)
{
	DbError		err;
	Response   *r;
	JsonWriter	w;
	bool		up = db_ping(req->db, &err);

	r = http_begin_json(req, &w);
	r->status = up ? 200 : 503;
	json_begin_object(&w);
	json_key(&w, "status");
	json_string(&w, up ? "ok" : "unavailable");
	json_key(&w, "database");
	/*
	 * /healthz answers without credentials: when the others need them, the
	 * database's own words (host, user, database names) stay in the log.
	 */
	if (!up && (req->config->auth_file != NULL || req->config->auth_token != NULL))
	{
		fprintf(stderr, "mnemic-web: /healthz: %s\n", err.message);
		json_string(&w, "unavailable");
	}
	else
		json_string(&w, up ? "ok" : err.message);
	json_end_object(&w);
	return http_finish_json(req);
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
		strcmp(column, "ingest_keys") == 0 ||
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
monitoring_metrics(Request *req)
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
	request_stats_write(r);
	return http_finish(req);
}
