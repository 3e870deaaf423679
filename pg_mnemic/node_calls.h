/*
 * node_calls.h
 *	  A coordinator's statements to its nodes, through dblink: the nodes
 *	  registered in mnemic.node, one dblink connection per node kept for the
 *	  session, and statements sent to several nodes at once and collected
 *	  after.  A node that fails never makes the call fail: its error is
 *	  recorded, and the caller decides what the answer can still be.
 */
#ifndef MNEMIC_NODE_CALLS_H
#define MNEMIC_NODE_CALLS_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "nodes/pg_list.h"
#include "utils/elog.h"
#include "utils/tuplestore.h"

/* Settings (pg_mnemic.node_*), defined by CoordinatorDefineSettings(). */
extern int	mnemic_node_connect_timeout_s;
extern int	mnemic_node_statement_timeout_ms;

/* A registered node: its name and the foreign server that reaches it. */
typedef struct MnemicNode
{
	char	   *name;
	char	   *server;
} MnemicNode;

/*
 * The nodes of mnemic.node, by name (caller connected to SPI; the list and
 * its strings live in the caller's memory context).
 */
extern List *NodeList(void);

/* One statement to one node, and what came of it. */
typedef struct NodeCall
{
	MnemicNode *node;
	const char *sql;			/* the statement; NULL: nothing to send */
	bool		sent;
	bool		done;			/* every row arrived */
	ErrorData  *error;			/* when it failed */
	bool		unavailable;	/* the failure is the node's (down, too
								 * slow), not the statement's */
	uint64		rows;
} NodeCall;

/*
 * Send every call's statement, all before waiting for any answer, then
 * collect the rows: they go to out with the columns of desc (what the
 * statement returns), preceded by the node's name when tag_node.  Rows of
 * a call that fails are not added.  A connection found broken (the node
 * restarted since it was opened) is opened again and the statement sent
 * once more.  Caller connected to SPI.
 */
extern void NodeCallsRun(NodeCall *calls, int ncalls, TupleDesc desc,
						 Tuplestorestate *out, TupleDesc outdesc,
						 bool tag_node);

/* An error's message and detail, for a message of our own. */
extern char *NodeErrorText(const ErrorData *edata);

/* Is this error the node's: it cannot be reached, or it is too slow? */
extern bool NodeErrorIsUnavailability(const ErrorData *edata);

/*
 * The registry changed: close this session's connections to nodes no
 * longer in nodes (caller connected to SPI).
 */
extern void NodeConnectionsKeepOnly(List *nodes);

#endif							/* MNEMIC_NODE_CALLS_H */
