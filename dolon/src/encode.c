/*
 * encode.c
 *	  encode_describe, encode_ticks, encode_end, encode_datagram: binary v1
 *	  messages and datagrams built from plain Python values.
 *
 * The tests check these against docs/vectors/ byte for byte.  They write
 * through wire.c, as the sender does, so a vector that passes here pins the
 * layout the sender puts on the wire.
 */
#include "encode.h"

#include <math.h>
#include <string.h>

#include "wire.h"

/* ------------------------------------------------------------------------
 * Python entry points
 * ------------------------------------------------------------------------ */

static int
parse_run_uuid(PyObject *run, uint8_t out[16])
{
	char	   *buf;
	Py_ssize_t	len;

	if (PyBytes_AsStringAndSize(run, &buf, &len) < 0)
		return -1;
	if (len != 16)
	{
		PyErr_Format(PyExc_ValueError, "run must be 16 bytes, not %zd", len);
		return -1;
	}
	memcpy(out, buf, 16);
	return 0;
}

static PyObject *
encode_describe(PyObject *module, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"start_us", "pid", "period_us", "metric_total",
		"first_metric", "tracer", "host", "program", "python_version",
	"metrics", NULL};
	long long	start_us;
	unsigned int pid,
				period_us;
	unsigned int total,
				first;
	PyObject   *strs[4];
	PyObject   *names;
	PyObject   *seq;
	const char *utf8[4];
	Py_ssize_t	lens[4];
	static const char *what[4] = {"tracer", "host", "program",
	"python_version"};
	Py_ssize_t	n,
				i;
	size_t		body = V1_DESCRIBE_FIXED;
	PyObject   *result = NULL;
	uint8_t    *p;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "LIIIIOOOOO:encode_describe",
									 kwlist, &start_us, &pid, &period_us,
									 &total, &first, &strs[0], &strs[1],
									 &strs[2], &strs[3], &names))
		return NULL;
	seq = PySequence_Fast(names, "metrics must be a sequence of str");
	if (seq == NULL)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	if (total > DOLON_MAX_METRICS || first + n > total || n > 0xFFFF)
	{
		PyErr_Format(PyExc_ValueError,
					 "metrics %u..%zd do not fit a run of %u (at most %d)",
					 first, first + n, total, DOLON_MAX_METRICS);
		goto done;
	}
	for (i = 0; i < 4; i++)
	{
		utf8[i] = wire_checked_utf8(strs[i], &lens[i], what[i]);
		if (utf8[i] == NULL)
			goto done;
		body += 2 + lens[i];
	}
	for (i = 0; i < n; i++)
	{
		Py_ssize_t	len;

		if (wire_checked_utf8(PySequence_Fast_GET_ITEM(seq, i), &len,
							  "metric name") == NULL)
			goto done;
		body += 2 + len;
	}
	if (body > 0xFFFF)
	{
		PyErr_SetString(PyExc_ValueError, "DESCRIBE body exceeds 65,535 bytes");
		goto done;
	}
	result = PyBytes_FromStringAndSize(NULL, V1_MSG_HEADER_SIZE + body);
	if (result == NULL)
		goto done;
	p = (uint8_t *) PyBytes_AS_STRING(result);
	wire_message_header(p, V1_DESCRIBE, (uint16_t) body);
	p += V1_MSG_HEADER_SIZE;
	wire_describe_fixed(p, start_us, pid, period_us, (uint16_t) total,
						(uint16_t) first, (uint16_t) n);
	p += V1_DESCRIBE_FIXED;
	for (i = 0; i < 4; i++)
		p += wire_put_str16(p, utf8[i], lens[i]);
	for (i = 0; i < n; i++)
	{
		Py_ssize_t	len;
		const char *s = PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(seq, i),
												&len);

		p += wire_put_str16(p, s, len);
	}
done:
	Py_DECREF(seq);
	return result;
}

