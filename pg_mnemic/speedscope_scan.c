/*
 * speedscope_scan.c
 *	  From the events of a JSON parser to a speedscope file
 *	  (speedscope_scan.h).
 *
 * The scanner keeps a stack of the containers it is in (contexts) and the
 * key whose value comes next; a value of a key it does not know is passed
 * over by counting the depth of its containers.  Keys may come in any
 * order, so what a value means is settled when its object ends, and frame
 * indexes once the whole file is read (shared.frames may come last).  The
 * checks are those of speedscope's importer: as many weights as samples,
 * no negative weight, events in order of "at", each close event closing
 * the frame opened last, nothing left open.  After the first problem every
 * event is ignored.
 *
 * Plain C, no PostgreSQL headers.
 */
#include "speedscope_scan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the scanner is. */
enum
{
	CTX_TOP,					/* before the file's object */
	CTX_FILE,
	CTX_SHARED,
	CTX_FRAMES,
	CTX_FRAME,
	CTX_PROFILES,
	CTX_PROFILE,
	CTX_SAMPLES,
	CTX_STACK,
	CTX_WEIGHTS,
	CTX_EVENTS,
	CTX_EVENT,
	CTX_END						/* after the file's object */
};

/* The keys that mean something; each a bit of SpeedscopeScan.seen. */
enum
{
	KEY_OTHER,
	KEY_SHARED,
	KEY_PROFILES,
	KEY_FRAMES,
	KEY_NAME,
	KEY_FILE,
	KEY_LINE,
	KEY_TYPE,
	KEY_UNIT,
	KEY_START,
	KEY_END,
	KEY_SAMPLES,
	KEY_WEIGHTS,
	KEY_EVENTS,
	KEY_AT,
	KEY_FRAME
};

static const struct
{
	int			context;
	const char *name;
	int			key;
}			keys[] = {
	{CTX_FILE, "shared", KEY_SHARED},
	{CTX_FILE, "profiles", KEY_PROFILES},
	{CTX_SHARED, "frames", KEY_FRAMES},
	{CTX_FRAME, "name", KEY_NAME},
	{CTX_FRAME, "file", KEY_FILE},
	{CTX_FRAME, "line", KEY_LINE},
	{CTX_PROFILE, "type", KEY_TYPE},
	{CTX_PROFILE, "name", KEY_NAME},
	{CTX_PROFILE, "unit", KEY_UNIT},
	{CTX_PROFILE, "startValue", KEY_START},
	{CTX_PROFILE, "endValue", KEY_END},
	{CTX_PROFILE, "samples", KEY_SAMPLES},
	{CTX_PROFILE, "weights", KEY_WEIGHTS},
	{CTX_PROFILE, "events", KEY_EVENTS},
	{CTX_EVENT, "type", KEY_TYPE},
	{CTX_EVENT, "at", KEY_AT},
	{CTX_EVENT, "frame", KEY_FRAME},
};

static const char *const unit_names[] = {
	[SPEEDSCOPE_NONE] = "none",
	[SPEEDSCOPE_NANOSECONDS] = "nanoseconds",
	[SPEEDSCOPE_MICROSECONDS] = "microseconds",
	[SPEEDSCOPE_MILLISECONDS] = "milliseconds",
	[SPEEDSCOPE_SECONDS] = "seconds",
	[SPEEDSCOPE_BYTES] = "bytes",
};

static void fail(SpeedscopeScan *s, int line, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* The first problem is kept; the scanner stops there. */
static void
fail(SpeedscopeScan *s, int line, const char *fmt,...)
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

static void
out_of_memory(SpeedscopeScan *s, int line)
{
	fail(s, line, "out of memory");
}

void
speedscope_scan_init(SpeedscopeScan *s, const ScanAlloc *alloc)
{
	memset(s, 0, sizeof(*s));
	s->alloc = alloc;
	s->contexts[0] = CTX_TOP;
	s->depth = 1;
}

static int
context(const SpeedscopeScan *s)
{
	return s->contexts[s->depth - 1];
}

static SpeedscopeProfile *
profile(SpeedscopeScan *s)
{
	return &s->file.profiles[s->file.nprofiles - 1];
}

static void
push(SpeedscopeScan *s, int ctx, int line)
{
	if (s->depth == SPEEDSCOPE_MAX_CONTEXTS)
	{
		fail(s, line, "%s", "nested too deep");	/* cannot be: see above */
		return;
	}
	s->seen[s->depth] = 0;
	s->contexts[s->depth++] = ctx;
}

/* The key's name for a message. */
static const char *
key_name(int ctx, int key)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].context == ctx && keys[i].key == key)
			return keys[i].name;
	return "?";
}

