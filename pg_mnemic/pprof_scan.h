/*
 * pprof_scan.h
 *	  A pprof profile (perftools.profiles.Profile of google/pprof's
 *	  proto/profile.proto, already gunzipped) read into arrays, with every
 *	  reference between its messages checked and resolved.
 *
 * The fields read (the others are skipped): Profile.sample_type (1),
 * sample (2), location (4), function (5), string_table (6), time_nanos (9),
 * duration_nanos (10), period_type (11), period (12) and
 * default_sample_type (14); ValueType.type and unit; Sample.location_id,
 * value and label (a string label "thread" or "thread_name" names the
 * sample's thread); Location.id, address and line; Line.function_id and
 * line; Function.id, name, system_name, filename and start_line.  Mappings
 * are not read: a location without lines is known by its address only.
 *
 * Plain C, no PostgreSQL headers (format_scan.h).  Strings point into the
 * file; the arrays come from the caller's ScanAlloc.
 */
#ifndef MNEMIC_PPROF_SCAN_H
#define MNEMIC_PPROF_SCAN_H

#include "format_scan.h"

/* An index into string_table: checked to be in range, UTF-8, no NUL. */
typedef uint32_t PprofStr;

typedef struct PprofString
{
	const char *ptr;			/* not NUL-terminated */
	size_t		len;
} PprofString;

typedef struct PprofValueType
{
	PprofStr	type;
	PprofStr	unit;
} PprofValueType;

typedef struct PprofFunction
{
	uint64_t	id;
	PprofStr	name;
	PprofStr	system_name;
	PprofStr	filename;
	int64_t		start_line;
} PprofFunction;

typedef struct PprofLine
{
	uint32_t	function;		/* index into functions */
	int64_t		line;
} PprofLine;

typedef struct PprofLocation
{
	uint64_t	id;
	uint64_t	address;
	uint32_t	first_line;		/* lines[first_line .. + nlines): the
								 * innermost first, the last one calls */
	uint32_t	nlines;
} PprofLocation;

typedef struct PprofSample
{
	size_t		offset;			/* of the sample in the file */
	uint32_t	first_location; /* sample_locations[first ..+ n): leaf first */
	uint32_t	nlocations;
	uint32_t	first_value;	/* values[first .. + nsample_types) */
	PprofStr	thread;			/* 0: no thread label */
} PprofSample;

typedef struct PprofProfile
{
	PprofValueType *sample_types;
	uint32_t	nsample_types;
	PprofSample *samples;
	uint32_t	nsamples;
	uint32_t   *sample_locations;	/* indexes into locations */
	int64_t    *values;
	PprofLocation *locations;
	uint32_t	nlocations;
	PprofLine  *lines;
	PprofFunction *functions;
	uint32_t	nfunctions;
	PprofString *strings;
	uint32_t	nstrings;
	int64_t		time_nanos;
	int64_t		duration_nanos;
	PprofValueType period_type;
	int64_t		period;
	PprofStr	default_sample_type;
} PprofProfile;

/*
 * Read a Profile message; false with err (naming the byte) when it is not
 * one: a malformed field, a field of the wrong wire type, a string that is
 * not UTF-8, an index out of range, a sample whose values do not match the
 * sample types, an id defined twice or used and never defined.
 */
extern bool pprof_scan(const uint8_t *data, size_t len,
					   const ScanAlloc *alloc, PprofProfile *out,
					   ScanError *err);

/* The text of string i of a scanned profile. */
static inline PprofString
pprof_string(const PprofProfile *p, PprofStr i)
{
	return p->strings[i];
}

#endif							/* MNEMIC_PPROF_SCAN_H */
