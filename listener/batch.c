/*
 * batch.c
 *	  Buffering what arrives until the store writes it (batch.h).
 */
#include "postgres.h"

#include <math.h>

#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "batch.h"
#include "pgtime.h"

StoreBatch *
StoreBatchCreate(MemoryContext parent, StoreSummaries summaries)
{
	MemoryContext cxt;
	StoreBatch *batch;

	cxt = AllocSetContextCreate(parent, "mnemic store batch",
								ALLOCSET_DEFAULT_SIZES);
	batch = MemoryContextAllocZero(parent, sizeof(StoreBatch));
	batch->cxt = cxt;
	batch->summaries = summaries;
	return batch;
}

int64
StoreBatchSamples(StoreBatch *batch)
{
	return batch->samples;
}

void
StoreBatchReset(StoreBatch *batch)
{
	MemoryContextReset(batch->cxt);
	batch->runs = NULL;
	batch->last_run = NULL;
	batch->samples = 0;
	batch->bad_timestamps = 0;
}

static RunBuffer *
batch_run(StoreBatch *batch, const pg_uuid_t *uuid, const char *protocol,
		  TimestampTz arrival)
{
	RunBuffer  *rb;
	bool		found;

	if (batch->last_run != NULL &&
		memcmp(batch->last_run->uuid.data, uuid->data, UUID_LEN) == 0)
		rb = batch->last_run;
	else
	{
		if (batch->runs == NULL)
		{
			HASHCTL		ctl;

			memset(&ctl, 0, sizeof(ctl));
			ctl.keysize = sizeof(pg_uuid_t);
			ctl.entrysize = sizeof(RunBuffer);
			ctl.hcxt = batch->cxt;
			batch->runs = hash_create("mnemic batch runs", 64, &ctl,
									  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		rb = hash_search(batch->runs, uuid, HASH_ENTER, &found);
		if (!found)
		{
			memset(((char *) rb) + sizeof(pg_uuid_t), 0,
				   sizeof(RunBuffer) - sizeof(pg_uuid_t));
			rb->protocol = protocol;
			rb->first_arrival = arrival;
			rb->last_arrival = arrival;
		}
		batch->last_run = rb;
	}
	if (arrival < rb->first_arrival)
		rb->first_arrival = arrival;
	if (arrival > rb->last_arrival)
		rb->last_arrival = arrival;
	return rb;
}

static char *
batch_string(StoreBatch *batch, DgString s)
{
	char	   *copy = MemoryContextAlloc(batch->cxt, s.len + 1);

	memcpy(copy, s.ptr, s.len);
	copy[s.len] = '\0';
	return copy;
}

static void
run_set_name(StoreBatch *batch, RunBuffer *rb, int idx, char *name)
{
	if (idx >= rb->names_len)
	{
		int			newlen = Max(idx + 1, Max(16, rb->names_len * 2));

		if (rb->names == NULL)
			rb->names = MemoryContextAllocZero(batch->cxt,
											   newlen * sizeof(char *));
		else
		{
			rb->names = repalloc(rb->names, newlen * sizeof(char *));
			memset(rb->names + rb->names_len, 0,
				   (newlen - rb->names_len) * sizeof(char *));
		}
		rb->names_len = newlen;
	}
	rb->names[idx] = name;
}

static SeriesBuffer *
series_new(StoreBatch *batch, int32 idx, char *name)
{
	SeriesBuffer *sb = MemoryContextAllocZero(batch->cxt, sizeof(SeriesBuffer));

	sb->idx = idx;
	sb->name = name;
	return sb;
}

/* The buffer of metric idx of rb, created on first use. */
static SeriesBuffer *
run_series(StoreBatch *batch, RunBuffer *rb, int idx)
{
	if (idx >= rb->series_len)
	{
		int			newlen = Max(idx + 1, Max(16, rb->series_len * 2));

		if (rb->series == NULL)
			rb->series = MemoryContextAllocZero(batch->cxt,
												newlen * sizeof(SeriesBuffer *));
		else
		{
			rb->series = repalloc(rb->series, newlen * sizeof(SeriesBuffer *));
			memset(rb->series + rb->series_len, 0,
				   (newlen - rb->series_len) * sizeof(SeriesBuffer *));
		}
		rb->series_len = newlen;
	}
	if (rb->series[idx] == NULL)
		rb->series[idx] = series_new(batch, idx, NULL);
	return rb->series[idx];
}

static void
series_reserve(StoreBatch *batch, SeriesBuffer *sb, int64 more)
{
	int64		need = sb->n + more;
	int64		newcap;

	if (need <= sb->cap)
		return;
	newcap = Max(need, Max(64, sb->cap * 2));
	if (sb->ts == NULL)
	{
		sb->ts = MemoryContextAllocHuge(batch->cxt, newcap * sizeof(TimestampTz));
		sb->values = MemoryContextAllocHuge(batch->cxt, newcap * sizeof(double));
		sb->isnull = MemoryContextAllocHuge(batch->cxt, newcap * sizeof(bool));
	}
	else
	{
		sb->ts = repalloc_huge(sb->ts, newcap * sizeof(TimestampTz));
		sb->values = repalloc_huge(sb->values, newcap * sizeof(double));
		sb->isnull = repalloc_huge(sb->isnull, newcap * sizeof(bool));
	}
	sb->cap = newcap;
}

static void
add_describe(StoreBatch *batch, RunBuffer *rb, const DgDescribe *d)
{
	TimestampTz started;

	rb->tracer = batch_string(batch, d->tracer);
	rb->host = batch_string(batch, d->host);
	rb->program = batch_string(batch, d->program);
	rb->python_version = batch_string(batch, d->python_version);
	if (d->pid != 0 && d->pid <= PG_INT32_MAX)
		rb->pid = (int32) d->pid;
	if (d->period_us != 0)
		rb->period_us = d->period_us;
	if (unix_us_to_timestamptz(d->start_us, &started))
	{
		rb->has_started = true;
		rb->started = started;
	}
	for (int i = 0; i < d->metric_count; i++)
		run_set_name(batch, rb, d->first_metric + i,
					 batch_string(batch, d->metrics[i]));
}

/* v1 values: NaN is "not measured" and stored as NULL. */
static void
add_ticks(StoreBatch *batch, RunBuffer *rb, const DgTicks *t)
{
	TimestampTz *ts;
	bool	   *tick_ok = NULL;
	int			nticks = t->tick_count;
	int			nvalues = t->value_count;
	int			nbad = 0;

	ts = palloc(nticks * sizeof(TimestampTz));
	for (int k = 0; k < nticks; k++)
	{
		if (!unix_us_to_timestamptz(t->ts_us[k], &ts[k]))
		{
			if (tick_ok == NULL)
			{
				tick_ok = palloc(nticks * sizeof(bool));
				memset(tick_ok, true, nticks * sizeof(bool));
			}
			tick_ok[k] = false;
			nbad++;
		}
	}

	for (int v = 0; v < nvalues; v++)
	{
		SeriesBuffer *sb = run_series(batch, rb, t->first_metric + v);
		int64		n;

		series_reserve(batch, sb, nticks);
		n = sb->n;
		for (int k = 0; k < nticks; k++)
		{
			double		value = t->values[(size_t) k * nvalues + v];
			bool		null = isnan(value);

			if (tick_ok != NULL && !tick_ok[k])
				continue;
			sb->ts[n] = ts[k];
			sb->values[n] = null ? 0.0 : value;
			sb->isnull[n] = null;
			sb->anynull |= null;
			n++;
		}
		rb->samples += n - sb->n;
		batch->samples += n - sb->n;
		sb->n = n;
	}
	batch->bad_timestamps += (int64) nbad * nvalues;

	pfree(ts);
	if (tick_ok != NULL)
		pfree(tick_ok);
}

/* Legacy values: JSON null is NULL; NaN and the infinities are values. */
static void
add_legacy_row(StoreBatch *batch, RunBuffer *rb, const DgLegacyRow *row,
			   TimestampTz arrival)
{
	for (uint32 v = 0; v < row->value_count; v++)
	{
		SeriesBuffer *sb = run_series(batch, rb, v);
		bool		null = row->isnull != NULL && row->isnull[v];

		series_reserve(batch, sb, 1);
		sb->ts[sb->n] = arrival;
		sb->values[sb->n] = null ? 0.0 : row->values[v];
		sb->isnull[sb->n] = null;
		sb->anynull |= null;
		sb->n++;
	}
	rb->samples += row->value_count;
	batch->samples += row->value_count;
}

/*
 * A profile message; stack samples also give the run's RSS, stored as
 * metric rss_bytes.  A client sends the RSS of one moment with one thread's
 * sample and 0 with the others' (docs/protocol.md), so every non-zero value
 * is a point: the server keeps no memory across batches to find repeats.
 */
static void
add_profile(StoreBatch *batch, RunBuffer *rb, const DgMessage *msg)
{
	const DgProfile *p = &msg->u.profile;
	int64		before;

	if (rb->profile == NULL)
		rb->profile = ProfileBufferCreate();
	before = rb->profile->stack_samples + rb->profile->alloc_samples;
	ProfileBufferAdd(rb->profile, msg->kind, p);
	rb->profile_samples += rb->profile->stack_samples +
		rb->profile->alloc_samples - before;
	batch->samples += rb->profile->stack_samples +
		rb->profile->alloc_samples - before;

	if (msg->kind != DG_STACK_SAMPLES)
		return;
	if (rb->rss == NULL)
		rb->rss = series_new(batch, RSS_METRIC_IDX, (char *) RSS_METRIC_NAME);
	series_reserve(batch, rb->rss, p->count);
	for (uint32 i = 0; i < p->count; i++)
	{
		const DgStackSample *s = &p->e.samples[i];
		SeriesBuffer *sb = rb->rss;
		TimestampTz ts;

		if (s->rss_bytes == 0 || !unix_us_to_timestamptz(s->ts_us, &ts))
			continue;
		sb->ts[sb->n] = ts;
		sb->values[sb->n] = (double) s->rss_bytes;
		sb->isnull[sb->n] = false;
		sb->n++;
		rb->samples++;
		batch->samples++;
	}
}

void
StoreBatchAddDatagram(StoreBatch *batch, const DecodedDatagram *dg,
					  TimestampTz arrival)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(batch->cxt);
	RunBuffer  *rb;

	rb = batch_run(batch, (const pg_uuid_t *) dg->run,
				   dg->format == DG_FORMAT_V1 ? "v1" : "json", arrival);
	rb->datagrams++;
	if (dg->has_seq)
		seq_batch_note(&rb->seq, dg->seq, arrival);

	for (uint32 i = 0; i < dg->message_count; i++)
	{
		const DgMessage *msg = &dg->messages[i];

		switch (msg->kind)
		{
			case DG_DESCRIBE:
				add_describe(batch, rb, &msg->u.describe);
				break;
			case DG_TICKS:
				add_ticks(batch, rb, &msg->u.ticks);
				break;
			case DG_END:
				{
					TimestampTz ended;

					if (unix_us_to_timestamptz(msg->u.end_us, &ended))
					{
						rb->has_ended = true;
						rb->ended = ended;
					}
					break;
				}
			case DG_LEGACY_HEADER:
				{
					const DgLegacyHeader *h = &msg->u.legacy_header;

					rb->tracer = batch_string(batch, h->app_name);
					for (uint32 c = 0; c < h->column_count; c++)
						run_set_name(batch, rb, c,
									 batch_string(batch, h->columns[c]));
					break;
				}
			case DG_LEGACY_ROW:
				add_legacy_row(batch, rb, &msg->u.legacy_row, arrival);
				break;
			case DG_FRAMES:
			case DG_STACKS:
			case DG_THREADS:
			case DG_STACK_SAMPLES:
			case DG_ALLOC_TYPES:
			case DG_ALLOCS:
			case DG_FREES:
				add_profile(batch, rb, msg);
				break;
		}
	}
	MemoryContextSwitchTo(oldcxt);
}

/*
 * Strings in the batch are kept in UTF-8 (what the wire carries) and
 * converted to the server encoding in the flush, where a failure is one run's
 * error and not the caller's.
 */
static char *
to_utf8(StoreBatch *batch, const char *s)
{
	char	   *conv = pg_server_to_any(s, strlen(s), PG_UTF8);

	return MemoryContextStrdup(batch->cxt, conv);
}

void
StoreBatchAddSeries(StoreBatch *batch, const char *tracer,
					const pg_uuid_t *run, const char *metric,
					const TimestampTz *ts, const double *values,
					const bool *isnull, int n)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(batch->cxt);
	TimestampTz first = 0;
	TimestampTz last = 0;
	RunBuffer  *rb;
	SeriesBuffer *sb = NULL;
	char	   *name = to_utf8(batch, metric);
	ListCell   *lc;

	/*
	 * History arrives now but happened when its points say: the run's
	 * first_seen, last_seen and started come from them, so that listings
	 * show when it ran and retention treats old history as old.
	 */
	for (int i = 0; i < n; i++)
	{
		if (i == 0 || ts[i] < first)
			first = ts[i];
		if (i == 0 || ts[i] > last)
			last = ts[i];
	}
	if (n == 0)
		first = last = GetCurrentTimestamp();
	rb = batch_run(batch, run, "import", first);
	rb->last_arrival = Max(rb->last_arrival, last);
	if (!rb->has_started || first < rb->started)
	{
		rb->has_started = true;
		rb->started = first;
	}
	if (tracer != NULL)
		rb->tracer = to_utf8(batch, tracer);

	foreach(lc, rb->named_series)
	{
		SeriesBuffer *candidate = lfirst(lc);

		if (strcmp(candidate->name, name) == 0)
		{
			sb = candidate;
			break;
		}
	}
	if (sb == NULL)
	{
		sb = series_new(batch, -1, name);
		rb->named_series = lappend(rb->named_series, sb);
	}

	series_reserve(batch, sb, n);
	memcpy(sb->ts + sb->n, ts, n * sizeof(TimestampTz));
	memcpy(sb->values + sb->n, values, n * sizeof(double));
	if (isnull != NULL)
	{
		memcpy(sb->isnull + sb->n, isnull, n * sizeof(bool));
		for (int i = 0; i < n && !sb->anynull; i++)
			sb->anynull = isnull[i];
	}
	else
		memset(sb->isnull + sb->n, false, n * sizeof(bool));
	sb->n += n;
	rb->samples += n;
	batch->samples += n;
	MemoryContextSwitchTo(oldcxt);
}

