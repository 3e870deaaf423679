/*
 * test_v1.c
 *	  Unit tests of the binary v1 decoder and the text checks it uses:
 *	  reason names, UUID text, UTF-8, every message kind, limits, malformed
 *	  datagrams, the arena.
 */
#include "harness.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

void
test_reason_names(void)
{
	CHECK(strcmp(decode_reason_name(DECODE_OK), "ok") == 0, "ok name");
	CHECK(strcmp(decode_reason_name(DECODE_BAD_MAGIC), "bad_magic") == 0,
		  "bad_magic name");
	CHECK(strcmp(decode_reason_name(DECODE_NREASONS), "unknown") == 0,
		  "out of range name");
	for (int i = 0; i < DECODE_NREASONS; i++)
	{
		const char *a = decode_reason_name((DecodeResult) i);

		CHECK(strcmp(a, "unknown") != 0, "reason %d has no name", i);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(a, decode_reason_name((DecodeResult) j)) != 0,
				  "reasons %d and %d share the name %s", i, j, a);
	}
}

void
test_uuid_text(void)
{
	static const uint8_t want[16] = {
		0x6f, 0x1c, 0x2a, 0x3b, 0x4d, 0x5e, 0x4f, 0x60,
		0x81, 0x72, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8
	};
	static const char *const good[] = {
		"6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8",
		"6F1C2A3B-4D5E-4F60-8172-93A4B5C6D7E8",
		"6f1c2a3b4d5e4f60817293a4b5c6d7e8",
		"6f1c2a3b-4d5e4f60-8172-93a4b5c6d7e8",
		"6f1C2a3B4d5E-4f60817293a4b5c6d7e8",
	};
	static const char *const bad[] = {
		"",
		"6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e",
		"6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8a",
		"6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8-",
		"{6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8}",
		"6f1c2a3b4-d5e-4f60-8172-93a4b5c6d7e8",
		"6f1c2a3b--4d5e-4f60-8172-93a4b5c6d7e8",
		"-6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8",
		"6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7eg",
		"6f1c2a3b 4d5e 4f60 8172 93a4b5c6d7e8",
		"urn:uuid:6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8",
	};
	uint8_t		out[16];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		memset(out, 0, 16);
		CHECK(uuid_from_text(good[i], strlen(good[i]), out) &&
			  memcmp(out, want, 16) == 0, "uuid %s should parse", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!uuid_from_text(bad[i], strlen(bad[i]), out),
			  "uuid \"%s\" should not parse", bad[i]);
	/* A length shorter than the text: no reading beyond it. */
	CHECK(!uuid_from_text(good[0], 35, out), "uuid cut to 35 chars");
}

/* ---------------------------------------------------------------- UTF-8 */

