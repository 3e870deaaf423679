/*
 * decode.c
 *	  Turn one UDP datagram (legacy JSON or binary v1) into messages.
 *
 * The byte layouts and every rule enforced here are in docs/protocol.md.
 * This runs in the ingest path of the database for every datagram, so it
 * reads fields with memcpy() (no alignment traps, one instruction on x86),
 * copies tick values in one block per tick, and allocates only from the
 * caller's arena.  Nothing here reads outside buf[0..len): every read is
 * preceded by a length check against the end of the enclosing structure.
 */
#include "decode.h"

#include <string.h>

#include "json.h"

static const char *const reason_names[DECODE_NREASONS] = {
	[DECODE_OK] = "ok",
	[DECODE_EMPTY] = "empty",
	[DECODE_BAD_MAGIC] = "bad_magic",
	[DECODE_BAD_VERSION] = "bad_version",
	[DECODE_BAD_FLAGS] = "bad_flags",
	[DECODE_TRUNCATED] = "truncated",
	[DECODE_TRAILING_BYTES] = "trailing_bytes",
	[DECODE_BAD_COUNT] = "bad_count",
	[DECODE_BAD_UTF8] = "bad_utf8",
	[DECODE_BAD_JSON] = "bad_json",
	[DECODE_TOO_DEEP] = "too_deep",
	[DECODE_WRONG_TYPE] = "wrong_type",
	[DECODE_MISSING_FIELD] = "missing_field",
	[DECODE_BAD_UUID] = "bad_uuid",
	[DECODE_TOO_LONG] = "too_long",
	[DECODE_UNKNOWN_MSG_TYPE] = "unknown_msg_type",
	[DECODE_OVERSIZED] = "oversized",
	[DECODE_BAD_TIMESTAMP] = "bad_timestamp",
};

const char *
decode_reason_name(DecodeResult r)
{
	if ((unsigned) r >= DECODE_NREASONS || reason_names[r] == NULL)
		return "unknown";
	return reason_names[r];
}

/* ---------------------------------------------------------------- arena */

/* 8-byte aligned space for n bytes, or NULL when the arena is exhausted. */
static void *
arena_alloc(DecodeArena *arena, size_t n)
{
	uintptr_t	at = (uintptr_t) arena->base + arena->used;
	size_t		pad = (size_t) (-at & 7);

	if (arena->size - arena->used < pad ||
		arena->size - arena->used - pad < n)
		return NULL;
	arena->used += pad + n;
	return (void *) (at + pad);
}

/* ---------------------------------------------------------- UTF-8, UUID */

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequences; and no NUL, which PostgreSQL text cannot
 * hold.  Eight ASCII bytes are checked at a time.
 */
bool
decode_utf8_valid(const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf;
	const uint8_t *end = buf + len;
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);

	while (p < end)
	{
		uint8_t		c;
		uint8_t		lo = 0x80;
		uint8_t		hi = 0xBF;
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

		if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c >= 0xE0 && c <= 0xEF)
		{
			n = 3;
			if (c == 0xE0)
				lo = 0xA0;		/* overlong below U+0800 */
			else if (c == 0xED)
				hi = 0x9F;		/* surrogates U+D800..U+DFFF */
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			n = 4;
			if (c == 0xF0)
				lo = 0x90;		/* overlong below U+10000 */
			else if (c == 0xF4)
				hi = 0x8F;		/* above U+10FFFF */
		}
		else
			return false;		/* continuation byte, C0, C1, F5..FF */

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

static inline int
hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * 32 hex digits, either case, each of the four hyphens of the canonical
 * 8-4-4-4-12 form optional; nothing else (no braces, no other hyphens).
 */
