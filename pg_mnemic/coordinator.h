/*
 * coordinator.h
 *	  A database with nodes registered (mnemic.add_node()) is a coordinator:
 *	  the reading functions answer from its nodes instead of its own tables.
 *	  Each such function starts with
 *
 *		if (MnemicCoordinating())
 *			return CoordinatorAnswer(fcinfo);
 *
 *	  and needs nothing else: the call is forwarded with the arguments it
 *	  was given, whatever they are (docs/sql.md, "Beyond one machine").
 */
#ifndef MNEMIC_COORDINATOR_H
#define MNEMIC_COORDINATOR_H

#include "postgres.h"

#include "fmgr.h"
#include "access/tupdesc.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

/* The pg_mnemic.local_only and pg_mnemic.node_* settings (_PG_init). */
extern void CoordinatorDefineSettings(void);

/*
 * Are nodes registered in this database (and pg_mnemic.local_only off)?
 * Remembered for the session until mnemic.node changes: as cheap as a
 * branch on the single-node path.
 */
extern bool MnemicCoordinating(void);

/* Answer the calling function from the nodes. */
extern Datum CoordinatorAnswer(FunctionCallInfo fcinfo);

/*
 * For a function whose argument runs_arg is an array of runs: each node
 * answers the call with only the runs it holds as that argument, all
 * nodes at once, into answers (node text, then the columns of desc, each
 * node's rows together).  A run on an unavailable node is an error, as for
 * a call of one run.
 */
extern void CoordinatorAnswerPerNode(FunctionCallInfo fcinfo, int runs_arg,
									 TupleDesc desc, Tuplestorestate *answers,
									 TupleDesc tagged);

/* ERROR: function cannot run on a coordinator (it stores locally). */
pg_attribute_noreturn() extern void CoordinatorStoresNothing(const char *function);

/*
 * Answer flamegraph_diff() for two runs on different nodes: the two trees
 * fetched from their nodes and merged by path (flamegraph_merge.c).
 */
extern Datum FlamegraphDiffAcrossNodes(FunctionCallInfo fcinfo);

#endif							/* MNEMIC_COORDINATOR_H */
