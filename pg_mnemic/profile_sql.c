/*
 * profile_sql.c
 *	  The SQL functions that read profiles as call trees: mnemic.flamegraph(),
 *	  mnemic.flamegraph_diff(), mnemic.top_functions(); and
 *	  mnemic.build_profile_rollups().  The memory side is in
 *	  profile_memory.c.
 *
 * Each sums the window by the run's stack ids (profile_query.c), resolves
 * only those stacks to call paths (profile_tree.c) and answers from them.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "listener/block.h"
#include "listener/profile_rollup.h"
#include "listener/spi_helpers.h"
#include "profile_query.h"
#include "profile_tree.h"
#include "sqlutil.h"
#include "coordinator.h"

PG_FUNCTION_INFO_V1(mnemic_flamegraph);
PG_FUNCTION_INFO_V1(mnemic_flamegraph_diff);
PG_FUNCTION_INFO_V1(mnemic_top_functions);
PG_FUNCTION_INFO_V1(mnemic_build_profile_rollups);

/* The scope of arguments run, t_from, t_to at first, first + 1, first + 2. */
static ProfileScope
scope_from_args(FunctionCallInfo fcinfo, int first, text *thread)
{
	pg_uuid_t  *run = RequiredUuid(fcinfo, first, "run");

	return ProfileScopeMake(run,
							!PG_ARGISNULL(first + 1),
							PG_ARGISNULL(first + 1) ? 0 : PG_GETARG_TIMESTAMPTZ(first + 1),
							!PG_ARGISNULL(first + 2),
							PG_ARGISNULL(first + 2) ? 0 : PG_GETARG_TIMESTAMPTZ(first + 2),
							thread);
}

static ProfileWeight
weight_arg(FunctionCallInfo fcinfo, int arg)
{
	return ProfileWeightParse(RequiredText(fcinfo, arg, "weight"));
}

/* The paths of a scope's stacks under weight. */
static ProfilePaths
scope_paths(const ProfileScope *scope, ProfileWeight weight)
{
	return ProfileResolvePaths(scope->run_id, ProfileSumStacks(scope, weight));
}

/*
 * Emit the tree's nodes, root first, depth first, with sides values per
 * side: node, parent, depth, function, file, line, then (self, total) or
 * (self_a, total_a, self_b, total_b).
 */
