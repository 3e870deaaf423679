/*
 * sender.c
 *	  dolon._core.Sender: one traced run -- its metric layout, the values of
 *	  each tick -- handed to the wire format it speaks.
 *
 * Per tick the Python layer makes one call, tick(ts_us, external_values):
 * the built-in measurements and the @profiler statistics are read here, the
 * values from user profiler functions come in the list.  The values then go
 * to the run's wire format: batched into binary v1 datagrams (v1_batch.c),
 * or one legacy JSON row per tick as dolon 0.2.0 sent them (legacy_json.c).
 * Both leave by the run's UDP socket (udp.c), which never blocks and never
 * raises.
 */
#include "sender.h"

#include <math.h>
#include <string.h>

#include "clock.h"
#include "legacy_json.h"
#include "procstat.h"
#include "profile_stats.h"
#include "run_description.h"
#include "sign.h"
#include "udp.h"
#include "v1_batch.h"
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
	RunDescription run;			/* what the run says about itself */
	UdpTarget	udp;
	int			json;			/* legacy JSON protocol, else binary v1 */
	size_t		max_datagram;
	V1Batch		v1;				/* binary v1 only */
	LegacyJson	legacy;			/* legacy JSON only */
	int			ended;
	SignKey		sign;			/* binary v1 with a key only */

	/* where each metric's value comes from */
	MetricSource *sources;		/* run.nmetrics of them */
	int			nexternal;
	double	   *values;			/* the last tick's values */
	BuiltinReader *reader;

	/* counters */
	uint64_t	ticks;
	int64_t		last_tick_ns;	/* C-side cost of the last tick */
} Sender;

/* ------------------------------------------------------------------------
 * The metric layout
 * ------------------------------------------------------------------------ */

/*
 * The name a new metric gets: its own, or -- when the run has a metric of
 * that name already, as two lambdas would -- the first free of name#2,
 * name#3 ...  Here, so that both wire formats name every metric apart and
 * no metric's points are shown under another's name.  New reference.
 */
static PyObject *
sender_unique_name(Sender *s, PyObject *name)
{
	PyObject   *candidate = Py_NewRef(name);
	int			n = 1;

	for (;;)
	{
		int			taken = PySequence_Contains(s->run.names, candidate);

		if (taken == 0)
			return candidate;
		Py_DECREF(candidate);
		if (taken < 0)
			return NULL;
		candidate = PyUnicode_FromFormat("%U#%d", name, ++n);
		if (candidate == NULL)
			return NULL;
	}
}

static int
sender_add_source(Sender *s, PyObject *wanted_name, SourceKind kind, int code,
				  ProfileStats *stats)
{
	Py_ssize_t	len;
	MetricSource *grown;
	double	   *values;
	PyObject   *name;
	int			appended;

	if (s->run.nmetrics >= DOLON_MAX_METRICS)
	{
		PyErr_Format(PyExc_ValueError, "a run has at most %d metrics",
					 DOLON_MAX_METRICS);
		return -1;
	}
	name = sender_unique_name(s, wanted_name);
	if (name == NULL)
		return -1;
	if (wire_checked_utf8(name, &len, "metric name") == NULL)
	{
		Py_DECREF(name);
		return -1;
	}
	grown = PyMem_Realloc(s->sources,
						  sizeof(MetricSource) * (s->run.nmetrics + 1));
	if (grown == NULL)
	{
		Py_DECREF(name);
		PyErr_NoMemory();
		return -1;
	}
	s->sources = grown;
	values = PyMem_Realloc(s->values, sizeof(double) * (s->run.nmetrics + 1));
	if (values == NULL)
	{
		Py_DECREF(name);
		PyErr_NoMemory();
		return -1;
	}
	s->values = values;
	appended = PyList_Append(s->run.names, name);
	Py_DECREF(name);
	if (appended < 0)
		return -1;

	if (s->json)
		legacy_json_layout_changing(&s->legacy);
	else
		v1_batch_layout_changing(&s->v1);
	s->sources[s->run.nmetrics].kind = kind;
	s->sources[s->run.nmetrics].code = code;
	s->sources[s->run.nmetrics].stats = stats;
	Py_XINCREF(stats);
	s->values[s->run.nmetrics] = NAN;
	s->run.nmetrics++;
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
	return PyLong_FromLong(s->run.nmetrics - 1);
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
	return PyLong_FromLong(s->run.nmetrics - 1);
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
	return PyLong_FromLong(s->run.nmetrics - 1);
}

