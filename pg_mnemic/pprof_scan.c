/*
 * pprof_scan.c
 *	  Reading a pprof Profile message (pprof_scan.h).
 *
 * Three passes over the bytes, so nothing grows while it is read: the first
 * counts the entries of every array, the second reads the string table
 * (messages may come in any order, and a label is only understood through
 * its strings), the third everything else.  Then ids are resolved to
 * indexes through sorted copies of the locations and functions.
 *
 * Plain C, no PostgreSQL headers.
 */
#include "pprof_scan.h"

#include <stdlib.h>
#include <string.h>

#include "listener/text.h"
#include "protowire.h"

/* Field numbers of profile.proto */
#define PROFILE_SAMPLE_TYPE		1
#define PROFILE_SAMPLE			2
#define PROFILE_LOCATION		4
#define PROFILE_FUNCTION		5
#define PROFILE_STRING_TABLE	6
#define PROFILE_TIME_NANOS		9
#define PROFILE_DURATION_NANOS	10
#define PROFILE_PERIOD_TYPE		11
#define PROFILE_PERIOD			12
#define PROFILE_DEFAULT_TYPE	14

typedef struct Scan
{
	const uint8_t *data;
	size_t		len;
	const ScanAlloc *alloc;
	PprofProfile *p;
	ScanError  *err;
	/* filled by the third pass */
	uint64_t   *location_refs;	/* Sample.location_id, as written */
	uint64_t   *function_refs;	/* Line.function_id, as written */
	size_t		nrefs;
	size_t		nvalues;
	size_t		nlines;
} Scan;

static bool
field_fail(Scan *s, const ProtoField *f, const char *what)
{
	return scan_fail(s->err, f->offset, 0, "%s", what);
}

static bool
want_type(Scan *s, const ProtoField *f, int wire_type, const char *field)
{
	if (f->wire_type == wire_type)
		return true;
	return scan_fail(s->err, f->offset, 0, "%s has wire type %d, not %d",
					 field, f->wire_type, wire_type);
}

/* The end of a message: false when pw_next_field stopped on a problem. */
static bool
message_end(Scan *s, const ProtoReader *r, const char *problem)
{
	if (problem == NULL)
		return true;
	return scan_fail(s->err, r->pos, 0, "%s", problem);
}

/* A repeated varint field, packed or not: call add for each value. */
static bool
each_varint(Scan *s, const ProtoReader *r, const ProtoField *f,
			const char *field, bool (*add) (Scan *s, uint64_t v, void *arg),
			void *arg)
{
	ProtoReader packed;

	if (f->wire_type == PW_VARINT)
		return add(s, f->varint, arg);
	if (f->wire_type != PW_LEN)
		return want_type(s, f, PW_VARINT, field);
	packed = pw_sub_reader(r, f);
	while (packed.pos < packed.end)
	{
		uint64_t	v;

		if (!pw_read_varint(&packed, &v))
			return scan_fail(s->err, packed.pos, 0,
							 "a packed %s is cut short", field);
		if (!add(s, v, arg))
			return false;
	}
	return true;
}

/* A string index, checked against the table. */
static bool
string_index(Scan *s, const ProtoField *f, PprofStr *out, const char *field)
{
	if (!want_type(s, f, PW_VARINT, field))
		return false;
	if (f->varint >= s->p->nstrings)
		return scan_fail(s->err, f->offset, 0,
						 "%s names string %lld of a table of %u",
						 field, (long long) f->varint, s->p->nstrings);
	*out = (PprofStr) f->varint;
	return true;
}

static bool
count_one(Scan *s, uint64_t v, void *arg)
{
	(void) s;
	(void) v;
	(*(size_t *) arg)++;
	return true;
}

