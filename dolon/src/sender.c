/*
 * sender.c
 *	  One traced run on the wire: the metric layout, the values of each tick,
 *	  batching ticks into datagrams and sending them over UDP.
 *
 * Per tick the Python layer makes one call, tick(ts_us, external_values):
 * the built-in measurements and the @profiler statistics are read here, the
 * values from user profiler functions come in the list.  In binary v1 the
 * ticks accumulate in one TICKS message until the datagram is full (at most
 * max_datagram bytes, 1,400 by default) or flush_interval has passed since
 * the oldest pending tick; the first tick of a run goes out at once so that
 * the run shows up immediately.  DESCRIBE is sent with the first datagram,
 * again after 1, 2, 4 and 8 s, then every describe_interval, and whenever
 * metrics are added.  In legacy
 * JSON mode every tick is one "row" datagram, as dolon 0.2.0 sent them.
 *
 * Sending never blocks and never raises: the socket is non-blocking, and
 * errors (no listener, ICMP unreachable, full buffers) are counted only.
 */
#include "sender.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <structmember.h>

#include "clock.h"
#include "procstat.h"
#include "profile_stats.h"
#include "wire.h"

typedef enum SourceKind
{
	SOURCE_BUILTIN,				/* code: BuiltinMetric */
	SOURCE_PROFILE,				/* code: ProfileStatistic of stats */
	SOURCE_EXTERNAL				/* code: index into the tick's value list */
} SourceKind;

typedef struct MetricSource
{
	SourceKind	kind;
	int			code;
	ProfileStats *stats;		/* SOURCE_PROFILE only; strong reference */
} MetricSource;

typedef struct Sender
{
	PyObject_HEAD
	int			fd;
	struct sockaddr_storage addr;
	socklen_t	addrlen;
	int			json;			/* legacy JSON protocol */
	uint8_t		run[16];
	PyObject   *run_text;		/* canonical uuid text, for JSON */
	uint32_t	seq;

	/* run description */
	PyObject   *tracer;
	PyObject   *host;
	PyObject   *program;
	PyObject   *python_version;
	int64_t		start_us;
	uint32_t	pid;
	uint32_t	period_us;

	/* metric layout */
	PyObject   *names;			/* list of str */
	MetricSource *sources;
	int			nmetrics;
	int			nexternal;
	double	   *values;			/* the last tick's values */
	Sampler    *sampler;

	/* batching */
	size_t		max_datagram;
	int64_t		flush_interval_us;
	int64_t		describe_interval_us;
	int64_t		last_describe_us;
	int			describes_sent;
	int			describe_due;
	int			ended;
	int64_t		pending_base_us;
	int64_t		pending_since_us;
	int			pending_ticks;
	int			pending_width;	/* values per pending tick */
	uint8_t    *pending;		/* tick rows: u32 offset + width f64 */
	size_t		pending_len;
	size_t		pending_cap;

	/* the datagram being packed */
	uint8_t		out[DOLON_MAX_DATAGRAM];
	size_t		out_len;
	int			out_messages;

	/* counters */
	uint64_t	ticks;
	uint64_t	datagrams;
	uint64_t	send_errors;
	uint64_t	bytes_sent;
	int64_t		last_tick_ns;	/* C-side cost of the last tick */
} Sender;

/* ------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------ */

static void
send_bytes(Sender *s, const uint8_t *buf, size_t len)
{
	ssize_t		n;

	if (s->fd < 0)
		return;
	n = sendto(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (struct sockaddr *) &s->addr, s->addrlen);
	s->datagrams++;
	if (n < 0)
		s->send_errors++;
	else
		s->bytes_sent += (uint64_t) n;
}

static void
packer_send(Sender *s)
{
	if (s->out_messages == 0)
		return;
	wire_datagram_header(s->out, 0, (uint16_t) s->out_messages, s->run, s->seq);
	send_bytes(s, s->out, s->out_len);
	s->seq++;
	s->out_len = V1_HEADER_SIZE;
	s->out_messages = 0;
}

/*
 * Room for a message of len bytes (header included) in the datagram being
 * packed, sending it first if needed.  A message too big for max_datagram on
 * its own goes out alone, in a datagram as large as it needs.
 */