/* ------------------------------------------------------------------------
 * One tick
 * ------------------------------------------------------------------------ */

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

	for (i = 0; i < s->run.nmetrics; i++)
	{
		MetricSource *src = &s->sources[i];
		double		v = NAN;

		switch (src->kind)
		{
			case SOURCE_BUILTIN:
				v = builtin_reader_read(s->reader, src->code);
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
	if (s->json)
	{
		if (legacy_json_tick(&s->legacy, s->values, ts_us) < 0)
			return NULL;
	}
	else if (s->run.nmetrics > 0)	/* else nothing to say yet */
	{
		if (v1_batch_tick(&s->v1, s->values, ts_us) < 0)
			return NULL;
	}
	s->last_tick_ns = dolon_monotonic_ns() - started;
	Py_RETURN_NONE;
}

/* end(ts_us): send what is pending, then END (v1).  Idempotent. */
static PyObject *
sender_end(Sender *s, PyObject *arg)
{
	int64_t		ts_us = PyLong_AsLongLong(arg);

	if (ts_us == -1 && PyErr_Occurred())
		return NULL;
	if (!s->ended && !s->json)
		v1_batch_end(&s->v1, ts_us);
	s->ended = 1;
	Py_RETURN_NONE;
}

/*
 * restart(run, run_text, pid, start_us): in a forked child, become a new
 * run -- another uuid, a sequence from 0, described afresh -- with the same
 * metrics, on a socket of the child's own.
 */
static PyObject *
sender_restart(Sender *s, PyObject *args)
{
	Py_buffer	run;
	PyObject   *run_text;
	unsigned int pid;
	long long	start_us;
	Py_ssize_t	len;
	char		ip[64];
	int			port;

	if (!PyArg_ParseTuple(args, "y*UIL:restart", &run, &run_text, &pid,
						  &start_us))
		return NULL;
	if (run.len != 16 ||
		wire_checked_utf8(run_text, &len, "run_text") == NULL)
	{
		PyBuffer_Release(&run);
		return PyErr_Occurred() ? NULL :
			PyErr_Format(PyExc_ValueError, "run must be 16 bytes");
	}
	memcpy(s->run.run, run.buf, 16);
	PyBuffer_Release(&run);
	Py_SETREF(s->run.run_text, Py_NewRef(run_text));
	s->run.pid = pid;
	s->run.start_us = start_us;
	s->ended = 0;
	if (s->json)
	{
		legacy_json_free(&s->legacy);
		if (legacy_json_init(&s->legacy, &s->run, &s->udp,
							 s->legacy.header.interval_us) < 0)
			return NULL;
	}
	else
		v1_batch_restart(&s->v1);
	/* the same address, from a socket that is the child's */
	if (s->udp.fd >= 0 && udp_numeric_address(&s->udp, ip, sizeof(ip),
											  &port) == 0)
	{
		udp_close(&s->udp);
		if (udp_open(&s->udp, ip, port) < 0)
			return NULL;
	}
	Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------
 * For the stack sampler
 * ------------------------------------------------------------------------ */

int
sender_check(PyObject *obj)
{
	DolonState *st = PyType_GetModuleState(Py_TYPE(obj));

	return st != NULL && PyObject_TypeCheck(obj, st->sender_type);
}

int
sender_speaks_v1(PyObject *sender)
{
	return !((Sender *) sender)->json;
}

/*
 * The room for a profile datagram's header and messages, and the most a
 * single message too large for that may take: what the ticks' datagrams
 * have, so less the AUTH trailer when the run is signed.
 */
void
sender_datagram_room(PyObject *sender, size_t *room, size_t *largest)
{
	v1_batch_room(&((Sender *) sender)->v1, room, largest);
}

/*
 * Send a datagram of profile messages under the run's sequence, signed as
 * the ticks are (the caller left V1_HEADER_SIZE bytes for the header at the
 * start, and SIGN_TRAILER_BYTES of room after len).  The length sent, or -1
 * when the run cannot carry them: it speaks legacy JSON, or it has ended.
 * With the GIL held, which guards the sequence and the socket's counters.
 */
Py_ssize_t
sender_send_datagram(PyObject *sender, uint8_t *datagram, size_t len,
					 uint16_t nmessages)
{
	Sender	   *s = (Sender *) sender;

	if (s->json || s->ended)
		return -1;
	return (Py_ssize_t) v1_batch_send_datagram(&s->v1, datagram, len,
											   nmessages);
}

/* ------------------------------------------------------------------------
 * The rest of the Python face
 * ------------------------------------------------------------------------ */

static PyObject *
sender_close(Sender *s, PyObject *unused)
{
	udp_close(&s->udp);
	Py_RETURN_NONE;
}

static PyObject *
sender_get_values(Sender *s, void *closure)
{
	PyObject   *list = PyList_New(s->run.nmetrics);
	int			i;

	if (list == NULL)
		return NULL;
	for (i = 0; i < s->run.nmetrics; i++)
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
	return PyList_GetSlice(s->run.names, 0, s->run.nmetrics);
}

static PyObject *
sender_get_counters(Sender *s, void *closure)
{
	UdpTarget  *u = &s->udp;

	return Py_BuildValue("{sKsKsKsKsKsIsd}",
						 "ticks", (unsigned long long) s->ticks,
						 "datagrams", (unsigned long long) u->datagrams,
						 "send_errors", (unsigned long long) u->send_errors,
						 "bytes_sent", (unsigned long long) u->bytes_sent,
						 "not_sent_in_child",
						 (unsigned long long) u->not_ours,
						 "seq", (unsigned int) s->v1.seq,
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
	{"close", (PyCFunction) sender_close, METH_NOARGS, NULL},
	{"restart", (PyCFunction) sender_restart, METH_VARARGS,
	"restart(run, run_text, pid, start_us): a new run, in a forked child"},
	{NULL}
};

static PyGetSetDef sender_getset[] = {
	{"values", (getter) sender_get_values, NULL,
	"the last tick's values (None when not measured)", NULL},
	{"names", (getter) sender_get_names, NULL, "metric names by index", NULL},
	{"counters", (getter) sender_get_counters, NULL, NULL, NULL},
	{NULL}
};

static PyObject *
sender_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"ip", "port", "run", "run_text", "tracer",
		"host", "program", "python_version", "pid", "period_us", "start_us",
		"reader", "protocol", "max_datagram", "flush_interval_us",
	"describe_interval_us", "key", NULL};
	DolonState *st = PyType_GetModuleState(type);
	const char *ip;
	int			port;
	Py_buffer	run;
	PyObject   *run_text,
			   *tracer,
			   *host,
			   *program,
			   *pyver,
			   *reader;
	unsigned int pid,
				period_us;
	long long	start_us;
	const char *protocol = "v1";
	Py_ssize_t	max_datagram = 1400;
	long long	flush_interval_us = 1000000;
	long long	describe_interval_us = 10000000;
	PyObject   *key = Py_None;
	Sender	   *s;
	Py_ssize_t	len;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs,
									 "siy*UUUUUIILO!|snLLO:Sender", kwlist,
									 &ip, &port, &run, &run_text, &tracer,
									 &host, &program, &pyver, &pid,
									 &period_us, &start_us,
									 st->builtin_reader_type, &reader,
									 &protocol,
									 &max_datagram, &flush_interval_us,
									 &describe_interval_us, &key))
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
	if (wire_checked_utf8(run_text, &len, "run_text") == NULL ||
		wire_checked_utf8(tracer, &len, "tracer name") == NULL ||
		wire_checked_utf8(host, &len, "host name") == NULL ||
		wire_checked_utf8(program, &len, "program") == NULL ||
		wire_checked_utf8(pyver, &len, "python_version") == NULL)
	{
		PyBuffer_Release(&run);
		return NULL;
	}
	if (key != Py_None && strcmp(protocol, "json") == 0)
	{
		PyBuffer_Release(&run);
		return PyErr_Format(PyExc_ValueError,
							"legacy JSON cannot be signed: a key needs protocol \"v1\"");
	}
	s = (Sender *) type->tp_alloc(type, 0);
	if (s == NULL)
	{
		PyBuffer_Release(&run);
		return NULL;
	}
	s->udp.fd = -1;
	s->max_datagram = (size_t) max_datagram;
	memcpy(s->run.run, run.buf, 16);
	PyBuffer_Release(&run);
	s->json = strcmp(protocol, "json") == 0;
	s->run.run_text = Py_NewRef(run_text);
	s->run.tracer = Py_NewRef(tracer);
	s->run.host = Py_NewRef(host);
	s->run.program = Py_NewRef(program);
	s->run.python_version = Py_NewRef(pyver);
	s->run.pid = pid;
	s->run.period_us = period_us;
	s->run.start_us = start_us;
	s->reader = (BuiltinReader *) Py_NewRef(reader);
	s->run.names = PyList_New(0);
	if (s->run.names == NULL ||
		(s->json ? legacy_json_init(&s->legacy, &s->run, &s->udp,
									describe_interval_us) :
		 v1_batch_init(&s->v1, &s->run, &s->udp, (size_t) max_datagram,
					   flush_interval_us, describe_interval_us)) < 0 ||
		udp_open(&s->udp, ip, port) < 0)
	{
		Py_DECREF(s);
		return NULL;
	}
	if (key != Py_None)
	{
		if (sign_key_from_object(key, &s->sign) < 0)
		{
			Py_DECREF(s);
			return NULL;
		}
		v1_batch_sign_with(&s->v1, &s->sign);
	}
	return (PyObject *) s;
}

