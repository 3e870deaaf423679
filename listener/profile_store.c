/*
 * profile_store.c
 *	  Writing a run's profile (profile_store.h), inside the run's
 *	  subtransaction of a flush (store.c).
 *
 * Frames, stacks and type names are stored once per database: a frame or
 * stack the database already holds is found, not added.  A run keeps its
 * client's ids in prof_run_frame / prof_run_stack / prof_run_type, and its
 * samples name stacks by those ids, so a sample needs no lookup at all and
 * may arrive before the definition of its stack.  A stack definition whose
 * frame or parent is unknown (its datagram was lost, or not sent yet) is
 * stored with stack_id NULL and resolved by a later flush that brings what
 * it lacks.
 *
 * Clients repeat every definition periodically, so most definitions a
 * flush sees are known: backend-local caches answer those without SPI.
 * They follow the rules of xact_cache.h.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "block.h"
#include "pgtime.h"
#include "profile.h"
#include "profile_store.h"
#include "spi_helpers.h"
#include "xact_cache.h"

/* Cached entries beyond which the caches start afresh. */
#define CACHE_MAX_ENTRIES	500000

typedef enum ProfilePlan
{
	PP_FRAME_FIND,
	PP_FRAME_INSERT,
	PP_RUN_FRAME_UPSERT,
	PP_RUN_FRAME_FIND,
	PP_STACKS_FIND,
	PP_STACKS_INSERT,
	PP_RUN_STACKS_UPSERT,
	PP_RUN_STACK_FIND,
	PP_RUN_STACK_UNRESOLVED,
	PP_RUN_STACKS_RESOLVE,
	PP_THREAD_UPSERT,
	PP_TYPE_FIND,
	PP_TYPE_INSERT,
	PP_RUN_TYPE_UPSERT,
	PP_SAMPLE_INSERT,
	PP_ALLOC_INSERT,
	PP_FREE_INSERT,
	PP_RUN_CREATE,
	PP_RUN_LOCK,
	PP_RUN_UPDATE,
	PP_ROLLUP_FORGET,
	PP_GC_GENERATION,
	PP_COUNT
} ProfilePlan;

