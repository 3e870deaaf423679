/*
 * profiled_steps.c
 *	  The objects a profiled call returns when the call runs in steps: its
 *	  coroutine, generator or async generator, wrapped so that the call is
 *	  timed from its first step to its end.
 *
 * The call counts as started (a hit, one more active instance) when its
 * first step runs -- as dolon 0.2.0's `async def` wrapper counted -- and as
 * completed when it returns, raises, is closed, or is dropped half way.  Its
 * time is the wall-clock time in between, suspensions included: what an
 * awaited coroutine costs its caller, and what iterating a generator to its
 * end costs its consumer (the consumer's own work between two items too).
 *
 * Each wrapper speaks the protocol of what it wraps, forwarding every step:
 * send, throw, close and am_send for coroutines and generators; __anext__,
 * asend, athrow and aclose for async generators, whose awaitables are
 * wrapped in turn (ProfiledAsyncStep) to see the generator end.  None of
 * them claims the type of what it wraps: asyncio takes a ProfiledCoroutine
 * as a coroutine by its methods (collections.abc.Coroutine), and iteration
 * needs no more than the protocol.
 */
#include "profiled_steps.h"

#include <structmember.h>

#include "call_clock.h"
#include "profile_stats.h"

/* ------------------------------------------------------------------------
 * CallSpan: one call's place in its statistics
 * ------------------------------------------------------------------------ */

typedef struct CallSpan
{
	ProfileStats *stats;		/* strong reference */
	int64_t		start_ticks;	/* of the call clock */
	uint64_t	epoch;			/* stats->epoch when it started */
	int			state;			/* SPAN_* */
} CallSpan;

#define SPAN_NOT_STARTED	0
#define SPAN_RUNNING		1
#define SPAN_FINISHED		2

static void
span_begin(CallSpan *span)
{
	ProfileStats *s = span->stats;

	if (span->state != SPAN_NOT_STARTED)
		return;
	span->epoch = s->epoch;
	s->hits++;
	s->active++;
	span->state = SPAN_RUNNING;
	span->start_ticks = call_clock_ticks();
}

/* The call is over; a span that never started just stops being usable. */
static void
span_finish(CallSpan *span)
{
	ProfileStats *s = span->stats;
	int			was_running = span->state == SPAN_RUNNING;

	span->state = SPAN_FINISHED;
	/* a clear() since it started: the counters it would touch are gone */
	if (!was_running || s->epoch != span->epoch)
		return;
	s->total_ticks += call_clock_ticks() - span->start_ticks;
	s->completed++;
	s->active--;
}

/* ------------------------------------------------------------------------
 * ProfiledSteps: the wrapped coroutine, generator or async generator
 * ------------------------------------------------------------------------ */

typedef struct ProfiledSteps
{
	PyObject_HEAD
	PyObject   *wrapped;		/* what the profiled function returned */
	PyObject   *iter;			/* what a coroutine's or generator's steps
								 * are sent to: wrapped, or a coroutine-like
								 * object's __await__(), set at its first
								 * step; NULL for async generators */
	CallSpan	span;
} ProfiledSteps;

/* Raise StopIteration(value), even when value is a tuple or an exception. */
static void
set_stop_iteration(PyObject *value)
{
	PyObject   *exc = PyObject_CallOneArg(PyExc_StopIteration, value);

	if (exc != NULL)
	{
		PyErr_SetObject(PyExc_StopIteration, exc);
		Py_DECREF(exc);
	}
}

/* A coroutine's first step: find what its steps go to. */
static int
steps_find_awaitable(ProfiledSteps *c)
{
	PyAsyncMethods *am;

	if (c->span.state == SPAN_FINISHED)
	{
		PyErr_SetString(PyExc_RuntimeError,
						"cannot reuse already awaited coroutine");
		return -1;
	}
	if (PyCoro_CheckExact(c->wrapped) || PyGen_CheckExact(c->wrapped))
	{
		c->iter = Py_NewRef(c->wrapped);
		return 0;
	}
	am = Py_TYPE(c->wrapped)->tp_as_async;
	if (am == NULL || am->am_await == NULL)
	{
		PyErr_Format(PyExc_TypeError,
					 "profiled async function returned %.100s, "
					 "which is not awaitable",
					 Py_TYPE(c->wrapped)->tp_name);
		c->span.state = SPAN_FINISHED;
		return -1;
	}
	c->iter = am->am_await(c->wrapped);
	if (c->iter == NULL)
	{
		c->span.state = SPAN_FINISHED;
		return -1;
	}
	return 0;
}

