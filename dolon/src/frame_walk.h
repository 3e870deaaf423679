/*
 * frame_walk.h
 *	  A thread's Python call stack read from CPython's own structures
 *	  (frame_walk.c).
 *
 * This is the one part of dolon that knows how each CPython version lays
 * out its frames, thread states and GIL.  The public frame API would do the
 * same job but creates a frame object for every frame it returns, which
 * costs time on every sample and shows up in a memory profile; reading the
 * structures creates nothing.  Callers hold the GIL and run no Python code
 * while they use what a walk returned.
 */
#ifndef DOLON_FRAME_WALK_H
#define DOLON_FRAME_WALK_H

#include "compat.h"

#include <stdint.h>

/* One frame of a walk: what runs, and where in it. */
typedef struct FrameRef
{
	PyCodeObject *code;			/* borrowed */
	int			offset;			/* byte offset of the instruction, -1 none */
} FrameRef;

/* The deepest stack a sample keeps: the innermost frames of deeper ones. */
#define FRAME_WALK_MAX		256

extern const char *frame_walk_unavailable(void);
extern const char *frame_walk_self_check(void);
extern int	frame_walk(PyThreadState *ts, FrameRef *out, int max, int *cut);
extern int	frame_line(const FrameRef *f);
extern PyObject *frame_code_name(PyCodeObject *code);
extern uint64_t thread_native_id(PyThreadState *ts);
extern PyThreadState *thread_state_current(void);
extern int	gil_request_drop(PyInterpreterState *interp);
extern PyThreadState *gil_holder(PyInterpreterState *interp,
								 PyThreadState **last);
extern int	interpreter_finalizing(void);

#endif							/* DOLON_FRAME_WALK_H */
