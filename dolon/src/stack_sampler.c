/*
 * stack_sampler.c
 *	  dolon._core.StackSampler: one run's stack and allocation profile,
 *	  measured from a native thread and sent through the run's Sender.
 *
 * The thread wakes on schedule (hz times a second while it samples), takes
 * the GIL -- so every other thread stands still at a point where its frames
 * are consistent -- and makes one pass over all threads (sample_pass.c);
 * about once a second it also flushes what was measured into datagrams
 * (profile_batch.c), which go out under the run's own sequence numbers.
 * It runs no Python code per sample, and between samples it holds nothing.
 * The wait for the GIL is the lateness of a sample (up to the switch
 * interval when a thread is busy); it is measured, and a late sample
 * weighs more rather than being lost.
 *
 * Sampling may cover every thread, or only the threads inside a
 * dolon.sampling() scope (scope_enter/scope_exit); with no scope open the
 * thread sleeps until one opens.  Allocation sampling, when asked for,
 * installs the allocation hooks (alloc_sampler.c) for as long as the
 * sampler runs.
 *
 * Nothing here raises into the program once started: an error stops
 * sampling and is kept in .error, for the Python layer to report once.
 * After fork the child has no sampler thread; after_fork_child() makes the
 * sampler a new run's (the Sender was restarted) and starts it again.
 */
#include "stack_sampler.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc_sampler.h"
#include "clock.h"
#include "frame_walk.h"
#include "profile_batch.h"
#include "sample_pass.h"
#include "sender.h"
#include "wire.h"

/*
 * glibc 2.34 moved the pthread functions into libc under a new symbol
 * version; ask for the versions every x86_64 glibc has (in libpthread
 * before 2.34, which CPython itself loads there), so that the core needs
 * no glibc newer than 2.17, as libpq.c does for dlopen.
 */
#if defined(__GLIBC__) && defined(__x86_64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
__asm__(".symver pthread_attr_setstacksize,pthread_attr_setstacksize@GLIBC_2.2.5");
__asm__(".symver pthread_getcpuclockid,pthread_getcpuclockid@GLIBC_2.2.5");
__asm__(".symver pthread_condattr_setclock,pthread_condattr_setclock@GLIBC_2.3.3");
__asm__(".symver pthread_setname_np,pthread_setname_np@GLIBC_2.12");
#endif

#define MAX_HZ				1000
#define LATENESS_RING		4096

typedef struct StackSampler
{
	PyObject_HEAD
	PyObject   *sender;			/* the run's Sender */
	ProfileData data;
	PassContext pass;
	KeyTable	scopes;			/* ident -> sampling() scopes open in it */
	double		alloc_mean;		/* bytes; 0: allocations not sampled */
	int64_t		flush_interval_us;
	int64_t		last_flush_ns;	/* monotonic */
	DolonState *st;				/* for the list of started samplers */
	struct StackSampler *next_started;

	/* the thread; mu guards stop_requested, nscopes and all_threads */
	pthread_t	thread;
	int			running;		/* started, not yet joined */
	int			thread_done;	/* the thread has ended (or is ending) */
	pid_t		pid;			/* the process it was started in */
	pthread_mutex_t mu;
	pthread_cond_t wake;
	PyThreadState *taken_from;	/* who held the GIL as the last pass began;
								 * compared, never used */
	int			stop_requested;
	int			nscopes;		/* threads with a scope open */

	/* what it measured of itself */
	uint64_t	passes;
	uint64_t	samples;
	int64_t		thread_cpu_ns;
	int32_t		lateness_us[LATENESS_RING];
	uint64_t	nlateness;
	ProfileFlushStats flushed;
	uint64_t	flushes_refused;
	char		error[256];		/* once set, sampling has stopped */
	char		simulated_error[128];
} StackSampler;

/* ------------------------------------------------------------------------
 * Inside the sampler thread (and the final flush)
 * ------------------------------------------------------------------------ */

static Py_ssize_t
send_datagram(void *arg, uint8_t *datagram, size_t len, uint16_t nmessages)
{
	return sender_send_datagram(((StackSampler *) arg)->sender, datagram, len,
								nmessages);
}