static uint8_t *
packer_reserve(Sender *s, size_t len)
{
	uint8_t    *p;

	if (s->out_messages > 0 && s->out_len + len > s->max_datagram)
		packer_send(s);
	if (s->out_len + len > sizeof(s->out))
		return NULL;
	p = s->out + s->out_len;
	s->out_len += len;
	s->out_messages++;
	return p;
}

/* ------------------------------------------------------------------------
 * DESCRIBE, TICKS, END
 * ------------------------------------------------------------------------ */

static int
describe_fixed_size(Sender *s, const char **strs, Py_ssize_t *lens)
{
	PyObject   *objs[4] = {s->tracer, s->host, s->program, s->python_version};
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
queue_describe(Sender *s, int64_t now_us)
{
	const char *strs[4];
	Py_ssize_t	lens[4];
	int			fixed = describe_fixed_size(s, strs, lens);
	size_t		room = s->max_datagram - V1_HEADER_SIZE - V1_MSG_HEADER_SIZE;
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
		while (first + count < s->nmetrics)
		{
			Py_ssize_t	len;

			PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(s->names, first + count),
									&len);
			if (count > 0 && body + 2 + len > room)
				break;
			body += 2 + len;
			count++;
		}
		p = packer_reserve(s, V1_MSG_HEADER_SIZE + body);
		if (p == NULL)
			return -1;
		wire_message_header(p, V1_DESCRIBE, (uint16_t) body);
		p += V1_MSG_HEADER_SIZE;
		wire_describe_fixed(p, s->start_us, s->pid, s->period_us,
							(uint16_t) s->nmetrics, (uint16_t) first,
							(uint16_t) count);
		p += V1_DESCRIBE_FIXED;
		for (i = 0; i < 4; i++)
			p += wire_put_str16(p, strs[i], lens[i]);
		for (i = first; i < first + count; i++)
		{
			Py_ssize_t	len;
			const char *name =
				PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(s->names, i), &len);

			p += wire_put_str16(p, name, len);
		}
		first += count;
	} while (first < s->nmetrics);
	s->describe_due = 0;
	s->last_describe_us = now_us;
	s->describes_sent++;
	return 0;
}

/*
 * When the description is due again: 1, 2, 4, 8 s after the previous ones,
 * then every describe_interval.  A description lost at start (a backend
 * still starting, say) heals within a second instead of a full interval.
 */
static int
describe_is_due(Sender *s, int64_t now_us)
{
	int64_t		wait = s->describe_interval_us;

	if (s->describe_due)
		return 1;
	if (s->describes_sent >= 1 && s->describes_sent <= 4)
	{
		int64_t		backoff = (int64_t) 1000000 << (s->describes_sent - 1);

		if (backoff < wait)
			wait = backoff;
	}
	return now_us - s->last_describe_us >= wait;
}

/* Values per TICKS message that one datagram can carry for one tick. */
static int
max_width(Sender *s)
{
	return (int) ((s->max_datagram - V1_HEADER_SIZE - V1_MSG_HEADER_SIZE -
				   V1_TICKS_FIXED - 4) / 8);
}

static void
queue_pending_ticks(Sender *s)
{
	size_t		body = V1_TICKS_FIXED + s->pending_len;
	uint8_t    *p;

	if (s->pending_ticks == 0)
		return;
	p = packer_reserve(s, V1_MSG_HEADER_SIZE + body);
	if (p != NULL)
	{
		wire_message_header(p, V1_TICKS, (uint16_t) body);
		p += V1_MSG_HEADER_SIZE;
		wire_ticks_fixed(p, s->pending_base_us, 0, (uint16_t) s->pending_width,
						 (uint16_t) s->pending_ticks);
		memcpy(p + V1_TICKS_FIXED, s->pending, s->pending_len);
	}
	s->pending_ticks = 0;
	s->pending_len = 0;
}

