/*
 * profile_batch.c
 *	  Buffering a run's profile messages until the store writes them
 *	  (profile_batch.h).
 *
 * Nothing per sample is allocated: samples go into per-thread arrays that
 * double when full.  A run has a handful of threads, so the thread's array
 * is found by a short scan that starts at the one used last.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "pgtime.h"
#include "profile_batch.h"

static void
defs_init(ProfileDefs *defs, size_t size)
{
	defs->n = 0;
	defs->cap = 0;
	defs->size = size;
	defs->entries = NULL;
}

ProfileBuffer *
ProfileBufferCreate(void)
{
	ProfileBuffer *pb = palloc0(sizeof(ProfileBuffer));

	defs_init(&pb->frames, sizeof(ProfileFrameDef));
	defs_init(&pb->stacks, sizeof(DgStackDef));
	defs_init(&pb->threads, sizeof(ProfileThreadDef));
	defs_init(&pb->types, sizeof(ProfileTypeDef));
	defs_init(&pb->samples, sizeof(ProfileSamples));
	defs_init(&pb->allocs, sizeof(ProfileAllocs));
	return pb;
}

/* Room for more entries; returns where the first new one goes. */
static void *
defs_extend(ProfileDefs *defs, int more)
{
	if (defs->n + more > defs->cap)
	{
		int			cap = Max(defs->n + more, Max(8, defs->cap * 2));

		if (defs->entries == NULL)
			defs->entries = palloc(cap * defs->size);
		else
			defs->entries = repalloc(defs->entries, cap * defs->size);
		defs->cap = cap;
	}
	defs->n += more;
	return (char *) defs->entries + (defs->n - more) * defs->size;
}

static char *
copy_string(DgString s)
{
	char	   *copy = palloc(s.len + 1);

	memcpy(copy, s.ptr, s.len);
	copy[s.len] = '\0';
	return copy;
}

/* Grow parallel arrays of n used out of *cap to hold more. */
static void
grow(int64 n, int64 more, int64 *cap, void **arrays[], const size_t sizes[],
	 int narrays)
{
	int64		newcap;

	if (n + more <= *cap)
		return;
	newcap = Max(n + more, Max(64, *cap * 2));
	for (int i = 0; i < narrays; i++)
		*arrays[i] = *arrays[i] == NULL ?
			MemoryContextAllocHuge(CurrentMemoryContext, newcap * sizes[i]) :
			repalloc_huge(*arrays[i], newcap * sizes[i]);
	*cap = newcap;
}

/* The per-thread entry of defs for thread, made on first use. */
static void *
thread_entry(ProfileDefs *defs, uint32 thread)
{
	void	   *entry;

	/* The thread's entry is usually the last one added or looked up. */
	for (int i = defs->n - 1; i >= 0; i--)
	{
		entry = (char *) defs->entries + i * defs->size;
		if (*(uint32 *) entry == thread)
			return entry;
	}
	entry = defs_extend(defs, 1);
	memset(entry, 0, defs->size);
	*(uint32 *) entry = thread;
	return entry;
}

static ProfileSamples *
samples_with_room(ProfileBuffer *pb, uint32 thread, int64 more)
{
	ProfileSamples *ps = thread_entry(&pb->samples, thread);
	void	  **arrays[] = {(void **) &ps->ts, (void **) &ps->stack,
	(void **) &ps->samples, (void **) &ps->wall, (void **) &ps->cpu};
	const size_t sizes[] = {sizeof(TimestampTz), sizeof(int32), sizeof(int32),
	sizeof(int32), sizeof(int32)};

	grow(ps->n, more, &ps->cap, arrays, sizes, 5);
	return ps;
}

void
ProfileBufferAddSample(ProfileBuffer *pb, uint32 thread, TimestampTz ts,
					   int32 stack, int32 samples, int32 wall_us, int32 cpu_us)
{
	ProfileSamples *ps = samples_with_room(pb, thread, 1);

	ps->ts[ps->n] = ts;
	ps->stack[ps->n] = stack;
	ps->samples[ps->n] = samples;
	ps->wall[ps->n] = wall_us;
	ps->cpu[ps->n] = cpu_us;
	ps->n++;
	pb->stack_samples += samples;
}

static void
add_samples(ProfileBuffer *pb, const DgProfile *msg)
{
	(void) samples_with_room(pb, msg->thread, msg->count);
	for (uint32 i = 0; i < msg->count; i++)
	{
		const DgStackSample *s = &msg->e.samples[i];
		int32		wall = (int32) Min(s->weight_us, (uint32) PG_INT32_MAX);
		TimestampTz ts;

		if (!unix_us_to_timestamptz(s->ts_us, &ts))
		{
			pb->bad_timestamps++;
			continue;
		}
		ProfileBufferAddSample(pb, msg->thread, ts, (int32) s->stack, 1, wall,
							   (s->flags & DG_SAMPLE_ON_CPU) ? wall : 0);
	}
}

