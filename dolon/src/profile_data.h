/*
 * profile_data.h
 *	  What one run's profile has measured and not yet sent: the interned
 *	  frames and stacks, the threads with their samples, the sampled
 *	  allocations and frees, the types.
 *
 * The sampler thread fills it on each pass (sample_pass.c), the allocation
 * hooks on each sampled allocation (alloc_sampler.c), and a flush empties
 * it into datagrams (profile_batch.c).  Every access is made with the GIL
 * held, which is what keeps these parts consistent between them.
 */
#ifndef DOLON_PROFILE_DATA_H
#define DOLON_PROFILE_DATA_H

#include "compat.h"

#include <stdint.h>

#include "intern.h"
#include "keytable.h"
#include "run_description.h"

/* One stack sample, not yet sent. */
typedef struct StackSample
{
	int64_t		wall_us;
	uint32_t	stack;
	uint32_t	weight_us;
	uint64_t	rss_bytes;
	uint8_t		flags;			/* V1_SAMPLE_ON_CPU */
} StackSample;

/* A Python thread, as the run knows it. */
typedef struct ThreadInfo
{
	unsigned long ident;		/* tstate->thread_id */
	PyThreadState *tstate;		/* tells a new thread with an old ident */
	uint32_t	id;				/* the run's id for it, from 1 */
	uint64_t	native_id;		/* the kernel's, 0 when unknown */
	PyObject   *name;			/* str, or NULL until known */
	int			name_tries;		/* looked for it while NULL */
	uint64_t	seen;			/* the pass it was last seen alive in */
	uint64_t	sampled;		/* the pass it was last sampled in */
	int			gone;			/* ended: dropped once its samples are sent */
	int64_t		last_cpu_ns;	/* its CPU clock when last read, -1 none */
	int64_t		last_cpu_at_ns; /* and when that was (monotonic) */
	int			busy_without_gil;	/* its clock ran 3/4 of that interval */
	uint32_t	task_root;		/* this pass: the stack of its running task */
	WalkCache  *cache;
	StackSample *samples;
	int			nsamples;
	int			samples_cap;
} ThreadInfo;

/* The types of sampled objects, by their type object (held). */
typedef struct TypeTable
{
	KeyTable	by_type;		/* PyTypeObject * -> type id */
	PyObject  **types;			/* types[id - 1]: a type, or a str name */
	uint32_t	ntypes;
	uint32_t	cap;
	DescribeSchedule schedule;	/* ALLOC_TYPES: all of them when due */
	uint32_t	buffer_id;		/* "<buffer>": memory that is no object */
} TypeTable;

/* One sampled allocation, not yet sent. */
typedef struct AllocRecord
{
	int64_t		wall_us;
	unsigned long ident;		/* the allocating thread */
	uint32_t	stack;
	uint32_t	type;			/* 0: not resolved yet */
	uint64_t	weight;			/* bytes it stands for */
	uint64_t	id;
	void	   *block;
	size_t		size;
	PyTypeObject *found;		/* its type once seen (strong), until interned */
	uint8_t		domain;			/* PYMEM_DOMAIN_MEM or _OBJ */
	uint8_t		looked;			/* its type was looked for: found, or none */
	uint8_t		freed;
} AllocRecord;

typedef struct FreeRecord
{
	int64_t		wall_us;
	uint64_t	alloc_id;
} FreeRecord;

typedef struct ProfileData
{
	InternTables intern;
	uint32_t	truncated_frame;	/* "<truncated>": the outside of deeper
									 * stacks than FRAME_WALK_MAX */

	/* threads */
	ThreadInfo **threads;
	int			nthreads;
	int			threads_cap;
	KeyTable	thread_by_ident;	/* ident -> index into threads */
	uint32_t	next_thread_id;
	DescribeSchedule threads_schedule;	/* THREADS: all of them when due */
	uint64_t	pass;
	int64_t		last_pass_ns;	/* monotonic time of the previous pass, 0:
								 * none since sampling (re)started */

	/* allocations */
	AllocRecord *allocs;
	int			nallocs;
	int			allocs_cap;
	FreeRecord *frees;
	int			nfrees;
	int			frees_cap;
	KeyTable	live;			/* sampled block -> alloc id */
	uint64_t	next_alloc_id;
	TypeTable	types;

	int64_t		alloc_cost_ns;	/* spent in the hooks' sampling path */
	uint64_t	types_created;	/* types learnt from a creation event */
	uint64_t	types_looked;	/* types learnt by looking into a block */

	/* what was dropped for want of memory or room */
	uint64_t	samples_dropped;
	uint64_t	allocs_dropped;
} ProfileData;

/* Beyond these many unsent records, new ones are dropped and counted. */
#define PROFILE_MAX_PENDING	100000

extern int	profile_data_init(ProfileData *d, int64_t repeat_interval_us);
extern void profile_data_free(ProfileData *d);
extern void profile_data_new_run(ProfileData *d);
extern ThreadInfo *profile_thread(ProfileData *d, unsigned long ident,
								  PyThreadState *ts);
extern void profile_thread_names(ProfileData *d, int all);
extern void profile_drop_gone_threads(ProfileData *d);
extern uint32_t profile_type_id(ProfileData *d, PyTypeObject *type);
extern uint32_t profile_buffer_type_id(ProfileData *d);
extern AllocRecord *profile_alloc_record(ProfileData *d, uint64_t id);

#endif							/* DOLON_PROFILE_DATA_H */
