/*
 * legacy_json.c
 *	  A run in dolon 0.2.0's JSON datagrams, for backends that predate
 *	  binary v1.
 *
 * The whole legacy protocol is here.  A "create_trace_run" header names the
 * run and its columns; it goes out with the first tick, again whenever
 * metrics are added, and on the DescribeSchedule binary v1 uses for
 * DESCRIBE, so that a lost header heals.  Every tick is then one "row"
 * datagram.  The text is byte for byte what json.dumps writes (", " and ": "
 * separators, ASCII only, keys in 0.2.0's order), except that a value not
 * measured is null.
 */
#include "legacy_json.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * JSON text
 * ------------------------------------------------------------------------ */

/*
 * One character of a JSON string as json.dumps writes it (ensure_ascii):
 * printable ASCII as is, the usual backslash escapes, \uXXXX for the rest
 * and a surrogate pair beyond the BMP.  Writes at most 12 bytes at p.
 */
static size_t
json_put_char(char *p, Py_UCS4 c)
{
	static const char hex[] = "0123456789abcdef";

	if (c >= ' ' && c <= '~' && c != '"' && c != '\\')
	{
		*p = (char) c;
		return 1;
	}
	p[0] = '\\';
	switch (c)
	{
		case '"':
		case '\\':
			p[1] = (char) c;
			return 2;
		case '\b':
			p[1] = 'b';
			return 2;
		case '\f':
			p[1] = 'f';
			return 2;
		case '\n':
			p[1] = 'n';
			return 2;
		case '\r':
			p[1] = 'r';
			return 2;
		case '\t':
			p[1] = 't';
			return 2;
	}
	if (c >= 0x10000)
	{
		Py_UCS4		v = c - 0x10000;
		size_t		len = json_put_char(p, 0xD800 | (v >> 10));

		return len + json_put_char(p + len, 0xDC00 | (v & 0x3FF));
	}
	p[1] = 'u';
	p[2] = hex[(c >> 12) & 0xF];
	p[3] = hex[(c >> 8) & 0xF];
	p[4] = hex[(c >> 4) & 0xF];
	p[5] = hex[c & 0xF];
	return 6;
}

/*
 * JSON text being written at buf, or only measured when buf is NULL: the
 * header is measured first, then written into memory of that size.
 */
typedef struct JsonText
{
	char	   *buf;
	Py_ssize_t	size;
} JsonText;

static void
text_put(JsonText *t, const char *s, size_t len)
{
	if (t->buf != NULL)
		memcpy(t->buf + t->size, s, len);
	t->size += len;
}

#define text_put_literal(t, s)	text_put((t), "" s, sizeof(s) - 1)

/* str as a quoted JSON string.  Fails only on a str that is not one. */
static int
text_put_string(JsonText *t, PyObject *str)
{
	Py_ssize_t	n = PyUnicode_GetLength(str);
	Py_ssize_t	i;
	char		c[12];

	if (n < 0)
		return -1;
	text_put_literal(t, "\"");
	for (i = 0; i < n; i++)
		text_put(t, c, json_put_char(c, PyUnicode_ReadChar(str, i)));
	text_put_literal(t, "\"");
	return 0;
}

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

/* ------------------------------------------------------------------------
 * The two messages
 * ------------------------------------------------------------------------ */

/*
 * {"msg_type": "create_trace_run", "app_name": ..., "column_names": [...],
 * "uuid": ...} into t.
 */
static int
put_header(LegacyJson *j, JsonText *t)
{
	const RunDescription *run = j->run;
	int			i;

	text_put_literal(t, "{\"msg_type\": \"create_trace_run\", \"app_name\": ");
	if (text_put_string(t, run->tracer) < 0)
		return -1;
	text_put_literal(t, ", \"column_names\": [");
	for (i = 0; i < run->nmetrics; i++)
	{
		if (i > 0)
			text_put_literal(t, ", ");
		if (text_put_string(t, PyList_GET_ITEM(run->names, i)) < 0)
			return -1;
	}
	text_put_literal(t, "], \"uuid\": ");
	text_put(t, j->uuid, j->uuid_len);
	text_put_literal(t, "}");
	return 0;
}

/* The header: the run and its column names. */
static int
send_header(LegacyJson *j)
{
	JsonText	t = {NULL, 0};

	if (put_header(j, &t) < 0)
		return -1;
	t.buf = PyMem_Malloc(t.size);
	if (t.buf == NULL)
	{
		PyErr_NoMemory();
		return -1;
	}
	t.size = 0;
	put_header(j, &t);			/* cannot fail where measuring did not */
	udp_send(j->udp, (const uint8_t *) t.buf, (size_t) t.size);
	PyMem_Free(t.buf);
	return 0;
}

/* {"msg_type": "row", "row_data": [...], "uuid": ...}: one tick. */
static void
send_row(LegacyJson *j, const double *values)
{
	char	   *p = j->row;
	char	   *limit = j->row + DOLON_MAX_DATAGRAM - 64 - j->uuid_len;
	int			i;

	p += sprintf(p, "{\"msg_type\": \"row\", \"row_data\": [");
	for (i = 0; i < j->run->nmetrics && p < limit; i++)
	{
		if (i > 0)
		{
			*p++ = ',';
			*p++ = ' ';
		}
		p += json_put_number(p, values[i]);
	}
	p += sprintf(p, "], \"uuid\": %.*s}", (int) j->uuid_len, j->uuid);
	udp_send(j->udp, (const uint8_t *) j->row, (size_t) (p - j->row));
}

/* ------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------ */

/*
 * One tick at ts_us: the header when due (even while there are no columns
 * yet), then the row.  Fails only when out of memory.
 */
int
legacy_json_tick(LegacyJson *j, const double *values, int64_t ts_us)
{
	if (describe_schedule_due(&j->header, ts_us))
	{
		if (send_header(j) < 0)
			return -1;
		describe_schedule_sent(&j->header, ts_us);
	}
	if (j->run->nmetrics > 0)
		send_row(j, values);
	return 0;
}

/* Metrics are about to be added: send the header with the next tick. */
void
legacy_json_layout_changing(LegacyJson *j)
{
	j->header.due = 1;
}

/*
 * run->run_text must be at most DOLON_MAX_NAME bytes of UTF-8 (the sender
 * checks), so that its JSON text leaves room for a row.
 */
int
legacy_json_init(LegacyJson *j, const RunDescription *run, UdpTarget *udp,
				 int64_t describe_interval_us)
{
	JsonText	t = {NULL, 0};

	memset(j, 0, sizeof(*j));
	j->run = run;
	j->udp = udp;
	describe_schedule_init(&j->header, describe_interval_us);
	if (text_put_string(&t, run->run_text) < 0)
		return -1;
	j->uuid = t.buf = PyMem_Malloc(t.size);
	j->row = PyMem_Malloc(DOLON_MAX_DATAGRAM);
	if (j->uuid == NULL || j->row == NULL)
	{
		PyErr_NoMemory();
		return -1;
	}
	t.size = 0;
	text_put_string(&t, run->run_text); /* as above, so it cannot fail */
	j->uuid_len = (size_t) t.size;
	return 0;
}

void
legacy_json_free(LegacyJson *j)
{
	PyMem_Free(j->uuid);
	PyMem_Free(j->row);
	j->uuid = NULL;
	j->row = NULL;
}
