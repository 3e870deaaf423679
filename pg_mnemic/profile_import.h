/*
 * profile_import.h
 *	  Building a profile read from a file (vmprof, collapsed stacks,
 *	  speedscope, pprof) and storing it as a new run of a tracer, through
 *	  the listener's storage path: what is imported lands exactly as what a
 *	  client sends.
 *
 * A reader of a format calls ProfileImportFrame / ProfileImportStack to
 * intern what it finds (ids are handed out from 1, the same content gets
 * the same id), ProfileImportSample / ProfileImportAlloc for each sample,
 * then ProfileImportStore.  Strings are UTF-8, as the formats write them.
 */
#ifndef MNEMIC_PROFILE_IMPORT_H
#define MNEMIC_PROFILE_IMPORT_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/uuid.h"

typedef struct ProfileImport ProfileImport;

/* Frame kinds, as on the wire (docs/protocol.md, FRAMES). */
#define IMPORT_FRAME_PYTHON	0
#define IMPORT_FRAME_NATIVE	1

extern ProfileImport *ProfileImportCreate(void);

/* The id of a frame: function, file, first line (0 unknown), kind. */
extern uint32 ProfileImportFrame(ProfileImport *pi, const char *function,
								 const char *file, int32 line, int16 kind);

/*
 * The id of the stack of parent (0: none, an outermost frame) with frame
 * on top, executing at line (0 unknown).
 */
extern uint32 ProfileImportStack(ProfileImport *pi, uint32 parent,
								 uint32 frame, int32 line);

/* The id of a thread by name (the first gets 1). */
extern uint32 ProfileImportThread(ProfileImport *pi, const char *name);

/* The id of an allocated type by name. */
extern uint32 ProfileImportType(ProfileImport *pi, const char *name);

/*
 * samples stack samples (a file may count several in one entry) of thread
 * at ts standing for wall_us µs in all, on CPU or not; rss_bytes (0
 * unknown) also lands in the run's metric rss_bytes.
 */
extern void ProfileImportSample(ProfileImport *pi, uint32 thread,
								TimestampTz ts, uint32 stack, int32 samples,
								int64 wall_us, bool on_cpu, int64 rss_bytes);

/* A sampled allocation of bytes of type (0 unknown) at ts. */
extern void ProfileImportAlloc(ProfileImport *pi, uint32 thread,
							   TimestampTz ts, uint32 stack, uint32 type,
							   int64 bytes);

/* Samples and allocations so far. */
extern int64 ProfileImportCount(ProfileImport *pi);

/*
 * Store everything as a new run of tracer (protocol 'import', its times
 * those of its samples, ended at its last sample) in the caller's
 * transaction; returns the run.  An error when nothing was imported.
 */
extern pg_uuid_t *ProfileImportStore(ProfileImport *pi, const char *tracer);

#endif							/* MNEMIC_PROFILE_IMPORT_H */
