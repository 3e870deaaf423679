/*
 * profile_data.c
 *	  The parts of a run's profile that are not interning: its threads and
 *	  their names, the types of sampled objects, starting over after fork.
 *
 * Threads are known by the ident CPython gives them (tstate->thread_id);
 * an ident can be reused once its thread has ended, so a thread state at
 * another address under a known ident is a new thread.  Their names and,
 * before 3.11, their kernel ids come from the threading module
 * (threading._active[ident]), read by plain attribute lookups: at the
 * first passes that see a thread (a short one may end before any flush),
 * and for every thread when the names are due again.
 */
#include "profile_data.h"

#include <stdlib.h>
#include <string.h>

#include "frame_walk.h"
#include "wire.h"

int
profile_data_init(ProfileData *d, int64_t repeat_interval_us)
{
	memset(d, 0, sizeof(*d));
	if (intern_init(&d->intern, repeat_interval_us) < 0)
		return -1;
	d->next_thread_id = 1;
	d->next_alloc_id = 1;
	describe_schedule_init(&d->threads_schedule, repeat_interval_us);
	describe_schedule_init(&d->types.schedule, repeat_interval_us);
	return 0;
}

static void
thread_free(ThreadInfo *th)
{
	Py_XDECREF(th->name);
	free(th->cache);
	free(th->samples);
	free(th);
}

static void
forget_threads(ProfileData *d)
{
	int			i;

	for (i = 0; i < d->nthreads; i++)
		thread_free(d->threads[i]);
	d->nthreads = 0;
	keytable_clear(&d->thread_by_ident);
}

static void
forget_allocations(ProfileData *d)
{
	int			i;

	for (i = 0; i < d->nallocs; i++)
		Py_XDECREF(d->allocs[i].found);
	d->nallocs = 0;
	d->nfrees = 0;
	keytable_clear(&d->live);
}

/* Everything released; with the GIL held. */
void
profile_data_free(ProfileData *d)
{
	uint32_t	i;

	forget_threads(d);
	forget_allocations(d);
	free(d->threads);
	free(d->allocs);
	free(d->frees);
	keytable_free(&d->thread_by_ident);
	keytable_free(&d->live);
	for (i = 0; i < d->types.ntypes; i++)
		Py_XDECREF(d->types.types[i]);
	free(d->types.types);
	keytable_free(&d->types.by_type);
	intern_free(&d->intern);
	memset(d, 0, sizeof(*d));
}

/*
 * After fork, in the child: its run starts afresh.  What was measured for
 * the parent's run is dropped -- its samples, its allocations (those blocks
 * live on in the child, but their frees are the parent's run's business)
 * and its threads, of which only the forking one is left -- and every
 * definition is due again, under the child's new run.
 */
void
profile_data_new_run(ProfileData *d)
{
	forget_threads(d);
	forget_allocations(d);
	d->next_thread_id = 1;
	d->last_pass_ns = 0;
	intern_resend_all(&d->intern);
	describe_schedule_init(&d->threads_schedule,
						   d->intern.repeat_interval_us);
	describe_schedule_init(&d->types.schedule, d->intern.repeat_interval_us);
}

/* ------------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------------ */

static ThreadInfo *
add_thread(ProfileData *d, unsigned long ident, PyThreadState *ts)
{
	ThreadInfo *th;

	if (d->nthreads == d->threads_cap)
	{
		int			cap = d->threads_cap == 0 ? 16 : d->threads_cap * 2;
		ThreadInfo **grown = realloc(d->threads, cap * sizeof(ThreadInfo *));

		if (grown == NULL)
			return NULL;
		d->threads = grown;
		d->threads_cap = cap;
	}
	th = calloc(1, sizeof(ThreadInfo));
	if (th == NULL)
		return NULL;
	if (keytable_insert(&d->thread_by_ident, ident, 1, d->nthreads) == NULL)
	{
		free(th);
		return NULL;
	}
	th->ident = ident;
	th->tstate = ts;
	th->id = d->next_thread_id++;
	th->native_id = ts != NULL ? thread_native_id(ts) : 0;
	th->last_cpu_ns = -1;
	d->threads[d->nthreads++] = th;
	/* a new thread: the names go out again, with it */
	d->threads_schedule.due = 1;
	return th;
}

/*
 * The thread of ident, and of thread state ts when given; a thread that
 * ended under the same ident is marked gone and a new one takes the ident.
 * NULL without memory.
 */
ThreadInfo *
profile_thread(ProfileData *d, unsigned long ident, PyThreadState *ts)
{
	KeyEntry   *e = keytable_find(&d->thread_by_ident, ident, 1);

	if (e != NULL)
	{
		ThreadInfo *th = d->threads[e->value];

		if (ts == NULL || th->tstate == ts || th->tstate == NULL)
		{
			if (th->tstate == NULL && ts != NULL)
			{
				th->tstate = ts;
				th->native_id = thread_native_id(ts);
			}
			return th;
		}
		th->gone = 1;
		keytable_remove(&d->thread_by_ident, ident, 1);
	}
	return add_thread(d, ident, ts);
}

/* threading._active, borrowed, or NULL when threading is not imported. */
static PyObject *
threading_active(void)
{
	PyObject   *modules = PyImport_GetModuleDict();
	PyObject   *threading = PyDict_GetItemString(modules, "threading");
	PyObject   *active;

	if (threading == NULL)
		return NULL;
	active = PyObject_GetAttrString(threading, "_active");
	if (active == NULL)
	{
		PyErr_Clear();
		return NULL;
	}
	Py_DECREF(active);			/* the module keeps it */
	return PyDict_Check(active) ? active : NULL;
}

