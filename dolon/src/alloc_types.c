/*
 * alloc_types.c
 *	  Finding the type of the object a sampled block holds.
 *
 * Looking into the block.  An object sits in its block after a pre-header
 * whose size depends on its type: the garbage collector's link for types
 * with Py_TPFLAGS_HAVE_GC, and from 3.11 two more words for a managed
 * dictionary (3.12: or weak references).  The type is not known until the
 * object is, so each possible pre-header size is tried: the word where
 * ob_type would be must point at a ready type object whose own pre-header
 * is that size and whose basic size fits the block.  Those words may be
 * anything when the block holds no object (a list's item array, a bytes
 * payload), so a pointer is followed only when it is a type this run has
 * met already (held, hence valid) or when the kernel confirms it can be
 * read: process_vm_readv on ourselves, or writing it into a pipe where
 * that call is forbidden (some container seccomp profiles).  A block that
 * passes no test holds no object; its stack still says who made it.
 *
 * On 3.13, PyRefTracer tells us instead: right after a sampled block of
 * the object domain is handed out, a tracer is set that waits for the next
 * object created on that thread, and if that object sits in the block, its
 * type is the answer.  The tracer is only set while such an answer is
 * awaited, so it costs nothing the rest of the time; a tracer someone else
 * set (tracemalloc) is left alone and the block is looked into instead.
 */
#include "alloc_types.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

/* PyGC_Head: two words on every supported version */
#define GC_HEAD_SIZE (2 * sizeof(uintptr_t))

/* The pre-header size of type's objects, from its flags. */
static size_t
preheader_size(unsigned long flags)
{
	size_t		size = (flags & Py_TPFLAGS_HAVE_GC) ? GC_HEAD_SIZE : 0;

#if PY_VERSION_HEX >= 0x030C0000
	if (flags & Py_TPFLAGS_PREHEADER)
		size += 2 * sizeof(PyObject *);
#elif PY_VERSION_HEX >= 0x030B0000
	if (flags & Py_TPFLAGS_MANAGED_DICT)
		size += 2 * sizeof(PyObject *);
#endif
	return size;
}

/* ------------------------------------------------------------------------
 * Reading memory that may not be there
 * ------------------------------------------------------------------------ */

static int	vm_readv_works = 1;
static int	probe_pipe[2] = {-1, -1};
static pid_t probe_pipe_pid;

