/*
 * test_json.c
 *	  Unit tests of the legacy JSON decoder: messages, escapes, numbers and
 *	  structure.
 */
#include "harness.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define UUID_TEXT "6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8"
#define ROW_PREFIX "{\"msg_type\": \"row\", \"uuid\": \"" UUID_TEXT "\", \"row_data\": "
#define HEADER_PREFIX "{\"msg_type\": \"create_trace_run\", \"uuid\": \"" UUID_TEXT \
	"\", \"app_name\": \"a\", \"column_names\": "

void
test_json_messages(void)
{
	DecodedDatagram dg;
	DecodeResult r;
	const char *row = ROW_PREFIX "[1.5, null, NaN, -Infinity, 7]}";
	const char *header = HEADER_PREFIX "[\"cpu\", \"m\\u00e9m\"]}";

	r = decode_text(row, &dg);
	CHECK(r == DECODE_OK, "json row: %s", decode_reason_name(r));
	if (r == DECODE_OK)
	{
		const DgLegacyRow *lr = &dg.messages[0].u.legacy_row;

		CHECK(dg.format == DG_FORMAT_JSON && !dg.has_seq &&
			  dg.message_count == 1 && dg.messages[0].kind == DG_LEGACY_ROW,
			  "json row shape");
		CHECK(dg.run[0] == 0x6f && dg.run[15] == 0xe8, "json row uuid");
		CHECK(lr->value_count == 5 && lr->values[0] == 1.5 &&
			  lr->isnull[1] && !lr->isnull[2] && isnan(lr->values[2]) &&
			  lr->values[3] == -INFINITY && lr->values[4] == 7.0 &&
			  !lr->isnull[0] && !lr->isnull[4], "json row values");
	}

	r = decode_text(header, &dg);
	CHECK(r == DECODE_OK, "json header: %s", decode_reason_name(r));
	if (r == DECODE_OK)
	{
		const DgLegacyHeader *h = &dg.messages[0].u.legacy_header;

		CHECK(dg.messages[0].kind == DG_LEGACY_HEADER &&
			  dgstring_is(h->app_name, "a", 1) && h->column_count == 2 &&
			  dgstring_is(h->columns[0], "cpu", 3) &&
			  dgstring_is(h->columns[1], "m\xc3\xa9m", 4), "json header fields");
	}
}

/* Every escape, and \u escapes into 1-, 2-, 3- and 4-byte UTF-8. */
void
test_json_escapes(void)
{
	static const struct
	{
		const char *json;
		const char *utf8;
		size_t		len;
	}			cases[] = {
		{"\\\"\\\\\\/\\b\\f\\n\\r\\t", "\"\\/\b\f\n\r\t", 8},
		{"\\u0041", "A", 1},
		{"\\u00e9", "\xc3\xa9", 2},
		{"\\u07FF", "\xdf\xbf", 2},
		{"\\u0800", "\xe0\xa0\x80", 3},
		{"\\u20ac", "\xe2\x82\xac", 3},
		{"\\uFFFF", "\xef\xbf\xbf", 3},
		{"\\ud83d\\ude00", "\xf0\x9f\x98\x80", 4},
		{"\\uD83D\\uDE00", "\xf0\x9f\x98\x80", 4},
		{"\\udbff\\udfff", "\xf4\x8f\xbf\xbf", 4},
		{"a\\u0062c\\n", "abc\n", 4},
	};
	static const char *const bad_names[] = {
		"\\udc00", "\\ud800", "\\ud800x", "\\ud800\\u0041", "\\ud800\\ud800",
		"\\u0000", "a\\u0000",
	};
	char		text[512];
	DecodedDatagram dg;
	DecodeResult r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		snprintf(text, sizeof(text), HEADER_PREFIX "[\"%s\"]}", cases[i].json);
		r = decode_text(text, &dg);
		CHECK(r == DECODE_OK &&
			  dgstring_is(dg.messages[0].u.legacy_header.columns[0],
						  cases[i].utf8, cases[i].len),
			  "escape %s: %s", cases[i].json, decode_reason_name(r));
	}
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
	{
		snprintf(text, sizeof(text), HEADER_PREFIX "[\"%s\"]}", bad_names[i]);
		EXPECT_TEXT(text, DECODE_BAD_UTF8);
		/* The same string in a value nobody reads is fine (as in Python). */
		snprintf(text, sizeof(text), ROW_PREFIX "[1], \"x\": \"%s\"}",
				 bad_names[i]);
		EXPECT_TEXT(text, DECODE_OK);
	}
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\\x\"}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\\u12\"}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\\u12g4\"}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\\U0041\"}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"a\x01\"}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"a\x7f\"}", DECODE_OK);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xc3\"}", DECODE_BAD_UTF8);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xed\xa0\x80\"}", DECODE_BAD_UTF8);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xf0\x9f\x98\x80\"}", DECODE_OK);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xf0\x9f\x98", DECODE_TRUNCATED);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xe0\x80", DECODE_BAD_UTF8);
	/* Cut inside a sequence: can the missing bytes still make it valid? */
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xed\x9f", DECODE_TRUNCATED);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xed\xa0", DECODE_BAD_UTF8);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xf4\x8f\xbf", DECODE_TRUNCATED);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xf4\x90", DECODE_BAD_UTF8);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xf0\x8f", DECODE_BAD_UTF8);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\": \"\xe2\x82\x41", DECODE_BAD_UTF8);
	EXPECT_TEXT(ROW_PREFIX "[1], \"\xff\": 1}", DECODE_BAD_UTF8);
	EXPECT_TEXT(ROW_PREFIX "[1], x: 1}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1], \"x\" 1}", DECODE_BAD_JSON);
}

