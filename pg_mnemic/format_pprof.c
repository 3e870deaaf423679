/*
 * format_pprof.c
 *	  pprof's profiles: a gzipped perftools.profiles.Profile message
 *	  (google/pprof, proto/profile.proto), as Go, pprof and many profilers
 *	  write them.  pprof_scan.c reads the message; protowire.h says why
 *	  there is no protobuf library here.
 *
 * An import reads one value of each sample, by its sample type:
 *   - a time (unit nanoseconds, microseconds, milliseconds or seconds; type
 *	   "cpu" first, then "wall", then the first such): the samples are stack
 *	   samples of that length, on CPU unless the type is "wall";
 *   - else a count (type "samples" or "sample", unit "count"): that many
 *	   stack samples, each of one period (10 ms when the period is not a
 *	   time);
 *   - else bytes ("alloc_space" first, then "inuse_space", then the first
 *	   type in bytes): sampled allocations of that size, of unknown type.
 * With a time and a count, the count gives the samples and the time their
 * length.  A profile has no time per sample: the samples follow each other
 * from time_nanos (the import's start when 0), in the order of the file.
 * A sample's thread is its string label "thread" or "thread_name", else
 * "pprof".  Each line of a location is a frame (inlined calls first, then
 * the function they were inlined into) with its function's name, file and
 * start line, and the line executed; a location without lines is a native
 * frame named by its address.
 *
 * An export writes one sample type, the weight asked for: cpu and wall as
 * microseconds, samples as a count, alloc and inuse as bytes
 * ("alloc_space", "inuse_space"); one location per frame and line, one
 * function per frame; time_nanos and duration_nanos the window's.
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "utils/hsearch.h"

#include "listener/pgtime.h"
#include "pprof_scan.h"
#include "profile_formats.h"
#include "protowire.h"

#define DEFAULT_SAMPLE_US	10000

/* Which value of a sample an import reads, and how. */
typedef struct ValueChoice
{
	int			time;			/* index of a time, or -1 */
	double		us_per_unit;	/* of that time */
	bool		on_cpu;
	int			count;			/* index of a count of samples, or -1 */
	int			bytes;			/* index of bytes, or -1 */
	int64		period_us;		/* of one sample, when counted */
} ValueChoice;

typedef struct PprofImport
{
	ProfileImport *pi;
	PprofProfile p;
	uint32	   *function_frames;	/* per function: its frame, 0 not yet */
	uint32	   *address_frames; /* per location without lines */
	uint32	   *threads;		/* per string: the thread it names */
} PprofImport;

static bool
string_is(const PprofProfile *p, PprofStr i, const char *s)
{
	PprofString str = pprof_string(p, i);

	return str.len == strlen(s) && memcmp(str.ptr, s, str.len) == 0;
}

static char *
string_copy(const PprofProfile *p, PprofStr i)
{
	PprofString str = pprof_string(p, i);

	return pnstrdup(str.ptr, str.len);
}

/* µs in one unit of a time unit; 0 when unit is no time. */
static double
time_unit_us(const PprofProfile *p, PprofStr unit)
{
	if (string_is(p, unit, "nanoseconds"))
		return 0.001;
	if (string_is(p, unit, "microseconds"))
		return 1;
	if (string_is(p, unit, "milliseconds"))
		return 1000;
	if (string_is(p, unit, "seconds"))
		return 1000000;
	return 0;
}

/* The first sample type of that type (NULL: any) and unit, or -1. */
static int
find_type(const PprofProfile *p, const char *type, const char *unit)
{
	for (uint32 i = 0; i < p->nsample_types; i++)
		if ((type == NULL || string_is(p, p->sample_types[i].type, type)) &&
			(unit == NULL || string_is(p, p->sample_types[i].unit, unit)))
			return (int) i;
	return -1;
}

