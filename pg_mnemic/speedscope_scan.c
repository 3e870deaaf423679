/*
 * speedscope_scan.c
 *	  Following the events of a JSON parser through a speedscope file
 *	  (speedscope_scan.h); speedscope_build.c builds the file from the
 *	  values found.
 *
 * The scanner keeps a stack of the containers it is in (contexts) and the
 * key whose value comes next; a value of a key it does not know is passed
 * over by counting the depth of its containers.  Keys may come in any
 * order, so a frame, an event or a profile is checked when its object
 * ends, and frame indexes once the whole file is read (shared.frames may
 * come last).  After the first problem every event is ignored.
 *
 * Plain C, no PostgreSQL headers.
 */
#include "speedscope_build.h"

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

/* A value as the parser hands it over. */
typedef struct Value
{
	bool		object;			/* the start of an object */
	bool		array;			/* the start of an array */
	int			kind;			/* else a scalar: SpeedscopeScalar */
	const char *text;
	int			line;
} Value;

static bool
is(const Value *v, SpeedscopeScalar kind)
{
	return !v->object && !v->array && v->kind == (int) kind;
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

static void
push(SpeedscopeScan *s, int ctx, int line)
{
	/* the deepest place, a sample's frames, is five levels down */
	if (s->depth == SPEEDSCOPE_MAX_CONTEXTS)
	{
		ss_fail(s, line, "nested too deep");
		return;
	}
	s->seen[s->depth] = 0;
	s->contexts[s->depth++] = ctx;
}

/* The name of a key, for a message. */
static const char *
key_name(int ctx, int key)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].context == ctx && keys[i].key == key)
			return keys[i].name;
	return "?";
}

/* A copy of a string value into *out. */
static void
keep_string(SpeedscopeScan *s, const Value *v, char **out)
{
	if ((*out = scan_strdup(s->alloc, v->text, strlen(v->text))) == NULL)
		ss_fail(s, v->line, "out of memory");
}

/* The value of "shared" or "profiles" (in the file) or "frames". */
static void
file_value(SpeedscopeScan *s, int ctx, int key, const Value *v)
{
	if (key == KEY_SHARED && !v->object)
		ss_fail(s, v->line, "\"shared\" is not an object");
	else if (key != KEY_SHARED && !v->array)
		ss_fail(s, v->line, "\"%s\" is not an array", key_name(ctx, key));
	else
		push(s, key == KEY_SHARED ? CTX_SHARED :
			 key == KEY_FRAMES ? CTX_FRAMES : CTX_PROFILES, v->line);
}

static void
frame_value(SpeedscopeScan *s, int key, const Value *v)
{
	double		line;

	if (key == KEY_LINE)
	{
		if (!is(v, SPEEDSCOPE_NUMBER))
			ss_fail(s, v->line, "a frame's \"line\" is not a number");
		else if (ss_number(s, v->text, &line, v->line))
			s->frame.line = line >= 1 && line <= INT32_MAX ? (int32_t) line : 0;
	}
	else if (!is(v, SPEEDSCOPE_STRING))
		ss_fail(s, v->line, "a frame's \"%s\" is not a string",
				key == KEY_NAME ? "name" : "file");
	else
		keep_string(s, v, key == KEY_NAME ? &s->frame.name : &s->frame.file);
}

static void
profile_value(SpeedscopeScan *s, int key, const Value *v)
{
	SpeedscopeProfile *p = ss_profile(s);

	switch (key)
	{
		case KEY_SAMPLES:
		case KEY_WEIGHTS:
		case KEY_EVENTS:
			if (!v->array)
				ss_fail(s, v->line, "\"%s\" is not an array", key_name(CTX_PROFILE, key));
			else if (key != KEY_SAMPLES || ss_begin_samples(s, v->line))
				push(s, key == KEY_SAMPLES ? CTX_SAMPLES :
					 key == KEY_WEIGHTS ? CTX_WEIGHTS : CTX_EVENTS, v->line);
			return;
		case KEY_START:
		case KEY_END:
			if (!is(v, SPEEDSCOPE_NUMBER))
				ss_fail(s, v->line, "\"%s\" is not a number", key_name(CTX_PROFILE, key));
			else
				ss_number(s, v->text, key == KEY_START ? &p->start_value :
						  &p->end_value, v->line);
			return;
		case KEY_NAME:
			if (is(v, SPEEDSCOPE_STRING))
				keep_string(s, v, &p->name);
			else if (!is(v, SPEEDSCOPE_NULL))
				ss_fail(s, v->line, "a profile's \"name\" is not a string");
			return;
		case KEY_TYPE:
			if (!is(v, SPEEDSCOPE_STRING) ||
				(strcmp(v->text, "sampled") != 0 && strcmp(v->text, "evented") != 0))
				ss_fail(s, v->line, "a profile's \"type\" is neither \"sampled\" nor \"evented\"");
			else
			{
				p->evented = strcmp(v->text, "evented") == 0;
				s->profile_has_type = true;
			}
			return;
		case KEY_UNIT:
			for (int u = 0; is(v, SPEEDSCOPE_STRING) && u <= SPEEDSCOPE_BYTES; u++)
				if (strcmp(v->text, unit_names[u]) == 0)
				{
					p->unit = (SpeedscopeUnit) u;
					s->profile_has_unit = true;
					return;
				}
			ss_fail(s, v->line, "a profile's \"unit\" is not one of none, nanoseconds, microseconds, milliseconds, seconds, bytes");
			return;
	}
}

