/*
 * test_decoder.c
 *	  Unit tests of the datagram decoder (listener/decode.c, listener/json.c).
 *
 *	  test_decoder VECTOR_DIR EXPECTED_DIR REGRESSION_DIR
 *		run every test; prints one line per failed check and ends with
 *		"decoder: N passed, M failed"; exit status 1 if any failed.
 *	  test_decoder --corpus VECTOR_DIR OUT_DIR
 *		write each vector as a raw datagram file (the fuzzer's seeds).
 *	  test_decoder --dump FILE.hex
 *		decode one datagram written as hex and print what came out.
 *
 * Every datagram is decoded from an exact-size malloc'd copy, so under
 * AddressSanitizer any read past its end fails the run.
 */
#include "testutil.h"
#include "text.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	n_passed;
static int	n_failed;

static void
check(bool ok, int line, const char *fmt,...)
{
	va_list		ap;

	if (ok)
	{
		n_passed++;
		return;
	}
	n_failed++;
	printf("FAIL test_decoder.c:%d: ", line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define CHECK(cond, ...) check((cond), __LINE__, __VA_ARGS__)

static DecodeArena arena;

/* Decode from an exact-size copy; the copy is freed, the result is not used after. */
static DecodeResult
decode_copy(const void *data, size_t len, DecodedDatagram *dg,
			 const char **problem)
{
	uint8_t    *copy = malloc(len > 0 ? len : 1);
	DecodeResult r;

	memcpy(copy, data, len);
	r = decode_datagram(copy, len, &arena, dg);
	*problem = (r == DECODE_OK) ? check_decoded(copy, len, dg, &arena) : NULL;
	free(copy);
	return r;
}

/* Decode and expect a reason; for DECODE_OK also the invariants. */
static void
expect_reason(int line, const void *data, size_t len, DecodeResult want,
			  const char *what)
{
	DecodedDatagram dg;
	const char *problem;
	DecodeResult r = decode_copy(data, len, &dg, &problem);

	check(r == want, line, "%s: got %s, want %s", what,
		  decode_reason_name(r), decode_reason_name(want));
	if (r == DECODE_OK)
		check(problem == NULL, line, "%s: invariant: %s", what, problem);
}

#define EXPECT(data, len, want, what) expect_reason(__LINE__, data, len, want, what)
#define EXPECT_TEXT(text, want) \
	expect_reason(__LINE__, text, strlen(text), want, text)

/* Decode a text (kept alive by the caller) and return the result in dg. */
static DecodeResult
decode_text(const char *text, DecodedDatagram *dg)
{
	return decode_datagram((const uint8_t *) text, strlen(text), &arena, dg);
}

static bool
dgstring_is(DgString s, const char *want, size_t want_len)
{
	return s.len == want_len && memcmp(s.ptr, want, want_len) == 0;
}

/* -------------------------------------------------------------- vectors */

static char *
read_text_file(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *text;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc(n + 1);
	if (fread(text, 1, n, f) != (size_t) n)
		n = 0;
	text[n] = '\0';
	fclose(f);
	return text;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names of the .hex files in dir, sorted; *count set. */
static char **
list_vectors(const char *dir, int *count)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	char	  **names = NULL;
	int			n = 0;

	if (d == NULL)
	{
		*count = 0;
		return NULL;
	}
	while ((e = readdir(d)) != NULL)
	{
		size_t		l = strlen(e->d_name);

		if (l > 4 && strcmp(e->d_name + l - 4, ".hex") == 0)
		{
			names = realloc(names, (n + 1) * sizeof(char *));
			names[n] = strndup(e->d_name, l - 4);
			n++;
		}
	}
	closedir(d);
	qsort(names, n, sizeof(char *), compare_names);
	*count = n;
	return names;
}

/* Index just past the last byte that is not JSON whitespace. */
static size_t
json_content_end(const uint8_t *buf, size_t len)
{
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\n' ||
					   buf[len - 1] == '\r' || buf[len - 1] == '\t'))
		len--;
	return len;
}

/*
 * Every prefix of a valid datagram is dropped: v1 as truncated (below 4
 * bytes the magic is not there yet), JSON as truncated until the object is
 * complete.  Long datagrams are cut at every offset near both ends and at a
 * stride in between, to keep the sanitizer run short.
 */
