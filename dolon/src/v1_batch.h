/*
 * v1_batch.h
 *	  A run's ticks batched into binary v1 datagrams (v1_batch.c).
 */
#ifndef DOLON_V1_BATCH_H
#define DOLON_V1_BATCH_H

#include "compat.h"

#include <stddef.h>
#include <stdint.h>

#include "run_description.h"
#include "sign.h"
#include "udp.h"

typedef struct V1Batch
{
	const RunDescription *run;	/* the sender's; outlives the batch */
	UdpTarget  *udp;			/* the sender's, likewise */
	size_t		max_datagram;
	int64_t		flush_interval_us;
	DescribeSchedule describe;
	uint32_t	seq;			/* of the next datagram */
	const SignKey *sign;		/* the sender's, or NULL: unsigned */

	/* ticks not yet in a datagram: the rows of one TICKS message */
	int64_t		pending_base_us;
	int64_t		pending_since_us;
	int			pending_ticks;
	int			pending_width;	/* values per pending tick */
	uint8_t    *pending;		/* rows: u32 offset + width f64 */
	size_t		pending_len;
	size_t		pending_cap;

	/* the datagram being packed */
	uint8_t    *out;			/* DOLON_MAX_DATAGRAM bytes */
	size_t		out_len;
	int			out_messages;
} V1Batch;

extern int	v1_batch_init(V1Batch *b, const RunDescription *run,
						  UdpTarget *udp, size_t max_datagram,
						  int64_t flush_interval_us,
						  int64_t describe_interval_us);
extern void v1_batch_free(V1Batch *b);
extern void v1_batch_layout_changing(V1Batch *b);
extern int	v1_batch_tick(V1Batch *b, const double *values, int64_t ts_us);
extern void v1_batch_end(V1Batch *b, int64_t ts_us);
extern void v1_batch_sign_with(V1Batch *b, const SignKey *key);
extern size_t v1_batch_send_datagram(V1Batch *b, uint8_t *datagram,
									 size_t len, uint16_t nmessages);
extern void v1_batch_room(const V1Batch *b, size_t *room, size_t *largest);
extern void v1_batch_restart(V1Batch *b);

#endif							/* DOLON_V1_BATCH_H */