/* First pass: how many of each. */
static bool
count_entries(Scan *s, size_t *nrefs, size_t *nvalues, size_t *nlines)
{
	ProtoReader r = {s->data, 0, s->len};
	ProtoField	f;
	const char *problem;
	size_t		n[PROFILE_STRING_TABLE + 1] = {0};

	while (pw_next_field(&r, &f, &problem))
	{
		ProtoReader sub;
		ProtoField	g;

		if (f.number > PROFILE_STRING_TABLE || f.number == 3)
			continue;
		if (!want_type(s, &f, PW_LEN, "a repeated message or string"))
			return false;
		if (n[f.number] >= UINT32_MAX - 1)
			return field_fail(s, &f, "more than 2^32 entries");
		n[f.number]++;
		sub = pw_sub_reader(&r, &f);
		if (f.number == PROFILE_SAMPLE)
		{
			while (pw_next_field(&sub, &g, &problem))
				if ((g.number == 1 &&
					 !each_varint(s, &sub, &g, "location_id", count_one, nrefs)) ||
					(g.number == 2 &&
					 !each_varint(s, &sub, &g, "value", count_one, nvalues)))
					return false;
			if (!message_end(s, &sub, problem))
				return false;
		}
		else if (f.number == PROFILE_LOCATION)
		{
			while (pw_next_field(&sub, &g, &problem))
				if (g.number == 4)
					(*nlines)++;
			if (!message_end(s, &sub, problem))
				return false;
		}
	}
	if (!message_end(s, &r, problem))
		return false;
	if (*nrefs >= UINT32_MAX || *nvalues >= UINT32_MAX || *nlines >= UINT32_MAX)
		return scan_fail(s->err, 0, 0, "more than 2^32 locations, values or lines");
	s->p->nsample_types = (uint32_t) n[PROFILE_SAMPLE_TYPE];
	s->p->nsamples = (uint32_t) n[PROFILE_SAMPLE];
	s->p->nlocations = (uint32_t) n[PROFILE_LOCATION];
	s->p->nfunctions = (uint32_t) n[PROFILE_FUNCTION];
	s->p->nstrings = (uint32_t) n[PROFILE_STRING_TABLE];
	return true;
}

static void *
array_of(Scan *s, size_t n, size_t size)
{
	/* one entry more, so an empty array is a block too */
	if (n >= SIZE_MAX / size - 1)
		return NULL;
	return s->alloc->resize(s->alloc->ctx, NULL, (n + 1) * size);
}

/* Second pass: the string table. */
static bool
read_strings(Scan *s)
{
	ProtoReader r = {s->data, 0, s->len};
	ProtoField	f;
	const char *problem;
	uint32_t	n = 0;

	while (pw_next_field(&r, &f, &problem))
	{
		if (f.number != PROFILE_STRING_TABLE)
			continue;
		if (!utf8_valid(s->data + f.start, f.len))
			return field_fail(s, &f, "a string of the table is not UTF-8, or holds a NUL");
		s->p->strings[n].ptr = (const char *) s->data + f.start;
		s->p->strings[n].len = f.len;
		n++;
	}
	if (s->p->nstrings == 0 || s->p->strings[0].len != 0)
		return scan_fail(s->err, 0, 0,
						 "the string table does not start with the empty string");
	return true;
}

static bool
read_value_type(Scan *s, const ProtoReader *r, const ProtoField *f,
				PprofValueType *vt)
{
	ProtoReader sub = pw_sub_reader(r, f);
	ProtoField	g;
	const char *problem;

	vt->type = vt->unit = 0;
	while (pw_next_field(&sub, &g, &problem))
		if ((g.number == 1 && !string_index(s, &g, &vt->type, "ValueType.type")) ||
			(g.number == 2 && !string_index(s, &g, &vt->unit, "ValueType.unit")))
			return false;
	return message_end(s, &sub, problem);
}

static bool
add_location_ref(Scan *s, uint64_t v, void *arg)
{
	(void) arg;
	s->location_refs[s->nrefs++] = v;
	return true;
}

static bool
add_value(Scan *s, uint64_t v, void *arg)
{
	(void) arg;
	s->p->values[s->nvalues++] = (int64_t) v;
	return true;
}

