/*
 * sample_pass.h
 *	  One pass of the stack sampler over every thread (sample_pass.c).
 */
#ifndef DOLON_SAMPLE_PASS_H
#define DOLON_SAMPLE_PASS_H

#include "profile_data.h"

/* The event-loop waits a leaf frame can be: selectors' select methods. */
#define PASS_MAX_IDLE_CODES 16

/* What a pass needs to know besides the profile. */
typedef struct PassContext
{
	PyInterpreterState *interp;
	PyThreadState *own;			/* the sampler's: not sampled */
	PyThreadState *holder;		/* held the GIL as the sampler asked for it */
	int			all_threads;	/* else only the threads in scopes */
	const KeyTable *scopes;		/* ident -> open sampling() scopes */
	PyObject   *idle_codes[PASS_MAX_IDLE_CODES];
	int			nidle_codes;
	PyObject   *current_tasks;	/* asyncio's {loop: running task}, or NULL */
	PyTypeObject *task_type;	/* _asyncio.Task, or NULL */
	PyObject   *task_get_name;	/* _asyncio.Task.get_name */
	PyObject   *thread_id_name; /* "_thread_id", an event loop's attribute */
	int64_t		period_ns;
	int			statm_fd;		/* /proc/self/statm, or -1 */
} PassContext;

extern int	sample_pass(ProfileData *d, const PassContext *c, int64_t now_ns,
						int64_t wall_us);
extern uint64_t resident_bytes_from(int statm_fd);

#endif							/* DOLON_SAMPLE_PASS_H */