bool
decode_uuid_text(const char *s, size_t len, uint8_t out[16])
{
	size_t		i = 0;

	for (int nibble = 0; nibble < 32; nibble++)
	{
		int			v;

		if ((nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20) &&
			i < len && s[i] == '-')
			i++;
		if (i >= len || (v = hex_digit_value(s[i])) < 0)
			return false;
		i++;
		if (nibble % 2 == 0)
			out[nibble / 2] = (uint8_t) (v << 4);
		else
			out[nibble / 2] |= (uint8_t) v;
	}
	return i == len;
}

/* ------------------------------------------------------------- binary v1 */

#define V1_HEADER_SIZE		28
#define V1_FLAG_AUTH		0x01
#define V1_MESSAGE_HEADER	4
#define V1_DESCRIBE_FIXED	22	/* i64 u32 u32 u16 u16 u16 before the strings */
#define V1_TICKS_FIXED		16
#define V1_END_SIZE			8

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

static inline bool
is_known_kind(uint8_t kind)
{
	return kind == DG_DESCRIBE || kind == DG_TICKS || kind == DG_END;
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

static DecodeResult
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
	if (!decode_utf8_valid(rd->pos, n))
		return DECODE_BAD_UTF8;
	out->ptr = (const char *) rd->pos;
	out->len = n;
	rd->pos += n;
	return DECODE_OK;
}

static DecodeResult
decode_v1_describe(const uint8_t *body, size_t blen, DecodeArena *arena,
				   DgDescribe *d)
{
	BodyReader	rd = {body + V1_DESCRIBE_FIXED, body + blen};
	DecodeResult r;

	if (blen < V1_DESCRIBE_FIXED)
		return DECODE_TRUNCATED;
	d->start_us = load_i64(body);
	d->pid = load_u32(body + 8);
	d->period_us = load_u32(body + 12);
	d->metric_total = load_u16(body + 16);
	d->first_metric = load_u16(body + 18);
	d->metric_count = load_u16(body + 20);

	if (d->start_us < DG_MIN_TIME_US)
		return DECODE_BAD_TIMESTAMP;
	if (d->metric_total == 0 || d->metric_total > DG_MAX_METRICS ||
		(uint32_t) d->first_metric + d->metric_count > d->metric_total)
		return DECODE_BAD_COUNT;

	if ((r = take_str16(&rd, &d->tracer)) != DECODE_OK ||
		(r = take_str16(&rd, &d->host)) != DECODE_OK ||
		(r = take_str16(&rd, &d->program)) != DECODE_OK ||
		(r = take_str16(&rd, &d->python_version)) != DECODE_OK)
		return r;

	/* Each name needs at least its length field: check before allocating. */
	if ((size_t) (rd.end - rd.pos) < 2 * (size_t) d->metric_count)
		return DECODE_TRUNCATED;
	d->metrics = NULL;
	if (d->metric_count > 0)
	{
		d->metrics = arena_alloc(arena, d->metric_count * sizeof(DgString));
		if (d->metrics == NULL)
			return DECODE_OVERSIZED;
	}
	for (int i = 0; i < d->metric_count; i++)
		if ((r = take_str16(&rd, &d->metrics[i])) != DECODE_OK)
			return r;

	if (rd.pos != rd.end)
		return DECODE_TRAILING_BYTES;
	return DECODE_OK;
}

