/*
 * decode.h
 *	  Turn one UDP datagram (legacy JSON or binary v1) into messages.
 *
 * Plain C, no PostgreSQL headers: the same code is linked into pg_mnemic.so,
 * the decoder unit tests and the libFuzzer target.  See docs/protocol.md.
 *
 * A datagram decodes whole or not at all: decode_datagram() either returns
 * DECODE_OK with every message filled in, or a reason and nothing usable.
 * All memory comes from the caller's arena; the decoder never allocates.
 */
#ifndef MNEMIC_DECODE_H
#define MNEMIC_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define DG_MAX_DATAGRAM		65507	/* largest UDP payload over IPv4 */
#define DG_MAX_METRICS		1024	/* metrics per run */
#define DG_MAX_NAME			1024	/* bytes in one name or string */
#define DG_MAX_JSON_DEPTH	32

/*
 * Every v1 timestamp the decoder returns lies in [DG_MIN_TIME_US, INT64_MAX]
 * (µs since the Unix epoch).  The lower bound is PostgreSQL's earliest
 * timestamptz (4714-11-24 BC); from there up to INT64_MAX, subtracting the
 * 2000-01-01 epoch offset gives a valid TimestampTz without overflow.
 */
#define DG_MIN_TIME_US		(-INT64_C(210866803200000000))

/* Why a datagram was dropped; keep decode_reason_name() in step. */
typedef enum DecodeResult
{
	DECODE_OK = 0,
	DECODE_EMPTY,
	DECODE_BAD_MAGIC,
	DECODE_BAD_VERSION,
	DECODE_BAD_FLAGS,
	DECODE_TRUNCATED,
	DECODE_TRAILING_BYTES,
	DECODE_BAD_COUNT,
	DECODE_BAD_UTF8,
	DECODE_BAD_JSON,
	DECODE_TOO_DEEP,
	DECODE_WRONG_TYPE,
	DECODE_MISSING_FIELD,
	DECODE_BAD_UUID,
	DECODE_TOO_LONG,
	DECODE_UNKNOWN_MSG_TYPE,
	DECODE_OVERSIZED,
	DECODE_BAD_TIMESTAMP,		/* v1 time before DG_MIN_TIME_US or overflowing */
	DECODE_BAD_ID,				/* profile id 0 where one is required */
	DECODE_NREASONS				/* must be last */
} DecodeResult;

/* "bad_magic" etc., as in docs/protocol.md; DECODE_OK gives "ok". */
extern const char *decode_reason_name(DecodeResult r);

typedef enum DgFormat
{
	DG_FORMAT_JSON = 1,
	DG_FORMAT_V1 = 2
} DgFormat;

typedef enum DgKind
{
	DG_DESCRIBE = 1,			/* v1 run description */
	DG_TICKS = 2,				/* v1 values */
	DG_END = 3,					/* v1 end of run */
	DG_FRAMES = 0x10,			/* v1 profile: frame definitions */
	DG_STACKS = 0x11,			/* v1 profile: stack definitions */
	DG_THREADS = 0x12,			/* v1 profile: thread names */
	DG_STACK_SAMPLES = 0x13,	/* v1 profile: samples of one thread */
	DG_ALLOC_TYPES = 0x14,		/* v1 profile: allocated types' names */
	DG_ALLOCS = 0x15,			/* v1 profile: sampled allocations */
	DG_FREES = 0x16,			/* v1 profile: sampled allocations freed */
	DG_LEGACY_HEADER = 100,		/* JSON create_trace_run */
	DG_LEGACY_ROW = 101			/* JSON row */
} DgKind;

/* A validated UTF-8 string without NUL bytes; not NUL-terminated. */
typedef struct DgString
{
	const char *ptr;
	uint32_t	len;
} DgString;

typedef struct DgDescribe
{
	int64_t		start_us;		/* µs since the Unix epoch */
	uint32_t	pid;
	uint32_t	period_us;
	uint16_t	metric_total;
	uint16_t	first_metric;
	uint16_t	metric_count;
	DgString	tracer;
	DgString	host;
	DgString	program;
	DgString	python_version;
	DgString   *metrics;		/* metric_count names */
} DgDescribe;

/*
 * Values of metrics first_metric .. first_metric+value_count-1 for each of
 * tick_count ticks.  ts_us[t] is absolute (base + offset); values is
 * row-major: values[t * value_count + v].  NaN means not measured.
 */
typedef struct DgTicks
{
	uint16_t	first_metric;
	uint16_t	value_count;
	uint16_t	tick_count;
	int64_t    *ts_us;
	double	   *values;
} DgTicks;

/* Frame kinds (FRAMES): what a frame stands for. */
typedef enum DgFrameKind
{
	DG_FRAME_PYTHON = 0,
	DG_FRAME_NATIVE = 1,
	DG_FRAME_TASK = 2,			/* an asyncio task, outermost */
	DG_FRAME_MARKER = 3,		/* added by the client, e.g. <idle> */
	DG_FRAME_KIND_MAX = 3
} DgFrameKind;

typedef struct DgFrame
{
	uint32_t	id;
	uint32_t	first_line;		/* 0 unknown */
	uint8_t		kind;			/* DgFrameKind */
	DgString	function;
	DgString	file;
} DgFrame;

