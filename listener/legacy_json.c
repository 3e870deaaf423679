/*
 * legacy_json.c
 *	  Decode a legacy JSON datagram: one object as dolon 0.2.0 sends it,
 *	  create_trace_run or row (docs/protocol.md).
 *
 * The object is read in one pass with the scanner of json_scan.h: the few
 * keys that matter are kept, everything else is validated and skipped.
 * Keys may come in any order and msg_type may come last, so problems with a
 * value are only held against the datagram once msg_type says it matters.
 */
#include "legacy_json.h"

#include <string.h>

#include "text.h"

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
		!uuid_from_text(s, len, obj->uuid))
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
DecodeResult
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
