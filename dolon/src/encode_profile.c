/*
 * encode_profile.c
 *	  encode_frames, encode_stacks, encode_threads, encode_stack_samples,
 *	  encode_alloc_types, encode_allocs, encode_frees: the profile messages
 *	  of binary v1 built from plain Python values.
 *
 * The tests rebuild docs/vectors/v1_profile_* with these and compare byte
 * for byte.  Each entry is a tuple of the fields docs/protocol.md lists, in
 * its order, and is written through the same wire.c helper the stack
 * sampler uses, so a vector that passes here pins what the sampler sends.
 * Fields the protocol forbids (a count of 0, an id of 0 where one is
 * required, a reserved flag, a string beyond 1,024 bytes) are refused.
 */
#include "encode.h"

#include <string.h>

#include "wire.h"

/* How a kind's body opens. */
typedef enum ProfileOpening
{
	OPENING_DEFS,				/* N, reserved */
	OPENING_SAMPLES,			/* base, thread, N, reserved */
	OPENING_FREES				/* base, N, reserved */
} ProfileOpening;

/*
 * One kind: its code, how it opens, and its entry's fields as letters --
 * I u32, Q u64, B u8, S str16 -- with those that must not be 0 in
 * nonzero (the same letters' positions, '!' under each).
 */
typedef struct ProfileKind
{
	const char *name;
	uint8_t		code;
	ProfileOpening opening;
	const char *fields;
	const char *nonzero;
	int			max_u8;			/* the largest value of the B field */
} ProfileKind;

static const ProfileKind profile_kinds[] = {
	{"FRAMES", V1_FRAMES, OPENING_DEFS, "IIBSS", "!    ", V1_FRAME_MARKER},
	{"STACKS", V1_STACKS, OPENING_DEFS, "IIII", "! ! ", 0},
	{"THREADS", V1_THREADS, OPENING_DEFS, "IQS", "!  ", 0},
	{"STACK_SAMPLES", V1_STACK_SAMPLES, OPENING_SAMPLES, "IIIBQ", "     ",
	V1_SAMPLE_ON_CPU},
	{"ALLOC_TYPES", V1_ALLOC_TYPES, OPENING_DEFS, "IS", "! ", 0},
	{"ALLOCS", V1_ALLOCS, OPENING_SAMPLES, "IIIQQ", "    !", 0},
	{"FREES", V1_FREES, OPENING_FREES, "IQ", " !", 0},
};

/* The size of one entry, checking its fields; -1 with an exception set. */
static Py_ssize_t
entry_size(const ProfileKind *k, PyObject *entry)
{
	Py_ssize_t	nfields = (Py_ssize_t) strlen(k->fields);
	Py_ssize_t	size = 0;
	Py_ssize_t	i;

	if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != nfields)
	{
		PyErr_Format(PyExc_TypeError, "a %s entry is a tuple of %zd fields",
					 k->name, nfields);
		return -1;
	}
	for (i = 0; i < nfields; i++)
	{
		PyObject   *item = PyTuple_GET_ITEM(entry, i);
		unsigned long long v = 0;
		Py_ssize_t	len;

		if (k->fields[i] == 'S')
		{
			if (wire_checked_utf8(item, &len, "a string") == NULL)
				return -1;
			size += 2 + len;
			continue;
		}
		v = PyLong_AsUnsignedLongLong(item);
		if (v == (unsigned long long) -1 && PyErr_Occurred())
			return -1;
		if ((k->fields[i] == 'I' && v > 0xFFFFFFFFULL) ||
			(k->fields[i] == 'B' && v > (unsigned long long) k->max_u8))
		{
			PyErr_Format(PyExc_ValueError, "%s field %zd is out of range",
						 k->name, i);
			return -1;
		}
		if (k->nonzero[i] == '!' && v == 0)
		{
			PyErr_Format(PyExc_ValueError, "%s field %zd is an id: not 0",
						 k->name, i);
			return -1;
		}
		size += k->fields[i] == 'I' ? 4 : k->fields[i] == 'Q' ? 8 : 1;
	}
	return size;
}

static uint64_t
field_u64(PyObject *entry, int i)
{
	return PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(entry, i));
}

