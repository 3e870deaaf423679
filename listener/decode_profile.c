/*
 * decode_profile.c
 *	  Decode the profile messages of binary v1 (docs/protocol.md, "Profiles"):
 *	  FRAMES, STACKS, THREADS and ALLOC_TYPES define ids; STACK_SAMPLES,
 *	  ALLOCS and FREES carry samples that name them.
 *
 * Every body starts with its count and a reserved field (after a base time,
 * and a thread id, for the sample kinds); fixed-size entries are checked
 * against the body length before anything is allocated, and entries with
 * strings are read through a BodyReader, so nothing is read past the body.
 */
#include "decode_profile.h"

#include "wire_read.h"

/* Fixed parts: count + reserved; base time + thread + count + reserved. */
#define DEFS_FIXED			4
#define SAMPLES_FIXED		16
#define FREES_FIXED			12

#define STACK_SIZE			16
#define SAMPLE_SIZE			21
#define ALLOC_SIZE			28
#define FREE_SIZE			12

/* Fields common to the fixed-size kinds: count, reserved, exact length. */
static DecodeResult
check_fixed(const uint8_t *counts, size_t fixed, size_t entry, size_t blen,
			uint32_t *count)
{
	size_t		expected;

	*count = load_u16(counts);
	if (load_u16(counts + 2) != 0)
		return DECODE_BAD_FLAGS;	/* reserved field */
	if (*count == 0)
		return DECODE_BAD_COUNT;
	expected = fixed + (size_t) *count * entry;
	if (blen < expected)
		return DECODE_TRUNCATED;
	if (blen > expected)
		return DECODE_TRAILING_BYTES;
	return DECODE_OK;
}

/* base + offset, or false when it leaves the range of timestamps. */
static inline bool
sample_time(int64_t base, uint32_t offset, int64_t *out)
{
	if (base < DG_MIN_TIME_US || base > INT64_MAX - (int64_t) offset)
		return false;
	*out = base + offset;
	return true;
}

/* Room for count entries of size bytes from the arena. */
static void *
entries(DecodeArena *arena, uint32_t count, size_t size)
{
	return arena_alloc(arena, (size_t) count * size);
}

/*
 * FRAMES, THREADS, ALLOC_TYPES: entries with strings.  The count is checked
 * against the smallest possible entry before allocating.
 */
static DecodeResult
decode_frames(BodyReader *rd, DecodeArena *arena, DgProfile *out)
{
	DecodeResult r;

	if ((size_t) (rd->end - rd->pos) < (size_t) out->count * 13)
		return DECODE_TRUNCATED;
	if ((out->e.frames = entries(arena, out->count, sizeof(DgFrame))) == NULL)
		return DECODE_OVERSIZED;
	for (uint32_t i = 0; i < out->count; i++)
	{
		DgFrame    *f = &out->e.frames[i];

		if (rd->end - rd->pos < 9)
			return DECODE_TRUNCATED;
		f->id = load_u32(rd->pos);
		f->first_line = load_u32(rd->pos + 4);
		f->kind = rd->pos[8];
		rd->pos += 9;
		if (f->id == 0)
			return DECODE_BAD_ID;
		if (f->kind > DG_FRAME_KIND_MAX)
			return DECODE_BAD_FLAGS;
		if ((r = take_str16(rd, &f->function)) != DECODE_OK ||
			(r = take_str16(rd, &f->file)) != DECODE_OK)
			return r;
	}
	return DECODE_OK;
}

static DecodeResult
decode_threads(BodyReader *rd, DecodeArena *arena, DgProfile *out)
{
	DecodeResult r;

	if ((size_t) (rd->end - rd->pos) < (size_t) out->count * 14)
		return DECODE_TRUNCATED;
	if ((out->e.threads = entries(arena, out->count, sizeof(DgThread))) == NULL)
		return DECODE_OVERSIZED;
	for (uint32_t i = 0; i < out->count; i++)
	{
		DgThread   *t = &out->e.threads[i];

		if (rd->end - rd->pos < 12)
			return DECODE_TRUNCATED;
		t->id = load_u32(rd->pos);
		t->native_id = load_u64(rd->pos + 4);
		rd->pos += 12;
		if (t->id == 0)
			return DECODE_BAD_ID;
		if ((r = take_str16(rd, &t->name)) != DECODE_OK)
			return r;
	}
	return DECODE_OK;
}

static DecodeResult
decode_alloc_types(BodyReader *rd, DecodeArena *arena, DgProfile *out)
{
	DecodeResult r;

	if ((size_t) (rd->end - rd->pos) < (size_t) out->count * 6)
		return DECODE_TRUNCATED;
	if ((out->e.types = entries(arena, out->count, sizeof(DgAllocType))) == NULL)
		return DECODE_OVERSIZED;
	for (uint32_t i = 0; i < out->count; i++)
	{
		DgAllocType *t = &out->e.types[i];

		if (rd->end - rd->pos < 4)
			return DECODE_TRUNCATED;
		t->id = load_u32(rd->pos);
		rd->pos += 4;
		if (t->id == 0)
			return DECODE_BAD_ID;
		if ((r = take_str16(rd, &t->name)) != DECODE_OK)
			return r;
	}
	return DECODE_OK;
}

/* The kinds whose entries are strings-free and of fixed size. */
static DecodeResult
decode_stacks(const uint8_t *p, DecodeArena *arena, DgProfile *out)
{
	if ((out->e.stacks = entries(arena, out->count, sizeof(DgStackDef))) == NULL)
		return DECODE_OVERSIZED;
	for (uint32_t i = 0; i < out->count; i++, p += STACK_SIZE)
	{
		DgStackDef *s = &out->e.stacks[i];

		s->id = load_u32(p);
		s->parent = load_u32(p + 4);
		s->frame = load_u32(p + 8);
		s->line = load_u32(p + 12);
		if (s->id == 0 || s->frame == 0)
			return DECODE_BAD_ID;
	}
	return DECODE_OK;
}