/* A stack: its parent (0: none) plus one frame on top, at a line. */
typedef struct DgStackDef
{
	uint32_t	id;
	uint32_t	parent;
	uint32_t	frame;
	uint32_t	line;			/* 0 unknown */
} DgStackDef;

typedef struct DgThread
{
	uint32_t	id;
	uint64_t	native_id;		/* the OS thread id, 0 unknown */
	DgString	name;
} DgThread;

#define DG_SAMPLE_ON_CPU	0x01

typedef struct DgStackSample
{
	int64_t		ts_us;			/* absolute: base + offset */
	uint32_t	stack;			/* 0: no Python frame */
	uint32_t	weight_us;		/* the time it stands for */
	uint8_t		flags;			/* DG_SAMPLE_ON_CPU */
	uint64_t	rss_bytes;		/* 0 unknown */
} DgStackSample;

typedef struct DgAllocType
{
	uint32_t	id;
	DgString	name;
} DgAllocType;

typedef struct DgAlloc
{
	int64_t		ts_us;
	uint32_t	stack;			/* 0: no Python frame */
	uint32_t	type;			/* 0: not known */
	uint64_t	bytes;			/* the weight: bytes it stands for */
	uint64_t	alloc_id;
} DgAlloc;

typedef struct DgFree
{
	int64_t		ts_us;
	uint64_t	alloc_id;
} DgFree;

/*
 * The profile messages: count entries of the kind's array.  thread is the
 * sampled thread of STACK_SAMPLES and ALLOCS, 0 for the others.
 */
typedef struct DgProfile
{
	uint32_t	thread;
	uint32_t	count;
	union
	{
		DgFrame    *frames;
		DgStackDef *stacks;
		DgThread   *threads;
		DgStackSample *samples;
		DgAllocType *types;
		DgAlloc    *allocs;
		DgFree	   *frees;
	}			e;
} DgProfile;

typedef struct DgLegacyHeader
{
	DgString	app_name;
	uint32_t	column_count;
	DgString   *columns;
} DgLegacyHeader;

/* One tick stamped on arrival; isnull[i] for JSON null. */
typedef struct DgLegacyRow
{
	uint32_t	value_count;
	double	   *values;
	bool	   *isnull;
} DgLegacyRow;

typedef struct DgMessage
{
	DgKind		kind;
	union
	{
		DgDescribe	describe;
		DgTicks		ticks;
		int64_t		end_us;
		DgLegacyHeader legacy_header;
		DgLegacyRow legacy_row;
		DgProfile	profile;	/* DG_FRAMES .. DG_FREES */
	}			u;
} DgMessage;

/*
 * An arena of DECODE_ARENA_SIZE bytes always suffices for any datagram of up
 * to DG_MAX_DATAGRAM bytes.  Decoded strings point either into the datagram
 * buffer or into the arena, so both must outlive the use of the result.
 */
#define DECODE_ARENA_SIZE	(16 * DG_MAX_DATAGRAM + 4096)

typedef struct DecodedDatagram
{
	DgFormat	format;
	uint8_t		run[16];		/* run UUID, canonical byte order */
	bool		has_seq;		/* v1 only */
	uint32_t	seq;
	bool		has_auth;		/* v1 AUTH trailer present (not verified) */
	uint8_t		auth_key_id;
	uint32_t	unknown_kinds;	/* v1 messages skipped for an unknown kind */
	uint32_t	message_count;
	DgMessage  *messages;
} DecodedDatagram;

/*
 * The signature of a v1 datagram, read from its header and AUTH trailer
 * without decoding its messages: what the receiver needs to verify it
 * (listener/auth.c).  See "Authentication trailer" in docs/protocol.md.
 */
#define DG_V1_HEADER_SIZE	28
#define DG_MIN_TAG			16	/* shortest tag a server accepts */
#define DG_MAX_TAG			32	/* an HMAC-SHA-256, untruncated */

typedef enum DgSignature
{
	DG_SIG_NOT_V1,				/* not a complete v1 header: JSON, garbage,
								 * another version, a reserved flag set */
	DG_SIG_UNSIGNED,			/* v1 without the AUTH flag */
	DG_SIG_SIGNED,				/* AUTH flag and a trailer that fits, with a
								 * tag of DG_MIN_TAG..DG_MAX_TAG bytes */
	DG_SIG_BAD_TRAILER			/* AUTH flag, but no such trailer */
} DgSignature;

typedef struct DgSignatureInfo
{
	uint8_t		run[16];		/* set unless DG_SIG_NOT_V1 */
	uint32_t	seq;
	uint8_t		key_id;			/* set for DG_SIG_SIGNED */
	uint8_t		tag_len;
	const uint8_t *tag;			/* inside buf */
	size_t		signed_len;		/* the tag covers buf[0..signed_len) */
} DgSignatureInfo;

extern DgSignature dg_read_signature(const uint8_t *buf, size_t len,
									 DgSignatureInfo *out);

/*
 * Decode buf[0..len).  Starts by emptying the arena (arena->used = 0), so one
 * arena serves datagram after datagram; the result stays valid until the
 * next decode into the same arena.  An arena smaller than DECODE_ARENA_SIZE
 * may run out, which is reported as DECODE_OVERSIZED.  On failure *out holds
 * no messages (message_count 0).
 */
extern DecodeResult decode_datagram(const uint8_t *buf, size_t len,
									DecodeArena *arena, DecodedDatagram *out);

#endif							/* MNEMIC_DECODE_H */
