/*
 * wire.h
 *	  The byte layout of binary v1, as docs/protocol.md specifies it
 *	  (wire.c).
 *
 * Everything that knows where a field of a v1 datagram sits is here: the
 * sender (v1_batch.c) and the encode_* test entry points (encode.c) both
 * write through these helpers, so the layout is written down once.  All
 * fields are little-endian; callers provide the memory.
 */
#ifndef DOLON_WIRE_H
#define DOLON_WIRE_H

#include "compat.h"

#include <stddef.h>
#include <stdint.h>

/* the protocol's limits */
#define DOLON_MAX_METRICS	1024	/* metrics in one run */
#define DOLON_MAX_NAME		1024	/* bytes of UTF-8 in one str16 */

/* sizes, in bytes */
#define V1_HEADER_SIZE		28	/* datagram header */
#define V1_MSG_HEADER_SIZE	4	/* kind, flags, u16 body length */
#define V1_DESCRIBE_FIXED	22	/* DESCRIBE body before its strings */
#define V1_TICKS_FIXED		16	/* TICKS body before its ticks */
#define V1_END_SIZE			8	/* END body */

/* message kinds */
#define V1_DESCRIBE			1
#define V1_TICKS			2
#define V1_END				3

/* datagram flags */
#define V1_FLAG_AUTH		1

extern void wire_put_u16(uint8_t *p, uint16_t v);
extern void wire_put_u32(uint8_t *p, uint32_t v);
extern void wire_put_i64(uint8_t *p, int64_t v);
extern void wire_put_f64(uint8_t *p, double v);
extern size_t wire_put_str16(uint8_t *p, const char *s, size_t len);

extern void wire_datagram_header(uint8_t *p, uint8_t flags, uint16_t count,
								 const uint8_t run[16], uint32_t seq);
extern void wire_message_header(uint8_t *p, uint8_t kind, uint16_t body_len);
extern void wire_describe_fixed(uint8_t *p, int64_t start_us, uint32_t pid,
								uint32_t period_us, uint16_t metric_total,
								uint16_t first_metric, uint16_t name_count);
extern void wire_ticks_fixed(uint8_t *p, int64_t base_us,
							 uint16_t first_metric, uint16_t width,
							 uint16_t tick_count);

extern const char *wire_checked_utf8(PyObject *str, Py_ssize_t *len,
									 const char *what);

#endif							/* DOLON_WIRE_H */