/* The code objects of the selectors' select methods: the loop is idle. */
static void
find_idle_codes(PassContext *c, PyObject *selectors)
{
	static const char *classes[] = {"SelectSelector", "_PollLikeSelector",
		"PollSelector", "EpollSelector", "DevpollSelector", "KqueueSelector",
	NULL};
	int			i;

	for (i = 0; classes[i] != NULL && c->nidle_codes < PASS_MAX_IDLE_CODES; i++)
	{
		PyObject   *cls = PyObject_GetAttrString(selectors, classes[i]);
		PyObject   *select = NULL;

		if (cls != NULL && PyType_Check(cls))
			select = PyDict_GetItemString(((PyTypeObject *) cls)->tp_dict,
										  "select");
		if (select != NULL && PyFunction_Check(select))
			c->idle_codes[c->nidle_codes++] =
				Py_NewRef(PyFunction_GET_CODE(select));
		Py_XDECREF(cls);
	}
	PyErr_Clear();
}

/*
 * asyncio's table of running tasks and the selectors' code, once those
 * modules are imported (a program may import asyncio after sampling
 * starts: this is looked at every flush until found).
 */
static void
find_asyncio(PassContext *c)
{
	PyObject   *modules = PyImport_GetModuleDict();
	PyObject   *tasks = PyDict_GetItemString(modules, "asyncio.tasks");
	PyObject   *c_asyncio = PyDict_GetItemString(modules, "_asyncio");
	PyObject   *selectors = PyDict_GetItemString(modules, "selectors");

	if (c->nidle_codes == 0 && selectors != NULL)
		find_idle_codes(c, selectors);
	if (c->current_tasks != NULL || tasks == NULL || c_asyncio == NULL)
		return;
	c->current_tasks = PyObject_GetAttrString(tasks, "_current_tasks");
	c->task_type = (PyTypeObject *) PyObject_GetAttrString(c_asyncio, "Task");
	c->task_get_name = c->task_type != NULL ?
		PyObject_GetAttrString((PyObject *) c->task_type, "get_name") : NULL;
	if (c->current_tasks == NULL || !PyDict_Check(c->current_tasks) ||
		c->task_type == NULL || !PyType_Check(c->task_type) ||
		c->task_get_name == NULL)
	{
		Py_CLEAR(c->current_tasks);
		Py_CLEAR(c->task_type);
		Py_CLEAR(c->task_get_name);
	}
	PyErr_Clear();
}

/* Flush what was measured; with the GIL held, as dolon's own work. */
static void
flush(StackSampler *s, int64_t wall_us)
{
	int			was_exempt = alloc_sampler_exempt_thread(1);
	size_t		room,
				largest;

	find_asyncio(&s->pass);
	profile_alloc_threads(&s->data);
	/* names of new threads, and everyone's again when they are due */
	if (s->data.threads_schedule.due ||
		describe_schedule_due(&s->data.threads_schedule, wall_us))
		profile_thread_names(&s->data, 1);
	sender_datagram_room(s->sender, &room, &largest);
	if (profile_flush(&s->data, wall_us, room, largest,
					  send_datagram, s, &s->flushed) < 0)
		s->flushes_refused++;
	s->last_flush_ns = dolon_monotonic_ns();
	PyErr_Clear();
	alloc_sampler_exempt_thread(was_exempt);
}

/* Stop sampling for good, saying why (once). */
static void
fail(StackSampler *s, const char *why)
{
	if (s->error[0] == '\0')
		snprintf(s->error, sizeof(s->error), "%s", why);
	alloc_sampler_stop(&s->data);
}

static int64_t
thread_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
stacks_wanted(StackSampler *s)
{
	return s->pass.period_ns > 0 && s->error[0] == '\0' &&
		(s->pass.all_threads || s->nscopes > 0);
}

/*
 * One wake-up, with the GIL: a pass if one was due at scheduled_ns (0:
 * none), and a flush if one is due.  Returns 0 when sampling has to stop.
 */
