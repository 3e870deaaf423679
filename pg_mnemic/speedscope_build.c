/*
 * speedscope_build.c
 *	  Building a speedscope file from the values the scanner finds, with
 *	  the checks of speedscope's importer (speedscope_build.h): as many
 *	  weights as samples, no negative weight, events in order of "at", each
 *	  close event closing the frame opened last, nothing left open, frame
 *	  indexes into shared.frames.
 *
 * Plain C, no PostgreSQL headers.
 */
#include "speedscope_build.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ss_fail(SpeedscopeScan *s, int line, const char *fmt,...)
{
	va_list		ap;

	if (s->failed)
		return;
	s->failed = true;
	s->err.offset = 0;
	s->err.line = line;
	va_start(ap, fmt);
	vsnprintf(s->err.message, sizeof(s->err.message), fmt, ap);
	va_end(ap);
}

/* Grow an array by one entry, or record that memory ran out. */
static bool
grow(SpeedscopeScan *s, void **array, size_t size, size_t n, size_t *cap,
	 int line)
{
	if (scan_grow(s->alloc, array, size, n, cap))
		return true;
	ss_fail(s, line, "out of memory");
	return false;
}

bool
ss_number(SpeedscopeScan *s, const char *text, double *v, int line)
{
	char	   *end;

	*v = strtod(text, &end);
	if (*end != '\0' || !isfinite(*v))
	{
		ss_fail(s, line, "the number %s is out of range", text);
		return false;
	}
	return true;
}

bool
ss_frame_index(SpeedscopeScan *s, const char *text, uint32_t *index, int line)
{
	double		v;

	if (!ss_number(s, text, &v, line))
		return false;
	if (!(v >= 0 && v < 4294967295.0) || v != (double) (uint32_t) v)
	{
		ss_fail(s, line, "frame %s is not an index into shared.frames", text);
		return false;
	}
	*index = (uint32_t) v;
	return true;
}

SpeedscopeProfile *
ss_profile(SpeedscopeScan *s)
{
	return &s->file.profiles[s->file.nprofiles - 1];
}

void
ss_add_frame(SpeedscopeScan *s, int line)
{
	if (s->frame.name == NULL)
		ss_fail(s, line, "a frame has no \"name\"");
	else if (grow(s, (void **) &s->file.frames, sizeof(SpeedscopeFrame),
				  s->file.nframes, &s->file.frames_cap, line))
		s->file.frames[s->file.nframes++] = s->frame;
}

bool
ss_begin_profile(SpeedscopeScan *s, int line)
{
	if (!grow(s, (void **) &s->file.profiles, sizeof(SpeedscopeProfile),
			  s->file.nprofiles, &s->file.profiles_cap, line))
		return false;
	memset(&s->file.profiles[s->file.nprofiles++], 0, sizeof(SpeedscopeProfile));
	ss_profile(s)->line = line;
	s->profile_has_type = s->profile_has_unit = false;
	s->nopen = 0;
	return true;
}

void
ss_end_profile(SpeedscopeScan *s)
{
	SpeedscopeProfile *p = ss_profile(s);

	if (!s->profile_has_type)
		ss_fail(s, p->line, "a profile has no \"type\"");
	else if (!s->profile_has_unit)
		ss_fail(s, p->line, "a profile has no \"unit\"");
	else if (p->evented && s->nopen > 0)
		ss_fail(s, p->line, "an evented profile ends with frames still open");
	else if (!p->evented && p->starts == NULL)
		ss_fail(s, p->line, "a sampled profile has no \"samples\"");
	else if (!p->evented && p->nsamples != p->nweights)
		ss_fail(s, p->line, "a sampled profile has not as many weights as samples");
}

/* starts and sample_lines both hold samples_cap entries. */
bool
ss_begin_samples(SpeedscopeScan *s, int line)
{
	SpeedscopeProfile *p = ss_profile(s);
	size_t		cap = 0;

	if (!grow(s, (void **) &p->starts, sizeof(size_t), 0, &cap, line) ||
		!grow(s, (void **) &p->sample_lines, sizeof(int), 0, &p->samples_cap, line))
		return false;
	p->starts[0] = 0;
	return true;
}

