/*
 * summary.c
 *	  Per-metric time-bucket summaries maintained on the insert path.
 *
 * Placeholder until the series work fills it in: keeps no summaries.
 */
#include "postgres.h"

#include "summary.h"

void
SummaryAppend(int32 metric_id, const TimestampTz *ts, const double *values,
			  const bool *isnull, int n)
{
}
