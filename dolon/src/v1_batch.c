/*
 * v1_batch.c
 *	  Batching a run's ticks into binary v1 datagrams.
 *
 * The ticks accumulate in one TICKS message until the datagram is full (at
 * most max_datagram bytes, 1,400 by default) or flush_interval has passed
 * since the oldest pending tick.  DESCRIBE rides in the same datagram when
 * it is due (DescribeSchedule), and a due DESCRIBE sends the datagram at
 * once: so the first tick of a run goes out immediately and the run shows
 * up without waiting.  A run too wide for one datagram sends every tick at
 * once, sliced over several TICKS messages.
 *
 * The byte layout itself is wire.c's; this file decides what goes into
 * which datagram and when.
 */
#include "v1_batch.h"

#include <string.h>

#include "wire.h"

/* ------------------------------------------------------------------------
 * The datagram being packed
 * ------------------------------------------------------------------------ */

static void
packer_send(V1Batch *b)
{
	if (b->out_messages == 0)
		return;
	wire_datagram_header(b->out, 0, (uint16_t) b->out_messages, b->run->run,
						 b->seq);
	if (b->sign != NULL)
		b->out_len = sign_datagram(b->sign, b->out, b->out_len);
	udp_send(b->udp, b->out, b->out_len);
	b->seq++;
	b->out_len = V1_HEADER_SIZE;
	b->out_messages = 0;
}

/*
 * Room for a message of len bytes (header included) in the datagram being
 * packed, sending it first if needed.  A message too big for max_datagram on
 * its own goes out alone, in a datagram as large as it needs.
 */
static uint8_t *
packer_reserve(V1Batch *b, size_t len)
{
	uint8_t    *p;

	if (b->out_messages > 0 && b->out_len + len > b->max_datagram)
		packer_send(b);
	if (b->out_len + len >
		DOLON_MAX_DATAGRAM - (b->sign != NULL ? SIGN_TRAILER_BYTES : 0))
		return NULL;
	p = b->out + b->out_len;
	b->out_len += len;
	b->out_messages++;
	return p;
}

/* ------------------------------------------------------------------------
 * DESCRIBE
 * ------------------------------------------------------------------------ */

static int
describe_fixed_size(const RunDescription *run, const char **strs,
					Py_ssize_t *lens)
{
	PyObject   *objs[4] = {run->tracer, run->host, run->program,
	run->python_version};
	int			size = V1_DESCRIBE_FIXED;
	int			i;

	for (i = 0; i < 4; i++)
	{
		strs[i] = PyUnicode_AsUTF8AndSize(objs[i], &lens[i]);
		if (strs[i] == NULL)
			return -1;
		size += 2 + (int) lens[i];
	}
	return size;
}

/* Queue the run description, split over as many messages as it takes. */
static int
queue_describe(V1Batch *b, int64_t now_us)
{
	const RunDescription *run = b->run;
	const char *strs[4];
	Py_ssize_t	lens[4];
	int			fixed = describe_fixed_size(run, strs, lens);
	size_t		room = b->max_datagram - V1_HEADER_SIZE - V1_MSG_HEADER_SIZE;
	int			first = 0;

	if (fixed < 0)
		return -1;
	do
	{
		size_t		body = fixed;
		int			count = 0;
		uint8_t    *p;
		int			i;

		/* as many names as fit, and at least one */
		while (first + count < run->nmetrics)
		{
			Py_ssize_t	len;

			PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(run->names, first + count),
									&len);
			if (count > 0 && body + 2 + len > room)
				break;
			body += 2 + len;
			count++;
		}
		p = packer_reserve(b, V1_MSG_HEADER_SIZE + body);
		if (p == NULL)
			return -1;
		wire_message_header(p, V1_DESCRIBE, (uint16_t) body);
		p += V1_MSG_HEADER_SIZE;
		wire_describe_fixed(p, run->start_us, run->pid, run->period_us,
							(uint16_t) run->nmetrics, (uint16_t) first,
							(uint16_t) count);
		p += V1_DESCRIBE_FIXED;
		for (i = 0; i < 4; i++)
			p += wire_put_str16(p, strs[i], lens[i]);
		for (i = first; i < first + count; i++)
		{
			Py_ssize_t	len;
			const char *name =
				PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(run->names, i), &len);

			p += wire_put_str16(p, name, len);
		}
		first += count;
	} while (first < run->nmetrics);
	describe_schedule_sent(&b->describe, now_us);
	return 0;
}

