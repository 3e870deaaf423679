/*
 * udp.h
 *	  The socket a run's datagrams leave by (udp.c).
 *
 * Sending never blocks and never raises into the host program: the socket is
 * non-blocking, and errors (no listener, ICMP unreachable, full buffers) are
 * only counted.  Only the process that opened the socket sends through it:
 * a child forked since must not speak for its parent's run.
 */
#ifndef DOLON_UDP_H
#define DOLON_UDP_H

#include "compat.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

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
	pid_t		pid;			/* the process that opened it */
	uint64_t	not_ours;		/* not sent: asked in a forked child */
} UdpTarget;

extern int	udp_open(UdpTarget *u, const char *ip, int port);
extern void udp_send(UdpTarget *u, const uint8_t *buf, size_t len);
extern void udp_close(UdpTarget *u);
extern int	udp_numeric_address(const UdpTarget *u, char *ip, size_t size,
								int *port);

#endif							/* DOLON_UDP_H */
