/*
 * profile_detect.c
 *	  Tell a profile file's format from its first bytes.
 *
 * The formats mnemic.import_profile() reads differ from their first bytes
 * on: vmprof's .prof starts with the words 0 and 3 (its header, in the
 * machine's word size); speedscope is JSON naming its schema; folded
 * stacks are lines of text; pprof is a profile.proto message, whose first
 * byte is the tag of one of its fields.  Any of them may be gzipped: then
 * the start of what it unpacks to is looked at.
 */
#define _GNU_SOURCE				/* memmem */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "profile_detect.h"

/* How much of a file (unpacked) is looked at. */
#define PEEK_BYTES	(64 * 1024)

static bool
is_vmprof(const unsigned char *p, size_t len)
{
	static const unsigned char header64[16] = {0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0};
	static const unsigned char header32[8] = {0, 0, 0, 0, 3, 0, 0, 0};

	return (len >= 16 && memcmp(p, header64, 16) == 0) ||
		(len >= 8 && memcmp(p, header32, 8) == 0);
}

/* JSON that names speedscope's file format schema. */
static bool
is_speedscope(const unsigned char *p, size_t len)
{
	static const char schema[] = "speedscope.app/file-format-schema";
	size_t		i = 0;

	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && strchr(" \t\r\n", p[i]) != NULL && p[i] != '\0')
		i++;
	if (i >= len || p[i] != '{')
		return false;
	return memmem(p + i, len - i, schema, sizeof(schema) - 1) != NULL;
}

/* Text: no control characters but tabs and line ends, and some of it. */
static bool
is_text(const unsigned char *p, size_t len)
{
	size_t		i;
	bool		visible = false;

	for (i = 0; i < len; i++)
	{
		if (p[i] == 0x7f || (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r'))
			return false;
		if (p[i] > ' ')
			visible = true;
	}
	return visible;
}

/*
 * A profile.proto message: its first byte is the tag of field 1 to 14
 * (sample_type ... default_sample_type), as a varint (wire type 0) or a
 * length-delimited field (wire type 2).
 */
static bool
is_pprof(const unsigned char *p, size_t len)
{
	int			field;
	int			wire_type;

	if (len < 2)
		return false;
	field = p[0] >> 3;
	wire_type = p[0] & 7;
	return field >= 1 && field <= 14 && (wire_type == 0 || wire_type == 2);
}

static const char *
detect_plain(const unsigned char *p, size_t len)
{
	if (is_vmprof(p, len))
		return "vmprof";
	if (is_speedscope(p, len))
		return "speedscope";
	if (is_text(p, len))
		return p[0] == '{' ? NULL : "collapsed";
	if (is_pprof(p, len))
		return "pprof";
	return NULL;
}

/* Unpack up to PEEK_BYTES of a gzipped file into out; how many, or 0. */
static size_t
gunzip_start(const unsigned char *data, size_t len, unsigned char *out)
{
	z_stream	z;
	int			rc;
	size_t		got;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return 0;
	z.next_in = (Bytef *) data;
	z.avail_in = (uInt) (len > UINT32_MAX ? UINT32_MAX : len);
	z.next_out = out;
	z.avail_out = PEEK_BYTES;
	rc = inflate(&z, Z_SYNC_FLUSH);
	got = z.total_out;
	inflateEnd(&z);
	return (rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR) ? got : 0;
}

const char *
profile_detect_format(const unsigned char *data, size_t len)
{
	if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b)
	{
		unsigned char *unpacked = malloc(PEEK_BYTES);
		const char *format = NULL;
		size_t		n;

		if (unpacked == NULL)
			return NULL;
		n = gunzip_start(data, len, unpacked);
		if (n > 0)
			format = detect_plain(unpacked, n);
		free(unpacked);
		return format;
	}
	return detect_plain(data, len < PEEK_BYTES ? len : PEEK_BYTES);
}
