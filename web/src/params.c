/*
 * params.c
 *	  Request parameters: uuids, times, counts, methods and metric names,
 *	  read from the query string and checked.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "params.h"

bool
param_is_uuid(const char *s, size_t len)
{
	size_t		i;

	if (len != UUID_TEXT_LEN)
		return false;
	for (i = 0; i < len; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
		}
		else if (!isxdigit((unsigned char) s[i]))
			return false;
	}
	return true;
}

/* Epoch seconds within years 1970..9999, with an optional fraction. */
static bool
epoch_to_timestamptz(const char *in, char *out, size_t outlen)
{
	char	   *end;
	double		secs;
	time_t		whole;
	long		micros;
	struct tm	tm;

	errno = 0;
	secs = strtod(in, &end);
	if (errno != 0 || *end != '\0' || end == in || !isfinite(secs) ||
		secs < 0 || secs > 253402300799.0)
		return false;
	whole = (time_t) floor(secs);
	micros = lround((secs - (double) whole) * 1e6);
	if (micros >= 1000000)
	{
		whole++;
		micros -= 1000000;
	}
	if (gmtime_r(&whole, &tm) == NULL)
		return false;
	snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
	return true;
}

/*
 * Parse a time parameter: seconds since the epoch ("1700000000.25") are
 * turned into a timestamptz literal in UTC; anything else must look like an
 * ISO 8601 timestamp and is left for PostgreSQL to parse.  Returns false
 * for text that is neither.
 */
static bool
param_time(const char *in, char *out, size_t outlen)
{
	const char *p;
	bool		numeric = true;

	if (in == NULL || *in == '\0' || strlen(in) >= TIME_PARAM_MAX ||
		strlen(in) >= outlen)
		return false;
	for (p = in; *p; p++)
		if (!(isdigit((unsigned char) *p) || *p == '.'))
			numeric = false;
	if (numeric)
		return epoch_to_timestamptz(in, out, outlen);

	/* An ISO 8601 timestamp: digits first, then only its punctuation. */
	if (!isdigit((unsigned char) in[0]))
		return false;
	for (p = in; *p; p++)
		if (!(isdigit((unsigned char) *p) || strchr("-:.+TZ ", *p) != NULL))
			return false;
	snprintf(out, outlen, "%s", in);
	return true;
}

/* Parse a positive integer no larger than max. */
static bool
param_positive_int(const char *in, long max, long *out)
{
	char	   *end;
	long		v;

	if (in == NULL || !isdigit((unsigned char) in[0]))
		return false;
	errno = 0;
	v = strtol(in, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > max)
		return false;
	*out = v;
	return true;
}

/* Is method one that mnemic.series() knows? */
static bool
param_is_method(const char *method)
{
	static const char *const methods[] = {"m4", "lttb", "avg", "raw", NULL};
	int			i;

	for (i = 0; methods[i]; i++)
		if (strcmp(method, methods[i]) == 0)
			return true;
	return false;
}

/*
 * An optional time parameter ("from" or "to") into out[TIME_TEXT_LEN];
 * *present says whether it was given.
 */
int
params_read_time(Request *req, const char *name, char *out, bool *present)
{
	char		raw[TIME_TEXT_LEN];
	char		msg[96];
	int			got;

	*present = false;
	if ((got = http_param(req, name, 0, raw, sizeof(raw))) < 0)
		return 400;
	if (!got || !*raw)
		return 0;
	if (!param_time(raw, out, TIME_TEXT_LEN))
	{
		snprintf(msg, sizeof(msg),
				 "%s must be seconds since the epoch or an ISO 8601 time", name);
		return http_error(req, 400, msg);
	}
	*present = true;
	return 0;
}

int
params_read_points(Request *req, char *points)
{
	char		raw[TIME_TEXT_LEN];
	long		n = DEFAULT_POINTS;
	int			got;

	if ((got = http_param(req, "points", 0, raw, sizeof(raw))) < 0)
		return 400;
	if (got && !param_positive_int(raw, MAX_POINTS, &n))
	{
		char		msg[96];

		snprintf(msg, sizeof(msg), "points must be a whole number from 1 to %d",
				 MAX_POINTS);
		return http_error(req, 400, msg);
	}
	snprintf(points, POINTS_TEXT_LEN, "%ld", n);
	return 0;
}

