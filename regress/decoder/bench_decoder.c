/*
 * bench_decoder.c
 *	  Decoder throughput on one core, for typical datagrams of both formats.
 *
 * Times are CPU time of this thread (the machine is shared), each case run
 * for about half a second.  The floor is memcpy() of the same bytes in the
 * same run: the ratio says how many times a plain copy of the datagram
 * the decode costs.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static DecodeArena arena;
static volatile uint64_t sink;

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Decodes per second of one datagram, measured over ~0.5 s of CPU. */
static double
decode_rate(const uint8_t *buf, size_t len)
{
	uint64_t	n = 0;
	double		start = cpu_seconds();
	double		elapsed;

	do
	{
		for (int i = 0; i < 1000; i++)
		{
			DecodedDatagram dg;

			if (decode_datagram(buf, len, &arena, &dg) != DECODE_OK)
			{
				fprintf(stderr, "benchmark datagram does not decode\n");
				exit(1);
			}
			sink += dg.message_count;
		}
		n += 1000;
	} while ((elapsed = cpu_seconds() - start) < 0.5);
	return n / elapsed;
}

/* The floor: copies per second of the same bytes. */
static double
copy_rate(const uint8_t *buf, size_t len)
{
	uint8_t    *dst = malloc(len);
	uint64_t	n = 0;
	double		start = cpu_seconds();
	double		elapsed;

	do
	{
		for (int i = 0; i < 1000; i++)
		{
			memcpy(dst, buf, len);
			__asm__ volatile ("" : : "r"(dst) : "memory");
			sink += dst[i % len];
		}
		n += 1000;
	} while ((elapsed = cpu_seconds() - start) < 0.5);
	free(dst);
	return n / elapsed;
}

static void
report(const char *what, const uint8_t *buf, size_t len, int samples)
{
	double		rate = decode_rate(buf, len);
	double		floor = copy_rate(buf, len);

	printf("%-34s %6zu B  %10.0f datagrams/s  %12.0f samples/s  %7.1f MB/s"
		   "  memcpy floor x%.1f\n",
		   what, len, rate, rate * samples, rate * len / 1e6, floor / rate);
}

static void
build_v1_ticks(ByteBuf *b, int nvalues, int nticks)
{
	size_t		at;

	bb_v1_header(b, 0, 1, 7);
	at = bb_v1_begin_message(b, DG_TICKS);
	bb_i64(b, 1763740800000000LL);
	bb_u16(b, 0);
	bb_u16(b, (uint16_t) nvalues);
	bb_u16(b, (uint16_t) nticks);
	bb_u16(b, 0);
	for (int t = 0; t < nticks; t++)
	{
		bb_u32(b, (uint32_t) t * 100000);
		for (int v = 0; v < nvalues; v++)
			bb_f64(b, t * 0.37 + v * 11.3);
	}
	bb_v1_end_message(b, at);
}

int
main(void)
{
	const char *row = "{\"msg_type\": \"row\", \"row_data\": [12.5, 0.30000000000000004, "
		"1048576], \"uuid\": \"6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8\"}";
	const char *header = "{\"msg_type\": \"create_trace_run\", \"app_name\": "
		"\"billing-worker\", \"column_names\": [\"cpu_percent\", \"rss_bytes\", "
		"\"open_files\"], \"uuid\": \"6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8\"}";
	ByteBuf		small = {0};
	ByteBuf		typical = {0};
	ByteBuf		large = {0};

	arena.base = malloc(DECODE_ARENA_SIZE);
	arena.size = DECODE_ARENA_SIZE;

	build_v1_ticks(&small, 3, 1);
	build_v1_ticks(&typical, 8, 19);
	build_v1_ticks(&large, 16, 495);

	printf("decoder throughput, one core (CPU time of this thread)\n");
	report("legacy JSON row, 3 values", (const uint8_t *) row, strlen(row), 3);
	report("legacy JSON create_trace_run", (const uint8_t *) header,
		   strlen(header), 0);
	report("v1 TICKS 1 tick x 3 values", small.data, small.len, 3);
	report("v1 TICKS 19 ticks x 8 values", typical.data, typical.len, 19 * 8);
	report("v1 TICKS 495 ticks x 16 values", large.data, large.len, 495 * 16);

	bb_free(&small);
	bb_free(&typical);
	bb_free(&large);
	free(arena.base);
	return sink == 42 ? 1 : 0;
}
