/*
 * intern.h
 *	  Frames and stacks interned for one run, and when their definitions go
 *	  out again (intern.c).
 *
 * A frame is a code object (or, for the frames dolon adds, a kind and a
 * name); a stack is a node of a tree: its parent stack, one frame, and the
 * line executing in that frame (docs/protocol.md, "Profiles").  Ids count
 * from 1 in the order things are first seen, so the ids defined between
 * two flushes form a range: a "cohort", which is sent with the flush that
 * closes it and repeated 1, 2, 4 and 8 s later, then every repeat interval
 * (the run description's schedule), so that a lost definition heals.
 *
 * Code objects are held by a strong reference for as long as the run
 * lasts: their address is their identity here, and it must not be reused
 * by another code object while an id names it.  Everything is used with
 * the GIL held, by the sampler thread and by the allocation hooks.
 */
#ifndef DOLON_INTERN_H
#define DOLON_INTERN_H

#include "compat.h"

#include <stdint.h>

#include "frame_walk.h"
#include "keytable.h"
#include "run_description.h"

/* Beyond these, new stacks are not interned (their samples say stack 0). */
#define INTERN_MAX_STACKS	(1 << 20)
#define INTERN_MAX_FRAMES	(1 << 20)

typedef struct FrameDef
{
	PyObject   *code;			/* code object (strong), or NULL */
	PyObject   *name;			/* str (strong) for frames without code */
	uint8_t		kind;			/* V1_FRAME_* */
} FrameDef;

typedef struct StackDef
{
	uint32_t	parent;
	uint32_t	frame;
	uint32_t	line;
} StackDef;

typedef struct DefCohort
{
	uint32_t	frames_from;	/* frame ids [from, to) */
	uint32_t	frames_to;
	uint32_t	stacks_from;	/* stack ids [from, to) */
	uint32_t	stacks_to;
	DescribeSchedule schedule;
} DefCohort;

/* The stack a thread was last sampled in, to intern only what changed. */
typedef struct WalkCache
{
	int			depth;
	uint32_t	root;			/* the stack the walk hung from */
	FrameRef	refs[FRAME_WALK_MAX];	/* outermost first */
	uint32_t	ids[FRAME_WALK_MAX];	/* the stack id at each depth */
} WalkCache;

typedef struct InternTables
{
	KeyTable	by_code;		/* code -> frame id */
	KeyTable	by_position;	/* (code, offset) -> frame id << 32 | line */
	KeyTable	by_parent;		/* (parent << 32 | frame, line) -> stack */
	PyObject   *by_name;		/* dict: frames without code, name -> id */
	FrameDef   *frames;			/* frames[id - 1] */
	uint32_t	nframes;
	uint32_t	frames_cap;
	StackDef   *stacks;			/* stacks[id - 1] */
	uint32_t	nstacks;
	uint32_t	stacks_cap;
	DefCohort  *cohorts;
	int			ncohorts;
	int			cohorts_cap;
	uint32_t	open_frames;	/* first frame id not in a cohort yet */
	uint32_t	open_stacks;
	int64_t		repeat_interval_us;
	uint64_t	stacks_dropped;	/* not interned: beyond a limit, or no memory */
} InternTables;

/* What intern_due hands over: a range of frame ids and of stack ids. */
typedef int (*DefsCallback) (void *arg, uint32_t frames_from,
							 uint32_t frames_to, uint32_t stacks_from,
							 uint32_t stacks_to);

extern int	intern_init(InternTables *t, int64_t repeat_interval_us);
extern void intern_free(InternTables *t);
extern uint32_t intern_named_frame(InternTables *t, uint8_t kind,
								   PyObject *name);
extern uint32_t intern_stack(InternTables *t, uint32_t parent,
							 uint32_t frame, uint32_t line);
extern uint32_t intern_walk(InternTables *t, uint32_t root,
							const FrameRef *refs, int n, WalkCache *cache);
extern int	intern_due(InternTables *t, int64_t now_us, DefsCallback cb,
					   void *arg);
extern void intern_resend_all(InternTables *t);

static inline const FrameDef *
intern_frame(const InternTables *t, uint32_t id)
{
	return &t->frames[id - 1];
}

static inline const StackDef *
intern_stack_def(const InternTables *t, uint32_t id)
{
	return &t->stacks[id - 1];
}

#endif							/* DOLON_INTERN_H */