/* Copy len bytes at addr into buf; -1 if they cannot be read. */
static int
read_checked(const void *addr, void *buf, size_t len)
{
	struct iovec local = {buf, len};
	struct iovec remote = {(void *) addr, len};
	ssize_t		n;

	if (vm_readv_works)
	{
		n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		if (n == (ssize_t) len)
			return 0;
		if (n >= 0 || errno == EFAULT)
			return -1;
		vm_readv_works = 0;		/* ENOSYS, EPERM: use the pipe from now */
	}
	/* a pipe of our own: the child of a fork makes its own */
	if (probe_pipe[0] < 0 || probe_pipe_pid != getpid())
	{
		if (probe_pipe[0] >= 0 && probe_pipe_pid != getpid())
		{
			close(probe_pipe[0]);
			close(probe_pipe[1]);
		}
		if (pipe2(probe_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		{
			probe_pipe[0] = probe_pipe[1] = -1;
			return -1;
		}
		probe_pipe_pid = getpid();
	}
	/* the kernel copies from addr, or answers EFAULT */
	n = write(probe_pipe[1], addr, len);
	if (n != (ssize_t) len)
	{
		if (n > 0)
		{
			char		drain[64];

			while (read(probe_pipe[0], drain, sizeof(drain)) > 0)
				;
		}
		return -1;
	}
	return read(probe_pipe[0], buf, len) == (ssize_t) len ? 0 : -1;
}

/* Is t a ready type object?  Only dereferences it once that is known. */
static int
is_type_object(ProfileData *d, PyTypeObject *t)
{
	PyObject	head;
	PyObject	meta_head;
	unsigned long flags;

	if (t == NULL || ((uintptr_t) t & (sizeof(void *) - 1)) != 0)
		return 0;
	if (t == &PyType_Type ||
		keytable_find(&d->types.by_type, (uintptr_t) t, 1) != NULL)
		return 1;				/* held by the type table: alive */
	if (read_checked(t, &head, sizeof(head)) < 0)
		return 0;
	if (head.ob_type != &PyType_Type)
	{
		/* a metaclass, itself an instance of type */
		PyTypeObject *meta = head.ob_type;

		if (meta == NULL || ((uintptr_t) meta & (sizeof(void *) - 1)) != 0 ||
			read_checked(meta, &meta_head, sizeof(meta_head)) < 0 ||
			meta_head.ob_type != &PyType_Type ||
			read_checked(&meta->tp_flags, &flags, sizeof(flags)) < 0 ||
			!(flags & Py_TPFLAGS_TYPE_SUBCLASS))
			return 0;
	}
	if (read_checked(&t->tp_flags, &flags, sizeof(flags)) < 0 ||
		!(flags & Py_TPFLAGS_READY))
		return 0;
	return 1;
}

/*
 * The type of the object in block (size bytes), or NULL when it holds none
 * that can be recognised.  With the GIL held; the block is still allocated.
 */
PyTypeObject *
alloc_type_in_block(ProfileData *d, const void *block, size_t size)
{
	static const size_t offsets[] = {0, GC_HEAD_SIZE,
	GC_HEAD_SIZE + 2 * sizeof(PyObject *)};
	size_t		i;

	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
	{
		size_t		off = offsets[i];
		PyTypeObject *t;

		if (off + sizeof(PyObject) > size)
			break;
		/* the block is ours to read as far as size */
		t = ((const PyObject *) ((const char *) block + off))->ob_type;
		if (!is_type_object(d, t))
			continue;
		if (preheader_size(t->tp_flags) != off ||
			t->tp_basicsize < (Py_ssize_t) sizeof(PyObject) ||
			(size_t) t->tp_basicsize + off > size)
			continue;
		d->types_looked++;
		return t;
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * 3.13: the next object created on the allocating thread
 * ------------------------------------------------------------------------ */

#if PY_VERSION_HEX >= 0x030D0000 && !defined(Py_GIL_DISABLED)

#define MAX_WATCHED 16

typedef struct Watched
{
	unsigned long ident;		/* the allocating thread */
	const char *block;
	uint64_t	alloc_id;
} Watched;

static Watched watched[MAX_WATCHED];	/* with the GIL held */
static int	nwatched;
static ProfileData *watched_data;

static int	watch_created(PyObject *op, PyRefTracerEvent event, void *arg);

static void
stop_tracer_if_ours(void)
{
	void	   *data;

	if (PyRefTracer_GetTracer(&data) == watch_created)
		PyRefTracer_SetTracer(NULL, NULL);
}

static int
watch_created(PyObject *op, PyRefTracerEvent event, void *arg)
{
	unsigned long ident;
	int			i;

	if (event != PyRefTracer_CREATE)
		return 0;
	ident = PyThread_get_thread_ident();
	for (i = 0; i < nwatched; i++)
	{
		PyTypeObject *type;
		AllocRecord *r;

		if (watched[i].ident != ident)
			continue;
		type = Py_TYPE(op);
		r = profile_alloc_record(watched_data, watched[i].alloc_id);
		/* the object in the block, or else the block holds none */
		if (r != NULL && !r->looked &&
			(const char *) op - preheader_size(type->tp_flags) ==
			watched[i].block)
		{
			r->found = (PyTypeObject *) Py_NewRef(type);
			r->looked = 1;
			watched_data->types_created++;
		}
		watched[i] = watched[--nwatched];
		break;
	}
	if (nwatched == 0)
		stop_tracer_if_ours();
	return 0;
}

/* Learn r's type from the next object its thread creates, when we can. */
void
alloc_type_watch(ProfileData *d, AllocRecord *r)
{
	void	   *data;
	PyRefTracer current = PyRefTracer_GetTracer(&data);

	if (r->domain != PYMEM_DOMAIN_OBJ || nwatched == MAX_WATCHED ||
		(current != NULL && current != watch_created))
		return;					/* looked into later instead */
	if (current == NULL && PyRefTracer_SetTracer(watch_created, NULL) < 0)
	{
		PyErr_Clear();
		return;
	}
	watched_data = d;
	watched[nwatched].ident = r->ident;
	watched[nwatched].block = r->block;
	watched[nwatched].alloc_id = r->id;
	nwatched++;
}

/* Stop waiting: at a flush, what was not answered is looked into. */
void
alloc_type_unwatch_all(void)
{
	nwatched = 0;
	watched_data = NULL;
	stop_tracer_if_ours();
}

#else							/* before 3.13: looking into blocks only */

void
alloc_type_watch(ProfileData *d, AllocRecord *r)
{
}

void
alloc_type_unwatch_all(void)
{
}

#endif