static KeptPlan plans[PP_COUNT] = {
	[PP_FRAME_FIND] = {
		"SELECT id FROM mnemic.prof_frame WHERE function = $1 AND file = $2"
		" AND line = $3 AND kind = $4", 4, {TEXTOID, TEXTOID, INT4OID, INT2OID}
	},
	[PP_FRAME_INSERT] = {
		"INSERT INTO mnemic.prof_frame (function, file, line, kind)"
		" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
		4, {TEXTOID, TEXTOID, INT4OID, INT2OID}
	},
	[PP_RUN_FRAME_UPSERT] = {
		"INSERT INTO mnemic.prof_run_frame AS f VALUES ($1, $2, $3)"
		" ON CONFLICT (run_id, wire_id) DO UPDATE SET frame_id = excluded.frame_id"
		" WHERE f.frame_id <> excluded.frame_id", 3, {INT4OID, INT4OID, INT4OID}
	},
	[PP_RUN_FRAME_FIND] = {
		"SELECT frame_id FROM mnemic.prof_run_frame WHERE run_id = $1"
		" AND wire_id = $2", 2, {INT4OID, INT4OID}
	},
	/* stacks are found and added a batch at a time: (parent, frame, line)s */
	[PP_STACKS_FIND] = {
		"SELECT s.id, s.parent, s.frame_id, s.line FROM mnemic.prof_stack s"
		" JOIN unnest($1::int[], $2::int[], $3::int[]) u (parent, frame, line)"
		" ON s.parent = u.parent AND s.frame_id = u.frame AND s.line = u.line",
		3, {INT4ARRAYOID, INT4ARRAYOID, INT4ARRAYOID}
	},
	/* a new stack's path is its parent's with its frame on top */
	[PP_STACKS_INSERT] = {
		"INSERT INTO mnemic.prof_stack (parent, frame_id, line, depth, frames, lines)"
		" SELECT u.parent, u.frame, u.line, coalesce(p.depth, 0) + 1,"
		" coalesce(p.frames, '{}') || u.frame, coalesce(p.lines, '{}') || u.line"
		" FROM unnest($1::int[], $2::int[], $3::int[]) u (parent, frame, line)"
		" LEFT JOIN mnemic.prof_stack p ON p.id = u.parent"
		" WHERE u.parent = 0 OR p.id IS NOT NULL"
		" ON CONFLICT DO NOTHING RETURNING id, parent, frame_id, line",
		3, {INT4ARRAYOID, INT4ARRAYOID, INT4ARRAYOID}
	},
	/* definitions of this flush, unresolved until resolve_pending() */
	[PP_RUN_STACKS_UPSERT] = {
		"INSERT INTO mnemic.prof_run_stack AS s"
		" SELECT $1, u.wire, u.parent, u.frame, u.line, NULL"
		" FROM unnest($2::int[], $3::int[], $4::int[], $5::int[])"
		"  u (wire, parent, frame, line)"
		" ON CONFLICT (run_id, wire_id) DO UPDATE SET"
		" parent_wire = excluded.parent_wire, frame_wire = excluded.frame_wire,"
		" line = excluded.line, stack_id = NULL",
		5, {INT4OID, INT4ARRAYOID, INT4ARRAYOID, INT4ARRAYOID, INT4ARRAYOID}
	},
	[PP_RUN_STACK_FIND] = {
		"SELECT stack_id FROM mnemic.prof_run_stack WHERE run_id = $1"
		" AND wire_id = $2", 2, {INT4OID, INT4OID}
	},
	[PP_RUN_STACK_UNRESOLVED] = {
		"SELECT wire_id, parent_wire, frame_wire, line FROM mnemic.prof_run_stack"
		" WHERE run_id = $1 AND stack_id IS NULL", 1, {INT4OID}
	},
	[PP_RUN_STACKS_RESOLVE] = {
		"UPDATE mnemic.prof_run_stack s SET stack_id = u.stack_id"
		" FROM unnest($2::int[], $3::int[]) u (wire, stack_id)"
		" WHERE s.run_id = $1 AND s.wire_id = u.wire",
		3, {INT4OID, INT4ARRAYOID, INT4ARRAYOID}
	},
	[PP_THREAD_UPSERT] = {
		"INSERT INTO mnemic.prof_thread AS t VALUES ($1, $2, $3, $4)"
		" ON CONFLICT (run_id, wire_id) DO UPDATE SET native_id = excluded.native_id,"
		" name = excluded.name", 4, {INT4OID, INT4OID, INT8OID, TEXTOID}
	},
	[PP_TYPE_FIND] = {
		"SELECT id FROM mnemic.prof_type WHERE name = $1", 1, {TEXTOID}
	},
	[PP_TYPE_INSERT] = {
		"INSERT INTO mnemic.prof_type (name) VALUES ($1) ON CONFLICT DO NOTHING"
		" RETURNING id", 1, {TEXTOID}
	},
	[PP_RUN_TYPE_UPSERT] = {
		"INSERT INTO mnemic.prof_run_type AS t VALUES ($1, $2, $3)"
		" ON CONFLICT (run_id, wire_id) DO UPDATE SET type_id = excluded.type_id",
		3, {INT4OID, INT4OID, INT4OID}
	},
	[PP_SAMPLE_INSERT] = {
		"INSERT INTO mnemic.prof_sample VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
		" $9, $10)",
		10, {INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID,
			TIMESTAMPTZARRAYOID, INT4ARRAYOID, INT4ARRAYOID, INT4ARRAYOID,
		INT4ARRAYOID}
	},
	[PP_ALLOC_INSERT] = {
		"INSERT INTO mnemic.prof_alloc VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
		" $9, $10)",
		10, {INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID,
			TIMESTAMPTZARRAYOID, INT4ARRAYOID, INT4ARRAYOID, INT8ARRAYOID,
		INT8ARRAYOID}
	},
	[PP_FREE_INSERT] = {
		"INSERT INTO mnemic.prof_free VALUES ($1, $2, $3, $4, $5, $6)",
		6, {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID,
		TIMESTAMPTZARRAYOID, INT8ARRAYOID}
	},
	[PP_RUN_CREATE] = {
		"INSERT INTO mnemic.prof_run (run_id) VALUES ($1) ON CONFLICT DO NOTHING",
		1, {INT4OID}
	},
	[PP_RUN_LOCK] = {
		"SELECT built_until FROM mnemic.prof_run WHERE run_id = $1 FOR UPDATE",
		1, {INT4OID}
	},
	[PP_RUN_UPDATE] = {
		"UPDATE mnemic.prof_run SET stack_samples = stack_samples + $2,"
		" alloc_samples = alloc_samples + $3, frees = frees + $4,"
		" first_sample = least(first_sample, $5),"
		" last_sample = greatest(last_sample, $6),"
		" max_span = greatest(max_span, $7), built_until = $8 WHERE run_id = $1",
		8, {INT4OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		INTERVALOID, TIMESTAMPTZARRAYOID}
	},
	[PP_ROLLUP_FORGET] = {
		"DELETE FROM mnemic.prof_rollup WHERE run_id = $1 AND level = $2"
		" AND bucket >= $3", 3, {INT4OID, INT2OID, TIMESTAMPTZOID}
	},
	/* held to the end of the transaction: no collection meanwhile */
	[PP_GC_GENERATION] = {
		"SELECT pg_advisory_xact_lock_shared($1),"
		" (SELECT last_value FROM mnemic.prof_gc_generation)", 1, {INT8OID}
	},
};

