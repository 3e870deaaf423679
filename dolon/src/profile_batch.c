/*
 * profile_batch.c
 *	  Flushing a run's profile: the definitions that are due, then each
 *	  thread's stack samples, the sampled allocations by thread, and the
 *	  frees, packed into datagrams of at most max_datagram bytes.
 *
 * Definitions go first, so that a datagram's samples usually find their
 * stacks defined in the same or an earlier datagram (the server keeps a
 * sample whose stack is not defined yet, so this is for latency, not for
 * correctness).  A message that does not fit the datagram being packed is
 * closed there and continued in the next one; a single entry too large for
 * an empty datagram of max_datagram bytes (a frame with two long names)
 * goes out alone in a larger one, of at most largest bytes, as v1_batch.c
 * does for wide ticks.  Both limits leave room for what the sink appends:
 * a signed run's AUTH trailer (sender.c).
 *
 * What was measured is taken out of the ProfileData before packing starts:
 * packing drops references (to types, say), which may free the program's
 * objects, which the allocation hooks then record -- into the fresh lists.
 */
#include "profile_batch.h"

#include <stdlib.h>
#include <string.h>

#include "alloc_sampler.h"
#include "udp.h"
#include "wire.h"

typedef struct Packer
{
	uint8_t    *out;			/* DOLON_MAX_DATAGRAM bytes */
	size_t		len;
	int			nmessages;
	size_t		max;
	size_t		largest;		/* for one message too large for max */
	DatagramSink sink;
	void	   *arg;
	int			failed;			/* the sink refused: pack nothing more */
	ProfileFlushStats *stats;
} Packer;

/* One message being packed. */
typedef struct Msg
{
	size_t		start;			/* where its header is in out */
	size_t		fixed;			/* the size of its body's fixed part */
	uint8_t		kind;
	int			count;
} Msg;

static void
packer_send(Packer *pk)
{
	if (pk->nmessages > 0 && !pk->failed)
	{
		Py_ssize_t	sent = pk->sink(pk->arg, pk->out, pk->len,
									(uint16_t) pk->nmessages);

		if (sent < 0)
			pk->failed = 1;
		else
		{
			pk->stats->datagrams++;
			pk->stats->bytes += (uint64_t) sent;
		}
	}
	pk->len = V1_HEADER_SIZE;
	pk->nmessages = 0;
}

/* Start a message, in a new datagram if this one has no room for it. */
static void
msg_open(Packer *pk, Msg *m, uint8_t kind, size_t fixed, size_t first_entry)
{
	if (pk->nmessages > 0 &&
		pk->len + V1_MSG_HEADER_SIZE + fixed + first_entry > pk->max)
		packer_send(pk);
	m->start = pk->len;
	m->fixed = fixed;
	m->kind = kind;
	m->count = 0;
	pk->len += V1_MSG_HEADER_SIZE + fixed;
}

/* Room for an entry of size bytes in m, or NULL: close m, and go on. */
static uint8_t *
msg_entry(Packer *pk, Msg *m, size_t size)
{
	uint8_t    *p;

	if (m->count == 0xFFFF ||
		(pk->len + size > pk->max &&
		 (m->count > 0 || pk->nmessages > 0 ||
		  pk->len + size > pk->largest)))
		return NULL;
	p = pk->out + pk->len;
	pk->len += size;
	m->count++;
	return p;
}

/*
 * Finish m: its header; the caller then writes the fixed part (which holds
 * the count) at the returned pointer.  NULL when m is empty (it is undone).
 */
static uint8_t *
msg_close(Packer *pk, Msg *m)
{
	uint8_t    *head = pk->out + m->start;

	if (m->count == 0)
	{
		pk->len = m->start;
		return NULL;
	}
	wire_message_header(head, m->kind,
						(uint16_t) (pk->len - m->start - V1_MSG_HEADER_SIZE));
	pk->nmessages++;
	return head + V1_MSG_HEADER_SIZE;
}

/* ------------------------------------------------------------------------
 * Definitions
 * ------------------------------------------------------------------------ */