/* A label naming the sample's thread: key "thread" or "thread_name". */
static bool
read_label(Scan *s, const ProtoReader *r, const ProtoField *f,
		   PprofSample *sample)
{
	ProtoReader sub = pw_sub_reader(r, f);
	ProtoField	g;
	const char *problem;
	PprofStr	key = 0;
	PprofStr	str = 0;
	PprofString k;

	while (pw_next_field(&sub, &g, &problem))
		if ((g.number == 1 && !string_index(s, &g, &key, "Label.key")) ||
			(g.number == 2 && !string_index(s, &g, &str, "Label.str")))
			return false;
	if (!message_end(s, &sub, problem))
		return false;
	k = s->p->strings[key];
	if (str != 0 &&
		((k.len == 6 && memcmp(k.ptr, "thread", 6) == 0) ||
		 (k.len == 11 && memcmp(k.ptr, "thread_name", 11) == 0)))
		sample->thread = str;
	return true;
}

static bool
read_sample(Scan *s, const ProtoReader *r, const ProtoField *f,
			PprofSample *sample)
{
	ProtoReader sub = pw_sub_reader(r, f);
	ProtoField	g;
	const char *problem;

	sample->offset = f->offset;
	sample->first_location = (uint32_t) s->nrefs;
	sample->first_value = (uint32_t) s->nvalues;
	sample->thread = 0;
	while (pw_next_field(&sub, &g, &problem))
		if ((g.number == 1 &&
			 !each_varint(s, &sub, &g, "location_id", add_location_ref, NULL)) ||
			(g.number == 2 &&
			 !each_varint(s, &sub, &g, "value", add_value, NULL)) ||
			(g.number == 3 && (!want_type(s, &g, PW_LEN, "Sample.label") ||
							   !read_label(s, &sub, &g, sample))))
			return false;
	if (!message_end(s, &sub, problem))
		return false;
	sample->nlocations = (uint32_t) (s->nrefs - sample->first_location);
	if (s->nvalues - sample->first_value != s->p->nsample_types)
		return scan_fail(s->err, f->offset, 0,
						 "a sample has %zu values for %u sample types",
						 s->nvalues - sample->first_value, s->p->nsample_types);
	return true;
}

static bool
read_line(Scan *s, const ProtoReader *r, const ProtoField *f)
{
	ProtoReader sub = pw_sub_reader(r, f);
	ProtoField	g;
	const char *problem;
	PprofLine  *line = &s->p->lines[s->nlines];

	s->function_refs[s->nlines] = 0;
	line->line = 0;
	while (pw_next_field(&sub, &g, &problem))
	{
		if ((g.number == 1 || g.number == 2) &&
			!want_type(s, &g, PW_VARINT, "a field of Line"))
			return false;
		if (g.number == 1)
			s->function_refs[s->nlines] = g.varint;
		else if (g.number == 2)
			line->line = (int64_t) g.varint;
	}
	s->nlines++;
	return message_end(s, &sub, problem);
}

static bool
read_location(Scan *s, const ProtoReader *r, const ProtoField *f,
			  PprofLocation *loc)
{
	ProtoReader sub = pw_sub_reader(r, f);
	ProtoField	g;
	const char *problem;

	memset(loc, 0, sizeof(*loc));
	loc->first_line = (uint32_t) s->nlines;
	while (pw_next_field(&sub, &g, &problem))
	{
		if (g.number == 4)
		{
			if (!want_type(s, &g, PW_LEN, "Location.line") ||
				!read_line(s, &sub, &g))
				return false;
			continue;
		}
		if ((g.number == 1 || g.number == 3) &&
			!want_type(s, &g, PW_VARINT, "Location.id or address"))
			return false;
		if (g.number == 1)
			loc->id = g.varint;
		else if (g.number == 3)
			loc->address = g.varint;
	}
	loc->nlines = (uint32_t) (s->nlines - loc->first_line);
	if (loc->id == 0)
		return scan_fail(s->err, f->offset, 0, "a location without an id");
	return message_end(s, &sub, problem);
}