static uint64
profile_exec(ProfilePlan which, Datum *args, const char *nulls)
{
	return KeptPlanExec(&plans[which], args, nulls, false, 0);
}


/* ---------------------------------------------------------------------
 * Caches
 * ---------------------------------------------------------------------
 */

/* A frame or type by a hash of what it is; the strings tell collisions. */
typedef struct ContentEntry
{
	uint64		hash;			/* key */
	int32		id;
	int16		kind;
	int32		line;
	char	   *name;			/* function, or type name */
	char	   *file;
} ContentEntry;

typedef struct StackKey
{
	int32		parent;
	int32		frame;
	int32		line;
} StackKey;

typedef struct StackEntry
{
	StackKey	key;
	int32		id;
	int32		depth;
} StackEntry;

/* A run's id of the client: frames, stacks, types; threads by name. */
typedef struct RunWireKey
{
	int32		run_id;
	int32		what;			/* 'f', 's', 't', 'T' */
	uint32		wire;
} RunWireKey;

typedef struct RunWireEntry
{
	RunWireKey	key;
	int32		id;				/* database id; 0 for an unresolved stack */
	uint64		content;		/* what the definition said, hashed */
} RunWireEntry;

static MemoryContext cache_cxt = NULL;
static int64 cache_generation = -1;	/* of prof_gc_generation */
static HTAB *frame_cache = NULL;
static HTAB *type_cache = NULL;
static HTAB *stack_cache = NULL;
static HTAB *run_wire_cache = NULL;

void
ProfileForgetCache(void)
{
	if (cache_cxt != NULL)
		MemoryContextDelete(cache_cxt);
	cache_cxt = NULL;
	frame_cache = type_cache = stack_cache = run_wire_cache = NULL;
}

