/*
 * format_vmprof.c
 *	  vmprof's .prof files, as vmprof writes them for CPython and PyPy
 *	  (vmprof_scan.h has the layout; vmprof_scan.c takes the bytes apart).
 *
 * What an import keeps: every stack record as a sample of its thread (named
 * "thread 1", "thread 2"... in the order they first appear, as vmprof only
 * writes an address), each frame with the name, file and first line of its
 * code record ("<unknown code 0x...>" when the file has none), the line
 * executed when vmprof ran in line mode, native frames (vmprof's native
 * mode) by their symbol, and the resident memory of memory mode.
 *
 * A .prof file has no time per sample, so time is rebuilt from the period:
 * the n-th sample is taken at start + n periods, the start being the time
 * record of the file (or the import's start when it has none).  vmprof's
 * default timer counts CPU time of the process, so in that mode n counts
 * all samples and each stands for a period on CPU; in real-time mode
 * (SIGALRM) every thread is sampled each period, so n counts the samples of
 * its thread and each stands for a period of wall time, not known to be on
 * CPU.  A stack record counting k samples stands for k periods.
 *
 * Files of vmprof 0.2 (a 0x04 name record, no header record) mix the C
 * stack's raw addresses into the stacks and resolve them from a table of
 * mappings after the trailer; an import leaves out the entries that have
 * no code record there and keeps the Python frames.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "common/int.h"
#include "utils/hsearch.h"

#include "listener/pgtime.h"
#include "profile_formats.h"
#include "vmprof_scan.h"

/* A code id (or native address) and the frame it became. */
typedef struct CodeKey
{
	int64		addr;
	bool		native;
} CodeKey;

typedef struct CodeEntry
{
	CodeKey		key;
	char	   *function;		/* NULL: no symbol record for it */
	char	   *file;
	int32		line;
	uint32		frame;			/* 0 until a stack uses it */
} CodeEntry;

/* A thread's address, its import id and samples so far. */
typedef struct ThreadEntry
{
	int64		addr;
	uint32		id;
	int64		samples;
} ThreadEntry;

/* Stacks already built, by the bytes of their entries. */
typedef struct StackEntry
{
	uint64		hash;
	const uint8 *entries;
	size_t		nbytes;
	uint32		stack;
} StackEntry;

typedef struct VmprofImport
{
	ProfileImport *pi;
	VmprofScan	scan;
	HTAB	   *codes;
	HTAB	   *threads;
	HTAB	   *stacks;
	VmprofFrame *frames;		/* room for VMPROF_MAX_DEPTH */
	bool		has_start;
	int64		start_us;		/* µs since 1970 */
	int64		samples;		/* of every thread */
} VmprofImport;

static void
raise_scan_error(const ScanError *err)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("vmprof profile, byte %zu: %s", err->offset, err->message)));
}

static HTAB *
make_table(const char *name, Size keysize, Size entrysize)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* First pass: the code records (they may follow the stacks that use them). */
static void
read_symbols(VmprofImport *vi, const char *data, size_t len)
{
	VmprofRecord rec;
	VmprofStep	step;
	ScanError	err;

	if (!vmprof_scan_init(&vi->scan, (const uint8 *) data, len, &err))
		raise_scan_error(&err);
	while ((step = vmprof_next_record(&vi->scan, &rec, &err)) == VMPROF_RECORD)
	{
		if (rec.kind == VMPROF_TIME && !rec.is_end && !vi->has_start)
		{
			vi->has_start = true;
			vi->start_us = rec.unix_us;
		}
		else if (rec.kind == VMPROF_SYMBOL)
		{
			VmprofSymbol sym;
			CodeKey		key;
			CodeEntry  *e;
			bool		found;

			vmprof_split_symbol(rec.text, rec.text_len, &sym);
			memset(&key, 0, sizeof(key));
			key.addr = rec.addr;
			key.native = sym.native || rec.native;
			e = hash_search(vi->codes, &key, HASH_ENTER, &found);
			if (found && e->function != NULL)
				continue;		/* the first definition holds */
			/* writers cut long names anywhere, even inside a character */
			e->function = scan_utf8_repaired(&ProfileScanAlloc, sym.name, sym.name_len);
			e->file = (sym.file_len == 1 && sym.file[0] == '-') ? pstrdup("") :
				scan_utf8_repaired(&ProfileScanAlloc, sym.file, sym.file_len);
			e->line = sym.line;
			e->frame = 0;
		}
	}
	if (step == VMPROF_ERROR)
		raise_scan_error(&err);
}