/* One step of a coroutine or a generator. */
static PySendResult
steps_send(ProfiledSteps *c, PyObject *arg, PyObject **result)
{
	PySendResult r;

	*result = NULL;
	if (c->iter == NULL && steps_find_awaitable(c) < 0)
		return PYGEN_ERROR;
	span_begin(&c->span);
	r = PyIter_Send(c->iter, arg, result);
	if (r != PYGEN_NEXT)
		span_finish(&c->span);
	return r;
}

static PyObject *
steps_iternext(ProfiledSteps *c)
{
	PyObject   *result;

	switch (steps_send(c, Py_None, &result))
	{
		case PYGEN_NEXT:
			return result;
		case PYGEN_RETURN:
			/* as generators do: a plain end sets no StopIteration */
			if (result != Py_None)
				set_stop_iteration(result);
			Py_DECREF(result);
			return NULL;
		default:
			return NULL;
	}
}

static PyObject *
steps_send_method(ProfiledSteps *c, PyObject *arg)
{
	PyObject   *result;

	switch (steps_send(c, arg, &result))
	{
		case PYGEN_NEXT:
			return result;
		case PYGEN_RETURN:
			set_stop_iteration(result);
			Py_DECREF(result);
			return NULL;
		default:
			return NULL;
	}
}

#if PY_VERSION_HEX >= 0x030A0000
static PySendResult
steps_am_send(ProfiledSteps *c, PyObject *arg, PyObject **result)
{
	return steps_send(c, arg, result);
}
#endif

static PyObject *
steps_throw(ProfiledSteps *c, PyObject *args)
{
	/* not started: throw into the coroutine itself, uncounted */
	PyObject   *target = c->iter != NULL ? c->iter : c->wrapped;
	PyObject   *method = PyObject_GetAttrString(target, "throw");
	PyObject   *result;

	if (method == NULL)
		return NULL;
	result = PyObject_Call(method, args, NULL);
	Py_DECREF(method);
	/* no value: it returned (StopIteration) or raised, so it has ended */
	if (result == NULL)
		span_finish(&c->span);
	return result;
}

static PyObject *
steps_close(ProfiledSteps *c, PyObject *unused)
{
	PyObject   *target = c->iter != NULL ? c->iter : c->wrapped;
	PyObject   *result = PyObject_CallMethod(target, "close", NULL);

	span_finish(&c->span);
	if (result == NULL && PyErr_ExceptionMatches(PyExc_AttributeError))
	{
		PyErr_Clear();
		Py_RETURN_NONE;
	}
	return result;
}

static PyObject *
steps_self(PyObject *self)
{
	return Py_NewRef(self);
}

/* cr_frame, gi_code, ag_running, __qualname__ ...: read by asyncio,
 * debuggers and tracebacks, taken from what is wrapped */
static PyObject *
steps_get_wrapped_attr(ProfiledSteps *c, void *name)
{
	PyObject   *value = PyObject_GetAttrString(c->wrapped,
											   (const char *) name);

	if (value == NULL && PyErr_ExceptionMatches(PyExc_AttributeError))
	{
		PyErr_Clear();
		Py_RETURN_NONE;
	}
	return value;
}

#define WRAPPED_ATTR(name) \
	{name, (getter) steps_get_wrapped_attr, NULL, NULL, name}

static int
steps_traverse(ProfiledSteps *c, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(c));
	Py_VISIT(c->wrapped);
	Py_VISIT(c->iter);
	return 0;
}

static int
steps_clear(ProfiledSteps *c)
{
	Py_CLEAR(c->wrapped);
	Py_CLEAR(c->iter);
	return 0;
}

static void
steps_dealloc(ProfiledSteps *c)
{
	PyTypeObject *tp = Py_TYPE(c);

	PyObject_GC_UnTrack(c);
	/* abandoned half way: the call is over, so it stops counting as active */
	span_finish(&c->span);
	steps_clear(c);
	Py_CLEAR(c->span.stats);
	tp->tp_free((PyObject *) c);
	Py_DECREF(tp);
}

static PyMemberDef steps_members[] = {
	{"__wrapped__", T_OBJECT, offsetof(ProfiledSteps, wrapped), READONLY,
	"what the profiled function returned"},
	{NULL}
};

/* ---- coroutines ---- */

static PyMethodDef coroutine_methods[] = {
	{"send", (PyCFunction) steps_send_method, METH_O, NULL},
	{"throw", (PyCFunction) steps_throw, METH_VARARGS, NULL},
	{"close", (PyCFunction) steps_close, METH_NOARGS, NULL},
	{NULL}
};