static DecodeResult
decode_v1_ticks(const uint8_t *body, size_t blen, DecodeArena *arena,
				DgTicks *t)
{
	int64_t		base;
	size_t		tick_size;
	size_t		expected;
	const uint8_t *p;

	if (blen < V1_TICKS_FIXED)
		return DECODE_TRUNCATED;
	base = load_i64(body);
	t->first_metric = load_u16(body + 8);
	t->value_count = load_u16(body + 10);
	t->tick_count = load_u16(body + 12);
	if (load_u16(body + 14) != 0)
		return DECODE_BAD_FLAGS;	/* reserved field */
	if (t->value_count == 0 || t->tick_count == 0 ||
		(uint32_t) t->first_metric + t->value_count > DG_MAX_METRICS)
		return DECODE_BAD_COUNT;

	tick_size = 4 + 8 * (size_t) t->value_count;
	expected = V1_TICKS_FIXED + t->tick_count * tick_size;
	if (blen < expected)
		return DECODE_TRUNCATED;
	if (blen > expected)
		return DECODE_TRAILING_BYTES;
	if (base < DG_MIN_TIME_US)
		return DECODE_BAD_TIMESTAMP;

	t->ts_us = arena_alloc(arena, t->tick_count * sizeof(int64_t));
	t->values = arena_alloc(arena, (size_t) t->tick_count * t->value_count *
							sizeof(double));
	if (t->ts_us == NULL || t->values == NULL)
		return DECODE_OVERSIZED;

	p = body + V1_TICKS_FIXED;
	for (size_t i = 0; i < t->tick_count; i++, p += tick_size)
	{
		uint32_t	offset = load_u32(p);

		if (base > INT64_MAX - (int64_t) offset)
			return DECODE_BAD_TIMESTAMP;
		t->ts_us[i] = base + offset;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		for (size_t v = 0; v < t->value_count; v++)
		{
			uint64_t	bits = load_u64(p + 4 + 8 * v);

			memcpy(&t->values[i * t->value_count + v], &bits, 8);
		}
#else
		/* The wire layout of one tick's values is the array layout. */
		memcpy(&t->values[i * t->value_count], p + 4,
			   8 * (size_t) t->value_count);
#endif
	}
	return DECODE_OK;
}

static DecodeResult
decode_v1_end(const uint8_t *body, size_t blen, int64_t *end_us)
{
	if (blen < V1_END_SIZE)
		return DECODE_TRUNCATED;
	if (blen > V1_END_SIZE)
		return DECODE_TRAILING_BYTES;
	*end_us = load_i64(body);
	if (*end_us < DG_MIN_TIME_US)
		return DECODE_BAD_TIMESTAMP;
	return DECODE_OK;
}

/*
 * Walk the message headers once to check the framing (every message and
 * body present, nothing left over) and to count the messages we keep, so
 * the messages array is allocated at its exact size.
 */
static DecodeResult
frame_v1_messages(const uint8_t *buf, size_t msg_end, uint16_t count,
				  uint32_t *known)
{
	size_t		pos = V1_HEADER_SIZE;

	*known = 0;
	for (int i = 0; i < count; i++)
	{
		uint8_t		kind;
		uint16_t	blen;

		if (msg_end - pos < V1_MESSAGE_HEADER)
			return DECODE_TRUNCATED;
		kind = buf[pos];
		blen = load_u16(buf + pos + 2);
		if (is_known_kind(kind))
		{
			if (buf[pos + 1] != 0)
				return DECODE_BAD_FLAGS;
			(*known)++;
		}
		pos += V1_MESSAGE_HEADER;
		if (msg_end - pos < blen)
			return DECODE_TRUNCATED;
		pos += blen;
	}
	if (pos != msg_end)
		return DECODE_TRAILING_BYTES;
	return DECODE_OK;
}

