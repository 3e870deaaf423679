/*
 * json_scan.c
 *	  A small strict JSON scanner for the legacy datagram format.
 *
 * Iterative, bounded and allocation-free: nesting is tracked in a fixed
 * array of DG_MAX_JSON_DEPTH entries, so hostile input can neither recurse
 * nor allocate.  Strings are validated where they lie and only unescaped
 * when legacy_json.c needs their value; numbers take a fast exact path and fall
 * back to strtod() on a bounded copy.  See json_scan.h for the contract.
 */
#include "json_scan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* What a byte means inside a JSON string. */
enum
{
	SC_PLAIN = 0,				/* printable ASCII, taken as is */
	SC_QUOTE,					/* ends the string */
	SC_BACKSLASH,				/* starts an escape */
	SC_CONTROL,					/* U+0000..U+001F, which must be escaped */
	SC_MULTIBYTE				/* a byte of a UTF-8 sequence */
};

#define P SC_PLAIN
#define Q SC_QUOTE
#define B SC_BACKSLASH
#define C SC_CONTROL
#define M SC_MULTIBYTE
static const uint8_t string_class[256] = {
	C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C,	/* 00 */
	C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C,	/* 10 */
	P, P, Q, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* 20 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* 30 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* 40 */
	P, P, P, P, P, P, P, P, P, P, P, P, B, P, P, P,	/* 50 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* 60 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* 70 */
	M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,	/* 80 */
	M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,	/* 90 */
	M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,	/* A0 */
	M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,	/* B0 */
	M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,	/* C0 */
	M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,	/* D0 */
	M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,	/* E0 */
	M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,	/* F0 */
};
#undef P
#undef Q
#undef B
#undef C
#undef M

static inline bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * Consume the literal word (e.g. "null") at the cursor.  A prefix of the word
 * cut off by the end of the input is TRUNCATED, anything else BAD_JSON.
 */
static DecodeResult
take_literal(JsonCursor *cur, const char *word, size_t wordlen)
{
	size_t		avail = (size_t) (cur->end - cur->pos);
	size_t		n = avail < wordlen ? avail : wordlen;

	if (memcmp(cur->pos, word, n) != 0)
		return DECODE_BAD_JSON;
	if (n < wordlen)
		return DECODE_TRUNCATED;
	cur->pos += wordlen;
	return DECODE_OK;
}

DecodeResult
json_scan_string(JsonCursor *cur, JsonRawString *out)
{
	const uint8_t *p = cur->pos + 1;	/* past the opening quote */
	const uint8_t *end = cur->end;
	bool		escaped = false;

	for (;;)
	{
		/* The common case: a run of printable ASCII. */
		while (p < end && string_class[*p] == SC_PLAIN)
			p++;
		if (p >= end)
			return DECODE_TRUNCATED;

		switch (string_class[*p])
		{
			case SC_QUOTE:
				out->ptr = cur->pos + 1;
				out->len = (size_t) (p - out->ptr);
				out->escaped = escaped;
				cur->pos = p + 1;
				return DECODE_OK;

			case SC_BACKSLASH:
				escaped = true;
				if (end - p < 2)
					return DECODE_TRUNCATED;
				switch (p[1])
				{
					case '"':
					case '\\':
					case '/':
					case 'b':
					case 'f':
					case 'n':
					case 'r':
					case 't':
						p += 2;
						break;
					case 'u':
						for (int i = 2; i < 6; i++)
						{
							if (p + i >= end)
								return DECODE_TRUNCATED;
							if (hex_digit_value(p[i]) < 0)
								return DECODE_BAD_JSON;
						}
						p += 6;
						break;
					default:
						return DECODE_BAD_JSON;
				}
				break;

			case SC_CONTROL:
				return DECODE_BAD_JSON;

			case SC_MULTIBYTE:
				{
					size_t		n = utf8_sequence_length(*p);

					if (n == 0)
						return DECODE_BAD_UTF8;
					if ((size_t) (end - p) < n)
						return utf8_prefix_valid(p, end) ?
							DECODE_TRUNCATED : DECODE_BAD_UTF8;
					if (!utf8_valid(p, n))
						return DECODE_BAD_UTF8;
					p += n;
				}
				break;
		}
	}
}

