/*
 * profile_tree.c
 *	  Call paths of a run's stacks, and the merged call tree (profile_tree.h).
 *
 * Only the distinct stacks of a window are resolved: their client ids to
 * the database's stacks (prof_run_stack) and each stack's whole path
 * (prof_stack keeps it) in one query, then the frames of the paths in
 * one more.  The cost follows the stacks, not the samples.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "listener/block.h"
#include "listener/spi_helpers.h"
#include "profile_query.h"
#include "profile_tree.h"

typedef enum TreePlan
{
	TP_PATHS,
	TP_FRAMES,
	TP_COUNT
} TreePlan;

static KeptPlan plans[TP_COUNT] = {
	[TP_PATHS] = {
		"SELECT rs.wire_id, s.frames, s.lines FROM mnemic.prof_run_stack rs"
		" JOIN mnemic.prof_stack s ON s.id = rs.stack_id"
		" WHERE rs.run_id = $1 AND rs.wire_id = ANY ($2)",
		2, {INT4OID, INT4ARRAYOID}, true
	},
	[TP_FRAMES] = {
		"SELECT id, kind, line, function, file FROM mnemic.prof_frame"
		" WHERE id = ANY ($1)", 1, {INT4ARRAYOID}, true
	},
};

static HTAB *
int_table(const char *name, Size entrysize, long size)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = entrysize;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, Max(size, 16), &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static Datum
int_array(const int32 *values, int n)
{
	return PointerGetDatum(ArrayOfFixed(values, NULL, n, INT4OID, 4));
}

/* A resolved stack's path, keyed by the client's stack id. */
typedef struct PathEntry
{
	int32		wire;
	int			depth;
	int32	   *frames;
	int32	   *lines;
} PathEntry;

/* The paths of the client's stack ids that are resolved, in one query. */
static HTAB *
run_paths(int32 run_id, const int32 *wire, int n)
{
	HTAB	   *map = int_table("mnemic run paths", sizeof(PathEntry), n);
	Datum		args[2] = {Int32GetDatum(run_id), int_array(wire, n)};
	uint64		rows = KeptPlanExec(&plans[TP_PATHS], args, NULL, true, 0);

	for (uint64 i = 0; i < rows; i++)
	{
		bool		isnull;
		int32		key = DatumGetInt32(SpiResult(i, 1, &isnull));
		PathEntry  *e = hash_search(map, &key, HASH_ENTER, NULL);
		ArrayType  *frames = DatumGetArrayTypeP(SpiResult(i, 2, &isnull));
		ArrayType  *lines = DatumGetArrayTypeP(SpiResult(i, 3, &isnull));
		int			depth = ArrayGetNItems(ARR_NDIM(frames), ARR_DIMS(frames));

		if (depth < 1 || ARR_HASNULL(frames) || ARR_HASNULL(lines) ||
			ArrayGetNItems(ARR_NDIM(lines), ARR_DIMS(lines)) != depth)
			elog(ERROR, "pg_mnemic: stack %d of run %d has a malformed path",
				 key, run_id);
		e->depth = depth;
		e->frames = palloc(sizeof(int32) * depth);
		e->lines = palloc(sizeof(int32) * depth);
		memcpy(e->frames, ARR_DATA_PTR(frames), sizeof(int32) * depth);
		memcpy(e->lines, ARR_DATA_PTR(lines), sizeof(int32) * depth);
	}
	return map;
}

/* A path of one synthetic frame. */
static void
synthetic_path(ProfilePath *p, int32 frame)
{
	p->depth = 1;
	p->frames = palloc(sizeof(int32));
	p->lines = palloc(sizeof(int32));
	p->frames[0] = frame;
	p->lines[0] = 0;
}

