/*
 * dolon_core.h
 *	  Declarations shared by the files of dolon's C core (dolon._core).
 *
 * One file per idea: module.c (module state and init), profiler.c (the
 * @profiler wrapper and its statistics), procstat.c (built-in measurements
 * read from /proc), encode.c (binary v1 wire encoding), sender.c (tick
 * batching and the UDP socket), libpq.c (PostgreSQL diagnostics over a
 * lazily loaded libpq).
 */
#ifndef DOLON_CORE_H
#define DOLON_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <time.h>

/* Python 3.8 spells a few of the vectorcall names differently. */
#if PY_VERSION_HEX < 0x03090000
#define Py_TPFLAGS_HAVE_VECTORCALL _Py_TPFLAGS_HAVE_VECTORCALL
#define PyObject_Vectorcall _PyObject_Vectorcall
#define PyObject_CallOneArg(f, a) PyObject_CallFunctionObjArgs((f), (a), NULL)
#define Py_IS_TYPE(o, t) (Py_TYPE(o) == (t))
#define PyType_FromModuleAndSpec(m, spec, bases) PyType_FromSpecWithBases((spec), (bases))
#define PyObject_CallNoArgs(f) PyObject_CallObject((f), NULL)
/* 3.8 has no PyType_GetModuleState: module.c remembers the one state */
extern struct DolonState *dolon_state_for_py38;
#define PyType_GetModuleState(type) ((void *) dolon_state_for_py38)
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
#endif

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif

typedef struct DolonState
{
	PyTypeObject *profile_stats_type;
	PyTypeObject *profiled_function_type;
	PyTypeObject *profiled_coroutine_type;
	PyTypeObject *sampler_type;
	PyTypeObject *sender_type;
	PyTypeObject *pg_connection_type;
	PyObject   *registry;		/* dict: qualname -> ProfileStats */
	PyObject   *gc_get_stats;	/* gc.get_stats, for gc collections */
} DolonState;

static inline int64_t
dolon_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t
dolon_wallclock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ProfileStats: the counters one profiled name accumulates. */
typedef struct ProfileStats
{
	PyObject_HEAD
	PyObject   *name;			/* qualname with '.' replaced by '_' */
	PyObject   *qualname;		/* registry key */
	uint64_t	hits;			/* calls started */
	int64_t		active;			/* calls running now */
	uint64_t	completed;		/* calls finished (returned or raised) */
	int64_t		total_ns;		/* summed duration of completed calls */
	uint64_t	epoch;			/* bumped by clear(); in-flight calls of an
								 * older epoch do not touch the counters */
	int			registered;		/* present in the registry dict */
} ProfileStats;

/* module.c */
extern int	dolon_registry_version(void);
extern void dolon_registry_bump(void);

/* profiler.c */
extern int	dolon_profiler_init_types(PyObject *module, DolonState *st);
extern PyObject *dolon_profile(PyObject *module, PyObject *args);
extern PyObject *dolon_clear(PyObject *module, PyObject *unused);
extern double profile_stats_average_seconds(const ProfileStats *s);

/* procstat.c */
typedef enum BuiltinMetric
{
	BUILTIN_CPU_PERCENT = 1,	/* system-wide CPU %, as psutil.cpu_percent */
	BUILTIN_VIRTUAL_MEMORY_PERCENT,	/* (total - available) / total */
	BUILTIN_MEMORY_USE,			/* this process's RSS in GiB (as 0.2.0) */
	BUILTIN_PROCESS_CPU_PERCENT,	/* this process's CPU % since last read */
	BUILTIN_THREAD_COUNT,
	BUILTIN_OPEN_FDS,
	BUILTIN_GC_COLLECTIONS,		/* collections of all generations so far */
	BUILTIN_RSS_MB,				/* this process's RSS in MB */
	BUILTIN_LAST
} BuiltinMetric;

typedef struct CpuTimes
{
	uint64_t	busy;			/* jiffies */
	uint64_t	total;
	int64_t		proc_ns;		/* process CPU time */
	int64_t		wall_ns;		/* monotonic time of the reading */
	int			valid;
} CpuTimes;

typedef struct Sampler
{
	PyObject_HEAD
	CpuTimes	prev_system;
	CpuTimes	prev_process;
	double		last_system_percent;
	double		last_process_percent;
	PyObject   *gc_get_stats;
} Sampler;

extern int	dolon_procstat_init_types(PyObject *module, DolonState *st);
extern double sampler_read(Sampler *s, int metric);
extern void sampler_prime(Sampler *s);

/* encode.c: binary v1 wire format (docs/protocol.md) */
#define DOLON_MAX_METRICS	1024
#define DOLON_MAX_NAME		1024
#define DOLON_MAX_DATAGRAM	65507
#define V1_HEADER_SIZE		28
#define V1_MSG_HEADER_SIZE	4
#define V1_DESCRIBE_FIXED	22
#define V1_TICKS_FIXED		16
#define V1_DESCRIBE			1
#define V1_TICKS			2
#define V1_END				3

extern void wire_put_u8(uint8_t *p, uint8_t v);
extern void wire_put_u16(uint8_t *p, uint16_t v);
extern void wire_put_u32(uint8_t *p, uint32_t v);
extern void wire_put_i64(uint8_t *p, int64_t v);
extern void wire_put_f64(uint8_t *p, double v);
extern size_t wire_put_str16(uint8_t *p, const char *s, size_t len);
extern void wire_message_header(uint8_t *p, uint8_t kind, uint16_t body_len);
extern void wire_datagram_header(uint8_t *p, uint8_t flags, uint16_t count,
								 const uint8_t run[16], uint32_t seq);
extern const char *wire_checked_utf8(PyObject *str, Py_ssize_t *len,
									 const char *what);
extern PyMethodDef dolon_encode_methods[];

/* sender.c */
extern int	dolon_sender_init_types(PyObject *module, DolonState *st);

/* libpq.c */
extern int	dolon_libpq_init_types(PyObject *module, DolonState *st);

extern DolonState *dolon_state(PyObject *module);

#endif							/* DOLON_CORE_H */
