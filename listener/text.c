/*
 * text.c
 *	  Checks on text shared by the datagram decoders (see text.h).
 */
#include "text.h"

#include <string.h>

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequences; and no NUL, which PostgreSQL text cannot
 * hold.  Eight ASCII bytes are checked at a time.
 */
bool
utf8_valid(const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf;
	const uint8_t *end = buf + len;
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);

	while (p < end)
	{
		uint8_t		c;
		uint8_t		lo;
		uint8_t		hi;
		size_t		n;

		while (end - p >= 8)
		{
			uint64_t	w;

			memcpy(&w, p, 8);
			/* any byte >= 0x80, or any zero byte */
			if ((w & highs) != 0 || ((w - ones) & ~w & highs) != 0)
				break;
			p += 8;
		}
		if (p >= end)
			break;

		c = *p;
		if (c < 0x80)
		{
			if (c == 0)
				return false;
			p++;
			continue;
		}

		n = utf8_sequence_length(c);
		if (n == 0)
			return false;		/* continuation byte, C0, C1, F5..FF */
		utf8_second_byte_range(c, &lo, &hi);

		if ((size_t) (end - p) < n)
			return false;
		if (p[1] < lo || p[1] > hi)
			return false;
		for (size_t i = 2; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

bool
utf8_prefix_valid(const uint8_t *p, const uint8_t *end)
{
	uint8_t		lo;
	uint8_t		hi;

	utf8_second_byte_range(p[0], &lo, &hi);

	for (const uint8_t *q = p + 1; q < end; q++)
	{
		if (*q < lo || *q > hi)
			return false;
		lo = 0x80;
		hi = 0xBF;
	}
	return true;
}

/*
 * 32 hex digits, either case, each of the four hyphens of the canonical
 * 8-4-4-4-12 form optional; nothing else (no braces, no other hyphens).
 */
bool
uuid_from_text(const char *s, size_t len, uint8_t out[16])
{
	size_t		i = 0;

	for (int nibble = 0; nibble < 32; nibble++)
	{
		int			v;

		if ((nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20) &&
			i < len && s[i] == '-')
			i++;
		if (i >= len || (v = hex_digit_value((uint8_t) s[i])) < 0)
			return false;
		i++;
		if (nibble % 2 == 0)
			out[nibble / 2] = (uint8_t) (v << 4);
		else
			out[nibble / 2] |= (uint8_t) v;
	}
	return i == len;
}
