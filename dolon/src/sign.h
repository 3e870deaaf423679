/*
 * sign.h
 *	  Signing binary v1 datagrams: the AUTH trailer of docs/protocol.md,
 *	  an HMAC-SHA-256 tag over every byte before it (sign.c).
 */
#ifndef DOLON_SIGN_H
#define DOLON_SIGN_H

#include "compat.h"

#include <stddef.h>
#include <stdint.h>

#include "hmac_sha256.h"

#define SIGN_TAG_BYTES		16	/* what dolon sends: the shortest a server takes */
#define SIGN_TRAILER_BYTES	(SIGN_TAG_BYTES + 2)	/* tag, key id, tag length */
#define SIGN_MIN_SECRET		16	/* the server's limits on a secret */
#define SIGN_MAX_SECRET		64

typedef struct SignKey
{
	uint8_t		key_id;
	HmacSha256Key hmac;
} SignKey;

/*
 * Sign the v1 datagram buf[0..len): set its AUTH flag, append tag, key id
 * and tag length.  buf must have SIGN_TRAILER_BYTES of room after len.
 * Returns the new length.
 */
extern size_t sign_datagram(const SignKey *key, uint8_t *buf, size_t len);

/*
 * A key from (key_id, secret): 0..255 and 16..64 bytes, else ValueError or
 * TypeError.  The Sender's key= argument.
 */
extern int	sign_key_from_object(PyObject *obj, SignKey *key);

/* _core.hmac_sha256 and _core.sign_datagram, for the tests. */
extern PyMethodDef dolon_sign_methods[];

#endif							/* DOLON_SIGN_H */
