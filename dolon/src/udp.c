/*
 * udp.c
 *	  A non-blocking UDP socket to one numeric address, and what became of
 *	  the datagrams sent through it.
 *
 * The address is numeric because resolving a name may block; the Python
 * layer resolves it once, before the run starts.
 */
#include "udp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

/*
 * Open a socket for ip (IPv4 or IPv6, numeric) and port.  Raises ValueError
 * or OSError and returns -1 on failure, leaving u closed.
 */
int
udp_open(UdpTarget *u, const char *ip, int port)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *) &u->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &u->addr;
	int			family;

	u->fd = -1;
	memset(&u->addr, 0, sizeof(u->addr));
	if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1)
	{
		family = AF_INET;
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t) port);
		u->addrlen = sizeof(*in4);
	}
	else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
	{
		family = AF_INET6;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t) port);
		u->addrlen = sizeof(*in6);
	}
	else
	{
		PyErr_Format(PyExc_ValueError,
					 "%s is not a numeric IPv4 or IPv6 address", ip);
		return -1;
	}
	u->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
	{
		PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	u->pid = getpid();
	return 0;
}

/*
 * Send one datagram, or count why not.  Nothing at all once closed, nor
 * from a forked child (getpid is a system call: one per datagram, not per
 * tick or sample).
 */
void
udp_send(UdpTarget *u, const uint8_t *buf, size_t len)
{
	ssize_t		n;

	if (u->fd < 0)
		return;
	if (u->pid != getpid())
	{
		u->not_ours++;
		return;
	}
	n = sendto(u->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (struct sockaddr *) &u->addr, u->addrlen);
	u->datagrams++;
	if (n < 0)
		u->send_errors++;
	else
		u->bytes_sent += (uint64_t) n;
}

void
udp_close(UdpTarget *u)
{
	if (u->fd >= 0)
	{
		close(u->fd);
		u->fd = -1;
	}
}

/* The address u sends to, as udp_open took it; -1 if it has none. */
int
udp_numeric_address(const UdpTarget *u, char *ip, size_t size, int *port)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *) &u->addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &u->addr;

	if (u->addr.ss_family == AF_INET)
	{
		*port = ntohs(in4->sin_port);
		return inet_ntop(AF_INET, &in4->sin_addr, ip, size) ? 0 : -1;
	}
	if (u->addr.ss_family == AF_INET6)
	{
		*port = ntohs(in6->sin6_port);
		return inet_ntop(AF_INET6, &in6->sin6_addr, ip, size) ? 0 : -1;
	}
	return -1;
}