static bool
read_function(Scan *s, const ProtoReader *r, const ProtoField *f,
			  PprofFunction *fn)
{
	ProtoReader sub = pw_sub_reader(r, f);
	ProtoField	g;
	const char *problem;

	memset(fn, 0, sizeof(*fn));
	while (pw_next_field(&sub, &g, &problem))
	{
		bool		ok = true;

		switch (g.number)
		{
			case 1:
				ok = want_type(s, &g, PW_VARINT, "Function.id");
				fn->id = g.varint;
				break;
			case 2:
				ok = string_index(s, &g, &fn->name, "Function.name");
				break;
			case 3:
				ok = string_index(s, &g, &fn->system_name, "Function.system_name");
				break;
			case 4:
				ok = string_index(s, &g, &fn->filename, "Function.filename");
				break;
			case 5:
				ok = want_type(s, &g, PW_VARINT, "Function.start_line");
				fn->start_line = (int64_t) g.varint;
				break;
		}
		if (!ok)
			return false;
	}
	if (fn->id == 0)
		return scan_fail(s->err, f->offset, 0, "a function without an id");
	return message_end(s, &sub, problem);
}

/* A field of Profile that is a single integer. */
static bool
read_scalar(Scan *s, const ProtoField *f, int64_t *v, const char *field)
{
	if (!want_type(s, f, PW_VARINT, field))
		return false;
	*v = (int64_t) f->varint;
	return true;
}

/* Third pass: everything but the strings. */
static bool
read_messages(Scan *s)
{
	ProtoReader r = {s->data, 0, s->len};
	ProtoField	f;
	const char *problem;
	PprofProfile *p = s->p;
	uint32_t	ntypes = 0,
				nsamples = 0,
				nlocations = 0,
				nfunctions = 0;
	int64_t		default_type = 0;

	while (pw_next_field(&r, &f, &problem))
	{
		bool		ok = true;

		switch (f.number)
		{
			case PROFILE_SAMPLE_TYPE:
				ok = read_value_type(s, &r, &f, &p->sample_types[ntypes++]);
				break;
			case PROFILE_SAMPLE:
				ok = read_sample(s, &r, &f, &p->samples[nsamples++]);
				break;
			case PROFILE_LOCATION:
				ok = read_location(s, &r, &f, &p->locations[nlocations++]);
				break;
			case PROFILE_FUNCTION:
				ok = read_function(s, &r, &f, &p->functions[nfunctions++]);
				break;
			case PROFILE_TIME_NANOS:
				ok = read_scalar(s, &f, &p->time_nanos, "time_nanos");
				break;
			case PROFILE_DURATION_NANOS:
				ok = read_scalar(s, &f, &p->duration_nanos, "duration_nanos");
				break;
			case PROFILE_PERIOD_TYPE:
				ok = want_type(s, &f, PW_LEN, "period_type") &&
					read_value_type(s, &r, &f, &p->period_type);
				break;
			case PROFILE_PERIOD:
				ok = read_scalar(s, &f, &p->period, "period");
				break;
			case PROFILE_DEFAULT_TYPE:
				ok = read_scalar(s, &f, &default_type, "default_sample_type");
				if (ok && (default_type < 0 || default_type >= p->nstrings))
					ok = field_fail(s, &f, "default_sample_type is not a string of the table");
				p->default_sample_type = (PprofStr) default_type;
				break;
		}
		if (!ok)
			return false;
	}
	return message_end(s, &r, problem);
}

/* Sorting indexes of locations or functions by id. */
typedef struct ById
{
	uint64_t	id;
	uint32_t	index;
} ById;

static int
compare_ids(const void *a, const void *b)
{
	uint64_t	x = ((const ById *) a)->id;
	uint64_t	y = ((const ById *) b)->id;

	return x < y ? -1 : x > y;
}

