/*
 * procstat.c
 *	  The built-in measurements, read straight from /proc, the clocks and
 *	  the garbage collector.
 *
 * A BuiltinReader remembers its previous CPU readings, so that CPU
 * percentages cover the time since its last reading (as
 * psutil.cpu_percent(None) does); it takes a first reading when created so
 * its first answer already means something.  Figures match psutil's definitions:
 *	- system CPU %: busy = total - idle - iowait, where total leaves out guest
 *	  time (already counted in user time);
 *	- memory %: (MemTotal - MemAvailable) / MemTotal;
 *	- resident memory from /proc/self/statm.
 *
 * The /proc files are opened once per reader and read again with pread at
 * offset 0, which makes the kernel write them afresh: an open and a close
 * cost more than the read on every tick.  A file of /proc/self opened
 * before a fork describes the parent, so the child opens its own.
 */
#include "procstat.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"

static const char *const proc_paths[PROC_FILES] = {
	"/proc/stat", "/proc/meminfo", "/proc/self/statm", "/proc/self/stat",
	"/proc/self/fd"
};

static void
close_proc_file(ProcFile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* One of the reader's /proc files, opened the first time (and again in a
 * forked child); -1 if it cannot be. */
static int
proc_file(BuiltinReader *r, ProcFileId which)
{
	ProcFile   *f = &r->files[which];

	if (f->fd >= 0 && which >= PROC_SELF_STATM && f->pid != getpid())
		close_proc_file(f);
	if (f->fd < 0)
	{
		f->fd = open(proc_paths[which], O_RDONLY | O_CLOEXEC);
		f->pid = getpid();
	}
	return f->fd;
}

/* Read up to size-1 bytes of one of the reader's /proc files; returns the
 * length or -1. */
static ssize_t
read_proc_file(BuiltinReader *r, ProcFileId which, char *buf, size_t size)
{
	ProcFile   *f = &r->files[which];
	ssize_t		n;

	if (proc_file(r, which) < 0)
		return -1;
	n = pread(f->fd, buf, size - 1, 0);
	if (n < 0)
	{
		close_proc_file(f);		/* opened afresh next time */
		return -1;
	}
	buf[n] = '\0';
	return n;
}

static int
read_system_cpu(BuiltinReader *r, CpuTimes *t)
{
	char		buf[1024];
	unsigned long long v[10] = {0};
	char	   *p;
	int			i;

	if (read_proc_file(r, PROC_STAT, buf, sizeof(buf)) < 0 ||
		strncmp(buf, "cpu ", 4) != 0)
		return -1;
	p = buf + 4;
	for (i = 0; i < 10; i++)
	{
		char	   *end;

		v[i] = strtoull(p, &end, 10);
		if (end == p)
			break;
		p = end;
	}
	if (i < 4)
		return -1;
	/* user nice system idle iowait irq softirq steal guest guest_nice */
	t->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	t->busy = t->total - v[3] - v[4];
	t->wall_ns = dolon_monotonic_ns();
	t->valid = 1;
	return 0;
}

static void
read_process_cpu(CpuTimes *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	t->proc_ns = (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
	t->wall_ns = dolon_monotonic_ns();
	t->valid = 1;
}

static double
system_cpu_percent(BuiltinReader *r)
{
	CpuTimes	now;
	double		busy,
				total;

	if (read_system_cpu(r, &now) < 0)
		return NAN;
	if (!r->prev_system.valid)
	{
		busy = (double) now.busy;
		total = (double) now.total;
	}
	else
	{
		busy = (double) now.busy - (double) r->prev_system.busy;
		total = (double) now.total - (double) r->prev_system.total;
	}
	/* no tick elapsed since the last reading: keep the last answer */
	if (total <= 0)
		return r->last_system_percent;
	r->prev_system = now;
	r->last_system_percent = busy <= 0 ? 0.0 : 100.0 * busy / total;
	return r->last_system_percent;
}

static double
process_cpu_percent(BuiltinReader *r)
{
	CpuTimes	now;
	double		wall;

	read_process_cpu(&now);
	wall = (double) (now.wall_ns - r->prev_process.wall_ns);
	if (!r->prev_process.valid || wall <= 0)
	{
		r->prev_process = now;
		return 0.0;
	}
	r->last_process_percent =
		100.0 * (double) (now.proc_ns - r->prev_process.proc_ns) / wall;
	r->prev_process = now;
	return r->last_process_percent;
}

/* A "Key:   123 kB" line of /proc/meminfo, in kB; -1 if missing. */
static long long
meminfo_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	if (p == NULL)
		return -1;
	return strtoll(p + strlen(key), NULL, 10);
}