void
ProfileBufferAddAlloc(ProfileBuffer *pb, uint32 thread, TimestampTz ts,
					  int32 stack, int32 type, int64 bytes, int64 alloc_id)
{
	ProfileAllocs *pa = thread_entry(&pb->allocs, thread);
	void	  **arrays[] = {(void **) &pa->ts, (void **) &pa->stack,
		(void **) &pa->type, (void **) &pa->bytes,
	(void **) &pa->alloc_id};
	const size_t sizes[] = {sizeof(TimestampTz), sizeof(int32), sizeof(int32),
	sizeof(int64), sizeof(int64)};

	grow(pa->n, 1, &pa->cap, arrays, sizes, 5);
	pa->ts[pa->n] = ts;
	pa->stack[pa->n] = stack;
	pa->type[pa->n] = type;
	pa->bytes[pa->n] = bytes;
	pa->alloc_id[pa->n] = alloc_id;
	pa->n++;
	pb->alloc_samples++;
}

static void
add_allocs(ProfileBuffer *pb, const DgProfile *msg)
{
	for (uint32 i = 0; i < msg->count; i++)
	{
		const DgAlloc *a = &msg->e.allocs[i];
		TimestampTz ts;

		if (!unix_us_to_timestamptz(a->ts_us, &ts))
		{
			pb->bad_timestamps++;
			continue;
		}
		ProfileBufferAddAlloc(pb, msg->thread, ts, (int32) a->stack,
							  (int32) a->type,
							  (int64) Min(a->bytes, (uint64) PG_INT64_MAX),
							  (int64) a->alloc_id);
	}
}

static void
add_frees(ProfileBuffer *pb, const DgProfile *msg)
{
	ProfileFrees *pf = &pb->frees;
	void	  **arrays[] = {(void **) &pf->ts, (void **) &pf->alloc_id};
	const size_t sizes[] = {sizeof(TimestampTz), sizeof(int64)};

	grow(pf->n, msg->count, &pf->cap, arrays, sizes, 2);
	for (uint32 i = 0; i < msg->count; i++)
	{
		if (!unix_us_to_timestamptz(msg->e.frees[i].ts_us, &pf->ts[pf->n]))
		{
			pb->bad_timestamps++;
			continue;
		}
		pf->alloc_id[pf->n] = (int64) msg->e.frees[i].alloc_id;
		pf->n++;
	}
}

void
ProfileBufferAddFrame(ProfileBuffer *pb, uint32 wire, int16 kind, int32 line,
					  const char *function, const char *file)
{
	ProfileFrameDef *f = defs_extend(&pb->frames, 1);

	f->wire = wire;
	f->kind = kind;
	f->line = line;
	f->function = pstrdup(function);
	f->file = pstrdup(file);
}

void
ProfileBufferAddStack(ProfileBuffer *pb, uint32 wire, uint32 parent,
					  uint32 frame, uint32 line)
{
	DgStackDef *d = defs_extend(&pb->stacks, 1);

	d->id = wire;
	d->parent = parent;
	d->frame = frame;
	d->line = line;
}

void
ProfileBufferAddThread(ProfileBuffer *pb, uint32 wire, int64 native_id,
					   const char *name)
{
	ProfileThreadDef *t = defs_extend(&pb->threads, 1);

	t->wire = wire;
	t->native_id = native_id;
	t->name = pstrdup(name);
}

void
ProfileBufferAddType(ProfileBuffer *pb, uint32 wire, const char *name)
{
	ProfileTypeDef *t = defs_extend(&pb->types, 1);

	t->wire = wire;
	t->name = pstrdup(name);
}

void
ProfileBufferAdd(ProfileBuffer *pb, DgKind kind, const DgProfile *msg)
{
	switch (kind)
	{
		case DG_FRAMES:
			for (uint32 i = 0; i < msg->count; i++)
			{
				const DgFrame *f = &msg->e.frames[i];
				char	   *function = copy_string(f->function);
				char	   *file = copy_string(f->file);

				ProfileBufferAddFrame(pb, f->id, f->kind,
									  (int32) Min(f->first_line, (uint32) PG_INT32_MAX),
									  function, file);
				pfree(function);
				pfree(file);
			}
			break;
		case DG_STACKS:
			memcpy(defs_extend(&pb->stacks, msg->count), msg->e.stacks,
				   msg->count * sizeof(DgStackDef));
			break;
		case DG_THREADS:
			for (uint32 i = 0; i < msg->count; i++)
			{
				char	   *name = copy_string(msg->e.threads[i].name);

				ProfileBufferAddThread(pb, msg->e.threads[i].id,
									   (int64) msg->e.threads[i].native_id, name);
				pfree(name);
			}
			break;
		case DG_ALLOC_TYPES:
			for (uint32 i = 0; i < msg->count; i++)
			{
				char	   *name = copy_string(msg->e.types[i].name);

				ProfileBufferAddType(pb, msg->e.types[i].id, name);
				pfree(name);
			}
			break;
		case DG_STACK_SAMPLES:
			add_samples(pb, msg);
			break;
		case DG_ALLOCS:
			add_allocs(pb, msg);
			break;
		case DG_FREES:
			add_frees(pb, msg);
			break;
		default:
			elog(ERROR, "pg_mnemic: message kind %d is not a profile", kind);
	}
}
