/*
 * format_speedscope.c
 *	  speedscope's JSON file format (speedscope's src/lib/file-format-spec.ts):
 *	  shared frames and a list of sampled or evented profiles.
 *	  speedscope_json.c and speedscope_scan.c read the JSON.
 *
 * An import makes each profile a thread, named by the profile's name
 * ("profile N" when it has none), and reads its values by its unit:
 *   - a time (nanoseconds to seconds): stack samples of that length on CPU,
 *	   as speedscope does not say whether time was on CPU.  A sampled
 *	   profile's samples follow each other from its startValue; an evented
 *	   profile's stack between two events is a sample of that length at the
 *	   first.  Times start at the import's start, at the earliest
 *	   startValue of the file, so profiles keep their place in time to each
 *	   other;
 *   - none: weights count samples, each of 10 ms, one after another;
 *   - bytes: weights are sampled allocations of that many bytes, of
 *	   unknown type.
 * A frame's name, file and line are its function, file and first line; the
 * format has no executing line.
 *
 * An export writes one sampled profile of the window's paths, named after
 * the tracer, weights in microseconds (cpu, wall), none (samples) or bytes
 * (alloc, inuse), frames with the function, file and first line of each
 * frame; the file's name says the tracer, run and weight.
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/json.h"

#include "profile_formats.h"
#include "speedscope_scan.h"

#define NONE_SAMPLE_US	10000

/* µs in one unit of a time unit; 0 for none and bytes. */
static double
unit_us(SpeedscopeUnit unit)
{
	switch (unit)
	{
		case SPEEDSCOPE_NANOSECONDS:
			return 0.001;
		case SPEEDSCOPE_MICROSECONDS:
			return 1;
		case SPEEDSCOPE_MILLISECONDS:
			return 1000;
		case SPEEDSCOPE_SECONDS:
			return 1000000;
		default:
			return 0;
	}
}

typedef struct SpeedscopeImport
{
	ProfileImport *pi;
	SpeedscopeFile file;
	uint32	   *frame_ids;		/* per frame of the file, 0 not yet */
	TimestampTz epoch;
	double		origin_us;		/* the earliest startValue, in µs */
	/* the profile being read */
	int			index;
	const SpeedscopeProfile *p;
	uint32		thread;
	int64		counted;		/* unit none: samples so far */
} SpeedscopeImport;

static uint32
frame_id(SpeedscopeImport *si, uint32 f)
{
	if (si->frame_ids[f] == 0)
	{
		const SpeedscopeFrame *frame = &si->file.frames[f];

		si->frame_ids[f] = ProfileImportFrame(si->pi, frame->name,
											  frame->file ? frame->file : "",
											  frame->line, IMPORT_FRAME_PYTHON);
	}
	return si->frame_ids[f];
}

static void
value_error(int line, double value)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("speedscope profile, line %d: the value %g is out of range",
					line, value)));
}

/*
 * What weight stands for, of stack, at position at (in the profile's
 * unit): a stack sample or an allocation.
 */
static void
add_weight(SpeedscopeImport *si, uint32 stack, double at, double weight,
		   int line)
{
	double		us_per_unit = unit_us(si->p->unit);
	double		n;

	if (weight <= 0)
		return;					/* speedscope passes over zero weights */
	if (si->p->unit == SPEEDSCOPE_BYTES)
	{
		if (weight >= 9e18)
			value_error(line, weight);
		ProfileImportAlloc(si->pi, si->thread, si->epoch, stack, 0,
						   (int64) rint(weight));
	}
	else if (si->p->unit == SPEEDSCOPE_NONE)
	{
		n = rint(weight);
		if (n > PG_INT32_MAX || n * NONE_SAMPLE_US > (double) PROFILE_MAX_SAMPLE_US)
			value_error(line, weight);
		if (n == 0)
			return;
		ProfileImportSample(si->pi, si->thread,
							ProfileTimeAfter(si->epoch, si->counted * NONE_SAMPLE_US),
							stack, (int32) n, (int64) n * NONE_SAMPLE_US, true, 0);
		si->counted += (int64) n;
	}
	else
	{
		double		offset = rint(at * us_per_unit - si->origin_us);
		double		wall = rint(weight * us_per_unit);

		if (fabs(offset) >= 9e18)
			value_error(line, at);
		if (wall > (double) PROFILE_MAX_SAMPLE_US)
			value_error(line, weight);
		if (wall == 0)
			return;
		ProfileImportSample(si->pi, si->thread,
							ProfileTimeAfter(si->epoch, (int64) offset),
							stack, 1, (int64) wall, true, 0);
	}
}

static void
read_sampled(SpeedscopeImport *si)
{
	const SpeedscopeProfile *p = si->p;
	double		at = p->start_value;

	for (size_t j = 0; j < p->nsamples; j++)
	{
		uint32		stack = 0;

		for (size_t k = p->starts[j]; k < p->starts[j + 1]; k++)
			stack = ProfileImportStack(si->pi, stack, frame_id(si, p->frames[k]), 0);
		add_weight(si, stack, at, p->weights[j], p->sample_lines[j]);
		at += p->weights[j];
	}
}