/* UTF-8 of a str within the protocol's limits (clipped, NUL-free). */
static const char *
utf8_of(PyObject *str, size_t *len, PyObject **keep)
{
	Py_ssize_t	n = 0;
	const char *s = NULL;
	const char *nul;

	*keep = NULL;
	if (str != NULL && PyUnicode_Check(str))
	{
		s = PyUnicode_AsUTF8AndSize(str, &n);
		if (s == NULL)
		{
			/* lone surrogates (undecodable file names): replace them */
			PyErr_Clear();
			*keep = PyUnicode_AsEncodedString(str, "utf-8", "replace");
			if (*keep != NULL)
			{
				s = PyBytes_AS_STRING(*keep);
				n = PyBytes_GET_SIZE(*keep);
			}
			PyErr_Clear();
		}
	}
	if (s == NULL)
	{
		*len = 0;
		return "";
	}
	nul = memchr(s, '\0', (size_t) n);
	*len = wire_clip_utf8(s, nul != NULL ? (size_t) (nul - s) : (size_t) n,
						  DOLON_MAX_NAME);
	return s;
}

static void
pack_frame(Packer *pk, Msg *m, const InternTables *t, uint32_t id)
{
	const FrameDef *f = intern_frame(t, id);
	PyObject   *name_obj = f->name;
	PyObject   *file_obj = NULL;
	PyObject   *keep_name,
			   *keep_file;
	uint32_t	first_line = 0;
	const char *name,
			   *file;
	size_t		name_len,
				file_len;
	uint8_t    *p;

	if (f->code != NULL)
	{
		PyCodeObject *code = (PyCodeObject *) f->code;

		name_obj = frame_code_name(code);
		file_obj = code->co_filename;
		first_line = code->co_firstlineno > 0 ? code->co_firstlineno : 0;
	}
	name = utf8_of(name_obj, &name_len, &keep_name);
	file = utf8_of(file_obj, &file_len, &keep_file);
	p = msg_entry(pk, m, V1_FRAME_FIXED + 4 + name_len + file_len);
	if (p == NULL)
	{
		if ((p = msg_close(pk, m)) != NULL)
			wire_defs_fixed(p, (uint16_t) m->count);
		packer_send(pk);
		msg_open(pk, m, V1_FRAMES, V1_DEFS_FIXED, 0);
		p = msg_entry(pk, m, V1_FRAME_FIXED + 4 + name_len + file_len);
	}
	if (p != NULL)
		wire_put_frame(p, id, first_line, f->kind, name, name_len, file,
					   file_len);
	pk->stats->definitions++;
	Py_XDECREF(keep_name);
	Py_XDECREF(keep_file);
}

/* A message of fixed-size entries for a range of ids, split as needed. */
typedef void (*PutEntry) (uint8_t *p, const void *arg, uint32_t id);

static void
pack_fixed_defs(Packer *pk, uint8_t kind, size_t entry, uint32_t from,
				uint32_t to, PutEntry put, const void *arg)
{
	Msg			m;
	uint32_t	id;
	uint8_t    *p;

	if (from >= to)
		return;
	msg_open(pk, &m, kind, V1_DEFS_FIXED, entry);
	for (id = from; id < to; id++)
	{
		p = msg_entry(pk, &m, entry);
		if (p == NULL)
		{
			if ((p = msg_close(pk, &m)) != NULL)
				wire_defs_fixed(p, (uint16_t) m.count);
			packer_send(pk);
			msg_open(pk, &m, kind, V1_DEFS_FIXED, entry);
			p = msg_entry(pk, &m, entry);
		}
		put(p, arg, id);
		pk->stats->definitions++;
	}
	if ((p = msg_close(pk, &m)) != NULL)
		wire_defs_fixed(p, (uint16_t) m.count);
}

static void
put_stack(uint8_t *p, const void *arg, uint32_t id)
{
	const StackDef *s = intern_stack_def(arg, id);

	wire_put_stack(p, id, s->parent, s->frame, s->line);
}