static DecodeResult
decode_v1(const uint8_t *buf, size_t len, DecodeArena *arena,
		  DecodedDatagram *out)
{
	uint8_t		flags;
	uint16_t	count;
	size_t		msg_end = len;
	uint32_t	known;
	size_t		pos;
	DecodeResult r;

	/* Version and flags first: a future layout may be shorter. */
	if (len < 5)
		return DECODE_TRUNCATED;
	if (buf[4] != 1)
		return DECODE_BAD_VERSION;
	if (len < 6)
		return DECODE_TRUNCATED;
	flags = buf[5];
	if ((flags & ~V1_FLAG_AUTH) != 0)
		return DECODE_BAD_FLAGS;
	if (len < V1_HEADER_SIZE)
		return DECODE_TRUNCATED;

	count = load_u16(buf + 6);
	memcpy(out->run, buf + 8, 16);
	out->has_seq = true;
	out->seq = load_u32(buf + 24);

	if (flags & V1_FLAG_AUTH)
	{
		uint8_t		tag_len;

		if (len < V1_HEADER_SIZE + 2)
			return DECODE_TRUNCATED;
		tag_len = buf[len - 1];
		if (len - V1_HEADER_SIZE - 2 < tag_len)
			return DECODE_TRUNCATED;
		out->has_auth = true;
		out->auth_key_id = buf[len - 2];
		msg_end = len - 2 - tag_len;
	}
	if (count == 0)
		return DECODE_BAD_COUNT;

	if ((r = frame_v1_messages(buf, msg_end, count, &known)) != DECODE_OK)
		return r;
	if (known > 0)
	{
		out->messages = arena_alloc(arena, known * sizeof(DgMessage));
		if (out->messages == NULL)
			return DECODE_OVERSIZED;
	}

	pos = V1_HEADER_SIZE;
	for (int i = 0; i < count; i++)
	{
		uint8_t		kind = buf[pos];
		uint16_t	blen = load_u16(buf + pos + 2);
		const uint8_t *body = buf + pos + V1_MESSAGE_HEADER;
		DgMessage  *m;

		pos += V1_MESSAGE_HEADER + blen;
		if (!is_known_kind(kind))
		{
			out->unknown_kinds++;
			continue;
		}

		m = &out->messages[out->message_count++];
		m->kind = (DgKind) kind;
		if (kind == DG_DESCRIBE)
			r = decode_v1_describe(body, blen, arena, &m->u.describe);
		else if (kind == DG_TICKS)
			r = decode_v1_ticks(body, blen, arena, &m->u.ticks);
		else
			r = decode_v1_end(body, blen, &m->u.end_us);
		if (r != DECODE_OK)
			return r;
	}
	return DECODE_OK;
}

/* ---------------------------------------------------------- legacy JSON */

/* The keys of a dolon 0.2.0 object; everything else is skipped. */
typedef enum LegacyKey
{
	KEY_OTHER,
	KEY_MSG_TYPE,
	KEY_UUID,
	KEY_APP_NAME,
	KEY_COLUMN_NAMES,
	KEY_ROW_DATA
} LegacyKey;

typedef enum LegacyMsgType
{
	MSG_OTHER,
	MSG_CREATE_TRACE_RUN,
	MSG_ROW
} LegacyMsgType;

/*
 * Whether a key was seen, and what was wrong with its value (DECODE_OK if
 * nothing).  Problems with a value are only held against the datagram once
 * msg_type says the key matters: msg_type may come last, and a key that
 * does not belong to the message is ignored like any unknown key.
 */
typedef struct FieldState
{
	bool		seen;
	DecodeResult status;
} FieldState;

typedef struct LegacyObject
{
	FieldState	msg_type_field;
	LegacyMsgType msg_type;
	FieldState	uuid_field;
	uint8_t		uuid[16];
	FieldState	app_name_field;
	DgString	app_name;
	FieldState	columns_field;
	DgString   *columns;		/* DG_MAX_METRICS slots, allocated once */
	uint32_t	column_count;
	FieldState	row_field;
	double	   *values;			/* DG_MAX_METRICS slots, allocated once */
	bool	   *isnull;
	uint32_t	value_count;
} LegacyObject;

/* Start a (possibly repeated) key afresh: the last occurrence counts. */
static inline void
field_reset(FieldState *f)
{
	f->seen = true;
	f->status = DECODE_OK;
}

/* Remember the first problem with a value. */
static inline void
field_fail(FieldState *f, DecodeResult r)
{
	if (f->status == DECODE_OK)
		f->status = r;
}

/*
 * The value of a short string we only compare (a key, msg_type, uuid).
 * Returns false when it cannot be one of the short strings we look for.
 */