static void
check_prefixes(const char *name, const uint8_t *buf, size_t len,
			   DecodedDatagram *full)
{
	bool		json = full->format == DG_FORMAT_JSON;
	size_t		content_end = json ? json_content_end(buf, len) : len;
	int			bad = 0;
	size_t		first_bad = 0;
	DecodeResult got = DECODE_OK,
				want = DECODE_OK;

	for (size_t cut = 0; cut < len; cut++)
	{
		DecodedDatagram dg;
		const char *problem;
		DecodeResult r,
					w;

		if (len > 4096 && cut > 512 && cut < len - 512 && cut % 97 != 0)
			continue;
		r = decode_copy(buf, cut, &dg, &problem);
		if (cut == 0)
			w = DECODE_EMPTY;
		else if (!json && cut < 4)
			w = DECODE_BAD_MAGIC;
		else if (json && cut >= content_end)
			w = DECODE_OK;
		else
			w = DECODE_TRUNCATED;

		/* With AUTH, a cut moves the trailer: any clean failure will do. */
		if (full->has_auth && cut >= 4)
		{
			if (r == DECODE_OK)
				w = problem == NULL ? DECODE_OK : DECODE_NREASONS;
			else if (r > DECODE_OK && r < DECODE_NREASONS)
				w = r;
		}
		if (r != w || (r == DECODE_OK && problem != NULL))
		{
			if (bad++ == 0)
			{
				first_bad = cut;
				got = r;
				want = w;
			}
		}
	}
	CHECK(bad == 0, "%s: %d prefixes decode wrongly, first at %zu bytes: "
		  "got %s, want %s", name, bad, first_bad,
		  decode_reason_name(got), decode_reason_name(want));
}

/* One more byte after a valid datagram is always too much. */
static void
check_extension(const char *name, const uint8_t *buf, size_t len,
				DecodedDatagram *full)
{
	uint8_t    *longer;
	char		what[256];

	if (full->has_auth || len >= DG_MAX_DATAGRAM)
		return;
	longer = malloc(len + 1);
	memcpy(longer, buf, len);
	longer[len] = 'x';
	snprintf(what, sizeof(what), "%s plus one byte", name);
	expect_reason(__LINE__, longer, len + 1,
				  full->format == DG_FORMAT_JSON ?
				  DECODE_BAD_JSON : DECODE_TRAILING_BYTES, what);
	free(longer);
}

/*
 * Flip every bit of a (small) valid datagram in turn: whatever comes out,
 * it must be a known reason and an OK result must keep every invariant.
 */
static void
check_bit_flips(const char *name, const uint8_t *buf, size_t len)
{
	uint8_t    *copy;
	int			bad = 0;
	size_t		first_bad = 0;
	const char *first_problem = "";

	if (len > 4096)
		return;
	copy = malloc(len);
	for (size_t bit = 0; bit < len * 8; bit++)
	{
		DecodedDatagram dg;
		DecodeResult r;
		const char *problem = NULL;

		memcpy(copy, buf, len);
		copy[bit / 8] ^= (uint8_t) (1 << (bit % 8));
		r = decode_datagram(copy, len, &arena, &dg);
		if (r == DECODE_OK)
			problem = check_decoded(copy, len, &dg, &arena);
		else if (r <= DECODE_OK || r >= DECODE_NREASONS)
			problem = "reason out of range";
		if (problem != NULL && bad++ == 0)
		{
			first_bad = bit;
			first_problem = problem;
		}
	}
	free(copy);
	CHECK(bad == 0, "%s: %d bit flips break an invariant, first bit %zu: %s",
		  name, bad, first_bad, first_problem);
}

static void
test_vectors(const char *vector_dir, const char *expected_dir)
{
	int			count;
	char	  **names = list_vectors(vector_dir, &count);
	int			expected_files = 0;
	DIR		   *d;
	struct dirent *e;

	CHECK(count >= 60, "only %d vectors in %s", count, vector_dir);

	/* Every expected file has its vector (and by the loop below, back). */
	if ((d = opendir(expected_dir)) != NULL)
	{
		while ((e = readdir(d)) != NULL)
			if (strstr(e->d_name, ".txt") != NULL)
				expected_files++;
		closedir(d);
	}
	CHECK(expected_files == count, "%d expected files for %d vectors",
		  expected_files, count);

	for (int i = 0; i < count; i++)
	{
		char		path[4096];
		const char *error = NULL;
		size_t		len = 0;
		uint8_t    *buf;
		char	   *want;
		char	   *got;
		DecodedDatagram dg;
		DecodeResult r;
		const char *problem = NULL;

		snprintf(path, sizeof(path), "%s/%s.hex", vector_dir, names[i]);
		buf = read_hex_file(path, &len, &error);
		CHECK(buf != NULL, "%s: %s", path, error);
		snprintf(path, sizeof(path), "%s/%s.txt", expected_dir, names[i]);
		want = read_text_file(path);
		CHECK(want != NULL, "%s: missing", path);
		if (buf == NULL || want == NULL)
		{
			free(buf);
			free(want);
			continue;
		}

		r = decode_datagram(buf, len, &arena, &dg);
		if (r == DECODE_OK)
			problem = check_decoded(buf, len, &dg, &arena);
		got = dump_decode_result(r, &dg);
		CHECK(strcmp(got, want) == 0, "vector %s decodes as\n%s--- expected\n%s",
			  names[i], got, want);
		CHECK(problem == NULL, "vector %s: invariant: %s", names[i], problem);
		free(got);

		if (r == DECODE_OK)
		{
			check_prefixes(names[i], buf, len, &dg);
			check_extension(names[i], buf, len, &dg);
		}
		check_bit_flips(names[i], buf, len);
		free(buf);
		free(want);
		free(names[i]);
	}
	free(names);
}