/*
 * Read a thread's name (and, before 3.11, its kernel id) from its Thread
 * object in threading._active; a name that changed makes the names due
 * again.  Only plain attribute lookups are made (generic getattr on the
 * Thread), so no Python code runs: a pass can do this for new threads.
 */
static void
read_thread_name(ProfileData *d, ThreadInfo *th, PyObject *active)
{
	PyObject   *key = PyLong_FromUnsignedLong(th->ident);
	PyObject   *thread = key ? PyDict_GetItemWithError(active, key) : NULL;
	PyObject   *name;

	Py_XDECREF(key);
	if (thread == NULL ||
		Py_TYPE(thread)->tp_getattro != PyObject_GenericGetAttr)
	{
		PyErr_Clear();
		return;
	}
	Py_INCREF(thread);
	name = PyObject_GetAttrString(thread, "_name");
	if (name != NULL && PyUnicode_Check(name) &&
		(th->name == NULL || PyUnicode_Compare(name, th->name) != 0))
	{
		Py_XSETREF(th->name, Py_NewRef(name));
		d->threads_schedule.due = 1;
	}
	Py_XDECREF(name);
	if (th->native_id == 0)
	{
		PyObject   *native = PyObject_GetAttrString(thread, "_native_id");

		if (native != NULL && PyLong_Check(native))
			th->native_id = PyLong_AsUnsignedLongLong(native);
		Py_XDECREF(native);
	}
	PyErr_Clear();
	Py_DECREF(thread);
}

/*
 * Every thread's name again (a thread may be renamed), or only the threads
 * not named yet (all = 0): a new thread is named at its first samples,
 * before it can end unnamed.
 */
void
profile_thread_names(ProfileData *d, int all)
{
	PyObject   *active = threading_active();
	int			i;

	if (active == NULL)
		return;
	Py_INCREF(active);
	for (i = 0; i < d->nthreads; i++)
	{
		ThreadInfo *th = d->threads[i];

		if (all || (th->name == NULL && th->name_tries++ < 8))
			read_thread_name(d, th, active);
	}
	Py_DECREF(active);
}

/* Drop the threads that ended and whose samples have all been sent. */
void
profile_drop_gone_threads(ProfileData *d)
{
	int			i = 0;

	while (i < d->nthreads)
	{
		ThreadInfo *th = d->threads[i];

		if (th->gone && th->nsamples == 0)
		{
			KeyEntry   *e = keytable_find(&d->thread_by_ident, th->ident, 1);

			if (e != NULL && e->value == (uint64_t) i)
				keytable_remove(&d->thread_by_ident, th->ident, 1);
			thread_free(th);
			d->threads[i] = d->threads[--d->nthreads];
			/* the thread moved into slot i keeps its ident's entry right */
			if (i < d->nthreads)
			{
				e = keytable_find(&d->thread_by_ident, d->threads[i]->ident, 1);
				if (e != NULL && e->value == (uint64_t) d->nthreads)
					e->value = i;
			}
		}
		else
			i++;
	}
}

/* ------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------ */

/* A new type id for obj (a type, or a str naming a kind of memory), or 0. */
static uint32_t
add_type(TypeTable *t, PyObject *obj)
{
	if (t->ntypes == t->cap)
	{
		uint32_t	cap = t->cap == 0 ? 64 : t->cap * 2;
		PyObject  **grown = realloc(t->types, cap * sizeof(PyObject *));

		if (grown == NULL)
			return 0;
		t->types = grown;
		t->cap = cap;
	}
	t->types[t->ntypes] = Py_NewRef(obj);
	/* a new type: the names go out again, with it */
	t->schedule.due = 1;
	return ++t->ntypes;
}

/* The id of a type of sampled objects (the table keeps it alive), or 0. */
uint32_t
profile_type_id(ProfileData *d, PyTypeObject *type)
{
	TypeTable  *t = &d->types;
	KeyEntry   *e = keytable_find(&t->by_type, (uintptr_t) type, 1);
	uint32_t	id;

	if (e != NULL)
		return (uint32_t) e->value;
	id = add_type(t, (PyObject *) type);
	if (id != 0 && keytable_insert(&t->by_type, (uintptr_t) type, 1, id) == NULL)
	{
		Py_DECREF(type);
		t->ntypes--;
		return 0;
	}
	return id;
}

/*
 * The id of "<buffer>": sampled memory that is not an object (a list's
 * array of items, a dict's table, a buffer of a C extension).  Its owner
 * is not recorded with it; its stack says where it was made.
 */
uint32_t
profile_buffer_type_id(ProfileData *d)
{
	if (d->types.buffer_id == 0)
	{
		PyObject   *name = PyUnicode_FromString("<buffer>");

		if (name == NULL)
		{
			PyErr_Clear();
			return 0;
		}
		d->types.buffer_id = add_type(&d->types, name);
		Py_DECREF(name);
	}
	return d->types.buffer_id;
}

/* The unsent record of allocation id, or NULL (sent already). */
AllocRecord *
profile_alloc_record(ProfileData *d, uint64_t id)
{
	int			lo = 0,
				hi = d->nallocs;

	/* records are appended in the order of their ids */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (d->allocs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->nallocs && d->allocs[lo].id == id ? &d->allocs[lo] : NULL;
}
