/*
 * json_writer.c
 *	  Streaming JSON writer with escaping that is also safe inside HTML.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"

void
json_init(JsonWriter *w, Response *out)
{
	w->out = out;
	w->depth = 0;
	w->need_comma[0] = false;
	w->after_key = false;
}

/* Separate this value from the previous one at the same level. */
static void
before_value(JsonWriter *w)
{
	if (w->after_key)
	{
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		response_write(w->out, ",", 1);
	w->need_comma[w->depth] = true;
}

static void
open_level(JsonWriter *w, char bracket)
{
	before_value(w);
	response_write(w->out, &bracket, 1);
	if (w->depth + 1 < JSON_MAX_DEPTH)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void
close_level(JsonWriter *w, char bracket)
{
	if (w->depth > 0)
		w->depth--;
	response_write(w->out, &bracket, 1);
}

void
json_begin_object(JsonWriter *w)
{
	open_level(w, '{');
}

void
json_end_object(JsonWriter *w)
{
	close_level(w, '}');
}

void
json_begin_array(JsonWriter *w)
{
	open_level(w, '[');
}

void
json_end_array(JsonWriter *w)
{
	close_level(w, ']');
}

/*
 * Append s escaped as the inside of a JSON string (no quotes): JSON's own
 * escapes, and \u escapes for <, >, &, DEL and U+2028/U+2029 (json_writer.h).
 */
static void
escape_into(Response *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		start = 0;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		const char *esc = NULL;
		char		u[7];

		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f)
		{
			u[0] = '\\';
			u[1] = 'u';
			u[2] = '0';
			u[3] = '0';
			u[4] = hex[c >> 4];
			u[5] = hex[c & 0xf];
			u[6] = '\0';
			esc = u;
		}
		else if (c == 0xe2 && i + 2 < len &&
				 (unsigned char) s[i + 1] == 0x80 &&
				 ((unsigned char) s[i + 2] == 0xa8 ||
				  (unsigned char) s[i + 2] == 0xa9))
		{
			/* U+2028 and U+2029 end a line in JavaScript source. */
			response_write(out, s + start, i - start);
			response_puts(out, (unsigned char) s[i + 2] == 0xa8 ?
						  "\\u2028" : "\\u2029");
			i += 2;
			start = i + 1;
			continue;
		}
		if (esc)
		{
			response_write(out, s + start, i - start);
			response_puts(out, esc);
			start = i + 1;
		}
	}
	response_write(out, s + start, len - start);
}

void
json_key(JsonWriter *w, const char *key)
{
	before_value(w);
	response_write(w->out, "\"", 1);
	escape_into(w->out, key, strlen(key));
	response_write(w->out, "\":", 2);
	w->after_key = true;
}

void
json_string_len(JsonWriter *w, const char *s, size_t len)
{
	before_value(w);
	response_write(w->out, "\"", 1);
	escape_into(w->out, s, len);
	response_write(w->out, "\"", 1);
}

void
json_string(JsonWriter *w, const char *s)
{
	if (s == NULL)
		json_null(w);
	else
		json_string_len(w, s, strlen(s));
}

void
json_null(JsonWriter *w)
{
	before_value(w);
	response_write(w->out, "null", 4);
}

void
json_raw(JsonWriter *w, const char *json_text)
{
	before_value(w);
	response_puts(w->out, json_text);
}

void
json_bool(JsonWriter *w, bool b)
{
	before_value(w);
	response_puts(w->out, b ? "true" : "false");
}

void
json_int(JsonWriter *w, int64_t v)
{
	char		buf[24];
	int			n = snprintf(buf, sizeof(buf), "%lld", (long long) v);

	before_value(w);
	response_write(w->out, buf, (size_t) n);
}

void
json_double(JsonWriter *w, double v)
{
	char		buf[32];
	int			n;

	if (!isfinite(v))
	{
		json_null(w);
		return;
	}
	/*
	 * The shortest of 15 or 17 significant digits that reads back as the
	 * same double: short for the usual values, exact for all.
	 */
	n = snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		n = snprintf(buf, sizeof(buf), "%.17g", v);
	before_value(w);
	response_write(w->out, buf, (size_t) n);
}

/* Is text a number in JSON's grammar (PostgreSQL also prints NaN etc.)? */
static bool
is_json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.')
	{
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

void
json_number_text(JsonWriter *w, const char *text)
{
	if (text == NULL || !is_json_number(text))
	{
		json_null(w);
		return;
	}
	before_value(w);
	response_puts(w->out, text);
}