/*
 * Inputs that once broke the decoder (or were built to probe one of its
 * edges), each with a "# expected: REASON" comment line.
 */
static void
test_regressions(const char *dir)
{
	int			count;
	char	  **names = list_vectors(dir, &count);

	for (int i = 0; i < count; i++)
	{
		char		path[4096];
		const char *error = NULL;
		size_t		len = 0;
		uint8_t    *buf;
		char	   *text;
		char	   *tag;
		char		want[64] = "";
		DecodedDatagram dg;
		DecodeResult r;

		snprintf(path, sizeof(path), "%s/%s.hex", dir, names[i]);
		buf = read_hex_file(path, &len, &error);
		text = read_text_file(path);
		tag = text ? strstr(text, "# expected: ") : NULL;
		if (tag != NULL)
			sscanf(tag + strlen("# expected: "), "%63s", want);
		CHECK(buf != NULL && want[0] != '\0',
			  "regression %s: unreadable or no expected reason", names[i]);
		if (buf != NULL && want[0] != '\0')
		{
			const char *problem = NULL;

			r = decode_datagram(buf, len, &arena, &dg);
			if (r == DECODE_OK)
				problem = check_decoded(buf, len, &dg, &arena);
			CHECK(strcmp(decode_reason_name(r), want) == 0 && problem == NULL,
				  "regression %s: got %s, want %s%s%s", names[i],
				  decode_reason_name(r), want, problem ? "; " : "",
				  problem ? problem : "");
		}
		free(buf);
		free(text);
		free(names[i]);
	}
	free(names);
	CHECK(count > 0, "no regression inputs in %s", dir);
}

/* Write every vector as a raw file into out_dir (fuzzer seed corpus). */
static int
write_corpus(const char *vector_dir, const char *out_dir)
{
	int			count;
	char	  **names = list_vectors(vector_dir, &count);

	for (int i = 0; i < count; i++)
	{
		char		path[4096];
		const char *error = NULL;
		size_t		len = 0;
		uint8_t    *buf;
		FILE	   *f;

		snprintf(path, sizeof(path), "%s/%s.hex", vector_dir, names[i]);
		if ((buf = read_hex_file(path, &len, &error)) == NULL)
		{
			fprintf(stderr, "%s: %s\n", path, error);
			return 1;
		}
		snprintf(path, sizeof(path), "%s/%s", out_dir, names[i]);
		if ((f = fopen(path, "wb")) == NULL ||
			fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		{
			fprintf(stderr, "cannot write %s\n", path);
			return 1;
		}
		free(buf);
		free(names[i]);
	}
	free(names);
	printf("%d seeds written to %s\n", count, out_dir);
	return 0;
}

/* ------------------------------------------------------ reasons, uuid */

static void
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

static void
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

static void
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

static void
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

static void
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

static void
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
	for (int kind = 0x10; kind <= 0x12; kind++)
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
static void
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

/* ------------------------------------------------------------ legacy JSON */

#define UUID_TEXT "6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8"
#define ROW_PREFIX "{\"msg_type\": \"row\", \"uuid\": \"" UUID_TEXT "\", \"row_data\": "
#define HEADER_PREFIX "{\"msg_type\": \"create_trace_run\", \"uuid\": \"" UUID_TEXT \
	"\", \"app_name\": \"a\", \"column_names\": "

static void
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
static void
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
static void
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

static void
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
static int
dump_one(const char *path)
{
	const char *error = NULL;
	size_t		len = 0;
	uint8_t    *buf = read_hex_file(path, &len, &error);
	DecodedDatagram dg;
	DecodeResult r;
	char	   *text;

	if (buf == NULL)
	{
		fprintf(stderr, "%s: %s\n", path, error);
		return 1;
	}
	r = decode_datagram(buf, len, &arena, &dg);
	text = dump_decode_result(r, &dg);
	fputs(text, stdout);
	free(text);
	free(buf);
	return r == DECODE_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	arena.base = malloc(DECODE_ARENA_SIZE);
	arena.size = DECODE_ARENA_SIZE;

	if (argc == 4 && strcmp(argv[1], "--corpus") == 0)
		return write_corpus(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "--dump") == 0)
		return dump_one(argv[2]);
	if (argc != 4)
	{
		fprintf(stderr, "usage: %s VECTOR_DIR EXPECTED_DIR REGRESSION_DIR\n"
				"       %s --corpus VECTOR_DIR OUT_DIR\n"
				"       %s --dump FILE.hex\n", argv[0], argv[0], argv[0]);
		return 2;
	}

	test_reason_names();
	test_uuid_text();
	test_utf8();
	test_v1_messages();
	test_v1_limits();
	test_v1_malformed();
	test_arena_bounds();
	test_json_messages();
	test_json_escapes();
	test_json_numbers();
	test_json_structure();
	test_vectors(argv[1], argv[2]);
	test_regressions(argv[3]);

	free(arena.base);
	printf("decoder: %d passed, %d failed\n", n_passed, n_failed);
	return n_failed == 0 ? 0 : 1;
}
