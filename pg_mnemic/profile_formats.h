/*
 * profile_formats.h
 *	  The profile file formats mnemic reads and writes: a reader turns a
 *	  file into a ProfileImport (profile_import.h), a writer turns the
 *	  window of a run (a ProfileExport) into a file.  profile_io.c holds the
 *	  SQL functions mnemic.import_profile() and mnemic.export_profile() that
 *	  pick them by name.
 *
 * A reader gets the file already gunzipped when it was gzipped, and raises
 * an ERROR (ERRCODE_INVALID_TEXT_REPRESENTATION or
 * ERRCODE_INVALID_BINARY_REPRESENTATION) naming the line or byte offset of
 * the first problem; nothing is stored then.  The bytes are taken apart by
 * a scanner in plain C (format_scan.h), which regress/formats fuzzes; a
 * reader turns what its scanner found into the import.
 */
#ifndef MNEMIC_PROFILE_FORMATS_H
#define MNEMIC_PROFILE_FORMATS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/hsearch.h"

#include "format_scan.h"
#include "profile_import.h"
#include "profile_query.h"
#include "profile_tree.h"

/* The window of a run to write. */
typedef struct ProfileExport
{
	const char *run;			/* the run's uuid, as text */
	const char *tracer;			/* its tracer's name, or NULL */
	ProfileWeight weight;
	const char *weight_name;	/* "cpu", "wall", "samples", "alloc", "inuse" */
	const char *unit;			/* what the integer values count:
								 * "microseconds", "samples", "bytes" */
	TimestampTz from;
	TimestampTz to;
	ProfilePaths paths;			/* each distinct path and its value, in
								 * order of their frames' names */
	int64	   *values;			/* paths.paths[i]'s value in unit */
	HTAB	   *frames;			/* ProfileFrameInfo of every frame of them */
} ProfileExport;

/*
 * The longest time one sample may stand for: ProfileImportSample() keeps it
 * in entries of at most 35 minutes, so this bounds the work one number of
 * a file can ask for (a year: 15,000 entries).
 */
#define PROFILE_MAX_SAMPLE_US	((int64) 366 * 24 * 3600 * 1000000)

/* A time for readers of formats without one: the import's start. */
extern TimestampTz ProfileImportEpoch(void);

/* base + us, an ERROR naming the format when that is out of range. */
extern TimestampTz ProfileTimeAfter(TimestampTz base, int64 us);

/* Readers */
extern void ReadCollapsed(ProfileImport *pi, const char *data, size_t len);
extern void ReadVmprof(ProfileImport *pi, const char *data, size_t len);
extern void ReadSpeedscope(ProfileImport *pi, const char *data, size_t len);
extern void ReadPprof(ProfileImport *pi, const char *data, size_t len);

/* Writers */
extern bytea *WriteCollapsed(const ProfileExport *ex);
extern bytea *WriteSpeedscope(const ProfileExport *ex);
extern bytea *WritePprof(const ProfileExport *ex);

/* Memory for the scanners (format_scan.h): palloc's, huge allowed. */
extern const ScanAlloc ProfileScanAlloc;

/* zlib's gzip, for pprof (its files are gzipped protobuf). */
extern bytea *GzipBytes(const char *data, size_t len);

#endif							/* MNEMIC_PROFILE_FORMATS_H */
