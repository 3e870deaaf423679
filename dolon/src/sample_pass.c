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
 * On CPU.  At the instant of a sample every other thread is stopped (it
 * waits for the GIL or for I/O), so the instant says nothing; the thread's
 * CPU clock over the interval does.  Each sample gets the CPU time its
 * thread used since the previous one as credit, and is flagged on CPU when
 * the credit covers half of its weight, which then leaves the credit: the
 * flagged weight follows the CPU time used (error diffusion), so a thread
 * that shares the GIL three ways is on CPU in a third of its samples, not
 * in none.  A thread whose innermost frame is the event loop's selector is
 * idle at that instant whatever its credit, which it keeps for its next
 * busy samples.
 *
 * asyncio.  The task each running event loop is in (asyncio's own
 * {loop: task} table) is the outermost frame of its thread's stack, as a
 * frame of kind task named after it; auto-generated names ("Task-17") all
 * become "Task", or every task of a server would be a frame of its own.
 */
#include "sample_pass.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame_walk.h"
#include "wire.h"

#define MAX_RUNNING_LOOPS 32

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
	unsigned long long size,
				resident;
	ssize_t		n;

	if (statm_fd < 0)
		return 0;
	n = pread(statm_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	if (page_size == 0)
		page_size = sysconf(_SC_PAGESIZE);
	return (uint64_t) resident * (uint64_t) page_size;
}

/*
 * A thread's CPU clock by its kernel id: the clock id glibc's
 * pthread_getcpuclockid makes from a thread's tid (a per-thread CPUCLOCK_SCHED
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

/* The on-CPU flag of a sample (see the head of this file). */
static uint8_t
on_cpu_flag(ThreadInfo *th, int64_t weight_us, int idle, int64_t period_ns)
{
	int64_t		cpu = thread_cpu_ns(th->native_id);
	int64_t		bound = 4 * (period_ns / 1000) + weight_us;
	uint8_t		flag = 0;

	if (cpu < 0)
	{
		th->last_cpu_ns = -1;
		return 0;				/* not known: not claimed */
	}
	if (th->last_cpu_ns < 0)
	{
		/* its first sample: no interval to measure yet */
		th->last_cpu_ns = cpu;
		return idle ? 0 : V1_SAMPLE_ON_CPU;
	}
	th->credit_us += (cpu - th->last_cpu_ns) / 1000;
	th->last_cpu_ns = cpu;
	if (!idle && th->credit_us * 2 >= weight_us)
	{
		flag = V1_SAMPLE_ON_CPU;
		th->credit_us -= weight_us;
	}
	/* keep the credit within a few periods: old CPU time is stale */
	if (th->credit_us > bound)
		th->credit_us = bound;
	if (th->credit_us < -weight_us)
		th->credit_us = -weight_us;
	return flag;
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
		int			nrefs;

		if (ts == c->own)
			continue;
		if (known != NULL && d->threads[known->value]->tstate == ts)
			d->threads[known->value]->seen = d->pass;	/* alive */
		if (!c->all_threads && keytable_find(c->scopes, ident, 1) == NULL)
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
		s.flags = on_cpu_flag(th, weight_us,
							  nrefs > 0 && is_idle_code(c, refs[0].code),
							  c->period_ns);
		taken += append_sample(d, th, &s);
	}
	for (i = 0; i < d->nthreads; i++)
	{
		ThreadInfo *th = d->threads[i];

		if (th->seen != d->pass && th->tstate != NULL)
			th->gone = 1;
	}
	d->last_pass_ns = now_ns;
	return taken;
}