static double
virtual_memory_percent(BuiltinReader *r)
{
	char		buf[4096];
	long long	total,
				available;

	if (read_proc_file(r, PROC_MEMINFO, buf, sizeof(buf)) < 0)
		return NAN;
	total = meminfo_field(buf, "MemTotal:");
	available = meminfo_field(buf, "MemAvailable:");
	if (total <= 0 || available < 0)
		return NAN;
	return 100.0 * (double) (total - available) / (double) total;
}

/*
 * The resident pages from the text of /proc/self/statm ("size resident
 * shared ..."), by hand: the stack sampler reads it on every pass, and
 * sscanf was the largest userland part of its own time there.  -1 if
 * malformed.
 */
int
statm_resident_pages(const char *statm, uint64_t *pages)
{
	const char *p = statm;
	uint64_t	v = 0;
	int			digits = 0;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == statm || *p != ' ')
		return -1;
	for (p++; *p >= '0' && *p <= '9'; p++)
	{
		if (++digits > 19)
			return -1;
		v = v * 10 + (uint64_t) (*p - '0');
	}
	if (digits == 0)
		return -1;
	*pages = v;
	return 0;
}

static double
resident_bytes(BuiltinReader *r)
{
	char		buf[256];
	uint64_t	resident;

	if (read_proc_file(r, PROC_SELF_STATM, buf, sizeof(buf)) < 0 ||
		statm_resident_pages(buf, &resident) < 0)
		return NAN;
	return (double) resident * (double) sysconf(_SC_PAGESIZE);
}

static double
thread_count(BuiltinReader *r)
{
	char		buf[1024];
	char	   *p;
	int			field;

	if (read_proc_file(r, PROC_SELF_STAT, buf, sizeof(buf)) < 0)
		return NAN;
	/* the command name may hold spaces and parentheses: skip to the last ) */
	p = strrchr(buf, ')');
	if (p == NULL)
		return NAN;
	/* after ')' come fields 3 (state) onwards; num_threads is field 20 */
	for (field = 2; field < 20 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return NAN;
	return (double) strtol(p + 1, NULL, 10);
}

/*
 * Descriptors open in the process: the entries of /proc/self/fd, read
 * again from the start of the kept directory descriptor.
 */
static double
open_fd_count(BuiltinReader *r)
{
	char		buf[4096];
	int			fd = proc_file(r, PROC_SELF_FD);
	long		count = 0;
	long		n;
	int			i;

	if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return NAN;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
	{
		long		pos = 0;

		while (pos < n)
		{
			struct dirent64 *de = (struct dirent64 *) (buf + pos);

			if (de->d_name[0] != '.')
				count++;
			pos += de->d_reclen;
		}
	}
	if (n < 0)
	{
		close_proc_file(&r->files[PROC_SELF_FD]);
		return NAN;
	}
	/* the /proc files this reader keeps open are not the program's */
	for (i = 0; i < PROC_FILES; i++)
	{
		if (r->files[i].fd >= 0 && r->files[i].pid == getpid())
			count--;
	}
	return (double) count;
}

static double
gc_collections(BuiltinReader *r)
{
	PyObject   *stats;
	PyObject   *key;
	double		total = 0;
	Py_ssize_t	i;

	if (r->gc_get_stats == NULL)
		return NAN;
	stats = PyObject_CallNoArgs(r->gc_get_stats);
	if (stats == NULL || !PyList_Check(stats))
	{
		Py_XDECREF(stats);
		PyErr_Clear();
		return NAN;
	}
	key = PyUnicode_FromString("collections");
	for (i = 0; key != NULL && i < PyList_GET_SIZE(stats); i++)
	{
		PyObject   *generation = PyList_GET_ITEM(stats, i);
		PyObject   *n = PyDict_Check(generation) ?
			PyDict_GetItemWithError(generation, key) : NULL;

		if (n != NULL)
			total += PyLong_AsDouble(n);
	}
	Py_XDECREF(key);
	Py_DECREF(stats);
	PyErr_Clear();
	return total;
}

/* One measurement; NaN when it cannot be read.  Never raises. */
double
builtin_reader_read(BuiltinReader *r, int metric)
{
	switch (metric)
	{
		case BUILTIN_CPU_PERCENT:
			return system_cpu_percent(r);
		case BUILTIN_VIRTUAL_MEMORY_PERCENT:
			return virtual_memory_percent(r);
		case BUILTIN_MEMORY_USE:
			return resident_bytes(r) / (1024.0 * 1024.0 * 1024.0);
		case BUILTIN_RSS_MB:
			return resident_bytes(r) / 1e6;
		case BUILTIN_PROCESS_CPU_PERCENT:
			return process_cpu_percent(r);
		case BUILTIN_THREAD_COUNT:
			return thread_count(r);
		case BUILTIN_OPEN_FDS:
			return open_fd_count(r);
		case BUILTIN_GC_COLLECTIONS:
			return gc_collections(r);
	}
	return NAN;
}

static void
builtin_reader_prime(BuiltinReader *r)
{
	r->prev_system.valid = 0;
	r->prev_process.valid = 0;
	r->last_system_percent = 0.0;
	r->last_process_percent = 0.0;
	read_system_cpu(r, &r->prev_system);
	read_process_cpu(&r->prev_process);
}

static PyObject *
builtin_reader_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
	DolonState *st = PyType_GetModuleState(type);
	BuiltinReader *r;
	int			i;

	if (kwds != NULL && PyDict_GET_SIZE(kwds) > 0)
		return PyErr_Format(PyExc_TypeError,
							"BuiltinReader() takes no arguments");
	if (!PyArg_ParseTuple(args, ":BuiltinReader"))
		return NULL;
	r = (BuiltinReader *) type->tp_alloc(type, 0);
	if (r == NULL)
		return NULL;
	for (i = 0; i < PROC_FILES; i++)
		r->files[i].fd = -1;
	r->gc_get_stats = st != NULL ? Py_XNewRef(st->gc_get_stats) : NULL;
	builtin_reader_prime(r);
	return (PyObject *) r;
}

