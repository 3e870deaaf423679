/*
 * profiler.c
 *	  The @dolon.profiler.profiler wrapper: a C callable that counts calls,
 *	  calls running now and their mean duration, for functions, coroutine
 *	  functions, generator functions and async generator functions.
 *
 * Shaped after CPython's functools wrappers (Modules/_functoolsmodule.c): a
 * heap type with vectorcall, GC support and a __dict__ that
 * functools.update_wrapper fills (__wrapped__, __name__, __doc__ ...), and a
 * descriptor __get__ so that decorated methods bind like functions.
 *
 * The counters are a ProfileStats from the module's registry
 * (profile_stats.c).  The call path allocates nothing for a plain function:
 * it bumps the counters around one vectorcall of the wrapped function.  A
 * call that runs in steps returns its coroutine (generator, async
 * generator) wrapped by profiled_steps.c, which times it from its first
 * step to its end.
 *
 * inspect and asyncio must take the wrapper for what it wraps: frameworks
 * choose between awaiting a handler and running it in a thread by
 * inspect.iscoroutinefunction().  Before 3.12 that looks at the code flags
 * of a function, or of an object that has a function's attributes
 * (__code__, __defaults__, __kwdefaults__: "function-like", as Cython's
 * functions are), and before 3.10 only of an instance of FunctionType,
 * which isinstance() also answers from __class__.  So the wrapper of a
 * Python function shows that function's attributes and reports its class
 * as FunctionType; its own type stays ProfiledFunction.  inspect looks
 * through a functools.partial (to its .func) before it looks at the code:
 * the wrapper of a partial reports the partial's class and shows its func,
 * args and keywords, so that a decorated partial of a coroutine (generator
 * ...) function is seen as one too.  The partial's own call cannot be
 * taken from the wrapper: functools.partial() of it wraps it, as it tells
 * a partial by its type's call, not by __class__.
 */
#include "profiler.h"

#include <structmember.h>

#include "call_clock.h"
#include "profile_stats.h"
#include "profiled_steps.h"

/* ------------------------------------------------------------------------
 * ProfiledFunction: the decorator's result
 * ------------------------------------------------------------------------ */

typedef struct ProfiledFunction
{
	PyObject_HEAD
	PyObject   *func;
	ProfileStats *stats;
	PyObject   *module;			/* dolon._core, whose registry holds stats */
	PyObject   *dict;
	PyObject   *weakreflist;
	vectorcallfunc vectorcall;
	ProfiledKind kind;
} ProfiledFunction;

/*
 * After a clear() the statistics are out of the registry: rejoin it, with
 * these statistics or with those a newer decoration of the same name
 * registered meanwhile.  Never raises.
 */
static dolon_noinline ProfileStats *
profiled_function_rejoin(ProfiledFunction *pf)
{
	DolonState *st = dolon_state(pf->module);
	ProfileStats *s = profile_registry_rejoin(&st->profiles, pf->stats);

	if (s != pf->stats)
		Py_SETREF(pf->stats, (ProfileStats *) Py_NewRef(s));
	return s;
}

static inline ProfileStats *
profiled_function_stats(ProfiledFunction *pf)
{
	if (likely(pf->stats->registered))
		return pf->stats;
	return profiled_function_rejoin(pf);
}

static PyObject *
profiled_sync_call(PyObject *callable, PyObject *const *args,
				   size_t nargsf, PyObject *kwnames)
{
	ProfiledFunction *pf = (ProfiledFunction *) callable;
	ProfileStats *s = profiled_function_stats(pf);
	uint64_t	epoch = s->epoch;
	int64_t		start;
	PyObject   *result;

	/* keep s alive even if a clear() and re-decoration drop it meanwhile */
	Py_INCREF(s);
	s->hits++;
	s->active++;
	start = call_clock_ticks();
	result = PyObject_Vectorcall(pf->func, args, nargsf, kwnames);
	if (s->epoch == epoch)
	{
		s->total_ticks += call_clock_ticks() - start;
		s->completed++;
		s->active--;
	}
	Py_DECREF(s);
	return result;
}

/* A coroutine, generator or async generator function: time the steps. */
static PyObject *
profiled_stepped_call(PyObject *callable, PyObject *const *args,
					  size_t nargsf, PyObject *kwnames)
{
	ProfiledFunction *pf = (ProfiledFunction *) callable;
	ProfileStats *s = profiled_function_stats(pf);
	PyObject   *result;

	result = PyObject_Vectorcall(pf->func, args, nargsf, kwnames);
	if (result == NULL)
	{
		/* e.g. wrong arguments: the call failed, but it still counts */
		s->hits++;
		s->completed++;
		return NULL;
	}
	return profiled_steps_wrap(dolon_state(pf->module), pf->kind, result, s);
}
static int
profiled_function_traverse(ProfiledFunction *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	Py_VISIT(self->func);
	Py_VISIT(self->dict);
	Py_VISIT(self->module);
	Py_VISIT(self->stats);
	return 0;
}