static PyGetSetDef coroutine_getset[] = {
	WRAPPED_ATTR("__name__"),
	WRAPPED_ATTR("__qualname__"),
	WRAPPED_ATTR("cr_frame"),
	WRAPPED_ATTR("cr_code"),
	WRAPPED_ATTR("cr_running"),
	WRAPPED_ATTR("cr_await"),
	{NULL}
};

static PyType_Slot coroutine_slots[] = {
	{Py_tp_dealloc, steps_dealloc},
	{Py_tp_traverse, steps_traverse},
	{Py_tp_clear, steps_clear},
	{Py_tp_iter, PyObject_SelfIter},
	{Py_tp_iternext, steps_iternext},
	{Py_am_await, steps_self},
#if PY_VERSION_HEX >= 0x030A0000
	{Py_am_send, steps_am_send},
#endif
	{Py_tp_methods, coroutine_methods},
	{Py_tp_getset, coroutine_getset},
	{Py_tp_members, steps_members},
	{Py_tp_doc, "The coroutine of a profiled async function, timed from its "
	"first step to its end."},
	{0, NULL}
};

static PyType_Spec coroutine_spec = {
	.name = "dolon._core.ProfiledCoroutine",
	.basicsize = sizeof(ProfiledSteps),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.slots = coroutine_slots,
};

/* ---- generators: the same steps, without __await__ ---- */

static PyGetSetDef generator_getset[] = {
	WRAPPED_ATTR("__name__"),
	WRAPPED_ATTR("__qualname__"),
	WRAPPED_ATTR("gi_frame"),
	WRAPPED_ATTR("gi_code"),
	WRAPPED_ATTR("gi_running"),
	WRAPPED_ATTR("gi_yieldfrom"),
	{NULL}
};

static PyType_Slot generator_slots[] = {
	{Py_tp_dealloc, steps_dealloc},
	{Py_tp_traverse, steps_traverse},
	{Py_tp_clear, steps_clear},
	{Py_tp_iter, PyObject_SelfIter},
	{Py_tp_iternext, steps_iternext},
#if PY_VERSION_HEX >= 0x030A0000
	{Py_am_send, steps_am_send},
#endif
	{Py_tp_methods, coroutine_methods},
	{Py_tp_getset, generator_getset},
	{Py_tp_members, steps_members},
	{Py_tp_doc, "The generator of a profiled generator function, timed from "
	"its first step to its end."},
	{0, NULL}
};

static PyType_Spec generator_spec = {
	.name = "dolon._core.ProfiledGenerator",
	.basicsize = sizeof(ProfiledSteps),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.slots = generator_slots,
};

/* ------------------------------------------------------------------------
 * Async generators: every awaitable of the generator is a step
 * ------------------------------------------------------------------------ */

typedef enum AsyncStepKind
{
	STEP_ADVANCE,				/* __anext__ or asend: the call starts here */
	STEP_THROW,					/* athrow */
	STEP_CLOSE					/* aclose: the call ends when it completes */
} AsyncStepKind;

typedef struct ProfiledAsyncStep
{
	PyObject_HEAD
	ProfiledSteps *agen;		/* the wrapped async generator */
	PyObject   *awaitable;		/* what its __anext__, asend, athrow or
								 * aclose returned */
	AsyncStepKind kind;
} ProfiledAsyncStep;

/*
 * Send into the step's awaitable.  It completes with a value when the
 * generator yields an item (or, for aclose, has closed), and raises when the
 * generator ends: StopAsyncIteration, or whatever escaped its frame.  A
 * misuse that raises without running the generator ("already running")
 * ends the call early; the generator's real end is then not counted again.
 */
static PySendResult
async_step_send(ProfiledAsyncStep *step, PyObject *arg, PyObject **result)
{
	CallSpan   *span = &step->agen->span;
	PySendResult r;

	if (step->kind == STEP_ADVANCE)
		span_begin(span);
	r = PyIter_Send(step->awaitable, arg, result);
	if (r == PYGEN_ERROR || (r == PYGEN_RETURN && step->kind == STEP_CLOSE))
		span_finish(span);
	return r;
}

static PyObject *
async_step_iternext(ProfiledAsyncStep *step)
{
	PyObject   *result;

	switch (async_step_send(step, Py_None, &result))
	{
		case PYGEN_NEXT:
			return result;
		case PYGEN_RETURN:
			set_stop_iteration(result);
			Py_DECREF(result);
			return NULL;
		default:
			return NULL;
	}
}

