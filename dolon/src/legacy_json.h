/*
 * legacy_json.h
 *	  A run in dolon 0.2.0's JSON datagrams (legacy_json.c).
 */
#ifndef DOLON_LEGACY_JSON_H
#define DOLON_LEGACY_JSON_H

#include "compat.h"

#include "run_description.h"
#include "udp.h"

typedef struct LegacyJson
{
	const RunDescription *run;	/* the sender's; outlives this */
	UdpTarget  *udp;			/* the sender's, likewise */
	char	   *buf;			/* DOLON_MAX_DATAGRAM bytes, for one row */
} LegacyJson;

extern int	legacy_json_init(LegacyJson *j, const RunDescription *run,
							 UdpTarget *udp);
extern void legacy_json_free(LegacyJson *j);
extern void legacy_json_send_row(LegacyJson *j, const double *values);

#endif							/* DOLON_LEGACY_JSON_H */