static ValueChoice
choose_values(const PprofProfile *p)
{
	ValueChoice c;
	const char *times[] = {"cpu", "wall", NULL};
	double		period_unit;

	memset(&c, 0, sizeof(c));
	c.time = -1;
	for (int t = 0; t < lengthof(times) && c.time < 0; t++)
		for (uint32 i = 0; i < p->nsample_types && c.time < 0; i++)
			if ((times[t] == NULL ||
				 string_is(p, p->sample_types[i].type, times[t])) &&
				time_unit_us(p, p->sample_types[i].unit) > 0)
				c.time = (int) i;
	if (c.time >= 0)
	{
		c.us_per_unit = time_unit_us(p, p->sample_types[c.time].unit);
		c.on_cpu = !string_is(p, p->sample_types[c.time].type, "wall");
	}
	else
		c.on_cpu = true;

	c.count = find_type(p, "samples", "count");
	if (c.count < 0)
		c.count = find_type(p, "sample", "count");

	c.bytes = find_type(p, "alloc_space", "bytes");
	if (c.bytes < 0)
		c.bytes = find_type(p, "inuse_space", "bytes");
	if (c.bytes < 0)
		c.bytes = find_type(p, NULL, "bytes");

	period_unit = time_unit_us(p, p->period_type.unit);
	c.period_us = DEFAULT_SAMPLE_US;
	if (period_unit > 0 && p->period > 0 && p->period * period_unit >= 1 &&
		p->period * period_unit < PG_INT32_MAX)
		c.period_us = (int64) rint(p->period * period_unit);

	if (c.time < 0 && c.count < 0 && c.bytes < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("pprof profile: no sample type is a time, a count of samples or bytes"),
				 errhint("A time has the unit nanoseconds, microseconds, milliseconds or seconds; a count is type \"samples\", unit \"count\".")));
	return c;
}

static uint32
function_frame(PprofImport *im, uint32 f)
{
	const PprofProfile *p = &im->p;

	if (im->function_frames[f] == 0)
	{
		const PprofFunction *fn = &p->functions[f];
		PprofStr	name = fn->name != 0 ? fn->name : fn->system_name;
		int64		start = fn->start_line;

		im->function_frames[f] =
			ProfileImportFrame(im->pi,
							   name != 0 ? string_copy(p, name) : "<unknown>",
							   string_copy(p, fn->filename),
							   start > 0 && start <= PG_INT32_MAX ? (int32) start : 0,
							   IMPORT_FRAME_PYTHON);
	}
	return im->function_frames[f];
}

/* The import's stack of a sample: locations leaf first, lines inner first. */
static uint32
sample_stack(PprofImport *im, const PprofSample *sample)
{
	const PprofProfile *p = &im->p;
	uint32		stack = 0;

	for (uint32 j = sample->nlocations; j > 0; j--)
	{
		uint32		l = p->sample_locations[sample->first_location + j - 1];
		const PprofLocation *loc = &p->locations[l];

		if (loc->nlines == 0)
		{
			if (im->address_frames[l] == 0)
			{
				char	   *name = psprintf("0x%llx",
											(unsigned long long) loc->address);

				im->address_frames[l] = ProfileImportFrame(im->pi, name, "", 0,
														   IMPORT_FRAME_NATIVE);
			}
			stack = ProfileImportStack(im->pi, stack, im->address_frames[l], 0);
			continue;
		}
		for (uint32 k = loc->nlines; k > 0; k--)
		{
			const PprofLine *line = &p->lines[loc->first_line + k - 1];

			stack = ProfileImportStack(im->pi, stack,
									   function_frame(im, line->function),
									   line->line > 0 && line->line <= PG_INT32_MAX ?
									   (int32) line->line : 0);
		}
	}
	return stack;
}

static uint32
sample_thread(PprofImport *im, const PprofSample *sample)
{
	if (im->threads[sample->thread] == 0)
		im->threads[sample->thread] =
			ProfileImportThread(im->pi, sample->thread == 0 ? "pprof" :
								string_copy(&im->p, sample->thread));
	return im->threads[sample->thread];
}

static void
value_error(const PprofSample *sample, uint32 i, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("pprof profile, byte %zu: sample %u %s", sample->offset,
					i + 1, what)));
}

