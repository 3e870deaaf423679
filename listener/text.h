/*
 * text.h
 *	  Checks on text shared by the datagram decoders: UTF-8, hex digits and
 *	  UUIDs written as text.
 *
 * Plain C, no PostgreSQL headers, like the decoder that uses it.
 */
#ifndef MNEMIC_TEXT_H
#define MNEMIC_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True if buf[0..len) is valid UTF-8 without NUL bytes. */
extern bool utf8_valid(const uint8_t *buf, size_t len);

/* Length of the UTF-8 sequence a lead byte announces; 0 if it is no lead. */
static inline size_t
utf8_sequence_length(uint8_t lead)
{
	if (lead >= 0xC2 && lead <= 0xDF)
		return 2;
	if (lead >= 0xE0 && lead <= 0xEF)
		return 3;
	if (lead >= 0xF0 && lead <= 0xF4)
		return 4;
	return 0;
}

/*
 * The range of the byte after a lead byte: narrower than 80..BF after E0, ED,
 * F0 and F4, which excludes overlong forms, surrogates and code points above
 * U+10FFFF (RFC 3629, table 3-7 of the Unicode standard).
 */
static inline void
utf8_second_byte_range(uint8_t lead, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (lead == 0xE0)
		*lo = 0xA0;				/* overlong below U+0800 */
	else if (lead == 0xED)
		*hi = 0x9F;				/* surrogates U+D800..U+DFFF */
	else if (lead == 0xF0)
		*lo = 0x90;				/* overlong below U+10000 */
	else if (lead == 0xF4)
		*hi = 0x8F;				/* above U+10FFFF */
}

/*
 * The input ends inside the UTF-8 sequence at p: could the missing bytes
 * still make it valid?  (Then the text was cut short, not mis-encoded.)
 */
extern bool utf8_prefix_valid(const uint8_t *p, const uint8_t *end);

/* The value of a hex digit of either case, or -1. */
static inline int
hex_digit_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse "xxxxxxxx-xxxx-..." (hyphens optional, any case) into 16 bytes. */
extern bool uuid_from_text(const char *s, size_t len, uint8_t out[16]);

#endif							/* MNEMIC_TEXT_H */