ProfilePaths
ProfileResolvePaths(int32 run_id, HTAB *sums)
{
	ProfilePaths result;
	long		nsums = hash_get_num_entries(sums);
	int32	   *wire = palloc(sizeof(int32) * Max(nsums, 1));
	int			nwire = 0;
	HTAB	   *map;
	HASH_SEQ_STATUS seq;
	StackSum   *s;

	result.n = 0;
	result.paths = palloc(sizeof(ProfilePath) * Max(nsums, 1));
	hash_seq_init(&seq, sums);
	while ((s = hash_seq_search(&seq)) != NULL)
		if (s->stack != 0)
			wire[nwire++] = s->stack;
	map = run_paths(run_id, wire, nwire);

	hash_seq_init(&seq, sums);
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		ProfilePath *p = &result.paths[result.n++];
		PathEntry  *e = s->stack == 0 ? NULL :
			hash_search(map, &s->stack, HASH_FIND, NULL);

		p->stack = s->stack;
		p->value = s->value;
		if (s->stack == 0)
			synthetic_path(p, FRAME_NO_PYTHON);
		else if (e == NULL)
			synthetic_path(p, FRAME_UNDEFINED);
		else
		{
			p->depth = e->depth;
			p->frames = e->frames;
			p->lines = e->lines;
		}
	}
	return result;
}

HTAB *
ProfileFrameInfos(const int32 *ids, int n)
{
	HTAB	   *infos = int_table("mnemic frames", sizeof(ProfileFrameInfo), n);
	int32	   *real = palloc(sizeof(int32) * Max(n, 1));
	int			nreal = 0;
	static const struct
	{
		int32		id;
		const char *name;
	}			synthetic[] = {
		{FRAME_NO_PYTHON, "(no Python frame)"},
		{FRAME_UNDEFINED, "(stack not defined)"},
	};

	/* each frame once: the paths of a tree repeat their frames */
	for (int i = 0; i < n; i++)
	{
		bool		found;
		ProfileFrameInfo *f;

		if (ids[i] <= 0)
			continue;
		f = hash_search(infos, &ids[i], HASH_ENTER, &found);
		if (!found)
		{
			f->function = NULL;
			real[nreal++] = ids[i];
		}
	}
	if (nreal > 0)
	{
		Datum		arg = int_array(real, nreal);
		uint64		rows = KeptPlanExec(&plans[TP_FRAMES], &arg, NULL, true, 0);

		for (uint64 i = 0; i < rows; i++)
		{
			bool		isnull;
			int32		id = DatumGetInt32(SpiResult(i, 1, &isnull));
			ProfileFrameInfo *f = hash_search(infos, &id, HASH_ENTER, NULL);

			f->kind = DatumGetInt16(SpiResult(i, 2, &isnull));
			f->line = DatumGetInt32(SpiResult(i, 3, &isnull));
			f->function = TextDatumGetCString(SpiResult(i, 4, &isnull));
			f->file = TextDatumGetCString(SpiResult(i, 5, &isnull));
		}
	}
	for (int i = 0; i < lengthof(synthetic); i++)
	{
		ProfileFrameInfo *f = hash_search(infos, &synthetic[i].id, HASH_ENTER, NULL);

		f->kind = 3;
		f->line = 0;
		f->function = pstrdup(synthetic[i].name);
		f->file = pstrdup("");
	}
	return infos;
}

ProfileFrameInfo *
ProfileFrameInfoOf(HTAB *infos, int32 id)
{
	ProfileFrameInfo *f = hash_search(infos, &id, HASH_FIND, NULL);

	if (f == NULL || f->function == NULL)
		elog(ERROR, "pg_mnemic: frame %d was not loaded", id);
	return f;
}


/* ---------------------------------------------------------------------
 * The merged call tree
 * ---------------------------------------------------------------------
 */

typedef struct ChildKey
{
	int32		parent;
	int32		frame;
} ChildKey;

typedef struct ChildEntry
{
	ChildKey	key;
	int32		node;
} ChildEntry;