static int
profiled_function_clear(ProfiledFunction *self)
{
	Py_CLEAR(self->func);
	Py_CLEAR(self->dict);
	Py_CLEAR(self->module);
	Py_CLEAR(self->stats);
	return 0;
}

static void
profiled_function_dealloc(ProfiledFunction *self)
{
	PyTypeObject *tp = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	if (self->weakreflist != NULL)
		PyObject_ClearWeakRefs((PyObject *) self);
	profiled_function_clear(self);
	tp->tp_free((PyObject *) self);
	Py_DECREF(tp);
}

static PyObject *
profiled_function_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
	if (obj == NULL || obj == Py_None)
		return Py_NewRef(self);
	return PyMethod_New(self, obj);
}

static PyObject *
profiled_function_repr(ProfiledFunction *self)
{
	return PyUnicode_FromFormat("<dolon profiled %R>", self->func);
}

static PyObject *
profiled_function_reduce(ProfiledFunction *self, PyObject *unused)
{
	/* pickle by reference to the module attribute, as functions pickle */
	return PyObject_GetAttrString((PyObject *) self, "__qualname__");
}

static PyObject *
profiled_function_get_stats(ProfiledFunction *self, void *closure)
{
	return Py_NewRef(self->stats);
}

static PyObject *
profiled_function_get_kind(ProfiledFunction *self, void *closure)
{
	return PyLong_FromLong(self->kind);
}

static PyObject *
profiled_function_get_is_async(ProfiledFunction *self, void *closure)
{
	return PyBool_FromLong(self->kind == PROFILED_COROUTINE);
}

/*
 * FunctionType for a wrapped Python function, the partial's class for a
 * wrapped functools.partial: see the top of the file
 */
static PyObject *
profiled_function_get_class(ProfiledFunction *self, void *closure)
{
	if (self->func != NULL && PyFunction_Check(self->func))
		return Py_NewRef(&PyFunction_Type);
	if (self->func != NULL && self->module != NULL)
	{
		DolonState *st = dolon_state(self->module);

		if (st->partial_type != NULL &&
			PyObject_TypeCheck(self->func, st->partial_type))
			return Py_NewRef(Py_TYPE(self->func));
	}
	return Py_NewRef(Py_TYPE(self));
}

/* __code__, __defaults__ ...: the wrapped object's, when it has them */
static PyObject *
profiled_function_get_wrapped_attr(ProfiledFunction *self, void *name)
{
	return PyObject_GetAttrString(self->func, (const char *) name);
}

#define FUNCTION_ATTR(name) \
	{name, (getter) profiled_function_get_wrapped_attr, NULL, NULL, name}

