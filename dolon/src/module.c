/*
 * module.c
 *	  dolon._core: module state, multi-phase initialisation (PEP 489), and
 *	  the module-level functions.
 *
 * Each instance of the module (one per interpreter) owns its types and its
 * registry of profiled functions; the only C globals are the lazily loaded
 * libpq symbols (one library per process) and, on Python 3.8 alone, the
 * pointer that stands in for PyType_GetModuleState.
 */
#include "state.h"

#include "clock.h"
#include "encode.h"
#include "libpq.h"
#include "procstat.h"
#include "profile_stats.h"
#include "profiler.h"
#include "sender.h"
#include "sign.h"
#include "stack_sampler.h"

#if PY_VERSION_HEX < 0x03090000
DolonState *dolon_state_for_py38 = NULL;
#endif

static PyObject *
module_clear_stats(PyObject *module, PyObject *unused)
{
	profile_registry_reset(&dolon_state(module)->profiles);
	Py_RETURN_NONE;
}

static PyObject *
module_profile_stats(PyObject *module, PyObject *unused)
{
	return PyDict_Values(dolon_state(module)->profiles.by_qualname);
}

static PyObject *
module_registry_version(PyObject *module, PyObject *unused)
{
	return PyLong_FromUnsignedLongLong(dolon_state(module)->profiles.version);
}

static PyObject *
module_wallclock_us(PyObject *module, PyObject *unused)
{
	return PyLong_FromLongLong(dolon_wallclock_us());
}

static PyMethodDef module_methods[] = {
	{"profile", dolon_profile, METH_VARARGS,
	"profile(func, kind) -> ProfiledFunction; kind: a KIND_* constant"},
	{"clear", module_clear_stats, METH_NOARGS,
	"clear(): zero every profiler statistic and empty the registry"},
	{"profile_stats", module_profile_stats, METH_NOARGS,
	"profile_stats() -> list of the registered ProfileStats"},
	{"registry_version", module_registry_version, METH_NOARGS,
	"registry_version() -> int: changes whenever the registry does"},
	{"wallclock_us", module_wallclock_us, METH_NOARGS,
	"wallclock_us() -> int: µs since the Unix epoch"},
	{NULL}
};

static int
module_exec(PyObject *module)
{
	DolonState *st = dolon_state(module);
	PyObject   *gc;
	PyObject   *functools;

#if PY_VERSION_HEX < 0x03090000
	dolon_state_for_py38 = st;
#endif
	if (profile_registry_init(&st->profiles, module) < 0)
		return -1;
	gc = PyImport_ImportModule("gc");
	if (gc == NULL)
		return -1;
	st->gc_get_stats = PyObject_GetAttrString(gc, "get_stats");
	Py_DECREF(gc);
	if (st->gc_get_stats == NULL)
		return -1;
	functools = PyImport_ImportModule("functools");
	if (functools == NULL)
		return -1;
	st->partial_type = (PyTypeObject *)
		PyObject_GetAttrString(functools, "partial");
	Py_DECREF(functools);
	if (st->partial_type == NULL)
		return -1;
	if (!PyType_Check(st->partial_type))
	{
		PyErr_SetString(PyExc_TypeError, "functools.partial is no type");
		return -1;
	}
	if (dolon_profiler_init_types(module, st) < 0 ||
		dolon_procstat_init_types(module, st) < 0 ||
		dolon_sender_init_types(module, st) < 0 ||
		dolon_stack_sampler_init_types(module, st) < 0 ||
		dolon_libpq_init_types(module, st) < 0)
		return -1;
	if (PyModule_AddFunctions(module, dolon_encode_methods) < 0 ||
		PyModule_AddFunctions(module, dolon_encode_profile_methods) < 0 ||
		PyModule_AddFunctions(module, dolon_sign_methods) < 0)
		return -1;
	return 0;
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
	DolonState *st = dolon_state(module);

	Py_VISIT(st->profiles.stats_type);
	Py_VISIT(st->profiles.by_qualname);
	Py_VISIT(st->profiled_function_type);
	Py_VISIT(st->profiled_coroutine_type);
	Py_VISIT(st->profiled_generator_type);
	Py_VISIT(st->profiled_async_generator_type);
	Py_VISIT(st->profiled_async_step_type);
	Py_VISIT(st->builtin_reader_type);
	Py_VISIT(st->sender_type);
	Py_VISIT(st->pg_connection_type);
	Py_VISIT(st->gc_get_stats);
	Py_VISIT(st->partial_type);
	Py_VISIT(st->stack_sampler_type);
	return 0;
}

static int
module_clear(PyObject *module)
{
	DolonState *st = dolon_state(module);

	Py_CLEAR(st->profiles.stats_type);
	Py_CLEAR(st->profiles.by_qualname);
	Py_CLEAR(st->profiled_function_type);
	Py_CLEAR(st->profiled_coroutine_type);
	Py_CLEAR(st->profiled_generator_type);
	Py_CLEAR(st->profiled_async_generator_type);
	Py_CLEAR(st->profiled_async_step_type);
	Py_CLEAR(st->builtin_reader_type);
	Py_CLEAR(st->sender_type);
	Py_CLEAR(st->pg_connection_type);
	Py_CLEAR(st->gc_get_stats);
	Py_CLEAR(st->partial_type);
	/* a sampler thread must not outlive the module (on 3.8, its state) */
	stack_samplers_stop_all(st);
	Py_CLEAR(st->stack_sampler_type);
	return 0;
}

static void
module_free(void *module)
{
	module_clear((PyObject *) module);
}

static PyModuleDef_Slot module_slots[] = {
	{Py_mod_exec, module_exec},
	{0, NULL}
};

static struct PyModuleDef dolon_core_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "dolon._core",
	.m_doc = "dolon's C core: the @profiler wrapper, built-in measurements, "
	"the sender with its two wire formats, and libpq diagnostics.",
	.m_size = sizeof(DolonState),
	.m_methods = module_methods,
	.m_slots = module_slots,
	.m_traverse = module_traverse,
	.m_clear = module_clear,
	.m_free = module_free,
};

PyMODINIT_FUNC
PyInit__core(void)
{
	return PyModuleDef_Init(&dolon_core_module);
}
