/*
 * hmac_sha256.h
 *	  SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for signing
 *	  datagrams (sign.c).
 *
 * Our own, in plain C, rather than libcrypto: dolon loads no library it
 * does not need (libpq is opened with dlopen only for PostgresDiagnostics),
 * its wheels must run where no OpenSSL of a known version is installed,
 * and a run signs about one datagram a second, so speed does not matter.
 * Checked against the test vectors of RFC 4231 and FIPS 180-4
 * (tests/test_sign.py) and against docs/vectors.
 *
 * The key's inner and outer pads are hashed once (hmac_sha256_init), so
 * each datagram costs only its own blocks and two more.
 */
#ifndef DOLON_HMAC_SHA256_H
#define DOLON_HMAC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BLOCK	64
#define SHA256_DIGEST	32

typedef struct Sha256
{
	uint32_t	h[8];
	uint64_t	length;			/* bytes hashed so far */
	uint8_t		block[SHA256_BLOCK];
	size_t		used;			/* bytes in block */
} Sha256;

extern void sha256_init(Sha256 *c);
extern void sha256_update(Sha256 *c, const uint8_t *data, size_t len);
extern void sha256_final(Sha256 *c, uint8_t out[SHA256_DIGEST]);

/* A key's HMAC state: SHA-256 after (key ^ ipad) and after (key ^ opad). */
typedef struct HmacSha256Key
{
	Sha256		inner;
	Sha256		outer;
} HmacSha256Key;

extern void hmac_sha256_init(HmacSha256Key *k, const uint8_t *key, size_t len);
extern void hmac_sha256(const HmacSha256Key *k, const uint8_t *data,
						size_t len, uint8_t out[SHA256_DIGEST]);

#endif							/* DOLON_HMAC_SHA256_H */