static bool
short_string_value(const JsonRawString *raw, char *buf, size_t bufsize,
				   const char **str, size_t *len)
{
	if (!raw->escaped)
	{
		*str = (const char *) raw->ptr;
		*len = raw->len;
		return true;
	}
	if (raw->len > bufsize || json_unescape(raw, buf, len) != DECODE_OK)
		return false;
	*str = buf;
	return true;
}

static inline bool
text_equals(const char *s, size_t len, const char *lit)
{
	size_t		n = strlen(lit);

	return len == n && memcmp(s, lit, n) == 0;
}

static LegacyKey
classify_key(const JsonRawString *raw)
{
	char		buf[96];
	const char *s;
	size_t		len;

	if (!short_string_value(raw, buf, sizeof(buf), &s, &len))
		return KEY_OTHER;
	if (text_equals(s, len, "msg_type"))
		return KEY_MSG_TYPE;
	if (text_equals(s, len, "uuid"))
		return KEY_UUID;
	if (text_equals(s, len, "row_data"))
		return KEY_ROW_DATA;
	if (text_equals(s, len, "app_name"))
		return KEY_APP_NAME;
	if (text_equals(s, len, "column_names"))
		return KEY_COLUMN_NAMES;
	return KEY_OTHER;
}

/*
 * A name (app_name, a column name): its UTF-8 text, unescaped into the arena
 * when it has escapes.  Problems go to the field; only a fatal parse error
 * is returned.
 */
static DecodeResult
parse_name(JsonCursor *cur, DecodeArena *arena, FieldState *f, DgString *out)
{
	JsonRawString raw;
	DecodeResult r;

	if ((r = json_scan_string(cur, &raw)) != DECODE_OK)
		return r;
	out->ptr = (const char *) raw.ptr;
	out->len = (uint32_t) raw.len;
	if (raw.escaped)
	{
		char	   *dst = arena_alloc(arena, raw.len);
		size_t		dst_len;

		if (dst == NULL)
			return DECODE_OVERSIZED;
		if ((r = json_unescape(&raw, dst, &dst_len)) != DECODE_OK)
		{
			field_fail(f, r);
			return DECODE_OK;
		}
		out->ptr = dst;
		out->len = (uint32_t) dst_len;
		/* Only an escape can put a NUL into a JSON string. */
		if (memchr(dst, '\0', dst_len) != NULL)
			field_fail(f, DECODE_BAD_UTF8);
	}
	if (out->len > DG_MAX_NAME)
		field_fail(f, DECODE_TOO_LONG);
	return DECODE_OK;
}

/* Expect ',' (more elements follow: true) or the closer (false) of an array. */
static DecodeResult
next_element(JsonCursor *cur, bool *more)
{
	json_skip_space(cur);
	if (cur->pos >= cur->end)
		return DECODE_TRUNCATED;
	if (*cur->pos == ',')
	{
		cur->pos++;
		json_skip_space(cur);
		if (cur->pos >= cur->end)
			return DECODE_TRUNCATED;
		*more = true;
		return DECODE_OK;
	}
	if (*cur->pos == ']')
	{
		cur->pos++;
		*more = false;
		return DECODE_OK;
	}
	return DECODE_BAD_JSON;
}

/*
 * Open an array value.  *is_array false if the value is something else (then
 * it is skipped and the field marked wrong_type); *empty when it is "[]".
 */
static DecodeResult
open_array(JsonCursor *cur, FieldState *f, bool *is_array, bool *empty)
{
	*is_array = (*cur->pos == '[');
	if (!*is_array)
	{
		field_fail(f, DECODE_WRONG_TYPE);
		return json_skip_value(cur, 1);
	}
	cur->pos++;
	json_skip_space(cur);
	if (cur->pos >= cur->end)
		return DECODE_TRUNCATED;
	*empty = (*cur->pos == ']');
	if (*empty)
		cur->pos++;
	return DECODE_OK;
}

