/*
 * intern.c
 *	  Interning frames and stacks, and the schedule of their definitions.
 *
 * A sample interns its stack from the outermost frame inwards: each frame
 * by (code, instruction offset), which gives its frame id and line in one
 * lookup once seen, then each (parent, frame, line) node.  A thread's
 * previous stack is kept (WalkCache): the frames it shares with the new
 * one from the outside in need no lookup at all, which is most of them
 * while a program runs in one place.
 *
 * All memory but the name dictionary comes from the C library, because the
 * allocation hooks intern from inside Python's allocators.
 */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

#include "wire.h"

int
intern_init(InternTables *t, int64_t repeat_interval_us)
{
	memset(t, 0, sizeof(*t));
	t->by_name = PyDict_New();
	if (t->by_name == NULL)
		return -1;
	t->repeat_interval_us = repeat_interval_us;
	t->open_frames = 1;
	t->open_stacks = 1;
	return 0;
}

/* Drop every reference and table; with the GIL held. */
void
intern_free(InternTables *t)
{
	uint32_t	i;

	for (i = 0; i < t->nframes; i++)
	{
		Py_XDECREF(t->frames[i].code);
		Py_XDECREF(t->frames[i].name);
	}
	free(t->frames);
	free(t->stacks);
	free(t->cohorts);
	keytable_free(&t->by_code);
	keytable_free(&t->by_position);
	keytable_free(&t->by_parent);
	Py_CLEAR(t->by_name);
	t->frames = NULL;
	t->stacks = NULL;
	t->cohorts = NULL;
	t->nframes = t->nstacks = 0;
	t->frames_cap = t->stacks_cap = 0;
	t->ncohorts = t->cohorts_cap = 0;
}

/* Room for one more element of an array of size each; -1 without memory. */
static int
reserve(void **array, uint32_t count, uint32_t *cap, size_t size)
{
	uint32_t	grown;
	void	   *p;

	if (count < *cap)
		return 0;
	grown = *cap == 0 ? 256 : *cap * 2;
	p = realloc(*array, (size_t) grown * size);
	if (p == NULL)
		return -1;
	*array = p;
	*cap = grown;
	return 0;
}

/* A new frame id for def (whose references the table now owns), or 0. */
static uint32_t
add_frame(InternTables *t, PyObject *code, PyObject *name, uint8_t kind)
{
	if (t->nframes >= INTERN_MAX_FRAMES ||
		reserve((void **) &t->frames, t->nframes, &t->frames_cap,
				sizeof(FrameDef)) < 0)
		return 0;
	t->frames[t->nframes].code = Py_XNewRef(code);
	t->frames[t->nframes].name = Py_XNewRef(name);
	t->frames[t->nframes].kind = kind;
	return ++t->nframes;
}

/* The frame id of a code object, defining it when new; 0 without memory. */
static uint32_t
code_frame(InternTables *t, PyCodeObject *code)
{
	KeyEntry   *e = keytable_find(&t->by_code, (uintptr_t) code, 0);
	uint32_t	id;

	if (e != NULL)
		return (uint32_t) e->value;
	id = add_frame(t, (PyObject *) code, NULL, V1_FRAME_PYTHON);
	if (id == 0)
		return 0;
	if (keytable_insert(&t->by_code, (uintptr_t) code, 0, id) == NULL)
	{
		/* forget the frame again: nothing names it yet */
		t->nframes--;
		Py_DECREF(code);
		return 0;
	}
	return id;
}

/*
 * The frame id and line of a position in code.  Lines are computed once
 * per (code, offset): PyCode_Addr2Line walks the line table from the start.
 */
static uint32_t
position_frame(InternTables *t, const FrameRef *f, uint32_t *line)
{
	/* offsets start at -1; keep the second key word off 0 */
	uint64_t	b = (uint64_t) (uint32_t) f->offset + 1 + ((uint64_t) 1 << 32);
	KeyEntry   *e = keytable_find(&t->by_position, (uintptr_t) f->code, b);
	uint32_t	frame;
	int			l;

	if (e != NULL)
	{
		*line = (uint32_t) e->value;
		return (uint32_t) (e->value >> 32);
	}
	frame = code_frame(t, f->code);
	if (frame == 0)
		return 0;
	l = frame_line(f);
	*line = l > 0 ? (uint32_t) l : 0;
	/* without memory for the cache, the line is only not remembered */
	keytable_insert(&t->by_position, (uintptr_t) f->code, b,
					((uint64_t) frame << 32) | *line);
	return frame;
}

/*
 * The frame of a kind without code (an asyncio task, a marker) and this
 * name; 0 when it cannot be made.  Only the sampler thread calls this: the
 * dictionary allocates through Python.
 */
uint32_t
intern_named_frame(InternTables *t, uint8_t kind, PyObject *name)
{
	PyObject   *key = PyUnicode_FromFormat("%c%U", '0' + kind, name);
	PyObject   *found;
	uint32_t	id = 0;

	if (key == NULL)
	{
		PyErr_Clear();
		return 0;
	}
	found = PyDict_GetItemWithError(t->by_name, key);
	if (found != NULL)
		id = (uint32_t) PyLong_AsUnsignedLong(found);
	else if (!PyErr_Occurred())
	{
		id = add_frame(t, NULL, name, kind);
		if (id != 0)
		{
			PyObject   *value = PyLong_FromUnsignedLong(id);

			if (value == NULL || PyDict_SetItem(t->by_name, key, value) < 0)
				id = 0;			/* the frame stays, unnamed by the dict */
			Py_XDECREF(value);
		}
	}
	PyErr_Clear();
	Py_DECREF(key);
	return id;
}

