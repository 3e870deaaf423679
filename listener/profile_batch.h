/*
 * profile_batch.h
 *	  What the store holds of a run's profile between flushes: the
 *	  definitions (frames, stacks, threads, allocated types) and the samples
 *	  (stack samples and allocations per thread, frees), in growing C
 *	  arrays; profile_store.c writes them.
 *
 * Ids are the client's (docs/protocol.md, kinds 0x10-0x16), kept as the
 * 32 bits the wire carries.  Strings are kept in UTF-8, as the wire carries
 * them, and converted in the flush.
 */
#ifndef MNEMIC_PROFILE_BATCH_H
#define MNEMIC_PROFILE_BATCH_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "decode.h"

typedef struct ProfileFrameDef
{
	uint32		wire;
	int16		kind;
	int32		line;
	char	   *function;
	char	   *file;
} ProfileFrameDef;

typedef struct ProfileThreadDef
{
	uint32		wire;
	int64		native_id;
	char	   *name;
} ProfileThreadDef;

typedef struct ProfileTypeDef
{
	uint32		wire;
	char	   *name;
} ProfileTypeDef;

/* Stack samples of one thread. */
typedef struct ProfileSamples
{
	uint32		thread;
	int64		n;
	int64		cap;
	TimestampTz *ts;
	int32	   *stack;			/* the client's ids */
	int32	   *samples;		/* samples an entry stands for: 1 on the wire */
	int32	   *wall;			/* µs the sample stands for */
	int32	   *cpu;			/* of which on CPU: wall or 0 */
} ProfileSamples;

/* Sampled allocations of one thread. */
typedef struct ProfileAllocs
{
	uint32		thread;
	int64		n;
	int64		cap;
	TimestampTz *ts;
	int32	   *stack;
	int32	   *type;
	int64	   *bytes;
	int64	   *alloc_id;
} ProfileAllocs;

typedef struct ProfileFrees
{
	int64		n;
	int64		cap;
	TimestampTz *ts;
	int64	   *alloc_id;
} ProfileFrees;

/* A growable array of fixed-size entries. */
typedef struct ProfileDefs
{
	int			n;
	int			cap;
	size_t		size;			/* of one entry */
	void	   *entries;
} ProfileDefs;

typedef struct ProfileBuffer
{
	ProfileDefs frames;			/* ProfileFrameDef */
	ProfileDefs stacks;			/* DgStackDef */
	ProfileDefs threads;		/* ProfileThreadDef */
	ProfileDefs types;			/* ProfileTypeDef */
	ProfileDefs samples;		/* ProfileSamples, one per thread */
	ProfileDefs allocs;			/* ProfileAllocs, one per thread */
	ProfileFrees frees;
	int64		stack_samples;	/* totals of the above */
	int64		alloc_samples;
	int64		bad_timestamps; /* samples dropped: time out of range */
} ProfileBuffer;

/* An empty buffer in the current memory context. */
extern ProfileBuffer *ProfileBufferCreate(void);

/*
 * Add one decoded profile message (kind DG_FRAMES .. DG_FREES), copying
 * what it keeps into the current memory context.
 */
extern void ProfileBufferAdd(ProfileBuffer *pb, DgKind kind,
							 const DgProfile *msg);

/*
 * The same, one entry at a time, for a profile built in C (an import):
 * strings are UTF-8 and copied.
 */
extern void ProfileBufferAddFrame(ProfileBuffer *pb, uint32 wire, int16 kind,
								  int32 line, const char *function,
								  const char *file);
extern void ProfileBufferAddStack(ProfileBuffer *pb, uint32 wire,
								  uint32 parent, uint32 frame, uint32 line);
extern void ProfileBufferAddThread(ProfileBuffer *pb, uint32 wire,
								   int64 native_id, const char *name);
extern void ProfileBufferAddType(ProfileBuffer *pb, uint32 wire,
								 const char *name);
extern void ProfileBufferAddSample(ProfileBuffer *pb, uint32 thread,
								   TimestampTz ts, int32 stack, int32 samples,
								   int32 wall_us, int32 cpu_us);
extern void ProfileBufferAddAlloc(ProfileBuffer *pb, uint32 thread,
								  TimestampTz ts, int32 stack, int32 type,
								  int64 bytes, int64 alloc_id);

/* Entry i of a ProfileDefs, as type. */
#define PROFILE_DEF(defs, type, i)	(&((type *) (defs)->entries)[i])

#endif							/* MNEMIC_PROFILE_BATCH_H */