/* The 4 hex digits of a \u escape at p (already validated by the scan). */
static inline uint32_t
read_u_escape(const uint8_t *p)
{
	return (uint32_t) (hex_digit_value(p[2]) << 12 | hex_digit_value(p[3]) << 8 |
					   hex_digit_value(p[4]) << 4 | hex_digit_value(p[5]));
}

static inline size_t
put_utf8(char *dst, uint32_t cp)
{
	if (cp < 0x80)
	{
		dst[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		dst[0] = (char) (0xC0 | (cp >> 6));
		dst[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		dst[0] = (char) (0xE0 | (cp >> 12));
		dst[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		dst[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	dst[0] = (char) (0xF0 | (cp >> 18));
	dst[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	dst[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	dst[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * The raw string was validated by json_scan_string(), so every escape is
 * complete here.  Each escape is at least as long as what it decodes to
 * (\uXXXX is 6 bytes for at most 3; a surrogate pair 12 bytes for 4).
 */
DecodeResult
json_unescape(const JsonRawString *raw, char *dst, size_t *dst_len)
{
	const uint8_t *p = raw->ptr;
	const uint8_t *end = raw->ptr + raw->len;
	char	   *d = dst;

	while (p < end)
	{
		const uint8_t *run = p;
		uint32_t	cp;

		while (p < end && *p != '\\')
			p++;
		if (p > run)
		{
			memcpy(d, run, (size_t) (p - run));
			d += p - run;
		}
		if (p >= end)
			break;

		switch (p[1])
		{
			case 'b':
				*d++ = '\b';
				p += 2;
				continue;
			case 'f':
				*d++ = '\f';
				p += 2;
				continue;
			case 'n':
				*d++ = '\n';
				p += 2;
				continue;
			case 'r':
				*d++ = '\r';
				p += 2;
				continue;
			case 't':
				*d++ = '\t';
				p += 2;
				continue;
			case 'u':
				break;
			default:			/* " \ / stand for themselves */
				*d++ = (char) p[1];
				p += 2;
				continue;
		}

		cp = read_u_escape(p);
		p += 6;
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return DECODE_BAD_UTF8; /* low surrogate without a high one */
		if (cp >= 0xD800 && cp <= 0xDBFF)
		{
			uint32_t	low;

			if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
				return DECODE_BAD_UTF8;
			low = read_u_escape(p);
			if (low < 0xDC00 || low > 0xDFFF)
				return DECODE_BAD_UTF8;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
			p += 6;
		}
		d += put_utf8(d, cp);
	}
	*dst_len = (size_t) (d - dst);
	return DECODE_OK;
}

/* Powers of ten a double holds exactly (10^22 is the largest). */
static const double exact_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/*
 * What scan_number() learnt about a number token: its span, and, when it has
 * at most 15 significant digits, mantissa and decimal exponent.
 */
typedef struct NumberToken
{
	const uint8_t *start;
	size_t		len;
	bool		negative;
	bool		simple;			/* mantissa/exponent are exact */
	uint64_t	mantissa;
	int			exponent;
} NumberToken;

/*
 * Scan -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at the cursor, which
 * must be on '-' or a digit.
 */
static DecodeResult
scan_number(JsonCursor *cur, NumberToken *tok)
{
	const uint8_t *p = cur->pos;
	const uint8_t *end = cur->end;
	uint64_t	mantissa = 0;
	int			digits = 0;		/* significant digits in mantissa */
	int			exponent = 0;
	bool		simple = true;

	tok->start = p;
	tok->negative = false;
	if (*p == '-')
	{
		tok->negative = true;
		if (++p >= end)
			return DECODE_TRUNCATED;
		if (!is_digit(*p))
			return DECODE_BAD_JSON;
	}

	if (*p == '0')
		p++;
	else
	{
		for (; p < end && is_digit(*p); p++)
		{
			if (digits < 15)
			{
				mantissa = mantissa * 10 + (uint64_t) (*p - '0');
				digits++;
			}
			else
				simple = false;
		}
	}

	if (p < end && *p == '.')
	{
		if (++p >= end)
			return DECODE_TRUNCATED;
		if (!is_digit(*p))
			return DECODE_BAD_JSON;
		for (; p < end && is_digit(*p); p++)
		{
			/* Leading zeros of a fraction are not significant digits. */
			if (mantissa == 0 && *p == '0')
				exponent--;
			else if (digits < 15)
			{
				mantissa = mantissa * 10 + (uint64_t) (*p - '0');
				digits++;
				exponent--;
			}
			else
				simple = false;
		}
	}

	if (p < end && (*p == 'e' || *p == 'E'))
	{
		int			e = 0;
		bool		eneg = false;

		if (++p >= end)
			return DECODE_TRUNCATED;
		if (*p == '+' || *p == '-')
		{
			eneg = (*p == '-');
			if (++p >= end)
				return DECODE_TRUNCATED;
		}
		if (!is_digit(*p))
			return DECODE_BAD_JSON;
		for (; p < end && is_digit(*p); p++)
			if (e < 100000)		/* far beyond any double; avoid overflow */
				e = e * 10 + (*p - '0');
		exponent += eneg ? -e : e;
	}

	tok->len = (size_t) (p - tok->start);
	tok->simple = simple;
	tok->mantissa = mantissa;
	tok->exponent = exponent;
	cur->pos = p;
	return DECODE_OK;
}

/*
 * With at most 15 digits the mantissa is exact in a double, and so is 10^k
 * for k <= 22, so one multiplication or division rounds correctly (Clinger's
 * fast path).  Everything else goes to the C library.
 */
static DecodeResult
convert_number(const NumberToken *tok, double *out)
{
	char		copy[JSON_MAX_NUMBER_CHARS + 1];
	double		v;

	if (tok->simple && tok->mantissa == 0)
	{
		*out = tok->negative ? -0.0 : 0.0;
		return DECODE_OK;
	}
	if (tok->simple && tok->exponent >= -22 && tok->exponent <= 22)
	{
		v = (double) tok->mantissa;
		if (tok->exponent >= 0)
			v *= exact_pow10[tok->exponent];
		else
			v /= exact_pow10[-tok->exponent];
		*out = tok->negative ? -v : v;
		return DECODE_OK;
	}

	if (tok->len > JSON_MAX_NUMBER_CHARS)
		return DECODE_TOO_LONG;
	memcpy(copy, tok->start, tok->len);
	copy[tok->len] = '\0';
	/*
	 * Overflow gives ±HUGE_VAL = ±Infinity, as Python's float() does.  The
	 * decimal point is '.' because PostgreSQL backends always run with
	 * LC_NUMERIC=C (and the test programs never call setlocale()).
	 */
	*out = strtod(copy, NULL);
	return DECODE_OK;
}

DecodeResult
json_parse_number(JsonCursor *cur, double *out)
{
	NumberToken tok;
	DecodeResult r;
	uint8_t		c = *cur->pos;

	if (c == 'N')
	{
		r = take_literal(cur, "NaN", 3);
		if (r == DECODE_OK)
			*out = NAN;
		return r;
	}
	if (c == 'I')
	{
		r = take_literal(cur, "Infinity", 8);
		if (r == DECODE_OK)
			*out = INFINITY;
		return r;
	}
	if (c == '-' && cur->end - cur->pos >= 2 && cur->pos[1] == 'I')
	{
		cur->pos++;
		r = take_literal(cur, "Infinity", 8);
		if (r == DECODE_OK)
			*out = -INFINITY;
		return r;
	}
	if (c != '-' && !is_digit(c))
		return DECODE_WRONG_TYPE;

	r = scan_number(cur, &tok);
	if (r != DECODE_OK)
		return r;
	return convert_number(&tok, out);
}

bool
json_take_null(JsonCursor *cur)
{
	if (cur->end - cur->pos >= 4 && memcmp(cur->pos, "null", 4) == 0)
	{
		cur->pos += 4;
		return true;
	}
	return false;
}

/* Read `"key"` then `:` and the whitespace around it. */
static DecodeResult
skip_member_name(JsonCursor *cur)
{
	JsonRawString key;
	DecodeResult r;

	if (cur->pos >= cur->end)
		return DECODE_TRUNCATED;
	if (*cur->pos != '"')
		return DECODE_BAD_JSON;
	r = json_scan_string(cur, &key);
	if (r != DECODE_OK)
		return r;
	json_skip_space(cur);
	if (cur->pos >= cur->end)
		return DECODE_TRUNCATED;
	if (*cur->pos != ':')
		return DECODE_BAD_JSON;
	cur->pos++;
	json_skip_space(cur);
	return DECODE_OK;
}

/* One scalar value: string, literal or number. */
static DecodeResult
skip_scalar(JsonCursor *cur)
{
	JsonRawString str;
	NumberToken tok;

	switch (*cur->pos)
	{
		case '"':
			return json_scan_string(cur, &str);
		case 't':
			return take_literal(cur, "true", 4);
		case 'f':
			return take_literal(cur, "false", 5);
		case 'n':
			return take_literal(cur, "null", 4);
		case 'N':
			return take_literal(cur, "NaN", 3);
		case 'I':
			return take_literal(cur, "Infinity", 8);
		case '-':
			if (cur->end - cur->pos >= 2 && cur->pos[1] == 'I')
			{
				cur->pos++;
				return take_literal(cur, "Infinity", 8);
			}
			return scan_number(cur, &tok);
		default:
			if (is_digit(*cur->pos))
				return scan_number(cur, &tok);
			return DECODE_BAD_JSON;
	}
}

DecodeResult
json_skip_value(JsonCursor *cur, int depth)
{
	uint8_t		closer[DG_MAX_JSON_DEPTH];	/* '}' or ']' per open container */
	int			open = 0;
	DecodeResult r;

	for (;;)
	{
		/* Here a value starts. */
		if (cur->pos >= cur->end)
			return DECODE_TRUNCATED;
		if (*cur->pos == '{' || *cur->pos == '[')
		{
			uint8_t		close = (*cur->pos == '{') ? '}' : ']';

			if (depth + open >= DG_MAX_JSON_DEPTH)
				return DECODE_TOO_DEEP;
			closer[open++] = close;
			cur->pos++;
			json_skip_space(cur);
			if (cur->pos >= cur->end)
				return DECODE_TRUNCATED;
			if (*cur->pos == close)
			{
				cur->pos++;
				open--;
			}
			else
			{
				if (close == '}' && (r = skip_member_name(cur)) != DECODE_OK)
					return r;
				continue;		/* to the first element's value */
			}
		}
		else if ((r = skip_scalar(cur)) != DECODE_OK)
			return r;

		/* A value ended: close containers until one has a next element. */
		for (;;)
		{
			if (open == 0)
				return DECODE_OK;
			json_skip_space(cur);
			if (cur->pos >= cur->end)
				return DECODE_TRUNCATED;
			if (*cur->pos == ',')
			{
				cur->pos++;
				json_skip_space(cur);
				if (closer[open - 1] == '}' &&
					(r = skip_member_name(cur)) != DECODE_OK)
					return r;
				break;
			}
			if (*cur->pos != closer[open - 1])
				return DECODE_BAD_JSON;
			cur->pos++;
			open--;
		}
	}
}
