/*
 * pgjson.c
 *	  Writing PostgreSQL values as JSON, by type.
 */
#include "pgjson.h"
#include "pgvalue.h"

/* Timestamps as ISO 8601 in UTC, which JavaScript's Date parses. */
static void
write_timestamp(JsonWriter *w, const char *text, bool with_zone)
{
	char		buf[64];

	if (pg_timestamp_to_iso8601(text, with_zone, buf, sizeof(buf)))
		json_string(w, buf);
	else
		json_string(w, text);	/* infinity, BC dates: keep PostgreSQL's text */
}

void
pgjson_value(JsonWriter *w, const PGresult *res, int row, int col)
{
	const char *text;

	if (PQgetisnull(res, row, col))
	{
		json_null(w);
		return;
	}
	text = PQgetvalue(res, row, col);
	switch (PQftype(res, col))
	{
		case BOOLOID:
			json_bool(w, text[0] == 't');
			break;
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			json_number_text(w, text);
			break;
		case TIMESTAMPTZOID:
			write_timestamp(w, text, true);
			break;
		case TIMESTAMPOID:
			write_timestamp(w, text, false);
			break;
		case INTERVALOID:
			json_double(w, pg_interval_to_seconds(text));
			break;
		case JSONOID:
		case JSONBOID:
			/* Already JSON, produced by PostgreSQL. */
			json_raw(w, text);
			break;
		default:
			json_string(w, text);
			break;
	}
}

void
pgjson_row_object(JsonWriter *w, const PGresult *res, int row, int skip)
{
	int			col;

	json_begin_object(w);
	for (col = 0; col < PQnfields(res); col++)
	{
		if (col == skip)
			continue;
		json_key(w, PQfname(res, col));
		pgjson_value(w, res, row, col);
	}
	json_end_object(w);
}