/* A run too wide for one datagram: each slice of the tick is a message. */
static void
queue_wide_tick(Sender *s, int64_t ts_us)
{
	int			width = max_width(s);
	int			first;

	for (first = 0; first < s->nmetrics; first += width)
	{
		int			n = s->nmetrics - first < width ? s->nmetrics - first : width;
		size_t		body = V1_TICKS_FIXED + 4 + 8 * (size_t) n;
		uint8_t    *p = packer_reserve(s, V1_MSG_HEADER_SIZE + body);
		int			i;

		if (p == NULL)
			return;
		wire_message_header(p, V1_TICKS, (uint16_t) body);
		p += V1_MSG_HEADER_SIZE;
		wire_ticks_fixed(p, ts_us, (uint16_t) first, (uint16_t) n, 1);
		p += V1_TICKS_FIXED;
		wire_put_u32(p, 0);		/* the one tick is at the base time */
		for (i = 0; i < n; i++)
			wire_put_f64(p + 4 + 8 * i, s->values[first + i]);
	}
}

static void
sender_flush_v1(Sender *s, int64_t now_us)
{
	if (s->describe_due)
		queue_describe(s, now_us);
	queue_pending_ticks(s);
	packer_send(s);
}

static int
append_pending_tick(Sender *s, int64_t ts_us)
{
	size_t		row = 4 + 8 * (size_t) s->nmetrics;
	int64_t		offset;
	uint8_t    *p;
	int			i;

	if (s->pending_ticks > 0)
	{
		offset = ts_us - s->pending_base_us;
		/* offsets are u32 µs (71 minutes) and never negative */
		if (offset < 0 || offset > 0xFFFFFFFFLL)
		{
			queue_pending_ticks(s);
			packer_send(s);
		}
	}
	if (s->pending_ticks == 0)
	{
		s->pending_base_us = ts_us;
		s->pending_since_us = ts_us;
		s->pending_width = s->nmetrics;
	}
	if (s->pending_len + row > s->pending_cap)
	{
		size_t		cap = s->max_datagram + row;
		uint8_t    *grown = PyMem_Realloc(s->pending, cap);

		if (grown == NULL)
		{
			PyErr_NoMemory();
			return -1;
		}
		s->pending = grown;
		s->pending_cap = cap;
	}
	p = s->pending + s->pending_len;
	wire_put_u32(p, (uint32_t) (ts_us - s->pending_base_us));
	for (i = 0; i < s->nmetrics; i++)
		wire_put_f64(p + 4 + 8 * i, s->values[i]);
	s->pending_len += row;
	s->pending_ticks++;
	return 0;
}

/* Would one more pending tick overflow the datagram (with no DESCRIBE)? */
static int
pending_full(Sender *s)
{
	size_t		row = 4 + 8 * (size_t) s->pending_width;

	return V1_HEADER_SIZE + V1_MSG_HEADER_SIZE + V1_TICKS_FIXED +
		s->pending_len + row > s->max_datagram ||
		s->pending_ticks >= 0xFFFF;
}

/* ------------------------------------------------------------------------
 * Legacy JSON rows
 * ------------------------------------------------------------------------ */

static size_t
json_put_number(char *p, double v)
{
	char	   *text;
	size_t		len;

	/* a value not measured is null; the listener stores it as SQL NULL */
	if (isnan(v))
	{
		memcpy(p, "null", 4);
		return 4;
	}
	if (isinf(v))
	{
		len = v > 0 ? 8 : 9;
		memcpy(p, v > 0 ? "Infinity" : "-Infinity", len);
		return len;
	}
	text = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
	if (text == NULL)
	{
		PyErr_Clear();
		memcpy(p, "null", 4);
		return 4;
	}
	len = strlen(text);
	memcpy(p, text, len);
	PyMem_Free(text);
	return len;
}

static void
send_json_row(Sender *s)
{
	Py_ssize_t	uuid_len;
	const char *uuid = PyUnicode_AsUTF8AndSize(s->run_text, &uuid_len);
	char	   *p = (char *) s->out;
	char	   *limit = (char *) s->out + sizeof(s->out) - 64 - uuid_len;
	int			i;

	if (uuid == NULL)
	{
		PyErr_Clear();
		return;
	}
	p += sprintf(p, "{\"msg_type\": \"row\", \"row_data\": [");
	for (i = 0; i < s->nmetrics && p < limit; i++)
	{
		if (i > 0)
		{
			*p++ = ',';
			*p++ = ' ';
		}
		p += json_put_number(p, s->values[i]);
	}
	p += sprintf(p, "], \"uuid\": \"%.*s\"}", (int) uuid_len, uuid);
	send_bytes(s, s->out, (size_t) (p - (char *) s->out));
}