static PyObject *
async_step_send_method(ProfiledAsyncStep *step, PyObject *arg)
{
	PyObject   *result;

	switch (async_step_send(step, arg, &result))
	{
		case PYGEN_NEXT:
			return result;
		case PYGEN_RETURN:
			set_stop_iteration(result);
			Py_DECREF(result);
			return NULL;
		default:
			return NULL;
	}
}

#if PY_VERSION_HEX >= 0x030A0000
static PySendResult
async_step_am_send(ProfiledAsyncStep *step, PyObject *arg, PyObject **result)
{
	return async_step_send(step, arg, result);
}
#endif

/* e.g. a task cancelled while the generator awaits */
static PyObject *
async_step_throw(ProfiledAsyncStep *step, PyObject *args)
{
	PyObject   *method = PyObject_GetAttrString(step->awaitable, "throw");
	PyObject   *result;

	if (method == NULL)
		return NULL;
	result = PyObject_Call(method, args, NULL);
	Py_DECREF(method);
	if (result != NULL)
		return result;
	/* StopIteration: the step completed (an item, or closed), else it ended */
	if (!PyErr_ExceptionMatches(PyExc_StopIteration) ||
		step->kind == STEP_CLOSE)
		span_finish(&step->agen->span);
	return NULL;
}

static PyObject *
async_step_close(ProfiledAsyncStep *step, PyObject *unused)
{
	return PyObject_CallMethod(step->awaitable, "close", NULL);
}

static int
async_step_traverse(ProfiledAsyncStep *step, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(step));
	Py_VISIT(step->agen);
	Py_VISIT(step->awaitable);
	return 0;
}

static int
async_step_clear(ProfiledAsyncStep *step)
{
	Py_CLEAR(step->agen);
	Py_CLEAR(step->awaitable);
	return 0;
}

static void
async_step_dealloc(ProfiledAsyncStep *step)
{
	PyTypeObject *tp = Py_TYPE(step);

	PyObject_GC_UnTrack(step);
	async_step_clear(step);
	tp->tp_free((PyObject *) step);
	Py_DECREF(tp);
}

static PyMethodDef async_step_methods[] = {
	{"send", (PyCFunction) async_step_send_method, METH_O, NULL},
	{"throw", (PyCFunction) async_step_throw, METH_VARARGS, NULL},
	{"close", (PyCFunction) async_step_close, METH_NOARGS, NULL},
	{NULL}
};

static PyType_Slot async_step_slots[] = {
	{Py_tp_dealloc, async_step_dealloc},
	{Py_tp_traverse, async_step_traverse},
	{Py_tp_clear, async_step_clear},
	{Py_tp_iter, PyObject_SelfIter},
	{Py_tp_iternext, async_step_iternext},
	{Py_am_await, steps_self},
#if PY_VERSION_HEX >= 0x030A0000
	{Py_am_send, async_step_am_send},
#endif
	{Py_tp_methods, async_step_methods},
	{Py_tp_doc, "One awaitable step of a profiled async generator."},
	{0, NULL}
};

static PyType_Spec async_step_spec = {
	.name = "dolon._core.ProfiledAsyncStep",
	.basicsize = sizeof(ProfiledAsyncStep),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.slots = async_step_slots,
};

/* Wrap an awaitable of g's async generator (stolen; NULL passes through). */
static PyObject *
async_step_new(ProfiledSteps *g, PyObject *awaitable, AsyncStepKind kind)
{
	DolonState *st = PyType_GetModuleState(Py_TYPE(g));
	ProfiledAsyncStep *step;

	if (awaitable == NULL)
		return NULL;
	step = PyObject_GC_New(ProfiledAsyncStep, st->profiled_async_step_type);
	if (step == NULL)
	{
		Py_DECREF(awaitable);
		return NULL;
	}
	step->agen = (ProfiledSteps *) Py_NewRef(g);
	step->awaitable = awaitable;
	step->kind = kind;
	PyObject_GC_Track(step);
	return (PyObject *) step;
}

static PyObject *
async_generator_anext(ProfiledSteps *g)
{
	return async_step_new(g, Py_TYPE(g->wrapped)->tp_as_async->am_anext(
															  g->wrapped),
						  STEP_ADVANCE);
}

static PyObject *
async_generator_asend(ProfiledSteps *g, PyObject *arg)
{
	return async_step_new(g, PyObject_CallMethod(g->wrapped, "asend", "O",
												 arg), STEP_ADVANCE);
}