/* A number that must be finite; false (and an error) otherwise. */
static bool
number(SpeedscopeScan *s, const char *text, double *v, int line)
{
	char	   *end;

	*v = strtod(text, &end);
	if (*end != '\0' || !isfinite(*v))
	{
		fail(s, line, "the number %s is out of range", text);
		return false;
	}
	return true;
}

/* A frame index: a whole number from 0. */
static bool
frame_index(SpeedscopeScan *s, const char *text, uint32_t *index, int line)
{
	double		v;

	if (!number(s, text, &v, line))
		return false;
	if (!(v >= 0 && v < 4294967295.0) || v != (double) (uint32_t) v)
	{
		fail(s, line, "frame %s is not an index into shared.frames", text);
		return false;
	}
	*index = (uint32_t) v;
	return true;
}

/*
 * The start of a value (a container when kind < 0, else a scalar of that
 * kind): the value of the pending key, or an element of an array.
 */
static void
value_start(SpeedscopeScan *s, bool object, bool array, int kind,
			const char *text, int line)
{
	int			ctx = context(s);
	int			key = s->field;
	bool		string = !object && !array && kind == SPEEDSCOPE_STRING;
	bool		num = !object && !array && kind == SPEEDSCOPE_NUMBER;
	bool		null = !object && !array && kind == SPEEDSCOPE_NULL;
	double		v;

	s->field = KEY_OTHER;
	if (s->skip > 0)
	{
		if (object || array)
			s->skip++;
		return;
	}
	switch (ctx)
	{
		case CTX_TOP:
			if (!object)
				fail(s, line, "%s", "the file is not a JSON object");
			else
				push(s, CTX_FILE, line);
			return;
		case CTX_END:
			fail(s, line, "%s", "more after the file's object");
			return;
		case CTX_FILE:
		case CTX_SHARED:
			if (key == KEY_OTHER)
				break;
			if ((key == KEY_SHARED && !object) || (key != KEY_SHARED && !array))
			{
				fail(s, line, key == KEY_SHARED ? "\"%s\" is not an object" :
					 "\"%s\" is not an array", key_name(ctx, key));
				return;
			}
			push(s, key == KEY_SHARED ? CTX_SHARED :
				 key == KEY_FRAMES ? CTX_FRAMES : CTX_PROFILES, line);
			return;
		case CTX_FRAMES:
			if (!object)
			{
				fail(s, line, "%s", "a frame is not an object");
				return;
			}
			memset(&s->frame, 0, sizeof(s->frame));
			push(s, CTX_FRAME, line);
			return;
		case CTX_FRAME:
			if (key == KEY_OTHER || null)
				break;
			if (key == KEY_LINE)
			{
				if (!num)
					fail(s, line, "%s", "a frame's \"line\" is not a number");
				else if (number(s, text, &v, line))
					s->frame.line = v >= 1 && v <= INT32_MAX ? (int32_t) v : 0;
				return;
			}
			if (!string)
			{
				fail(s, line, "a frame's \"%s\" is not a string", key_name(ctx, key));
				return;
			}
			if (key == KEY_NAME)
				s->frame.name = scan_strdup(s->alloc, text, strlen(text));
			else
				s->frame.file = scan_strdup(s->alloc, text, strlen(text));
			if ((key == KEY_NAME ? s->frame.name : s->frame.file) == NULL)
				out_of_memory(s, line);
			return;
		case CTX_PROFILES:
			if (!object)
			{
				fail(s, line, "%s", "a profile is not an object");
				return;
			}
			if (!scan_grow(s->alloc, (void **) &s->file.profiles,
						   sizeof(SpeedscopeProfile), s->file.nprofiles,
						   &s->file.profiles_cap))
			{
				out_of_memory(s, line);
				return;
			}
			memset(&s->file.profiles[s->file.nprofiles++], 0, sizeof(SpeedscopeProfile));
			profile(s)->line = line;
			s->profile_has_type = s->profile_has_unit = false;
			s->nopen = 0;
			push(s, CTX_PROFILE, line);
			return;
		case CTX_PROFILE:
			{
				SpeedscopeProfile *p = profile(s);

				switch (key)
				{
					case KEY_OTHER:
						break;
					case KEY_SAMPLES:
					case KEY_WEIGHTS:
					case KEY_EVENTS:
						if (!array)
						{
							fail(s, line, "\"%s\" is not an array", key_name(ctx, key));
							return;
						}
						if (key == KEY_SAMPLES)
						{
							size_t		cap = 0;

							/* starts and sample_lines, samples_cap each */
							if (!scan_grow(s->alloc, (void **) &p->starts,
										   sizeof(size_t), 0, &cap) ||
								!scan_grow(s->alloc, (void **) &p->sample_lines,
										   sizeof(int), 0, &p->samples_cap))
							{
								out_of_memory(s, line);
								return;
							}
							p->starts[0] = 0;
						}
						push(s, key == KEY_SAMPLES ? CTX_SAMPLES :
							 key == KEY_WEIGHTS ? CTX_WEIGHTS : CTX_EVENTS, line);
						return;
					case KEY_START:
					case KEY_END:
						if (!num)
							fail(s, line, "\"%s\" is not a number", key_name(ctx, key));
						else if (number(s, text, &v, line))
							*(key == KEY_START ? &p->start_value : &p->end_value) = v;
						return;
					case KEY_NAME:
						if (null)
							return;
						if (!string)
							fail(s, line, "%s", "a profile's \"name\" is not a string");
						else if ((p->name = scan_strdup(s->alloc, text, strlen(text))) == NULL)
							out_of_memory(s, line);
						return;
					case KEY_TYPE:
						if (!string || (strcmp(text, "sampled") != 0 &&
										strcmp(text, "evented") != 0))
						{
							fail(s, line, "%s", "a profile's \"type\" is neither \"sampled\" nor \"evented\"");
							return;
						}
						p->evented = strcmp(text, "evented") == 0;
						s->profile_has_type = true;
						return;
					case KEY_UNIT:
						for (int u = 0; string && u <= SPEEDSCOPE_BYTES; u++)
							if (strcmp(text, unit_names[u]) == 0)
							{
								p->unit = (SpeedscopeUnit) u;
								s->profile_has_unit = true;
								return;
							}
						fail(s, line, "%s", "a profile's \"unit\" is not one of none, nanoseconds, microseconds, milliseconds, seconds, bytes");
						return;
				}
				break;
			}
		case CTX_SAMPLES:
			{
				SpeedscopeProfile *p = profile(s);

				if (!array)
				{
					fail(s, line, "%s", "a sample is not an array of frame indexes");
					return;
				}
				{
					size_t		cap = p->samples_cap;

					/* room for starts[nsamples + 1] */
					if (!scan_grow(s->alloc, (void **) &p->starts, sizeof(size_t),
								   p->nsamples + 1, &cap) ||
						!scan_grow(s->alloc, (void **) &p->sample_lines, sizeof(int),
								   p->nsamples + 1, &p->samples_cap))
					{
						out_of_memory(s, line);
						return;
					}
				}
				p->sample_lines[p->nsamples] = line;
				push(s, CTX_STACK, line);
				return;
			}
		case CTX_STACK:
			{
				SpeedscopeProfile *p = profile(s);
				uint32_t	index;

				if (!num)
					fail(s, line, "%s", "a sample holds something other than frame indexes");
				else if (frame_index(s, text, &index, line))
				{
					if (!scan_grow(s->alloc, (void **) &p->frames, sizeof(uint32_t),
								   p->nframes, &p->frames_cap))
						out_of_memory(s, line);
					else
						p->frames[p->nframes++] = index;
				}
				return;
			}
		case CTX_WEIGHTS:
			{
				SpeedscopeProfile *p = profile(s);

				if (!num)
					fail(s, line, "%s", "a weight is not a number");
				else if (number(s, text, &v, line))
				{
					if (v < 0)
						fail(s, line, "the weight %s is negative", text);
					else if (!scan_grow(s->alloc, (void **) &p->weights, sizeof(double),
										p->nweights, &p->weights_cap))
						out_of_memory(s, line);
					else
						p->weights[p->nweights++] = v;
				}
				return;
			}
		case CTX_EVENTS:
			if (!object)
			{
				fail(s, line, "%s", "an event is not an object");
				return;
			}
			memset(&s->event, 0, sizeof(s->event));
			s->event_line = line;
			s->event_has_type = s->event_has_at = s->event_has_frame = false;
			push(s, CTX_EVENT, line);
			return;
		case CTX_EVENT:
			if (key == KEY_OTHER)
				break;
			if (key == KEY_TYPE)
			{
				if (!string || (strcmp(text, "O") != 0 && strcmp(text, "C") != 0))
					fail(s, line, "%s", "an event's \"type\" is neither \"O\" nor \"C\"");
				s->event.open = string && strcmp(text, "O") == 0;
				s->event_has_type = true;
			}
			else if (!num)
				fail(s, line, "an event's \"%s\" is not a number", key_name(ctx, key));
			else if (key == KEY_AT)
				s->event_has_at = number(s, text, &s->event.at, line);
			else
				s->event_has_frame = frame_index(s, text, &s->event.frame, line);
			return;
	}
	/* a value of no interest */
	if (object || array)
		s->skip = 1;
}