/* ------------------------------------------------------------------------
 * Python methods
 * ------------------------------------------------------------------------ */

static int
sender_add_source(Sender *s, PyObject *name, SourceKind kind, int code,
				  ProfileStats *stats)
{
	Py_ssize_t	len;
	MetricSource *grown;
	double	   *values;

	if (s->nmetrics >= DOLON_MAX_METRICS)
	{
		PyErr_Format(PyExc_ValueError, "a run has at most %d metrics",
					 DOLON_MAX_METRICS);
		return -1;
	}
	if (wire_checked_utf8(name, &len, "metric name") == NULL)
		return -1;
	grown = PyMem_Realloc(s->sources, sizeof(MetricSource) * (s->nmetrics + 1));
	if (grown == NULL)
	{
		PyErr_NoMemory();
		return -1;
	}
	s->sources = grown;
	values = PyMem_Realloc(s->values, sizeof(double) * (s->nmetrics + 1));
	if (values == NULL)
	{
		PyErr_NoMemory();
		return -1;
	}
	s->values = values;
	if (PyList_Append(s->names, name) < 0)
		return -1;

	/* pending ticks have the old width: send them before the layout grows */
	if (!s->json && s->pending_ticks > 0)
	{
		queue_pending_ticks(s);
		packer_send(s);
	}
	s->sources[s->nmetrics].kind = kind;
	s->sources[s->nmetrics].code = code;
	s->sources[s->nmetrics].stats = stats;
	Py_XINCREF(stats);
	s->values[s->nmetrics] = NAN;
	s->nmetrics++;
	s->describe_due = 1;
	return 0;
}

static PyObject *
sender_add_builtin(Sender *s, PyObject *args)
{
	PyObject   *name;
	int			code;

	if (!PyArg_ParseTuple(args, "Ui:add_builtin", &name, &code))
		return NULL;
	if (code <= 0 || code >= BUILTIN_LAST)
		return PyErr_Format(PyExc_ValueError, "unknown built-in metric %d",
							code);
	if (sender_add_source(s, name, SOURCE_BUILTIN, code, NULL) < 0)
		return NULL;
	return PyLong_FromLong(s->nmetrics - 1);
}

static PyObject *
sender_add_profile(Sender *s, PyObject *args)
{
	PyObject   *name;
	PyObject   *stats;
	int			which;
	DolonState *st = PyType_GetModuleState(Py_TYPE(s));

	if (!PyArg_ParseTuple(args, "UOi:add_profile", &name, &stats, &which))
		return NULL;
	if (st == NULL || !Py_IS_TYPE(stats, st->profiles.stats_type))
		return PyErr_Format(PyExc_TypeError, "add_profile needs ProfileStats");
	if (which < PROFILE_HITS || which > PROFILE_AVERAGE)
		return PyErr_Format(PyExc_ValueError, "unknown statistic %d", which);
	if (sender_add_source(s, name, SOURCE_PROFILE, which,
						  (ProfileStats *) stats) < 0)
		return NULL;
	return PyLong_FromLong(s->nmetrics - 1);
}

static PyObject *
sender_add_external(Sender *s, PyObject *args)
{
	PyObject   *name;

	if (!PyArg_ParseTuple(args, "U:add_external", &name))
		return NULL;
	if (sender_add_source(s, name, SOURCE_EXTERNAL, s->nexternal, NULL) < 0)
		return NULL;
	s->nexternal++;
	return PyLong_FromLong(s->nmetrics - 1);
}

static double
external_value(PyObject *item)
{
	double		d;

	if (PyFloat_CheckExact(item))
		return PyFloat_AS_DOUBLE(item);
	if (item == Py_None)
		return NAN;
	d = PyFloat_AsDouble(item);
	if (d == -1.0 && PyErr_Occurred())
	{
		PyErr_Clear();
		return NAN;
	}
	return d;
}

