/*
 * params.h
 *	  Validation of request parameters before they reach SQL.
 *
 * Values are still passed to PostgreSQL as parameters, never spliced into
 * SQL; checking them here gives a clear 400 for nonsense without a round
 * trip, and bounds what a request can ask for.
 */
#ifndef MNEMIC_WEB_PARAMS_H
#define MNEMIC_WEB_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define TIME_PARAM_MAX		64
#define METRIC_NAME_MAX		1024	/* docs/protocol.md: names <= 1,024 bytes */
#define MAX_METRICS_PER_REQUEST 64
#define MAX_POINTS			100000
#define DEFAULT_POINTS		1000

/* Is s a UUID in canonical text form (either case)? */
extern bool param_is_uuid(const char *s, size_t len);

/*
 * Parse a time parameter: seconds since the epoch ("1700000000.25") are
 * turned into a timestamptz literal in UTC; anything else must look like an
 * ISO 8601 timestamp and is left for PostgreSQL to parse.  Returns false
 * for text that is neither.
 */
extern bool param_time(const char *in, char *out, size_t outlen);

/* Parse a positive integer no larger than max. */
extern bool param_positive_int(const char *in, long max, long *out);

/* Is method one that mnemic.series() knows? */
extern bool param_is_method(const char *method);

#endif							/* MNEMIC_WEB_PARAMS_H */