static HTAB *
cache_table(const char *name, Size keysize, Size entrysize)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = cache_cxt;
	return hash_create(name, 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Make the caches ready for a flush.  Frames and stacks that no run uses
 * may be collected (mnemic.collect_profile_garbage): the shared lock taken
 * here keeps that from happening during the flush, and a collection since
 * the caches were filled makes them start afresh.
 */
static void
cache_ensure(void)
{
	Datum		key = Int64GetDatum(PROFILE_GC_LOCK_KEY);
	bool		isnull;
	int64		generation;

	XactCacheRegister(ProfileForgetCache);
	if (profile_exec(PP_GC_GENERATION, &key, NULL) != 1)
		elog(ERROR, "pg_mnemic: reading the profile generation failed");
	generation = DatumGetInt64(SpiResult(0, 2, &isnull));
	if (cache_cxt != NULL && generation != cache_generation)
		ProfileForgetCache();
	cache_generation = generation;
	if (cache_cxt != NULL &&
		hash_get_num_entries(run_wire_cache) + hash_get_num_entries(stack_cache) >
		CACHE_MAX_ENTRIES)
		ProfileForgetCache();
	if (cache_cxt != NULL)
		return;
	cache_cxt = AllocSetContextCreate(TopMemoryContext, "mnemic profile cache",
									  ALLOCSET_DEFAULT_SIZES);
	frame_cache = cache_table("mnemic frames", sizeof(uint64), sizeof(ContentEntry));
	type_cache = cache_table("mnemic types", sizeof(uint64), sizeof(ContentEntry));
	stack_cache = cache_table("mnemic stacks", sizeof(StackKey), sizeof(StackEntry));
	run_wire_cache = cache_table("mnemic run ids", sizeof(RunWireKey),
								 sizeof(RunWireEntry));
}

static uint64
hash_string(uint64 h, const char *s)
{
	return hash_combine64(h, hash_bytes_extended((const unsigned char *) s,
												 strlen(s), 0));
}

static RunWireEntry *
run_wire_find(int32 run_id, char what, uint32 wire)
{
	RunWireKey	key = {run_id, what, wire};

	return hash_search(run_wire_cache, &key, HASH_FIND, NULL);
}

static void
run_wire_remember(int32 run_id, char what, uint32 wire, int32 id,
				  uint64 content)
{
	RunWireKey	key = {run_id, what, wire};
	RunWireEntry *entry = hash_search(run_wire_cache, &key, HASH_ENTER, NULL);

	entry->id = id;
	entry->content = content;
	XactCacheAdded();
}

/* The first column of the first row, or 0 when there is none. */
static int32
first_int32_or_zero(uint64 rows)
{
	bool		isnull;
	Datum		d;

	if (rows == 0)
		return 0;
	d = SpiResult(0, 1, &isnull);
	return isnull ? 0 : DatumGetInt32(d);
}


/* ---------------------------------------------------------------------
 * Frames and types: one row per distinct content, in the whole database
 * ---------------------------------------------------------------------
 */

static uint64
frame_hash(const ProfileFrameDef *f)
{
	uint64		h = hash_combine64(f->kind, f->line);

	h = hash_string(h, f->function);
	return hash_string(h, f->file);
}

static int32
frame_id_for(const ProfileFrameDef *f, uint64 hash)
{
	ContentEntry *entry = hash_search(frame_cache, &hash, HASH_FIND, NULL);
	Datum		args[4];
	int32		id;

	if (entry != NULL && entry->kind == f->kind && entry->line == f->line &&
		strcmp(entry->name, f->function) == 0 && strcmp(entry->file, f->file) == 0)
		return entry->id;

	args[0] = WireTextDatum(f->function);
	args[1] = WireTextDatum(f->file);
	args[2] = Int32GetDatum(f->line);
	args[3] = Int16GetDatum(f->kind);
	/* Look before inserting: a conflicting INSERT still uses up an id. */
	id = first_int32_or_zero(profile_exec(PP_FRAME_FIND, args, NULL));
	if (id == 0)
		id = first_int32_or_zero(profile_exec(PP_FRAME_INSERT, args, NULL));
	if (id == 0)
		id = first_int32_or_zero(profile_exec(PP_FRAME_FIND, args, NULL));
	if (id == 0)
		elog(ERROR, "pg_mnemic: frame vanished while being created");

	if (entry == NULL)
	{
		entry = hash_search(frame_cache, &hash, HASH_ENTER, NULL);
		entry->id = id;
		entry->kind = f->kind;
		entry->line = f->line;
		entry->name = MemoryContextStrdup(cache_cxt, f->function);
		entry->file = MemoryContextStrdup(cache_cxt, f->file);
		XactCacheAdded();
	}
	return id;
}

static void
store_frames(int32 run_id, const ProfileDefs *frames, bool *defined)
{
	for (int i = 0; i < frames->n; i++)
	{
		const ProfileFrameDef *f = PROFILE_DEF(frames, ProfileFrameDef, i);
		uint64		hash = frame_hash(f);
		RunWireEntry *known = run_wire_find(run_id, 'f', f->wire);
		Datum		args[3];
		int32		frame_id;

		if (known != NULL && known->content == hash)
			continue;			/* a repeated definition */
		frame_id = frame_id_for(f, hash);
		args[0] = Int32GetDatum(run_id);
		args[1] = Int32GetDatum((int32) f->wire);
		args[2] = Int32GetDatum(frame_id);
		profile_exec(PP_RUN_FRAME_UPSERT, args, NULL);
		run_wire_remember(run_id, 'f', f->wire, frame_id, hash);
		*defined = true;
	}
}

static int32
type_id_for(const char *name, uint64 hash)
{
	ContentEntry *entry = hash_search(type_cache, &hash, HASH_FIND, NULL);
	Datum		args[1];
	int32		id;

	if (entry != NULL && strcmp(entry->name, name) == 0)
		return entry->id;
	args[0] = WireTextDatum(name);
	id = first_int32_or_zero(profile_exec(PP_TYPE_FIND, args, NULL));
	if (id == 0)
		id = first_int32_or_zero(profile_exec(PP_TYPE_INSERT, args, NULL));
	if (id == 0)
		id = first_int32_or_zero(profile_exec(PP_TYPE_FIND, args, NULL));
	if (id == 0)
		elog(ERROR, "pg_mnemic: type vanished while being created");
	if (entry == NULL)
	{
		entry = hash_search(type_cache, &hash, HASH_ENTER, NULL);
		entry->id = id;
		entry->name = MemoryContextStrdup(cache_cxt, name);
		entry->file = NULL;
		XactCacheAdded();
	}
	return id;
}

static void
store_types(int32 run_id, const ProfileDefs *types)
{
	for (int i = 0; i < types->n; i++)
	{
		const ProfileTypeDef *t = PROFILE_DEF(types, ProfileTypeDef, i);
		uint64		hash = hash_string(0, t->name);
		RunWireEntry *known = run_wire_find(run_id, 'T', t->wire);
		Datum		args[3];
		int32		type_id;

		if (known != NULL && known->content == hash)
			continue;
		type_id = type_id_for(t->name, hash);
		args[0] = Int32GetDatum(run_id);
		args[1] = Int32GetDatum((int32) t->wire);
		args[2] = Int32GetDatum(type_id);
		profile_exec(PP_RUN_TYPE_UPSERT, args, NULL);
		run_wire_remember(run_id, 'T', t->wire, type_id, hash);
	}
}

static void
store_threads(int32 run_id, const ProfileDefs *threads)
{
	for (int i = 0; i < threads->n; i++)
	{
		const ProfileThreadDef *t = PROFILE_DEF(threads, ProfileThreadDef, i);
		uint64		hash = hash_string(t->native_id, t->name);
		RunWireEntry *known = run_wire_find(run_id, 't', t->wire);
		Datum		args[4];

		if (known != NULL && known->content == hash)
			continue;
		args[0] = Int32GetDatum(run_id);
		args[1] = Int32GetDatum((int32) t->wire);
		args[2] = Int64GetDatum(t->native_id);
		args[3] = WireTextDatum(t->name);
		profile_exec(PP_THREAD_UPSERT, args, NULL);
		run_wire_remember(run_id, 't', t->wire, 0, hash);
	}
}


/* ---------------------------------------------------------------------
 * Stacks: nodes of one tree for the whole database
 * ---------------------------------------------------------------------
 */

/* The database id of a run's frame or stack (0: not known). */
static int32
run_id_of(int32 run_id, char what, uint32 wire)
{
	RunWireEntry *known = run_wire_find(run_id, what, wire);
	Datum		args[2];
	int32		id;

	if (known != NULL)
		return known->id;
	args[0] = Int32GetDatum(run_id);
	args[1] = Int32GetDatum((int32) wire);
	id = first_int32_or_zero(profile_exec(what == 'f' ? PP_RUN_FRAME_FIND :
										  PP_RUN_STACK_FIND, args, NULL));
	/* remember only what is resolved: an unresolved stack may resolve */
	if (id != 0)
		run_wire_remember(run_id, what, wire, id, 0);
	return id;
}

static uint64
stack_hash(const DgStackDef *def)
{
	return hash_combine64(hash_combine64(def->parent, def->frame), def->line) | 1;
}

static Datum
int32_array(const int32 *v, int n)
{
	return PointerGetDatum(ArrayOfFixed(v, NULL, n, INT4OID, 4));
}

/* A definition waiting for its database stack. */
typedef struct Pending
{
	DgStackDef	def;
	int32		parent;			/* database ids, once known */
	int32		frame;
	int32		line;
	int32		stack;			/* the database stack; 0 until resolved */
} Pending;

/*
 * The database stacks of the pending definitions pointed to by wave (n of
 * them), found or added: one statement to find those the database has,
 * one to add the others, then the cache knows them all.
 */
static void
stacks_find_or_add(Pending **wave, int n)
{
	int32	   *parent = palloc(sizeof(int32) * n);
	int32	   *frame = palloc(sizeof(int32) * n);
	int32	   *line = palloc(sizeof(int32) * n);
	int			m = 0;

	/* find, add what was not found, find what others added meanwhile */
	for (int attempt = 0; attempt <= 3; attempt++)
	{
		m = 0;
		for (int i = 0; i < n; i++)
		{
			StackKey	key = {wave[i]->parent, wave[i]->frame, wave[i]->line};
			StackEntry *e = hash_search(stack_cache, &key, HASH_FIND, NULL);

			if (e != NULL)
				wave[i]->stack = e->id;
			else
			{
				parent[m] = key.parent;
				frame[m] = key.frame;
				line[m] = key.line;
				m++;
			}
		}
		if (m == 0 || attempt == 3)
			break;
		{
			Datum		args[3] = {int32_array(parent, m), int32_array(frame, m),
			int32_array(line, m)};
			/* look before inserting: a conflicting INSERT uses up ids */
			uint64		rows = profile_exec(attempt == 1 ? PP_STACKS_INSERT :
											PP_STACKS_FIND, args, NULL);

			for (uint64 r = 0; r < rows; r++)
			{
				bool		isnull;
				StackKey	key;
				StackEntry *e;

				key.parent = DatumGetInt32(SpiResult(r, 2, &isnull));
				key.frame = DatumGetInt32(SpiResult(r, 3, &isnull));
				key.line = DatumGetInt32(SpiResult(r, 4, &isnull));
				e = hash_search(stack_cache, &key, HASH_ENTER, NULL);
				e->id = DatumGetInt32(SpiResult(r, 1, &isnull));
				e->depth = 0;	/* not used */
				XactCacheAdded();
			}
		}
	}
	if (m > 0)
		elog(ERROR, "pg_mnemic: %d stacks could not be stored: a parent does not exist",
			 m);
	pfree(parent);
	pfree(frame);
	pfree(line);
}

/*
 * Resolve what the run left unresolved (this flush's new definitions
 * included), in waves: a definition whose frame and parent are known joins
 * the wave, and its children join the next one.  Each wave costs a few
 * statements however many stacks it holds.
 */
static void
resolve_pending(int32 run_id)
{
	Datum		arg = Int32GetDatum(run_id);
	Pending    *pending;
	Pending   **wave;
	int32	   *wires;
	int32	   *ids;
	HTAB	   *waiting;
	HASHCTL		ctl;
	uint64		n;

	n = profile_exec(PP_RUN_STACK_UNRESOLVED, &arg, NULL);
	if (n == 0)
		return;
	pending = palloc0(sizeof(Pending) * n);
	wave = palloc(sizeof(Pending *) * n);
	wires = palloc(sizeof(int32) * n);
	ids = palloc(sizeof(int32) * n);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(uint32);
	ctl.hcxt = CurrentMemoryContext;
	waiting = hash_create("mnemic pending stacks", n, &ctl,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		pending[i].def.id = (uint32) DatumGetInt32(SpiResult(i, 1, &isnull));
		pending[i].def.parent = (uint32) DatumGetInt32(SpiResult(i, 2, &isnull));
		pending[i].def.frame = (uint32) DatumGetInt32(SpiResult(i, 3, &isnull));
		pending[i].def.line = (uint32) DatumGetInt32(SpiResult(i, 4, &isnull));
		(void) hash_search(waiting, &pending[i].def.id, HASH_ENTER, NULL);
	}
	for (;;)
	{
		int			nwave = 0;

		for (uint64 i = 0; i < n; i++)
		{
			Pending    *p = &pending[i];

			if (p->stack != 0 || p->def.id == 0)
				continue;
			/* a parent still waiting resolves in an earlier wave, if at all */
			if (p->def.parent != 0 &&
				hash_search(waiting, &p->def.parent, HASH_FIND, NULL) != NULL)
				continue;
			p->frame = run_id_of(run_id, 'f', p->def.frame);
			p->parent = p->def.parent == 0 ? 0 :
				run_id_of(run_id, 's', p->def.parent);
			if (p->frame == 0 || (p->def.parent != 0 && p->parent == 0))
			{
				p->def.id = 0;	/* lacks a definition: for a later flush */
				continue;
			}
			p->line = (int32) Min(p->def.line, (uint32) PG_INT32_MAX);
			wave[nwave++] = p;
		}
		if (nwave == 0)
			break;
		stacks_find_or_add(wave, nwave);
		for (int i = 0; i < nwave; i++)
		{
			wires[i] = (int32) wave[i]->def.id;
			ids[i] = wave[i]->stack;
			run_wire_remember(run_id, 's', wave[i]->def.id, wave[i]->stack,
							  stack_hash(&wave[i]->def));
			(void) hash_search(waiting, &wave[i]->def.id, HASH_REMOVE, NULL);
		}
		{
			Datum		args[3] = {Int32GetDatum(run_id), int32_array(wires, nwave),
			int32_array(ids, nwave)};

			profile_exec(PP_RUN_STACKS_RESOLVE, args, NULL);
		}
	}
	hash_destroy(waiting);
	pfree(pending);
	pfree(wave);
	pfree(wires);
	pfree(ids);
}

/*
 * The run's stack definitions of this flush: the new or changed ones are
 * written unresolved in one statement (the last of a repeated id wins),
 * then everything unresolved of the run is resolved, as this flush may
 * have brought what earlier definitions lacked (frames included).
 */
static void
store_stacks(int32 run_id, const ProfileDefs *stacks, bool frames_defined)
{
	int32	   *wire = palloc(sizeof(int32) * Max(stacks->n, 1));
	int32	   *parent = palloc(sizeof(int32) * Max(stacks->n, 1));
	int32	   *frame = palloc(sizeof(int32) * Max(stacks->n, 1));
	int32	   *line = palloc(sizeof(int32) * Max(stacks->n, 1));
	int			n = 0;
	HTAB	   *taken;
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(uint32);
	ctl.hcxt = CurrentMemoryContext;
	taken = hash_create("mnemic flush stacks", Max(stacks->n, 16), &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	/* the last definition of an id in the flush is the one that counts */
	for (int i = stacks->n - 1; i >= 0; i--)
	{
		const DgStackDef *def = PROFILE_DEF(stacks, DgStackDef, i);
		uint64		hash = stack_hash(def);
		RunWireEntry *known;
		bool		found;

		(void) hash_search(taken, &def->id, HASH_ENTER, &found);
		if (found)
			continue;			/* an earlier copy, superseded */
		known = run_wire_find(run_id, 's', def->id);
		if (known != NULL && known->content == hash)
			continue;			/* repeated */
		wire[n] = (int32) def->id;
		parent[n] = (int32) def->parent;
		frame[n] = (int32) def->frame;
		line[n] = (int32) Min(def->line, (uint32) PG_INT32_MAX);
		n++;
		/* unresolved until resolve_pending(), and taken once */
		run_wire_remember(run_id, 's', def->id, 0, hash);
	}
	if (n > 0)
	{
		Datum		args[5] = {Int32GetDatum(run_id), int32_array(wire, n),
			int32_array(parent, n), int32_array(frame, n), int32_array(line, n)};

		profile_exec(PP_RUN_STACKS_UPSERT, args, NULL);
	}
	if (n > 0 || frames_defined)
		resolve_pending(run_id);
	hash_destroy(taken);
	pfree(wire);
	pfree(parent);
	pfree(frame);
	pfree(line);
}


/* ---------------------------------------------------------------------
 * Samples: rows of up to PROFILE_BLOCK_MAX, per thread
 * ---------------------------------------------------------------------
 */

/* The time range a flush adds, for the run's row. */
typedef struct FlushSpan
{
	bool		any;
	TimestampTz first;
	TimestampTz last;
	int64		max_span;
} FlushSpan;

/*
 * Add a block's times to the flush's span; *lo and *hi are the block's
 * first and last (samples of a block need not be in order: UDP may
 * reorder datagrams, and readers look at each sample's time).
 */
static void
span_add(FlushSpan *span, const TimestampTz *ts, int n, TimestampTz *lo,
		 TimestampTz *hi)
{
	*lo = *hi = ts[0];
	for (int i = 1; i < n; i++)
	{
		*lo = Min(*lo, ts[i]);
		*hi = Max(*hi, ts[i]);
	}
	span->first = span->any ? Min(span->first, *lo) : *lo;
	span->last = span->any ? Max(span->last, *hi) : *hi;
	span->max_span = Max(span->max_span, *hi - *lo);
	span->any = true;
}

static void
span_merge(FlushSpan *into, const FlushSpan *from)
{
	into->first = into->any ? Min(into->first, from->first) : from->first;
	into->last = into->any ? Max(into->last, from->last) : from->last;
	into->max_span = Max(into->max_span, from->max_span);
	into->any = true;
}

static void
store_samples(int32 run_id, const ProfileSamples *ps, FlushSpan *span)
{
	for (int64 start = 0; start < ps->n; start += PROFILE_BLOCK_MAX)
	{
		int			n = (int) Min(PROFILE_BLOCK_MAX, ps->n - start);
		const TimestampTz *ts = ps->ts + start;
		TimestampTz lo;
		TimestampTz hi;
		Datum		args[10];

		span_add(span, ts, n, &lo, &hi);
		args[0] = Int32GetDatum(run_id);
		args[1] = Int32GetDatum((int32) ps->thread);
		args[2] = TimestampTzGetDatum(lo);
		args[3] = TimestampTzGetDatum(hi);
		args[4] = Int32GetDatum(n);
		args[5] = PointerGetDatum(ArrayOfFixed(ts, NULL, n, TIMESTAMPTZOID, 8));
		args[6] = PointerGetDatum(ArrayOfFixed(ps->stack + start, NULL, n, INT4OID, 4));
		args[7] = PointerGetDatum(ArrayOfFixed(ps->samples + start, NULL, n, INT4OID, 4));
		args[8] = PointerGetDatum(ArrayOfFixed(ps->wall + start, NULL, n, INT4OID, 4));
		args[9] = PointerGetDatum(ArrayOfFixed(ps->cpu + start, NULL, n, INT4OID, 4));
		profile_exec(PP_SAMPLE_INSERT, args, NULL);
	}
}

static void
store_allocs(int32 run_id, const ProfileAllocs *pa, FlushSpan *span)
{
	for (int64 start = 0; start < pa->n; start += PROFILE_BLOCK_MAX)
	{
		int			n = (int) Min(PROFILE_BLOCK_MAX, pa->n - start);
		const TimestampTz *ts = pa->ts + start;
		TimestampTz lo;
		TimestampTz hi;
		Datum		args[10];

		span_add(span, ts, n, &lo, &hi);
		args[0] = Int32GetDatum(run_id);
		args[1] = Int32GetDatum((int32) pa->thread);
		args[2] = TimestampTzGetDatum(lo);
		args[3] = TimestampTzGetDatum(hi);
		args[4] = Int32GetDatum(n);
		args[5] = PointerGetDatum(ArrayOfFixed(ts, NULL, n, TIMESTAMPTZOID, 8));
		args[6] = PointerGetDatum(ArrayOfFixed(pa->stack + start, NULL, n, INT4OID, 4));
		args[7] = PointerGetDatum(ArrayOfFixed(pa->type + start, NULL, n, INT4OID, 4));
		args[8] = PointerGetDatum(ArrayOfFixed(pa->bytes + start, NULL, n, INT8OID, 8));
		args[9] = PointerGetDatum(ArrayOfFixed(pa->alloc_id + start, NULL, n, INT8OID, 8));
		profile_exec(PP_ALLOC_INSERT, args, NULL);
	}
}

static void
store_frees(int32 run_id, const ProfileFrees *pf, FlushSpan *span)
{
	for (int64 start = 0; start < pf->n; start += PROFILE_BLOCK_MAX)
	{
		int			n = (int) Min(PROFILE_BLOCK_MAX, pf->n - start);
		const TimestampTz *ts = pf->ts + start;
		TimestampTz lo;
		TimestampTz hi;
		Datum		args[6];

		span_add(span, ts, n, &lo, &hi);
		args[0] = Int32GetDatum(run_id);
		args[1] = TimestampTzGetDatum(lo);
		args[2] = TimestampTzGetDatum(hi);
		args[3] = Int32GetDatum(n);
		args[4] = PointerGetDatum(ArrayOfFixed(ts, NULL, n, TIMESTAMPTZOID, 8));
		args[5] = PointerGetDatum(ArrayOfFixed(pf->alloc_id + start, NULL, n, INT8OID, 8));
		profile_exec(PP_FREE_INSERT, args, NULL);
	}
}

/*
 * The run's rollups are built up to built_until[level] (profile.h); a
 * sample older than that falls in a bucket already summed.  Forget the
 * rollups from that bucket on, at every level, so they are built again
 * with it (late samples are rare: a datagram held up by the network).
 */
static ArrayType *
forget_rollups_from(int32 run_id, ArrayType *built, TimestampTz earliest)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	TimestampTz until[PROFILE_LEVELS];
	bool		changed = false;

	deconstruct_array(built, TIMESTAMPTZOID, sizeof(TimestampTz), true,
					  TYPALIGN_DOUBLE, &elems, &nulls, &n);
	for (int level = 0; level < PROFILE_LEVELS; level++)
	{
		until[level] = level < n && !nulls[level] ?
			DatumGetTimestampTz(elems[level]) : DT_NOBEGIN;
		if (earliest < until[level])
		{
			Datum		args[3];

			until[level] = ProfileBucket(level, earliest);
			args[0] = Int32GetDatum(run_id);
			args[1] = Int16GetDatum(level);
			args[2] = TimestampTzGetDatum(until[level]);
			profile_exec(PP_ROLLUP_FORGET, args, NULL);
			changed = true;
		}
	}
	if (!changed)
		return built;
	return ArrayOfFixed(until, NULL, n > 0 ? Min(n, PROFILE_LEVELS) : 0,
						TIMESTAMPTZOID, 8);
}

void
ProfileFlushRun(int32 run_id, ProfileBuffer *pb)
{
	Datum		arg = Int32GetDatum(run_id);
	Datum		args[8];
	char		nulls[9] = "        ";
	FlushSpan	span = {false, 0, 0, 0};
	FlushSpan	stack_span = {false, 0, 0, 0};
	bool		frames_defined = false;
	ArrayType  *built;
	bool		isnull;

	cache_ensure();
	profile_exec(PP_RUN_CREATE, &arg, NULL);
	if (profile_exec(PP_RUN_LOCK, &arg, NULL) == 0)
		elog(ERROR, "pg_mnemic: the profile of run %d vanished", run_id);
	built = DatumGetArrayTypePCopy(SpiResult(0, 1, &isnull));

	store_frames(run_id, &pb->frames, &frames_defined);
	store_types(run_id, &pb->types);
	store_threads(run_id, &pb->threads);
	store_stacks(run_id, &pb->stacks, frames_defined);
	for (int i = 0; i < pb->samples.n; i++)
		store_samples(run_id, PROFILE_DEF(&pb->samples, ProfileSamples, i),
					  &stack_span);
	for (int i = 0; i < pb->allocs.n; i++)
		store_allocs(run_id, PROFILE_DEF(&pb->allocs, ProfileAllocs, i), &span);
	store_frees(run_id, &pb->frees, &span);

	/* only stack samples are summed in rollups */
	if (stack_span.any)
	{
		built = forget_rollups_from(run_id, built, stack_span.first);
		span_merge(&span, &stack_span);
	}
	args[0] = Int32GetDatum(run_id);
	args[1] = Int64GetDatum(pb->stack_samples);
	args[2] = Int64GetDatum(pb->alloc_samples);
	args[3] = Int64GetDatum(pb->frees.n);
	args[4] = TimestampTzGetDatum(span.first);
	args[5] = TimestampTzGetDatum(span.last);
	if (!span.any)
		nulls[4] = nulls[5] = 'n';
	args[6] = us_to_interval_datum(span.max_span);
	args[7] = PointerGetDatum(built);
	profile_exec(PP_RUN_UPDATE, args, nulls);
	if (pb->bad_timestamps > 0)
		ereport(LOG,
				(errmsg("pg_mnemic: dropped %lld profile samples whose time is out of range",
						(long long) pb->bad_timestamps)));
}