static int
compare_point_order(const void *a, const void *b, void *arg)
{
	const TimestampTz *ts = arg;
	int64		ia = *(const int64 *) a;
	int64		ib = *(const int64 *) b;

	if (ts[ia] != ts[ib])
		return ts[ia] < ts[ib] ? -1 : 1;
	return ia < ib ? -1 : (ia > ib ? 1 : 0);
}

/*
 * Blocks hold their points in time order so they are tight in time; points
 * arrive sorted almost always, so sorting is rare.  Equal times keep their
 * arrival order.
 */
void
SeriesBufferSort(SeriesBuffer *sb)
{
	int64	   *order;
	TimestampTz *ts;
	double	   *values;
	bool	   *isnull;
	int64		i;

	for (i = 1; i < sb->n; i++)
		if (sb->ts[i] < sb->ts[i - 1])
			break;
	if (i >= sb->n)
		return;

	order = palloc_extended(sb->n * sizeof(int64), MCXT_ALLOC_HUGE);
	for (i = 0; i < sb->n; i++)
		order[i] = i;
	qsort_arg(order, sb->n, sizeof(int64), compare_point_order, sb->ts);

	ts = palloc_extended(sb->n * sizeof(TimestampTz), MCXT_ALLOC_HUGE);
	values = palloc_extended(sb->n * sizeof(double), MCXT_ALLOC_HUGE);
	isnull = palloc_extended(sb->n * sizeof(bool), MCXT_ALLOC_HUGE);
	for (i = 0; i < sb->n; i++)
	{
		ts[i] = sb->ts[order[i]];
		values[i] = sb->values[order[i]];
		isnull[i] = sb->isnull[order[i]];
	}
	sb->ts = ts;
	sb->values = values;
	sb->isnull = isnull;
	pfree(order);
}

