/*
 * invariants.c
 *	  What every DECODE_OK result must satisfy (decode.h's promises), checked
 *	  after each decode in the unit tests and the fuzz target.
 */
#include "testutil.h"
#include "text.h"

#include <math.h>
#include <string.h>

/* Every decoded byte lies inside the datagram or the used part of the arena. */
static bool
string_ok(DgString s, const uint8_t *buf, size_t len, const DecodeArena *arena)
{
	const uint8_t *p = (const uint8_t *) s.ptr;
	bool		in_buf = p >= buf && p + s.len <= buf + len;
	bool		in_arena = p >= arena->base &&
		p + s.len <= arena->base + arena->used;

	if (s.len > 0 && !in_buf && !in_arena)
		return false;
	return s.len <= DG_MAX_NAME && utf8_valid(p, s.len);
}

static const char *
check_describe(const DgDescribe *d, const uint8_t *buf, size_t len,
			   const DecodeArena *arena)
{
	if (d->metric_total == 0 || d->metric_total > DG_MAX_METRICS)
		return "describe: metric_total out of range";
	if (d->first_metric + d->metric_count > d->metric_total)
		return "describe: names beyond metric_total";
	if (d->start_us < DG_MIN_TIME_US)
		return "describe: start_us before DG_MIN_TIME_US";
	if (!string_ok(d->tracer, buf, len, arena) ||
		!string_ok(d->host, buf, len, arena) ||
		!string_ok(d->program, buf, len, arena) ||
		!string_ok(d->python_version, buf, len, arena))
		return "describe: bad string";
	for (int i = 0; i < d->metric_count; i++)
		if (!string_ok(d->metrics[i], buf, len, arena))
			return "describe: bad metric name";
	return NULL;
}

static const char *
check_ticks(const DgTicks *t)
{
	volatile double sink = 0;

	if (t->value_count == 0 || t->tick_count == 0 ||
		t->first_metric + t->value_count > DG_MAX_METRICS)
		return "ticks: counts out of range";
	for (int i = 0; i < t->tick_count; i++)
	{
		if (t->ts_us[i] < DG_MIN_TIME_US)
			return "ticks: time before DG_MIN_TIME_US";
		for (int v = 0; v < t->value_count; v++)
			sink += t->values[(size_t) i * t->value_count + v];
	}
	(void) sink;
	return NULL;
}

/* Ids, times and flags as the profile messages promise; strings checked. */
static const char *
check_profile(DgKind kind, const DgProfile *p, const uint8_t *buf, size_t len,
			  const DecodeArena *arena)
{
	if (p->count == 0)
		return "profile: count 0";
	if ((kind == DG_STACK_SAMPLES || kind == DG_ALLOCS) != (p->thread != 0))
		return "profile: thread id";
	for (uint32_t i = 0; i < p->count; i++)
	{
		switch (kind)
		{
			case DG_FRAMES:
				if (p->e.frames[i].id == 0 ||
					p->e.frames[i].kind > DG_FRAME_KIND_MAX)
					return "frames: id 0 or unknown kind";
				if (!string_ok(p->e.frames[i].function, buf, len, arena) ||
					!string_ok(p->e.frames[i].file, buf, len, arena))
					return "frames: bad string";
				break;
			case DG_STACKS:
				if (p->e.stacks[i].id == 0 || p->e.stacks[i].frame == 0)
					return "stacks: id 0";
				break;
			case DG_THREADS:
				if (p->e.threads[i].id == 0)
					return "threads: id 0";
				if (!string_ok(p->e.threads[i].name, buf, len, arena))
					return "threads: bad string";
				break;
			case DG_STACK_SAMPLES:
				if (p->e.samples[i].ts_us < DG_MIN_TIME_US)
					return "samples: time before DG_MIN_TIME_US";
				if (p->e.samples[i].flags & ~DG_SAMPLE_ON_CPU)
					return "samples: reserved flag";
				break;
			case DG_ALLOC_TYPES:
				if (p->e.types[i].id == 0)
					return "alloc_types: id 0";
				if (!string_ok(p->e.types[i].name, buf, len, arena))
					return "alloc_types: bad string";
				break;
			case DG_ALLOCS:
				if (p->e.allocs[i].ts_us < DG_MIN_TIME_US ||
					p->e.allocs[i].alloc_id == 0)
					return "allocs: time or id";
				break;
			case DG_FREES:
				if (p->e.frees[i].ts_us < DG_MIN_TIME_US ||
					p->e.frees[i].alloc_id == 0)
					return "frees: time or id";
				break;
			default:
				return "profile: wrong kind";
		}
	}
	return NULL;
}