void
speedscope_object_start(SpeedscopeScan *s, int line)
{
	if (!s->failed)
		value_start(s, true, false, -1, NULL, line);
}

void
speedscope_array_start(SpeedscopeScan *s, int line)
{
	if (!s->failed)
		value_start(s, false, true, -1, NULL, line);
}

void
speedscope_scalar(SpeedscopeScan *s, SpeedscopeScalar kind, const char *text,
				  int line)
{
	if (!s->failed)
		value_start(s, false, false, (int) kind, text, line);
}

void
speedscope_field(SpeedscopeScan *s, const char *name, int line)
{
	int			ctx = context(s);

	if (s->failed || s->skip > 0)
		return;
	s->field = KEY_OTHER;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].context == ctx && strcmp(keys[i].name, name) == 0)
		{
			unsigned	bit = 1u << keys[i].key;

			if (s->seen[s->depth - 1] & bit)
			{
				fail(s, line, "the key \"%s\" is there twice", keys[i].name);
				return;
			}
			s->seen[s->depth - 1] |= bit;
			s->field = keys[i].key;
			return;
		}
}

/* An event read whole: it must keep the profile's events in order. */
static void
end_event(SpeedscopeScan *s, int line)
{
	SpeedscopeProfile *p = profile(s);
	SpeedscopeEvent *last = p->nevents > 0 ? &p->events[p->nevents - 1] : NULL;

	if (!s->event_has_type || !s->event_has_at || !s->event_has_frame)
	{
		fail(s, s->event_line, "%s", "an event lacks \"type\", \"at\" or \"frame\"");
		return;
	}
	if (last != NULL && s->event.at < last->at)
	{
		fail(s, s->event_line, "%s", "an event comes before the one above it (\"at\" decreases)");
		return;
	}
	if (s->event.open)
	{
		if (!scan_grow(s->alloc, (void **) &s->open, sizeof(uint32_t),
					   s->nopen, &s->open_cap))
		{
			out_of_memory(s, line);
			return;
		}
		s->open[s->nopen++] = s->event.frame;
	}
	else if (s->nopen == 0 || s->open[s->nopen - 1] != s->event.frame)
	{
		fail(s, s->event_line, "%s", s->nopen == 0 ?
			 "an event closes a frame when none is open" :
			 "an event closes a frame other than the one opened last");
		return;
	}
	else
		s->nopen--;
	{
		size_t		cap = p->events_cap;

		if (!scan_grow(s->alloc, (void **) &p->events, sizeof(SpeedscopeEvent),
					   p->nevents, &cap) ||
			!scan_grow(s->alloc, (void **) &p->event_lines, sizeof(int),
					   p->nevents, &p->events_cap))
		{
			out_of_memory(s, line);
			return;
		}
	}
	p->event_lines[p->nevents] = s->event_line;
	p->events[p->nevents++] = s->event;
}

