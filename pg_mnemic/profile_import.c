/*
 * profile_import.c
 *	  Building an imported profile and storing it (profile_import.h).
 *
 * Frames, stacks, threads and types are interned here, by content, so a
 * reader may name the same frame a million times and the profile still
 * defines it once; what is built is an ordinary buffered profile
 * (listener/profile_batch.h), flushed as the listener flushes a client's.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "listener/batch.h"
#include "listener/store.h"
#include "profile_import.h"

struct ProfileImport
{
	StoreBatch *batch;			/* owns the memory of everything below */
	ProfileBuffer *pb;
	HTAB	   *names;			/* frames, threads, types by content */
	HTAB	   *stacks;			/* (parent, frame, line) */
	uint32		next_frame;
	uint32		next_stack;
	uint32		next_thread;
	uint32		next_type;
	int64		nrss;
	int64		rss_cap;
	TimestampTz *rss_ts;
	double	   *rss;
	int64		next_alloc;
	int64		sampled_us;		/* what the samples stand for, in all */
};

/*
 * What the samples of one import may stand for in all: a sample is kept in
 * entries of at most 35 minutes, so this bounds the entries a file can ask
 * for by its numbers rather than by its size (1.5 million).
 */
#define IMPORT_MAX_SAMPLED_US	((int64) 100 * 366 * 24 * 3600 * 1000000)

/* Frames, threads and types by a hash of what they are. */
typedef struct NameKey
{
	char		what;			/* 'f', 't', 'T' */
	int16		kind;
	int32		line;
	uint64		hash;			/* of the strings */
} NameKey;

typedef struct NameEntry
{
	NameKey		key;
	uint32		id;
	char	   *name;			/* to tell hash collisions apart */
	char	   *file;
} NameEntry;

typedef struct StackKey
{
	uint32		parent;
	uint32		frame;
	int32		line;
} StackKey;

typedef struct StackEntry
{
	StackKey	key;
	uint32		id;
} StackEntry;

