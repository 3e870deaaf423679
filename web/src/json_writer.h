/*
 * json_writer.h
 *	  A streaming JSON writer on top of Response.
 *
 * The writer tracks nesting so callers never place commas themselves.  All
 * strings are escaped for JSON and additionally with \u escapes for <, >, &
 * and U+2028/U+2029, so a body is safe even if something embeds it in HTML
 * or a script.
 */
#ifndef MNEMIC_WEB_JSON_WRITER_H
#define MNEMIC_WEB_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "response.h"

#define JSON_MAX_DEPTH	32

typedef struct JsonWriter
{
	Response   *out;
	int			depth;
	bool		need_comma[JSON_MAX_DEPTH];
	bool		after_key;		/* a key was just written: no comma */
} JsonWriter;

extern void json_init(JsonWriter *w, Response *out);
extern void json_begin_object(JsonWriter *w);
extern void json_end_object(JsonWriter *w);
extern void json_begin_array(JsonWriter *w);
extern void json_end_array(JsonWriter *w);
extern void json_key(JsonWriter *w, const char *key);
extern void json_string(JsonWriter *w, const char *s);
extern void json_string_len(JsonWriter *w, const char *s, size_t len);
extern void json_null(JsonWriter *w);
extern void json_bool(JsonWriter *w, bool b);
extern void json_int(JsonWriter *w, int64_t v);

/* A double; NaN and the infinities, which JSON cannot hold, become null. */
extern void json_double(JsonWriter *w, double v);

/*
 * A number already in text form (from PostgreSQL).  Text that is not a
 * finite JSON number ("NaN", "Infinity") is written as null.
 */
extern void json_number_text(JsonWriter *w, const char *text);

/* A value that is already valid JSON text (from a trusted producer). */
extern void json_raw(JsonWriter *w, const char *json_text);

#endif							/* MNEMIC_WEB_JSON_WRITER_H */
