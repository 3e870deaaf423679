/*
 * format_scan.h
 *	  What the scanners of the profile file formats share: the error that
 *	  says where a file goes wrong, and the memory a scanner may ask for.
 *
 * Plain C, no PostgreSQL headers.  A scanner (collapsed_scan.c,
 * vmprof_scan.c, pprof_scan.c, speedscope_scan.c) turns the bytes of a file
 * into plain structs and checks everything a byte can get wrong; it is
 * linked into pg_mnemic.so, where a reader of profile_formats.h drives it
 * and turns what it finds into a ProfileImport, and into the libFuzzer
 * targets of regress/formats, which feed it random bytes under
 * AddressSanitizer and UBSan.  So a scanner never reads outside the bytes
 * it is given, never trusts a length or an index it read, and reports a
 * problem instead of raising it.
 */
#ifndef MNEMIC_FORMAT_SCAN_H
#define MNEMIC_FORMAT_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCAN_MESSAGE_SIZE	256

/* The first problem of a file. */
typedef struct ScanError
{
	size_t		offset;			/* byte of the problem (binary formats) */
	int			line;			/* its line, from 1 (text formats); 0: none */
	char		message[SCAN_MESSAGE_SIZE];
} ScanError;

/*
 * Record a problem at offset or line; returns false, so a scanner can
 * write "return scan_fail(...)".
 */
extern bool scan_fail(ScanError *err, size_t offset, int line,
					  const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/*
 * Memory for a scanner: resize(ctx, NULL, n) is a new block, resize(ctx, p,
 * n) moves p into a block of n bytes.  NULL when there is none; the owner
 * frees everything at once when it is done with what the scanner built
 * (pg_mnemic: a memory context; the fuzz targets: a list of blocks).
 */
typedef struct ScanAlloc
{
	void	   *(*resize) (void *ctx, void *ptr, size_t size);
	void	   *ctx;
} ScanAlloc;

/*
 * Make room for one more entry of size bytes in *array, which holds *n of
 * *cap; false when the count or the bytes would overflow or memory runs out.
 */
extern bool scan_grow(const ScanAlloc *alloc, void **array, size_t size,
					  size_t n, size_t *cap);

/* A NUL-terminated copy of s[0..len), or NULL. */
extern char *scan_strdup(const ScanAlloc *alloc, const char *s, size_t len);

/*
 * s[0..len) with every byte that is not part of valid UTF-8, and every NUL,
 * replaced by U+FFFD, NUL-terminated: for names a writer may have cut in
 * the middle of a character.  NULL when out of memory.
 */
extern char *scan_utf8_repaired(const ScanAlloc *alloc, const char *s,
								size_t len);

/* Little-endian unsigned integers of 4 and 8 bytes at p. */
static inline uint32_t
scan_le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
		(uint32_t) p[3] << 24;
}

static inline uint64_t
scan_le64(const uint8_t *p)
{
	return (uint64_t) scan_le32(p) | (uint64_t) scan_le32(p + 4) << 32;
}

#endif							/* MNEMIC_FORMAT_SCAN_H */
