/*
 * udpflood.c
 *	  Send pre-built datagrams to a UDP port at a paced rate, for the ingest
 *	  benchmark (bench/ingest.py compiles and runs it).
 *
 *	  udpflood HOST PORT RATE SECONDS TEMPLATES [v1 [key=HEX]]
 *
 * TEMPLATES is a file of datagrams, each a u32 (native order) length and the
 * bytes; they are sent round-robin, RATE datagrams per second for SECONDS,
 * in sendmmsg() bursts every millisecond.  With "v1", each template is a v1
 * datagram: its sequence number (offset 24) counts up per run (the uuid at
 * offset 8; it starts from the number in the run's first template) and the
 * base time of each of its messages that has one (TICKS, STACK_SAMPLES,
 * ALLOCS, FREES) is set to the send time, so the server sees well-formed
 * runs without gaps.  With key=HEX (the secret, in hex), a template that
 * carries an AUTH trailer is signed again after the stamping, with
 * libcrypto's HMAC-SHA-256 over every byte before its tag, so that a server
 * with pg_mnemic.auth = require takes it (docs/protocol.md).  Prints "sent
 * N" at the end.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MAX_TEMPLATES	4096
#define BURST_MAX		1024

typedef struct Template
{
	unsigned char *bytes;
	uint32_t	len;
	int			run;			/* index into runs */
} Template;

typedef struct Run
{
	unsigned char uuid[16];
	uint32_t	seq;			/* the next sequence number */
} Run;

static Template templates[MAX_TEMPLATES];
static int	ntemplates;
static Run	runs[MAX_TEMPLATES];
static int	nruns;
static unsigned char key[64];
static int	key_len;			/* 0: templates are sent as they are */

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t
unix_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
read_templates(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	uint32_t	len;

	if (f == NULL)
	{
		perror(path);
		exit(2);
	}
	while (ntemplates < MAX_TEMPLATES && fread(&len, 4, 1, f) == 1)
	{
		Template   *t = &templates[ntemplates++];

		t->bytes = malloc(len ? len : 1);
		t->len = len;
		if (fread(t->bytes, 1, len, f) != len)
		{
			fprintf(stderr, "%s: truncated\n", path);
			exit(2);
		}
		t->run = -1;
		if (len >= 28)
		{
			for (int r = 0; r < nruns && t->run < 0; r++)
				if (memcmp(runs[r].uuid, t->bytes + 8, 16) == 0)
					t->run = r;
			if (t->run < 0)
			{
				t->run = nruns++;
				memcpy(runs[t->run].uuid, t->bytes + 8, 16);
				memcpy(&runs[t->run].seq, t->bytes + 24, 4);
			}
		}
	}
	fclose(f);
	if (ntemplates == 0)
	{
		fprintf(stderr, "%s: no datagrams\n", path);
		exit(2);
	}
}

/*
 * v1: stamp the run's next sequence number and the send time into a
 * template (little-endian hosts only).  The number is taken here and given
 * back by unstamp_v1 if the datagram does not go out.
 */
static void
stamp_v1(Template *t, int64_t now_us)
{
	uint16_t	count;
	uint32_t	off = 28;

	if (t->run < 0)
		return;
	memcpy(t->bytes + 24, &runs[t->run].seq, 4);
	runs[t->run].seq++;
	memcpy(&count, t->bytes + 6, 2);
	for (int m = 0; m < count && off + 4 <= t->len; m++)
	{
		uint8_t		kind = t->bytes[off];
		uint16_t	len;

		memcpy(&len, t->bytes + off + 2, 2);
		if ((kind == 2 || kind == 0x13 || kind == 0x15 || kind == 0x16) &&
			len >= 8 && off + 4 + len <= t->len)
			memcpy(t->bytes + off + 4, &now_us, 8);
		off += 4 + len;
	}
}

