/*
 * profile_batch.h
 *	  A run's profile, flushed into binary v1 datagrams (profile_batch.c).
 */
#ifndef DOLON_PROFILE_BATCH_H
#define DOLON_PROFILE_BATCH_H

#include "profile_data.h"

/*
 * Where a finished datagram goes: the run's sender, which writes the
 * 28-byte header (the run and its next sequence number) into the room left
 * for it at the start, signs it when the run is signed (appending the AUTH
 * trailer after len), and sends.  Returns the length sent, or -1 when the
 * run cannot take profile datagrams (then the flush stops).
 */
typedef Py_ssize_t (*DatagramSink) (void *arg, uint8_t *datagram, size_t len,
									uint16_t nmessages);

typedef struct ProfileFlushStats
{
	uint64_t	datagrams;
	uint64_t	bytes;
	uint64_t	samples;
	uint64_t	allocs;
	uint64_t	frees;
	uint64_t	definitions;	/* frames, stacks, threads and types sent */
} ProfileFlushStats;

extern void profile_alloc_threads(ProfileData *d);
extern int	profile_flush(ProfileData *d, int64_t now_us, size_t max_datagram,
						  size_t largest, DatagramSink sink, void *arg,
						  ProfileFlushStats *stats);

#endif							/* DOLON_PROFILE_BATCH_H */