static DecodeResult
parse_column_names(JsonCursor *cur, DecodeArena *arena, LegacyObject *obj)
{
	FieldState *f = &obj->columns_field;
	bool		is_array;
	bool		empty;
	bool		more;
	DecodeResult r;

	obj->column_count = 0;
	if ((r = open_array(cur, f, &is_array, &empty)) != DECODE_OK || !is_array)
		return r;
	more = !empty;
	if (obj->columns == NULL)
	{
		obj->columns = arena_alloc(arena, DG_MAX_METRICS * sizeof(DgString));
		if (obj->columns == NULL)
			return DECODE_OVERSIZED;
	}

	while (more)
	{
		if (*cur->pos == '"' && obj->column_count < DG_MAX_METRICS)
			r = parse_name(cur, arena, f, &obj->columns[obj->column_count]);
		else
		{
			if (*cur->pos != '"')
				field_fail(f, DECODE_WRONG_TYPE);
			r = json_skip_value(cur, 2);
		}
		if (r != DECODE_OK)
			return r;
		if (obj->column_count++ == DG_MAX_METRICS)
			field_fail(f, DECODE_BAD_COUNT);
		if ((r = next_element(cur, &more)) != DECODE_OK)
			return r;
	}
	return DECODE_OK;
}

static DecodeResult
parse_row_data(JsonCursor *cur, DecodeArena *arena, LegacyObject *obj)
{
	FieldState *f = &obj->row_field;
	bool		is_array;
	bool		empty;
	bool		more;
	DecodeResult r;

	obj->value_count = 0;
	if ((r = open_array(cur, f, &is_array, &empty)) != DECODE_OK || !is_array)
		return r;
	more = !empty;
	if (obj->values == NULL)
	{
		obj->values = arena_alloc(arena, DG_MAX_METRICS * sizeof(double));
		obj->isnull = arena_alloc(arena, DG_MAX_METRICS * sizeof(bool));
		if (obj->values == NULL || obj->isnull == NULL)
			return DECODE_OVERSIZED;
	}

	while (more)
	{
		uint32_t	i = obj->value_count;
		double		v = 0;

		r = json_parse_number(cur, &v);
		if (r == DECODE_WRONG_TYPE)
		{
			if (json_take_null(cur))
			{
				if (i < DG_MAX_METRICS)
					obj->isnull[i] = true;
				r = DECODE_OK;
			}
			else
			{
				field_fail(f, DECODE_WRONG_TYPE);
				r = json_skip_value(cur, 2);
			}
		}
		else if (r == DECODE_TOO_LONG)
		{
			field_fail(f, DECODE_TOO_LONG);
			r = DECODE_OK;
		}
		else if (r == DECODE_OK && i < DG_MAX_METRICS)
		{
			obj->values[i] = v;
			obj->isnull[i] = false;
		}
		if (r != DECODE_OK)
			return r;
		if (obj->value_count++ == DG_MAX_METRICS)
			field_fail(f, DECODE_BAD_COUNT);
		if ((r = next_element(cur, &more)) != DECODE_OK)
			return r;
	}
	return DECODE_OK;
}

static DecodeResult
parse_msg_type(JsonCursor *cur, LegacyObject *obj)
{
	JsonRawString raw;
	char		buf[96];
	const char *s;
	size_t		len;
	DecodeResult r;

	if (*cur->pos != '"')
	{
		field_fail(&obj->msg_type_field, DECODE_WRONG_TYPE);
		return json_skip_value(cur, 1);
	}
	if ((r = json_scan_string(cur, &raw)) != DECODE_OK)
		return r;
	obj->msg_type = MSG_OTHER;
	if (short_string_value(&raw, buf, sizeof(buf), &s, &len))
	{
		if (text_equals(s, len, "row"))
			obj->msg_type = MSG_ROW;
		else if (text_equals(s, len, "create_trace_run"))
			obj->msg_type = MSG_CREATE_TRACE_RUN;
	}
	return DECODE_OK;
}

