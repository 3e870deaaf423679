/*
 * run_description.h
 *	  What a run says about itself, and when it says it again.
 *
 * Both wire formats open a run with its description -- binary v1's DESCRIBE,
 * legacy JSON's create_trace_run -- and repeat it, so that a description
 * lost on the way (a backend still starting, say) heals.  The sender
 * (sender.c) owns the description and grows its metric names; the format
 * in use (v1_batch.c or legacy_json.c) reads it and keeps the schedule.
 */
#ifndef DOLON_RUN_DESCRIPTION_H
#define DOLON_RUN_DESCRIPTION_H

#include "compat.h"

#include <stdint.h>

typedef struct RunDescription
{
	uint8_t		run[16];		/* the run's uuid */
	PyObject   *run_text;		/* the same uuid as canonical text */
	PyObject   *tracer;			/* str, each checked by wire_checked_utf8 */
	PyObject   *host;
	PyObject   *program;
	PyObject   *python_version;
	int64_t		start_us;
	uint32_t	pid;
	uint32_t	period_us;
	PyObject   *names;			/* metric names by index, list of str */
	int			nmetrics;
} RunDescription;

/*
 * When to send the description: with the first tick and whenever metrics
 * are added ("due"), and again 1, 2, 4 and 8 s after the previous time, then
 * every interval.  The quick repeats at start heal a lost description within
 * a second instead of a full interval.
 */
typedef struct DescribeSchedule
{
	int64_t		interval_us;
	int64_t		last_us;		/* when it was last sent */
	int			sent;			/* times sent so far */
	int			due;			/* send with the next tick, whenever */
} DescribeSchedule;

static inline void
describe_schedule_init(DescribeSchedule *d, int64_t interval_us)
{
	d->interval_us = interval_us;
	d->last_us = 0;
	d->sent = 0;
	d->due = 1;
}

/* Is the description due at now_us?  Once it is, it stays due until sent. */
static inline int
describe_schedule_due(DescribeSchedule *d, int64_t now_us)
{
	int64_t		wait = d->interval_us;

	if (d->due)
		return 1;
	if (d->sent >= 1 && d->sent <= 4)
	{
		int64_t		backoff = (int64_t) 1000000 << (d->sent - 1);

		if (backoff < wait)
			wait = backoff;
	}
	d->due = now_us - d->last_us >= wait;
	return d->due;
}

static inline void
describe_schedule_sent(DescribeSchedule *d, int64_t now_us)
{
	d->due = 0;
	d->last_us = now_us;
	d->sent++;
}

#endif							/* DOLON_RUN_DESCRIPTION_H */
