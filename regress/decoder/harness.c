/*
 * harness.c
 *	  What every decoder unit test shares: counting checks, and decoding
 *	  from exact-size copies so AddressSanitizer sees any read past the end.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int			n_passed;
int			n_failed;
DecodeArena arena;

void
check(bool ok, const char *file, int line, const char *fmt,...)
{
	va_list		ap;

	if (ok)
	{
		n_passed++;
		return;
	}
	n_failed++;
	printf("FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Decode from an exact-size copy; the copy is freed, the result is not used after. */
DecodeResult
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

void
expect_reason(const char *file, int line, const void *data, size_t len,
			  DecodeResult want, const char *what)
{
	DecodedDatagram dg;
	const char *problem;
	DecodeResult r = decode_copy(data, len, &dg, &problem);

	check(r == want, file, line, "%s: got %s, want %s", what,
		  decode_reason_name(r), decode_reason_name(want));
	if (r == DECODE_OK)
		check(problem == NULL, file, line, "%s: invariant: %s", what, problem);
}

DecodeResult
decode_text(const char *text, DecodedDatagram *dg)
{
	return decode_datagram((const uint8_t *) text, strlen(text), &arena, dg);
}

bool
dgstring_is(DgString s, const char *want, size_t want_len)
{
	return s.len == want_len && memcmp(s.ptr, want, want_len) == 0;
}
