/*
 * frame_walk.c
 *	  Reading a thread's frames, and who holds the GIL, the way each
 *	  CPython version keeps them.
 *
 *	- 3.8 to 3.10: tstate->frame, a chain of frame objects by f_back, and
 *	  f_lasti (in bytes before 3.10, in code units from 3.10).
 *	- 3.11 and 3.12: tstate->cframe->current_frame, a chain of
 *	  _PyInterpreterFrame by previous, and prev_instr.  Frames still being
 *	  set up ("incomplete") are skipped, and so on 3.12 are the shim frames
 *	  the C stack owns.
 *	- 3.13: tstate->current_frame, f_executable (a code object or None)
 *	  and instr_ptr.
 *
 * The GIL's state -- locked, and by which thread state -- is in the
 * runtime (3.8 to 3.11) or the interpreter (3.12, 3.13).
 *
 * The _PyInterpreterFrame layout and the GIL are internal, so this file
 * alone builds with Py_BUILD_CORE (defined before Python.h, as the internal
 * headers expect), as vmprof and Google's cloud profiler do.  Later
 * versions (and free-threaded builds, which have no GIL to stop the other
 * threads with) are not supported: the walk is refused once, by name,
 * rather than guessed.
 */
#define Py_BUILD_CORE 1
#include "frame_walk.h"

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000 && \
	!defined(Py_GIL_DISABLED)
#define DOLON_INTERPRETER_FRAMES 1
#include <internal/pycore_frame.h>
#elif PY_VERSION_HEX >= 0x03080000 && PY_VERSION_HEX < 0x030B0000
#define DOLON_FRAME_OBJECTS 1
#include <frameobject.h>
#endif
#if defined(DOLON_INTERPRETER_FRAMES) || defined(DOLON_FRAME_OBJECTS)
#if PY_VERSION_HEX >= 0x03090000
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#else
#include <internal/pycore_pystate.h>
#endif
#endif

/* NULL when walks work on this build, else why not (for one warning). */
const char *
frame_walk_unavailable(void)
{
#if defined(DOLON_INTERPRETER_FRAMES) || defined(DOLON_FRAME_OBJECTS)
	return NULL;
#else
	return "stack sampling supports CPython 3.8 to 3.13 with a GIL; "
		"this dolon was built for another Python";
#endif
}

#ifdef DOLON_INTERPRETER_FRAMES

#if PY_VERSION_HEX >= 0x030D0000
#define FRAME_CODE(f) ((PyCodeObject *) (f)->f_executable)
#else
#define FRAME_CODE(f) ((f)->f_code)
#endif

static inline _PyInterpreterFrame *
current_frame(PyThreadState *ts)
{
#if PY_VERSION_HEX >= 0x030D0000
	return ts->current_frame;
#else
	return ts->cframe != NULL ? ts->cframe->current_frame : NULL;
#endif
}

/* The frame's code, or NULL for frames that are not Python code. */
static inline PyCodeObject *
frame_code(_PyInterpreterFrame *f)
{
#if PY_VERSION_HEX >= 0x030C0000
	if (f->owner == FRAME_OWNED_BY_CSTACK)
		return NULL;
#endif
#if PY_VERSION_HEX >= 0x030D0000
	if (f->f_executable == NULL || !PyCode_Check(f->f_executable))
		return NULL;
#endif
	if (_PyFrame_IsIncomplete(f))
		return NULL;
	return FRAME_CODE(f);
}

static inline int
frame_offset(_PyInterpreterFrame *f)
{
	return _PyInterpreterFrame_LASTI(f) * (int) sizeof(_Py_CODEUNIT);
}

#define FRAME_TYPE _PyInterpreterFrame
#define FRAME_NEXT(f) ((f)->previous)

#else							/* frame objects, or nothing */

#ifdef DOLON_FRAME_OBJECTS
static inline PyFrameObject *
current_frame(PyThreadState *ts)
{
	return ts->frame;
}

static inline PyCodeObject *
frame_code(PyFrameObject *f)
{
	return f->f_code;
}

static inline int
frame_offset(PyFrameObject *f)
{
	if (f->f_lasti < 0)
		return -1;				/* not started */
#if PY_VERSION_HEX >= 0x030A0000
	return f->f_lasti * (int) sizeof(_Py_CODEUNIT);
#else
	return f->f_lasti;
#endif
}

#define FRAME_TYPE PyFrameObject
#define FRAME_NEXT(f) ((f)->f_back)
#endif
#endif

/*
 * Up to max frames of ts into out, innermost first; returns how many.
 * When the stack is deeper, the outermost frames are left out and *cut is
 * set.  A cycle (which a consistent chain never has) ends the walk.
 */
int
frame_walk(PyThreadState *ts, FrameRef *out, int max, int *cut)
{
	int			n = 0;

	*cut = 0;
#if defined(DOLON_INTERPRETER_FRAMES) || defined(DOLON_FRAME_OBJECTS)
	{
		FRAME_TYPE *f = current_frame(ts);
		int			steps = 0;

		for (; f != NULL && steps < 100000; f = FRAME_NEXT(f), steps++)
		{
			PyCodeObject *code = frame_code(f);

			if (code == NULL)
				continue;
			if (n == max)
			{
				*cut = 1;
				break;
			}
			out[n].code = code;
			out[n].offset = frame_offset(f);
			n++;
		}
	}
#endif
	return n;
}