static int
tick(StackSampler *s, PyThreadState *ts, int64_t scheduled_ns)
{
	int64_t		now_ns,
				wall_us;
	PyThreadState *holder,
			   *last;

	if (interpreter_finalizing())
		return 0;
	/*
	 * Who runs Python code at the moment the sampler stops everyone.  A GIL
	 * still free since the sampler let it go last time is about to go back
	 * to the thread the sampler took it from, which is waiting to run (on a
	 * crowded machine, for a processor): that thread counts as the holder.
	 */
	holder = gil_holder(s->pass.interp, &last);
	/* a pass is due: the holder lets go at its next check, not in 5 ms */
	if (holder != NULL && scheduled_ns != 0)
		gil_request_drop(s->pass.interp);
	if (holder == NULL && last == ts)
		holder = s->taken_from;
	s->pass.holder = s->taken_from = holder;
	PyEval_RestoreThread(ts);
	now_ns = dolon_monotonic_ns();
	wall_us = dolon_wallclock_us();
	if (scheduled_ns != 0 && stacks_wanted(s))
	{
		int64_t		late = (now_ns - scheduled_ns) / 1000;

		s->lateness_us[s->nlateness++ % LATENESS_RING] =
			late > INT32_MAX ? INT32_MAX : (int32_t) late;
		if (s->simulated_error[0] != '\0')
			fail(s, s->simulated_error);
		else
			s->samples += sample_pass(&s->data, &s->pass, now_ns, wall_us);
		s->passes++;
	}
	if (now_ns - s->last_flush_ns >= s->flush_interval_us * 1000)
		flush(s, wall_us);
	if (PyErr_Occurred())
	{
		PyErr_Clear();
		fail(s, "an unexpected Python error in the sampler");
	}
	PyEval_SaveThread();
	return s->error[0] == '\0';
}

/* Wait on the condition until deadline_ns (monotonic), or a signal. */
static void
wait_until(StackSampler *s, int64_t deadline_ns)
{
	struct timespec ts;

	if (deadline_ns == INT64_MAX)
	{
		pthread_cond_wait(&s->wake, &s->mu);
		return;
	}
	ts.tv_sec = deadline_ns / 1000000000;
	ts.tv_nsec = deadline_ns % 1000000000;
	pthread_cond_timedwait(&s->wake, &s->mu, &ts);
}

