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
 * Statistics live in a ProfileStats object per __qualname__, shared by every
 * wrapper of that name (as dolon 0.2.0 keyed them by name), and registered in
 * the module's registry dict, which the tracer reads.  clear() zeroes all of
 * them and empties the registry; a wrapper called afterwards registers its
 * statistics again, so decorated functions keep working and rejoin the
 * tracer.  Calls in flight across a clear() belong to the old epoch and do
 * not touch the zeroed counters.
 *
 * Every counter is updated with the GIL held, so counts are exact across
 * threads without further locking.
 */
#include "profiler.h"

#include <structmember.h>

#include "clock.h"

static uint64_t registry_version_counter = 0;

int
dolon_registry_version(void)
{
	return (int) registry_version_counter;
}

static void
dolon_registry_bump(void)
{
	registry_version_counter++;
}

/* ------------------------------------------------------------------------
 * ProfileStats
 * ------------------------------------------------------------------------ */

double
profile_stats_average_seconds(const ProfileStats *s)
{
	if (s->completed == 0)
		return 0.0;
	return ((double) s->total_ns / (double) s->completed) / 1e9;
}

static void
profile_stats_reset(ProfileStats *s)
{
	s->hits = 0;
	s->active = 0;
	s->completed = 0;
	s->total_ns = 0;
	s->epoch++;
}

static void
profile_stats_dealloc(ProfileStats *self)
{
	PyTypeObject *tp = Py_TYPE(self);

	Py_XDECREF(self->name);
	Py_XDECREF(self->qualname);
	tp->tp_free((PyObject *) self);
	Py_DECREF(tp);
}

static PyObject *
profile_stats_get_hits(ProfileStats *self, void *closure)
{
	return PyLong_FromUnsignedLongLong(self->hits);
}

static PyObject *
profile_stats_get_active(ProfileStats *self, void *closure)
{
	return PyLong_FromLongLong(self->active);
}

static PyObject *
profile_stats_get_completed(ProfileStats *self, void *closure)
{
	return PyLong_FromUnsignedLongLong(self->completed);
}

static PyObject *
profile_stats_get_average(ProfileStats *self, void *closure)
{
	return PyFloat_FromDouble(profile_stats_average_seconds(self));
}

static PyObject *
profile_stats_get_registered(ProfileStats *self, void *closure)
{
	return PyBool_FromLong(self->registered);
}

static PyObject *
profile_stats_repr(ProfileStats *self)
{
	return PyUnicode_FromFormat("<ProfileStats %U hits=%llu active=%lld>",
								self->qualname,
								(unsigned long long) self->hits,
								(long long) self->active);
}

static PyGetSetDef profile_stats_getset[] = {
	{"hits", (getter) profile_stats_get_hits, NULL, "calls started", NULL},
	{"active_instances", (getter) profile_stats_get_active, NULL,
	"calls running now", NULL},
	{"completed", (getter) profile_stats_get_completed, NULL,
	"calls finished", NULL},
	{"average_time", (getter) profile_stats_get_average, NULL,
	"mean seconds per completed call", NULL},
	{"registered", (getter) profile_stats_get_registered, NULL,
	"present in the registry the tracer reads", NULL},
	{NULL}
};

static PyMemberDef profile_stats_members[] = {
	{"name", T_OBJECT, offsetof(ProfileStats, name), READONLY,
	"metric prefix: the qualname with '.' replaced by '_'"},
	{"qualname", T_OBJECT, offsetof(ProfileStats, qualname), READONLY, NULL},
	{NULL}
};

static PyType_Slot profile_stats_slots[] = {
	{Py_tp_dealloc, profile_stats_dealloc},
	{Py_tp_repr, profile_stats_repr},
	{Py_tp_getset, profile_stats_getset},
	{Py_tp_members, profile_stats_members},
	{Py_tp_doc, "Statistics of one profiled function name."},
	{0, NULL}
};

static PyType_Spec profile_stats_spec = {
	.name = "dolon._core.ProfileStats",
	.basicsize = sizeof(ProfileStats),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = profile_stats_slots,
};

/*
 * The registered statistics for qualname, created on first use.  Returns a
 * new reference.
 */
