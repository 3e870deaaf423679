/*
 * test_decoder.c
 *	  Unit tests of the datagram decoder (listener/decode.c, legacy_json.c,
 *	  json_scan.c, text.c): the tests live in test_v1.c, test_json.c and
 *	  test_vectors.c; this is their driver.
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
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	test_v1_signature();
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