static void
emit_tree(ReturnSetInfo *rsinfo, ProfileTree *tree, int sides,
		  ProfileWeight weight)
{
	double		scale = ProfileWeightScale(weight);

	int32	   *number = palloc(sizeof(int32) * tree->n);

	for (int32 k = 0; k < tree->n; k++)
		number[tree->order[k]] = k;
	for (int32 k = 0; k < tree->n; k++)
	{
		ProfileNode *node = &tree->nodes[tree->order[k]];
		Datum		values[10];
		bool		nulls[10];
		int			c = 0;

		memset(nulls, 0, sizeof(nulls));
		values[c++] = Int32GetDatum(k);
		nulls[c] = node->parent < 0;
		values[c++] = Int32GetDatum(node->parent < 0 ? 0 : number[node->parent]);
		values[c++] = Int32GetDatum(node->depth);
		if (node->parent < 0)
		{
			values[c++] = CStringGetTextDatum("all");
			nulls[c++] = true;
			nulls[c++] = true;
		}
		else
		{
			ProfileFrameInfo *f = ProfileFrameInfoOf(tree->frames, node->frame);

			values[c++] = CStringGetTextDatum(f->function);
			/* the synthetic frames have no file or line */
			nulls[c] = node->frame < 0;
			values[c++] = CStringGetTextDatum(f->file);
			nulls[c] = node->frame < 0;
			values[c++] = Int32GetDatum(f->line);
		}
		for (int side = 0; side < sides; side++)
		{
			values[c++] = Float8GetDatum(node->self[side] * scale);
			values[c++] = Float8GetDatum(node->total[side] * scale);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * SQL: mnemic.flamegraph(run uuid, t_from timestamptz, t_to timestamptz,
 * weight text, thread text) RETURNS TABLE (node, parent, depth, function,
 * file, line, self, total)
 */
Datum
mnemic_flamegraph(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ProfileWeight weight = weight_arg(fcinfo, 3);
	ProfileScope scope;
	ProfileTree *tree;
	ProfilePaths paths;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	scope = scope_from_args(fcinfo, 0, PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4));
	paths = scope_paths(&scope, weight);
	tree = ProfileTreeCreate();
	ProfileTreeAdd(tree, &paths, 0);
	ProfileTreeFinish(tree);
	emit_tree(rsinfo, tree, 1, weight);
	SPI_finish();
	return (Datum) 0;
}

/*
 * SQL: mnemic.flamegraph_diff(run_a, from_a, to_a, run_b, from_b, to_b,
 * weight) RETURNS TABLE (node, parent, depth, function, file, line,
 * self_a, total_a, self_b, total_b): one tree over both windows.
 */
Datum
mnemic_flamegraph_diff(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ProfileWeight weight = weight_arg(fcinfo, 6);
	ProfileTree *tree;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	tree = ProfileTreeCreate();
	for (int side = 0; side < 2; side++)
	{
		ProfileScope scope = scope_from_args(fcinfo, 3 * side, NULL);
		ProfilePaths paths = scope_paths(&scope, weight);

		ProfileTreeAdd(tree, &paths, side);
	}
	ProfileTreeFinish(tree);
	emit_tree(rsinfo, tree, 2, weight);
	SPI_finish();
	return (Datum) 0;
}

/* self and total of one frame for top_functions(). */
typedef struct FunctionSums
{
	int32		frame;			/* key */
	int64		self;			/* in the weight's unit */
	int64		total;
	int64		seen;			/* the last path counted in total */
} FunctionSums;

static int
compare_functions(const void *a, const void *b, void *arg)
{
	const FunctionSums *x = *(FunctionSums *const *) a;
	const FunctionSums *y = *(FunctionSums *const *) b;
	HTAB	   *infos = arg;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(ProfileFrameInfoOf(infos, x->frame)->function,
				  ProfileFrameInfoOf(infos, y->frame)->function);
}

/*
 * SQL: mnemic.top_functions(run, t_from, t_to, weight, n, thread) RETURNS
 * TABLE (function, file, line, self, total): the functions with the most
 * self, then total; a recursive function counts once in its total.
 */
Datum
mnemic_top_functions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ProfileWeight weight = weight_arg(fcinfo, 3);
	int			n = PG_ARGISNULL(4) ? 10 : PG_GETARG_INT32(4);
	ProfileScope scope;
	ProfilePaths paths;
	HASHCTL		ctl;
	HTAB	   *sums;
	HASH_SEQ_STATUS seq;
	FunctionSums *f;
	FunctionSums **sorted;
	int32	   *ids;
	HTAB	   *infos;
	long		nfuncs;
	long		k = 0;

	if (MnemicCoordinating())
		return CoordinatorAnswer(fcinfo);

	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be at least 1, not %d", n)));
	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	scope = scope_from_args(fcinfo, 0, PG_ARGISNULL(5) ? NULL : PG_GETARG_TEXT_PP(5));
	paths = scope_paths(&scope, weight);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(FunctionSums);
	ctl.hcxt = CurrentMemoryContext;
	sums = hash_create("mnemic functions", 1024, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (int i = 0; i < paths.n; i++)
	{
		const ProfilePath *p = &paths.paths[i];

		for (int d = 0; d < p->depth; d++)
		{
			bool		found;

			f = hash_search(sums, &p->frames[d], HASH_ENTER, &found);
			if (!found)
			{
				f->self = f->total = 0;
				f->seen = -1;
			}
			if (f->seen != i)	/* recursion counts once */
				f->total += p->value;
			f->seen = i;
			if (d == p->depth - 1)
				f->self += p->value;
		}
	}

	nfuncs = hash_get_num_entries(sums);
	sorted = palloc(sizeof(FunctionSums *) * Max(nfuncs, 1));
	ids = palloc(sizeof(int32) * Max(nfuncs, 1));
	hash_seq_init(&seq, sums);
	while ((f = hash_seq_search(&seq)) != NULL)
	{
		ids[k] = f->frame;
		sorted[k++] = f;
	}
	infos = ProfileFrameInfos(ids, (int) nfuncs);
	qsort_arg(sorted, nfuncs, sizeof(FunctionSums *), compare_functions, infos);
	for (long i = 0; i < Min(nfuncs, n); i++)
	{
		ProfileFrameInfo *info = ProfileFrameInfoOf(infos, sorted[i]->frame);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(info->function);
		values[1] = CStringGetTextDatum(info->file);
		values[2] = Int32GetDatum(info->line);
		nulls[1] = nulls[2] = sorted[i]->frame < 0;
		values[3] = Float8GetDatum(sorted[i]->self * ProfileWeightScale(weight));
		values[4] = Float8GetDatum(sorted[i]->total * ProfileWeightScale(weight));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/* SQL: mnemic.build_profile_rollups(run uuid DEFAULT NULL) RETURNS bigint */
Datum
mnemic_build_profile_rollups(PG_FUNCTION_ARGS)
{
	int32		run_id = 0;
	int64		rows;

	SpiConnect();
	if (!PG_ARGISNULL(0))
	{
		ProfileScope scope = ProfileScopeMake(PG_GETARG_UUID_P(0), false, 0,
											  false, 0, NULL);

		run_id = scope.run_id;
	}
	rows = ProfileBuildRollups(run_id, GetCurrentTimestamp());
	SPI_finish();
	PG_RETURN_INT64(rows);
}