static const char *
field_str(PyObject *entry, int i, size_t *len)
{
	Py_ssize_t	n;
	const char *s = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(entry, i), &n);

	*len = (size_t) n;
	return s;
}

/*
 * Write one entry that entry_size checked, through the wire.c helper of its
 * kind; returns the bytes written.
 */
static size_t
put_entry(const ProfileKind *k, PyObject *e, uint8_t *p)
{
	const char *s1,
			   *s2;
	size_t		len1,
				len2;

	switch (k->code)
	{
		case V1_FRAMES:
			s1 = field_str(e, 3, &len1);
			s2 = field_str(e, 4, &len2);
			return wire_put_frame(p, (uint32_t) field_u64(e, 0),
								  (uint32_t) field_u64(e, 1),
								  (uint8_t) field_u64(e, 2), s1, len1, s2,
								  len2);
		case V1_STACKS:
			wire_put_stack(p, (uint32_t) field_u64(e, 0),
						   (uint32_t) field_u64(e, 1),
						   (uint32_t) field_u64(e, 2),
						   (uint32_t) field_u64(e, 3));
			return V1_STACK_SIZE;
		case V1_THREADS:
			s1 = field_str(e, 2, &len1);
			return wire_put_thread(p, (uint32_t) field_u64(e, 0),
								   field_u64(e, 1), s1, len1);
		case V1_STACK_SAMPLES:
			wire_put_stack_sample(p, (uint32_t) field_u64(e, 0),
								  (uint32_t) field_u64(e, 1),
								  (uint32_t) field_u64(e, 2),
								  (uint8_t) field_u64(e, 3),
								  field_u64(e, 4));
			return V1_STACK_SAMPLE_SIZE;
		case V1_ALLOC_TYPES:
			s1 = field_str(e, 1, &len1);
			return wire_put_alloc_type(p, (uint32_t) field_u64(e, 0), s1,
									   len1);
		case V1_ALLOCS:
			wire_put_alloc(p, (uint32_t) field_u64(e, 0),
						   (uint32_t) field_u64(e, 1),
						   (uint32_t) field_u64(e, 2), field_u64(e, 3),
						   field_u64(e, 4));
			return V1_ALLOC_SIZE;
		default:
			wire_put_free(p, (uint32_t) field_u64(e, 0), field_u64(e, 1));
			return V1_FREE_SIZE;
	}
}

/*
 * One message of kind k: base_us and thread open the sample kinds, the
 * entries follow.  The layout of each entry is wire.c's; only the checks
 * and the loop are here.
 */
static PyObject *
encode_profile_message(const ProfileKind *k, long long base_us,
					   unsigned long thread, PyObject *entries)
{
	PyObject   *seq;
	PyObject   *result = NULL;
	Py_ssize_t	n,
				i;
	size_t		fixed = k->opening == OPENING_DEFS ? V1_DEFS_FIXED :
		k->opening == OPENING_SAMPLES ? V1_SAMPLES_FIXED : V1_FREES_FIXED;
	size_t		body = fixed;
	uint8_t    *p;

	if (k->opening == OPENING_SAMPLES && (thread == 0 || thread > 0xFFFFFFFFUL))
		return PyErr_Format(PyExc_ValueError,
							"%s names a thread id of 1 to 2^32-1", k->name);
	seq = PySequence_Fast(entries, "entries must be a sequence of tuples");
	if (seq == NULL)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	if (n < 1 || n > 0xFFFF)
	{
		PyErr_Format(PyExc_ValueError, "a %s message holds 1 to 65,535 "
					 "entries, not %zd", k->name, n);
		goto done;
	}
	for (i = 0; i < n; i++)
	{
		Py_ssize_t	size = entry_size(k, PySequence_Fast_GET_ITEM(seq, i));

		if (size < 0)
			goto done;
		body += (size_t) size;
	}
	if (body > 0xFFFF)
	{
		PyErr_Format(PyExc_ValueError, "%s body exceeds 65,535 bytes",
					 k->name);
		goto done;
	}
	result = PyBytes_FromStringAndSize(NULL, V1_MSG_HEADER_SIZE + body);
	if (result == NULL)
		goto done;
	p = (uint8_t *) PyBytes_AS_STRING(result);
	wire_message_header(p, k->code, (uint16_t) body);
	p += V1_MSG_HEADER_SIZE;
	if (k->opening == OPENING_DEFS)
		wire_defs_fixed(p, (uint16_t) n);
	else if (k->opening == OPENING_SAMPLES)
		wire_samples_fixed(p, base_us, (uint32_t) thread, (uint16_t) n);
	else
		wire_frees_fixed(p, base_us, (uint16_t) n);
	p += fixed;
	for (i = 0; i < n; i++)
		p += put_entry(k, PySequence_Fast_GET_ITEM(seq, i), p);
done:
	Py_DECREF(seq);
	return result;
}

