/*
 * summary.h
 *	  Per-metric summaries (min, max, first, last, sum, count per time bucket
 *	  at a few resolutions) that let mnemic.series() answer a chart from the
 *	  coarsest level that still gives pixel-exact M4 output.
 *
 * The store calls SummaryAppend() inside the flush's transaction for every
 * block it writes, so summaries are maintained on the insert path.
 */
#ifndef MNEMIC_SUMMARY_H
#define MNEMIC_SUMMARY_H

#include "postgres.h"
#include "datatype/timestamp.h"

/* ts need not be sorted; isnull may be NULL. */
extern void SummaryAppend(int32 metric_id, const TimestampTz *ts,
						  const double *values, const bool *isnull, int n);

#endif							/* MNEMIC_SUMMARY_H */