/* Sorted ids; false when one is there twice. */
static ById *
sorted_ids(Scan *s, uint32_t n, uint64_t (*id_of) (const Scan *s, uint32_t i),
		   const char *what)
{
	ById	   *ids = array_of(s, n, sizeof(ById));

	if (ids == NULL)
	{
		scan_fail(s->err, 0, 0, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++)
	{
		ids[i].id = id_of(s, i);
		ids[i].index = i;
	}
	qsort(ids, n, sizeof(ById), compare_ids);
	for (uint32_t i = 1; i < n; i++)
		if (ids[i].id == ids[i - 1].id)
		{
			scan_fail(s->err, 0, 0, "two %ss have the id %llu", what,
					  (unsigned long long) ids[i].id);
			return NULL;
		}
	return ids;
}

static bool
find_id(const ById *ids, uint32_t n, uint64_t id, uint32_t *index)
{
	uint32_t	lo = 0,
				hi = n;

	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;

		if (ids[mid].id == id)
		{
			*index = ids[mid].index;
			return true;
		}
		if (ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static uint64_t
location_id(const Scan *s, uint32_t i)
{
	return s->p->locations[i].id;
}

static uint64_t
function_id(const Scan *s, uint32_t i)
{
	return s->p->functions[i].id;
}

/* Ids to indexes: each sample's locations, each line's function. */
static bool
resolve_ids(Scan *s)
{
	PprofProfile *p = s->p;
	ById	   *locations = sorted_ids(s, p->nlocations, location_id, "location");
	ById	   *functions = sorted_ids(s, p->nfunctions, function_id, "function");

	if (locations == NULL || functions == NULL)
		return false;
	for (uint32_t i = 0; i < p->nsamples; i++)
	{
		PprofSample *sample = &p->samples[i];

		for (uint32_t j = 0; j < sample->nlocations; j++)
		{
			uint32_t	k = sample->first_location + j;

			if (!find_id(locations, p->nlocations, s->location_refs[k],
						 &p->sample_locations[k]))
				return scan_fail(s->err, sample->offset, 0,
								 "sample %u names location %llu, which is not defined",
								 i + 1, (unsigned long long) s->location_refs[k]);
		}
	}
	for (uint32_t i = 0; i < p->nlocations; i++)
	{
		PprofLocation *loc = &p->locations[i];

		for (uint32_t j = 0; j < loc->nlines; j++)
		{
			uint32_t	k = loc->first_line + j;

			if (!find_id(functions, p->nfunctions, s->function_refs[k],
						 &p->lines[k].function))
				return scan_fail(s->err, 0, 0,
								 "location %llu names function %llu, which is not defined",
								 (unsigned long long) loc->id,
								 (unsigned long long) s->function_refs[k]);
		}
	}
	return true;
}

bool
pprof_scan(const uint8_t *data, size_t len, const ScanAlloc *alloc,
		   PprofProfile *out, ScanError *err)
{
	Scan		s;
	size_t		nrefs = 0,
				nvalues = 0,
				nlines = 0;

	memset(&s, 0, sizeof(s));
	memset(out, 0, sizeof(*out));
	s.data = data;
	s.len = len;
	s.alloc = alloc;
	s.p = out;
	s.err = err;

	if (!count_entries(&s, &nrefs, &nvalues, &nlines))
		return false;
	out->sample_types = array_of(&s, out->nsample_types, sizeof(PprofValueType));
	out->samples = array_of(&s, out->nsamples, sizeof(PprofSample));
	out->sample_locations = array_of(&s, nrefs, sizeof(uint32_t));
	out->values = array_of(&s, nvalues, sizeof(int64_t));
	out->locations = array_of(&s, out->nlocations, sizeof(PprofLocation));
	out->lines = array_of(&s, nlines, sizeof(PprofLine));
	out->functions = array_of(&s, out->nfunctions, sizeof(PprofFunction));
	out->strings = array_of(&s, out->nstrings, sizeof(PprofString));
	s.location_refs = array_of(&s, nrefs, sizeof(uint64_t));
	s.function_refs = array_of(&s, nlines, sizeof(uint64_t));
	if (!out->sample_types || !out->samples || !out->sample_locations ||
		!out->values || !out->locations || !out->lines || !out->functions ||
		!out->strings || !s.location_refs || !s.function_refs)
		return scan_fail(err, 0, 0, "out of memory");

	return read_strings(&s) && read_messages(&s) && resolve_ids(&s);
}