static DecodeResult
parse_uuid(JsonCursor *cur, LegacyObject *obj)
{
	JsonRawString raw;
	char		buf[96];
	const char *s;
	size_t		len;
	DecodeResult r;

	if (*cur->pos != '"')
	{
		field_fail(&obj->uuid_field, DECODE_WRONG_TYPE);
		return json_skip_value(cur, 1);
	}
	if ((r = json_scan_string(cur, &raw)) != DECODE_OK)
		return r;
	if (!short_string_value(&raw, buf, sizeof(buf), &s, &len) ||
		!decode_uuid_text(s, len, obj->uuid))
		field_fail(&obj->uuid_field, DECODE_BAD_UUID);
	return DECODE_OK;
}

/* One member value, by key; cursor on the value's first byte. */
static DecodeResult
parse_member_value(JsonCursor *cur, LegacyKey key, DecodeArena *arena,
				   LegacyObject *obj)
{
	switch (key)
	{
		case KEY_MSG_TYPE:
			field_reset(&obj->msg_type_field);
			return parse_msg_type(cur, obj);
		case KEY_UUID:
			field_reset(&obj->uuid_field);
			return parse_uuid(cur, obj);
		case KEY_APP_NAME:
			field_reset(&obj->app_name_field);
			if (*cur->pos != '"')
			{
				field_fail(&obj->app_name_field, DECODE_WRONG_TYPE);
				return json_skip_value(cur, 1);
			}
			return parse_name(cur, arena, &obj->app_name_field,
							  &obj->app_name);
		case KEY_COLUMN_NAMES:
			field_reset(&obj->columns_field);
			return parse_column_names(cur, arena, obj);
		case KEY_ROW_DATA:
			field_reset(&obj->row_field);
			return parse_row_data(cur, arena, obj);
		case KEY_OTHER:
			break;
	}
	return json_skip_value(cur, 1);
}

/* The members of the top-level object; cursor just past its '{'. */
static DecodeResult
parse_legacy_members(JsonCursor *cur, DecodeArena *arena, LegacyObject *obj)
{
	DecodeResult r;

	json_skip_space(cur);
	if (cur->pos >= cur->end)
		return DECODE_TRUNCATED;
	if (*cur->pos == '}')
	{
		cur->pos++;
		return DECODE_OK;
	}

	for (;;)
	{
		JsonRawString key;
		LegacyKey	which;

		if (*cur->pos != '"')
			return DECODE_BAD_JSON;
		if ((r = json_scan_string(cur, &key)) != DECODE_OK)
			return r;
		which = classify_key(&key);
		json_skip_space(cur);
		if (cur->pos >= cur->end)
			return DECODE_TRUNCATED;
		if (*cur->pos != ':')
			return DECODE_BAD_JSON;
		cur->pos++;
		json_skip_space(cur);
		if (cur->pos >= cur->end)
			return DECODE_TRUNCATED;
		if ((r = parse_member_value(cur, which, arena, obj)) != DECODE_OK)
			return r;

		json_skip_space(cur);
		if (cur->pos >= cur->end)
			return DECODE_TRUNCATED;
		if (*cur->pos == '}')
		{
			cur->pos++;
			return DECODE_OK;
		}
		if (*cur->pos != ',')
			return DECODE_BAD_JSON;
		cur->pos++;
		json_skip_space(cur);
		if (cur->pos >= cur->end)
			return DECODE_TRUNCATED;
	}
}

/* What a required field contributes: missing, or its value's problem. */
static inline DecodeResult
required(const FieldState *f)
{
	return f->seen ? f->status : DECODE_MISSING_FIELD;
}

/*
 * Having the whole object, decide: msg_type, then uuid, then the fields of
 * that message type, each in this fixed order.
 */