static void
builtin_reader_dealloc(BuiltinReader *r)
{
	PyTypeObject *tp = Py_TYPE(r);
	int			i;

	for (i = 0; i < PROC_FILES; i++)
		close_proc_file(&r->files[i]);
	Py_XDECREF(r->gc_get_stats);
	tp->tp_free((PyObject *) r);
	Py_DECREF(tp);
}

static PyObject *
builtin_reader_py_read(BuiltinReader *r, PyObject *arg)
{
	long		metric = PyLong_AsLong(arg);

	if (metric == -1 && PyErr_Occurred())
		return NULL;
	if (metric <= 0 || metric >= BUILTIN_LAST)
		return PyErr_Format(PyExc_ValueError, "unknown built-in metric %ld",
							metric);
	return PyFloat_FromDouble(builtin_reader_read(r, (int) metric));
}

static PyMethodDef builtin_reader_methods[] = {
	{"read", (PyCFunction) builtin_reader_py_read, METH_O,
	"read(metric) -> float: one built-in measurement (NaN if unreadable)"},
	{NULL}
};

static PyType_Slot builtin_reader_slots[] = {
	{Py_tp_new, builtin_reader_new},
	{Py_tp_dealloc, builtin_reader_dealloc},
	{Py_tp_methods, builtin_reader_methods},
	{Py_tp_doc, "BuiltinReader(): reads built-in measurements; CPU percentages "
	"cover the time since this reader's previous reading."},
	{0, NULL}
};

static PyType_Spec builtin_reader_spec = {
	.name = "dolon._core.BuiltinReader",
	.basicsize = sizeof(BuiltinReader),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = builtin_reader_slots,
};

int
dolon_procstat_init_types(PyObject *module, DolonState *st)
{
	static const struct
	{
		const char *name;
		int			value;
	}			codes[] = {
		{"CPU_PERCENT", BUILTIN_CPU_PERCENT},
		{"VIRTUAL_MEMORY_PERCENT", BUILTIN_VIRTUAL_MEMORY_PERCENT},
		{"MEMORY_USE", BUILTIN_MEMORY_USE},
		{"PROCESS_CPU_PERCENT", BUILTIN_PROCESS_CPU_PERCENT},
		{"THREAD_COUNT", BUILTIN_THREAD_COUNT},
		{"OPEN_FDS", BUILTIN_OPEN_FDS},
		{"GC_COLLECTIONS", BUILTIN_GC_COLLECTIONS},
		{"RSS_MB", BUILTIN_RSS_MB},
	};
	size_t		i;

	st->builtin_reader_type = (PyTypeObject *)
		PyType_FromModuleAndSpec(module, &builtin_reader_spec, NULL);
	if (st->builtin_reader_type == NULL ||
		PyModule_AddObjectRef(module, "BuiltinReader",
							  (PyObject *) st->builtin_reader_type) < 0)
		return -1;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
	{
		if (PyModule_AddIntConstant(module, codes[i].name, codes[i].value) < 0)
			return -1;
	}
	return 0;
}