static DecodeResult
decode_samples(int64_t base, const uint8_t *p, DecodeArena *arena,
			   DgProfile *out)
{
	if ((out->e.samples = entries(arena, out->count, sizeof(DgStackSample))) == NULL)
		return DECODE_OVERSIZED;
	for (uint32_t i = 0; i < out->count; i++, p += SAMPLE_SIZE)
	{
		DgStackSample *s = &out->e.samples[i];

		if (!sample_time(base, load_u32(p), &s->ts_us))
			return DECODE_BAD_TIMESTAMP;
		s->stack = load_u32(p + 4);
		s->weight_us = load_u32(p + 8);
		s->flags = p[12];
		s->rss_bytes = load_u64(p + 13);
		if ((s->flags & ~DG_SAMPLE_ON_CPU) != 0)
			return DECODE_BAD_FLAGS;
	}
	return DECODE_OK;
}

static DecodeResult
decode_allocs(int64_t base, const uint8_t *p, DecodeArena *arena,
			  DgProfile *out)
{
	if ((out->e.allocs = entries(arena, out->count, sizeof(DgAlloc))) == NULL)
		return DECODE_OVERSIZED;
	for (uint32_t i = 0; i < out->count; i++, p += ALLOC_SIZE)
	{
		DgAlloc    *a = &out->e.allocs[i];

		if (!sample_time(base, load_u32(p), &a->ts_us))
			return DECODE_BAD_TIMESTAMP;
		a->stack = load_u32(p + 4);
		a->type = load_u32(p + 8);
		a->bytes = load_u64(p + 12);
		a->alloc_id = load_u64(p + 20);
		if (a->alloc_id == 0)
			return DECODE_BAD_ID;
	}
	return DECODE_OK;
}

static DecodeResult
decode_frees(int64_t base, const uint8_t *p, DecodeArena *arena,
			 DgProfile *out)
{
	if ((out->e.frees = entries(arena, out->count, sizeof(DgFree))) == NULL)
		return DECODE_OVERSIZED;
	for (uint32_t i = 0; i < out->count; i++, p += FREE_SIZE)
	{
		DgFree	   *f = &out->e.frees[i];

		if (!sample_time(base, load_u32(p), &f->ts_us))
			return DECODE_BAD_TIMESTAMP;
		f->alloc_id = load_u64(p + 4);
		if (f->alloc_id == 0)
			return DECODE_BAD_ID;
	}
	return DECODE_OK;
}

/* The kinds that name a thread: base time, thread, count, reserved. */
static DecodeResult
decode_thread_samples(uint8_t kind, const uint8_t *body, size_t blen,
					  DecodeArena *arena, DgProfile *out)
{
	size_t		entry = kind == DG_STACK_SAMPLES ? SAMPLE_SIZE : ALLOC_SIZE;
	int64_t		base;
	DecodeResult r;

	if (blen < SAMPLES_FIXED)
		return DECODE_TRUNCATED;
	base = load_i64(body);
	out->thread = load_u32(body + 8);
	if ((r = check_fixed(body + 12, SAMPLES_FIXED, entry, blen,
						 &out->count)) != DECODE_OK)
		return r;
	if (out->thread == 0)
		return DECODE_BAD_ID;
	if (kind == DG_STACK_SAMPLES)
		return decode_samples(base, body + SAMPLES_FIXED, arena, out);
	return decode_allocs(base, body + SAMPLES_FIXED, arena, out);
}

DecodeResult
decode_profile_message(uint8_t kind, const uint8_t *body, size_t blen,
					   DecodeArena *arena, DgProfile *out)
{
	BodyReader	rd = {body + DEFS_FIXED, body + blen};
	DecodeResult r;

	out->thread = 0;
	switch (kind)
	{
		case DG_STACK_SAMPLES:
		case DG_ALLOCS:
			return decode_thread_samples(kind, body, blen, arena, out);
		case DG_FREES:
			if (blen < FREES_FIXED)
				return DECODE_TRUNCATED;
			if ((r = check_fixed(body + 8, FREES_FIXED, FREE_SIZE, blen,
								 &out->count)) != DECODE_OK)
				return r;
			return decode_frees(load_i64(body), body + FREES_FIXED, arena, out);
		case DG_STACKS:
			if (blen < DEFS_FIXED)
				return DECODE_TRUNCATED;
			if ((r = check_fixed(body, DEFS_FIXED, STACK_SIZE, blen,
								 &out->count)) != DECODE_OK)
				return r;
			return decode_stacks(body + DEFS_FIXED, arena, out);
		default:
			break;
	}

	/* FRAMES, THREADS, ALLOC_TYPES: variable-size entries. */
	if (blen < DEFS_FIXED)
		return DECODE_TRUNCATED;
	out->count = load_u16(body);
	if (load_u16(body + 2) != 0)
		return DECODE_BAD_FLAGS;
	if (out->count == 0)
		return DECODE_BAD_COUNT;
	if (kind == DG_FRAMES)
		r = decode_frames(&rd, arena, out);
	else if (kind == DG_THREADS)
		r = decode_threads(&rd, arena, out);
	else
		r = decode_alloc_types(&rd, arena, out);
	if (r != DECODE_OK)
		return r;
	if (rd.pos != rd.end)
		return DECODE_TRAILING_BYTES;
	return DECODE_OK;
}
