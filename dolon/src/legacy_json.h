/*
 * legacy_json.h
 *	  A run in dolon 0.2.0's JSON datagrams (legacy_json.c).
 */
#ifndef DOLON_LEGACY_JSON_H
#define DOLON_LEGACY_JSON_H

#include "compat.h"

#include <stdint.h>

#include "run_description.h"
#include "udp.h"

typedef struct LegacyJson
{
	const RunDescription *run;	/* the sender's; outlives this */
	UdpTarget  *udp;			/* the sender's, likewise */
	DescribeSchedule header;	/* when create_trace_run is due */
	char	   *uuid;			/* the run's uuid as a JSON string */
	size_t		uuid_len;
	char	   *row;			/* DOLON_MAX_DATAGRAM bytes, for one row */
} LegacyJson;

extern int	legacy_json_init(LegacyJson *j, const RunDescription *run,
							 UdpTarget *udp, int64_t describe_interval_us);
extern void legacy_json_free(LegacyJson *j);
extern void legacy_json_layout_changing(LegacyJson *j);
extern int	legacy_json_tick(LegacyJson *j, const double *values,
							 int64_t ts_us);

#endif							/* DOLON_LEGACY_JSON_H */