/* Sign a stamped template again: a new tag of the length it has. */
static void
sign_v1(Template *t)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len;
	uint32_t	tag_len;
	uint32_t	covered;

	if (key_len == 0 || t->len < 30 || !(t->bytes[5] & 0x01))
		return;
	tag_len = t->bytes[t->len - 1];
	if (t->len - 30 < tag_len)
		return;
	covered = t->len - 2 - tag_len;
	HMAC(EVP_sha256(), key, key_len, t->bytes, covered, mac, &mac_len);
	memcpy(t->bytes + covered, mac, tag_len);
}

static void
parse_key(const char *arg)
{
	const char *hex = arg + 4;
	size_t		n = strlen(hex);

	if (strncmp(arg, "key=", 4) != 0 || n % 2 != 0 || n == 0 ||
		n / 2 > sizeof(key))
	{
		fprintf(stderr, "bad key argument: want key=HEX (at most 64 bytes)\n");
		exit(2);
	}
	for (size_t i = 0; i < n / 2; i++)
	{
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
		{
			fprintf(stderr, "bad key argument: not hex\n");
			exit(2);
		}
		key[i] = (unsigned char) byte;
	}
	key_len = (int) (n / 2);
}

static void
unstamp_v1(Template *t)
{
	if (t->run >= 0)
		runs[t->run].seq--;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in addr;
	struct mmsghdr msgs[BURST_MAX];
	struct iovec iov[BURST_MAX];
	double		rate;
	double		seconds;
	double		start;
	double		elapsed;
	int			v1;
	int			sock;
	int			next = 0;
	long long	attempted = 0;
	long long	sent = 0;
	long long	failed = 0;
	int			burst_max;

	if (argc < 6)
	{
		fprintf(stderr, "usage: udpflood HOST PORT RATE SECONDS TEMPLATES [v1 [key=HEX]]\n");
		return 2;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1)
	{
		fprintf(stderr, "bad address %s\n", argv[1]);
		return 2;
	}
	rate = atof(argv[3]);
	seconds = atof(argv[4]);
	read_templates(argv[5]);
	v1 = argc > 6 && strcmp(argv[6], "v1") == 0;
	if (v1 && argc > 7)
		parse_key(argv[7]);

	/* A template must not be restamped while a burst still points at it. */
	burst_max = ntemplates < BURST_MAX ? ntemplates : BURST_MAX;

	sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *) &addr, sizeof(addr)) < 0)
	{
		perror("socket");
		return 2;
	}

	memset(msgs, 0, sizeof(msgs));
	start = now_seconds();
	while ((elapsed = now_seconds() - start) < seconds)
	{
		long long	due = (long long) (elapsed * rate) - attempted;
		int64_t		now_us = unix_us();

		while (due > 0)
		{
			int			burst = due > burst_max ? burst_max : (int) due;
			int			i;
			int			n;

			for (i = 0; i < burst; i++)
			{
				Template   *t = &templates[(next + i) % ntemplates];

				if (v1)
				{
					stamp_v1(t, now_us);
					sign_v1(t);
				}
				iov[i].iov_base = t->bytes;
				iov[i].iov_len = t->len;
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
			}
			n = sendmmsg(sock, msgs, burst, 0);
			if (n < 0)
			{
				/* Loopback refuses when the port is closed: count, go on. */
				failed += burst;
				n = burst;
			}
			else
				sent += n;
			/* the tail that did not go out gives its numbers back */
			for (i = burst - 1; v1 && i >= n; i--)
				unstamp_v1(&templates[(next + i) % ntemplates]);
			next = (next + n) % ntemplates;
			attempted += n;
			due -= n;
		}

		/* Pace in one-millisecond steps. */
		{
			struct timespec pause = {0, 1000 * 1000};

			nanosleep(&pause, NULL);
		}
	}
	printf("sent %lld\nfailed %lld\nseconds %.3f\n", sent, failed,
		   now_seconds() - start);
	return 0;
}
