/*
 * pgjson.c
 *	  Writing PostgreSQL values as JSON, by type.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgjson.h"

/* Type OIDs from pg_type.dat: stable across PostgreSQL versions. */
#define BOOLOID			16
#define INT8OID			20
#define INT2OID			21
#define INT4OID			23
#define OIDOID			26
#define JSONOID			114
#define FLOAT4OID		700
#define FLOAT8OID		701
#define TIMESTAMPOID	1114
#define TIMESTAMPTZOID	1184
#define INTERVALOID		1186
#define NUMERICOID		1700
#define JSONBOID		3802

/* Seconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_OFFSET 946684800.0

int
pgjson_column(const PGresult *res, const char *name)
{
	return PQfnumber(res, name);
}

/* Parse "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]" (ISO DateStyle). */
static bool
parse_iso_timestamp(const char *s, struct tm *tm, double *frac,
					int *offset_secs, const char **rest)
{
	int			n = 0;
	char	   *end;

	memset(tm, 0, sizeof(*tm));
	if (sscanf(s, "%4d-%2d-%2d%*[ T]%2d:%2d:%2d%n", &tm->tm_year, &tm->tm_mon,
			   &tm->tm_mday, &tm->tm_hour, &tm->tm_min, &tm->tm_sec, &n) != 6)
		return false;
	tm->tm_year -= 1900;
	tm->tm_mon -= 1;
	s += n;
	*frac = 0;
	if (*s == '.')
	{
		*frac = strtod(s, &end);
		s = end;
	}
	*offset_secs = 0;
	if (*s == '+' || *s == '-')
	{
		int			sign = *s == '-' ? -1 : 1;
		int			hh = 0,
					mm = 0;

		if (sscanf(s + 1, "%2d:%2d", &hh, &mm) < 1)
			return false;
		*offset_secs = sign * (hh * 3600 + mm * 60);
		s++;
		while (*s && *s != ' ')
			s++;
	}
	*rest = s;
	return true;
}

double
pg_timestamptz_to_epoch(const char *text)
{
	struct tm	tm;
	double		frac;
	int			offset;
	const char *rest;

	if (!parse_iso_timestamp(text, &tm, &frac, &offset, &rest) || *rest != '\0')
		return NAN;
	return (double) timegm(&tm) + frac - offset;
}

double
pg_interval_to_seconds(const char *text)
{
	const char *p = text;
	double		total = 0;
	bool		in_time = false;

	if (*p++ != 'P')
		return NAN;
	while (*p)
	{
		char	   *end;
		double		v;

		if (*p == 'T')
		{
			in_time = true;
			p++;
			continue;
		}
		v = strtod(p, &end);
		if (end == p)
			return NAN;
		switch (*end)
		{
			case 'Y':
				total += v * 365.25 * 86400;
				break;
			case 'M':
				total += in_time ? v * 60 : v * 30 * 86400;
				break;
			case 'W':
				total += v * 7 * 86400;
				break;
			case 'D':
				total += v * 86400;
				break;
			case 'H':
				total += v * 3600;
				break;
			case 'S':
				total += v;
				break;
			default:
				return NAN;
		}
		p = end + 1;
	}
	return total;
}

double
pg_binary_timestamptz_to_epoch(const char *b)
{
	uint64_t	u = 0;
	int			i;

	for (i = 0; i < 8; i++)
		u = (u << 8) | (unsigned char) b[i];
	if ((int64_t) u == INT64_MAX || (int64_t) u == INT64_MIN)
		return NAN;				/* 'infinity' */
	return (double) (int64_t) u / 1e6 + PG_EPOCH_OFFSET;
}

double
pg_binary_float8(const char *b)
{
	uint64_t	u = 0;
	double		d;
	int			i;

	for (i = 0; i < 8; i++)
		u = (u << 8) | (unsigned char) b[i];
	memcpy(&d, &u, sizeof(d));
	return d;
}

/* Timestamps as ISO 8601 in UTC, which JavaScript's Date parses. */
static void
write_timestamp(JsonWriter *w, const char *text, bool with_zone)
{
	struct tm	tm;
	double		frac;
	int			offset;
	const char *rest;
	char		buf[64];
	time_t		secs;
	size_t		n;

	if (!parse_iso_timestamp(text, &tm, &frac, &offset, &rest) || *rest != '\0')
	{
		json_string(w, text);	/* infinity, BC dates: keep PostgreSQL's text */
		return;
	}
	secs = timegm(&tm) - offset;
	gmtime_r(&secs, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac > 0)
	{
		char		f[16];

		snprintf(f, sizeof(f), "%.6f", frac);
		/* "0.500000" -> ".5" */
		{
			size_t		flen = strlen(f);

			while (flen > 2 && f[flen - 1] == '0')
				f[--flen] = '\0';
		}
		n += snprintf(buf + n, sizeof(buf) - n, "%s", f + 1);
	}
	if (with_zone)
		snprintf(buf + n, sizeof(buf) - n, "Z");
	json_string(w, buf);
}

void
pgjson_value(JsonWriter *w, const PGresult *res, int row, int col)
{
	const char *text;

	if (PQgetisnull(res, row, col))
	{
		json_null(w);
		return;
	}
	text = PQgetvalue(res, row, col);
	switch (PQftype(res, col))
	{
		case BOOLOID:
			json_bool(w, text[0] == 't');
			break;
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			json_number_text(w, text);
			break;
		case TIMESTAMPTZOID:
			write_timestamp(w, text, true);
			break;
		case TIMESTAMPOID:
			write_timestamp(w, text, false);
			break;
		case INTERVALOID:
			json_double(w, pg_interval_to_seconds(text));
			break;
		case JSONOID:
		case JSONBOID:
			/* Already JSON, produced by PostgreSQL. */
			json_raw(w, text);
			break;
		default:
			json_string(w, text);
			break;
	}
}

void
pgjson_row_object(JsonWriter *w, const PGresult *res, int row, int skip)
{
	int			col;

	json_begin_object(w);
	for (col = 0; col < PQnfields(res); col++)
	{
		if (col == skip)
			continue;
		json_key(w, PQfname(res, col));
		pgjson_value(w, res, row, col);
	}
	json_end_object(w);
}
