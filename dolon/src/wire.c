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

/* ------------------------------------------------------------------------
 * The profile messages (kinds 0x10-0x16)
 * ------------------------------------------------------------------------ */

/* The opening of FRAMES, STACKS, THREADS and ALLOC_TYPES. */
void
wire_defs_fixed(uint8_t *p, uint16_t count)
{
	wire_put_u16(p, count);
	wire_put_u16(p + 2, 0);		/* reserved */
}

/* The opening of STACK_SAMPLES and ALLOCS: samples of one thread. */
void
wire_samples_fixed(uint8_t *p, int64_t base_us, uint32_t thread,
				   uint16_t count)
{
	wire_put_i64(p, base_us);
	wire_put_u32(p + 8, thread);
	wire_put_u16(p + 12, count);
	wire_put_u16(p + 14, 0);	/* reserved */
}

void
wire_frees_fixed(uint8_t *p, int64_t base_us, uint16_t count)
{
	wire_put_i64(p, base_us);
	wire_put_u16(p + 8, count);
	wire_put_u16(p + 10, 0);	/* reserved */
}

/* One FRAMES entry; returns the bytes written.  Strings checked by caller. */
size_t
wire_put_frame(uint8_t *p, uint32_t id, uint32_t first_line, uint8_t kind,
			   const char *function, size_t function_len, const char *file,
			   size_t file_len)
{
	size_t		n = V1_FRAME_FIXED;

	wire_put_u32(p, id);
	wire_put_u32(p + 4, first_line);
	p[8] = kind;
	n += wire_put_str16(p + n, function, function_len);
	n += wire_put_str16(p + n, file, file_len);
	return n;
}

void
wire_put_stack(uint8_t *p, uint32_t id, uint32_t parent, uint32_t frame,
			   uint32_t line)
{
	wire_put_u32(p, id);
	wire_put_u32(p + 4, parent);
	wire_put_u32(p + 8, frame);
	wire_put_u32(p + 12, line);
}

size_t
wire_put_thread(uint8_t *p, uint32_t id, uint64_t native_id,
				const char *name, size_t name_len)
{
	wire_put_u32(p, id);
	wire_put_u64(p + 4, native_id);
	return V1_THREAD_FIXED + wire_put_str16(p + V1_THREAD_FIXED, name,
											name_len);
}

void
wire_put_stack_sample(uint8_t *p, uint32_t offset_us, uint32_t stack,
					  uint32_t weight_us, uint8_t flags, uint64_t rss_bytes)
{
	wire_put_u32(p, offset_us);
	wire_put_u32(p + 4, stack);
	wire_put_u32(p + 8, weight_us);
	p[12] = flags;
	wire_put_u64(p + 13, rss_bytes);
}

size_t
wire_put_alloc_type(uint8_t *p, uint32_t id, const char *name,
					size_t name_len)
{
	wire_put_u32(p, id);
	return V1_ALLOC_TYPE_FIXED + wire_put_str16(p + V1_ALLOC_TYPE_FIXED, name,
												name_len);
}

void
wire_put_alloc(uint8_t *p, uint32_t offset_us, uint32_t stack, uint32_t type,
			   uint64_t bytes, uint64_t alloc_id)
{
	wire_put_u32(p, offset_us);
	wire_put_u32(p + 4, stack);
	wire_put_u32(p + 8, type);
	wire_put_u64(p + 12, bytes);
	wire_put_u64(p + 20, alloc_id);
}

void
wire_put_free(uint8_t *p, uint32_t offset_us, uint64_t alloc_id)
{
	wire_put_u32(p, offset_us);
	wire_put_u64(p + 4, alloc_id);
}

/*
 * The length of the longest prefix of the UTF-8 text s (len bytes) that
 * fits limit bytes and ends on a character boundary: names the program
 * chose (a function, a file, a thread) are cut to the protocol's limit
 * rather than refused.
 */
size_t
wire_clip_utf8(const char *s, size_t len, size_t limit)
{
	if (len <= limit)
		return len;
	len = limit;
	/* back up over continuation bytes to the start of a character */
	while (len > 0 && ((unsigned char) s[len] & 0xC0) == 0x80)
		len--;
	return len;
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