static int32
tree_node(ProfileTree *tree, int32 parent, int32 frame, int32 depth)
{
	int32		id;
	ProfileNode *node;

	if (tree->n == tree->cap)
	{
		tree->cap *= 2;
		tree->nodes = repalloc_huge(tree->nodes, sizeof(ProfileNode) * tree->cap);
	}
	id = tree->n++;
	node = &tree->nodes[id];
	memset(node, 0, sizeof(*node));
	node->parent = parent;
	node->frame = frame;
	node->depth = depth;
	node->first_child = -1;
	node->next_sibling = -1;
	if (parent >= 0)
	{
		node->next_sibling = tree->nodes[parent].first_child;
		tree->nodes[parent].first_child = id;
	}
	return id;
}

ProfileTree *
ProfileTreeCreate(void)
{
	ProfileTree *tree = palloc0(sizeof(ProfileTree));
	HASHCTL		ctl;

	tree->cap = 1024;
	tree->nodes = palloc(sizeof(ProfileNode) * tree->cap);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ChildKey);
	ctl.entrysize = sizeof(ChildEntry);
	ctl.hcxt = CurrentMemoryContext;
	tree->children = hash_create("mnemic tree", 1024, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	(void) tree_node(tree, -1, 0, 0);
	return tree;
}

void
ProfileTreeAdd(ProfileTree *tree, const ProfilePaths *paths, int side)
{
	for (int i = 0; i < paths->n; i++)
	{
		const ProfilePath *p = &paths->paths[i];
		int32		node = 0;

		tree->nodes[0].total[side] += p->value;
		for (int d = 0; d < p->depth; d++)
		{
			ChildKey	key = {node, p->frames[d]};
			bool		found;
			ChildEntry *child = hash_search(tree->children, &key, HASH_ENTER, &found);

			if (!found)
				child->node = tree_node(tree, node, p->frames[d], d + 1);
			node = child->node;
			tree->nodes[node].total[side] += p->value;
		}
		tree->nodes[node].self[side] += p->value;
	}
}

/* Children by function, file and line of their frame, then frame id. */
static int
compare_children(const void *a, const void *b, void *arg)
{
	const ProfileTree *tree = arg;
	int32		fa = tree->nodes[*(const int32 *) a].frame;
	int32		fb = tree->nodes[*(const int32 *) b].frame;
	ProfileFrameInfo *x = ProfileFrameInfoOf(tree->frames, fa);
	ProfileFrameInfo *y = ProfileFrameInfoOf(tree->frames, fb);
	int			c = strcmp(x->function, y->function);

	if (c == 0)
		c = strcmp(x->file, y->file);
	if (c == 0 && x->line != y->line)
		c = x->line < y->line ? -1 : 1;
	if (c == 0 && fa != fb)
		c = fa < fb ? -1 : 1;
	return c;
}

void
ProfileTreeFinish(ProfileTree *tree)
{
	int32	   *frames = palloc(sizeof(int32) * tree->n);
	int32	   *stack = palloc(sizeof(int32) * tree->n);
	int32	   *kids = palloc(sizeof(int32) * tree->n);
	int			top = 0;
	int			k = 0;

	for (int32 i = 1; i < tree->n; i++)
		frames[i - 1] = tree->nodes[i].frame;
	tree->frames = ProfileFrameInfos(frames, tree->n - 1);

	/* depth first from the root, each node's children in name order */
	tree->order = palloc(sizeof(int32) * tree->n);
	stack[top++] = 0;
	while (top > 0)
	{
		int32		node = stack[--top];
		int			nkids = 0;

		tree->order[k++] = node;
		for (int32 c = tree->nodes[node].first_child; c >= 0;
			 c = tree->nodes[c].next_sibling)
			kids[nkids++] = c;
		qsort_arg(kids, nkids, sizeof(int32), compare_children, tree);
		for (int i = nkids - 1; i >= 0; i--)
			stack[top++] = kids[i];
	}
	pfree(frames);
	pfree(stack);
	pfree(kids);
}
