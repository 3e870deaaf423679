/*
 * bytebuf.c
 *	  Build datagrams byte by byte for the decoder tests and benchmark.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

void
bb_bytes(ByteBuf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap)
	{
		b->cap = (b->len + n) * 2 + 64;
		b->data = realloc(b->data, b->cap);
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
bb_u8(ByteBuf *b, uint8_t v)
{
	bb_bytes(b, &v, 1);
}

/* Little-endian whatever the host, byte by byte. */
static void
bb_le(ByteBuf *b, uint64_t v, int nbytes)
{
	for (int i = 0; i < nbytes; i++)
		bb_u8(b, (uint8_t) (v >> (8 * i)));
}

void
bb_u16(ByteBuf *b, uint16_t v)
{
	bb_le(b, v, 2);
}

void
bb_u32(ByteBuf *b, uint32_t v)
{
	bb_le(b, v, 4);
}

void
bb_i64(ByteBuf *b, int64_t v)
{
	bb_le(b, (uint64_t) v, 8);
}

void
bb_f64(ByteBuf *b, double v)
{
	uint64_t	bits;

	memcpy(&bits, &v, 8);
	bb_le(b, bits, 8);
}

void
bb_str16(ByteBuf *b, const char *s, size_t n)
{
	bb_u16(b, (uint16_t) n);
	bb_bytes(b, s, n);
}

void
bb_text(ByteBuf *b, const char *s)
{
	bb_bytes(b, s, strlen(s));
}

void
bb_free(ByteBuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
bb_v1_header(ByteBuf *b, uint8_t flags, uint16_t count, uint32_t seq)
{
	static const uint8_t run[16] = {
		0x6f, 0x1c, 0x2a, 0x3b, 0x4d, 0x5e, 0x4f, 0x60,
		0x81, 0x72, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8
	};

	bb_text(b, "MNEM");
	bb_u8(b, 1);
	bb_u8(b, flags);
	bb_u16(b, count);
	bb_bytes(b, run, 16);
	bb_u32(b, seq);
}

size_t
bb_v1_begin_message(ByteBuf *b, uint8_t kind)
{
	bb_u8(b, kind);
	bb_u8(b, 0);
	bb_u16(b, 0);
	return b->len - 2;
}

void
bb_v1_end_message(ByteBuf *b, size_t at)
{
	size_t		blen = b->len - at - 2;

	b->data[at] = (uint8_t) blen;
	b->data[at + 1] = (uint8_t) (blen >> 8);
}
