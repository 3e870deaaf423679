/*
 * pgjson.h
 *	  PostgreSQL result values as JSON values, chosen by column type.
 *
 * Numbers stay numbers (NaN and infinities become null), timestamps become
 * ISO 8601 text in UTC ("2024-05-01T12:00:00.5Z"), intervals become seconds,
 * json stays json, and everything else is an escaped string.  Sessions run
 * with DateStyle ISO, TimeZone UTC and IntervalStyle iso_8601 (db.c), which
 * these conversions rely on.
 */
#ifndef MNEMIC_WEB_PGJSON_H
#define MNEMIC_WEB_PGJSON_H

#include <libpq-fe.h>

#include "json_writer.h"

/* One field of a text-format result. */
extern void pgjson_value(JsonWriter *w, const PGresult *res, int row, int col);

/* A row as an object keyed by column name, leaving out column skip (-1: none). */
extern void pgjson_row_object(JsonWriter *w, const PGresult *res, int row,
							  int skip);

/* Column number by name, or -1. */
extern int	pgjson_column(const PGresult *res, const char *name);

/* Seconds since the epoch from timestamptz text; NaN if unparsable. */
extern double pg_timestamptz_to_epoch(const char *text);

/* Seconds in an ISO 8601 interval ("P1DT2H3M4.5S"); NaN if unparsable. */
extern double pg_interval_to_seconds(const char *text);

/* Seconds since the epoch from a binary timestamptz (int64 us since 2000). */
extern double pg_binary_timestamptz_to_epoch(const char *bytes);

/* A float8 from its binary (big-endian IEEE 754) form. */
extern double pg_binary_float8(const char *bytes);

#endif							/* MNEMIC_WEB_PGJSON_H */