/* encode_ticks(base_us, first_metric, ticks=[(offset_us, [v, ...]), ...]) */
static PyObject *
encode_ticks(PyObject *module, PyObject *args)
{
	long long	base_us;
	unsigned int first;
	PyObject   *ticks;
	PyObject   *seq;
	Py_ssize_t	t,
				v = -1,
				i;
	PyObject   *result = NULL;
	uint8_t    *p;
	size_t		body;

	if (!PyArg_ParseTuple(args, "LIO:encode_ticks", &base_us, &first, &ticks))
		return NULL;
	seq = PySequence_Fast(ticks, "ticks must be a sequence");
	if (seq == NULL)
		return NULL;
	t = PySequence_Fast_GET_SIZE(seq);
	if (t < 1 || t > 0xFFFF)
	{
		PyErr_Format(PyExc_ValueError, "a TICKS message holds 1 to 65,535 "
					 "ticks, not %zd", t);
		goto done;
	}
	for (i = 0; i < t; i++)
	{
		PyObject   *tick = PySequence_Fast_GET_ITEM(seq, i);
		Py_ssize_t	nv;

		if (!PyTuple_Check(tick) || PyTuple_GET_SIZE(tick) != 2)
		{
			PyErr_SetString(PyExc_TypeError,
							"each tick is a tuple (offset_us, values)");
			goto done;
		}
		nv = PyObject_Length(PyTuple_GET_ITEM(tick, 1));
		if (nv < 0)
			goto done;
		if (v >= 0 && nv != v)
		{
			PyErr_SetString(PyExc_ValueError,
							"every tick of a message has the same count of values");
			goto done;
		}
		v = nv;
	}
	if (v < 1 || first + v > DOLON_MAX_METRICS)
	{
		PyErr_Format(PyExc_ValueError, "values %u..%zd out of range 1..%d",
					 first, first + v, DOLON_MAX_METRICS);
		goto done;
	}
	body = V1_TICKS_FIXED + (size_t) t * (4 + 8 * (size_t) v);
	if (body > 0xFFFF)
	{
		PyErr_SetString(PyExc_ValueError, "TICKS body exceeds 65,535 bytes");
		goto done;
	}
	result = PyBytes_FromStringAndSize(NULL, V1_MSG_HEADER_SIZE + body);
	if (result == NULL)
		goto done;
	p = (uint8_t *) PyBytes_AS_STRING(result);
	wire_message_header(p, V1_TICKS, (uint16_t) body);
	p += V1_MSG_HEADER_SIZE;
	wire_ticks_fixed(p, base_us, (uint16_t) first, (uint16_t) v, (uint16_t) t);
	p += V1_TICKS_FIXED;
	for (i = 0; i < t; i++)
	{
		PyObject   *tick = PySequence_Fast_GET_ITEM(seq, i);
		unsigned long offset = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(tick, 0));
		PyObject   *values;
		Py_ssize_t	j;

		if (PyErr_Occurred() || offset > 0xFFFFFFFFUL)
		{
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_OverflowError, "tick offset exceeds u32");
			Py_CLEAR(result);
			goto done;
		}
		wire_put_u32(p, (uint32_t) offset);
		p += 4;
		values = PySequence_Fast(PyTuple_GET_ITEM(tick, 1),
								 "tick values must be a sequence");
		if (values == NULL)
		{
			Py_CLEAR(result);
			goto done;
		}
		for (j = 0; j < v; j++)
		{
			PyObject   *item = PySequence_Fast_GET_ITEM(values, j);
			double		d = item == Py_None ? NAN : PyFloat_AsDouble(item);

			if (d == -1.0 && PyErr_Occurred())
			{
				Py_DECREF(values);
				Py_CLEAR(result);
				goto done;
			}
			wire_put_f64(p, d);
			p += 8;
		}
		Py_DECREF(values);
	}
done:
	Py_DECREF(seq);
	return result;
}

static PyObject *
encode_end(PyObject *module, PyObject *args)
{
	long long	end_us;
	PyObject   *result;
	uint8_t    *p;

	if (!PyArg_ParseTuple(args, "L:encode_end", &end_us))
		return NULL;
	result = PyBytes_FromStringAndSize(NULL, V1_MSG_HEADER_SIZE + V1_END_SIZE);
	if (result == NULL)
		return NULL;
	p = (uint8_t *) PyBytes_AS_STRING(result);
	wire_message_header(p, V1_END, V1_END_SIZE);
	wire_put_i64(p + V1_MSG_HEADER_SIZE, end_us);
	return result;
}