static PyObject *
async_generator_athrow(ProfiledSteps *g, PyObject *args)
{
	PyObject   *method = PyObject_GetAttrString(g->wrapped, "athrow");
	PyObject   *awaitable;

	if (method == NULL)
		return NULL;
	awaitable = PyObject_Call(method, args, NULL);
	Py_DECREF(method);
	return async_step_new(g, awaitable, STEP_THROW);
}

static PyObject *
async_generator_aclose(ProfiledSteps *g, PyObject *unused)
{
	return async_step_new(g, PyObject_CallMethod(g->wrapped, "aclose", NULL),
						  STEP_CLOSE);
}

static PyMethodDef async_generator_methods[] = {
	{"asend", (PyCFunction) async_generator_asend, METH_O, NULL},
	{"athrow", (PyCFunction) async_generator_athrow, METH_VARARGS, NULL},
	{"aclose", (PyCFunction) async_generator_aclose, METH_NOARGS, NULL},
	{NULL}
};

static PyGetSetDef async_generator_getset[] = {
	WRAPPED_ATTR("__name__"),
	WRAPPED_ATTR("__qualname__"),
	WRAPPED_ATTR("ag_frame"),
	WRAPPED_ATTR("ag_code"),
	WRAPPED_ATTR("ag_running"),
	WRAPPED_ATTR("ag_await"),
	{NULL}
};

static PyType_Slot async_generator_slots[] = {
	{Py_tp_dealloc, steps_dealloc},
	{Py_tp_traverse, steps_traverse},
	{Py_tp_clear, steps_clear},
	{Py_am_aiter, steps_self},
	{Py_am_anext, async_generator_anext},
	{Py_tp_methods, async_generator_methods},
	{Py_tp_getset, async_generator_getset},
	{Py_tp_members, steps_members},
	{Py_tp_doc, "The async generator of a profiled async generator function, "
	"timed from its first step to its end."},
	{0, NULL}
};

static PyType_Spec async_generator_spec = {
	.name = "dolon._core.ProfiledAsyncGenerator",
	.basicsize = sizeof(ProfiledSteps),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.slots = async_generator_slots,
};

/* ------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------ */

/* A result that is not what its kind promised: a call that has ended. */
static PyObject *
count_as_ended(PyObject *result, ProfileStats *stats)
{
	stats->hits++;
	stats->completed++;
	return result;
}

PyObject *
profiled_steps_wrap(DolonState *st, ProfiledKind kind, PyObject *result,
					ProfileStats *stats)
{
	PyTypeObject *type;
	ProfiledSteps *c;

	switch (kind)
	{
		case PROFILED_COROUTINE:
			type = st->profiled_coroutine_type;
			break;
		case PROFILED_GENERATOR:
			if (!PyGen_CheckExact(result))
				return count_as_ended(result, stats);
			type = st->profiled_generator_type;
			break;
		case PROFILED_ASYNC_GENERATOR:
			if (!PyAsyncGen_CheckExact(result))
				return count_as_ended(result, stats);
			type = st->profiled_async_generator_type;
			break;
		default:
			return count_as_ended(result, stats);
	}
	c = PyObject_GC_New(ProfiledSteps, type);
	if (c == NULL)
	{
		Py_DECREF(result);
		return NULL;
	}
	c->wrapped = result;
	c->iter = kind == PROFILED_GENERATOR ? Py_NewRef(result) : NULL;
	c->span.stats = (ProfileStats *) Py_NewRef(stats);
	c->span.start_ticks = 0;
	c->span.epoch = 0;
	c->span.state = SPAN_NOT_STARTED;
	PyObject_GC_Track(c);
	return (PyObject *) c;
}

static int
add_type(PyObject *module, PyType_Spec *spec, PyTypeObject **type)
{
	*type = (PyTypeObject *) PyType_FromModuleAndSpec(module, spec, NULL);
	if (*type == NULL)
		return -1;
	/* the name after "dolon._core." */
	return PyModule_AddObjectRef(module, spec->name + 12, (PyObject *) *type);
}

int
dolon_profiled_steps_init_types(PyObject *module, DolonState *st)
{
	if (add_type(module, &coroutine_spec, &st->profiled_coroutine_type) < 0 ||
		add_type(module, &generator_spec, &st->profiled_generator_type) < 0 ||
		add_type(module, &async_generator_spec,
				 &st->profiled_async_generator_type) < 0 ||
		add_type(module, &async_step_spec, &st->profiled_async_step_type) < 0)
		return -1;
	return 0;
}
