/*
 * legacy_json.c
 *	  A run in dolon 0.2.0's JSON datagrams, for backends that predate
 *	  binary v1: one "row" datagram per tick.
 */
#include "legacy_json.h"

#include <math.h>
#include <string.h>

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

/* One tick: {"msg_type": "row", "row_data": [...], "uuid": ...}. */
void
legacy_json_send_row(LegacyJson *j, const double *values)
{
	Py_ssize_t	uuid_len;
	const char *uuid = PyUnicode_AsUTF8AndSize(j->run->run_text, &uuid_len);
	char	   *p = j->buf;
	char	   *limit = j->buf + DOLON_MAX_DATAGRAM - 64 - uuid_len;
	int			i;

	if (uuid == NULL)
	{
		PyErr_Clear();
		return;
	}
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
	p += sprintf(p, "], \"uuid\": \"%.*s\"}", (int) uuid_len, uuid);
	udp_send(j->udp, (const uint8_t *) j->buf, (size_t) (p - j->buf));
}

int
legacy_json_init(LegacyJson *j, const RunDescription *run, UdpTarget *udp)
{
	j->run = run;
	j->udp = udp;
	j->buf = PyMem_Malloc(DOLON_MAX_DATAGRAM);
	if (j->buf == NULL)
	{
		PyErr_NoMemory();
		return -1;
	}
	return 0;
}

void
legacy_json_free(LegacyJson *j)
{
	PyMem_Free(j->buf);
	j->buf = NULL;
}