void
ReadPprof(ProfileImport *pi, const char *data, size_t len)
{
	PprofImport im;
	ScanError	err;
	ValueChoice c;
	TimestampTz at;

	memset(&im, 0, sizeof(im));
	im.pi = pi;
	if (!pprof_scan((const uint8 *) data, len, &ProfileScanAlloc, &im.p, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("pprof profile, byte %zu: %s", err.offset, err.message)));
	c = choose_values(&im.p);
	im.function_frames = palloc0(sizeof(uint32) * (im.p.nfunctions + 1));
	im.address_frames = palloc0(sizeof(uint32) * (im.p.nlocations + 1));
	im.threads = palloc0(sizeof(uint32) * (im.p.nstrings + 1));

	at = ProfileImportEpoch();
	if (im.p.time_nanos > 0 &&
		!unix_us_to_timestamptz(im.p.time_nanos / 1000, &at))
		elog(ERROR, "pg_mnemic: time_nanos out of range");	/* cannot be */

	for (uint32 i = 0; i < im.p.nsamples; i++)
	{
		const PprofSample *sample = &im.p.samples[i];
		const int64 *v = &im.p.values[sample->first_value];
		int64		samples;
		double		wall;

		for (uint32 k = 0; k < im.p.nsample_types; k++)
			if (v[k] < 0)
				value_error(sample, i, "has a negative value");
		if (c.time < 0 && c.count < 0)
		{
			if (v[c.bytes] > 0)
				ProfileImportAlloc(pi, sample_thread(&im, sample), at,
								   sample_stack(&im, sample), 0, v[c.bytes]);
			continue;
		}

		wall = c.time >= 0 ? rint(v[c.time] * c.us_per_unit) : 0;
		if (wall > (double) PROFILE_MAX_SAMPLE_US)
			value_error(sample, i, "stands for more than a year");
		if (c.count >= 0)
			samples = v[c.count];
		else
			samples = Max(1, (int64) rint(wall / c.period_us));
		if (samples > PG_INT32_MAX)
			value_error(sample, i, "stands for more than 2^31 samples");
		if (c.time < 0)
			wall = (double) samples * c.period_us;
		if (wall > (double) PROFILE_MAX_SAMPLE_US)
			value_error(sample, i, "stands for more than a year");
		if (samples == 0 && wall == 0)
			continue;
		ProfileImportSample(pi, sample_thread(&im, sample), at,
							sample_stack(&im, sample), (int32) samples,
							(int64) wall, c.on_cpu, 0);
		at = ProfileTimeAfter(at, (int64) wall);
	}
}

/*
 * Writing: a message is built in a StringInfo of its own, then appended to
 * its parent as a length-delimited field.
 */
static void
put_varint(StringInfo buf, uint64 v)
{
	uint8		tmp[10];

	appendBinaryStringInfo(buf, (char *) tmp, pw_put_varint(tmp, v));
}

static void
put_uint(StringInfo buf, int field, uint64 v)
{
	if (v == 0)
		return;					/* proto3 leaves out zero values */
	put_varint(buf, (uint64) field << 3 | PW_VARINT);
	put_varint(buf, v);
}

static void
put_bytes(StringInfo buf, int field, const char *data, size_t len)
{
	put_varint(buf, (uint64) field << 3 | PW_LEN);
	put_varint(buf, len);
	appendBinaryStringInfo(buf, data, len);
}

/* Append msg as field of buf, and empty msg. */
static void
put_message(StringInfo buf, int field, StringInfo msg)
{
	put_bytes(buf, field, msg->data, msg->len);
	resetStringInfo(msg);
}

typedef struct PprofWriter
{
	const ProfileExport *ex;
	HTAB	   *strings;		/* char * -> index */
	StringInfoData table;		/* the string_table fields */
	int64		nstrings;
	HTAB	   *functions;		/* frame id -> function id */
	StringInfoData function_msgs;
	HTAB	   *locations;		/* (frame, line) -> location id */
	StringInfoData location_msgs;
	StringInfoData scratch;
	StringInfoData scratch2;
} PprofWriter;

typedef struct NamedIndex
{
	const char *key;
	int64		index;
} NamedIndex;

typedef struct IdIndex
{
	int64		key;			/* frame id, or frame id and line */
	uint64		index;
} IdIndex;

static int64
string_index(PprofWriter *w, const char *s)
{
	bool		found;
	NamedIndex *e = hash_search(w->strings, &s, HASH_ENTER, &found);

	if (!found)
	{
		e->index = w->nstrings++;
		put_bytes(&w->table, 6, s, strlen(s));
	}
	return e->index;
}

static uint64
function_id(PprofWriter *w, int32 frame)
{
	int64		key = frame;
	bool		found;
	IdIndex    *e = hash_search(w->functions, &key, HASH_ENTER, &found);

	if (!found)
	{
		ProfileFrameInfo *f = ProfileFrameInfoOf(w->ex->frames, frame);
		int64		name = string_index(w, f->function);

		e->index = hash_get_num_entries(w->functions);
		put_uint(&w->scratch, 1, e->index);
		put_uint(&w->scratch, 2, name);
		put_uint(&w->scratch, 3, name);
		put_uint(&w->scratch, 4, string_index(w, f->file));
		put_uint(&w->scratch, 5, f->line > 0 ? f->line : 0);
		put_message(&w->function_msgs, 5, &w->scratch);
	}
	return e->index;
}

