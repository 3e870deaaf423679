/*
 * flamegraph_merge.c
 *	  Call trees of several runs merged by path: mnemic.flamegraph_merged(),
 *	  and flamegraph_diff() of two runs on different nodes.
 *
 * Each run's tree is asked for as mnemic.flamegraph() answers it, and the
 * trees are merged here (a coordinator asks each node for the merged tree
 * of its own runs, all nodes at once, and merges theirs): a node
 * of the merged tree is a path of (function, file, line) from the root,
 * its values the sums of the nodes with that path.  Frames are matched by
 * name, not by id, because ids are per database and the trees may come
 * from different ones.  The order is flamegraph()'s: depth first, children
 * by function, file and line.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "access/htup_details.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "listener/spi_helpers.h"
#include "coordinator.h"
#include "sqlutil.h"

PG_FUNCTION_INFO_V1(mnemic_flamegraph_merged);

#define MERGE_SIDES 2

typedef struct MergedNode
{
	int32		parent;			/* -1 for the root */
	int32		depth;
	char	   *function;
	char	   *file;			/* NULL for the root and synthetic frames */
	bool		has_line;
	int32		line;
	double		self[MERGE_SIDES];
	double		total[MERGE_SIDES];
	int32		first_child;
	int32		next_sibling;
} MergedNode;

typedef struct MergedTree
{
	MergedNode *nodes;
	int32		n;
	int32		cap;
	HTAB	   *children;		/* path key -> node */
} MergedTree;

typedef struct ChildEntry
{
	char	   *key;			/* see child_key() */
	int32		node;
} ChildEntry;

static uint32
key_hash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
key_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A child of parent, told apart by everything flamegraph() shows of it. */
static char *
child_key(int32 parent, const char *function, const char *file,
		  bool has_line, int32 line)
{
	return psprintf("%d:%c%d:%c%zu:%s%s", parent, has_line ? 'l' : '-', line,
					file ? 'f' : '-', strlen(function), function,
					file ? file : "");
}

static int32
tree_add_node(MergedTree *t, int32 parent, const char *function,
			  const char *file, bool has_line, int32 line)
{
	MergedNode *node;

	if (t->n == t->cap)
	{
		t->cap *= 2;
		t->nodes = repalloc_huge(t->nodes, sizeof(MergedNode) * t->cap);
	}
	node = &t->nodes[t->n];
	memset(node, 0, sizeof(*node));
	node->parent = parent;
	node->depth = parent < 0 ? 0 : t->nodes[parent].depth + 1;
	node->function = pstrdup(function);
	node->file = file ? pstrdup(file) : NULL;
	node->has_line = has_line;
	node->line = line;
	node->first_child = -1;
	node->next_sibling = -1;
	if (parent >= 0)
	{
		node->next_sibling = t->nodes[parent].first_child;
		t->nodes[parent].first_child = t->n;
	}
	return t->n++;
}

static MergedTree *
tree_create(void)
{
	MergedTree *t = palloc0(sizeof(MergedTree));
	HASHCTL		ctl;

	t->cap = 1024;
	t->nodes = palloc(sizeof(MergedNode) * t->cap);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(ChildEntry);
	ctl.hash = key_hash;
	ctl.match = key_match;
	ctl.hcxt = CurrentMemoryContext;
	t->children = hash_create("pg_mnemic merged tree", 1024, &ctl,
							  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	(void) tree_add_node(t, -1, "all", NULL, false, 0);
	return t;
}

/*
 * The columns of a flamegraph() row (node, parent, depth, function, file,
 * line, self, total) in row: an SPI result's, or a tagged answer's, whose
 * columns start at first.
 */
typedef struct TreeRow
{
	int32		node;
	bool		root;			/* parent is NULL */
	int32		parent;
	char	   *function;
	char	   *file;			/* NULL when NULL */
	bool		has_line;
	int32		line;
	double		self;
	double		total;
} TreeRow;

static TreeRow
tree_row(Datum *values, bool *nulls)
{
	TreeRow		r;

	r.node = DatumGetInt32(values[0]);
	r.root = nulls[1];
	r.parent = r.root ? 0 : DatumGetInt32(values[1]);
	r.function = nulls[3] ? "" : TextDatumGetCString(values[3]);
	r.file = nulls[4] ? NULL : TextDatumGetCString(values[4]);
	r.has_line = !nulls[5];
	r.line = nulls[5] ? 0 : DatumGetInt32(values[5]);
	r.self = nulls[6] ? 0 : DatumGetFloat8(values[6]);
	r.total = nulls[7] ? 0 : DatumGetFloat8(values[7]);
	return r;
}

/*
 * Add one answer of flamegraph() (rows[0..n), parents before children) to
 * side of t.
 */
static void
tree_add_rows(MergedTree *t, int side, const TreeRow *rows, int64 n)
{
	int32	   *merged = palloc(sizeof(int32) * Max(n, 1));

	for (int64 i = 0; i < n; i++)
	{
		const TreeRow *r = &rows[i];
		int32		m;

		if (r->node < 0 || r->node >= n ||
			(!r->root && (r->parent < 0 || r->parent >= r->node)))
			elog(ERROR, "pg_mnemic: a call tree with node %d under %d",
				 r->node, r->parent);
		if (r->root)
			m = 0;
		else
		{
			char	   *key = child_key(merged[r->parent], r->function, r->file,
										r->has_line, r->line);
			bool		found;
			ChildEntry *e = hash_search(t->children, &key, HASH_ENTER, &found);

			if (!found)
				e->node = tree_add_node(t, merged[r->parent], r->function,
										r->file, r->has_line, r->line);
			m = e->node;
		}
		merged[r->node] = m;
		t->nodes[m].self[side] += r->self;
		t->nodes[m].total[side] += r->total;
	}
	pfree(merged);
}

/* Add the tree of the last SPI result (flamegraph()'s columns) to side of t. */
static void
tree_add_answer(MergedTree *t, int side)
{
	TreeRow    *rows = palloc(sizeof(TreeRow) * Max(SPI_processed, 1));
	Datum		values[8];
	bool		nulls[8];

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
		rows[i] = tree_row(values, nulls);
	}
	tree_add_rows(t, side, rows, SPI_processed);
}