/* A profile read whole. */
static void
end_profile(SpeedscopeScan *s)
{
	SpeedscopeProfile *p = profile(s);

	if (!s->profile_has_type)
		fail(s, p->line, "%s", "a profile has no \"type\"");
	else if (!s->profile_has_unit)
		fail(s, p->line, "%s", "a profile has no \"unit\"");
	else if (p->evented && s->nopen > 0)
		fail(s, p->line, "%s", "an evented profile ends with frames still open");
	else if (!p->evented && p->nsamples != p->nweights)
		fail(s, p->line, "%s", "a sampled profile has not as many weights as samples");
}

static void
container_end(SpeedscopeScan *s, int line)
{
	int			ctx;

	if (s->failed)
		return;
	if (s->skip > 0)
	{
		s->skip--;
		return;
	}
	ctx = context(s);
	s->depth--;
	switch (ctx)
	{
		case CTX_FILE:
			s->contexts[0] = CTX_END;
			s->depth = 1;
			break;
		case CTX_FRAME:
			if (s->frame.name == NULL)
				fail(s, line, "%s", "a frame has no \"name\"");
			else if (!scan_grow(s->alloc, (void **) &s->file.frames,
								sizeof(SpeedscopeFrame), s->file.nframes,
								&s->file.frames_cap))
				out_of_memory(s, line);
			else
				s->file.frames[s->file.nframes++] = s->frame;
			break;
		case CTX_STACK:
			{
				SpeedscopeProfile *p = profile(s);

				p->starts[++p->nsamples] = p->nframes;
				break;
			}
		case CTX_EVENT:
			end_event(s, line);
			break;
		case CTX_PROFILE:
			end_profile(s);
			break;
	}
}