static DecodeResult
build_legacy_message(const LegacyObject *obj, DecodeArena *arena,
					 DecodedDatagram *out)
{
	DgMessage  *m;
	DecodeResult r;

	if ((r = required(&obj->msg_type_field)) != DECODE_OK)
		return r;
	if (obj->msg_type == MSG_OTHER)
		return DECODE_UNKNOWN_MSG_TYPE;
	if ((r = required(&obj->uuid_field)) != DECODE_OK)
		return r;
	if (obj->msg_type == MSG_CREATE_TRACE_RUN)
	{
		if ((r = required(&obj->app_name_field)) != DECODE_OK ||
			(r = required(&obj->columns_field)) != DECODE_OK)
			return r;
	}
	else if ((r = required(&obj->row_field)) != DECODE_OK)
		return r;

	if ((m = arena_alloc(arena, sizeof(DgMessage))) == NULL)
		return DECODE_OVERSIZED;
	memcpy(out->run, obj->uuid, 16);
	if (obj->msg_type == MSG_CREATE_TRACE_RUN)
	{
		m->kind = DG_LEGACY_HEADER;
		m->u.legacy_header.app_name = obj->app_name;
		m->u.legacy_header.column_count = obj->column_count;
		m->u.legacy_header.columns = obj->columns;
	}
	else
	{
		m->kind = DG_LEGACY_ROW;
		m->u.legacy_row.value_count = obj->value_count;
		m->u.legacy_row.values = obj->values;
		m->u.legacy_row.isnull = obj->isnull;
	}
	out->messages = m;
	out->message_count = 1;
	return DECODE_OK;
}

/*
 * The datagram must be exactly one JSON value, with only whitespace around
 * it.  Syntax is checked over the whole text first, so a datagram that is
 * not JSON is reported as such whatever its fields say.  A text that ends
 * before its value does is "truncated" (as a cut v1 datagram is), which
 * tells a short receive buffer or a cut datagram apart from a bad writer.
 */
static DecodeResult
decode_legacy(const uint8_t *buf, size_t len, DecodeArena *arena,
			  DecodedDatagram *out)
{
	JsonCursor	cur = {buf, buf + len};
	LegacyObject obj;
	bool		is_object;
	DecodeResult r;

	memset(&obj, 0, sizeof(obj));
	json_skip_space(&cur);
	if (cur.pos >= cur.end)
		return DECODE_TRUNCATED;

	is_object = (*cur.pos == '{');
	if (is_object)
	{
		cur.pos++;
		r = parse_legacy_members(&cur, arena, &obj);
	}
	else
		r = json_skip_value(&cur, 0);
	if (r != DECODE_OK)
		return r;

	json_skip_space(&cur);
	if (cur.pos != cur.end)
		return DECODE_BAD_JSON;
	if (!is_object)
		return DECODE_WRONG_TYPE;
	return build_legacy_message(&obj, arena, out);
}

/* ----------------------------------------------------------- entry point */

DecodeResult
decode_datagram(const uint8_t *buf, size_t len, DecodeArena *arena,
				DecodedDatagram *out)
{
	DecodeResult r;

	memset(out, 0, sizeof(*out));
	arena->used = 0;

	if (len == 0)
		return DECODE_EMPTY;
	if (len > DG_MAX_DATAGRAM)
		return DECODE_OVERSIZED;

	if (buf[0] == '{' || json_is_space(buf[0]))
	{
		out->format = DG_FORMAT_JSON;
		r = decode_legacy(buf, len, arena, out);
	}
	else if (len >= 4 && memcmp(buf, "MNEM", 4) == 0)
	{
		out->format = DG_FORMAT_V1;
		r = decode_v1(buf, len, arena, out);
	}
	else
		r = DECODE_BAD_MAGIC;

	if (r != DECODE_OK)
	{
		out->message_count = 0;
		out->messages = NULL;
	}
	return r;
}
