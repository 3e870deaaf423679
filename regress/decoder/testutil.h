/*
 * testutil.h
 *	  Helpers shared by the decoder unit tests, the fuzz target and the
 *	  benchmark: reading test vectors, dumping a decode result as text,
 *	  checking what every successful decode must satisfy, and building
 *	  datagrams byte by byte.
 */
#ifndef MNEMIC_DECODER_TESTUTIL_H
#define MNEMIC_DECODER_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/*
 * Read a docs/vectors/NAME.hex file: hex digits, whitespace ignored, lines
 * starting with '#' skipped.  Returns an exact-size malloc'd buffer (so
 * AddressSanitizer sees any read past its end), or NULL with *error set.
 */
extern uint8_t *read_hex_file(const char *path, size_t *len,
							  const char **error);

/*
 * The canonical text of a decode result, as regress/decoder/expected/ and
 * docs/vectors/make_vectors.py write it.  Returns a malloc'd string.
 */
extern char *dump_decode_result(DecodeResult r, const DecodedDatagram *dg);

/*
 * Check the promises decode.h makes about a DECODE_OK result: counts within
 * limits, strings valid UTF-8 and inside the datagram or the arena, times in
 * range.  Returns NULL if all hold, else a description of the first broken
 * one.  Reads every decoded value, so sanitizers see bad pointers.
 */
extern const char *check_decoded(const uint8_t *buf, size_t len,
								 const DecodedDatagram *dg,
								 const DecodeArena *arena);

/*
 * dg_read_signature() on any input: the tag it finds lies where the trailer
 * says, and for a decoded datagram (r == DECODE_OK) it agrees with the
 * decoder on format, run, sequence, AUTH flag and key id.  NULL if so.
 */
extern const char *check_signature(const uint8_t *buf, size_t len,
								   DecodeResult r, const DecodedDatagram *dg);

/* A growable byte buffer for building datagrams in tests. */
typedef struct ByteBuf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} ByteBuf;

extern void bb_bytes(ByteBuf *b, const void *p, size_t n);
extern void bb_u8(ByteBuf *b, uint8_t v);
extern void bb_u16(ByteBuf *b, uint16_t v);
extern void bb_u32(ByteBuf *b, uint32_t v);
extern void bb_i64(ByteBuf *b, int64_t v);
extern void bb_f64(ByteBuf *b, double v);
extern void bb_str16(ByteBuf *b, const char *s, size_t n);
extern void bb_text(ByteBuf *b, const char *s);
extern void bb_free(ByteBuf *b);

/* v1 header with a fixed run UUID; message count patched by bb_v1_count. */
extern void bb_v1_header(ByteBuf *b, uint8_t flags, uint16_t count,
						 uint32_t seq);
/* Start a message; returns where its length goes, for bb_v1_end_message. */
extern size_t bb_v1_begin_message(ByteBuf *b, uint8_t kind);
extern void bb_v1_end_message(ByteBuf *b, size_t at);

#endif							/* MNEMIC_DECODER_TESTUTIL_H */