void
test_utf8(void)
{
	static const struct
	{
		const char *bytes;
		size_t		len;
		bool		valid;
		const char *what;
	}			cases[] = {
		{"", 0, true, "empty"},
		{"plain ascii text, longer than eight", 35, true, "ascii"},
		{"\xc2\x80", 2, true, "U+0080"},
		{"\xdf\xbf", 2, true, "U+07FF"},
		{"\xe0\xa0\x80", 3, true, "U+0800"},
		{"\xed\x9f\xbf", 3, true, "U+D7FF"},
		{"\xee\x80\x80", 3, true, "U+E000"},
		{"\xef\xbf\xbf", 3, true, "U+FFFF"},
		{"\xf0\x90\x80\x80", 4, true, "U+10000"},
		{"\xf4\x8f\xbf\xbf", 4, true, "U+10FFFF"},
		{"caf\xc3\xa9 \xe6\xb8\xa9 \xf0\x9f\x98\x80", 14, true, "mixed"},
		{"a\0b", 3, false, "NUL"},
		{"abcdefgh\0", 9, false, "NUL after 8 ASCII"},
		{"\x80", 1, false, "lone continuation"},
		{"\xbf", 1, false, "lone continuation BF"},
		{"\xc0\x80", 2, false, "overlong NUL"},
		{"\xc1\xbf", 2, false, "overlong C1"},
		{"\xe0\x80\x80", 3, false, "overlong 3-byte"},
		{"\xe0\x9f\xbf", 3, false, "overlong U+07FF in 3 bytes"},
		{"\xf0\x80\x80\x80", 4, false, "overlong 4-byte"},
		{"\xf0\x8f\xbf\xbf", 4, false, "overlong U+FFFF in 4 bytes"},
		{"\xed\xa0\x80", 3, false, "surrogate U+D800"},
		{"\xed\xbf\xbf", 3, false, "surrogate U+DFFF"},
		{"\xed\xa0\xbd\xed\xb8\x80", 6, false, "CESU-8 pair"},
		{"\xf4\x90\x80\x80", 4, false, "U+110000"},
		{"\xf5\x80\x80\x80", 4, false, "F5 lead"},
		{"\xff", 1, false, "FF"},
		{"\xfe", 1, false, "FE"},
		{"\xc3", 1, false, "truncated 2-byte"},
		{"\xe2\x82", 2, false, "truncated 3-byte"},
		{"\xf0\x9f\x98", 3, false, "truncated 4-byte"},
		{"\xc3\x28", 2, false, "bad continuation"},
		{"\xe2\x28\xa1", 3, false, "bad 2nd of 3"},
		{"\xe2\x82\x28", 3, false, "bad 3rd of 3"},
		{"\xf0\x9f\x98\x28", 4, false, "bad 4th of 4"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		uint8_t    *copy = malloc(cases[i].len + 1);

		memcpy(copy, cases[i].bytes, cases[i].len);
		CHECK(utf8_valid(copy, cases[i].len) == cases[i].valid,
			  "utf8 %s", cases[i].what);
		free(copy);
	}

	/* Each bad sequence at every alignment after ASCII (the 8-byte path). */
	for (size_t pad = 0; pad < 17; pad++)
	{
		uint8_t		buf[64];
		int			wrong = 0;

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		{
			uint8_t    *copy;

			if (cases[i].len == 0)
				continue;
			memset(buf, 'a', pad);
			memcpy(buf + pad, cases[i].bytes, cases[i].len);
			copy = malloc(pad + cases[i].len);
			memcpy(copy, buf, pad + cases[i].len);
			if (utf8_valid(copy, pad + cases[i].len) != cases[i].valid)
				wrong++;
			free(copy);
		}
		CHECK(wrong == 0, "utf8 after %zu ASCII bytes: %d wrong", pad, wrong);
	}
}

/* ----------------------------------------------------------- binary v1 */

static const char *const metric_names[] = {"cpu", "mem", "io"};

static void
put_describe(ByteBuf *b, uint16_t total, uint16_t first, int n,
			 const char *const *names)
{
	size_t		at = bb_v1_begin_message(b, DG_DESCRIBE);

	bb_i64(b, 1700000000000000LL);
	bb_u32(b, 77);
	bb_u32(b, 500000);
	bb_u16(b, total);
	bb_u16(b, first);
	bb_u16(b, (uint16_t) n);
	bb_str16(b, "tracer", 6);
	bb_str16(b, "host", 4);
	bb_str16(b, "prog", 4);
	bb_str16(b, "3.11.7", 6);
	for (int i = 0; i < n; i++)
		bb_str16(b, names[i], strlen(names[i]));
	bb_v1_end_message(b, at);
}

static void
put_ticks(ByteBuf *b, int64_t base, uint16_t first, uint16_t nvalues,
		  uint16_t nticks)
{
	size_t		at = bb_v1_begin_message(b, DG_TICKS);

	bb_i64(b, base);
	bb_u16(b, first);
	bb_u16(b, nvalues);
	bb_u16(b, nticks);
	bb_u16(b, 0);
	for (int t = 0; t < nticks; t++)
	{
		bb_u32(b, (uint32_t) t * 1000);
		for (int v = 0; v < nvalues; v++)
			bb_f64(b, t * 10.0 + v + 0.5);
	}
	bb_v1_end_message(b, at);
}

static void
put_end(ByteBuf *b, int64_t end_us)
{
	size_t		at = bb_v1_begin_message(b, DG_END);

	bb_i64(b, end_us);
	bb_v1_end_message(b, at);
}

void
test_v1_messages(void)
{
	ByteBuf		b = {0};
	DecodedDatagram dg;
	DecodeResult r;
	uint8_t    *copy;

	bb_v1_header(&b, 0, 3, 41);
	put_describe(&b, 3, 0, 3, metric_names);
	put_ticks(&b, 1700000000000000LL, 0, 3, 4);
	put_end(&b, 1700000009000000LL);
	copy = malloc(b.len);
	memcpy(copy, b.data, b.len);
	r = decode_datagram(copy, b.len, &arena, &dg);
	CHECK(r == DECODE_OK, "v1 three kinds: %s", decode_reason_name(r));
	if (r == DECODE_OK)
	{
		const DgDescribe *d = &dg.messages[0].u.describe;
		const DgTicks *t = &dg.messages[1].u.ticks;

		CHECK(dg.format == DG_FORMAT_V1 && dg.has_seq && dg.seq == 41 &&
			  !dg.has_auth && dg.unknown_kinds == 0 && dg.message_count == 3,
			  "v1 datagram fields");
		CHECK(dg.run[0] == 0x6f && dg.run[15] == 0xe8, "v1 run uuid bytes");
		CHECK(dg.messages[0].kind == DG_DESCRIBE &&
			  dg.messages[1].kind == DG_TICKS &&
			  dg.messages[2].kind == DG_END, "v1 message kinds in order");
		CHECK(d->start_us == 1700000000000000LL && d->pid == 77 &&
			  d->period_us == 500000 && d->metric_total == 3 &&
			  d->first_metric == 0 && d->metric_count == 3, "describe numbers");
		CHECK(dgstring_is(d->tracer, "tracer", 6) &&
			  dgstring_is(d->host, "host", 4) &&
			  dgstring_is(d->program, "prog", 4) &&
			  dgstring_is(d->python_version, "3.11.7", 6), "describe strings");
		CHECK(dgstring_is(d->metrics[0], "cpu", 3) &&
			  dgstring_is(d->metrics[2], "io", 2), "describe metric names");
		CHECK(t->first_metric == 0 && t->value_count == 3 &&
			  t->tick_count == 4, "ticks counts");
		CHECK(t->ts_us[0] == 1700000000000000LL &&
			  t->ts_us[3] == 1700000000003000LL, "ticks timestamps");
		CHECK(t->values[0] == 0.5 && t->values[3 * 3 + 2] == 32.5,
			  "ticks values row-major");
		CHECK(dg.messages[2].u.end_us == 1700000009000000LL, "end time");
		/* Strings of a v1 datagram point into the datagram itself. */
		CHECK((const uint8_t *) d->tracer.ptr > copy &&
			  (const uint8_t *) d->tracer.ptr < copy + b.len,
			  "v1 strings point into the datagram");
	}
	free(copy);
	bb_free(&b);
}

void
test_v1_limits(void)
{
	ByteBuf		b = {0};
	static const char *names1024[1024];
	char		longname[DG_MAX_NAME + 1];

	for (int i = 0; i < 1024; i++)
		names1024[i] = "";
	memset(longname, 'n', sizeof(longname));

	/* The largest description: 1,024 empty names. */
	bb_v1_header(&b, 0, 1, 0);
	put_describe(&b, 1024, 0, 1024, names1024);
	EXPECT(b.data, b.len, DECODE_OK, "describe of 1024 names");
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_describe(&b, 1024, 1023, 1, names1024);
	EXPECT(b.data, b.len, DECODE_OK, "describe of the last metric");
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_describe(&b, 1024, 1024, 1, names1024);
	EXPECT(b.data, b.len, DECODE_BAD_COUNT, "describe beyond the total");
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_describe(&b, 0, 0, 0, names1024);
	EXPECT(b.data, b.len, DECODE_BAD_COUNT, "describe with metric_total 0");

	/* A name of exactly the limit, and one byte more. */
	{
		const char *one[1] = {longname};
		size_t		at;

		b.len = 0;
		bb_v1_header(&b, 0, 1, 0);
		at = bb_v1_begin_message(&b, DG_DESCRIBE);
		bb_i64(&b, 0);
		bb_u32(&b, 0);
		bb_u32(&b, 0);
		bb_u16(&b, 1);
		bb_u16(&b, 0);
		bb_u16(&b, 1);
		for (int i = 0; i < 4; i++)
			bb_str16(&b, "", 0);
		bb_str16(&b, one[0], DG_MAX_NAME);
		bb_v1_end_message(&b, at);
		EXPECT(b.data, b.len, DECODE_OK, "name of 1024 bytes");
		b.data[b.len - DG_MAX_NAME - 2] = 0x01;
		b.data[b.len - DG_MAX_NAME - 1] = 0x04;	/* claims 1025 */
		EXPECT(b.data, b.len, DECODE_TOO_LONG, "name of 1025 bytes");
	}

	/* Values per tick up to the metric limit. */
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_ticks(&b, 0, 0, 1024, 1);
	EXPECT(b.data, b.len, DECODE_OK, "1024 values in a tick");
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_ticks(&b, 0, 1, 1024, 1);
	EXPECT(b.data, b.len, DECODE_BAD_COUNT, "values for metric 1024");
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_ticks(&b, 0, 1023, 1, 1);
	EXPECT(b.data, b.len, DECODE_OK, "a value for the last metric");

	/* Most ticks in one datagram: one value each. */
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_ticks(&b, 0, 0, 1, (DG_MAX_DATAGRAM - 28 - 4 - 16) / 12);
	EXPECT(b.data, b.len, DECODE_OK, "5,455 ticks of one value");

	/* A tick count that the body cannot hold. */
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_ticks(&b, 0, 0, 2, 3);
	b.data[28 + 4 + 12] = 0xFF;
	b.data[28 + 4 + 13] = 0xFF;
	EXPECT(b.data, b.len, DECODE_TRUNCATED, "tick count 65535 in a short body");

	/* Over the datagram limit, and exactly at it. */
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	{
		size_t		at = bb_v1_begin_message(&b, 0x7E);
		static uint8_t zeros[DG_MAX_DATAGRAM];

		bb_bytes(&b, zeros, DG_MAX_DATAGRAM - 32);
		bb_v1_end_message(&b, at);
	}
	EXPECT(b.data, b.len, DECODE_OK, "65,507 bytes with one unknown message");
	bb_u8(&b, 0);
	EXPECT(b.data, b.len, DECODE_OVERSIZED, "65,508 bytes");
	bb_free(&b);
}

void
test_v1_malformed(void)
{
	ByteBuf		b = {0};
	DecodedDatagram dg;
	DecodeResult r;

	EXPECT("", 0, DECODE_EMPTY, "zero bytes");
	EXPECT("M", 1, DECODE_BAD_MAGIC, "M");
	EXPECT("MNEM", 4, DECODE_TRUNCATED, "magic only");
	EXPECT("MNEM\x01", 5, DECODE_TRUNCATED, "magic and version");
	EXPECT("MNEM\x02", 5, DECODE_BAD_VERSION, "a short version 2");
	EXPECT("MNEM\x00", 5, DECODE_BAD_VERSION, "version 0");
	EXPECT("MNEM\xff\x00", 6, DECODE_BAD_VERSION, "version 255");
	EXPECT("MNEM\x01\x80", 6, DECODE_BAD_FLAGS, "flag bit 7");
	EXPECT("mnem\x01\x00", 6, DECODE_BAD_MAGIC, "lower-case magic");
	EXPECT("\x00\x00\x00\x00", 4, DECODE_BAD_MAGIC, "zeros");

	/* Unknown kinds are skipped whatever their message flags. */
	bb_v1_header(&b, 0, 4, 0);
	for (int kind = 0x17; kind <= 0x19; kind++)
	{
		size_t		at = bb_v1_begin_message(&b, (uint8_t) kind);

		b.data[at - 1] = 0xFF;	/* message flags */
		bb_text(&b, "future");
		bb_v1_end_message(&b, at);
	}
	put_end(&b, 5);
	r = decode_datagram(b.data, b.len, &arena, &dg);
	CHECK(r == DECODE_OK && dg.unknown_kinds == 3 && dg.message_count == 1 &&
		  dg.messages[0].kind == DG_END && dg.messages[0].u.end_us == 5,
		  "three unknown kinds skipped before END: %s", decode_reason_name(r));

	/* A known kind cut short inside its own body. */
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	{
		size_t		at = bb_v1_begin_message(&b, DG_END);

		bb_u32(&b, 0);
		bb_v1_end_message(&b, at);
	}
	EXPECT(b.data, b.len, DECODE_TRUNCATED, "END body of 4 bytes");

	/* DESCRIBE whose names run past its body into the next message. */
	b.len = 0;
	bb_v1_header(&b, 0, 2, 0);
	put_describe(&b, 3, 0, 3, metric_names);
	put_end(&b, 0);
	b.data[28 + 4 + 20] = 4;	/* metric_count 4 of total 3 */
	EXPECT(b.data, b.len, DECODE_BAD_COUNT, "describe: 4 names of 3");
	b.data[28 + 4 + 16] = 4;	/* metric_total 4: now a name is missing */
	EXPECT(b.data, b.len, DECODE_TRUNCATED, "describe: 4th name missing");

	/* AUTH trailer: too short for the trailer, and the tag eating all. */
	EXPECT("MNEM\x01\x01\x01\x00" "0123456789abcdef" "\x00\x00\x00\x00" "\x07",
		   29, DECODE_TRUNCATED, "AUTH without room for the trailer");
	b.len = 0;
	bb_v1_header(&b, 1, 1, 0);
	put_end(&b, 0);
	bb_u8(&b, 9);
	bb_u8(&b, 12);				/* the tag is the END message itself */
	EXPECT(b.data, b.len, DECODE_TRUNCATED, "AUTH tag covering the messages");

	/* Time limits. */
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_end(&b, DG_MIN_TIME_US);
	EXPECT(b.data, b.len, DECODE_OK, "END at the earliest time");
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_end(&b, DG_MIN_TIME_US - 1);
	EXPECT(b.data, b.len, DECODE_BAD_TIMESTAMP, "END before the earliest time");
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_ticks(&b, INT64_MAX - 1000, 0, 1, 1);
	EXPECT(b.data, b.len, DECODE_OK, "tick at offset 0 near INT64_MAX");
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_ticks(&b, INT64_MAX - 999, 0, 1, 2);
	EXPECT(b.data, b.len, DECODE_BAD_TIMESTAMP, "tick overflowing INT64_MAX");
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_ticks(&b, INT64_MIN, 0, 1, 1);
	EXPECT(b.data, b.len, DECODE_BAD_TIMESTAMP, "ticks at INT64_MIN");
	bb_free(&b);
}

/*
 * The arena bound of decode.h: DECODE_ARENA_SIZE suffices for the shapes
 * that need the most scratch per wire byte, and a smaller arena fails
 * cleanly instead of overrunning.
 */
void
test_arena_bounds(void)
{
	ByteBuf		b = {0};
	DecodedDatagram dg;
	DecodeResult r;
	size_t		most = 0;
	DecodeArena small;
	int			n;

	/* As many END messages as fit: one DgMessage per 12 wire bytes. */
	n = (DG_MAX_DATAGRAM - 28) / 12;
	bb_v1_header(&b, 0, (uint16_t) n, 0);
	for (int i = 0; i < n; i++)
		put_end(&b, i);
	r = decode_datagram(b.data, b.len, &arena, &dg);
	CHECK(r == DECODE_OK && dg.message_count == (uint32_t) n,
		  "%d END messages: %s", n, decode_reason_name(r));
	most = arena.used > most ? arena.used : most;

	/* Descriptions of empty names: a DgString per 2 wire bytes. */
	{
		static const char *empty[1024];

		for (int i = 0; i < 1024; i++)
			empty[i] = "";
		b.len = 0;
		n = (DG_MAX_DATAGRAM - 28) / (4 + 34 + 2048);
		bb_v1_header(&b, 0, (uint16_t) n, 0);
		for (int i = 0; i < n; i++)
			put_describe(&b, 1024, 0, 1024, empty);
		r = decode_datagram(b.data, b.len, &arena, &dg);
		CHECK(r == DECODE_OK, "%d describes of 1024 names: %s", n,
			  decode_reason_name(r));
		most = arena.used > most ? arena.used : most;
	}

	/* Ticks of one value: 16 arena bytes per 12 wire bytes. */
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_ticks(&b, 0, 0, 1, (DG_MAX_DATAGRAM - 48) / 12);
	r = decode_datagram(b.data, b.len, &arena, &dg);
	CHECK(r == DECODE_OK, "max ticks: %s", decode_reason_name(r));
	most = arena.used > most ? arena.used : most;

	/* JSON: escaped names fill the arena with their decoded text. */
	b.len = 0;
	bb_text(&b, "{\"msg_type\":\"create_trace_run\",\"app_name\":\"a\","
			"\"uuid\":\"6f1c2a3b4d5e4f60817293a4b5c6d7e8\",\"column_names\":[");
	for (int i = 0; i < 1024 && b.len < DG_MAX_DATAGRAM - 80; i++)
		bb_text(&b, i ? ",\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\""
				: "\"\\u00e9\"");
	bb_text(&b, "]}");
	r = decode_datagram(b.data, b.len, &arena, &dg);
	CHECK(r == DECODE_OK, "json escaped names: %s", decode_reason_name(r));
	most = arena.used > most ? arena.used : most;

	CHECK(most <= DECODE_ARENA_SIZE, "arena use %zu beyond %d", most,
		  DECODE_ARENA_SIZE);
	printf("arena: largest use %zu of %d bytes\n", most,
		   DECODE_ARENA_SIZE);

	/* Too small an arena: a clean failure, nothing written beyond it. */
	small.base = malloc(256);
	small.size = 256;
	b.len = 0;
	bb_v1_header(&b, 0, 1, 0);
	put_ticks(&b, 0, 0, 8, 8);
	r = decode_datagram(b.data, b.len, &small, &dg);
	CHECK(r == DECODE_OVERSIZED && small.used <= small.size,
		  "small arena: %s", decode_reason_name(r));
	free(small.base);
	bb_free(&b);
}

/* A datagram of one END message with an AUTH trailer: tag_len bytes of
 * 0xAB, then key id and the length byte written. */
static void
signed_end(ByteBuf *b, int tag_len, uint8_t length_byte)
{
	bb_v1_header(b, 0x01, 1, 9);
	put_end(b, 1700000000000000LL);
	for (int i = 0; i < tag_len; i++)
		bb_u8(b, 0xAB);
	bb_u8(b, 5);
	bb_u8(b, length_byte);
}

static DgSignature
signature_of(const ByteBuf *b, DgSignatureInfo *info)
{
	uint8_t    *copy = malloc(b->len);
	DgSignature sig;

	memcpy(copy, b->data, b->len);
	sig = dg_read_signature(copy, b->len, info);
	/* the tag must point into the datagram, not at a copy of it */
	if (sig == DG_SIG_SIGNED)
		info->tag = b->data + (info->tag - copy);
	free(copy);
	return sig;
}

/*
 * What the receiver reads of a datagram's signature before anything is
 * decoded (docs/protocol.md, "Authentication trailer").
 */
void
test_v1_signature(void)
{
	ByteBuf		b = {0};
	DgSignatureInfo info;
	DgSignature sig;

	for (int len = DG_MIN_TAG; len <= DG_MAX_TAG; len += DG_MAX_TAG - DG_MIN_TAG)
	{
		signed_end(&b, len, (uint8_t) len);
		sig = signature_of(&b, &info);
		CHECK(sig == DG_SIG_SIGNED && info.key_id == 5 && info.tag_len == len &&
			  info.seq == 9 && info.run[0] == 0x6f &&
			  info.signed_len == b.len - 2 - len &&
			  info.tag == b.data + info.signed_len,
			  "a %d-byte tag is read where the trailer says", len);
		bb_free(&b);
	}

	signed_end(&b, DG_MIN_TAG - 1, DG_MIN_TAG - 1);
	CHECK(signature_of(&b, &info) == DG_SIG_BAD_TRAILER,
		  "a tag shorter than %d bytes is not a signature", DG_MIN_TAG);
	bb_free(&b);
	signed_end(&b, DG_MAX_TAG + 1, DG_MAX_TAG + 1);
	CHECK(signature_of(&b, &info) == DG_SIG_BAD_TRAILER,
		  "a tag longer than %d bytes is not a signature", DG_MAX_TAG);
	bb_free(&b);
	signed_end(&b, 16, 255);
	CHECK(signature_of(&b, &info) == DG_SIG_BAD_TRAILER,
		  "a tag length beyond the datagram is not a signature");
	bb_free(&b);

	bb_v1_header(&b, 0x01, 1, 9);
	bb_u8(&b, 0);
	CHECK(signature_of(&b, &info) == DG_SIG_BAD_TRAILER,
		  "AUTH set, no room for a trailer");
	bb_free(&b);

	bb_v1_header(&b, 0, 1, 77);
	put_end(&b, 1700000000000000LL);
	sig = signature_of(&b, &info);
	CHECK(sig == DG_SIG_UNSIGNED && info.seq == 77 && info.run[15] == 0xe8,
		  "no AUTH flag: unsigned, with its run and sequence");
	bb_free(&b);

	bb_v1_header(&b, 0x03, 1, 9);
	put_end(&b, 1700000000000000LL);
	CHECK(signature_of(&b, &info) == DG_SIG_NOT_V1,
		  "a reserved flag: not a v1 datagram this server knows");
	bb_free(&b);

	bb_v1_header(&b, 0, 1, 9);
	b.data[4] = 2;
	CHECK(signature_of(&b, &info) == DG_SIG_NOT_V1, "version 2");
	bb_free(&b);

	bb_v1_header(&b, 0, 1, 9);
	b.len = DG_V1_HEADER_SIZE - 1;
	CHECK(signature_of(&b, &info) == DG_SIG_NOT_V1, "a cut header");
	bb_free(&b);

	bb_text(&b, "{\"msg_type\": \"row\"}");
	CHECK(signature_of(&b, &info) == DG_SIG_NOT_V1, "legacy JSON");
	bb_free(&b);
}
