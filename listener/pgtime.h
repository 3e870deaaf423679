/*
 * pgtime.h
 *	  Conversions between the times the wire carries and PostgreSQL's.
 *
 * The wire counts microseconds since the Unix epoch; a TimestampTz counts
 * them since 2000-01-01.  Intervals here are plain microseconds (no months
 * or days).
 */
#ifndef MNEMIC_PGTIME_H
#define MNEMIC_PGTIME_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/timestamp.h"

/* µs between the Unix epoch and PostgreSQL's (2000-01-01). */
#define UNIX_TO_PG_EPOCH_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/* µs since the Unix epoch to a TimestampTz; false when out of range. */
static inline bool
unix_us_to_timestamptz(int64 us, TimestampTz *out)
{
	/* Every int64 is below END_TIMESTAMP once shifted; only check the floor. */
	if (us < MIN_TIMESTAMP + UNIX_TO_PG_EPOCH_US)
		return false;
	*out = us - UNIX_TO_PG_EPOCH_US;
	return true;
}

/* An interval's length in µs, months counted as 30 days. */
static inline int64
interval_to_us(const Interval *iv)
{
	return iv->time + (int64) iv->day * USECS_PER_DAY +
		(int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;
}

/* An interval of us µs, as a Datum. */
static inline Datum
us_to_interval_datum(int64 us)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = us;
	return IntervalPGetDatum(iv);
}

#endif							/* MNEMIC_PGTIME_H */
