/*
 * hmac_sha256.c
 *	  SHA-256 (FIPS 180-4, section 6.2) and HMAC-SHA-256 (RFC 2104); see
 *	  hmac_sha256.h for why dolon has its own.
 */
#include "hmac_sha256.h"

#include <string.h>

static const uint32_t round_constants[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

static inline uint32_t
rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t
load_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | p[3];
}

static inline void
store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/* One 64-byte block into the state. */
static void
compress(uint32_t h[8], const uint8_t *block)
{
	uint32_t	w[64];
	uint32_t	a = h[0],
				b = h[1],
				c = h[2],
				d = h[3],
				e = h[4],
				f = h[5],
				g = h[6],
				k = h[7];

	for (int t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (int t = 16; t < 64; t++)
	{
		uint32_t	s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t	s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);

		w[t] = w[t - 16] + s0 + w[t - 7] + s1;
	}
	for (int t = 0; t < 64; t++)
	{
		uint32_t	t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
			((e & f) ^ (~e & g)) + round_constants[t] + w[t];
		uint32_t	t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) +
			((a & b) ^ (a & c) ^ (b & c));

		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += k;
}

void
sha256_init(Sha256 *c)
{
	static const uint32_t initial[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
	};

	memcpy(c->h, initial, sizeof(initial));
	c->length = 0;
	c->used = 0;
}

void
sha256_update(Sha256 *c, const uint8_t *data, size_t len)
{
	c->length += len;
	if (c->used > 0)
	{
		size_t		take = SHA256_BLOCK - c->used;

		if (take > len)
			take = len;
		memcpy(c->block + c->used, data, take);
		c->used += take;
		data += take;
		len -= take;
		if (c->used < SHA256_BLOCK)
			return;
		compress(c->h, c->block);
		c->used = 0;
	}
	for (; len >= SHA256_BLOCK; data += SHA256_BLOCK, len -= SHA256_BLOCK)
		compress(c->h, data);
	memcpy(c->block, data, len);
	c->used = len;
}

void
sha256_final(Sha256 *c, uint8_t out[SHA256_DIGEST])
{
	uint64_t	bits = c->length * 8;
	uint8_t		pad[SHA256_BLOCK + 8] = {0x80};
	size_t		padlen = (c->used < 56 ? 56 : 120) - c->used;

	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t) (bits >> (56 - 8 * i));
	sha256_update(c, pad, padlen + 8);
	for (int i = 0; i < 8; i++)
		store_be32(out + 4 * i, c->h[i]);
}

void
hmac_sha256_init(HmacSha256Key *k, const uint8_t *key, size_t len)
{
	uint8_t		block[SHA256_BLOCK] = {0};
	uint8_t		pad[SHA256_BLOCK];

	/* A key longer than a block is replaced by its hash (RFC 2104). */
	if (len > SHA256_BLOCK)
	{
		Sha256		c;

		sha256_init(&c);
		sha256_update(&c, key, len);
		sha256_final(&c, block);
	}
	else
		memcpy(block, key, len);

	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = block[i] ^ 0x36;
	sha256_init(&k->inner);
	sha256_update(&k->inner, pad, SHA256_BLOCK);
	for (int i = 0; i < SHA256_BLOCK; i++)
		pad[i] = block[i] ^ 0x5c;
	sha256_init(&k->outer);
	sha256_update(&k->outer, pad, SHA256_BLOCK);
	memset(block, 0, sizeof(block));
	memset(pad, 0, sizeof(pad));
}

void
hmac_sha256(const HmacSha256Key *k, const uint8_t *data, size_t len,
			uint8_t out[SHA256_DIGEST])
{
	Sha256		c = k->inner;
	uint8_t		inner[SHA256_DIGEST];

	sha256_update(&c, data, len);
	sha256_final(&c, inner);
	c = k->outer;
	sha256_update(&c, inner, SHA256_DIGEST);
	sha256_final(&c, out);
}
