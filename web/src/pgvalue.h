/*
 * pgvalue.h
 *	  PostgreSQL values in C: the text forms a session prints and the binary
 *	  forms of the two types the series statements ask for in binary.
 *
 * The text conversions rely on the settings every session runs with
 * (DateStyle ISO, TimeZone UTC, IntervalStyle iso_8601; see db.c).
 */
#ifndef MNEMIC_WEB_PGVALUE_H
#define MNEMIC_WEB_PGVALUE_H

#include <stdbool.h>
#include <stddef.h>

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

/* Seconds since the epoch from timestamptz text; NaN if unparsable. */
extern double pg_timestamptz_to_epoch(const char *text);

/*
 * timestamp or timestamptz text as ISO 8601 in UTC, which JavaScript's Date
 * parses ("2024-05-01T12:00:00.5", with a "Z" when with_zone).  False for
 * text it cannot read (infinity, BC dates).
 */
extern bool pg_timestamp_to_iso8601(const char *text, bool with_zone,
									char *buf, size_t buflen);

/* Seconds in an ISO 8601 interval ("P1DT2H3M4.5S"); NaN if unparsable. */
extern double pg_interval_to_seconds(const char *text);

/* Seconds since the epoch from a binary timestamptz (int64 us since 2000). */
extern double pg_binary_timestamptz_to_epoch(const char *bytes);

/* A float8 from its binary (big-endian IEEE 754) form. */
extern double pg_binary_float8(const char *bytes);

#endif							/* MNEMIC_WEB_PGVALUE_H */
