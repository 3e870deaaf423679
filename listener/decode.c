/*
 * decode.c
 *	  Turn one UDP datagram into messages: the entry point, which tells the
 *	  two formats apart, and binary v1's framing and series messages (legacy
 *	  JSON is in legacy_json.c, the profile messages in decode_profile.c).
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

#include "decode_profile.h"
#include "legacy_json.h"
#include "wire_read.h"

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
	[DECODE_BAD_ID] = "bad_id",
};

const char *
decode_reason_name(DecodeResult r)
{
	if ((unsigned) r >= DECODE_NREASONS || reason_names[r] == NULL)
		return "unknown";
	return reason_names[r];
}

/* ------------------------------------------------------------- binary v1 */

#define V1_HEADER_SIZE		DG_V1_HEADER_SIZE
#define V1_FLAG_AUTH		0x01
#define V1_MESSAGE_HEADER	4
#define V1_DESCRIBE_FIXED	22	/* i64 u32 u32 u16 u16 u16 before the strings */
#define V1_TICKS_FIXED		16
#define V1_END_SIZE			8

static inline bool
is_known_kind(uint8_t kind)
{
	return kind == DG_DESCRIBE || kind == DG_TICKS || kind == DG_END ||
		is_profile_kind(kind);
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

/*
 * Where the AUTH trailer puts the tag: false when it does not fit between
 * the header and the last two bytes.  len is at least V1_HEADER_SIZE.
 */
static bool
v1_trailer(const uint8_t *buf, size_t len, uint8_t *key_id, uint8_t *tag_len,
		   size_t *tag_start)
{
	if (len < V1_HEADER_SIZE + 2 || len - V1_HEADER_SIZE - 2 < buf[len - 1])
		return false;
	*key_id = buf[len - 2];
	*tag_len = buf[len - 1];
	*tag_start = len - 2 - *tag_len;
	return true;
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

		if (!v1_trailer(buf, len, &out->auth_key_id, &tag_len, &msg_end))
			return DECODE_TRUNCATED;
		out->has_auth = true;
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
		else if (kind == DG_END)
			r = decode_v1_end(body, blen, &m->u.end_us);
		else
			r = decode_profile_message(kind, body, blen, arena,
									   &m->u.profile);
		if (r != DECODE_OK)
			return r;
	}
	return DECODE_OK;
}

DgSignature
dg_read_signature(const uint8_t *buf, size_t len, DgSignatureInfo *out)
{
	size_t		tag_start;

	memset(out, 0, sizeof(*out));
	if (len < V1_HEADER_SIZE || len > DG_MAX_DATAGRAM ||
		memcmp(buf, "MNEM", 4) != 0 || buf[4] != 1 ||
		(buf[5] & ~V1_FLAG_AUTH) != 0)
		return DG_SIG_NOT_V1;
	memcpy(out->run, buf + 8, 16);
	out->seq = load_u32(buf + 24);
	if (!(buf[5] & V1_FLAG_AUTH))
		return DG_SIG_UNSIGNED;
	if (!v1_trailer(buf, len, &out->key_id, &out->tag_len, &tag_start) ||
		out->tag_len < DG_MIN_TAG || out->tag_len > DG_MAX_TAG)
		return DG_SIG_BAD_TRAILER;
	out->tag = buf + tag_start;
	out->signed_len = tag_start;
	return DG_SIG_SIGNED;
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

	if (legacy_json_starts(buf[0]))
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