void
speedscope_object_end(SpeedscopeScan *s, int line)
{
	container_end(s, line);
}

void
speedscope_array_end(SpeedscopeScan *s, int line)
{
	container_end(s, line);
}

bool
speedscope_scan_finish(SpeedscopeScan *s, SpeedscopeFile *out, ScanError *err)
{
	SpeedscopeFile *f = &s->file;

	if (!s->failed && context(s) != CTX_END)
		fail(s, 0, "%s", "the file is not a JSON object");

	/* every frame index in range, now that the frames are known */
	for (size_t i = 0; i < f->nprofiles && !s->failed; i++)
	{
		SpeedscopeProfile *p = &f->profiles[i];

		if (!p->evented && p->nsamples == 0 && p->starts == NULL)
			fail(s, p->line, "%s", "a sampled profile has no \"samples\"");
		for (size_t j = 0; j < p->nsamples && !s->failed; j++)
			for (size_t k = p->starts[j]; k < p->starts[j + 1]; k++)
				if (p->frames[k] >= f->nframes)
				{
					fail(s, p->sample_lines[j], "%s", "a sample names a frame that shared.frames does not have");
					break;
				}
		for (size_t j = 0; j < p->nevents && !s->failed; j++)
			if (p->events[j].frame >= f->nframes)
				fail(s, p->event_lines[j], "%s", "an event names a frame that shared.frames does not have");
	}
	if (s->failed)
	{
		*err = s->err;
		return false;
	}
	*out = *f;
	return true;
}