static void
sender_dealloc(Sender *s)
{
	PyTypeObject *tp = Py_TYPE(s);
	int			i;

	udp_close(&s->udp);
	v1_batch_free(&s->v1);
	memset(&s->sign, 0, sizeof(s->sign));
	legacy_json_free(&s->legacy);
	for (i = 0; i < s->run.nmetrics; i++)
		Py_XDECREF(s->sources[i].stats);
	PyMem_Free(s->sources);
	PyMem_Free(s->values);
	Py_XDECREF(s->run.names);
	Py_XDECREF(s->run.run_text);
	Py_XDECREF(s->run.tracer);
	Py_XDECREF(s->run.host);
	Py_XDECREF(s->run.program);
	Py_XDECREF(s->run.python_version);
	Py_XDECREF(s->reader);
	tp->tp_free((PyObject *) s);
	Py_DECREF(tp);
}

static PyType_Slot sender_slots[] = {
	{Py_tp_new, sender_new},
	{Py_tp_dealloc, sender_dealloc},
	{Py_tp_methods, sender_methods},
	{Py_tp_getset, sender_getset},
	{Py_tp_doc, "Sender(ip, port, run, run_text, tracer, host, program, "
		"python_version, pid, period_us, start_us, reader, protocol='v1', "
		"max_datagram=1400, flush_interval_us=1000000, "
	"describe_interval_us=10000000, key=None): one traced run on the wire; "
	"key=(key_id, secret) signs every datagram (binary v1 only)."},
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
