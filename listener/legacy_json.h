/*
 * legacy_json.h
 *	  The legacy JSON datagram format (dolon 0.2.0), as decode_datagram()
 *	  hands it over.
 */
#ifndef MNEMIC_LEGACY_JSON_H
#define MNEMIC_LEGACY_JSON_H

#include "decode.h"
#include "json_scan.h"

/*
 * Decode buf[0..len), which starts with '{' or JSON whitespace, into one
 * DG_LEGACY_HEADER or DG_LEGACY_ROW message.
 */
extern DecodeResult decode_legacy(const uint8_t *buf, size_t len,
								  DecodeArena *arena, DecodedDatagram *out);

/* Whether a datagram starting with byte c is JSON rather than binary. */
static inline bool
legacy_json_starts(uint8_t c)
{
	return c == '{' || json_is_space(c);
}

#endif							/* MNEMIC_LEGACY_JSON_H */
