/*
 * pgvalue.c
 *	  PostgreSQL's text and binary forms of timestamps, intervals and
 *	  float8 read into C values.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgvalue.h"

/* Seconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_OFFSET 946684800.0

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

bool
pg_timestamp_to_iso8601(const char *text, bool with_zone, char *buf,
						size_t buflen)
{
	struct tm	tm;
	double		frac;
	int			offset;
	const char *rest;
	time_t		secs;
	size_t		n;

	if (!parse_iso_timestamp(text, &tm, &frac, &offset, &rest) || *rest != '\0')
		return false;
	secs = timegm(&tm) - offset;
	gmtime_r(&secs, &tm);
	n = strftime(buf, buflen, "%Y-%m-%dT%H:%M:%S", &tm);
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
		n += snprintf(buf + n, buflen - n, "%s", f + 1);
	}
	if (with_zone)
		snprintf(buf + n, buflen - n, "Z");
	return true;
}
