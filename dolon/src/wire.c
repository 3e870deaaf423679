/*
 * wire.c
 *	  Binary v1 fields, headers and strings, byte for byte as
 *	  docs/protocol.md specifies them.
 */
#include "wire.h"

#include <string.h>

void
wire_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

void
wire_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

void
wire_put_i64(uint8_t *p, int64_t v)
{
	uint64_t	u = (uint64_t) v;
	int			i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t) (u >> (8 * i));
}

void
wire_put_f64(uint8_t *p, double v)
{
	uint64_t	u;

	memcpy(&u, &v, sizeof(u));
	wire_put_i64(p, (int64_t) u);
}

/* A str16 at p; returns the bytes written.  Caller checked len <= 1024. */
size_t
wire_put_str16(uint8_t *p, const char *s, size_t len)
{
	wire_put_u16(p, (uint16_t) len);
	memcpy(p + 2, s, len);
	return 2 + len;
}

void
wire_datagram_header(uint8_t *p, uint8_t flags, uint16_t count,
					 const uint8_t run[16], uint32_t seq)
{
	memcpy(p, "MNEM", 4);
	p[4] = 1;
	p[5] = flags;
	wire_put_u16(p + 6, count);
	memcpy(p + 8, run, 16);
	wire_put_u32(p + 24, seq);
}

void
wire_message_header(uint8_t *p, uint8_t kind, uint16_t body_len)
{
	p[0] = kind;
	p[1] = 0;
	wire_put_u16(p + 2, body_len);
}

/* The numbers that open a DESCRIBE body; its str16s follow. */
void
wire_describe_fixed(uint8_t *p, int64_t start_us, uint32_t pid,
					uint32_t period_us, uint16_t metric_total,
					uint16_t first_metric, uint16_t name_count)
{
	wire_put_i64(p, start_us);
	wire_put_u32(p + 8, pid);
	wire_put_u32(p + 12, period_us);
	wire_put_u16(p + 16, metric_total);
	wire_put_u16(p + 18, first_metric);
	wire_put_u16(p + 20, name_count);
}

/* The numbers that open a TICKS body; tick_count rows of width follow. */
void
wire_ticks_fixed(uint8_t *p, int64_t base_us, uint16_t first_metric,
				 uint16_t width, uint16_t tick_count)
{
	wire_put_i64(p, base_us);
	wire_put_u16(p + 8, first_metric);
	wire_put_u16(p + 10, width);
	wire_put_u16(p + 12, tick_count);
	wire_put_u16(p + 14, 0);	/* reserved */
}

/*
 * UTF-8 of a str checked against the protocol's limits: at most 1,024
 * bytes, no NUL.  what names the field in the error message.
 */
const char *
wire_checked_utf8(PyObject *str, Py_ssize_t *len, const char *what)
{
	const char *s;

	if (!PyUnicode_Check(str))
	{
		PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s",
					 what, Py_TYPE(str)->tp_name);
		return NULL;
	}
	s = PyUnicode_AsUTF8AndSize(str, len);
	if (s == NULL)
		return NULL;
	if (*len > DOLON_MAX_NAME)
	{
		PyErr_Format(PyExc_ValueError,
					 "%s is %zd bytes of UTF-8; the protocol allows %d",
					 what, *len, DOLON_MAX_NAME);
		return NULL;
	}
	if (memchr(s, '\0', *len) != NULL)
	{
		PyErr_Format(PyExc_ValueError, "%s contains a NUL character", what);
		return NULL;
	}
	return s;
}