/* The import's frame of a frame of a stack; 0 to leave it out. */
static uint32
frame_of(VmprofImport *vi, const VmprofFrame *f)
{
	CodeKey		key;
	CodeEntry  *e;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.addr = f->addr;
	key.native = f->native;
	e = hash_search(vi->codes, &key, HASH_ENTER, &found);
	if (!found)
		e->function = NULL;
	if (!found || e->frame == 0)
	{
		if (e->function == NULL && vi->scan.old_layout)
		{
			e->frame = 0;
			return 0;
		}
		if (e->function == NULL)
		{
			e->function = psprintf("<unknown %s 0x%llx>",
								   f->native ? "native code" : "code",
								   (unsigned long long) f->addr);
			e->file = "";
			e->line = 0;
		}
		e->frame = ProfileImportFrame(vi->pi, e->function, e->file, e->line,
									  f->native ? IMPORT_FRAME_NATIVE :
									  IMPORT_FRAME_PYTHON);
	}
	return e->frame;
}

/* The import's stack of a stack record: built once per distinct record. */
static uint32
stack_of(VmprofImport *vi, const VmprofRecord *rec)
{
	size_t		nbytes = rec->depth * vi->scan.addr_size;
	uint64		hash = hash_bytes_extended(rec->entries, nbytes, 0);
	StackEntry *e;
	bool		found;
	size_t		n;
	uint32		stack = 0;
	ScanError	err;

	e = hash_search(vi->stacks, &hash, HASH_ENTER, &found);
	if (found && e->nbytes == nbytes &&
		memcmp(e->entries, rec->entries, nbytes) == 0)
		return e->stack;

	if (!vmprof_stack_frames(&vi->scan, rec, vi->frames, &n, &err))
		raise_scan_error(&err);
	for (size_t i = 0; i < n; i++)
	{
		uint32		frame = frame_of(vi, &vi->frames[i]);

		if (frame != 0)
			stack = ProfileImportStack(vi->pi, stack, frame, vi->frames[i].line);
	}
	if (!found)
	{
		/* on a clash of hashes the first stack keeps the entry */
		e->entries = rec->entries;
		e->nbytes = nbytes;
		e->stack = stack;
	}
	return stack;
}

static ThreadEntry *
thread_of(VmprofImport *vi, int64 addr)
{
	bool		found;
	ThreadEntry *t = hash_search(vi->threads, &addr, HASH_ENTER, &found);

	if (!found)
	{
		char		name[32];

		snprintf(name, sizeof(name), "thread %ld", hash_get_num_entries(vi->threads));
		t->id = ProfileImportThread(vi->pi, name);
		t->samples = 0;
	}
	return t;
}

/* The time of a sample after before periods from start. */
static TimestampTz
sample_time(TimestampTz start, int64 before, int64 period_us)
{
	int64		us;

	if (pg_mul_s64_overflow(before, period_us, &us))
		us = PG_INT64_MAX;		/* out of range below */
	return ProfileTimeAfter(start, us);
}

/* Second pass: the samples. */
static void
read_samples(VmprofImport *vi, const char *data, size_t len)
{
	bool		real_time;
	TimestampTz start;
	VmprofRecord rec;
	VmprofStep	step;
	ScanError	err;

	if (!vmprof_scan_init(&vi->scan, (const uint8 *) data, len, &err))
		raise_scan_error(&err);
	if (!vi->has_start)
		start = ProfileImportEpoch();
	else if (!unix_us_to_timestamptz(vi->start_us, &start))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("vmprof profile: the start time is out of range")));

	while ((step = vmprof_next_record(&vi->scan, &rec, &err)) == VMPROF_RECORD)
	{
		ThreadEntry *t;
		int64	   *before;
		int64		rss = 0;

		if (rec.kind != VMPROF_STACK)
			continue;
		if (rec.count > PROFILE_MAX_SAMPLE_US / vi->scan.period_us)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("vmprof profile, byte %zu: a stack record of %lld samples of %lld µs stands for more than a year",
							rec.offset, (long long) rec.count,
							(long long) vi->scan.period_us)));
		real_time = (vi->scan.mode & VMPROF_MODE_REAL_TIME) != 0;
		t = thread_of(vi, rec.thread);
		before = real_time ? &t->samples : &vi->samples;
		if (rec.rss_kb > 0 && rec.rss_kb <= PG_INT64_MAX / 1024)
			rss = rec.rss_kb * 1024;
		ProfileImportSample(vi->pi, t->id,
							sample_time(start, *before, vi->scan.period_us),
							stack_of(vi, &rec), (int32) rec.count,
							rec.count * vi->scan.period_us, !real_time, rss);
		*before += rec.count;
	}
	if (step == VMPROF_ERROR)
		raise_scan_error(&err);
}

void
ReadVmprof(ProfileImport *pi, const char *data, size_t len)
{
	VmprofImport vi;

	memset(&vi, 0, sizeof(vi));
	vi.pi = pi;
	vi.codes = make_table("mnemic vmprof codes", sizeof(CodeKey), sizeof(CodeEntry));
	vi.threads = make_table("mnemic vmprof threads", sizeof(int64), sizeof(ThreadEntry));
	vi.stacks = make_table("mnemic vmprof stacks", sizeof(uint64), sizeof(StackEntry));
	vi.frames = palloc(sizeof(VmprofFrame) * VMPROF_MAX_DEPTH);

	read_symbols(&vi, data, len);
	read_samples(&vi, data, len);
}