/* The id of the stack (parent, frame, line), defining it when new. */
uint32_t
intern_stack(InternTables *t, uint32_t parent, uint32_t frame, uint32_t line)
{
	uint64_t	a = ((uint64_t) parent << 32) | frame;
	uint64_t	b = (uint64_t) line + 1;
	KeyEntry   *e = keytable_find(&t->by_parent, a, b);

	if (e != NULL)
		return (uint32_t) e->value;
	if (t->nstacks >= INTERN_MAX_STACKS ||
		reserve((void **) &t->stacks, t->nstacks, &t->stacks_cap,
				sizeof(StackDef)) < 0 ||
		keytable_insert(&t->by_parent, a, b, t->nstacks + 1) == NULL)
	{
		t->stacks_dropped++;
		return 0;
	}
	t->stacks[t->nstacks].parent = parent;
	t->stacks[t->nstacks].frame = frame;
	t->stacks[t->nstacks].line = line;
	return ++t->nstacks;
}

/*
 * The stack id of a walk (refs innermost first, n of them) hung from root
 * (0, or a stack of frames dolon adds outside the program's: a task).
 * cache, when given, is the walk this thread made last time: as long as
 * the new walk starts the same way, its ids stand.  0 when the stack could
 * not be interned.
 */
uint32_t
intern_walk(InternTables *t, uint32_t root, const FrameRef *refs, int n,
			WalkCache *cache)
{
	uint32_t	stack = root;
	int			depth = 0;

	if (cache != NULL && cache->root == root)
	{
		while (depth < n && depth < cache->depth &&
			   cache->refs[depth].code == refs[n - 1 - depth].code &&
			   cache->refs[depth].offset == refs[n - 1 - depth].offset)
			depth++;
		if (depth > 0)
			stack = cache->ids[depth - 1];
	}
	for (; depth < n; depth++)
	{
		const FrameRef *f = &refs[n - 1 - depth];
		uint32_t	line;
		uint32_t	frame = position_frame(t, f, &line);

		stack = frame == 0 ? 0 : intern_stack(t, stack, frame, line);
		if (stack == 0)
		{
			if (cache != NULL)
				cache->depth = 0;
			return 0;
		}
		if (cache != NULL)
		{
			cache->refs[depth] = *f;
			cache->ids[depth] = stack;
		}
	}
	if (cache != NULL)
	{
		cache->depth = n;
		cache->root = root;
	}
	return stack;
}

/* ------------------------------------------------------------------------
 * The definitions' schedule
 * ------------------------------------------------------------------------ */

/* Ids defined since the last flush become a cohort, due at once. */
static void
close_open_cohort(InternTables *t)
{
	DefCohort  *c;

	if (t->open_frames > t->nframes && t->open_stacks > t->nstacks)
		return;
	if (t->ncohorts == t->cohorts_cap)
	{
		int			cap = t->cohorts_cap == 0 ? 16 : t->cohorts_cap * 2;
		DefCohort  *grown = realloc(t->cohorts, cap * sizeof(DefCohort));

		if (grown == NULL)
			return;				/* tried again at the next flush */
		t->cohorts = grown;
		t->cohorts_cap = cap;
	}
	c = &t->cohorts[t->ncohorts++];
	c->frames_from = t->open_frames;
	c->frames_to = t->nframes + 1;
	c->stacks_from = t->open_stacks;
	c->stacks_to = t->nstacks + 1;
	describe_schedule_init(&c->schedule, t->repeat_interval_us);
	t->open_frames = t->nframes + 1;
	t->open_stacks = t->nstacks + 1;
}

/* After its quick repeats a cohort is steady: every repeat interval. */
static int
steady(const DefCohort *c)
{
	return c->schedule.sent >= 5;
}

/*
 * Merge neighbouring steady cohorts, so that a long run keeps a handful of
 * cohorts rather than one per flush that defined something.
 */
static void
merge_steady_cohorts(InternTables *t)
{
	int			i = 0;

	while (i + 1 < t->ncohorts)
	{
		DefCohort  *a = &t->cohorts[i];
		DefCohort  *b = &t->cohorts[i + 1];

		if (steady(a) && steady(b))
		{
			a->frames_to = b->frames_to;
			a->stacks_to = b->stacks_to;
			memmove(b, b + 1, (t->ncohorts - i - 2) * sizeof(DefCohort));
			t->ncohorts--;
		}
		else
			i++;
	}
}

/*
 * Hand every cohort due at now_us to cb (new ids first), and count it as
 * sent.  cb returns -1 to stop (its datagrams could not be made): what it
 * was not given stays due.
 */
int
intern_due(InternTables *t, int64_t now_us, DefsCallback cb, void *arg)
{
	int			i;

	close_open_cohort(t);
	for (i = t->ncohorts - 1; i >= 0; i--)
	{
		DefCohort  *c = &t->cohorts[i];

		if (!describe_schedule_due(&c->schedule, now_us))
			continue;
		if (cb(arg, c->frames_from, c->frames_to, c->stacks_from,
			   c->stacks_to) < 0)
			return -1;
		describe_schedule_sent(&c->schedule, now_us);
	}
	merge_steady_cohorts(t);
	return 0;
}

/*
 * Every definition due again, as for a new run: after a fork, the child's
 * run has seen none of them.
 */
void
intern_resend_all(InternTables *t)
{
	t->ncohorts = 0;
	t->open_frames = 1;
	t->open_stacks = 1;
}