bool
ss_begin_sample(SpeedscopeScan *s, int line)
{
	SpeedscopeProfile *p = ss_profile(s);
	size_t		cap = p->samples_cap;

	/* room for starts[nsamples + 1] */
	if (!grow(s, (void **) &p->starts, sizeof(size_t), p->nsamples + 1, &cap, line) ||
		!grow(s, (void **) &p->sample_lines, sizeof(int), p->nsamples + 1,
			  &p->samples_cap, line))
		return false;
	p->sample_lines[p->nsamples] = line;
	return true;
}

void
ss_add_sample_frame(SpeedscopeScan *s, const char *text, int line)
{
	SpeedscopeProfile *p = ss_profile(s);
	uint32_t	index;

	if (ss_frame_index(s, text, &index, line) &&
		grow(s, (void **) &p->frames, sizeof(uint32_t), p->nframes,
			 &p->frames_cap, line))
		p->frames[p->nframes++] = index;
}

void
ss_end_sample(SpeedscopeScan *s)
{
	SpeedscopeProfile *p = ss_profile(s);

	p->starts[++p->nsamples] = p->nframes;
}

void
ss_add_weight(SpeedscopeScan *s, const char *text, int line)
{
	SpeedscopeProfile *p = ss_profile(s);
	double		v;

	if (!ss_number(s, text, &v, line))
		return;
	if (v < 0)
		ss_fail(s, line, "the weight %s is negative", text);
	else if (grow(s, (void **) &p->weights, sizeof(double), p->nweights,
				  &p->weights_cap, line))
		p->weights[p->nweights++] = v;
}

void
ss_add_event(SpeedscopeScan *s, int line)
{
	SpeedscopeProfile *p = ss_profile(s);
	size_t		cap = p->events_cap;

	if (!s->event_has_type || !s->event_has_at || !s->event_has_frame)
	{
		ss_fail(s, s->event_line, "an event lacks \"type\", \"at\" or \"frame\"");
		return;
	}
	if (p->nevents > 0 && s->event.at < p->events[p->nevents - 1].at)
	{
		ss_fail(s, s->event_line,
				"an event comes before the one above it (\"at\" decreases)");
		return;
	}
	if (s->event.open)
	{
		if (!grow(s, (void **) &s->open, sizeof(uint32_t), s->nopen,
				  &s->open_cap, line))
			return;
		s->open[s->nopen++] = s->event.frame;
	}
	else if (s->nopen == 0)
	{
		ss_fail(s, s->event_line, "an event closes a frame when none is open");
		return;
	}
	else if (s->open[s->nopen - 1] != s->event.frame)
	{
		ss_fail(s, s->event_line,
				"an event closes a frame other than the one opened last");
		return;
	}
	else
		s->nopen--;

	/* events and event_lines both hold events_cap entries */
	if (!grow(s, (void **) &p->events, sizeof(SpeedscopeEvent), p->nevents,
			  &cap, line) ||
		!grow(s, (void **) &p->event_lines, sizeof(int), p->nevents,
			  &p->events_cap, line))
		return;
	p->event_lines[p->nevents] = s->event_line;
	p->events[p->nevents++] = s->event;
}

void
ss_check_frames(SpeedscopeScan *s)
{
	const SpeedscopeFile *f = &s->file;

	for (size_t i = 0; i < f->nprofiles && !s->failed; i++)
	{
		const SpeedscopeProfile *p = &f->profiles[i];

		for (size_t j = 0; j < p->nsamples && !s->failed; j++)
			for (size_t k = p->starts[j]; k < p->starts[j + 1]; k++)
				if (p->frames[k] >= f->nframes)
				{
					ss_fail(s, p->sample_lines[j],
							"a sample names a frame that shared.frames does not have");
					break;
				}
		for (size_t j = 0; j < p->nevents && !s->failed; j++)
			if (p->events[j].frame >= f->nframes)
				ss_fail(s, p->event_lines[j],
						"an event names a frame that shared.frames does not have");
	}
}