/* Our number conversion agrees with strtod() on every kind of token. */
void
test_json_numbers(void)
{
	static const char *const fixed[] = {
		"0", "-0", "1", "-1", "12.5", "0.1", "0.30000000000000004", "1e22",
		"1e23", "1e-22", "1e-23", "123456789012345", "1234567890123456",
		"9007199254740993", "1.7976931348623157e308", "1.7976931348623159e308",
		"2.2250738585072014e-308", "4.9406564584124654e-324", "2e-324",
		"0.000000000000000000000000000001", "100000000000000000000000",
		"1E+2", "1e-0", "0.5e1", "3.14159265358979323846264338327950288",
		"123.456e-7", "-987654321.123456789", "1e400", "-1e400", "1e-400",
		"0.0000001234", "12345678901234567890", "5e-1", "0e0", "-0.0e-5",
	};
	char		text[65536];
	char		token[160];
	uint64_t	seed = 12345;
	int			mismatches = 0;
	DecodedDatagram dg;
	DecodeResult r;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
	{
		double		want = strtod(fixed[i], NULL);

		snprintf(text, sizeof(text), ROW_PREFIX "[%s]}", fixed[i]);
		r = decode_text(text, &dg);
		CHECK(r == DECODE_OK &&
			  memcmp(&dg.messages[0].u.legacy_row.values[0], &want, 8) == 0,
			  "number %s: %s, %.17g", fixed[i], decode_reason_name(r),
			  r == DECODE_OK ? dg.messages[0].u.legacy_row.values[0] : 0.0);
	}

	/* Random doubles in the forms Python and people write them. */
	for (int round = 0; round < 200; round++)
	{
		char	   *p = text;
		double		want[100];
		int			n = 0;

		p += sprintf(p, ROW_PREFIX "[");
		for (; n < 100; n++)
		{
			uint64_t	bits;
			double		v;
			static const char *const formats[] = {
				"%.17g", "%.15g", "%.6g", "%.3e", "%.1f", "%.0f", "%.10f", "%g"
			};

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			bits = seed >> 1;
			if (n % 3 == 0)
				memcpy(&v, &bits, 8);	/* any bit pattern */
			else
				v = (double) (int64_t) (seed >> 20) / (double) (1 << (n % 30));
			if (!isfinite(v) || fabs(v) > 1e100)
				v = 1.0 / (n + 1);
			snprintf(token, sizeof(token), formats[n % 8], v);
			want[n] = strtod(token, NULL);
			p += sprintf(p, "%s%s", n ? ", " : "", token);
		}
		sprintf(p, "]}");
		r = decode_text(text, &dg);
		if (r != DECODE_OK)
		{
			mismatches++;
			continue;
		}
		for (int i = 0; i < n; i++)
			if (memcmp(&dg.messages[0].u.legacy_row.values[i], &want[i], 8) != 0)
				mismatches++;
	}
	CHECK(mismatches == 0, "random numbers: %d differ from strtod", mismatches);

	/* Grammar. */
	EXPECT_TEXT(ROW_PREFIX "[01]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[-01]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1.]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[.5]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[+1]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1e]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1e+]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[-]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[0x10]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1 2]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[-NaN]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[+Infinity]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[Inf]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[infinity]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[NaNx]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[nullx]}", DECODE_BAD_JSON);
	EXPECT_TEXT(ROW_PREFIX "[1e99999999999999999999]}", DECODE_OK);

	/* A number longer than we convert, and the same in an unread value. */
	{
		char	   *p = text;

		p += sprintf(p, ROW_PREFIX "[1");
		memset(p, '0', 200);
		sprintf(p + 200, "]}");
		EXPECT_TEXT(text, DECODE_TOO_LONG);
		p = text + sprintf(text, ROW_PREFIX "[1], \"x\": 1");
		memset(p, '0', 200);
		sprintf(p + 200, "}");
		EXPECT_TEXT(text, DECODE_OK);
	}
}