static void
compute_values(Sender *s, PyObject *external)
{
	Py_ssize_t	nexternal = external != NULL ? PyList_GET_SIZE(external) : 0;
	int			i;

	for (i = 0; i < s->nmetrics; i++)
	{
		MetricSource *src = &s->sources[i];
		double		v = NAN;

		switch (src->kind)
		{
			case SOURCE_BUILTIN:
				v = sampler_read(s->sampler, src->code);
				break;
			case SOURCE_PROFILE:
				v = profile_stats_read(src->stats, src->code);
				break;
			case SOURCE_EXTERNAL:
				if (src->code < nexternal)
					v = external_value(PyList_GET_ITEM(external, src->code));
				break;
		}
		s->values[i] = v;
	}
}

/* tick(ts_us, external_values): measure, queue, and send when due. */
static PyObject *
sender_tick(Sender *s, PyObject *const *args, Py_ssize_t nargs)
{
	int64_t		started = dolon_monotonic_ns();
	int64_t		ts_us;
	PyObject   *external;

	if (nargs != 2 || !PyList_Check(args[1]))
		return PyErr_Format(PyExc_TypeError,
							"tick(ts_us, external_values: list)");
	ts_us = PyLong_AsLongLong(args[0]);
	if (ts_us == -1 && PyErr_Occurred())
		return NULL;
	external = args[1];
	if (s->ended)
		return PyErr_Format(PyExc_RuntimeError, "the run has ended");

	compute_values(s, external);
	s->ticks++;
	if (s->nmetrics == 0)
		;						/* nothing to say yet */
	else if (s->json)
		send_json_row(s);
	else if (s->nmetrics > max_width(s))
	{
		if (describe_is_due(s, ts_us))
			queue_describe(s, ts_us);
		queue_wide_tick(s, ts_us);
		packer_send(s);
	}
	else
	{
		if (describe_is_due(s, ts_us))
			s->describe_due = 1;
		if (append_pending_tick(s, ts_us) < 0)
			return NULL;
		if (s->ticks == 1 || s->describe_due || pending_full(s) ||
			ts_us - s->pending_since_us >= s->flush_interval_us)
			sender_flush_v1(s, ts_us);
	}
	s->last_tick_ns = dolon_monotonic_ns() - started;
	Py_RETURN_NONE;
}

/* end(ts_us): send what is pending, then END.  Idempotent. */
static PyObject *
sender_end(Sender *s, PyObject *arg)
{
	int64_t		ts_us = PyLong_AsLongLong(arg);
	uint8_t    *p;

	if (ts_us == -1 && PyErr_Occurred())
		return NULL;
	if (s->ended || s->json)
	{
		s->ended = 1;
		Py_RETURN_NONE;
	}
	if (s->describe_due && s->nmetrics > 0)
		queue_describe(s, ts_us);
	queue_pending_ticks(s);
	p = packer_reserve(s, V1_MSG_HEADER_SIZE + V1_END_SIZE);
	if (p != NULL)
	{
		wire_message_header(p, V1_END, V1_END_SIZE);
		wire_put_i64(p + V1_MSG_HEADER_SIZE, ts_us);
	}
	packer_send(s);
	s->ended = 1;
	Py_RETURN_NONE;
}

/* send_raw(bytes): one datagram as it is (the legacy JSON header). */
static PyObject *
sender_send_raw(Sender *s, PyObject *arg)
{
	if (!PyBytes_Check(arg))
		return PyErr_Format(PyExc_TypeError, "send_raw needs bytes");
	send_bytes(s, (const uint8_t *) PyBytes_AS_STRING(arg),
			   (size_t) PyBytes_GET_SIZE(arg));
	Py_RETURN_NONE;
}

static PyObject *
sender_close(Sender *s, PyObject *unused)
{
	if (s->fd >= 0)
	{
		close(s->fd);
		s->fd = -1;
	}
	Py_RETURN_NONE;
}

static PyObject *
sender_get_values(Sender *s, void *closure)
{
	PyObject   *list = PyList_New(s->nmetrics);
	int			i;

	if (list == NULL)
		return NULL;
	for (i = 0; i < s->nmetrics; i++)
	{
		PyObject   *v = isnan(s->values[i]) ? Py_NewRef(Py_None) :
			PyFloat_FromDouble(s->values[i]);

		if (v == NULL)
		{
			Py_DECREF(list);
			return NULL;
		}
		PyList_SET_ITEM(list, i, v);
	}
	return list;
}