/*
 * Add every node's answer in answers (node text, then flamegraph()'s
 * columns; each node's rows together) to side 0 of t.
 */
static void
tree_add_node_answers(MergedTree *t, Tuplestorestate *answers, TupleDesc tagged)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(tagged, &TTSOpsMinimalTuple);
	int64		cap = 1024;
	int64		n = 0;
	TreeRow    *rows = palloc(sizeof(TreeRow) * cap);
	char	   *node = NULL;

	tuplestore_rescan(answers);
	for (;;)
	{
		bool		more = tuplestore_gettupleslot(answers, true, false, slot);
		char	   *this_node = NULL;

		if (more)
		{
			slot_getallattrs(slot);
			this_node = TextDatumGetCString(slot->tts_values[0]);
		}
		if (node != NULL && (!more || strcmp(this_node, node) != 0))
		{
			tree_add_rows(t, 0, rows, n);
			n = 0;
		}
		if (!more)
			break;
		node = this_node;
		if (n == cap)
		{
			cap *= 2;
			rows = repalloc_huge(rows, sizeof(TreeRow) * cap);
		}
		rows[n++] = tree_row(slot->tts_values + 1, slot->tts_isnull + 1);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/* Children by function, file and line, as flamegraph() orders them. */
static int
compare_children(const void *a, const void *b, void *arg)
{
	const MergedTree *t = arg;
	const MergedNode *x = &t->nodes[*(const int32 *) a];
	const MergedNode *y = &t->nodes[*(const int32 *) b];
	int			c = strcmp(x->function, y->function);

	if (c == 0)
		c = strcmp(x->file ? x->file : "", y->file ? y->file : "");
	if (c == 0 && x->line != y->line)
		c = x->line < y->line ? -1 : 1;
	if (c == 0 && (x->file == NULL) != (y->file == NULL))
		c = x->file == NULL ? -1 : 1;
	return c;
}

/* Emit t depth first: node, parent, depth, function, file, line, then
 * (self, total) of each of sides. */
static void
tree_emit(MergedTree *t, int sides, Tuplestorestate *out, TupleDesc desc)
{
	int32	   *order = palloc(sizeof(int32) * t->n);
	int32	   *number = palloc(sizeof(int32) * t->n);
	int32	   *stack = palloc(sizeof(int32) * t->n);
	int32	   *kids = palloc(sizeof(int32) * t->n);
	int			top = 0;
	int			k = 0;

	stack[top++] = 0;
	while (top > 0)
	{
		int32		node = stack[--top];
		int			nkids = 0;

		number[node] = k;
		order[k++] = node;
		for (int32 c = t->nodes[node].first_child; c >= 0; c = t->nodes[c].next_sibling)
			kids[nkids++] = c;
		qsort_arg(kids, nkids, sizeof(int32), compare_children, t);
		for (int i = nkids - 1; i >= 0; i--)
			stack[top++] = kids[i];
	}
	for (int32 i = 0; i < t->n; i++)
	{
		MergedNode *node = &t->nodes[order[i]];
		Datum		values[6 + 2 * MERGE_SIDES];
		bool		nulls[6 + 2 * MERGE_SIDES];
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		values[c++] = Int32GetDatum(i);
		nulls[c] = node->parent < 0;
		values[c++] = Int32GetDatum(node->parent < 0 ? 0 : number[node->parent]);
		values[c++] = Int32GetDatum(node->depth);
		values[c++] = CStringGetTextDatum(node->function);
		nulls[c] = node->file == NULL;
		values[c++] = node->file ? CStringGetTextDatum(node->file) : (Datum) 0;
		nulls[c] = !node->has_line;
		values[c++] = Int32GetDatum(node->line);
		for (int side = 0; side < sides; side++)
		{
			values[c++] = Float8GetDatum(node->self[side]);
			values[c++] = Float8GetDatum(node->total[side]);
		}
		tuplestore_putvalues(out, desc, values, nulls);
	}
}

/* Add flamegraph(run, t_from, t_to, weight, thread) to side of t. */
static void
add_flamegraph(MergedTree *t, int side, Datum run, NullableDatum t_from,
			   NullableDatum t_to, NullableDatum weight, NullableDatum thread)
{
	Oid			types[5] = {UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
	Datum		args[5] = {run, t_from.value, t_to.value, weight.value, thread.value};
	char		nulls[5] = {' ',
		t_from.isnull ? 'n' : ' ', t_to.isnull ? 'n' : ' ',
		weight.isnull ? 'n' : ' ', thread.isnull ? 'n' : ' '};

	if (SPI_execute_with_args("SELECT * FROM mnemic.flamegraph($1, $2, $3, $4, $5)",
							  5, types, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_mnemic: flamegraph() failed");
	tree_add_answer(t, side);
}

static int
compare_uuids(const void *a, const void *b)
{
	return memcmp(DatumGetUUIDP(*(const Datum *) a)->data,
				  DatumGetUUIDP(*(const Datum *) b)->data, UUID_LEN);
}

/*
 * SQL: mnemic.flamegraph_merged(runs uuid[], t_from, t_to, weight, thread)
 * RETURNS TABLE (node, parent, depth, function, file, line, self, total)
 */
Datum
mnemic_flamegraph_merged(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	NullableDatum thread = {PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4), PG_ARGISNULL(4)};
	ArrayType  *runs;
	Datum	   *ids;
	bool	   *nulls;
	int			n;
	MergedTree *t;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("runs must not be NULL")));
	runs = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(runs, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &ids, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("runs must not contain NULL")));
	/* a run named twice counts once */
	qsort(ids, n, sizeof(Datum), compare_uuids);

	InitMaterializedSRF(fcinfo, 0);
	t = tree_create();
	if (MnemicCoordinating())
	{
		/* each node merges its own runs, all at once; then theirs here */
		TupleDesc	tagged = CreateTemplateTupleDesc(rsinfo->setDesc->natts + 1);
		Tuplestorestate *answers = tuplestore_begin_heap(true, false, work_mem);

		TupleDescInitEntry(tagged, 1, "node", TEXTOID, -1, 0);
		for (int i = 0; i < rsinfo->setDesc->natts; i++)
			TupleDescCopyEntry(tagged, i + 2, rsinfo->setDesc, i + 1);
		CoordinatorAnswerPerNode(fcinfo, 0, rsinfo->setDesc, answers, tagged);
		tree_add_node_answers(t, answers, tagged);
		tree_emit(t, 1, rsinfo->setResult, rsinfo->setDesc);
		return (Datum) 0;
	}
	SpiConnect();
	for (int i = 0; i < n; i++)
		if (i == 0 || compare_uuids(&ids[i - 1], &ids[i]) != 0)
			add_flamegraph(t, 0, ids[i], fcinfo->args[1], fcinfo->args[2],
						   fcinfo->args[3], thread);
	tree_emit(t, 1, rsinfo->setResult, rsinfo->setDesc);
	SPI_finish();
	return (Datum) 0;
}

Datum
FlamegraphDiffAcrossNodes(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	NullableDatum no_thread = {(Datum) 0, true};
	MergedTree *t;

	SpiConnect();
	t = tree_create();
	for (int side = 0; side < 2; side++)
		add_flamegraph(t, side, fcinfo->args[3 * side].value,
					   fcinfo->args[3 * side + 1], fcinfo->args[3 * side + 2],
					   fcinfo->args[6], no_thread);
	tree_emit(t, 2, rsinfo->setResult, rsinfo->setDesc);
	SPI_finish();
	return (Datum) 0;
}