int
params_read_series(Request *req, SeriesParams *p)
{
	int			status;
	int			got;

	if ((status = params_read_time(req, "from", p->from, &p->has_from)) != 0 ||
		(status = params_read_time(req, "to", p->to, &p->has_to)) != 0 ||
		(status = params_read_points(req, p->points)) != 0)
		return status;
	if ((got = http_param(req, "method", 0, p->method, sizeof(p->method))) < 0)
		return 400;
	if (!got)
		snprintf(p->method, sizeof(p->method), "m4");
	else if (!param_is_method(p->method))
		return http_error(req, 400, "method must be one of m4, lttb, avg, raw");
	return 0;
}

/* The weights of mnemic.flamegraph() and the unit of their values. */
static const struct
{
	const char *name;
	const char *unit;
}			weights[] = {
	{"cpu", "seconds"},
	{"wall", "seconds"},
	{"samples", "samples"},
	{"alloc", "bytes"},
	{"inuse", "bytes"},
};

int
params_read_profile(Request *req, const char *default_weight, ProfileParams *p)
{
	int			status;
	int			got;
	size_t		i;

	if ((status = params_read_time(req, "from", p->from, &p->has_from)) != 0 ||
		(status = params_read_time(req, "to", p->to, &p->has_to)) != 0)
		return status;
	if ((got = http_param(req, "weight", 0, p->weight, sizeof(p->weight))) < 0)
		return 400;
	if (!got || !*p->weight)
		snprintf(p->weight, sizeof(p->weight), "%s", default_weight);
	for (i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
		if (strcmp(p->weight, weights[i].name) == 0)
		{
			p->unit = weights[i].unit;
			return 0;
		}
	return http_error(req, 400, "weight must be one of cpu, wall, samples, alloc, inuse");
}

int
params_read_text(Request *req, const char *name, char *buf, size_t buflen,
				 bool *present)
{
	int			got = http_param(req, name, 0, buf, buflen);

	*present = got > 0 && *buf != '\0';
	return got < 0 ? 400 : 0;
}

/* Append s to buf as one element of a text[] literal: "..." with escapes. */
static bool
append_array_element(char *buf, size_t buflen, size_t *len, const char *s)
{
	const char *p;

	if (*len + 4 >= buflen)
		return false;
	if (*len > 1)
		buf[(*len)++] = ',';
	buf[(*len)++] = '"';
	for (p = s; *p; p++)
	{
		if (*len + 4 >= buflen)
			return false;
		if (*p == '"' || *p == '\\')
			buf[(*len)++] = '\\';
		buf[(*len)++] = *p;
	}
	buf[(*len)++] = '"';
	buf[*len] = '\0';
	return true;
}

int
params_read_metric_names(Request *req, char **array_out)
{
	/* Room for the most names of the longest length, every byte escaped. */
	size_t		cap = 2 + MAX_METRICS_PER_REQUEST * (2 * METRIC_NAME_MAX + 3);
	char	   *array;
	char		name[METRIC_NAME_MAX + 1];
	size_t		len;
	size_t		n;
	int			got;

	*array_out = NULL;
	array = malloc(cap + 2);
	if (array == NULL)
		return http_out_of_memory(req);
	array[0] = '{';
	len = 1;
	for (n = 0;; n++)
	{
		got = http_param(req, "metric", n, name, sizeof(name));
		if (got < 0)
		{
			free(array);
			return 400;
		}
		if (got == 0)
			break;
		if (n == MAX_METRICS_PER_REQUEST)
		{
			char		msg[80];

			free(array);
			snprintf(msg, sizeof(msg), "at most %d metric parameters per request",
					 MAX_METRICS_PER_REQUEST);
			return http_error(req, 400, msg);
		}
		append_array_element(array, cap, &len, name);
	}
	if (n == 0)
	{
		free(array);
		return 0;
	}
	array[len++] = '}';
	array[len] = '\0';
	*array_out = array;
	return 0;
}

int
params_read_since(Request *req, char *since)
{
	char		raw[TIME_TEXT_LEN];
	int			got;

	if ((got = http_param(req, "since", 0, raw, sizeof(raw))) < 0)
		return 400;
	if (!got || !param_time(raw, since, TIME_TEXT_LEN))
		return http_error(req, 400,
						  "since is required: seconds since the epoch or an ISO 8601 time");
	return 0;
}

int
params_read_uuid(Request *req, char *uuid)
{
	int			got = http_param(req, "uuid", 0, uuid, UUID_TEXT_LEN + 1);

	if (got < 0)
		return 400;
	if (got == 0 || !param_is_uuid(uuid, strlen(uuid)))
		return http_error(req, 400, "uuid must be a run's uuid");
	return 0;
}

/* An optional text parameter into buf; *out points at it when given. */
static int
read_text(Request *req, const char *name, char *buf, size_t buflen,
		  const char **out)
{
	bool		present;
	int			status = params_read_text(req, name, buf, buflen, &present);

	*out = status == 0 && present ? buf : NULL;
	return status;
}

int
params_read_listing(Request *req, const char *name_param, ListingParams *p)
{
	static const char *const states[] = {"active", "silent", "ended", NULL};
	bool		present;
	int			status;
	const char *c;

	memset(p, 0, sizeof(*p));
	if ((status = read_text(req, name_param, p->name_buf, sizeof(p->name_buf), &p->name)) != 0 ||
		(status = read_text(req, "host", p->host_buf, sizeof(p->host_buf), &p->host)) != 0 ||
		(status = read_text(req, "program", p->program_buf, sizeof(p->program_buf),
							&p->program)) != 0 ||
		(status = read_text(req, "state", p->state_buf, sizeof(p->state_buf), &p->state)) != 0 ||
		(status = read_text(req, "changed_since", p->cursor_buf, sizeof(p->cursor_buf),
							&p->changed_since)) != 0)
		return status;
	if (p->state != NULL)
	{
		int			i;

		for (i = 0; states[i] && strcmp(states[i], p->state) != 0; i++)
			;
		if (states[i] == NULL)
			return http_error(req, 400, "state must be one of active, silent, ended");
	}
	/* mnemic.change_cursor()'s text: checked there, only its alphabet here. */
	for (c = p->changed_since; c != NULL && *c; c++)
		if (!isdigit((unsigned char) *c) && *c != ':')
			return http_error(req, 400,
							  "changed_since must be the cursor of an earlier answer");
	if ((status = params_read_time(req, "from", p->from_buf, &present)) != 0)
		return status;
	p->from = present ? p->from_buf : NULL;
	if ((status = params_read_time(req, "to", p->to_buf, &present)) != 0)
		return status;
	p->to = present ? p->to_buf : NULL;
	return 0;
}

int
params_read_page(Request *req, ListingParams *p)
{
	char		raw[TIME_TEXT_LEN];
	bool		present;
	int			status;
	int			got;

	if ((status = params_read_time(req, "before", p->before_buf, &present)) != 0)
		return status;
	p->before = present ? p->before_buf : NULL;
	if ((got = http_param(req, "before_run", 0, p->before_run_buf,
						  sizeof(p->before_run_buf))) < 0)
		return 400;
	if (got && *p->before_run_buf)
	{
		if (!param_is_uuid(p->before_run_buf, strlen(p->before_run_buf)))
			return http_error(req, 400, "before_run must be a run's uuid");
		if (p->before == NULL)
			return http_error(req, 400, "before_run needs before");
		p->before_run = p->before_run_buf;
	}
	p->limit = DEFAULT_PAGE;
	if ((got = http_param(req, "limit", 0, raw, sizeof(raw))) < 0)
		return 400;
	if (got && !param_positive_int(raw, MAX_PAGE, &p->limit))
	{
		char		msg[80];

		snprintf(msg, sizeof(msg), "limit must be a whole number from 1 to %d", MAX_PAGE);
		return http_error(req, 400, msg);
	}
	if ((got = http_param(req, "unnamed", 0, raw, sizeof(raw))) < 0)
		return 400;
	if (got && (strcmp(raw, "1") == 0 || strcmp(raw, "true") == 0))
		p->unnamed = "true";
	else if (got && strcmp(raw, "0") != 0 && strcmp(raw, "false") != 0 && *raw)
		return http_error(req, 400, "unnamed must be true or false");
	if (p->unnamed != NULL && p->name != NULL)
		return http_error(req, 400, "tracer and unnamed exclude each other");
	return 0;
}