static ProfileStats *
stats_for_qualname(DolonState *st, PyObject *qualname)
{
	PyObject   *found;
	ProfileStats *s;

	found = PyDict_GetItemWithError(st->registry, qualname);
	if (found != NULL && Py_IS_TYPE(found, st->profile_stats_type))
	{
		Py_INCREF(found);
		return (ProfileStats *) found;
	}
	if (PyErr_Occurred())
		return NULL;

	s = PyObject_New(ProfileStats, st->profile_stats_type);
	if (s == NULL)
		return NULL;
	s->hits = s->completed = 0;
	s->active = s->total_ns = 0;
	s->epoch = 0;
	s->registered = 0;
	s->qualname = Py_NewRef(qualname);
	s->name = PyObject_CallMethod(qualname, "replace", "ss", ".", "_");
	if (s->name == NULL || PyDict_SetItem(st->registry, qualname,
										  (PyObject *) s) < 0)
	{
		Py_DECREF(s);
		return NULL;
	}
	s->registered = 1;
	dolon_registry_bump();
	return s;
}

/* ------------------------------------------------------------------------
 * ProfiledFunction: the decorator's result
 * ------------------------------------------------------------------------ */

typedef struct ProfiledFunction
{
	PyObject_HEAD
	PyObject   *func;
	ProfileStats *stats;
	PyObject   *registry;		/* the module's registry dict */
	PyTypeObject *coroutine_type;
	PyObject   *dict;
	PyObject   *weakreflist;
	vectorcallfunc vectorcall;
	int			is_async;
} ProfiledFunction;

/*
 * After clear() the statistics are out of the registry; put them back (or
 * adopt the ones a newer decoration of the same name registered meanwhile).
 * Never raises: the host program's call must go on whatever happens here.
 */
static ProfileStats *
profiled_function_reregister(ProfiledFunction *pf)
{
	ProfileStats *s = pf->stats;
	PyObject   *found;

	found = PyDict_GetItemWithError(pf->registry, s->qualname);
	if (found != NULL && found != (PyObject *) s &&
		Py_IS_TYPE(found, Py_TYPE(s)))
	{
		Py_INCREF(found);
		pf->stats = (ProfileStats *) found;
		Py_DECREF(s);
		return pf->stats;
	}
	if (found == NULL && !PyErr_Occurred() &&
		PyDict_SetItem(pf->registry, s->qualname, (PyObject *) s) == 0)
	{
		s->registered = 1;
		dolon_registry_bump();
	}
	PyErr_Clear();
	return s;
}

static inline ProfileStats *
profiled_function_stats(ProfiledFunction *pf)
{
	if (likely(pf->stats->registered))
		return pf->stats;
	return profiled_function_reregister(pf);
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
	Py_VISIT(self->registry);
	Py_VISIT(self->stats);
	return 0;
}

static int
profiled_function_clear(ProfiledFunction *self)
{
	Py_CLEAR(self->func);
	Py_CLEAR(self->dict);
	Py_CLEAR(self->registry);
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
	pf->registry = Py_NewRef(st->registry);
	pf->coroutine_type = (PyTypeObject *) Py_NewRef(st->profiled_coroutine_type);
	pf->dict = NULL;
	pf->weakreflist = NULL;
	pf->is_async = is_async;
	pf->vectorcall = is_async ? profiled_async_call : profiled_sync_call;
	pf->stats = stats_for_qualname(st, qualname);
	Py_DECREF(qualname);
	if (pf->stats == NULL)
	{
		Py_DECREF(pf);
		return NULL;
	}
	PyObject_GC_Track(pf);
	return (PyObject *) pf;
}

/* clear(): zero every statistic and empty the registry. */
PyObject *
dolon_clear(PyObject *module, PyObject *unused)
{
	DolonState *st = dolon_state(module);
	PyObject   *key,
			   *value;
	Py_ssize_t	pos = 0;

	while (PyDict_Next(st->registry, &pos, &key, &value))
	{
		if (Py_IS_TYPE(value, st->profile_stats_type))
		{
			profile_stats_reset((ProfileStats *) value);
			((ProfileStats *) value)->registered = 0;
		}
	}
	PyDict_Clear(st->registry);
	dolon_registry_bump();
	Py_RETURN_NONE;
}

int
dolon_profiler_init_types(PyObject *module, DolonState *st)
{
	st->profile_stats_type = (PyTypeObject *)
		PyType_FromModuleAndSpec(module, &profile_stats_spec, NULL);
	if (st->profile_stats_type == NULL)
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
	st->profiled_coroutine_type = (PyTypeObject *)
		PyType_FromModuleAndSpec(module, &profiled_coroutine_spec, NULL);
	if (st->profiled_coroutine_type == NULL)
		return -1;
	if (PyModule_AddObjectRef(module, "ProfileStats",
							  (PyObject *) st->profile_stats_type) < 0 ||
		PyModule_AddObjectRef(module, "ProfiledFunction",
							  (PyObject *) st->profiled_function_type) < 0 ||
		PyModule_AddObjectRef(module, "ProfiledCoroutine",
							  (PyObject *) st->profiled_coroutine_type) < 0)
		return -1;
	return 0;
}
