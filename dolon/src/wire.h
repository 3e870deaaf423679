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
#define V1_FRAMES			0x10	/* the profile kinds, "Profiles" */
#define V1_STACKS			0x11
#define V1_THREADS			0x12
#define V1_STACK_SAMPLES	0x13
#define V1_ALLOC_TYPES		0x14
#define V1_ALLOCS			0x15
#define V1_FREES			0x16

/*
 * Sizes of the profile messages: a fixed part opens each body, then N
 * entries.  FRAMES, THREADS and ALLOC_TYPES entries end in strings, so only
 * their fixed part is given.
 */
#define V1_DEFS_FIXED		4	/* u16 N, u16 reserved */
#define V1_SAMPLES_FIXED	16	/* i64 base, u32 thread, u16 N, u16 reserved */
#define V1_FREES_FIXED		12	/* i64 base, u16 N, u16 reserved */
#define V1_FRAME_FIXED		9	/* then str16 function, str16 file */
#define V1_STACK_SIZE		16
#define V1_THREAD_FIXED		12	/* then str16 name */
#define V1_STACK_SAMPLE_SIZE 21
#define V1_ALLOC_TYPE_FIXED 4	/* then str16 name */
#define V1_ALLOC_SIZE		28
#define V1_FREE_SIZE		12

/* frame kinds of FRAMES */
#define V1_FRAME_PYTHON		0
#define V1_FRAME_NATIVE		1
#define V1_FRAME_TASK		2	/* an asyncio task, outermost */
#define V1_FRAME_MARKER		3	/* added by the client, e.g. <idle> */

/* flags of a STACK_SAMPLES entry */
#define V1_SAMPLE_ON_CPU	1

/* datagram flags */
#define V1_FLAG_AUTH		1

extern void wire_put_u16(uint8_t *p, uint16_t v);
extern void wire_put_u32(uint8_t *p, uint32_t v);
extern void wire_put_i64(uint8_t *p, int64_t v);
#define wire_put_u64(p, v) wire_put_i64((p), (int64_t) (v))
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

/* the profile messages: fixed parts, then one entry at a time */
extern void wire_defs_fixed(uint8_t *p, uint16_t count);
extern void wire_samples_fixed(uint8_t *p, int64_t base_us, uint32_t thread,
							   uint16_t count);
extern void wire_frees_fixed(uint8_t *p, int64_t base_us, uint16_t count);
extern size_t wire_put_frame(uint8_t *p, uint32_t id, uint32_t first_line,
							 uint8_t kind, const char *function,
							 size_t function_len, const char *file,
							 size_t file_len);
extern void wire_put_stack(uint8_t *p, uint32_t id, uint32_t parent,
						   uint32_t frame, uint32_t line);
extern size_t wire_put_thread(uint8_t *p, uint32_t id, uint64_t native_id,
							  const char *name, size_t name_len);
extern void wire_put_stack_sample(uint8_t *p, uint32_t offset_us,
								  uint32_t stack, uint32_t weight_us,
								  uint8_t flags, uint64_t rss_bytes);
extern size_t wire_put_alloc_type(uint8_t *p, uint32_t id, const char *name,
								  size_t name_len);
extern void wire_put_alloc(uint8_t *p, uint32_t offset_us, uint32_t stack,
						   uint32_t type, uint64_t bytes, uint64_t alloc_id);
extern void wire_put_free(uint8_t *p, uint32_t offset_us, uint64_t alloc_id);
extern size_t wire_clip_utf8(const char *s, size_t len, size_t limit);

extern const char *wire_checked_utf8(PyObject *str, Py_ssize_t *len,
									 const char *what);

#endif							/* DOLON_WIRE_H */