static void *
sampler_main(void *arg)
{
	StackSampler *s = arg;
	PyGILState_STATE gil = PyGILState_Ensure();
	PyThreadState *ts = PyThreadState_Get();
	int64_t		next_ns = 0;

	/* nothing this thread allocates is the program's */
	alloc_sampler_exempt_thread(1);
	pthread_setname_np(pthread_self(), "dolon-sampler");	/* for top -H */
	s->pass.own = ts;
	PyEval_SaveThread();
	pthread_mutex_lock(&s->mu);
	while (!s->stop_requested)
	{
		int64_t		now = dolon_monotonic_ns();
		int			stacks = stacks_wanted(s);
		int64_t		due;

		if (stacks)
		{
			/* the first pass at once; a missed one is not caught up */
			if (next_ns == 0 || next_ns < now - s->pass.period_ns)
				next_ns = now;
			due = next_ns;
		}
		else
		{
			/* no pass due: only flushes, while there is anything to send */
			next_ns = 0;
			due = s->alloc_mean > 0 || s->data.nthreads > 0 ?
				s->last_flush_ns + s->flush_interval_us * 1000 : INT64_MAX;
		}
		if (due > now)
		{
			wait_until(s, due);
			continue;			/* look again: stopped, scopes changed */
		}
		pthread_mutex_unlock(&s->mu);
		if (!tick(s, ts, stacks ? due : 0))
		{
			pthread_mutex_lock(&s->mu);
			break;
		}
		if (stacks)
			next_ns = due + s->pass.period_ns;
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	/* its clock goes with it: the total stays */
	s->thread_cpu_ns = thread_cpu_now();
	s->thread_done = 1;
	/* at interpreter exit the GIL is not to be had again: just end */
	if (!interpreter_finalizing())
	{
		PyEval_RestoreThread(ts);
		s->pass.own = NULL;
		PyGILState_Release(gil);
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * Starting and stopping, with the GIL
 * ------------------------------------------------------------------------ */

static void
unlist(StackSampler *s)
{
	struct StackSampler **p;

	if (s->st == NULL)
		return;
	for (p = &s->st->samplers; *p != NULL; p = &(*p)->next_started)
	{
		if (*p == s)
		{
			*p = s->next_started;
			break;
		}
	}
	s->next_started = NULL;
}

static int
start_thread(StackSampler *s)
{
	pthread_attr_t attr;
	int			err;

	s->stop_requested = 0;
	s->thread_done = 0;
	s->pid = getpid();
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	err = pthread_create(&s->thread, &attr, sampler_main, s);
	pthread_attr_destroy(&attr);
	if (err != 0)
	{
		errno = err;
		PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	s->running = 1;
	if (s->st != NULL)
	{
		s->next_started = s->st->samplers;
		s->st->samplers = s;
	}
	return 0;
}

/*
 * Stop the thread, then flush what it measured.  The GIL is let go while
 * joining: the thread may be waiting for it to finish its pass.
 */
static void
stop_sampler(StackSampler *s)
{
	int			was_running = s->running;

	if (s->running)
	{
		if (s->pid == getpid())
		{
			pthread_mutex_lock(&s->mu);
			s->stop_requested = 1;
			pthread_cond_signal(&s->wake);
			pthread_mutex_unlock(&s->mu);
			Py_BEGIN_ALLOW_THREADS
				pthread_join(s->thread, NULL);
			Py_END_ALLOW_THREADS
		}
		s->running = 0;
		unlist(s);
	}
	alloc_sampler_stop(&s->data);
	/* what the thread measured since its last flush; never at exit, when
	 * the modules a flush looks at are gone */
	if (was_running && s->pid == getpid() && s->error[0] == '\0' &&
		!interpreter_finalizing())
		flush(s, dolon_wallclock_us());
}

static PyObject *
stack_sampler_start(StackSampler *s, PyObject *unused)
{
	const char *mismatch;

	if (s->running)
		Py_RETURN_NONE;
	if (s->error[0] != '\0')
		return PyErr_Format(PyExc_RuntimeError, "dolon: %s", s->error);
	mismatch = frame_walk_self_check();
	if (mismatch != NULL)
	{
		const char *running = Py_GetVersion();

		return PyErr_Format(PyExc_RuntimeError, "dolon: %s, running %.*s",
							mismatch, (int) strcspn(running, " "), running);
	}
	if (s->alloc_mean > 0 && alloc_sampler_start(&s->data, s->alloc_mean) < 0)
		return NULL;
	s->last_flush_ns = dolon_monotonic_ns();
	if (start_thread(s) < 0)
	{
		alloc_sampler_stop(&s->data);
		return NULL;
	}
	Py_RETURN_NONE;
}

static PyObject *
stack_sampler_stop(StackSampler *s, PyObject *unused)
{
	stop_sampler(s);
	Py_RETURN_NONE;
}

/* Stop every started sampler of a module instance that goes away. */
void
stack_samplers_stop_all(DolonState *st)
{
	while (st->samplers != NULL)
		stop_sampler(st->samplers);
}

/* ------------------------------------------------------------------------
 * Scopes, fork, the test hook
 * ------------------------------------------------------------------------ */

static void
scopes_changed(StackSampler *s, int delta)
{
	pthread_mutex_lock(&s->mu);
	s->nscopes += delta;
	if (s->nscopes == 0)
		s->data.last_pass_ns = 0;	/* the next pass weighs one period */
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

static PyObject *
stack_sampler_scope_enter(StackSampler *s, PyObject *unused)
{
	unsigned long ident = PyThread_get_thread_ident();
	KeyEntry   *e = keytable_find(&s->scopes, ident, 1);

	if (e != NULL)
		e->value++;
	else if (keytable_insert(&s->scopes, ident, 1, 1) == NULL)
		return PyErr_NoMemory();
	else
		scopes_changed(s, 1);
	Py_RETURN_NONE;
}

static PyObject *
stack_sampler_scope_exit(StackSampler *s, PyObject *unused)
{
	unsigned long ident = PyThread_get_thread_ident();
	KeyEntry   *e = keytable_find(&s->scopes, ident, 1);

	if (e != NULL && --e->value == 0)
	{
		keytable_remove(&s->scopes, ident, 1);
		scopes_changed(s, -1);
	}
	Py_RETURN_NONE;
}

static int
open_statm(void)
{
	return open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
}

/*
 * In a forked child (the Sender already restarted as the child's run):
 * nothing of the parent's run is sent, the sampler thread -- which did not
 * come along -- starts again, and so does allocation sampling.
 */
static PyObject *
stack_sampler_after_fork_child(StackSampler *s, PyObject *unused)
{
	int			was_running = s->running && s->pid != getpid();

	if (s->pid == getpid())
		Py_RETURN_NONE;			/* not a child: nothing to do */
	/* the parent's thread may have held these at the fork */
	pthread_mutex_init(&s->mu, NULL);
	{
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&s->wake, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (s->running)
	{
		s->running = 0;
		unlist(s);
	}
	s->pass.own = NULL;
	if (s->pass.statm_fd >= 0)
		close(s->pass.statm_fd);
	s->pass.statm_fd = open_statm();
	profile_data_new_run(&s->data);
	keytable_clear(&s->scopes);
	s->nscopes = 0;
	s->pid = getpid();
	if (was_running && s->error[0] == '\0')
		return stack_sampler_start(s, NULL);
	Py_RETURN_NONE;
}

static PyObject *
stack_sampler_simulate_error(StackSampler *s, PyObject *arg)
{
	const char *why = PyUnicode_AsUTF8(arg);

	if (why == NULL)
		return NULL;
	snprintf(s->simulated_error, sizeof(s->simulated_error), "%s", why);
	Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------
 * What it measured
 * ------------------------------------------------------------------------ */

/*
 * The sampler thread's CPU time so far: read from the outside, through its
 * CPU clock, while it runs (the thread itself need not spend a system call
 * a pass on it); at its end it left the total.
 */
static int64_t
sampler_thread_cpu_ns(StackSampler *s)
{
	clockid_t	clock;
	struct timespec ts;

	if (s->running && !s->thread_done && s->pid == getpid() &&
		pthread_getcpuclockid(s->thread, &clock) == 0 &&
		clock_gettime(clock, &ts) == 0)
		s->thread_cpu_ns = (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
	return s->thread_cpu_ns;
}

static PyObject *
stack_sampler_get_counters(StackSampler *s, void *closure)
{
	return Py_BuildValue(
		"{sKsKsKsKsKsKsKsKsIsIsisKsKsKsLsLsKsK}",
		"passes", (unsigned long long) s->passes,
		"samples", (unsigned long long) s->samples,
		"datagrams", (unsigned long long) s->flushed.datagrams,
		"bytes", (unsigned long long) s->flushed.bytes,
		"samples_sent", (unsigned long long) s->flushed.samples,
		"allocs_sent", (unsigned long long) s->flushed.allocs,
		"frees_sent", (unsigned long long) s->flushed.frees,
		"definitions_sent", (unsigned long long) s->flushed.definitions,
		"frames", (unsigned int) s->data.intern.nframes,
		"stacks", (unsigned int) s->data.intern.nstacks,
		"threads", s->data.nthreads,
		"samples_dropped", (unsigned long long) s->data.samples_dropped,
		"allocs_dropped", (unsigned long long) s->data.allocs_dropped,
		"stacks_dropped",
		(unsigned long long) s->data.intern.stacks_dropped,
		"thread_cpu_ns", (long long) sampler_thread_cpu_ns(s),
		"alloc_cpu_ns", (long long) s->data.alloc_cost_ns,
		"types_created", (unsigned long long) s->data.types_created,
		"types_looked", (unsigned long long) s->data.types_looked);
}

/* Sampler thread CPU plus the time spent sampling allocations, in ns. */
static PyObject *
stack_sampler_get_cpu_ns(StackSampler *s, void *closure)
{
	return PyLong_FromLongLong(sampler_thread_cpu_ns(s) +
							   s->data.alloc_cost_ns);
}

static PyObject *
stack_sampler_get_error(StackSampler *s, void *closure)
{
	if (s->error[0] == '\0')
		Py_RETURN_NONE;
	return PyUnicode_FromString(s->error);
}

static PyObject *
stack_sampler_get_running(StackSampler *s, void *closure)
{
	return PyBool_FromLong(s->running && s->pid == getpid());
}

/* The lateness of the last passes (up to 4,096), in µs. */
static PyObject *
stack_sampler_lateness_us(StackSampler *s, PyObject *unused)
{
	uint64_t	n = s->nlateness < LATENESS_RING ? s->nlateness : LATENESS_RING;
	PyObject   *list = PyList_New((Py_ssize_t) n);
	uint64_t	i;

	for (i = 0; list != NULL && i < n; i++)
	{
		PyObject   *v = PyLong_FromLong(s->lateness_us[i]);

		if (v == NULL)
			Py_CLEAR(list);
		else
			PyList_SET_ITEM(list, (Py_ssize_t) i, v);
	}
	return list;
}

/* ------------------------------------------------------------------------
 * The type
 * ------------------------------------------------------------------------ */

static PyObject *
stack_sampler_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"sender", "hz", "allocation_interval",
		"all_threads", "flush_interval_us", "repeat_interval_us", NULL};
	PyObject   *sender;
	double		hz = 100.0;
	double		alloc_mean = 0.0;
	int			all_threads = 1;
	long long	flush_interval_us = 1000000;
	long long	repeat_interval_us = 10000000;
	const char *unavailable = frame_walk_unavailable();
	StackSampler *s;
	pthread_condattr_t attr;
	PyObject   *marker;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|ddpLL:StackSampler",
									 kwlist, &sender, &hz, &alloc_mean,
									 &all_threads, &flush_interval_us,
									 &repeat_interval_us))
		return NULL;
	if (unavailable != NULL)
		return PyErr_Format(PyExc_RuntimeError, "dolon: %s", unavailable);
	if (PyThreadState_Get()->interp != PyInterpreterState_Main())
		return PyErr_Format(PyExc_RuntimeError, "dolon: stack sampling works "
							"in the main interpreter only");
	if (!sender_check(sender))
		return PyErr_Format(PyExc_TypeError, "StackSampler needs a Sender");
	if (!sender_speaks_v1(sender))
		return PyErr_Format(PyExc_ValueError, "dolon: profiles travel in "
							"binary v1 only, not in legacy JSON");
	if (!(hz >= 0 && hz <= MAX_HZ) || !(alloc_mean == 0 || alloc_mean >= 1) ||
		flush_interval_us <= 0 || repeat_interval_us <= 0)
		return PyErr_Format(PyExc_ValueError, "hz must be 0 to %d, "
							"allocation_interval 0 or at least 1 byte, "
							"intervals positive", MAX_HZ);
	s = (StackSampler *) type->tp_alloc(type, 0);
	if (s == NULL)
		return NULL;
	s->pass.statm_fd = -1;
	s->sender = Py_NewRef(sender);
	s->st = PyType_GetModuleState(type);
	s->alloc_mean = alloc_mean;
	s->flush_interval_us = flush_interval_us;
	s->pass.period_ns = hz > 0 ? (int64_t) (1e9 / hz) : 0;
	s->pass.all_threads = all_threads;
	s->pass.interp = PyThreadState_Get()->interp;
	s->pid = getpid();
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &attr);
	pthread_condattr_destroy(&attr);
	s->pass.thread_id_name = PyUnicode_InternFromString("_thread_id");
	marker = PyUnicode_FromString("<truncated>");
	if (s->pass.thread_id_name == NULL || marker == NULL ||
		profile_data_init(&s->data, repeat_interval_us) < 0)
	{
		Py_XDECREF(marker);
		Py_DECREF(s);
		return NULL;
	}
	s->data.truncated_frame = intern_named_frame(&s->data.intern,
												 V1_FRAME_MARKER, marker);
	Py_DECREF(marker);
	s->pass.statm_fd = open_statm();
	s->pass.scopes = &s->scopes;
	return (PyObject *) s;
}

static void
stack_sampler_dealloc(StackSampler *s)
{
	PyTypeObject *tp = Py_TYPE(s);
	int			i;

	stop_sampler(s);
	PyErr_Clear();
	profile_data_free(&s->data);
	keytable_free(&s->scopes);
	for (i = 0; i < s->pass.nidle_codes; i++)
		Py_DECREF(s->pass.idle_codes[i]);
	Py_XDECREF(s->pass.current_tasks);
	Py_XDECREF(s->pass.task_type);
	Py_XDECREF(s->pass.task_get_name);
	Py_XDECREF(s->pass.thread_id_name);
	Py_XDECREF(s->sender);
	if (s->pass.statm_fd >= 0)
		close(s->pass.statm_fd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->wake);
	tp->tp_free((PyObject *) s);
	Py_DECREF(tp);
}

static PyMethodDef stack_sampler_methods[] = {
	{"start", (PyCFunction) stack_sampler_start, METH_NOARGS,
	"start(): the sampler thread (and the allocation hooks)"},
	{"stop", (PyCFunction) stack_sampler_stop, METH_NOARGS,
	"stop(): stop sampling and send what was measured; idempotent"},
	{"scope_enter", (PyCFunction) stack_sampler_scope_enter, METH_NOARGS,
	"scope_enter(): sample the calling thread (all_threads=False)"},
	{"scope_exit", (PyCFunction) stack_sampler_scope_exit, METH_NOARGS,
	"scope_exit(): undo one scope_enter() of the calling thread"},
	{"after_fork_child", (PyCFunction) stack_sampler_after_fork_child,
		METH_NOARGS, "after_fork_child(): in a forked child, sample as the "
	"child's run (restart the Sender first)"},
	{"lateness_us", (PyCFunction) stack_sampler_lateness_us, METH_NOARGS,
	"lateness_us() -> list: how late the last passes were, in µs"},
	{"_simulate_error", (PyCFunction) stack_sampler_simulate_error, METH_O,
	"_simulate_error(message): fail the next pass (for the tests)"},
	{NULL}
};

static PyGetSetDef stack_sampler_getset[] = {
	{"counters", (getter) stack_sampler_get_counters, NULL, NULL, NULL},
	{"cpu_ns", (getter) stack_sampler_get_cpu_ns, NULL,
	"CPU time the sampler spent, in ns", NULL},
	{"error", (getter) stack_sampler_get_error, NULL,
	"why sampling stopped, or None", NULL},
	{"running", (getter) stack_sampler_get_running, NULL, NULL, NULL},
	{NULL}
};

static PyType_Slot stack_sampler_slots[] = {
	{Py_tp_new, stack_sampler_new},
	{Py_tp_dealloc, stack_sampler_dealloc},
	{Py_tp_methods, stack_sampler_methods},
	{Py_tp_getset, stack_sampler_getset},
	{Py_tp_doc, "StackSampler(sender, hz=100.0, allocation_interval=0, "
		"all_threads=True, flush_interval_us=1000000, "
		"repeat_interval_us=10000000): a run's stack samples (hz=0: none) "
		"and allocation samples (one per allocation_interval bytes on "
	"average; 0: none), sent through its Sender."},
	{0, NULL}
};

static PyType_Spec stack_sampler_spec = {
	.name = "dolon._core.StackSampler",
	.basicsize = sizeof(StackSampler),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = stack_sampler_slots,
};

int
dolon_stack_sampler_init_types(PyObject *module, DolonState *st)
{
	const char *unavailable = frame_walk_unavailable();

	st->stack_sampler_type = (PyTypeObject *)
		PyType_FromModuleAndSpec(module, &stack_sampler_spec, NULL);
	if (st->stack_sampler_type == NULL ||
		PyModule_AddObjectRef(module, "StackSampler",
							  (PyObject *) st->stack_sampler_type) < 0)
		return -1;
	if (unavailable == NULL)
		return PyModule_AddObjectRef(module, "SAMPLING_UNAVAILABLE", Py_None);
	return PyModule_AddStringConstant(module, "SAMPLING_UNAVAILABLE",
									  unavailable);
}
