/*
 * fuzz_decoder.c
 *	  libFuzzer target for decode_datagram().
 *
 * Beyond "does not crash" (AddressSanitizer catches any read outside the
 * input, which libFuzzer hands over in an exact-size buffer), every result
 * must be a known reason, a DECODE_OK result must keep the promises of
 * decode.h (check_decoded), the signature reader of the receiver agrees
 * with the decoder (check_signature), and decoding is deterministic: the
 * same bytes give the same result and the same messages again.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static DecodeArena arena;

static void
fail(const char *what, const uint8_t *data, size_t size)
{
	fprintf(stderr, "decoder invariant broken: %s (input of %zu bytes)\n",
			what, size);
	(void) data;
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	DecodedDatagram dg;
	DecodeResult r;
	const char *problem;
	char	   *first;
	char	   *second;

	if (arena.base == NULL)
	{
		arena.base = malloc(DECODE_ARENA_SIZE);
		arena.size = DECODE_ARENA_SIZE;
	}

	r = decode_datagram(data, size, &arena, &dg);
	if (r < DECODE_OK || r >= DECODE_NREASONS)
		fail("reason out of range", data, size);
	if (arena.used > arena.size)
		fail("arena overrun", data, size);
	if ((problem = check_signature(data, size, r, &dg)) != NULL)
		fail(problem, data, size);
	if (r != DECODE_OK)
	{
		if (dg.message_count != 0)
			fail("messages left in a failed result", data, size);
		return 0;
	}
	if (size > DG_MAX_DATAGRAM)
		fail("oversized datagram accepted", data, size);
	if ((problem = check_decoded(data, size, &dg, &arena)) != NULL)
		fail(problem, data, size);

	/* Deterministic: a second decode describes the same datagram. */
	first = dump_decode_result(r, &dg);
	r = decode_datagram(data, size, &arena, &dg);
	second = dump_decode_result(r, &dg);
	if (strcmp(first, second) != 0)
		fail("two decodes differ", data, size);
	free(first);
	free(second);
	return 0;
}