/* intern_due's callback: a cohort's frames, then its stacks. */
static int
pack_cohort(void *arg, uint32_t frames_from, uint32_t frames_to,
			uint32_t stacks_from, uint32_t stacks_to)
{
	Packer	   *pk = ((void **) arg)[0];
	const InternTables *t = ((void **) arg)[1];
	uint32_t	id;
	Msg			m;
	uint8_t    *p;

	if (frames_from < frames_to)
	{
		msg_open(pk, &m, V1_FRAMES, V1_DEFS_FIXED, V1_FRAME_FIXED + 4);
		for (id = frames_from; id < frames_to; id++)
			pack_frame(pk, &m, t, id);
		if ((p = msg_close(pk, &m)) != NULL)
			wire_defs_fixed(p, (uint16_t) m.count);
	}
	pack_fixed_defs(pk, V1_STACKS, V1_STACK_SIZE, stacks_from, stacks_to,
					put_stack, t);
	return pk->failed ? -1 : 0;
}

/* THREADS, every thread the run knows, when due. */
static void
pack_threads(Packer *pk, ProfileData *d, int64_t now_us)
{
	Msg			m;
	uint8_t    *p;
	int			i;

	if (d->nthreads == 0 || !describe_schedule_due(&d->threads_schedule, now_us))
		return;
	msg_open(pk, &m, V1_THREADS, V1_DEFS_FIXED, V1_THREAD_FIXED + 2);
	for (i = 0; i < d->nthreads; i++)
	{
		ThreadInfo *th = d->threads[i];
		PyObject   *keep;
		size_t		len;
		const char *name = utf8_of(th->name, &len, &keep);

		p = msg_entry(pk, &m, V1_THREAD_FIXED + 2 + len);
		if (p == NULL)
		{
			if ((p = msg_close(pk, &m)) != NULL)
				wire_defs_fixed(p, (uint16_t) m.count);
			packer_send(pk);
			msg_open(pk, &m, V1_THREADS, V1_DEFS_FIXED, V1_THREAD_FIXED + 2);
			p = msg_entry(pk, &m, V1_THREAD_FIXED + 2 + len);
		}
		if (p != NULL)
			wire_put_thread(p, th->id, th->native_id, name, len);
		pk->stats->definitions++;
		Py_XDECREF(keep);
	}
	if ((p = msg_close(pk, &m)) != NULL)
		wire_defs_fixed(p, (uint16_t) m.count);
	describe_schedule_sent(&d->threads_schedule, now_us);
}

/* A type's name: the module-qualified name of a class, else tp_name. */
static PyObject *
type_name(PyObject *t)
{
	PyTypeObject *type = (PyTypeObject *) t;
	PyObject   *module;

	if (PyUnicode_Check(t))
		return Py_NewRef(t);
	if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE))
		return PyUnicode_FromString(type->tp_name);
	module = type->tp_dict != NULL ?
		PyDict_GetItemString(type->tp_dict, "__module__") : NULL;
	if (module != NULL && PyUnicode_Check(module) &&
		PyUnicode_CompareWithASCIIString(module, "builtins") != 0)
		return PyUnicode_FromFormat("%U.%U", module,
									((PyHeapTypeObject *) type)->ht_qualname);
	return Py_NewRef(((PyHeapTypeObject *) type)->ht_qualname);
}

/* ALLOC_TYPES, every type met so far, when due. */
static void
pack_types(Packer *pk, ProfileData *d, int64_t now_us)
{
	TypeTable  *types = &d->types;
	Msg			m;
	uint8_t    *p;
	uint32_t	id;

	if (types->ntypes == 0 || !describe_schedule_due(&types->schedule, now_us))
		return;
	msg_open(pk, &m, V1_ALLOC_TYPES, V1_DEFS_FIXED, V1_ALLOC_TYPE_FIXED + 2);
	for (id = 1; id <= types->ntypes; id++)
	{
		PyObject   *name = type_name(types->types[id - 1]);
		PyObject   *keep;
		size_t		len;
		const char *s;

		PyErr_Clear();
		s = utf8_of(name, &len, &keep);
		p = msg_entry(pk, &m, V1_ALLOC_TYPE_FIXED + 2 + len);
		if (p == NULL)
		{
			if ((p = msg_close(pk, &m)) != NULL)
				wire_defs_fixed(p, (uint16_t) m.count);
			packer_send(pk);
			msg_open(pk, &m, V1_ALLOC_TYPES, V1_DEFS_FIXED,
					 V1_ALLOC_TYPE_FIXED + 2);
			p = msg_entry(pk, &m, V1_ALLOC_TYPE_FIXED + 2 + len);
		}
		if (p != NULL)
			wire_put_alloc_type(p, id, s, len);
		pk->stats->definitions++;
		Py_XDECREF(keep);
		Py_XDECREF(name);
	}
	if ((p = msg_close(pk, &m)) != NULL)
		wire_defs_fixed(p, (uint16_t) m.count);
	describe_schedule_sent(&types->schedule, now_us);
}

