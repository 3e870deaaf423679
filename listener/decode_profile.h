/*
 * decode_profile.h
 *	  The profile messages of binary v1 (kinds 0x10 to 0x16: frames, stacks,
 *	  threads, stack samples, allocation types, allocations, frees), as
 *	  decode_datagram() hands them over.
 */
#ifndef MNEMIC_DECODE_PROFILE_H
#define MNEMIC_DECODE_PROFILE_H

#include "decode.h"

static inline bool
is_profile_kind(uint8_t kind)
{
	return kind >= DG_FRAMES && kind <= DG_FREES;
}

/* Decode the body of one profile message of the given kind into *out. */
extern DecodeResult decode_profile_message(uint8_t kind, const uint8_t *body,
										   size_t blen, DecodeArena *arena,
										   DgProfile *out);

#endif							/* MNEMIC_DECODE_PROFILE_H */