static PyGetSetDef profiled_function_getset[] = {
	{"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
	{"__class__", (getter) profiled_function_get_class, NULL, NULL, NULL},
	FUNCTION_ATTR("__code__"),
	FUNCTION_ATTR("__defaults__"),
	FUNCTION_ATTR("__kwdefaults__"),
	FUNCTION_ATTR("__globals__"),
	FUNCTION_ATTR("__closure__"),
	FUNCTION_ATTR("__builtins__"),
	FUNCTION_ATTR("func"),		/* a partial's: see the top of the file */
	FUNCTION_ATTR("args"),
	FUNCTION_ATTR("keywords"),
	{"stats", (getter) profiled_function_get_stats, NULL,
	"the ProfileStats this wrapper counts into", NULL},
	{"kind", (getter) profiled_function_get_kind, NULL,
	"what it wraps: KIND_FUNCTION, _COROUTINE, _GENERATOR or "
	"_ASYNC_GENERATOR", NULL},
	{"is_async", (getter) profiled_function_get_is_async, NULL,
	"it wraps a coroutine function", NULL},
	{NULL}
};

static PyMemberDef profiled_function_members[] = {
	{"__vectorcalloffset__", T_PYSSIZET,
	offsetof(ProfiledFunction, vectorcall), READONLY},
	{"__dictoffset__", T_PYSSIZET, offsetof(ProfiledFunction, dict), READONLY},
	{"__weaklistoffset__", T_PYSSIZET,
	offsetof(ProfiledFunction, weakreflist), READONLY},
	{NULL}
};

static PyMethodDef profiled_function_methods[] = {
	{"__reduce__", (PyCFunction) profiled_function_reduce, METH_NOARGS, NULL},
	{NULL}
};

static PyType_Slot profiled_function_slots[] = {
	{Py_tp_dealloc, profiled_function_dealloc},
	{Py_tp_traverse, profiled_function_traverse},
	{Py_tp_clear, profiled_function_clear},
	{Py_tp_call, PyVectorcall_Call},
	{Py_tp_descr_get, profiled_function_descr_get},
	{Py_tp_repr, profiled_function_repr},
	{Py_tp_getset, profiled_function_getset},
	{Py_tp_members, profiled_function_members},
	{Py_tp_methods, profiled_function_methods},
	{Py_tp_doc, "A function wrapped by @dolon.profiler.profiler."},
	{0, NULL}
};

static PyType_Spec profiled_function_spec = {
	.name = "dolon._core.ProfiledFunction",
	.basicsize = sizeof(ProfiledFunction),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
	Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
	.slots = profiled_function_slots,
};

/* ------------------------------------------------------------------------
 * Module-level entry points
 * ------------------------------------------------------------------------ */

/*
 * profile(func, kind): wrap func, which is what kind says (the Python layer
 * asks inspect); the Python layer copies the metadata.
 */
PyObject *
dolon_profile(PyObject *module, PyObject *args)
{
	DolonState *st = dolon_state(module);
	PyObject   *func;
	PyObject   *named;
	int			depth;
	int			kind;
	PyObject   *qualname;
	ProfiledFunction *pf;

	if (!PyArg_ParseTuple(args, "Oi:profile", &func, &kind))
		return NULL;
	if (kind < PROFILED_FUNCTION || kind > PROFILED_ASYNC_GENERATOR)
		return PyErr_Format(PyExc_ValueError, "unknown kind %d", kind);
	if (!PyCallable_Check(func))
		return PyErr_Format(PyExc_TypeError,
							"@profiler needs a callable, not %.100s",
							Py_TYPE(func)->tp_name);
	/*
	 * A partial counts as the function it calls, not as "partial" (a
	 * subclass may make .func anything: a few levels, and no error here)
	 */
	named = Py_NewRef(func);
	for (depth = 0; depth < 16 && PyObject_TypeCheck(named, st->partial_type);
		 depth++)
	{
		PyObject   *inner = PyObject_GetAttrString(named, "func");

		if (inner == NULL)
		{
			PyErr_Clear();
			break;
		}
		Py_SETREF(named, inner);
	}
	qualname = PyObject_GetAttrString(named, "__qualname__");
	if (qualname == NULL || !PyUnicode_Check(qualname))
	{
		Py_XDECREF(qualname);
		PyErr_Clear();
		qualname = PyObject_GetAttrString((PyObject *) Py_TYPE(named),
										  "__qualname__");
	}
	Py_DECREF(named);
	if (qualname == NULL)
		return NULL;
	pf = PyObject_GC_New(ProfiledFunction, st->profiled_function_type);
	if (pf == NULL)
	{
		Py_DECREF(qualname);
		return NULL;
	}
	pf->func = Py_NewRef(func);
	pf->module = Py_NewRef(module);
	pf->dict = NULL;
	pf->weakreflist = NULL;
	pf->kind = (ProfiledKind) kind;
	pf->vectorcall = kind == PROFILED_FUNCTION ? profiled_sync_call :
		profiled_stepped_call;
	pf->stats = profile_registry_get(&st->profiles, qualname);
	Py_DECREF(qualname);
	if (pf->stats == NULL)
	{
		Py_DECREF(pf);
		return NULL;
	}
	PyObject_GC_Track(pf);
	return (PyObject *) pf;
}

int
dolon_profiler_init_types(PyObject *module, DolonState *st)
{
	call_clock_init();
	if (PyModule_AddStringConstant(module, "CALL_CLOCK",
								   call_clock_name()) < 0)
		return -1;
	st->profiled_function_type = (PyTypeObject *)
		PyType_FromModuleAndSpec(module, &profiled_function_spec, NULL);
	if (st->profiled_function_type == NULL)
		return -1;
#if PY_VERSION_HEX < 0x03090000
	/* 3.8's PyType_FromSpec ignores these members */
	st->profiled_function_type->tp_vectorcall_offset =
		offsetof(ProfiledFunction, vectorcall);
	st->profiled_function_type->tp_dictoffset =
		offsetof(ProfiledFunction, dict);
	st->profiled_function_type->tp_weaklistoffset =
		offsetof(ProfiledFunction, weakreflist);
#endif
	if (PyModule_AddObjectRef(module, "ProfiledFunction",
							  (PyObject *) st->profiled_function_type) < 0 ||
		PyModule_AddIntConstant(module, "KIND_FUNCTION",
								PROFILED_FUNCTION) < 0 ||
		PyModule_AddIntConstant(module, "KIND_COROUTINE",
								PROFILED_COROUTINE) < 0 ||
		PyModule_AddIntConstant(module, "KIND_GENERATOR",
								PROFILED_GENERATOR) < 0 ||
		PyModule_AddIntConstant(module, "KIND_ASYNC_GENERATOR",
								PROFILED_ASYNC_GENERATOR) < 0)
		return -1;
	return dolon_profiled_steps_init_types(module, st);
}
