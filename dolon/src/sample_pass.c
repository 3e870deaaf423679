/*
 * sample_pass.c
 *	  One sample of every thread: its stack, the time the sample stands
 *	  for, whether the thread was on CPU, the process's resident memory.
 *
 * The sampler thread holds the GIL for the whole pass, so no thread runs
 * Python code meanwhile and every frame chain stands still; and nothing in
 * a pass runs Python code itself (the few C calls on asyncio's objects are
 * made on exact types whose methods are C).
 *
 * Weight.  A sample stands for the time since its thread's previous one:
 * the sampler asks for the GIL on schedule but gets it when the running
 * thread next lets go (up to the switch interval, 5 ms, for a busy one),
 * so a late sample weighs more instead of being lost.
 *
 * On CPU.  Once the sampler holds the GIL every other thread is stopped,
 * so that instant says nothing; the instant before says what each thread
 * was doing.  Just before asking for the GIL, the sampler notes which
 * thread holds it: that one was running Python code, on CPU.  Any other
 * thread was waiting -- for I/O, a lock, a timer, or the GIL -- unless it
 * was running C code without the GIL (compression, hashing, numpy): such
 * a thread is on CPU when its CPU clock ran for at least three quarters
 * of the time (a thread that only waits its turn for the GIL gets less),
 * judged over windows of CPU_WINDOW_NS rather than every pass, since each
 * reading of a clock is a system call.  So a thread that shares the GIL three ways is on CPU in a third
 * of its samples, as the kernel would say it ran; and a busy thread on a
 * crowded machine is still busy.  A thread whose innermost frame is the
 * event loop's selector is idle whatever else.
 *
 * asyncio.  The task each running event loop is in (asyncio's own
 * {loop: task} table) is the outermost frame of its thread's stack, as a
 * frame of kind task named after it; auto-generated names ("Task-17") all
 * become "Task", or every task of a server would be a frame of its own.
 */
#include "sample_pass.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame_walk.h"
#include "procstat.h"
#include "wire.h"

#define MAX_RUNNING_LOOPS 32
#define CPU_WINDOW_NS		50000000	/* 50 ms */

typedef struct RunningTask
{
	unsigned long ident;		/* the thread running the loop */
	uint32_t	root;			/* the stack of its task's frame */
} RunningTask;

