/*
 * json_scan.h
 *	  A small strict JSON scanner for the legacy datagram format.
 *
 * Plain C, no PostgreSQL headers, no allocation of its own: legacy_json.c drives
 * it to pull the few fields it needs out of one datagram and to validate and
 * skip everything else.  The grammar is RFC 8259 plus the three bare tokens
 * Python's json module writes for non-finite floats (NaN, Infinity,
 * -Infinity), which dolon 0.2.0 sends.
 *
 * Every function takes a cursor positioned at the first byte of the thing to
 * read (no leading whitespace) and advances it past that thing.  They return
 * DECODE_OK, or the reason the datagram must be dropped:
 *	DECODE_TRUNCATED	the input ended where more was needed
 *	DECODE_BAD_JSON		anything else that is not JSON
 *	DECODE_BAD_UTF8		invalid UTF-8 bytes inside a string
 *	DECODE_TOO_DEEP		containers nested beyond DG_MAX_JSON_DEPTH
 */
#ifndef MNEMIC_JSON_SCAN_H
#define MNEMIC_JSON_SCAN_H

#include "decode.h"

typedef struct JsonCursor
{
	const uint8_t *pos;
	const uint8_t *end;
} JsonCursor;

/* A string as it appears between its quotes, already validated. */
typedef struct JsonRawString
{
	const uint8_t *ptr;
	size_t		len;
	bool		escaped;		/* contains backslash escapes */
} JsonRawString;

/* The four whitespace bytes JSON allows. */
static inline bool
json_is_space(uint8_t c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline void
json_skip_space(JsonCursor *cur)
{
	while (cur->pos < cur->end && json_is_space(*cur->pos))
		cur->pos++;
}

/*
 * Read a string (cursor on its opening quote).  Validates escapes, rejects
 * control characters and checks the raw bytes are UTF-8; does not decode.
 */
extern DecodeResult json_scan_string(JsonCursor *cur, JsonRawString *out);

/*
 * Decode the escapes of a scanned string into dst, which must hold raw->len
 * bytes (decoding never lengthens a string).  Returns DECODE_BAD_UTF8 for a
 * \u escape of an unpaired surrogate, which has no UTF-8 form.
 */
extern DecodeResult json_unescape(const JsonRawString *raw, char *dst,
								  size_t *dst_len);

/*
 * Read a number, NaN, Infinity or -Infinity.  Returns DECODE_WRONG_TYPE
 * without moving the cursor when the value there is of another type, and
 * DECODE_TOO_LONG for a number of more than JSON_MAX_NUMBER_CHARS
 * characters, which is not converted.
 */
#define JSON_MAX_NUMBER_CHARS	128
extern DecodeResult json_parse_number(JsonCursor *cur, double *out);

/* Read the literal null if it is there; false (cursor unmoved) if not. */
extern bool json_take_null(JsonCursor *cur);

/*
 * Validate and skip one value of any type.  depth is the number of
 * containers already open around it.
 */
extern DecodeResult json_skip_value(JsonCursor *cur, int depth);

#endif							/* MNEMIC_JSON_SCAN_H */