/* ------------------------------------------------------------------------
 * TICKS
 * ------------------------------------------------------------------------ */

/* Values per TICKS message that one datagram can carry for one tick. */
static int
max_width(V1Batch *b)
{
	return (int) ((b->max_datagram - V1_HEADER_SIZE - V1_MSG_HEADER_SIZE -
				   V1_TICKS_FIXED - 4) / 8);
}

static void
queue_pending_ticks(V1Batch *b)
{
	size_t		body = V1_TICKS_FIXED + b->pending_len;
	uint8_t    *p;

	if (b->pending_ticks == 0)
		return;
	p = packer_reserve(b, V1_MSG_HEADER_SIZE + body);
	if (p != NULL)
	{
		wire_message_header(p, V1_TICKS, (uint16_t) body);
		p += V1_MSG_HEADER_SIZE;
		wire_ticks_fixed(p, b->pending_base_us, 0, (uint16_t) b->pending_width,
						 (uint16_t) b->pending_ticks);
		memcpy(p + V1_TICKS_FIXED, b->pending, b->pending_len);
	}
	b->pending_ticks = 0;
	b->pending_len = 0;
}

/* A run too wide for one datagram: each slice of the tick is a message. */
static void
queue_wide_tick(V1Batch *b, const double *values, int64_t ts_us)
{
	int			nmetrics = b->run->nmetrics;
	int			width = max_width(b);
	int			first;

	for (first = 0; first < nmetrics; first += width)
	{
		int			n = nmetrics - first < width ? nmetrics - first : width;
		size_t		body = V1_TICKS_FIXED + 4 + 8 * (size_t) n;
		uint8_t    *p = packer_reserve(b, V1_MSG_HEADER_SIZE + body);
		int			i;

		if (p == NULL)
			return;
		wire_message_header(p, V1_TICKS, (uint16_t) body);
		p += V1_MSG_HEADER_SIZE;
		wire_ticks_fixed(p, ts_us, (uint16_t) first, (uint16_t) n, 1);
		p += V1_TICKS_FIXED;
		wire_put_u32(p, 0);		/* the one tick is at the base time */
		for (i = 0; i < n; i++)
			wire_put_f64(p + 4 + 8 * i, values[first + i]);
	}
}

static int
append_pending_tick(V1Batch *b, const double *values, int64_t ts_us)
{
	int			nmetrics = b->run->nmetrics;
	size_t		row = 4 + 8 * (size_t) nmetrics;
	int64_t		offset;
	uint8_t    *p;
	int			i;

	if (b->pending_ticks > 0)
	{
		offset = ts_us - b->pending_base_us;
		/* offsets are u32 µs (71 minutes) and never negative */
		if (offset < 0 || offset > 0xFFFFFFFFLL)
		{
			queue_pending_ticks(b);
			packer_send(b);
		}
	}
	if (b->pending_ticks == 0)
	{
		b->pending_base_us = ts_us;
		b->pending_since_us = ts_us;
		b->pending_width = nmetrics;
	}
	if (b->pending_len + row > b->pending_cap)
	{
		size_t		cap = b->max_datagram + row;
		uint8_t    *grown = PyMem_Realloc(b->pending, cap);

		if (grown == NULL)
		{
			PyErr_NoMemory();
			return -1;
		}
		b->pending = grown;
		b->pending_cap = cap;
	}
	p = b->pending + b->pending_len;
	wire_put_u32(p, (uint32_t) (ts_us - b->pending_base_us));
	for (i = 0; i < nmetrics; i++)
		wire_put_f64(p + 4 + 8 * i, values[i]);
	b->pending_len += row;
	b->pending_ticks++;
	return 0;
}

/* Would one more pending tick overflow the datagram (with no DESCRIBE)? */
static int
pending_full(V1Batch *b)
{
	size_t		row = 4 + 8 * (size_t) b->pending_width;

	return V1_HEADER_SIZE + V1_MSG_HEADER_SIZE + V1_TICKS_FIXED +
		b->pending_len + row > b->max_datagram ||
		b->pending_ticks >= 0xFFFF;
}

/* ------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------ */

