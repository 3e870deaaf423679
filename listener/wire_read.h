/*
 * wire_read.h
 *	  Reading the little-endian fields of binary v1 (docs/protocol.md),
 *	  shared by the decoders of its messages.
 *
 * Plain C, no PostgreSQL headers.  Fields are read with memcpy() (no
 * alignment traps, one instruction on x86); a BodyReader checks that each
 * field is there before reading it, so a body whose fields run past its
 * declared length is TRUNCATED.
 */
#ifndef MNEMIC_WIRE_READ_H
#define MNEMIC_WIRE_READ_H

#include <string.h>

#include "decode.h"
#include "text.h"

static inline uint16_t
load_u16(const uint8_t *p)
{
	uint16_t	v;

	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap16(v);
#endif
	return v;
}

static inline uint32_t
load_u32(const uint8_t *p)
{
	uint32_t	v;

	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t
load_u64(const uint8_t *p)
{
	uint64_t	v;

	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline int64_t
load_i64(const uint8_t *p)
{
	return (int64_t) load_u64(p);
}

/*
 * A bounded reader over one message body: each take_* checks the bytes are
 * there, so a body whose fields run past its declared length is TRUNCATED.
 */
typedef struct BodyReader
{
	const uint8_t *pos;
	const uint8_t *end;
} BodyReader;

static inline DecodeResult
take_str16(BodyReader *rd, DgString *out)
{
	uint16_t	n;

	if (rd->end - rd->pos < 2)
		return DECODE_TRUNCATED;
	n = load_u16(rd->pos);
	rd->pos += 2;
	if (n > DG_MAX_NAME)
		return DECODE_TOO_LONG;
	if (rd->end - rd->pos < n)
		return DECODE_TRUNCATED;
	if (!utf8_valid(rd->pos, n))
		return DECODE_BAD_UTF8;
	out->ptr = (const char *) rd->pos;
	out->len = n;
	rd->pos += n;
	return DECODE_OK;
}

#endif							/* MNEMIC_WIRE_READ_H */
