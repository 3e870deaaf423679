/*
 * profiler.c
 *	  The @dolon.profiler.profiler wrapper: a C callable that counts calls,
 *	  calls running now and their mean duration, for sync and async functions.
 *
 * Shaped after CPython's functools wrappers (Modules/_functoolsmodule.c): a
 * heap type with vectorcall, GC support and a __dict__ that
 * functools.update_wrapper fills (__wrapped__, __name__, __doc__ ...), and a
 * descriptor __get__ so that decorated methods bind like functions.
 *
 * The counters are a ProfileStats from the module's registry
 * (profile_stats.c).  The call path allocates nothing for a sync function:
 * it bumps the counters around one vectorcall of the wrapped function.  An
 * async function's call returns a ProfiledCoroutine, which times the
 * coroutine from its first step to its end.
 */
#include "profiler.h"

#include <structmember.h>

#include "clock.h"
#include "profile_stats.h"

/* ------------------------------------------------------------------------
 * ProfiledFunction: the decorator's result
 * ------------------------------------------------------------------------ */

typedef struct ProfiledFunction
{
	PyObject_HEAD
	PyObject   *func;
	ProfileStats *stats;
	PyObject   *module;			/* dolon._core, whose registry holds stats */
	PyTypeObject *coroutine_type;
	PyObject   *dict;
	PyObject   *weakreflist;
	vectorcallfunc vectorcall;
	int			is_async;
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
	start = dolon_monotonic_ns();
	result = PyObject_Vectorcall(pf->func, args, nargsf, kwnames);
	if (s->epoch == epoch)
	{
		s->total_ns += dolon_monotonic_ns() - start;
		s->completed++;
		s->active--;
	}
	Py_DECREF(s);
	return result;
}

/* ProfiledCoroutine, below */
typedef struct ProfiledCoroutine
{
	PyObject_HEAD
	PyObject   *coro;			/* what the async function returned */
	PyObject   *iter;			/* what we send to: coro, or its __await__ */
	ProfileStats *stats;
	int64_t		start_ns;
	uint64_t	epoch;
	int			state;			/* CORO_* */
} ProfiledCoroutine;

#define CORO_NOT_STARTED	0
#define CORO_RUNNING		1
#define CORO_FINISHED		2

