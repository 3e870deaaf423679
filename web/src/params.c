/*
 * params.c
 *	  Checks for request parameters: uuids, times, counts, methods.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

bool
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

bool
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

bool
param_is_method(const char *method)
{
	static const char *const methods[] = {"m4", "lttb", "avg", "raw", NULL};
	int			i;

	for (i = 0; methods[i]; i++)
		if (strcmp(method, methods[i]) == 0)
			return true;
	return false;
}
