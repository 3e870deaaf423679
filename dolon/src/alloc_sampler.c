/*
 * alloc_sampler.c
 *	  The allocation hooks: Poisson sampling by bytes over the mem and obj
 *	  domains of PEP 445, and the frees of the blocks sampled.
 *
 * Every byte allocated is sampled with probability 1/mean, independently,
 * which is done by counting down a gap drawn from the exponential
 * distribution and drawing a new one each time the count runs out.  An
 * allocation of size bytes is then sampled with probability
 * p = 1 - exp(-size/mean), and stands for size/p bytes, which makes the
 * sums unbiased for small and large allocations alike (Perfetto's
 * heapprofd argues the same).
 *
 * The hot path of every allocation is the original allocator plus one
 * subtraction; of every free, one probe of the table of sampled blocks
 * (empty slot: not sampled).  Only a sampled allocation does more: it
 * walks its thread's frames, interns the stack, and records the block,
 * whose type is found later (alloc_types.c).
 *
 * Both domains are called with the GIL held (PEP 445), and so is
 * everything here.  The hooks never sample the allocations dolon makes
 * itself: the sampler thread, and any thread inside the sampling path or
 * a flush, is marked exempt.
 */
#include "alloc_sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_types.h"
#include "clock.h"
#include "frame_walk.h"

typedef struct HookDomain
{
	PyMemAllocatorDomain domain;
	PyMemAllocatorEx orig;		/* what the hook wraps */
	PyMemAllocatorEx hook;
} HookDomain;

/* The process's allocators are global, and so is this; GIL-protected. */
static HookDomain hooks[2] = {
	{PYMEM_DOMAIN_MEM}, {PYMEM_DOMAIN_OBJ}
};
static int	hooks_installed;
static ProfileData *recording;	/* the run that records; NULL: pass through */
static double mean_bytes;
static pid_t recording_pid;		/* a forked child does not record as parent */

/*
 * The countdown to the next sampled byte and the dice it is drawn with.
 * One for the process, not one per thread: every hook runs with the GIL
 * held, so a single countdown is never raced, and the bytes of all
 * threads interleaved are still sampled each with probability 1/mean --
 * per thread, the same distribution as a countdown of its own.  What it
 * saves is a thread-local access (a __tls_get_addr call from a shared
 * object) on every allocation; without a call, the hooks' common path
 * compiles to a subtraction and a jump into the allocator they wrap.
 */
static int64_t countdown;
static uint64_t dice;

/* Per thread: whether its allocations are dolon's own, not the program's. */
static __thread int exempt_thread;

/* ------------------------------------------------------------------------
 * The countdown
 * ------------------------------------------------------------------------ */