int
v1_batch_init(V1Batch *b, const RunDescription *run, UdpTarget *udp,
			  size_t max_datagram, int64_t flush_interval_us,
			  int64_t describe_interval_us)
{
	memset(b, 0, sizeof(*b));
	b->run = run;
	b->udp = udp;
	b->max_datagram = max_datagram;
	b->flush_interval_us = flush_interval_us;
	describe_schedule_init(&b->describe, describe_interval_us);
	b->out = PyMem_Malloc(DOLON_MAX_DATAGRAM + SIGN_TRAILER_BYTES);
	if (b->out == NULL)
	{
		PyErr_NoMemory();
		return -1;
	}
	b->out_len = V1_HEADER_SIZE;
	return 0;
}

/*
 * Sign every datagram with key from now on.  The trailer comes out of
 * max_datagram, so that a signed datagram is no larger than an unsigned one
 * would be.
 */
void
v1_batch_sign_with(V1Batch *b, const SignKey *key)
{
	b->sign = key;
	b->max_datagram -= SIGN_TRAILER_BYTES;
}

void
v1_batch_free(V1Batch *b)
{
	PyMem_Free(b->pending);
	PyMem_Free(b->out);
	b->pending = NULL;
	b->out = NULL;
}

/*
 * Metrics are about to be added: send the pending ticks, which have the old
 * width, and describe the run again with the next tick.
 */
void
v1_batch_layout_changing(V1Batch *b)
{
	if (b->pending_ticks > 0)
	{
		queue_pending_ticks(b);
		packer_send(b);
	}
	b->describe.due = 1;
}

/* One tick of run->nmetrics values (at least one) at ts_us. */
int
v1_batch_tick(V1Batch *b, const double *values, int64_t ts_us)
{
	if (b->run->nmetrics > max_width(b))
	{
		if (describe_schedule_due(&b->describe, ts_us))
			queue_describe(b, ts_us);
		queue_wide_tick(b, values, ts_us);
		packer_send(b);
		return 0;
	}
	describe_schedule_due(&b->describe, ts_us);
	if (append_pending_tick(b, values, ts_us) < 0)
		return -1;
	if (b->describe.due || pending_full(b) ||
		ts_us - b->pending_since_us >= b->flush_interval_us)
	{
		if (b->describe.due)
			queue_describe(b, ts_us);
		queue_pending_ticks(b);
		packer_send(b);
	}
	return 0;
}

/* The end of the run: what is pending, then END. */
void
v1_batch_end(V1Batch *b, int64_t ts_us)
{
	uint8_t    *p;

	if (b->describe.due && b->run->nmetrics > 0)
		queue_describe(b, ts_us);
	queue_pending_ticks(b);
	p = packer_reserve(b, V1_MSG_HEADER_SIZE + V1_END_SIZE);
	if (p != NULL)
	{
		wire_message_header(p, V1_END, V1_END_SIZE);
		wire_put_i64(p + V1_MSG_HEADER_SIZE, ts_us);
	}
	packer_send(b);
}

/*
 * A datagram of the run's other messages (the stack sampler's profile),
 * packed by the caller with V1_HEADER_SIZE bytes free at its start: it
 * takes the run's next sequence number, since the server counts loss from
 * one sequence per run, and is signed as the ticks are.  With a key the
 * caller leaves SIGN_TRAILER_BYTES of room after len, and packs no more
 * than v1_batch_room() bytes unless a single message needs more.  Returns
 * the length sent.
 */
size_t
v1_batch_send_datagram(V1Batch *b, uint8_t *datagram, size_t len,
					   uint16_t nmessages)
{
	wire_datagram_header(datagram, 0, nmessages, b->run->run, b->seq);
	if (b->sign != NULL)
		len = sign_datagram(b->sign, datagram, len);
	udp_send(b->udp, datagram, len);
	b->seq++;
	return len;
}

/*
 * What a datagram's header and messages may take: max_datagram less the
 * AUTH trailer when signing (room), and at most, for a single message too
 * large for room (largest).
 */
void
v1_batch_room(const V1Batch *b, size_t *room, size_t *largest)
{
	*room = b->max_datagram;
	*largest = DOLON_MAX_DATAGRAM - (b->sign != NULL ? SIGN_TRAILER_BYTES : 0);
}

/*
 * The run was replaced by a new one (a forked child's): its ticks start
 * over at sequence 0, described afresh; the parent's pending ticks are not
 * the child's to send.
 */
void
v1_batch_restart(V1Batch *b)
{
	b->seq = 0;
	b->pending_ticks = 0;
	b->pending_len = 0;
	b->out_len = V1_HEADER_SIZE;
	b->out_messages = 0;
	describe_schedule_init(&b->describe, b->describe.interval_us);
}
