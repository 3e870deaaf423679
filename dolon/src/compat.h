/*
 * compat.h
 *	  Python.h, with the newer C API the core uses spelled for Python 3.8
 *	  and 3.9.
 *
 * Every file of dolon's C core includes this first (directly or through its
 * own header), so that PY_SSIZE_T_CLEAN is defined before Python.h and the
 * shims below are the same everywhere.  Nothing of dolon's own lives here.
 */
#ifndef DOLON_COMPAT_H
#define DOLON_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Python 3.8 spells a few of the vectorcall names differently. */
#if PY_VERSION_HEX < 0x03090000
#define Py_TPFLAGS_HAVE_VECTORCALL _Py_TPFLAGS_HAVE_VECTORCALL
#define PyObject_Vectorcall _PyObject_Vectorcall
#define PyObject_CallOneArg(f, a) PyObject_CallFunctionObjArgs((f), (a), NULL)
#define Py_IS_TYPE(o, t) (Py_TYPE(o) == (t))
#define PyType_FromModuleAndSpec(m, spec, bases) PyType_FromSpecWithBases((spec), (bases))
#define PyObject_CallNoArgs(f) PyObject_CallObject((f), NULL)
#endif
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *
dolon_new_ref(PyObject *o)
{
	Py_INCREF(o);
	return o;
}
static inline int
PyModule_AddObjectRef(PyObject *m, const char *name, PyObject *value)
{
	Py_INCREF(value);
	if (PyModule_AddObject(m, name, value) < 0)
	{
		Py_DECREF(value);
		return -1;
	}
	return 0;
}
#define Py_NewRef(o) dolon_new_ref((PyObject *) (o))
#define Py_XNewRef(o) ((o) ? Py_NewRef(o) : NULL)

/* PyIter_Send as 3.10 defines it, through tp_iternext or send() */
typedef enum
{
	PYGEN_RETURN = 0,
	PYGEN_ERROR = -1,
	PYGEN_NEXT = 1
} PySendResult;

static inline PySendResult
PyIter_Send(PyObject *iter, PyObject *arg, PyObject **result)
{
	if (arg == Py_None && PyIter_Check(iter))
		*result = Py_TYPE(iter)->tp_iternext(iter);
	else
		*result = PyObject_CallMethod(iter, "send", "O", arg);
	if (*result != NULL)
		return PYGEN_NEXT;
	if (_PyGen_FetchStopIterationValue(result) == 0)
		return PYGEN_RETURN;
	return PYGEN_ERROR;
}
#endif

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
/* for a rare path, kept out of line so that the hot path around it stays small */
#define dolon_noinline __attribute__((noinline))

#endif							/* DOLON_COMPAT_H */