static PyObject *
profiled_async_call(PyObject *callable, PyObject *const *args,
					size_t nargsf, PyObject *kwnames)
{
	ProfiledFunction *pf = (ProfiledFunction *) callable;
	ProfileStats *s = profiled_function_stats(pf);
	ProfiledCoroutine *wrapper;
	PyObject   *coro;

	coro = PyObject_Vectorcall(pf->func, args, nargsf, kwnames);
	if (coro == NULL)
	{
		/* e.g. wrong arguments: the call failed, but it still counts */
		s->hits++;
		s->completed++;
		return NULL;
	}
	wrapper = PyObject_GC_New(ProfiledCoroutine, pf->coroutine_type);
	if (wrapper == NULL)
	{
		Py_DECREF(coro);
		return NULL;
	}
	wrapper->coro = coro;
	wrapper->iter = NULL;
	Py_INCREF(s);
	wrapper->stats = s;
	wrapper->start_ns = 0;
	wrapper->epoch = 0;
	wrapper->state = CORO_NOT_STARTED;
	PyObject_GC_Track(wrapper);
	return (PyObject *) wrapper;
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
	Py_CLEAR(self->coroutine_type);
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
profiled_function_get_is_async(ProfiledFunction *self, void *closure)
{
	return PyBool_FromLong(self->is_async);
}

static PyGetSetDef profiled_function_getset[] = {
	{"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
	{"stats", (getter) profiled_function_get_stats, NULL,
	"the ProfileStats this wrapper counts into", NULL},
	{"is_async", (getter) profiled_function_get_is_async, NULL, NULL, NULL},
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
 * ProfiledCoroutine: times a coroutine from its first step to its end
 * ------------------------------------------------------------------------ */

static int
profiled_coroutine_begin(ProfiledCoroutine *c)
{
	ProfileStats *s = c->stats;

	if (c->state != CORO_NOT_STARTED)
		return 0;
	if (PyCoro_CheckExact(c->coro) || PyGen_CheckExact(c->coro))
		c->iter = Py_NewRef(c->coro);
	else
	{
		PyAsyncMethods *am = Py_TYPE(c->coro)->tp_as_async;

		if (am == NULL || am->am_await == NULL)
		{
			PyErr_Format(PyExc_TypeError,
						 "profiled async function returned %.100s, "
						 "which is not awaitable",
						 Py_TYPE(c->coro)->tp_name);
			c->state = CORO_FINISHED;
			return -1;
		}
		c->iter = am->am_await(c->coro);
		if (c->iter == NULL)
		{
			c->state = CORO_FINISHED;
			return -1;
		}
	}
	c->epoch = s->epoch;
	s->hits++;
	s->active++;
	c->state = CORO_RUNNING;
	c->start_ns = dolon_monotonic_ns();
	return 0;
}

static void
profiled_coroutine_finish(ProfiledCoroutine *c)
{
	ProfileStats *s = c->stats;

	if (c->state != CORO_RUNNING)
	{
		c->state = CORO_FINISHED;
		return;
	}
	c->state = CORO_FINISHED;
	if (s->epoch != c->epoch)
		return;
	s->total_ns += dolon_monotonic_ns() - c->start_ns;
	s->completed++;
	s->active--;
}

#if PY_VERSION_HEX >= 0x030A0000
static PySendResult
profiled_coroutine_am_send(ProfiledCoroutine *c, PyObject *arg,
						   PyObject **result)
{
	PySendResult r;

	if (c->state == CORO_FINISHED && c->iter == NULL)
	{
		PyErr_SetString(PyExc_RuntimeError,
						"cannot reuse already awaited coroutine");
		*result = NULL;
		return PYGEN_ERROR;
	}
	if (profiled_coroutine_begin(c) < 0)
	{
		*result = NULL;
		return PYGEN_ERROR;
	}
	r = PyIter_Send(c->iter, arg, result);
	if (r != PYGEN_NEXT)
		profiled_coroutine_finish(c);
	return r;
}
#endif

/*
 * One step: the yielded value, or NULL with *returned set to the return
 * value (new reference) when the coroutine finished, or NULL with an
 * exception set.
 */
static PyObject *
profiled_coroutine_step(ProfiledCoroutine *c, PyObject *arg,
						PyObject **returned)
{
	PyObject   *result = NULL;

	*returned = NULL;
#if PY_VERSION_HEX >= 0x030A0000
	switch (profiled_coroutine_am_send(c, arg, &result))
	{
		case PYGEN_NEXT:
			return result;
		case PYGEN_RETURN:
			*returned = result;
			return NULL;
		default:
			return NULL;
	}
#else
	/* 3.8 and 3.9 have no PyIter_Send: go through the send() method */
	if (profiled_coroutine_begin(c) < 0)
		return NULL;
	result = PyObject_CallMethod(c->iter, "send", "O", arg);
	if (result != NULL)
		return result;
	profiled_coroutine_finish(c);
	if (PyErr_ExceptionMatches(PyExc_StopIteration))
	{
		PyObject   *type,
				   *value,
				   *tb;

		PyErr_Fetch(&type, &value, &tb);
		PyErr_NormalizeException(&type, &value, &tb);
		*returned = PyObject_GetAttrString(value, "value");
		Py_XDECREF(type);
		Py_XDECREF(value);
		Py_XDECREF(tb);
	}
	return NULL;
#endif
}

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

static PyObject *
profiled_coroutine_iternext(ProfiledCoroutine *c)
{
	PyObject   *returned;
	PyObject   *yielded = profiled_coroutine_step(c, Py_None, &returned);

	if (yielded != NULL)
		return yielded;
	if (returned != NULL)
	{
		if (returned != Py_None)
			set_stop_iteration(returned);
		Py_DECREF(returned);
	}
	return NULL;
}

static PyObject *
profiled_coroutine_send(ProfiledCoroutine *c, PyObject *arg)
{
	PyObject   *returned;
	PyObject   *yielded = profiled_coroutine_step(c, arg, &returned);

	if (yielded != NULL)
		return yielded;
	if (returned != NULL)
	{
		set_stop_iteration(returned);
		Py_DECREF(returned);
	}
	return NULL;
}

static PyObject *
profiled_coroutine_throw(ProfiledCoroutine *c, PyObject *args)
{
	PyObject   *method;
	PyObject   *result;

	if (c->iter == NULL)
	{
		/* never started: throw into the coroutine itself, uncounted */
		method = PyObject_GetAttrString(c->coro, "throw");
	}
	else
		method = PyObject_GetAttrString(c->iter, "throw");
	if (method == NULL)
		return NULL;
	result = PyObject_Call(method, args, NULL);
	Py_DECREF(method);
	if (result == NULL)
		profiled_coroutine_finish(c);
	return result;
}

static PyObject *
profiled_coroutine_close(ProfiledCoroutine *c, PyObject *unused)
{
	PyObject   *target = c->iter != NULL ? c->iter : c->coro;
	PyObject   *result;

	result = PyObject_CallMethod(target, "close", NULL);
	profiled_coroutine_finish(c);
	if (result == NULL && PyErr_ExceptionMatches(PyExc_AttributeError))
	{
		PyErr_Clear();
		Py_RETURN_NONE;
	}
	return result;
}

static PyObject *
profiled_coroutine_await(ProfiledCoroutine *c)
{
	return Py_NewRef(c);
}

/* cr_frame, __qualname__ ...: asyncio and debuggers read these */
static PyObject *
profiled_coroutine_get_inner_attr(ProfiledCoroutine *c, void *name)
{
	PyObject   *value = PyObject_GetAttrString(c->coro, (const char *) name);

	if (value == NULL && PyErr_ExceptionMatches(PyExc_AttributeError))
	{
		PyErr_Clear();
		Py_RETURN_NONE;
	}
	return value;
}

static PyGetSetDef profiled_coroutine_getset[] = {
	{"__name__", (getter) profiled_coroutine_get_inner_attr, NULL, NULL,
	"__name__"},
	{"__qualname__", (getter) profiled_coroutine_get_inner_attr, NULL, NULL,
	"__qualname__"},
	{"cr_frame", (getter) profiled_coroutine_get_inner_attr, NULL, NULL,
	"cr_frame"},
	{"cr_code", (getter) profiled_coroutine_get_inner_attr, NULL, NULL,
	"cr_code"},
	{"cr_running", (getter) profiled_coroutine_get_inner_attr, NULL, NULL,
	"cr_running"},
	{"cr_await", (getter) profiled_coroutine_get_inner_attr, NULL, NULL,
	"cr_await"},
	{NULL}
};

static PyMemberDef profiled_coroutine_members[] = {
	{"__wrapped__", T_OBJECT, offsetof(ProfiledCoroutine, coro), READONLY,
	"the coroutine being timed"},
	{NULL}
};

static PyMethodDef profiled_coroutine_methods[] = {
	{"send", (PyCFunction) profiled_coroutine_send, METH_O, NULL},
	{"throw", (PyCFunction) profiled_coroutine_throw, METH_VARARGS, NULL},
	{"close", (PyCFunction) profiled_coroutine_close, METH_NOARGS, NULL},
	{NULL}
};

static int
profiled_coroutine_traverse(ProfiledCoroutine *c, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(c));
	Py_VISIT(c->coro);
	Py_VISIT(c->iter);
	return 0;
}

static int
profiled_coroutine_clear(ProfiledCoroutine *c)
{
	Py_CLEAR(c->coro);
	Py_CLEAR(c->iter);
	return 0;
}

static void
profiled_coroutine_dealloc(ProfiledCoroutine *c)
{
	PyTypeObject *tp = Py_TYPE(c);

	PyObject_GC_UnTrack(c);
	/* abandoned half way: the call is over, so it stops counting as active */
	profiled_coroutine_finish(c);
	profiled_coroutine_clear(c);
	Py_CLEAR(c->stats);
	tp->tp_free((PyObject *) c);
	Py_DECREF(tp);
}

static PyType_Slot profiled_coroutine_slots[] = {
	{Py_tp_dealloc, profiled_coroutine_dealloc},
	{Py_tp_traverse, profiled_coroutine_traverse},
	{Py_tp_clear, profiled_coroutine_clear},
	{Py_tp_iter, PyObject_SelfIter},
	{Py_tp_iternext, profiled_coroutine_iternext},
	{Py_am_await, profiled_coroutine_await},
#if PY_VERSION_HEX >= 0x030A0000
	{Py_am_send, profiled_coroutine_am_send},
#endif
	{Py_tp_methods, profiled_coroutine_methods},
	{Py_tp_getset, profiled_coroutine_getset},
	{Py_tp_members, profiled_coroutine_members},
	{Py_tp_doc, "A coroutine of a profiled async function, timed from its "
	"first step to its end."},
	{0, NULL}
};

static PyType_Spec profiled_coroutine_spec = {
	.name = "dolon._core.ProfiledCoroutine",
	.basicsize = sizeof(ProfiledCoroutine),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.slots = profiled_coroutine_slots,
};

/* ------------------------------------------------------------------------
 * Module-level entry points
 * ------------------------------------------------------------------------ */

/* profile(func, is_async): wrap func; the Python layer copies metadata. */
PyObject *
dolon_profile(PyObject *module, PyObject *args)
{
	DolonState *st = dolon_state(module);
	PyObject   *func;
	int			is_async;
	PyObject   *qualname;
	ProfiledFunction *pf;

	if (!PyArg_ParseTuple(args, "Op:profile", &func, &is_async))
		return NULL;
	if (!PyCallable_Check(func))
		return PyErr_Format(PyExc_TypeError,
							"@profiler needs a callable, not %.100s",
							Py_TYPE(func)->tp_name);
	qualname = PyObject_GetAttrString(func, "__qualname__");
	if (qualname == NULL || !PyUnicode_Check(qualname))
	{
		Py_XDECREF(qualname);
		PyErr_Clear();
		qualname = PyObject_GetAttrString((PyObject *) Py_TYPE(func),
										  "__qualname__");
		if (qualname == NULL)
			return NULL;
	}
	pf = PyObject_GC_New(ProfiledFunction, st->profiled_function_type);
	if (pf == NULL)
	{
		Py_DECREF(qualname);
		return NULL;
	}
	pf->func = Py_NewRef(func);
	pf->module = Py_NewRef(module);
	pf->coroutine_type = (PyTypeObject *) Py_NewRef(st->profiled_coroutine_type);
	pf->dict = NULL;
	pf->weakreflist = NULL;
	pf->is_async = is_async;
	pf->vectorcall = is_async ? profiled_async_call : profiled_sync_call;
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
	st->profiled_coroutine_type = (PyTypeObject *)
		PyType_FromModuleAndSpec(module, &profiled_coroutine_spec, NULL);
	if (st->profiled_coroutine_type == NULL)
		return -1;
	if (PyModule_AddObjectRef(module, "ProfiledFunction",
							  (PyObject *) st->profiled_function_type) < 0 ||
		PyModule_AddObjectRef(module, "ProfiledCoroutine",
							  (PyObject *) st->profiled_coroutine_type) < 0)
		return -1;
	return 0;
}