static void
event_value(SpeedscopeScan *s, int key, const Value *v)
{
	if (key == KEY_TYPE)
	{
		if (!is(v, SPEEDSCOPE_STRING) ||
			(strcmp(v->text, "O") != 0 && strcmp(v->text, "C") != 0))
			ss_fail(s, v->line, "an event's \"type\" is neither \"O\" nor \"C\"");
		else
		{
			s->event.open = strcmp(v->text, "O") == 0;
			s->event_has_type = true;
		}
	}
	else if (!is(v, SPEEDSCOPE_NUMBER))
		ss_fail(s, v->line, "an event's \"%s\" is not a number",
				key_name(CTX_EVENT, key));
	else if (key == KEY_AT)
		s->event_has_at = ss_number(s, v->text, &s->event.at, v->line);
	else
		s->event_has_frame = ss_frame_index(s, v->text, &s->event.frame, v->line);
}

/*
 * An element of an array of the file: what it must be, and the context it
 * opens.
 */
static void
element_value(SpeedscopeScan *s, int ctx, const Value *v)
{
	switch (ctx)
	{
		case CTX_FRAMES:
			if (!v->object)
				ss_fail(s, v->line, "a frame is not an object");
			else
			{
				memset(&s->frame, 0, sizeof(s->frame));
				push(s, CTX_FRAME, v->line);
			}
			break;
		case CTX_PROFILES:
			if (!v->object)
				ss_fail(s, v->line, "a profile is not an object");
			else if (ss_begin_profile(s, v->line))
				push(s, CTX_PROFILE, v->line);
			break;
		case CTX_SAMPLES:
			if (!v->array)
				ss_fail(s, v->line, "a sample is not an array of frame indexes");
			else if (ss_begin_sample(s, v->line))
				push(s, CTX_STACK, v->line);
			break;
		case CTX_STACK:
			if (!is(v, SPEEDSCOPE_NUMBER))
				ss_fail(s, v->line, "a sample holds something other than frame indexes");
			else
				ss_add_sample_frame(s, v->text, v->line);
			break;
		case CTX_WEIGHTS:
			if (!is(v, SPEEDSCOPE_NUMBER))
				ss_fail(s, v->line, "a weight is not a number");
			else
				ss_add_weight(s, v->text, v->line);
			break;
		case CTX_EVENTS:
			if (!v->object)
				ss_fail(s, v->line, "an event is not an object");
			else
			{
				memset(&s->event, 0, sizeof(s->event));
				s->event_line = v->line;
				s->event_has_type = s->event_has_at = s->event_has_frame = false;
				push(s, CTX_EVENT, v->line);
			}
			break;
	}
}

/* The start of a value: of the pending key, or an element of an array. */
static void
value(SpeedscopeScan *s, const Value *v)
{
	int			ctx = context(s);
	int			key = s->field;

	s->field = KEY_OTHER;
	if (s->failed)
		return;
	if (s->skip > 0)
	{
		if (v->object || v->array)
			s->skip++;
		return;
	}
	if (ctx == CTX_TOP && !v->object)
		ss_fail(s, v->line, "the file is not a JSON object");
	else if (ctx == CTX_TOP)
		push(s, CTX_FILE, v->line);
	else if (ctx == CTX_END)
		ss_fail(s, v->line, "more after the file's object");
	else if (ctx == CTX_FILE || ctx == CTX_SHARED || ctx == CTX_FRAME ||
			 ctx == CTX_PROFILE || ctx == CTX_EVENT)
	{
		/* in an object: a key of no interest, or a null frame field */
		if (key == KEY_OTHER || (ctx == CTX_FRAME && is(v, SPEEDSCOPE_NULL)))
			s->skip = v->object || v->array ? 1 : 0;
		else if (ctx == CTX_FRAME)
			frame_value(s, key, v);
		else if (ctx == CTX_PROFILE)
			profile_value(s, key, v);
		else if (ctx == CTX_EVENT)
			event_value(s, key, v);
		else
			file_value(s, ctx, key, v);
	}
	else
		element_value(s, ctx, v);
}

void
speedscope_object_start(SpeedscopeScan *s, int line)
{
	Value		v = {true, false, 0, NULL, line};

	value(s, &v);
}

void
speedscope_array_start(SpeedscopeScan *s, int line)
{
	Value		v = {false, true, 0, NULL, line};

	value(s, &v);
}

void
speedscope_scalar(SpeedscopeScan *s, SpeedscopeScalar kind, const char *text,
				  int line)
{
	Value		v = {false, false, (int) kind, text, line};

	value(s, &v);
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
				ss_fail(s, line, "the key \"%s\" is there twice", keys[i].name);
				return;
			}
			s->seen[s->depth - 1] |= bit;
			s->field = keys[i].key;
			return;
		}
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
			ss_add_frame(s, line);
			break;
		case CTX_STACK:
			ss_end_sample(s);
			break;
		case CTX_EVENT:
			ss_add_event(s, line);
			break;
		case CTX_PROFILE:
			ss_end_profile(s);
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
	if (!s->failed && context(s) != CTX_END)
		ss_fail(s, 0, "the file is not a JSON object");
	if (!s->failed)
		ss_check_frames(s);
	if (s->failed)
	{
		*err = s->err;
		return false;
	}
	*out = s->file;
	return true;
}
