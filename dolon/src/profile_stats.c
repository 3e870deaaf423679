/*
 * profile_stats.c
 *	  ProfileStats, the counters of one profiled name, and the registry of
 *	  them that the tracer reads.
 *
 * Statistics live in one ProfileStats per __qualname__, shared by every
 * wrapper of that name (as dolon 0.2.0 keyed them by name).  A reset zeroes
 * them all and empties the registry; a wrapper called afterwards rejoins it
 * with its statistics, so decorated functions keep working and reappear in
 * the tracer.  Calls in flight across a reset belong to the old epoch and do
 * not touch the zeroed counters.
 */
#include "profile_stats.h"

#include <structmember.h>

static void
profile_stats_reset(ProfileStats *s)
{
	s->hits = 0;
	s->active = 0;
	s->completed = 0;
	s->total_ticks = 0;
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

/* ------------------------------------------------------------------------
 * The registry
 * ------------------------------------------------------------------------ */

/*
 * The registered statistics for qualname, created on first use.  Returns a
 * new reference.
 */
ProfileStats *
profile_registry_get(ProfileRegistry *reg, PyObject *qualname)
{
	PyObject   *found;
	ProfileStats *s;

	found = PyDict_GetItemWithError(reg->by_qualname, qualname);
	if (found != NULL && Py_IS_TYPE(found, reg->stats_type))
		return (ProfileStats *) Py_NewRef(found);
	if (PyErr_Occurred())
		return NULL;

	s = PyObject_New(ProfileStats, reg->stats_type);
	if (s == NULL)
		return NULL;
	s->hits = s->completed = 0;
	s->active = s->total_ticks = 0;
	s->epoch = 0;
	s->registered = 0;
	s->qualname = Py_NewRef(qualname);
	s->name = PyObject_CallMethod(qualname, "replace", "ss", ".", "_");
	if (s->name == NULL || PyDict_SetItem(reg->by_qualname, qualname,
										  (PyObject *) s) < 0)
	{
		Py_DECREF(s);
		return NULL;
	}
	s->registered = 1;
	reg->version++;
	return s;
}

/*
 * After a reset, s is out of the registry: put it back, or return the
 * statistics a newer decoration of the same name registered meanwhile
 * (borrowed; the caller keeps one if it differs from s).  Never raises: the
 * host program's call must go on whatever happens here.
 */
ProfileStats *
profile_registry_rejoin(ProfileRegistry *reg, ProfileStats *s)
{
	PyObject   *found;

	/* the module is being torn down: nothing to rejoin */
	if (reg->by_qualname == NULL)
		return s;
	found = PyDict_GetItemWithError(reg->by_qualname, s->qualname);
	if (found != NULL && found != (PyObject *) s &&
		Py_IS_TYPE(found, reg->stats_type))
		return (ProfileStats *) found;
	if (found == NULL && !PyErr_Occurred() &&
		PyDict_SetItem(reg->by_qualname, s->qualname, (PyObject *) s) == 0)
	{
		s->registered = 1;
		reg->version++;
	}
	PyErr_Clear();
	return s;
}

/* Zero every statistic and empty the registry. */
void
profile_registry_reset(ProfileRegistry *reg)
{
	PyObject   *key,
			   *value;
	Py_ssize_t	pos = 0;

	while (PyDict_Next(reg->by_qualname, &pos, &key, &value))
	{
		if (Py_IS_TYPE(value, reg->stats_type))
		{
			profile_stats_reset((ProfileStats *) value);
			((ProfileStats *) value)->registered = 0;
		}
	}
	PyDict_Clear(reg->by_qualname);
	reg->version++;
}

/* An empty registry, and the ProfileStats type added to module. */
int
profile_registry_init(ProfileRegistry *reg, PyObject *module)
{
	reg->version = 0;
	reg->by_qualname = PyDict_New();
	if (reg->by_qualname == NULL)
		return -1;
	reg->stats_type = (PyTypeObject *)
		PyType_FromModuleAndSpec(module, &profile_stats_spec, NULL);
	if (reg->stats_type == NULL)
		return -1;
	return PyModule_AddObjectRef(module, "ProfileStats",
								 (PyObject *) reg->stats_type);
}
