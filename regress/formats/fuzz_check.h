/*
 * fuzz_check.h
 *	  What the fuzz targets of the format scanners share: a failed promise
 *	  aborts (libFuzzer keeps the input), and pointers a scanner returns
 *	  must lie inside the input.
 */
#ifndef MNEMIC_FUZZ_CHECK_H
#define MNEMIC_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, what) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: promise broken: %s\n", __FILE__, __LINE__, what); \
			abort(); \
		} \
	} while (0)

/* p[0..len) lies within base[0..size). */
static inline bool
fuzz_inside(const void *p, size_t len, const void *base, size_t size)
{
	const uint8_t *q = p;
	const uint8_t *b = base;

	return q >= b && q <= b + size && len <= (size_t) (b + size - q);
}

#endif							/* MNEMIC_FUZZ_CHECK_H */