MemoryContext
StoreBatchContext(StoreBatch *batch)
{
	return batch->cxt;
}

/* The earliest and latest time of a buffered profile's entries. */
static bool
profile_span(const ProfileBuffer *pb, TimestampTz *first, TimestampTz *last)
{
	bool		any = false;

	for (int i = 0; i < pb->samples.n; i++)
	{
		const ProfileSamples *ps = PROFILE_DEF(&pb->samples, ProfileSamples, i);

		for (int64 k = 0; k < ps->n; k++)
		{
			*first = any ? Min(*first, ps->ts[k]) : ps->ts[k];
			*last = any ? Max(*last, ps->ts[k]) : ps->ts[k];
			any = true;
		}
	}
	for (int i = 0; i < pb->allocs.n; i++)
	{
		const ProfileAllocs *pa = PROFILE_DEF(&pb->allocs, ProfileAllocs, i);

		for (int64 k = 0; k < pa->n; k++)
		{
			*first = any ? Min(*first, pa->ts[k]) : pa->ts[k];
			*last = any ? Max(*last, pa->ts[k]) : pa->ts[k];
			any = true;
		}
	}
	return any;
}

void
StoreBatchAddImport(StoreBatch *batch, const char *tracer,
					const pg_uuid_t *run, ProfileBuffer *pb, int64 nrss,
					const TimestampTz *rss_ts, const double *rss)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(batch->cxt);
	TimestampTz first = 0;
	TimestampTz last = 0;
	RunBuffer  *rb;

	/* as StoreBatchAddSeries: history is dated by its points */
	if (!profile_span(pb, &first, &last))
		first = last = GetCurrentTimestamp();
	rb = batch_run(batch, run, "import", first);
	rb->last_arrival = Max(rb->last_arrival, last);
	if (!rb->has_started || first < rb->started)
	{
		rb->has_started = true;
		rb->started = first;
	}
	rb->tracer = to_utf8(batch, tracer);
	rb->has_ended = true;		/* a file holds a whole profile */
	rb->ended = last;
	rb->profile = pb;
	rb->profile_samples += pb->stack_samples + pb->alloc_samples;
	batch->samples += pb->stack_samples + pb->alloc_samples;

	if (nrss > 0)
	{
		if (rb->rss == NULL)
			rb->rss = series_new(batch, RSS_METRIC_IDX, (char *) RSS_METRIC_NAME);
		series_reserve(batch, rb->rss, nrss);
		memcpy(rb->rss->ts + rb->rss->n, rss_ts, nrss * sizeof(TimestampTz));
		memcpy(rb->rss->values + rb->rss->n, rss, nrss * sizeof(double));
		memset(rb->rss->isnull + rb->rss->n, false, nrss * sizeof(bool));
		rb->rss->n += nrss;
		rb->samples += nrss;
		batch->samples += nrss;
	}
	MemoryContextSwitchTo(oldcxt);
}