/* ------------------------------------------------------------------------
 * Samples, allocations, frees
 * ------------------------------------------------------------------------ */

/*
 * A message of timed entries (STACK_SAMPLES, ALLOCS, FREES) in progress:
 * its base time, and the thread it is about (0 for FREES).
 */
typedef struct TimedMsg
{
	Msg			m;
	int64_t		base_us;
	uint32_t	thread;
	int			open;
} TimedMsg;

static void
timed_close(Packer *pk, TimedMsg *tm)
{
	uint8_t    *p;

	if (!tm->open)
		return;
	tm->open = 0;
	if ((p = msg_close(pk, &tm->m)) == NULL)
		return;
	if (tm->m.kind == V1_FREES)
		wire_frees_fixed(p, tm->base_us, (uint16_t) tm->m.count);
	else
		wire_samples_fixed(p, tm->base_us, tm->thread, (uint16_t) tm->m.count);
}

/*
 * Room for one entry at wall_us: a new message when none is open, when the
 * time does not fit a u32 offset from the base (the wall clock may step
 * back), or when the datagram is full.  *offset gets the entry's offset.
 */
static uint8_t *
timed_entry(Packer *pk, TimedMsg *tm, uint8_t kind, size_t entry,
			int64_t wall_us, uint32_t *offset)
{
	size_t		fixed = kind == V1_FREES ? V1_FREES_FIXED : V1_SAMPLES_FIXED;
	uint8_t    *p = NULL;

	if (tm->open &&
		(wall_us < tm->base_us || wall_us - tm->base_us > 0xFFFFFFFFLL))
		timed_close(pk, tm);
	if (tm->open && (p = msg_entry(pk, &tm->m, entry)) == NULL)
	{
		timed_close(pk, tm);
		packer_send(pk);
	}
	if (!tm->open)
	{
		msg_open(pk, &tm->m, kind, fixed, entry);
		tm->base_us = wall_us;
		tm->open = 1;
		p = msg_entry(pk, &tm->m, entry);
	}
	*offset = (uint32_t) (wall_us - tm->base_us);
	return p;
}

static void
pack_samples(Packer *pk, ThreadInfo *th, StackSample *samples, int n)
{
	TimedMsg	tm = {.thread = th->id};
	int			i;

	for (i = 0; i < n; i++)
	{
		StackSample *s = &samples[i];
		uint32_t	offset;
		uint8_t    *p = timed_entry(pk, &tm, V1_STACK_SAMPLES,
									V1_STACK_SAMPLE_SIZE, s->wall_us, &offset);

		if (p != NULL)
			wire_put_stack_sample(p, offset, s->stack, s->weight_us, s->flags,
								  s->rss_bytes);
	}
	timed_close(pk, &tm);
	pk->stats->samples += n;
}

/* The allocations of one thread (wire id thread), among n records. */
static void
pack_allocs_of(Packer *pk, AllocRecord *allocs, int n, unsigned long ident,
			   uint32_t thread)
{
	TimedMsg	tm = {.thread = thread};
	int			i;

	for (i = 0; i < n; i++)
	{
		AllocRecord *r = &allocs[i];
		uint32_t	offset;
		uint8_t    *p;

		if (r->ident != ident || r->id == 0)
			continue;
		p = timed_entry(pk, &tm, V1_ALLOCS, V1_ALLOC_SIZE, r->wall_us, &offset);
		if (p != NULL)
			wire_put_alloc(p, offset, r->stack, r->type, r->weight, r->id);
		r->id = 0;				/* packed */
		pk->stats->allocs++;
	}
	timed_close(pk, &tm);
}