void
test_json_structure(void)
{
	char	   *text = malloc(DG_MAX_DATAGRAM + 2);
	char	   *p;

	/* Depth: the object is level 1, so 31 more levels are fine, 32 not. */
	p = text + sprintf(text, ROW_PREFIX "[1], \"x\": ");
	memset(p, '[', 31);
	memset(p + 31, ']', 31);
	sprintf(p + 62, "}");
	EXPECT_TEXT(text, DECODE_OK);
	p = text + sprintf(text, ROW_PREFIX "[1], \"x\": ");
	memset(p, '[', 32);
	memset(p + 32, ']', 32);
	sprintf(p + 64, "}");
	EXPECT_TEXT(text, DECODE_TOO_DEEP);

	/* Objects nest the same way. */
	p = text + sprintf(text, ROW_PREFIX "[1], \"x\": ");
	for (int i = 0; i < 32; i++)
		p += sprintf(p, "{\"a\": ");
	p += sprintf(p, "1");
	for (int i = 0; i < 32; i++)
		p += sprintf(p, "}");
	sprintf(p, "}");
	EXPECT_TEXT(text, DECODE_TOO_DEEP);

	/* 60,000 open brackets: refused at level 33, no deep recursion. */
	p = text + sprintf(text, ROW_PREFIX "[1], \"x\": ");
	memset(p, '[', 60000);
	p[60000] = '\0';
	EXPECT_TEXT(text, DECODE_TOO_DEEP);
	memset(text, '[', 1);
	EXPECT_TEXT(" [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", DECODE_TOO_DEEP);

	/* Nested arrays inside row_data are values of the wrong type. */
	EXPECT_TEXT(ROW_PREFIX "[[1]]}", DECODE_WRONG_TYPE);
	EXPECT_TEXT(ROW_PREFIX "[{}]}", DECODE_WRONG_TYPE);
	EXPECT_TEXT(ROW_PREFIX "[\"1\"]}", DECODE_WRONG_TYPE);
	EXPECT_TEXT(ROW_PREFIX "[false]}", DECODE_WRONG_TYPE);
	EXPECT_TEXT(ROW_PREFIX "null}", DECODE_WRONG_TYPE);
	EXPECT_TEXT(ROW_PREFIX "{}}", DECODE_WRONG_TYPE);
	EXPECT_TEXT(ROW_PREFIX "[]}", DECODE_OK);
	EXPECT_TEXT(HEADER_PREFIX "[1]}", DECODE_WRONG_TYPE);
	EXPECT_TEXT(HEADER_PREFIX "[null]}", DECODE_WRONG_TYPE);
	EXPECT_TEXT(HEADER_PREFIX "[]}", DECODE_OK);
	EXPECT_TEXT("{\"msg_type\": 1, \"uuid\": \"" UUID_TEXT "\"}", DECODE_WRONG_TYPE);
	EXPECT_TEXT("{\"msg_type\": \"row\", \"uuid\": null, \"row_data\": []}",
				DECODE_WRONG_TYPE);
	EXPECT_TEXT("{\"msg_type\": \"create_trace_run\", \"uuid\": \"" UUID_TEXT
				"\", \"app_name\": null, \"column_names\": []}", DECODE_WRONG_TYPE);
	EXPECT_TEXT("{\"msg_type\": \"create_trace_run\", \"uuid\": \"" UUID_TEXT
				"\", \"column_names\": []}", DECODE_MISSING_FIELD);
	EXPECT_TEXT("{\"msg_type\": \"row\", \"uuid\": \"" UUID_TEXT "\"}",
				DECODE_MISSING_FIELD);
	EXPECT_TEXT("{}", DECODE_MISSING_FIELD);
	EXPECT_TEXT("{\"msg_type\": \"Row\", \"uuid\": \"" UUID_TEXT "\"}",
				DECODE_UNKNOWN_MSG_TYPE);
	EXPECT_TEXT("{\"msg_type\": \"row\\u0000\"}", DECODE_UNKNOWN_MSG_TYPE);
	/* Order of judgement: syntax, msg_type, uuid, then the fields. */
	EXPECT_TEXT("{\"msg_type\": \"nope\"}", DECODE_UNKNOWN_MSG_TYPE);
	EXPECT_TEXT("{\"msg_type\": \"row\", \"row_data\": [\"x\"]}",
				DECODE_MISSING_FIELD);
	EXPECT_TEXT("{\"msg_type\": \"row\", \"row_data\": [\"x\"], \"uuid\": \""
				UUID_TEXT "\" ,}", DECODE_BAD_JSON);
	EXPECT_TEXT("{\"msg_type\": \"row\", \"uuid\": \"x\", \"row_data\": [\"x\"]}",
				DECODE_BAD_UUID);
	/* Top level and surroundings. */
	EXPECT_TEXT("{", DECODE_TRUNCATED);
	EXPECT_TEXT("   ", DECODE_TRUNCATED);
	EXPECT_TEXT("\n\"row\"", DECODE_WRONG_TYPE);
	EXPECT_TEXT(" 42", DECODE_WRONG_TYPE);
	EXPECT_TEXT(" nul", DECODE_TRUNCATED);
	EXPECT_TEXT("{}{}", DECODE_BAD_JSON);
	EXPECT_TEXT("{\"a\":1,}", DECODE_BAD_JSON);
	EXPECT_TEXT("{,}", DECODE_BAD_JSON);
	EXPECT_TEXT("{\"a\" : [1,,2]}", DECODE_BAD_JSON);
	EXPECT_TEXT("{\"a\" : [1}", DECODE_BAD_JSON);
	EXPECT_TEXT("{\"a\" : {\"b\"]}", DECODE_BAD_JSON);
	EXPECT_TEXT("{\"a\" : tru}", DECODE_BAD_JSON);
	EXPECT_TEXT("{\"a\":\"\xef\xbb\xbf\"}", DECODE_MISSING_FIELD);
	EXPECT_TEXT("\xef\xbb\xbf{}", DECODE_BAD_MAGIC);

	/* Columns and values up to the limit of 1,024, and one more. */
	for (int n = 1024; n <= 1025; n++)
	{
		p = text + sprintf(text, ROW_PREFIX "[");
		for (int i = 0; i < n; i++)
			p += sprintf(p, i ? ",%d" : "%d", i);
		sprintf(p, "]}");
		EXPECT_TEXT(text, n == 1024 ? DECODE_OK : DECODE_BAD_COUNT);
		p = text + sprintf(text, HEADER_PREFIX "[");
		for (int i = 0; i < n; i++)
			p += sprintf(p, i ? ",\"\"" : "\"\"");
		sprintf(p, "]}");
		EXPECT_TEXT(text, n == 1024 ? DECODE_OK : DECODE_BAD_COUNT);
	}

	/* A datagram of the largest size, mostly whitespace; one byte more. */
	p = text + sprintf(text, ROW_PREFIX "[1]");
	memset(p, ' ', DG_MAX_DATAGRAM - (p - text) - 1);
	text[DG_MAX_DATAGRAM - 1] = '}';
	text[DG_MAX_DATAGRAM] = '\0';
	EXPECT(text, DG_MAX_DATAGRAM, DECODE_OK, "65,507 bytes of JSON");
	text[DG_MAX_DATAGRAM - 1] = ' ';
	text[DG_MAX_DATAGRAM] = '}';
	EXPECT(text, DG_MAX_DATAGRAM + 1, DECODE_OVERSIZED, "65,508 bytes of JSON");

	/* 20,000 values: counted as too many, never stored beyond the slots. */
	p = text + sprintf(text, ROW_PREFIX "[");
	for (int i = 0; i < 20000; i++)
		p += sprintf(p, i ? ",0" : "0");
	sprintf(p, "]}");
	EXPECT_TEXT(text, DECODE_BAD_COUNT);

	/* A huge unknown string and a huge name. */
	p = text + sprintf(text, ROW_PREFIX "[1], \"x\": \"");
	memset(p, 'z', 60000);
	sprintf(p + 60000, "\"}");
	EXPECT_TEXT(text, DECODE_OK);
	p = text + sprintf(text, "{\"msg_type\": \"create_trace_run\", \"uuid\": \""
					   UUID_TEXT "\", \"column_names\": [], \"app_name\": \"");
	memset(p, 'z', 60000);
	sprintf(p + 60000, "\"}");
	EXPECT_TEXT(text, DECODE_TOO_LONG);

	/* Repeated known keys: the last counts, earlier problems are forgotten. */
	EXPECT_TEXT(ROW_PREFIX "[\"bad\"], \"row_data\": [1]}", DECODE_OK);
	EXPECT_TEXT(ROW_PREFIX "[1], \"row_data\": [\"bad\"]}", DECODE_WRONG_TYPE);
	{
		DecodedDatagram dg;
		const char *twice = ROW_PREFIX "[1, 2, 3], \"row_data\": [9]}";
		DecodeResult r = decode_text(twice, &dg);

		CHECK(r == DECODE_OK && dg.messages[0].u.legacy_row.value_count == 1 &&
			  dg.messages[0].u.legacy_row.values[0] == 9.0,
			  "repeated row_data: the last one");
	}
	free(text);
}

/* Print the decode of one .hex file, for looking at a datagram by hand. */