static PyObject *
encode_definitions(PyObject *args, int which, const char *format)
{
	PyObject   *entries;

	if (!PyArg_ParseTuple(args, format, &entries))
		return NULL;
	return encode_profile_message(&profile_kinds[which], 0, 0, entries);
}

static PyObject *
encode_frames(PyObject *module, PyObject *args)
{
	return encode_definitions(args, 0, "O:encode_frames");
}

static PyObject *
encode_stacks(PyObject *module, PyObject *args)
{
	return encode_definitions(args, 1, "O:encode_stacks");
}

static PyObject *
encode_threads(PyObject *module, PyObject *args)
{
	return encode_definitions(args, 2, "O:encode_threads");
}

static PyObject *
encode_alloc_types(PyObject *module, PyObject *args)
{
	return encode_definitions(args, 4, "O:encode_alloc_types");
}

static PyObject *
encode_stack_samples(PyObject *module, PyObject *args)
{
	long long	base_us;
	unsigned long thread;
	PyObject   *entries;

	if (!PyArg_ParseTuple(args, "LkO:encode_stack_samples", &base_us, &thread,
						  &entries))
		return NULL;
	return encode_profile_message(&profile_kinds[3], base_us, thread, entries);
}

static PyObject *
encode_allocs(PyObject *module, PyObject *args)
{
	long long	base_us;
	unsigned long thread;
	PyObject   *entries;

	if (!PyArg_ParseTuple(args, "LkO:encode_allocs", &base_us, &thread,
						  &entries))
		return NULL;
	return encode_profile_message(&profile_kinds[5], base_us, thread, entries);
}

static PyObject *
encode_frees(PyObject *module, PyObject *args)
{
	long long	base_us;
	PyObject   *entries;

	if (!PyArg_ParseTuple(args, "LO:encode_frees", &base_us, &entries))
		return NULL;
	return encode_profile_message(&profile_kinds[6], base_us, 0, entries);
}

PyMethodDef dolon_encode_profile_methods[] = {
	{"encode_frames", encode_frames, METH_VARARGS,
		"encode_frames([(id, first_line, kind, function, file), ...]) -> "
	"bytes: one FRAMES message"},
	{"encode_stacks", encode_stacks, METH_VARARGS,
	"encode_stacks([(id, parent, frame, line), ...]) -> bytes: one STACKS"},
	{"encode_threads", encode_threads, METH_VARARGS,
	"encode_threads([(id, native_id, name), ...]) -> bytes: one THREADS"},
	{"encode_stack_samples", encode_stack_samples, METH_VARARGS,
		"encode_stack_samples(base_us, thread, [(offset_us, stack, weight_us, "
	"flags, rss_bytes), ...]) -> bytes: one STACK_SAMPLES"},
	{"encode_alloc_types", encode_alloc_types, METH_VARARGS,
	"encode_alloc_types([(id, name), ...]) -> bytes: one ALLOC_TYPES"},
	{"encode_allocs", encode_allocs, METH_VARARGS,
		"encode_allocs(base_us, thread, [(offset_us, stack, type, bytes, "
	"alloc_id), ...]) -> bytes: one ALLOCS"},
	{"encode_frees", encode_frees, METH_VARARGS,
	"encode_frees(base_us, [(offset_us, alloc_id), ...]) -> bytes: one FREES"},
	{NULL}
};