/* Between two events, the frames open then are a sample of that length. */
static void
read_evented(SpeedscopeImport *si)
{
	const SpeedscopeProfile *p = si->p;
	uint32	   *stacks = palloc(sizeof(uint32) * (p->nevents + 1));
	size_t		depth = 0;

	stacks[0] = 0;
	for (size_t j = 0; j < p->nevents; j++)
	{
		const SpeedscopeEvent *e = &p->events[j];

		if (j > 0 && depth > 0)
			add_weight(si, stacks[depth], p->events[j - 1].at,
					   e->at - p->events[j - 1].at, p->event_lines[j]);
		if (e->open)
		{
			stacks[depth + 1] = ProfileImportStack(si->pi, stacks[depth],
												   frame_id(si, e->frame), 0);
			depth++;
		}
		else
			depth--;			/* the scanner checked it matches */
	}
	pfree(stacks);
}

void
ReadSpeedscope(ProfileImport *pi, const char *data, size_t len)
{
	SpeedscopeImport si;
	ScanError	err;
	bool		any_time = false;

	memset(&si, 0, sizeof(si));
	si.pi = pi;
	if (!speedscope_parse(data, len, &ProfileScanAlloc, &si.file, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 err.line > 0 ?
				 errmsg("speedscope profile, line %d: %s", err.line, err.message) :
				 errmsg("speedscope profile: %s", err.message)));
	si.frame_ids = palloc0(sizeof(uint32) * (si.file.nframes + 1));
	si.epoch = ProfileImportEpoch();

	for (size_t i = 0; i < si.file.nprofiles; i++)
	{
		const SpeedscopeProfile *p = &si.file.profiles[i];
		double		start = p->start_value * unit_us(p->unit);

		if (unit_us(p->unit) > 0 && (!any_time || start < si.origin_us))
		{
			si.origin_us = start;
			any_time = true;
		}
	}

	for (size_t i = 0; i < si.file.nprofiles; i++)
	{
		char	   *name;

		si.p = &si.file.profiles[i];
		si.index = (int) i + 1;
		name = si.p->name != NULL && si.p->name[0] != '\0' ? si.p->name :
			psprintf("profile %d", si.index);
		si.thread = ProfileImportThread(pi, name);
		si.counted = 0;
		if (si.p->evented)
			read_evented(&si);
		else
			read_sampled(&si);
	}
}

/* ,"key":"text" with text escaped */
static void
append_string_field(StringInfo out, const char *key, const char *text)
{
	appendStringInfo(out, ",\"%s\":", key);
	escape_json(out, text);
}

bytea *
WriteSpeedscope(const ProfileExport *ex)
{
	StringInfoData out;
	StringInfoData frames;
	StringInfoData samples;
	StringInfoData weights;
	HASHCTL		ctl;
	HTAB	   *index;
	int64		nframes = 0;
	int64		total = 0;
	int			nsamples = 0;
	char	   *name;
	bytea	   *result;
	typedef struct
	{
		int32		frame;
		int64		index;
	}			FrameIndex;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(FrameIndex);
	ctl.hcxt = CurrentMemoryContext;
	index = hash_create("mnemic speedscope frames", 256, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	initStringInfo(&frames);
	initStringInfo(&samples);
	initStringInfo(&weights);

	for (int i = 0; i < ex->paths.n; i++)
	{
		const ProfilePath *p = &ex->paths.paths[i];

		if (ex->values[i] == 0)
			continue;
		appendStringInfoString(&samples, nsamples > 0 ? ",[" : "[");
		for (int d = 0; d < p->depth; d++)
		{
			bool		found;
			FrameIndex *e = hash_search(index, &p->frames[d], HASH_ENTER, &found);

			if (!found)
			{
				ProfileFrameInfo *f = ProfileFrameInfoOf(ex->frames, p->frames[d]);

				e->index = nframes++;
				appendStringInfoString(&frames, e->index > 0 ? ",{\"name\":" : "{\"name\":");
				escape_json(&frames, f->function);
				if (f->file[0] != '\0')
					append_string_field(&frames, "file", f->file);
				if (f->line > 0)
					appendStringInfo(&frames, ",\"line\":%d", f->line);
				appendStringInfoChar(&frames, '}');
			}
			appendStringInfo(&samples, d > 0 ? "," INT64_FORMAT : INT64_FORMAT,
							 e->index);
		}
		appendStringInfoChar(&samples, ']');
		appendStringInfo(&weights, nsamples > 0 ? "," INT64_FORMAT : INT64_FORMAT,
						 ex->values[i]);
		total += ex->values[i];
		nsamples++;
	}

	name = psprintf("%s %s (%s)", ex->tracer != NULL ? ex->tracer : "run",
					ex->run, ex->weight_name);
	initStringInfo(&out);
	appendStringInfoString(&out,
						   "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\"");
	append_string_field(&out, "exporter", "mnemic@" MNEMIC_EXT_VERSION);
	append_string_field(&out, "name", name);
	appendStringInfo(&out, ",\"activeProfileIndex\":0,\"shared\":{\"frames\":[%s]}",
					 frames.data);
	appendStringInfoString(&out, ",\"profiles\":[{\"type\":\"sampled\"");
	append_string_field(&out, "name", ex->tracer != NULL ? ex->tracer : ex->run);
	append_string_field(&out, "unit",
						strcmp(ex->unit, "samples") == 0 ? "none" : ex->unit);
	appendStringInfo(&out, ",\"startValue\":0,\"endValue\":" INT64_FORMAT
					 ",\"samples\":[%s],\"weights\":[%s]}]}\n",
					 total, samples.data, weights.data);

	result = (bytea *) palloc(VARHDRSZ + out.len);
	SET_VARSIZE(result, VARHDRSZ + out.len);
	memcpy(VARDATA(result), out.data, out.len);
	return result;
}
