/*
 * test_vectors.c
 *	  The committed test vectors (docs/vectors) decode to their expected
 *	  dumps; every prefix, extension and bit flip of each is handled; past
 *	  crash inputs stay fixed; the vectors as fuzzing seeds.
 */
#include "harness.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"


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
	expect_reason(__FILE__, __LINE__, longer, len + 1,
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

void
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
void
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
int
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
