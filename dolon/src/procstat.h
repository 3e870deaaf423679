/*
 * procstat.h
 *	  The built-in measurements (procstat.c).
 */
#ifndef DOLON_PROCSTAT_H
#define DOLON_PROCSTAT_H

#include "state.h"

#include <stdint.h>
#include <sys/types.h>

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

/* The /proc files a reader keeps open, by what they tell. */
typedef enum ProcFileId
{
	PROC_STAT,					/* /proc/stat: system CPU */
	PROC_MEMINFO,				/* /proc/meminfo */
	PROC_SELF_STATM,			/* /proc/self/statm: resident memory */
	PROC_SELF_STAT,				/* /proc/self/stat: threads */
	PROC_SELF_FD,				/* /proc/self/fd: open descriptors */
	PROC_FILES
} ProcFileId;

typedef struct ProcFile
{
	int			fd;				/* -1 until opened */
	pid_t		pid;			/* the process /proc/self meant then */
} ProcFile;

/* The built-in measurements of one tracer (or of hand-made calls). */
typedef struct BuiltinReader
{
	PyObject_HEAD
	ProcFile	files[PROC_FILES];
	CpuTimes	prev_system;
	CpuTimes	prev_process;
	double		last_system_percent;
	double		last_process_percent;
	PyObject   *gc_get_stats;
} BuiltinReader;

extern int	dolon_procstat_init_types(PyObject *module, DolonState *st);
extern double builtin_reader_read(BuiltinReader *r, int metric);
extern int	statm_resident_pages(const char *statm, uint64_t *pages);

#endif							/* DOLON_PROCSTAT_H */