static PyObject *
sender_get_names(Sender *s, void *closure)
{
	return PyList_GetSlice(s->names, 0, s->nmetrics);
}

static PyObject *
sender_get_counters(Sender *s, void *closure)
{
	return Py_BuildValue("{sKsKsKsKsIsd}",
						 "ticks", (unsigned long long) s->ticks,
						 "datagrams", (unsigned long long) s->datagrams,
						 "send_errors", (unsigned long long) s->send_errors,
						 "bytes_sent", (unsigned long long) s->bytes_sent,
						 "seq", (unsigned int) s->seq,
						 "last_tick_us", s->last_tick_ns / 1000.0);
}

static PyMethodDef sender_methods[] = {
	{"add_builtin", (PyCFunction) sender_add_builtin, METH_VARARGS,
	"add_builtin(name, code) -> index: a metric read from /proc"},
	{"add_profile", (PyCFunction) sender_add_profile, METH_VARARGS,
	"add_profile(name, stats, which) -> index: 0 hits, 1 active, 2 average"},
	{"add_external", (PyCFunction) sender_add_external, METH_VARARGS,
	"add_external(name) -> index: a value passed to tick()"},
	{"tick", (PyCFunction) (void (*) (void)) sender_tick, METH_FASTCALL,
	"tick(ts_us, external_values): measure one tick and send when due"},
	{"end", (PyCFunction) sender_end, METH_O,
	"end(ts_us): flush, then send END (v1)"},
	{"send_raw", (PyCFunction) sender_send_raw, METH_O, NULL},
	{"close", (PyCFunction) sender_close, METH_NOARGS, NULL},
	{NULL}
};

static PyGetSetDef sender_getset[] = {
	{"values", (getter) sender_get_values, NULL,
	"the last tick's values (None when not measured)", NULL},
	{"names", (getter) sender_get_names, NULL, "metric names by index", NULL},
	{"counters", (getter) sender_get_counters, NULL, NULL, NULL},
	{NULL}
};

static PyMemberDef sender_members[] = {
	{"metric_count", T_INT, offsetof(Sender, nmetrics), READONLY, NULL},
	{NULL}
};

static int
open_socket(Sender *s, const char *ip, int port)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *) &s->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &s->addr;
	int			family;

	memset(&s->addr, 0, sizeof(s->addr));
	if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1)
	{
		family = AF_INET;
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t) port);
		s->addrlen = sizeof(*in4);
	}
	else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
	{
		family = AF_INET6;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t) port);
		s->addrlen = sizeof(*in6);
	}
	else
	{
		PyErr_Format(PyExc_ValueError,
					 "%s is not a numeric IPv4 or IPv6 address", ip);
		return -1;
	}
	s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
	{
		PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	return 0;
}

