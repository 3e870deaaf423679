/*
 * harness.h
 *	  What the decoder unit tests (test_*.c) share: check counting, decoding
 *	  from exact-size copies, and the tests each file holds.
 */
#ifndef MNEMIC_DECODER_HARNESS_H
#define MNEMIC_DECODER_HARNESS_H

#include "testutil.h"

extern int	n_passed;
extern int	n_failed;
extern DecodeArena arena;

/* Count a check; print the failed ones with their place. */
extern void check(bool ok, const char *file, int line, const char *fmt,...);

#define CHECK(cond, ...) check((cond), __FILE__, __LINE__, __VA_ARGS__)

/*
 * Decode from an exact-size malloc'd copy (freed again; the result must not
 * be used afterwards); *problem names a broken invariant of a DECODE_OK.
 */
extern DecodeResult decode_copy(const void *data, size_t len,
								DecodedDatagram *dg, const char **problem);

/* Decode and expect a reason; for DECODE_OK also the invariants. */
extern void expect_reason(const char *file, int line, const void *data,
						  size_t len, DecodeResult want, const char *what);

#define EXPECT(data, len, want, what) \
	expect_reason(__FILE__, __LINE__, data, len, want, what)
#define EXPECT_TEXT(text, want) \
	expect_reason(__FILE__, __LINE__, text, strlen(text), want, text)

/* Decode a text (kept alive by the caller) and return the result in dg. */
extern DecodeResult decode_text(const char *text, DecodedDatagram *dg);

extern bool dgstring_is(DgString s, const char *want, size_t want_len);

/* test_vectors.c */
extern void test_vectors(const char *vector_dir, const char *expected_dir);
extern void test_regressions(const char *dir);
extern int	write_corpus(const char *vector_dir, const char *out_dir);

/* test_v1.c */
extern void test_reason_names(void);
extern void test_uuid_text(void);
extern void test_utf8(void);
extern void test_v1_messages(void);
extern void test_v1_limits(void);
extern void test_v1_malformed(void);
extern void test_v1_signature(void);
extern void test_arena_bounds(void);

/* test_json.c */
extern void test_json_messages(void);
extern void test_json_escapes(void);
extern void test_json_numbers(void);
extern void test_json_structure(void);

#endif							/* MNEMIC_DECODER_HARNESS_H */