static uint64
location_id(PprofWriter *w, int32 frame, int32 line)
{
	int64		key = (int64) frame << 32 | (uint32) line;
	bool		found;
	IdIndex    *e = hash_search(w->locations, &key, HASH_ENTER, &found);

	if (!found)
	{
		uint64		function = function_id(w, frame);

		e->index = hash_get_num_entries(w->locations);
		put_uint(&w->scratch2, 1, function);
		put_uint(&w->scratch2, 2, line > 0 ? line : 0);
		put_uint(&w->scratch, 1, e->index);
		put_message(&w->scratch, 4, &w->scratch2);
		put_message(&w->location_msgs, 4, &w->scratch);
	}
	return e->index;
}

static HTAB *
id_table(const char *name, Size keysize, Size entrysize, int flags)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, 256, &ctl, HASH_ELEM | flags | HASH_CONTEXT);
}

/* Strings are keyed by their text: hash and compare through the pointer. */
static uint32
text_pointer_hash(const void *key, Size keysize)
{
	const char *s = *(const char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
text_pointer_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

bytea *
WritePprof(const ProfileExport *ex)
{
	PprofWriter w;
	StringInfoData out;
	StringInfoData samples;
	StringInfoData packed;
	HASHCTL		ctl;
	int64		type;
	int64		unit;
	bool		is_time = ex->weight == WEIGHT_CPU || ex->weight == WEIGHT_WALL;
	const char *type_name = ex->weight == WEIGHT_ALLOC ? "alloc_space" :
		ex->weight == WEIGHT_INUSE ? "inuse_space" : ex->weight_name;

	memset(&w, 0, sizeof(w));
	w.ex = ex;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(NamedIndex);
	ctl.hash = text_pointer_hash;
	ctl.match = text_pointer_match;
	ctl.hcxt = CurrentMemoryContext;
	w.strings = hash_create("mnemic pprof strings", 256, &ctl,
							HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	w.functions = id_table("mnemic pprof functions", sizeof(int64), sizeof(IdIndex), HASH_BLOBS);
	w.locations = id_table("mnemic pprof locations", sizeof(int64), sizeof(IdIndex), HASH_BLOBS);
	initStringInfo(&w.table);
	initStringInfo(&w.function_msgs);
	initStringInfo(&w.location_msgs);
	initStringInfo(&w.scratch);
	initStringInfo(&w.scratch2);
	initStringInfo(&samples);
	initStringInfo(&packed);
	initStringInfo(&out);

	string_index(&w, "");
	type = string_index(&w, type_name);
	unit = string_index(&w, is_time ? "microseconds" :
						ex->weight == WEIGHT_SAMPLES ? "count" : "bytes");

	for (int i = 0; i < ex->paths.n; i++)
	{
		const ProfilePath *p = &ex->paths.paths[i];

		if (ex->values[i] == 0)
			continue;
		/* leaf first */
		for (int d = p->depth - 1; d >= 0; d--)
			put_varint(&packed, location_id(&w, p->frames[d], p->lines[d]));
		put_message(&w.scratch, 1, &packed);
		put_varint(&packed, (uint64) ex->values[i]);
		put_message(&w.scratch, 2, &packed);
		put_message(&samples, 2, &w.scratch);
	}

	put_uint(&w.scratch, 1, type);
	put_uint(&w.scratch, 2, unit);
	put_message(&out, 1, &w.scratch);
	appendBinaryStringInfo(&out, samples.data, samples.len);
	appendBinaryStringInfo(&out, w.location_msgs.data, w.location_msgs.len);
	appendBinaryStringInfo(&out, w.function_msgs.data, w.function_msgs.len);
	appendBinaryStringInfo(&out, w.table.data, w.table.len);
	put_uint(&out, 9, (uint64) ((ex->from + UNIX_TO_PG_EPOCH_US) * 1000));
	put_uint(&out, 10, (uint64) ((ex->to - ex->from) * 1000));
	return GzipBytes(out.data, out.len);
}