/* The process's resident memory, from a kept-open /proc/self/statm. */
uint64_t
resident_bytes_from(int statm_fd)
{
	static long page_size;
	char		buf[128];
	uint64_t	resident;
	ssize_t		n;

	if (statm_fd < 0)
		return 0;
	n = pread(statm_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (statm_resident_pages(buf, &resident) < 0)
		return 0;
	if (page_size == 0)
		page_size = sysconf(_SC_PAGESIZE);
	return (uint64_t) resident * (uint64_t) page_size;
}

/*
 * A thread's CPU clock by its kernel id: the clock id glibc's
 * pthread_getcpuclockid makes from a tid (a per-thread CPUCLOCK_SCHED
 * clock), which the kernel accepts for threads of our own process only.
 * -1 when unknown or the thread is gone.
 */
static int64_t
thread_cpu_ns(uint64_t native_id)
{
	clockid_t	clock;
	struct timespec ts;

	if (native_id == 0 || native_id > 0x3FFFFFFF)
		return -1;
	clock = (clockid_t) ((~(unsigned int) native_id) << 3) | 4 | 2;
	if (clock_gettime(clock, &ts) != 0)
		return -1;
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The task frame's name: the task's, but "Task" for "Task-<number>". */
static PyObject *
task_frame_name(PyObject *name)
{
	static const char prefix[] = "Task-";
	Py_ssize_t	len = PyUnicode_GET_LENGTH(name);
	Py_ssize_t	i;

	if (len <= 5)
		return Py_NewRef(name);
	for (i = 0; i < len; i++)
	{
		Py_UCS4		c = PyUnicode_READ_CHAR(name, i);

		if (i < 5 ? c != (Py_UCS4) prefix[i] : (c < '0' || c > '9'))
			return Py_NewRef(name);
	}
	return PyUnicode_FromString("Task");
}

/*
 * The running loops' threads and their tasks, from asyncio's table.  Only
 * loops whose attributes are plain (generic getattr) and tasks of the C
 * Task type are asked, so that no Python code runs; others go unnamed.
 */
static int
running_tasks(ProfileData *d, const PassContext *c, RunningTask *out)
{
	PyObject   *loop,
			   *task;
	Py_ssize_t	pos = 0;
	int			n = 0;

	if (c->current_tasks == NULL || c->task_type == NULL)
		return 0;
	while (n < MAX_RUNNING_LOOPS &&
		   PyDict_Next(c->current_tasks, &pos, &loop, &task))
	{
		PyObject   *ident_obj,
				   *name,
				   *frame_name;
		uint32_t	frame;

		if (Py_TYPE(loop)->tp_getattro != PyObject_GenericGetAttr ||
			!Py_IS_TYPE(task, c->task_type))
			continue;
		ident_obj = PyObject_GenericGetAttr(loop, c->thread_id_name);
		if (ident_obj == NULL || !PyLong_Check(ident_obj))
		{
			Py_XDECREF(ident_obj);
			PyErr_Clear();
			continue;
		}
		out[n].ident = PyLong_AsUnsignedLong(ident_obj);
		Py_DECREF(ident_obj);
		name = PyObject_CallOneArg(c->task_get_name, task);
		frame_name = name != NULL && PyUnicode_Check(name) ?
			task_frame_name(name) : NULL;
		Py_XDECREF(name);
		PyErr_Clear();
		if (frame_name == NULL)
			continue;
		frame = intern_named_frame(&d->intern, V1_FRAME_TASK, frame_name);
		Py_DECREF(frame_name);
		out[n].root = frame != 0 ? intern_stack(&d->intern, 0, frame, 0) : 0;
		if (out[n].root != 0)
			n++;
	}
	return n;
}

static int
is_idle_code(const PassContext *c, PyCodeObject *code)
{
	int			i;

	for (i = 0; i < c->nidle_codes; i++)
	{
		if ((PyObject *) code == c->idle_codes[i])
			return 1;
	}
	return 0;
}

/* The on-CPU flag of a sample at now_ns (see the head of this file). */
static uint8_t
on_cpu_flag(ThreadInfo *th, int holds_gil, int idle, int64_t now_ns)
{
	if (th->last_cpu_ns < 0 || now_ns - th->last_cpu_at_ns >= CPU_WINDOW_NS)
	{
		int64_t		cpu = thread_cpu_ns(th->native_id);

		/* busy in C code without the GIL: its clock ran most of the time */
		th->busy_without_gil = cpu >= 0 && th->last_cpu_ns >= 0 &&
			(cpu - th->last_cpu_ns) * 4 >= (now_ns - th->last_cpu_at_ns) * 3;
		th->last_cpu_ns = cpu;
		th->last_cpu_at_ns = now_ns;
	}
	if (idle)
		return 0;
	if (holds_gil || th->busy_without_gil)
		return V1_SAMPLE_ON_CPU;
	return 0;
}

static int
append_sample(ProfileData *d, ThreadInfo *th, const StackSample *s)
{
	if (th->nsamples >= PROFILE_MAX_PENDING)
	{
		d->samples_dropped++;
		return 0;
	}
	if (th->nsamples == th->samples_cap)
	{
		int			cap = th->samples_cap == 0 ? 64 : th->samples_cap * 2;
		StackSample *grown = realloc(th->samples, cap * sizeof(StackSample));

		if (grown == NULL)
		{
			d->samples_dropped++;
			return 0;
		}
		th->samples = grown;
		th->samples_cap = cap;
	}
	th->samples[th->nsamples++] = *s;
	return 1;
}

/* The stack of ts now, hung from root; 0 when it has no Python frame. */
static uint32_t
thread_stack(ProfileData *d, ThreadInfo *th, PyThreadState *ts,
			 uint32_t root, FrameRef *refs, int *nrefs)
{
	int			cut;
	int			n = frame_walk(ts, refs, FRAME_WALK_MAX, &cut);

	*nrefs = n;
	if (cut && d->truncated_frame != 0)
		root = intern_stack(&d->intern, root, d->truncated_frame, 0);
	if (n == 0)
		return root;
	if (th->cache == NULL)
		th->cache = calloc(1, sizeof(WalkCache));
	return intern_walk(&d->intern, root, refs, n, th->cache);
}

/*
 * Sample every thread of c->interp (or those in a sampling scope) at
 * now_ns; returns how many samples were taken.  Threads not met in this
 * pass have ended: their last samples go with the next flush.
 */
int
sample_pass(ProfileData *d, const PassContext *c, int64_t now_ns,
			int64_t wall_us)
{
	RunningTask tasks[MAX_RUNNING_LOOPS];
	int			ntasks = running_tasks(d, c, tasks);
	uint64_t	rss = resident_bytes_from(c->statm_fd);
	FrameRef	refs[FRAME_WALK_MAX];
	PyThreadState *ts;
	int64_t		weight_ns = d->last_pass_ns != 0 ? now_ns - d->last_pass_ns :
		c->period_ns;
	uint32_t	weight_us = weight_ns <= 0 ? 0 :
		weight_ns / 1000 > 0xFFFFFFFFLL ? 0xFFFFFFFFU :
		(uint32_t) (weight_ns / 1000);
	int			taken = 0;
	int			named = 1;
	int			i;

	d->pass++;
	for (ts = PyInterpreterState_ThreadHead(c->interp); ts != NULL;
		 ts = PyThreadState_Next(ts))
	{
		unsigned long ident = ts->thread_id;
		KeyEntry   *known = keytable_find(&d->thread_by_ident, ident, 1);
		ThreadInfo *th;
		StackSample s;
		uint32_t	root = 0;
		int			nrefs,
					cut;

		if (ts == c->own)
			continue;
		if (known != NULL && d->threads[known->value]->tstate == ts)
			d->threads[known->value]->seen = d->pass;	/* alive */
		if (!c->all_threads && keytable_find(c->scopes, ident, 1) == NULL)
			continue;
		/*
		 * A thread state without a Python frame has nothing to show: a
		 * thread not started yet (its state is made by its parent, with the
		 * parent's ident until it runs), or a C thread between calls.
		 */
		nrefs = frame_walk(ts, refs, 1, &cut);
		if (nrefs == 0)
			continue;
		th = profile_thread(d, ident, ts);
		if (th == NULL)
		{
			d->samples_dropped++;
			continue;
		}
		th->seen = d->pass;
		if (th->sampled != d->pass - 1)
			th->last_cpu_ns = -1;	/* no interval of its own to measure */
		th->sampled = d->pass;
		for (i = 0; i < ntasks; i++)
		{
			if (tasks[i].ident == ident)
				root = tasks[i].root;
		}
		s.stack = thread_stack(d, th, ts, root, refs, &nrefs);
		s.wall_us = wall_us;
		s.weight_us = weight_us;
		s.rss_bytes = rss;
		s.flags = on_cpu_flag(th, ts == c->holder,
							  nrefs > 0 && is_idle_code(c, refs[0].code),
							  now_ns);
		taken += append_sample(d, th, &s);
	}
	for (i = 0; i < d->nthreads; i++)
	{
		ThreadInfo *th = d->threads[i];

		if (th->seen != d->pass && th->tstate != NULL)
			th->gone = 1;
		if (th->name == NULL && th->name_tries < 8)
			named = 0;
	}
	if (!named)
		profile_thread_names(d, 0);
	d->last_pass_ns = now_ns;
	return taken;
}