/*
 * With the GIL held by a thread running Python code: do this build's frame
 * and GIL layouts match the running interpreter?  A wheel built with one
 * patch release's internal headers may run on another (make wheels lets
 * Debian's 3.11 cover pyenv's), and internal structures are not promised
 * to stay put.  The innermost frame a walk finds must be the one the
 * public API reports, and the GIL must be held by the calling thread.
 * NULL when they match, else why not.
 */
const char *
frame_walk_self_check(void)
{
	PyThreadState *ts = PyThreadState_Get();
	PyFrameObject *frame = PyEval_GetFrame();
	PyThreadState *last;
	FrameRef	ref;
	int			cut;
	int			match;

	if (frame == NULL)
		return NULL;			/* called from C: nothing to compare */
#if PY_VERSION_HEX >= 0x03090000
	{
		PyCodeObject *code = PyFrame_GetCode(frame);

		match = frame_walk(ts, &ref, 1, &cut) == 1 && ref.code == code;
		Py_DECREF(code);
	}
#else
	match = frame_walk(ts, &ref, 1, &cut) == 1 && ref.code == frame->f_code;
#endif
	if (!match)
		return "this Python's frames are not laid out as the ones dolon "
			"was built for (" PY_VERSION ")";
	if (gil_holder(ts->interp, &last) != ts)
		return "this Python's GIL is not laid out as the one dolon was "
			"built for (" PY_VERSION ")";
	return NULL;
}

/* The line a frame is executing (the first line if not started). */
int
frame_line(const FrameRef *f)
{
	if (f->offset < 0)
		return f->code->co_firstlineno;
	return PyCode_Addr2Line(f->code, f->offset);
}

/* The function's name, qualified where the code object knows it. */
PyObject *
frame_code_name(PyCodeObject *code)
{
#if PY_VERSION_HEX >= 0x030B0000
	return code->co_qualname;
#else
	return code->co_name;
#endif
}

/* The kernel's id of the thread, where the thread state records it. */
uint64_t
thread_native_id(PyThreadState *ts)
{
#if PY_VERSION_HEX >= 0x030B0000
	return ts->native_thread_id;
#else
	return 0;
#endif
}

/*
 * The thread state holding the GIL of interp now, or NULL when the GIL is
 * free; *last gets the thread state that held it last (the holder, or the
 * one that let it go).  Read without the GIL, as a snapshot.
 */
PyThreadState *
gil_holder(PyInterpreterState *interp, PyThreadState **last)
{
	int			locked = 0;

	*last = NULL;
#if PY_VERSION_HEX >= 0x030D0000 && defined(DOLON_INTERPRETER_FRAMES)
	struct _gil_runtime_state *gil = interp->ceval.gil;

	if (gil != NULL)
	{
		locked = _Py_atomic_load_int_relaxed(&gil->locked);
		*last = (PyThreadState *) _Py_atomic_load_ptr_relaxed(&gil->last_holder);
	}
#elif PY_VERSION_HEX >= 0x030C0000 && defined(DOLON_INTERPRETER_FRAMES)
	struct _gil_runtime_state *gil = interp->ceval.gil;

	if (gil != NULL)
	{
		locked = _Py_atomic_load_relaxed(&gil->locked);
		*last = (PyThreadState *) _Py_atomic_load_relaxed(&gil->last_holder);
	}
#elif defined(DOLON_INTERPRETER_FRAMES) || defined(DOLON_FRAME_OBJECTS)
	struct _gil_runtime_state *gil = &_PyRuntime.ceval.gil;

	locked = _Py_atomic_load_relaxed(&gil->locked);
	*last = (PyThreadState *) _Py_atomic_load_relaxed(&gil->last_holder);
#endif
	return locked ? *last : NULL;
}

/*
 * Ask the thread holding the GIL of interp to let go of it at its next
 * check, as a thread that has waited a switch interval for it does
 * (take_gil's SET_GIL_DROP_REQUEST); the caller then takes the GIL at
 * once, which also clears the request.  Without it a sample waits out the
 * switch interval (5 ms) behind a busy thread, in a sleep that times out
 * and a second one.  Only
 * where the request belongs to the runtime or the interpreter (3.8 to
 * 3.12): 3.13 keeps it in the holder's thread state, which may be gone by
 * the time it would be written.  Returns whether it asked.
 */
int
gil_request_drop(PyInterpreterState *interp)
{
#if PY_VERSION_HEX >= 0x030D0000
	return 0;
#elif defined(DOLON_INTERPRETER_FRAMES) || PY_VERSION_HEX >= 0x03090000
	_Py_atomic_store_relaxed(&interp->ceval.gil_drop_request, 1);
	_Py_atomic_store_relaxed(&interp->ceval.eval_breaker, 1);
	return 1;
#elif defined(DOLON_FRAME_OBJECTS)
	_Py_atomic_store_relaxed(&_PyRuntime.ceval.gil_drop_request, 1);
	_Py_atomic_store_relaxed(&_PyRuntime.ceval.eval_breaker, 1);
	return 1;
#else
	return 0;
#endif
}

PyThreadState *
thread_state_current(void)
{
	return _PyThreadState_UncheckedGet();
}

int
interpreter_finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
	return Py_IsFinalizing();
#else
	return _Py_IsFinalizing();
#endif
}