static PyObject *
sender_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"ip", "port", "run", "run_text", "tracer",
		"host", "program", "python_version", "pid", "period_us", "start_us",
		"sampler", "protocol", "max_datagram", "flush_interval_us",
	"describe_interval_us", NULL};
	DolonState *st = PyType_GetModuleState(type);
	const char *ip;
	int			port;
	Py_buffer	run;
	PyObject   *run_text,
			   *tracer,
			   *host,
			   *program,
			   *pyver,
			   *sampler;
	unsigned int pid,
				period_us;
	long long	start_us;
	const char *protocol = "v1";
	Py_ssize_t	max_datagram = 1400;
	long long	flush_interval_us = 1000000;
	long long	describe_interval_us = 10000000;
	Sender	   *s;
	Py_ssize_t	len;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs,
									 "siy*UUUUUIILO!|snLL:Sender", kwlist,
									 &ip, &port, &run, &run_text, &tracer,
									 &host, &program, &pyver, &pid,
									 &period_us, &start_us,
									 st->sampler_type, &sampler, &protocol,
									 &max_datagram, &flush_interval_us,
									 &describe_interval_us))
		return NULL;
	if (run.len != 16)
	{
		PyBuffer_Release(&run);
		return PyErr_Format(PyExc_ValueError, "run must be 16 bytes");
	}
	if (strcmp(protocol, "v1") != 0 && strcmp(protocol, "json") != 0)
	{
		PyBuffer_Release(&run);
		return PyErr_Format(PyExc_ValueError,
							"protocol must be \"v1\" or \"json\", not \"%s\"",
							protocol);
	}
	if (max_datagram < 128 || max_datagram > DOLON_MAX_DATAGRAM || port <= 0 ||
		port > 65535)
	{
		PyBuffer_Release(&run);
		return PyErr_Format(PyExc_ValueError,
							"max_datagram must be 128..%d and port 1..65535",
							DOLON_MAX_DATAGRAM);
	}
	if (wire_checked_utf8(tracer, &len, "tracer name") == NULL ||
		wire_checked_utf8(host, &len, "host name") == NULL ||
		wire_checked_utf8(program, &len, "program") == NULL ||
		wire_checked_utf8(pyver, &len, "python_version") == NULL)
	{
		PyBuffer_Release(&run);
		return NULL;
	}
	s = (Sender *) type->tp_alloc(type, 0);
	if (s == NULL)
	{
		PyBuffer_Release(&run);
		return NULL;
	}
	s->fd = -1;
	memcpy(s->run, run.buf, 16);
	PyBuffer_Release(&run);
	s->json = strcmp(protocol, "json") == 0;
	s->run_text = Py_NewRef(run_text);
	s->tracer = Py_NewRef(tracer);
	s->host = Py_NewRef(host);
	s->program = Py_NewRef(program);
	s->python_version = Py_NewRef(pyver);
	s->sampler = (Sampler *) Py_NewRef(sampler);
	s->pid = pid;
	s->period_us = period_us;
	s->start_us = start_us;
	s->max_datagram = (size_t) max_datagram;
	s->flush_interval_us = flush_interval_us;
	s->describe_interval_us = describe_interval_us;
	s->out_len = V1_HEADER_SIZE;
	s->describe_due = 1;
	s->names = PyList_New(0);
	if (s->names == NULL || open_socket(s, ip, port) < 0)
	{
		Py_DECREF(s);
		return NULL;
	}
	return (PyObject *) s;
}

static void
sender_dealloc(Sender *s)
{
	PyTypeObject *tp = Py_TYPE(s);
	int			i;

	if (s->fd >= 0)
		close(s->fd);
	for (i = 0; i < s->nmetrics; i++)
		Py_XDECREF(s->sources[i].stats);
	PyMem_Free(s->sources);
	PyMem_Free(s->values);
	PyMem_Free(s->pending);
	Py_XDECREF(s->names);
	Py_XDECREF(s->run_text);
	Py_XDECREF(s->tracer);
	Py_XDECREF(s->host);
	Py_XDECREF(s->program);
	Py_XDECREF(s->python_version);
	Py_XDECREF(s->sampler);
	tp->tp_free((PyObject *) s);
	Py_DECREF(tp);
}

static PyType_Slot sender_slots[] = {
	{Py_tp_new, sender_new},
	{Py_tp_dealloc, sender_dealloc},
	{Py_tp_methods, sender_methods},
	{Py_tp_getset, sender_getset},
	{Py_tp_members, sender_members},
	{Py_tp_doc, "Sender(ip, port, run, run_text, tracer, host, program, "
		"python_version, pid, period_us, start_us, sampler, protocol='v1', "
		"max_datagram=1400, flush_interval_us=1000000, "
	"describe_interval_us=10000000): one traced run on the wire."},
	{0, NULL}
};

static PyType_Spec sender_spec = {
	.name = "dolon._core.Sender",
	.basicsize = sizeof(Sender),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = sender_slots,
};

int
dolon_sender_init_types(PyObject *module, DolonState *st)
{
	st->sender_type = (PyTypeObject *)
		PyType_FromModuleAndSpec(module, &sender_spec, NULL);
	if (st->sender_type == NULL ||
		PyModule_AddObjectRef(module, "Sender",
							  (PyObject *) st->sender_type) < 0)
		return -1;
	return 0;
}
