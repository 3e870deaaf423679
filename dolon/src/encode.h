/*
 * encode.h
 *	  Binary v1 wire encoding, as docs/protocol.md specifies it (encode.c).
 */
#ifndef DOLON_ENCODE_H
#define DOLON_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "compat.h"

#define DOLON_MAX_METRICS	1024
#define DOLON_MAX_NAME		1024
#define DOLON_MAX_DATAGRAM	65507
#define V1_HEADER_SIZE		28
#define V1_MSG_HEADER_SIZE	4
#define V1_DESCRIBE_FIXED	22
#define V1_TICKS_FIXED		16
#define V1_DESCRIBE			1
#define V1_TICKS			2
#define V1_END				3

extern void wire_put_u8(uint8_t *p, uint8_t v);
extern void wire_put_u16(uint8_t *p, uint16_t v);
extern void wire_put_u32(uint8_t *p, uint32_t v);
extern void wire_put_i64(uint8_t *p, int64_t v);
extern void wire_put_f64(uint8_t *p, double v);
extern size_t wire_put_str16(uint8_t *p, const char *s, size_t len);
extern void wire_message_header(uint8_t *p, uint8_t kind, uint16_t body_len);
extern void wire_datagram_header(uint8_t *p, uint8_t flags, uint16_t count,
								 const uint8_t run[16], uint32_t seq);
extern const char *wire_checked_utf8(PyObject *str, Py_ssize_t *len,
									 const char *what);
extern PyMethodDef dolon_encode_methods[];

#endif							/* DOLON_ENCODE_H */
