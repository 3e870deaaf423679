/*
 * udp.h
 *	  The socket a run's datagrams leave by (udp.c).
 *
 * Sending never blocks and never raises into the host program: the socket is
 * non-blocking, and errors (no listener, ICMP unreachable, full buffers) are
 * only counted.
 */
#ifndef DOLON_UDP_H
#define DOLON_UDP_H

#include "compat.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The largest UDP payload over IPv4: the largest datagram mnemic takes. */
#define DOLON_MAX_DATAGRAM	65507

typedef struct UdpTarget
{
	int			fd;				/* -1 when closed */
	struct sockaddr_storage addr;
	socklen_t	addrlen;
	uint64_t	datagrams;		/* sends attempted */
	uint64_t	send_errors;
	uint64_t	bytes_sent;
} UdpTarget;

extern int	udp_open(UdpTarget *u, const char *ip, int port);
extern void udp_send(UdpTarget *u, const uint8_t *buf, size_t len);
extern void udp_close(UdpTarget *u);

#endif							/* DOLON_UDP_H */