static void
pack_frees(Packer *pk, FreeRecord *frees, int n)
{
	TimedMsg	tm = {0};
	int			i;

	for (i = 0; i < n; i++)
	{
		uint32_t	offset;
		uint8_t    *p = timed_entry(pk, &tm, V1_FREES, V1_FREE_SIZE,
									frees[i].wall_us, &offset);

		if (p != NULL)
			wire_put_free(p, offset, frees[i].alloc_id);
	}
	timed_close(pk, &tm);
	pk->stats->frees += n;
}

/*
 * Give every unsent allocation its type id, interning the types found.
 * Before anything is taken out: interning may look up type names.
 */
static void
type_allocations(ProfileData *d)
{
	int			i;

	alloc_sampler_resolve_types(d);
	for (i = 0; i < d->nallocs; i++)
	{
		AllocRecord *r = &d->allocs[i];

		if (r->found != NULL)
		{
			r->type = profile_type_id(d, r->found);
			Py_CLEAR(r->found);
		}
		else
			r->type = profile_buffer_type_id(d);
	}
}

/* ------------------------------------------------------------------------
 * The flush
 * ------------------------------------------------------------------------ */

/*
 * Pack everything due at now_us and everything measured into datagrams for
 * sink, of at most max_datagram bytes, or largest for a single message that
 * needs more (largest is at most DOLON_MAX_DATAGRAM; the sink may append to
 * a datagram up to that).  Returns -1 when the sink refused (what was
 * measured is dropped: the run cannot carry it).
 */
int
profile_flush(ProfileData *d, int64_t now_us, size_t max_datagram,
			  size_t largest, DatagramSink sink, void *arg,
			  ProfileFlushStats *stats)
{
	Packer		pk = {0};
	void	   *cohort_arg[2];
	AllocRecord *allocs;
	FreeRecord *frees;
	int			nallocs,
				nfrees,
				i;

	pk.out = malloc(DOLON_MAX_DATAGRAM);
	if (pk.out == NULL)
		return 0;				/* tried again at the next flush */
	pk.len = V1_HEADER_SIZE;
	pk.max = max_datagram;
	pk.largest = largest;
	pk.sink = sink;
	pk.arg = arg;
	pk.stats = stats;

	type_allocations(d);
	/* the records now belong to this flush; the hooks start new lists */
	allocs = d->allocs;
	nallocs = d->nallocs;
	frees = d->frees;
	nfrees = d->nfrees;
	d->allocs = NULL;
	d->nallocs = d->allocs_cap = 0;
	d->frees = NULL;
	d->nfrees = d->frees_cap = 0;

	pack_threads(&pk, d, now_us);
	pack_types(&pk, d, now_us);
	cohort_arg[0] = &pk;
	cohort_arg[1] = &d->intern;
	intern_due(&d->intern, now_us, pack_cohort, cohort_arg);
	for (i = 0; i < d->nthreads; i++)
	{
		ThreadInfo *th = d->threads[i];

		if (th->nsamples > 0)
			pack_samples(&pk, th, th->samples, th->nsamples);
		th->nsamples = 0;
	}
	for (i = 0; i < nallocs; i++)
	{
		if (allocs[i].id != 0)
		{
			KeyEntry   *e = keytable_find(&d->thread_by_ident,
										  allocs[i].ident, 1);

			/* profile_alloc_threads made one for each, memory allowing */
			if (e != NULL)
				pack_allocs_of(&pk, allocs, nallocs, allocs[i].ident,
							   d->threads[e->value]->id);
			else
				allocs[i].id = 0;
		}
	}
	pack_frees(&pk, frees, nfrees);
	packer_send(&pk);
	free(allocs);
	free(frees);
	free(pk.out);
	profile_drop_gone_threads(d);
	return pk.failed ? -1 : 0;
}

/*
 * Before a flush, and before the thread names are read: every thread that
 * made a sampled allocation gets known to the run (the stack sampler may
 * not have seen it: it samples no stacks, or the thread has ended).
 */
void
profile_alloc_threads(ProfileData *d)
{
	int			i;

	for (i = 0; i < d->nallocs; i++)
		profile_thread(d, d->allocs[i].ident, NULL);
}