ProfileImport *
ProfileImportCreate(void)
{
	ProfileImport *pi = palloc0(sizeof(ProfileImport));
	MemoryContext old;
	HASHCTL		ctl;

	pi->batch = StoreBatchCreate(CurrentMemoryContext, STORE_SUMMARIES_AT_COMMIT);
	old = MemoryContextSwitchTo(StoreBatchContext(pi->batch));
	pi->pb = ProfileBufferCreate();
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(NameKey);
	ctl.entrysize = sizeof(NameEntry);
	ctl.hcxt = CurrentMemoryContext;
	pi->names = hash_create("mnemic import names", 1024, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(StackKey);
	ctl.entrysize = sizeof(StackEntry);
	pi->stacks = hash_create("mnemic import stacks", 1024, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	MemoryContextSwitchTo(old);
	return pi;
}

/* The id of a name of what (with kind, line and file for frames). */
static uint32
intern(ProfileImport *pi, char what, const char *name, const char *file,
	   int16 kind, int32 line, bool *is_new)
{
	NameKey		key;
	NameEntry  *e;
	bool		found;
	uint64		h = hash_bytes_extended((const unsigned char *) name, strlen(name), 0);

	if (file != NULL)
		h = hash_combine64(h, hash_bytes_extended((const unsigned char *) file,
												  strlen(file), 1));
	memset(&key, 0, sizeof(key));
	key.what = what;
	key.kind = kind;
	key.line = line;
	key.hash = h;
	e = hash_search(pi->names, &key, HASH_ENTER, &found);
	if (found)
	{
		if (strcmp(e->name, name) != 0 ||
			(file != NULL && strcmp(e->file, file) != 0))
			elog(ERROR, "pg_mnemic: two names of an import share a hash");
		*is_new = false;
		return e->id;
	}
	e->name = MemoryContextStrdup(StoreBatchContext(pi->batch), name);
	e->file = file ? MemoryContextStrdup(StoreBatchContext(pi->batch), file) : NULL;
	e->id = what == 'f' ? ++pi->next_frame :
		what == 't' ? ++pi->next_thread : ++pi->next_type;
	*is_new = true;
	return e->id;
}

uint32
ProfileImportFrame(ProfileImport *pi, const char *function, const char *file,
				   int32 line, int16 kind)
{
	bool		is_new;
	uint32		id = intern(pi, 'f', function, file, kind, line, &is_new);

	if (is_new)
	{
		MemoryContext old = MemoryContextSwitchTo(StoreBatchContext(pi->batch));

		ProfileBufferAddFrame(pi->pb, id, kind, line, function, file);
		MemoryContextSwitchTo(old);
	}
	return id;
}

uint32
ProfileImportStack(ProfileImport *pi, uint32 parent, uint32 frame, int32 line)
{
	StackKey	key = {parent, frame, line};
	bool		found;
	StackEntry *e = hash_search(pi->stacks, &key, HASH_ENTER, &found);

	if (!found)
	{
		MemoryContext old = MemoryContextSwitchTo(StoreBatchContext(pi->batch));

		e->id = ++pi->next_stack;
		ProfileBufferAddStack(pi->pb, e->id, parent, frame, (uint32) Max(line, 0));
		MemoryContextSwitchTo(old);
	}
	return e->id;
}

uint32
ProfileImportThread(ProfileImport *pi, const char *name)
{
	bool		is_new;
	uint32		id = intern(pi, 't', name, NULL, 0, 0, &is_new);

	if (is_new)
	{
		MemoryContext old = MemoryContextSwitchTo(StoreBatchContext(pi->batch));

		ProfileBufferAddThread(pi->pb, id, 0, name);
		MemoryContextSwitchTo(old);
	}
	return id;
}

uint32
ProfileImportType(ProfileImport *pi, const char *name)
{
	bool		is_new;
	uint32		id = intern(pi, 'T', name, NULL, 0, 0, &is_new);

	if (is_new)
	{
		MemoryContext old = MemoryContextSwitchTo(StoreBatchContext(pi->batch));

		ProfileBufferAddType(pi->pb, id, name);
		MemoryContextSwitchTo(old);
	}
	return id;
}

void
ProfileImportSample(ProfileImport *pi, uint32 thread, TimestampTz ts,
					uint32 stack, int32 samples, int64 wall_us, bool on_cpu,
					int64 rss_bytes)
{
	MemoryContext old;

	if (wall_us < 0 || wall_us > IMPORT_MAX_SAMPLED_US - pi->sampled_us)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the profile's samples stand for more than 100 years in all")));
	pi->sampled_us += wall_us;
	old = MemoryContextSwitchTo(StoreBatchContext(pi->batch));

	/* an entry stands for at most about 35 minutes: longer ones split */
	for (;;)
	{
		int32		part = (int32) Min(wall_us, PG_INT32_MAX);

		ProfileBufferAddSample(pi->pb, thread, ts, (int32) stack, samples,
							   part, on_cpu ? part : 0);
		wall_us -= part;
		samples = 0;
		if (wall_us <= 0)
			break;
	}

	if (rss_bytes > 0)
	{
		if (pi->nrss == pi->rss_cap)
		{
			pi->rss_cap = Max(1024, pi->rss_cap * 2);
			pi->rss_ts = pi->rss_ts == NULL ?
				palloc(sizeof(TimestampTz) * pi->rss_cap) :
				repalloc_huge(pi->rss_ts, sizeof(TimestampTz) * pi->rss_cap);
			pi->rss = pi->rss == NULL ? palloc(sizeof(double) * pi->rss_cap) :
				repalloc_huge(pi->rss, sizeof(double) * pi->rss_cap);
		}
		pi->rss_ts[pi->nrss] = ts;
		pi->rss[pi->nrss] = (double) rss_bytes;
		pi->nrss++;
	}
	MemoryContextSwitchTo(old);
}

void
ProfileImportAlloc(ProfileImport *pi, uint32 thread, TimestampTz ts,
				   uint32 stack, uint32 type, int64 bytes)
{
	MemoryContext old = MemoryContextSwitchTo(StoreBatchContext(pi->batch));

	ProfileBufferAddAlloc(pi->pb, thread, ts, (int32) stack, (int32) type,
						  bytes, ++pi->next_alloc);
	MemoryContextSwitchTo(old);
}

int64
ProfileImportCount(ProfileImport *pi)
{
	return pi->pb->stack_samples + pi->pb->alloc_samples;
}

pg_uuid_t *
ProfileImportStore(ProfileImport *pi, const char *tracer)
{
	pg_uuid_t  *run = palloc(sizeof(pg_uuid_t));
	int64		expected;

	if (ProfileImportCount(pi) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the profile holds no samples")));
	if (!pg_strong_random(run->data, UUID_LEN))
		elog(ERROR, "pg_mnemic: no random bytes for a run's uuid");
	run->data[6] = (run->data[6] & 0x0f) | 0x40;	/* version 4 */
	run->data[8] = (run->data[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	StoreBatchAddImport(pi->batch, tracer, run, pi->pb, pi->nrss, pi->rss_ts,
						pi->rss);
	expected = StoreBatchSamples(pi->batch);
	/* the store reports a run it could not write as a WARNING: make it fail */
	if (StoreBatchFlush(pi->batch) != expected)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("the imported profile could not be stored"),
				 errhint("The warning above says why.")));
	return run;
}