/*
 * encode_datagram(run, seq, messages, auth=None): header + messages, and
 * when auth = (key_id, tag) the AUTH flag and trailer.
 */
static PyObject *
encode_datagram(PyObject *module, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"run", "seq", "messages", "auth", NULL};
	PyObject   *run;
	unsigned long seqno;
	PyObject   *messages;
	PyObject   *auth = Py_None;
	uint8_t		run_bytes[16];
	PyObject   *seq;
	Py_ssize_t	n,
				i;
	size_t		total = V1_HEADER_SIZE;
	unsigned int key_id = 0;
	char	   *tag = NULL;
	Py_ssize_t	tag_len = 0;
	PyObject   *result = NULL;
	uint8_t    *p;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OkO|O:encode_datagram",
									 kwlist, &run, &seqno, &messages, &auth))
		return NULL;
	if (parse_run_uuid(run, run_bytes) < 0)
		return NULL;
	if (seqno > 0xFFFFFFFFUL)
		return PyErr_Format(PyExc_OverflowError, "seq exceeds u32");
	if (auth != Py_None)
	{
		PyObject   *tag_obj;

		if (!PyArg_ParseTuple(auth, "IO!:auth", &key_id, &PyBytes_Type,
							  &tag_obj))
			return NULL;
		if (key_id > 255 || PyBytes_GET_SIZE(tag_obj) > 255)
			return PyErr_Format(PyExc_ValueError,
								"auth key id and tag length are u8");
		tag = PyBytes_AS_STRING(tag_obj);
		tag_len = PyBytes_GET_SIZE(tag_obj);
		total += tag_len + 2;
	}
	seq = PySequence_Fast(messages, "messages must be a sequence of bytes");
	if (seq == NULL)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	if (n > 0xFFFF)
	{
		PyErr_SetString(PyExc_ValueError, "at most 65,535 messages");
		goto done;
	}
	for (i = 0; i < n; i++)
	{
		PyObject   *m = PySequence_Fast_GET_ITEM(seq, i);

		if (!PyBytes_Check(m))
		{
			PyErr_SetString(PyExc_TypeError, "messages must be bytes");
			goto done;
		}
		total += PyBytes_GET_SIZE(m);
	}
	result = PyBytes_FromStringAndSize(NULL, total);
	if (result == NULL)
		goto done;
	p = (uint8_t *) PyBytes_AS_STRING(result);
	wire_datagram_header(p, auth != Py_None ? V1_FLAG_AUTH : 0, (uint16_t) n,
						 run_bytes, (uint32_t) seqno);
	p += V1_HEADER_SIZE;
	for (i = 0; i < n; i++)
	{
		PyObject   *m = PySequence_Fast_GET_ITEM(seq, i);

		memcpy(p, PyBytes_AS_STRING(m), PyBytes_GET_SIZE(m));
		p += PyBytes_GET_SIZE(m);
	}
	if (auth != Py_None)
	{
		memcpy(p, tag, tag_len);
		p[tag_len] = (uint8_t) key_id;
		p[tag_len + 1] = (uint8_t) tag_len;
	}
done:
	Py_DECREF(seq);
	return result;
}

PyMethodDef dolon_encode_methods[] = {
	{"encode_describe", (PyCFunction) (void (*) (void)) encode_describe,
		METH_VARARGS | METH_KEYWORDS,
	"encode_describe(start_us, pid, period_us, metric_total, first_metric, "
	"tracer, host, program, python_version, metrics) -> bytes: one DESCRIBE "
	"message with its 4-byte header"},
	{"encode_ticks", encode_ticks, METH_VARARGS,
		"encode_ticks(base_us, first_metric, [(offset_us, values), ...]) -> "
	"bytes: one TICKS message (None or NaN for a missing value)"},
	{"encode_end", encode_end, METH_VARARGS,
	"encode_end(end_us) -> bytes: one END message"},
	{"encode_datagram", (PyCFunction) (void (*) (void)) encode_datagram,
		METH_VARARGS | METH_KEYWORDS,
		"encode_datagram(run, seq, messages, auth=None) -> bytes: a v1 "
	"datagram; auth=(key_id, tag) sets the AUTH flag and appends the trailer"},
	{NULL}
};
