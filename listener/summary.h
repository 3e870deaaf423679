/*
 * summary.h
 *	  Per-metric summaries (min, max, first, last, sum, count per time bucket
 *	  at a few resolutions) that let mnemic.series() answer a chart from the
 *	  coarsest level that still gives pixel-exact M4 output.
 *
 * The store calls SummaryAppend() with the points of each metric it writes:
 * buckets are merged in memory and written once per transaction, at commit,
 * or at the end of each run's subtransaction when the store asks for it
 * with SummaryWritePending().
 */
#ifndef MNEMIC_SUMMARY_H
#define MNEMIC_SUMMARY_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* ts need not be sorted; isnull may be NULL. */
extern void SummaryAppend(int32 metric_id, const TimestampTz *ts,
						  const double *values, const bool *isnull, int n);

/* Write what the current (sub)transaction appended now, not at commit. */
extern void SummaryWritePending(void);

/*
 * Drop what is accumulated for one metric and not yet written (before its
 * summaries are rebuilt from its blocks, which already hold those points).
 */
extern void SummaryForgetMetric(int32 metric_id);

/*
 * Summary levels: level L has buckets SummaryLevelWidth(L) = 1 ms * 4^L
 * long, aligned on the PostgreSQL epoch.  A metric keeps the levels
 * finest..coarsest of its mnemic.summary_grid row.
 */
#define SUMMARY_MAX_LEVEL 17

static inline int64
SummaryLevelWidth(int level)
{
	return INT64CONST(1000) << (2 * level);
}

#endif							/* MNEMIC_SUMMARY_H */
