/*
 * format_scan.c
 *	  Errors, memory and text helpers of the format scanners (format_scan.h).
 *
 * Plain C, no PostgreSQL headers.
 */
#include "format_scan.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "listener/text.h"

bool
scan_fail(ScanError *err, size_t offset, int line, const char *fmt,...)
{
	va_list		ap;

	err->offset = offset;
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

bool
scan_grow(const ScanAlloc *alloc, void **array, size_t size, size_t n,
		  size_t *cap)
{
	size_t		want;
	void	   *moved;

	if (n < *cap)
		return true;
	want = *cap < 64 ? 64 : *cap * 2;
	if (want < *cap || want > SIZE_MAX / size)
		return false;
	moved = alloc->resize(alloc->ctx, *array, want * size);
	if (moved == NULL)
		return false;
	*array = moved;
	*cap = want;
	return true;
}

char *
scan_strdup(const ScanAlloc *alloc, const char *s, size_t len)
{
	char	   *copy;

	if (len == SIZE_MAX)
		return NULL;
	copy = alloc->resize(alloc->ctx, NULL, len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

char *
scan_utf8_repaired(const ScanAlloc *alloc, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *) s;
	char	   *out;
	size_t		n = 0;

	/* each bad byte grows to three */
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	if (utf8_valid(p, len))
		return scan_strdup(alloc, s, len);
	out = alloc->resize(alloc->ctx, NULL, len * 3 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;)
	{
		size_t		seq = p[i] < 0x80 ? 1 : utf8_sequence_length(p[i]);

		if (p[i] != 0 && seq > 0 && seq <= len - i &&
			utf8_valid(p + i, seq))
		{
			memcpy(out + n, p + i, seq);
			n += seq;
			i += seq;
		}
		else
		{
			memcpy(out + n, "\xEF\xBF\xBD", 3);
			n += 3;
			i++;
		}
	}
	out[n] = '\0';
	return out;
}
