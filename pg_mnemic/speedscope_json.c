/*
 * speedscope_json.c
 *	  PostgreSQL's JSON parser driving the speedscope scanner
 *	  (speedscope_scan.h: speedscope_parse).
 *
 * Why pg_parse_json with semantic actions rather than jsonb: jsonb_in would
 * first build the whole file as a jsonb (several times its size in memory
 * for a large evented profile) and, once built, no longer knows which line
 * a value came from; the callbacks see each value as it is parsed, with its
 * line, and keep only what the profile needs.  In PostgreSQL 15 a callback
 * cannot stop the parser, so the scanner ignores everything after its
 * first problem and the parse runs on to the end.
 *
 * Like the parser (src/common/jsonapi.c), this file is built both into the
 * server and, with FRONTEND defined, against libpgcommon for the fuzz
 * target of regress/formats.  There the parser does not check the depth of
 * the stack, so the fuzz target keeps nesting shallow; and on malformed
 * JSON it may leave a key unfreed, which the server's memory context takes
 * back.
 */
#ifndef FRONTEND
#include "postgres.h"
#else
#include "postgres_fe.h"
#endif

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "listener/text.h"
#include "speedscope_scan.h"

/* The scanner's state comes with the lexer, for its line number. */
typedef struct JsonDriver
{
	SpeedscopeScan scan;		/* first: the callbacks' state */
	JsonLexContext *lex;
} JsonDriver;

#define LINE(state)	(((JsonDriver *) (state))->lex->line_number)

static void
object_start(void *state)
{
	speedscope_object_start(state, LINE(state));
}

static void
object_end(void *state)
{
	speedscope_object_end(state, LINE(state));
}

static void
array_start(void *state)
{
	speedscope_array_start(state, LINE(state));
}

static void
array_end(void *state)
{
	speedscope_array_end(state, LINE(state));
}

static void
field_start(void *state, char *fname, bool isnull)
{
	speedscope_field(state, fname, LINE(state));
	pfree(fname);
}

static void
scalar(void *state, char *token, JsonTokenType type)
{
	SpeedscopeScalar kind;

	switch (type)
	{
		case JSON_TOKEN_STRING:
			kind = SPEEDSCOPE_STRING;
			break;
		case JSON_TOKEN_NUMBER:
			kind = SPEEDSCOPE_NUMBER;
			break;
		case JSON_TOKEN_TRUE:
			kind = SPEEDSCOPE_TRUE;
			break;
		case JSON_TOKEN_FALSE:
			kind = SPEEDSCOPE_FALSE;
			break;
		default:
			kind = SPEEDSCOPE_NULL;
			break;
	}
	speedscope_scalar(state, kind, token, LINE(state));
	pfree(token);
}

/* The line of the first byte that is not UTF-8, or 0. */
static int
first_bad_line(const char *data, size_t len)
{
	int			line = 1;
	const char *p = data;
	const char *end = data + len;

	if (utf8_valid((const uint8_t *) data, len))
		return 0;
	for (;;)
	{
		const char *nl = memchr(p, '\n', end - p);
		const char *stop = nl ? nl : end;

		if (!utf8_valid((const uint8_t *) p, stop - p))
			return line;
		if (nl == NULL)
			return 0;			/* cannot be: the whole was not valid */
		p = nl + 1;
		line++;
	}
}

/*
 * What went wrong, in our words: the frontend library has no
 * json_errdetail(), and the server's returns constants for some errors.
 */
static const char *
json_problem(JsonParseErrorType rc)
{
	switch (rc)
	{
		case JSON_ESCAPING_INVALID:
			return "an invalid escape sequence";
		case JSON_ESCAPING_REQUIRED:
			return "a character that must be escaped";
		case JSON_EXPECTED_ARRAY_FIRST:
			return "expected a value or \"]\"";
		case JSON_EXPECTED_ARRAY_NEXT:
			return "expected \",\" or \"]\"";
		case JSON_EXPECTED_COLON:
			return "expected \":\"";
		case JSON_EXPECTED_END:
			return "expected the end of the file";
		case JSON_EXPECTED_JSON:
			return "expected a JSON value";
		case JSON_EXPECTED_MORE:
			return "the file ends inside a value";
		case JSON_EXPECTED_OBJECT_FIRST:
			return "expected a key or \"}\"";
		case JSON_EXPECTED_OBJECT_NEXT:
			return "expected \",\" or \"}\"";
		case JSON_EXPECTED_STRING:
			return "expected a string";
		case JSON_INVALID_TOKEN:
			return "an invalid token";
		case JSON_UNICODE_CODE_POINT_ZERO:
			return "\\u0000, which text cannot hold";
		case JSON_UNICODE_ESCAPE_FORMAT:
			return "\\u not followed by four hexadecimal digits";
		case JSON_UNICODE_HIGH_ESCAPE:
			return "a \\u escape the encoding cannot hold";
		case JSON_UNICODE_HIGH_SURROGATE:
			return "a high surrogate after a high surrogate";
		case JSON_UNICODE_LOW_SURROGATE:
			return "a low surrogate without its high surrogate";
		default:
			return "not JSON";
	}
}

/* The problem at the parser's token, the token shown cut short. */
static void
json_fail(ScanError *err, JsonParseErrorType rc, const JsonLexContext *lex)
{
	const char *start = lex->token_start;
	size_t		len = 0;

	if (start != NULL && lex->token_terminator > start)
		len = lex->token_terminator - start;
	if (len > 24)
	{
		len = 24;				/* at a character boundary */
		while (len > 0 && ((uint8_t) start[len] & 0xC0) == 0x80)
			len--;
	}
	if (len > 0)
		scan_fail(err, 0, lex->line_number, "%s, at \"%.*s\"",
				  json_problem(rc), (int) len, start);
	else
		scan_fail(err, 0, lex->line_number, "%s", json_problem(rc));
}

bool
speedscope_parse(const char *data, size_t len, const ScanAlloc *alloc,
				 SpeedscopeFile *out, ScanError *err)
{
	JsonDriver	d;
	JsonSemAction sem;
	JsonParseErrorType rc;
	int			bad;

	if (len > (size_t) PG_INT32_MAX)
		return scan_fail(err, 0, 0, "larger than 2 GB");
	if ((bad = first_bad_line(data, len)) != 0)
		return scan_fail(err, 0, bad, "not UTF-8, or a NUL byte");

	speedscope_scan_init(&d.scan, alloc);
	d.lex = makeJsonLexContextCstringLen((char *) data, (int) len, PG_UTF8, true);
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &d;
	sem.object_start = object_start;
	sem.object_end = object_end;
	sem.array_start = array_start;
	sem.array_end = array_end;
	sem.object_field_start = field_start;
	sem.scalar = scalar;
	rc = pg_parse_json(d.lex, &sem);

	/* a problem the scanner met comes before where the parser stopped */
	if (rc != JSON_SUCCESS && !d.scan.failed)
		json_fail(err, rc, d.lex);
	if (d.lex->strval != NULL)
	{
		pfree(d.lex->strval->data);
		pfree(d.lex->strval);
	}
	pfree(d.lex);
	if (rc != JSON_SUCCESS && !d.scan.failed)
		return false;
	return speedscope_scan_finish(&d.scan, out, err);
}