static uint64_t
roll(void)
{
	uint64_t	x = dice;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	dice = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Bytes to the next sampled one: exponential with mean mean_bytes. */
static int64_t
next_gap(void)
{
	/* uniform in (0, 1]: 53 random bits, plus one so it is never 0 */
	double		u = ((double) (roll() >> 11) + 1.0) / 9007199254740992.0;
	double		gap = -mean_bytes * log(u);

	return gap < 1.0 ? 1 : gap > 4e18 ? (int64_t) 4e18 : (int64_t) gap;
}

/* ------------------------------------------------------------------------
 * A sampled allocation, a freed sampled block
 * ------------------------------------------------------------------------ */

static uint32_t
stack_here(ProfileData *d)
{
	PyThreadState *ts = thread_state_current();
	FrameRef	refs[FRAME_WALK_MAX];
	uint32_t	root = 0;
	int			cut;
	int			n;

	if (ts == NULL)
		return 0;
	n = frame_walk(ts, refs, FRAME_WALK_MAX, &cut);
	if (cut && d->truncated_frame != 0)
		root = intern_stack(&d->intern, 0, d->truncated_frame, 0);
	return intern_walk(&d->intern, root, refs, n, NULL);
}

static void
record_allocation(ProfileData *d, HookDomain *h, void *block, size_t size)
{
	double		p = -expm1(-(double) size / mean_bytes);
	AllocRecord *r;

	if (d->nallocs >= PROFILE_MAX_PENDING)
	{
		d->allocs_dropped++;
		return;
	}
	if (d->nallocs == d->allocs_cap)
	{
		int			cap = d->allocs_cap == 0 ? 256 : d->allocs_cap * 2;
		AllocRecord *grown = realloc(d->allocs, cap * sizeof(AllocRecord));

		if (grown == NULL)
		{
			d->allocs_dropped++;
			return;
		}
		d->allocs = grown;
		d->allocs_cap = cap;
	}
	if (keytable_insert(&d->live, (uintptr_t) block, 1, d->next_alloc_id) ==
		NULL)
	{
		d->allocs_dropped++;
		return;
	}
	r = &d->allocs[d->nallocs++];
	memset(r, 0, sizeof(*r));
	r->wall_us = dolon_wallclock_us();
	r->ident = PyThread_get_thread_ident();
	r->stack = stack_here(d);
	r->weight = p > 0 ? (uint64_t) ((double) size / p) : (uint64_t) size;
	r->id = d->next_alloc_id++;
	r->block = block;
	r->size = size;
	r->domain = (uint8_t) h->domain;
	alloc_type_watch(d, r);
}

/*
 * The countdown ran out on an allocation of size bytes: make it, draw the
 * next gap and, unless the thread is dolon's, record the block.  Kept out
 * of line: it is the rare path.
 */
static dolon_noinline void *
sample_allocation(HookDomain *h, void *block, size_t size)
{
	ProfileData *d = recording;
	int64_t		started;

	countdown = next_gap();
	if (block == NULL || d == NULL || exempt_thread ||
		getpid() != recording_pid)
		return block;
	started = dolon_monotonic_ns();
	exempt_thread = 1;			/* what we allocate here is not the program's */
	record_allocation(d, h, block, size);
	exempt_thread = 0;
	d->alloc_cost_ns += dolon_monotonic_ns() - started;
	return block;
}

/*
 * A sampled block is going away (freed, or moved by realloc): its type is
 * looked for while the object is still in it, and its free is recorded.
 */
static dolon_noinline void
forget_block(ProfileData *d, void *block)
{
	KeyEntry   *e = keytable_find(&d->live, (uintptr_t) block, 1);
	AllocRecord *r;
	uint64_t	id;

	if (e == NULL)
		return;
	id = e->value;
	keytable_remove(&d->live, (uintptr_t) block, 1);
	r = profile_alloc_record(d, id);
	if (r != NULL)
	{
		if (!r->looked && r->domain == PYMEM_DOMAIN_OBJ)
			r->found = (PyTypeObject *) Py_XNewRef(
				alloc_type_in_block(d, block, r->size));
		r->looked = 1;
		r->freed = 1;
	}
	if (d->nfrees == d->frees_cap)
	{
		int			cap = d->frees_cap == 0 ? 256 : d->frees_cap * 2;
		FreeRecord *grown = cap > 2 * PROFILE_MAX_PENDING ? NULL :
			realloc(d->frees, cap * sizeof(FreeRecord));

		if (grown == NULL)
		{
			d->allocs_dropped++;
			return;
		}
		d->frees = grown;
		d->frees_cap = cap;
	}
	d->frees[d->nfrees].wall_us = dolon_wallclock_us();
	d->frees[d->nfrees].alloc_id = id;
	d->nfrees++;
}

static inline void
maybe_forget(void *block)
{
	ProfileData *d = recording;

	/* frees are recorded even from dolon's own threads: its objects are
	 * never sampled, but it may drop the last reference to the program's */
	if (unlikely(d != NULL && d->live.count != 0) && block != NULL)
		forget_block(d, block);
}

/* ------------------------------------------------------------------------
 * The hooks
 * ------------------------------------------------------------------------ */

/*
 * Each hook counts the bytes asked for before handing the call on, so that
 * its common path ends in a tail call of the allocator it wraps.
 */
static void *
hook_malloc(void *ctx, size_t size)
{
	HookDomain *h = ctx;

	if (likely((countdown -= (int64_t) size) > 0))
		return h->orig.malloc(h->orig.ctx, size);
	return sample_allocation(h, h->orig.malloc(h->orig.ctx, size), size);
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
	HookDomain *h = ctx;

	if (likely((countdown -= (int64_t) (nelem * elsize)) > 0))
		return h->orig.calloc(h->orig.ctx, nelem, elsize);
	return sample_allocation(h, h->orig.calloc(h->orig.ctx, nelem, elsize),
							 nelem * elsize);
}

static void *
hook_realloc(void *ctx, void *old, size_t size)
{
	HookDomain *h = ctx;

	/* a sampled block moves or shrinks away: it is freed, as tracemalloc
	 * counts it, and the new block is counted whole */
	maybe_forget(old);
	if (likely((countdown -= (int64_t) size) > 0))
		return h->orig.realloc(h->orig.ctx, old, size);
	return sample_allocation(h, h->orig.realloc(h->orig.ctx, old, size), size);
}

static void
hook_free(void *ctx, void *block)
{
	HookDomain *h = ctx;

	maybe_forget(block);
	h->orig.free(h->orig.ctx, block);
}

/* ------------------------------------------------------------------------
 * Starting and stopping
 * ------------------------------------------------------------------------ */

static void
install_hooks(void)
{
	int			i;

	for (i = 0; i < 2; i++)
	{
		HookDomain *h = &hooks[i];

		PyMem_GetAllocator(h->domain, &h->orig);
		h->hook.ctx = h;
		h->hook.malloc = hook_malloc;
		h->hook.calloc = hook_calloc;
		h->hook.realloc = hook_realloc;
		h->hook.free = hook_free;
		PyMem_SetAllocator(h->domain, &h->hook);
	}
	hooks_installed = 1;
}

/*
 * Take our hooks out where they are still on top; where another tool has
 * wrapped them since, they stay, passing calls through.
 */
static void
remove_hooks(void)
{
	int			i,
				on_top = 1;

	for (i = 0; i < 2; i++)
	{
		PyMemAllocatorEx current;

		PyMem_GetAllocator(hooks[i].domain, &current);
		if (current.malloc != hook_malloc || current.ctx != &hooks[i])
			on_top = 0;
	}
	if (!on_top)
		return;
	for (i = 0; i < 2; i++)
		PyMem_SetAllocator(hooks[i].domain, &hooks[i].orig);
	hooks_installed = 0;
}

/*
 * Record d's allocations, one sample per mean bytes on average.  -1 with
 * RuntimeError when another run of this process records already.
 */
int
alloc_sampler_start(ProfileData *d, double mean)
{
	if (recording != NULL && recording != d && recording_pid == getpid())
	{
		PyErr_SetString(PyExc_RuntimeError, "another run of this process "
						"samples allocations already");
		return -1;
	}
	mean_bytes = mean;
	if (dice == 0)
		dice = (uint64_t) dolon_monotonic_ns() ^ 0x9E3779B97F4A7C15ULL;
	countdown = next_gap();
	recording = d;
	recording_pid = getpid();
	if (!hooks_installed)
		install_hooks();
	return 0;
}

void
alloc_sampler_stop(ProfileData *d)
{
	if (recording != d)
		return;
	recording = NULL;
	alloc_type_unwatch_all();
	keytable_clear(&d->live);
	remove_hooks();
}

int
alloc_sampler_recording(const ProfileData *d)
{
	return d != NULL && recording == d && recording_pid == getpid();
}

/*
 * Before a flush: the type of every unsent allocation still unknown, by
 * looking into its block (still allocated: its free would have looked).
 */
void
alloc_sampler_resolve_types(ProfileData *d)
{
	int			i;

	alloc_type_unwatch_all();
	for (i = 0; i < d->nallocs; i++)
	{
		AllocRecord *r = &d->allocs[i];

		if (r->looked)
			continue;
		if (r->domain == PYMEM_DOMAIN_OBJ)
			r->found = (PyTypeObject *) Py_XNewRef(
				alloc_type_in_block(d, r->block, r->size));
		r->looked = 1;
	}
}

/*
 * Mark the calling thread's allocations as dolon's (exempt 1) or the
 * program's (0); returns the previous mark, to put back.
 */
int
alloc_sampler_exempt_thread(int exempt)
{
	int			was = exempt_thread;

	exempt_thread = exempt;
	return was;
}