const char *
check_signature(const uint8_t *buf, size_t len, DecodeResult r,
				const DecodedDatagram *dg)
{
	DgSignatureInfo info;
	DgSignature sig = dg_read_signature(buf, len, &info);

	if (sig == DG_SIG_SIGNED)
	{
		if (info.tag_len < DG_MIN_TAG || info.tag_len > DG_MAX_TAG ||
			info.signed_len < DG_V1_HEADER_SIZE ||
			info.tag != buf + info.signed_len ||
			info.signed_len + info.tag_len + 2 != len ||
			info.key_id != buf[len - 2])
			return "signature: tag not where the trailer says";
	}
	if (r != DECODE_OK)
		return NULL;
	if (dg->format == DG_FORMAT_JSON)
		return sig == DG_SIG_NOT_V1 ? NULL : "signature: JSON read as v1";
	if (sig == DG_SIG_NOT_V1 || memcmp(info.run, dg->run, 16) != 0 ||
		info.seq != dg->seq)
		return "signature: run or sequence differ from the decoder's";
	if (dg->has_auth != (sig != DG_SIG_UNSIGNED))
		return "signature: AUTH flag read differently";
	if (sig == DG_SIG_SIGNED && info.key_id != dg->auth_key_id)
		return "signature: key id differs from the decoder's";
	return NULL;
}

const char *
check_decoded(const uint8_t *buf, size_t len, const DecodedDatagram *dg,
			  const DecodeArena *arena)
{
	const char *problem;

	if ((problem = check_signature(buf, len, DECODE_OK, dg)) != NULL)
		return problem;

	if (arena->used > arena->size)
		return "arena overrun";
	if (dg->message_count > 0 && dg->messages == NULL)
		return "messages missing";

	if (dg->format == DG_FORMAT_JSON)
	{
		const DgMessage *m = &dg->messages[0];

		if (dg->message_count != 1 || dg->has_seq || dg->has_auth ||
			dg->unknown_kinds != 0)
			return "json: not exactly one message";
		if (m->kind == DG_LEGACY_HEADER)
		{
			if (!string_ok(m->u.legacy_header.app_name, buf, len, arena))
				return "json: bad app_name";
			if (m->u.legacy_header.column_count > DG_MAX_METRICS)
				return "json: too many columns";
			for (uint32_t i = 0; i < m->u.legacy_header.column_count; i++)
				if (!string_ok(m->u.legacy_header.columns[i], buf, len, arena))
					return "json: bad column name";
		}
		else if (m->kind == DG_LEGACY_ROW)
		{
			volatile double sink = 0;

			if (m->u.legacy_row.value_count > DG_MAX_METRICS)
				return "json: too many values";
			for (uint32_t i = 0; i < m->u.legacy_row.value_count; i++)
				if (!m->u.legacy_row.isnull[i])
					sink += m->u.legacy_row.values[i];
			(void) sink;
		}
		else
			return "json: wrong message kind";
		return NULL;
	}

	if (dg->format != DG_FORMAT_V1 || !dg->has_seq)
		return "unknown format";
	if (dg->message_count + dg->unknown_kinds == 0)
		return "v1: no messages";
	for (uint32_t i = 0; i < dg->message_count; i++)
	{
		const DgMessage *m = &dg->messages[i];

		problem = NULL;
		if (m->kind == DG_DESCRIBE)
			problem = check_describe(&m->u.describe, buf, len, arena);
		else if (m->kind == DG_TICKS)
			problem = check_ticks(&m->u.ticks);
		else if (m->kind == DG_END)
		{
			if (m->u.end_us < DG_MIN_TIME_US)
				problem = "end: time before DG_MIN_TIME_US";
		}
		else if (m->kind >= DG_FRAMES && m->kind <= DG_FREES)
			problem = check_profile(m->kind, &m->u.profile, buf, len, arena);
		else
			problem = "v1: wrong message kind";
		if (problem != NULL)
			return problem;
	}
	return NULL;
}
