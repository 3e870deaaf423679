/*
 * coordinator.c
 *	  Answering the reading functions from the nodes (coordinator.h).
 *
 * A forwarded call is rebuilt from the function's own catalog entry: its
 * name, and each argument by name with the value it was given, written as
 * a literal of its type (in ISO and with every digit, so that it reads
 * back exactly on the node).  Nothing here knows a function's parameters,
 * so a parameter added to a reading function is forwarded without a change
 * here.  What a function needs is only a rule for putting the nodes'
 * answers together, and only when its answer spans nodes:
 *
 *	- a function of one run (an argument named run, run_a or run_b) is
 *	  answered by the node that holds the run, verbatim: the run's node is
 *	  remembered for the session (every runs() listing teaches it too), and
 *	  only a run not seen yet makes every node look it up, at once;
 *	- any other function is sent to every node at once, and the answers
 *	  put together by SQL over them (merge_rules below; by default, one
 *	  node's rows after another's, in the nodes' name order).
 *
 * A node that cannot be reached leaves its part out of a listing, with a
 * WARNING that names it; a call for a run on such a node is an error that
 * says so.  Either way an answer is never silently short.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tstoreReceiver.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "listener/spi_helpers.h"
#include "coordinator.h"
#include "node_calls.h"
#include "sqlutil.h"

PG_FUNCTION_INFO_V1(mnemic_node_registry_changed);

static bool local_only = false;

void
CoordinatorDefineSettings(void)
{
	DefineCustomBoolVariable("pg_mnemic.local_only",
							 "Answer from this database's own tables even when it has nodes.",
							 "A coordinator's connections to its nodes set it, so that a node never forwards a call.",
							 &local_only, false,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mnemic.node_connect_timeout",
							"Longest wait for a connection to a node; 0 waits as long as the system does.",
							"A connect_timeout in the node's server options takes precedence.",
							&mnemic_node_connect_timeout_s, 2, 0, 3600,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mnemic.node_statement_timeout",
							"Longest time a node may take to answer one forwarded call; 0 for no limit.",
							"A node that takes longer is left out of a listing, with a WARNING.",
							&mnemic_node_statement_timeout_ms, 30000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------
 * Is this database a coordinator?
 * ---------------------------------------------------------------------
 */

typedef enum
{
	REGISTRY_UNKNOWN,
	REGISTRY_EMPTY,
	REGISTRY_NODES
} RegistryState;

static RegistryState registry = REGISTRY_UNKNOWN;
static Oid	registry_relid = InvalidOid;
static bool registry_callback = false;
static uint64 registry_generation = 0;	/* bumped whenever it may change */
static uint64 routes_generation = 0;

static void
registry_invalidated(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == registry_relid ||
		registry_relid == InvalidOid)
	{
		registry = REGISTRY_UNKNOWN;
		registry_generation++;
	}
}

/* Does mnemic.node hold a row?  Read directly: no privilege needed. */
static bool
nodes_registered(void)
{
	Oid			nsp = get_namespace_oid("mnemic", true);
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	Snapshot	snapshot;
	bool		any;

	registry_relid = OidIsValid(nsp) ? get_relname_relid("node", nsp) : InvalidOid;
	if (!OidIsValid(registry_relid))
		return false;
	rel = table_open(registry_relid, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	slot = table_slot_create(rel, NULL);
	any = table_scan_getnextslot(scan, ForwardScanDirection, slot);
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return any;
}

bool
MnemicCoordinating(void)
{
	if (likely(registry != REGISTRY_UNKNOWN))
		return registry == REGISTRY_NODES && !local_only;
	if (!registry_callback)
	{
		CacheRegisterRelcacheCallback(registry_invalidated, (Datum) 0);
		registry_callback = true;
	}
	registry = nodes_registered() ? REGISTRY_NODES : REGISTRY_EMPTY;
	return registry == REGISTRY_NODES && !local_only;
}

/*
 * SQL: trigger on mnemic.node.  Tell every session that the registry
 * changed (at commit), so that MnemicCoordinating() looks again.
 */
Datum
mnemic_node_registry_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "mnemic_node_registry_changed: not called as a trigger");
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

/* ---------------------------------------------------------------------
 * Which node holds a run: remembered for the session
 * ---------------------------------------------------------------------
 */

#define MAX_ROUTES	100000

typedef struct RunRoute
{
	pg_uuid_t	run;			/* key */
	char		node[NAMEDATALEN];
} RunRoute;

static HTAB *routes = NULL;

static void
routes_check_generation(void)
{
	if (routes != NULL && (routes_generation != registry_generation ||
						   hash_get_num_entries(routes) >= MAX_ROUTES))
	{
		hash_destroy(routes);
		routes = NULL;
	}
	routes_generation = registry_generation;
	if (routes == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(RunRoute);
		routes = hash_create("pg_mnemic run routes", 1024, &ctl,
							 HASH_ELEM | HASH_BLOBS);
	}
}

static void
route_remember(const pg_uuid_t *run, const char *node)
{
	RunRoute   *r = hash_search(routes, run, HASH_ENTER, NULL);

	strlcpy(r->node, node, NAMEDATALEN);
}

static const char *
route_lookup(const pg_uuid_t *run)
{
	RunRoute   *r = hash_search(routes, run, HASH_FIND, NULL);

	return r ? r->node : NULL;
}

static void
route_forget(const pg_uuid_t *run)
{
	(void) hash_search(routes, run, HASH_REMOVE, NULL);
}

/*
 * The nodes, read once per registry generation (caller connected to SPI);
 * a new generation also closes connections to nodes gone and forgets the
 * runs' nodes.
 */
static List *
registered_nodes(void)
{
	static List *nodes = NIL;
	static uint64 nodes_generation = 0;
	static bool loaded = false;

	if (!loaded || nodes_generation != registry_generation)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		uint64		generation = registry_generation;

		nodes = NodeList();
		MemoryContextSwitchTo(old);
		NodeConnectionsKeepOnly(nodes);
		nodes_generation = generation;
		loaded = true;
	}
	routes_check_generation();
	return nodes;
}

/* ---------------------------------------------------------------------
 * The forwarded call
 * ---------------------------------------------------------------------
 */

/* The names of the arguments that say which run a call is about. */
static const char *const route_arg_names[] = {"run", "run_a", "run_b"};

typedef struct Forwarded
{
	char	   *name;			/* the function's */
	bool		writes;			/* VOLATILE: stores a run that may be new */
	bool		composite;		/* returns a row */
	char	   *sql;			/* SELECT * FROM mnemic.name(arg => value, ...) */
	TupleDesc	desc;			/* the columns of its answer */
	int64		row_limit;		/* the page_size argument; 0: none */
	int			nroute;
	int			route_args[lengthof(route_arg_names)];
	char	   *route_names[lengthof(route_arg_names)];
} Forwarded;

/*
 * Settings under which values are written as text for the node: the
 * node's session reads them in ISO and with every digit (node_calls.c).
 */
static int
set_transmission_modes(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("datestyle", "ISO", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "3", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("bytea_output", "hex", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

static TupleDesc
answer_desc(FunctionCallInfo fcinfo, Oid rettype, bool *composite)
{
	TupleDesc	desc;

	*composite = false;
	switch (get_call_result_type(fcinfo, NULL, &desc))
	{
		case TYPEFUNC_COMPOSITE:
			*composite = true;
			return CreateTupleDescCopy(desc);
		case TYPEFUNC_SCALAR:
			desc = CreateTemplateTupleDesc(1);
			TupleDescInitEntry(desc, 1, "value", rettype, -1, 0);
			return desc;
		default:
			elog(ERROR, "pg_mnemic: cannot forward a function returning record");
	}
	return NULL;
}

static Forwarded *
describe_call(FunctionCallInfo fcinfo)
{
	Forwarded  *f = palloc0(sizeof(Forwarded));
	HeapTuple	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	Form_pg_proc form;
	Oid		   *types;
	char	  **names;
	char	   *modes;
	int			nall;
	int			in = 0;
	int			nest;
	StringInfoData sql;

	if (!HeapTupleIsValid(proc))
		elog(ERROR, "pg_mnemic: cache lookup failed for function %u",
			 fcinfo->flinfo->fn_oid);
	form = (Form_pg_proc) GETSTRUCT(proc);
	f->name = pstrdup(NameStr(form->proname));
	f->writes = form->provolatile == PROVOLATILE_VOLATILE;
	nall = get_func_arg_info(proc, &types, &names, &modes);
	f->desc = answer_desc(fcinfo, form->prorettype, &f->composite);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT * FROM mnemic.%s(", quote_identifier(f->name));
	nest = set_transmission_modes();
	for (int i = 0; i < nall && in < fcinfo->nargs; i++)
	{
		const char *name = names && names[i][0] ? names[i] : NULL;

		if (modes && (modes[i] == PROARGMODE_OUT || modes[i] == PROARGMODE_TABLE))
			continue;
		if (in > 0)
			appendStringInfoString(&sql, ", ");
		if (name)
			appendStringInfo(&sql, "%s => ", quote_identifier(name));
		if (fcinfo->args[in].isnull)
			appendStringInfoString(&sql, "NULL");
		else
		{
			Oid			out;
			bool		varlena;

			getTypeOutputInfo(types[i], &out, &varlena);
			appendStringInfoString(&sql, quote_literal_cstr(
								   OidOutputFunctionCall(out, fcinfo->args[in].value)));
		}
		appendStringInfo(&sql, "::%s", format_type_be_qualified(types[i]));
		/* a page of every node's answer is a page of the whole only once cut */
		if (name && strcmp(name, "page_size") == 0 && types[i] == INT4OID &&
			!fcinfo->args[in].isnull)
			f->row_limit = Max(DatumGetInt32(fcinfo->args[in].value), 0);
		for (int r = 0; name && types[i] == UUIDOID && r < lengthof(route_arg_names); r++)
			if (strcmp(name, route_arg_names[r]) == 0)
			{
				f->route_names[f->nroute] = pstrdup(name);
				f->route_args[f->nroute++] = in;
			}
		in++;
	}
	AtEOXact_GUC(true, nest);
	appendStringInfoChar(&sql, ')');
	f->sql = sql.data;
	ReleaseSysCache(proc);
	return f;
}

/* ---------------------------------------------------------------------
 * Answers of every node, put together
 * ---------------------------------------------------------------------
 */

/*
 * How the answers of every node become one, by function: SQL over the
 * relation "answers" (node text, then the function's columns); %s stands
 * for the function's columns.  A function not named here lists one node's
 * rows after another's.  With an argument page_size, the whole is cut to
 * a page after the merge, as each node's answer was.
 */
static const struct
{
	const char *function;
	bool		one_is_whole;	/* one node's answer is the whole answer */
	const char *sql;
}			merge_rules[] = {
	{"tracers", true,
		"SELECT tracer, sum(runs)::bigint, sum(active_runs)::bigint,"
		" min(first_seen), max(last_seen)"
	" FROM answers GROUP BY tracer ORDER BY tracer NULLS LAST"},
	{"runs", true, "SELECT %s FROM answers ORDER BY started DESC, run DESC"},
	/*
	 * the whole fleet's listeners: counts summed, high-water marks the
	 * highest; what is one node's own (its workers, its keys) is NULL
	 */
	{"listener_stats", false,
		"SELECT sum(datagrams_received)::bigint, sum(bytes_received)::bigint,"
		" sum(datagrams_decoded)::bigint, sum(samples_stored)::bigint,"
		" sum(malformed)::bigint,"
		" (SELECT coalesce(jsonb_object_agg(key, n), '{}') FROM"
		"  (SELECT key, sum(value::bigint) AS n FROM answers a,"
		"   jsonb_each_text(a.malformed_by_reason) GROUP BY key) r),"
		" sum(unknown_kinds)::bigint, sum(lost)::bigint, sum(kernel_drops)::bigint,"
		" sum(ring_drops)::bigint, sum(flushes)::bigint, sum(flush_errors)::bigint,"
		" sum(flush_time_ms), max(flush_time_max_ms), sum(ring_used)::bigint,"
		" max(ring_high_water), sum(ring_size)::bigint, sum(samples_held)::bigint,"
		" max(batch_high_water),"
		" (array_agg(last_error ORDER BY last_error_time DESC NULLS LAST))[1],"
		" max(last_error_time), NULL::int, NULL::int, min(receive_buffer),"
		" sum(seq_resets)::bigint, sum(bad_auth)::bigint,"
		" sum(unknown_key)::bigint, sum(unsigned)::bigint,"
		" sum(replayed)::bigint, NULL::int FROM answers"},
};

static const char *
merge_rule(const char *function)
{
	for (int i = 0; i < lengthof(merge_rules); i++)
		if (strcmp(merge_rules[i].function, function) == 0)
			return merge_rules[i].sql;
	return NULL;
}

/* Is one node's answer to function already the whole answer? */
static bool
one_is_whole(const char *function)
{
	for (int i = 0; i < lengthof(merge_rules); i++)
		if (strcmp(merge_rules[i].function, function) == 0)
			return merge_rules[i].one_is_whole;
	return true;
}

static char *
merge_sql(const Forwarded *f)
{
	StringInfoData cols;
	const char *rule = merge_rule(f->name);
	char	   *sql;

	if (rule == NULL)
		rule = "SELECT %s FROM answers";
	initStringInfo(&cols);
	for (int i = 0; i < f->desc->natts; i++)
		appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "",
						 quote_identifier(NameStr(TupleDescAttr(f->desc, i)->attname)));
	sql = psprintf(rule, cols.data);
	if (f->row_limit > 0)
		sql = psprintf("%s LIMIT " INT64_FORMAT, sql, f->row_limit);
	return sql;
}

/* (node text, the columns of desc) */
static TupleDesc
tagged_desc(TupleDesc desc)
{
	TupleDesc	tagged = CreateTemplateTupleDesc(desc->natts + 1);

	TupleDescInitEntry(tagged, 1, "node", TEXTOID, -1, 0);
	for (int i = 0; i < desc->natts; i++)
		TupleDescCopyEntry(tagged, i + 2, desc, i + 1);
	return tagged;
}

/*
 * Remember the node of every run of store: its column "run", and its node
 * in column "node" (tagged), else the one node that answered.
 */
static void
learn_routes(Tuplestorestate *store, TupleDesc desc, bool tagged,
			 const char *node)
{
	int			col = -1;
	TupleTableSlot *slot;

	for (int i = tagged ? 1 : 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->atttypid == UUIDOID && strcmp(NameStr(att->attname), "run") == 0)
			col = i + 1;
	}
	if (col < 0)
		return;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(store);
	while (tuplestore_gettupleslot(store, true, false, slot))
	{
		bool		isnull;
		Datum		run = slot_getattr(slot, col, &isnull);

		if (isnull)
			continue;
		route_remember(DatumGetUUIDP(run), tagged ?
					   TextDatumGetCString(slot_getattr(slot, 1, &isnull)) : node);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * Put the tagged answers together into out by the function's rule: SQL over
 * them, its rows sent straight to out.  The answer of a single node needs
 * no putting together: its rows are copied as they are.
 */
static void
merge_answers(Forwarded *f, Tuplestorestate *answers, TupleDesc tagged,
			  int with_rows, Tuplestorestate *out, TupleDesc outdesc)
{
	EphemeralNamedRelation enr;
	SPIExecuteOptions options;
	DestReceiver *dest;

	if (with_rows <= 1 && one_is_whole(f->name))
	{
		TupleTableSlot *slot = MakeSingleTupleTableSlot(tagged, &TTSOpsMinimalTuple);

		tuplestore_rescan(answers);
		while (tuplestore_gettupleslot(answers, true, false, slot))
		{
			slot_getallattrs(slot);
			tuplestore_putvalues(out, outdesc, slot->tts_values + 1,
								 slot->tts_isnull + 1);
		}
		ExecDropSingleTupleTableSlot(slot);
		return;
	}
	enr = palloc0(sizeof(EphemeralNamedRelationData));
	enr->md.name = "answers";
	enr->md.reliddesc = InvalidOid;
	enr->md.tupdesc = tagged;
	enr->md.enrtype = ENR_NAMED_TUPLESTORE;
	enr->md.enrtuples = tuplestore_tuple_count(answers);
	enr->reldata = answers;
	if (SPI_register_relation(enr) != SPI_OK_REL_REGISTER)
		elog(ERROR, "pg_mnemic: could not register the nodes' answers");
	dest = CreateDestReceiver(DestTuplestore);
	SetTuplestoreDestReceiverParams(dest, out, CurrentMemoryContext, false,
									NULL, NULL);
	memset(&options, 0, sizeof(options));
	options.read_only = true;
	options.dest = dest;
	if (SPI_execute_extended(merge_sql(f), &options) != SPI_OK_SELECT)
		elog(ERROR, "pg_mnemic: putting the nodes' answers together failed");
	dest->rDestroy(dest);
	SPI_unregister_relation("answers");
}

static void
warn_unavailable(const NodeCall *call)
{
	ereport(WARNING,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("pg_mnemic: node \"%s\" is unavailable; the answer leaves out its runs",
					call->node->name),
			 errdetail_internal("%s", NodeErrorText(call->error)),
			 errhint("mnemic.nodes() shows the state of every node.")));
}

/*
 * Every node's answer to f, put together into out.  An unavailable node
 * is left out with a WARNING; a node that does not know what the call
 * names (an unknown tracer) has nothing to add, unless no node knows it;
 * any other error of a node is the call's.
 */
static void
answer_from_all(Forwarded *f, List *nodes, Tuplestorestate *out, TupleDesc outdesc)
{
	int			n = list_length(nodes);
	NodeCall   *calls = palloc0(sizeof(NodeCall) * Max(n, 1));
	bool		tagged = n > 1 || !one_is_whole(f->name);
	TupleDesc	desc = tagged ? tagged_desc(f->desc) : outdesc;
	Tuplestorestate *answers = tagged ? tuplestore_begin_heap(true, false, work_mem) : out;
	ErrorData  *unknown = NULL;
	int			answered = 0;
	int			with_rows = 0;

	/* one node's answer is the whole answer: straight into the result */
	for (int i = 0; i < n; i++)
	{
		calls[i].node = list_nth(nodes, i);
		calls[i].sql = f->sql;
	}
	NodeCallsRun(calls, n, f->desc, answers, desc, tagged);
	for (int i = 0; i < n; i++)
	{
		if (calls[i].error == NULL)
		{
			answered++;
			with_rows += calls[i].rows > 0;
		}
		else if (calls[i].unavailable)
			warn_unavailable(&calls[i]);
		else if (calls[i].error->sqlerrcode == ERRCODE_UNDEFINED_OBJECT)
			unknown = unknown ? unknown : calls[i].error;
		else
			ReThrowError(calls[i].error);
	}
	if (answered == 0 && unknown != NULL)
		ReThrowError(unknown);
	learn_routes(answers, desc, tagged, n > 0 ? calls[0].node->name : NULL);
	if (tagged)
	{
		merge_answers(f, answers, desc, with_rows, out, outdesc);
		tuplestore_end(answers);
	}
}

/* ---------------------------------------------------------------------
 * Answers about one run
 * ---------------------------------------------------------------------
 */

static MnemicNode *
node_named(List *nodes, const char *name)
{
	ListCell   *lc;

	foreach(lc, nodes)
	{
		MnemicNode *node = lfirst(lc);

		if (strcmp(node->name, name) == 0)
			return node;
	}
	return NULL;
}

/*
 * Ask every node whether it holds run; the node that does, or NULL.  The
 * nodes that could not answer are added to *down.
 */
static MnemicNode *
find_run(List *nodes, const pg_uuid_t *run, List **down)
{
	int			n = list_length(nodes);
	NodeCall   *calls = palloc0(sizeof(NodeCall) * Max(n, 1));
	TupleDesc	desc = CreateTemplateTupleDesc(1);
	TupleDesc	tagged;
	Tuplestorestate *found = tuplestore_begin_heap(false, false, work_mem);
	TupleTableSlot *slot;
	char	   *sql = psprintf("SELECT 1 FROM mnemic.run WHERE uuid = '%s'",
							   UuidText(run));
	MnemicNode *owner = NULL;
	char	   *owners = NULL;

	TupleDescInitEntry(desc, 1, "found", INT4OID, -1, 0);
	tagged = tagged_desc(desc);
	for (int i = 0; i < n; i++)
	{
		calls[i].node = list_nth(nodes, i);
		calls[i].sql = sql;
	}
	NodeCallsRun(calls, n, desc, found, tagged, true);
	for (int i = 0; i < n; i++)
		if (calls[i].error != NULL)
		{
			if (!calls[i].unavailable)
				ReThrowError(calls[i].error);
			*down = lappend(*down, &calls[i]);
		}

	slot = MakeSingleTupleTableSlot(tagged, &TTSOpsMinimalTuple);
	while (tuplestore_gettupleslot(found, true, false, slot))
	{
		bool		isnull;
		char	   *name = TextDatumGetCString(slot_getattr(slot, 1, &isnull));

		owners = owners ? psprintf("%s, %s", owners, name) : name;
		owner = node_named(nodes, name);
	}
	ExecDropSingleTupleTableSlot(slot);
	if (owners && strchr(owners, ','))
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("pg_mnemic: run %s is stored on more than one node: %s",
						UuidText(run), owners),
				 errhint("A run must live on one node; delete it from all but one.")));
	if (owner)
		route_remember(run, owner->name);
	return owner;
}

/*
 * The node of run: remembered, or found.  NULL when no node that answered
 * has it; *down then lists the nodes that did not answer.
 */
static MnemicNode *
run_node(List *nodes, const pg_uuid_t *run, bool *remembered, List **down)
{
	const char *name = route_lookup(run);
	MnemicNode *node = name ? node_named(nodes, name) : NULL;

	*remembered = node != NULL;
	*down = NIL;
	if (node)
		return node;
	return find_run(nodes, run, down);
}

/* ERROR: no node that answered has run (and which did not answer). */
static void
run_not_found(const pg_uuid_t *run, List *down)
{
	NodeCall   *first;
	StringInfoData names;
	ListCell   *lc;

	if (down == NIL)
		RunNotFound(run);
	first = linitial(down);
	initStringInfo(&names);
	foreach(lc, down)
		appendStringInfo(&names, "%s\"%s\"", names.len ? ", " : "",
						 ((NodeCall *) lfirst(lc))->node->name);
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("pg_mnemic: run %s is not on any node that answered; unavailable: %s",
					UuidText(run), names.data),
			 errdetail_internal("%s", NodeErrorText(first->error)),
			 errhint("The run may be on an unavailable node; mnemic.nodes() shows their state.")));
}

/* The run's node, or an error when none that answered has it. */
static MnemicNode *
run_node_or_error(List *nodes, const pg_uuid_t *run, bool *remembered)
{
	List	   *down;
	MnemicNode *node = run_node(nodes, run, remembered, &down);

	if (node == NULL)
		run_not_found(run, down);
	return node;
}

static void
answer_from_node(Forwarded *f, List *nodes, MnemicNode *node, bool remembered,
				 const pg_uuid_t *run, Tuplestorestate *out, TupleDesc outdesc)
{
	NodeCall	call;

	memset(&call, 0, sizeof(call));
	call.node = node;
	call.sql = f->sql;
	NodeCallsRun(&call, 1, f->desc, out, outdesc, false);
	if (call.error == NULL)
		return;
	if (call.unavailable)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("pg_mnemic: run %s is on node \"%s\", which is unavailable",
						UuidText(run), node->name),
				 errdetail_internal("%s", NodeErrorText(call.error)),
				 errhint("The run can be read again once its node is back; mnemic.nodes() shows its state.")));
	/* a remembered node may have lost the run since: look once more */
	if (remembered && call.error->sqlerrcode == ERRCODE_UNDEFINED_OBJECT)
	{
		MnemicNode *now;
		bool		again;

		route_forget(run);
		now = run_node_or_error(nodes, run, &again);
		if (now != node)
		{
			answer_from_node(f, nodes, now, false, run, out, outdesc);
			return;
		}
	}
	ReThrowError(call.error);
}

/*
 * A call that stores a new run: on the node at start (in name order), or,
 * when that one is unavailable, the next that is not.  For a new run of a
 * known uuid, start is the node dolon would choose from the uuid.
 */
static void
answer_on_some_node(Forwarded *f, List *nodes, uint64 start,
					Tuplestorestate *out, TupleDesc outdesc)
{
	int			n = list_length(nodes);
	NodeCall	call;

	memset(&call, 0, sizeof(call));
	for (int i = 0; i < n; i++)
	{
		call.node = list_nth(nodes, (start + i) % n);
		call.sql = f->sql;
		NodeCallsRun(&call, 1, f->desc, out, outdesc, false);
		if (call.error == NULL)
			return;
		if (!call.unavailable)
			ReThrowError(call.error);
	}
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("pg_mnemic: no node is available to store the run"),
			 errdetail_internal("%s", n > 0 ? NodeErrorText(call.error) : "no nodes")));
}

static uint64
uuid_node_index(const pg_uuid_t *run)
{
	uint64		v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | run->data[i];
	return v;
}

void
CoordinatorStoresNothing(const char *function)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("pg_mnemic: %s() cannot run on a coordinator: it stores nothing of its own",
					function),
			 errhint("Call it on a node, or send the datagrams to a node's listener.")));
}

void
CoordinatorAnswerPerNode(FunctionCallInfo fcinfo, int runs_arg, TupleDesc desc,
						 Tuplestorestate *answers, TupleDesc tagged)
{
	ArrayType  *runs = DatumGetArrayTypeP(fcinfo->args[runs_arg].value);
	LOCAL_FCINFO(share_call, FUNC_MAX_ARGS);
	Datum	   *ids;
	bool	   *nulls;
	int			n;
	List	   *nodes;
	int			nnodes;
	List	  **share;
	NodeCall   *calls;
	int			ncalls = 0;

	deconstruct_array(runs, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &ids, &nulls, &n);
	SpiConnect();
	nodes = registered_nodes();
	nnodes = list_length(nodes);
	share = palloc0(sizeof(List *) * Max(nnodes, 1));
	for (int i = 0; i < n; i++)
	{
		bool		remembered;
		MnemicNode *node;

		if (nulls[i])
			continue;
		node = run_node_or_error(nodes, DatumGetUUIDP(ids[i]), &remembered);
		for (int k = 0; k < nnodes; k++)
			if (list_nth(nodes, k) == node)
				share[k] = lappend(share[k], DatumGetPointer(ids[i]));
	}

	calls = palloc0(sizeof(NodeCall) * Max(nnodes, 1));
	for (int k = 0; k < nnodes; k++)
	{
		int			len = list_length(share[k]);
		Datum	   *mine = palloc(sizeof(Datum) * Max(len, 1));
		ListCell   *lc;
		int			j = 0;

		if (len == 0)
			continue;
		foreach(lc, share[k])
			mine[j++] = PointerGetDatum(lfirst(lc));
		memcpy(share_call, fcinfo, SizeForFunctionCallInfo(fcinfo->nargs));
		share_call->args[runs_arg].value = PointerGetDatum(
			construct_array(mine, len, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
		calls[ncalls].node = list_nth(nodes, k);
		calls[ncalls++].sql = describe_call(share_call)->sql;
	}
	NodeCallsRun(calls, ncalls, desc, answers, tagged, true);
	for (int i = 0; i < ncalls; i++)
	{
		if (calls[i].error == NULL)
			continue;
		if (calls[i].unavailable)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("pg_mnemic: runs of this call are on node \"%s\", which is unavailable",
							calls[i].node->name),
					 errdetail_internal("%s", NodeErrorText(calls[i].error)),
					 errhint("mnemic.nodes() shows its state.")));
		ReThrowError(calls[i].error);
	}
	SPI_finish();
}

/*
 * Answer f, a call about one run or two, into out from the node that holds
 * them; a new run of a call that stores goes where dolon would send it.
 * Returns true, answering nothing, for flamegraph_diff() of runs on two
 * nodes; for any other call that is an error.
 */
static bool
answer_about_runs(Forwarded *f, FunctionCallInfo fcinfo, List *nodes,
				  Tuplestorestate *out, TupleDesc outdesc)
{
	bool		remembered[lengthof(route_arg_names)];
	MnemicNode *node[lengthof(route_arg_names)] = {NULL};
	pg_uuid_t  *run[lengthof(route_arg_names)];

	for (int r = 0; r < f->nroute; r++)
	{
		List	   *down;

		run[r] = DatumGetUUIDP(fcinfo->args[f->route_args[r]].value);
		node[r] = run_node(nodes, run[r], &remembered[r], &down);
		if (node[r] == NULL && f->writes && down == NIL && f->nroute == 1)
		{
			answer_on_some_node(f, nodes, uuid_node_index(run[r]), out, outdesc);
			return false;
		}
		if (node[r] == NULL)
			run_not_found(run[r], down);
	}
	for (int r = 1; r < f->nroute; r++)
		if (node[r] != node[0])
		{
			if (strcmp(f->name, "flamegraph_diff") != 0)
				elog(ERROR, "pg_mnemic: %s() cannot answer for runs on different nodes",
					 f->name);
			return true;
		}
	answer_from_node(f, nodes, node[0], remembered[0], run[0], out, outdesc);
	return false;
}

/* ---------------------------------------------------------------------
 * Entry
 * ---------------------------------------------------------------------
 */

Datum
CoordinatorAnswer(FunctionCallInfo fcinfo)
{
	MemoryContext callcxt = CurrentMemoryContext;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		retset = fcinfo->flinfo->fn_retset;
	Forwarded  *f;
	Tuplestorestate *out = NULL;
	TupleDesc	outdesc = NULL;
	List	   *nodes;
	Datum		result = (Datum) 0;

	if (retset)
	{
		TupleDesc	desc;

		InitMaterializedSRF(fcinfo,
							get_call_result_type(fcinfo, NULL, &desc) == TYPEFUNC_COMPOSITE ?
							0 : MAT_SRF_USE_EXPECTED_DESC);
		out = rsinfo->setResult;
		outdesc = rsinfo->setDesc;
	}
	f = describe_call(fcinfo);
	if (!retset)
	{
		out = tuplestore_begin_heap(false, false, work_mem);
		outdesc = f->desc;
	}
	for (int r = 0; r < f->nroute; r++)
		if (fcinfo->args[f->route_args[r]].isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", f->route_names[r])));

	SpiConnect();
	nodes = registered_nodes();

	if (f->nroute == 0 && (retset || merge_rule(f->name) != NULL))
		answer_from_all(f, nodes, out, outdesc);
	else if (f->nroute == 0 && f->writes)
		answer_on_some_node(f, nodes, pg_prng_uint64(&pg_global_prng_state),
							out, outdesc);
	else if (f->nroute == 0)
		elog(ERROR, "pg_mnemic: no rule makes one value of every node's %s()",
			 f->name);
	else if (answer_about_runs(f, fcinfo, nodes, out, outdesc))
	{
		/* its runs are on different nodes */
		SPI_finish();
		return FlamegraphDiffAcrossNodes(fcinfo);
	}

	if (!retset)
	{
		TupleTableSlot *slot = MakeSingleTupleTableSlot(outdesc, &TTSOpsMinimalTuple);

		fcinfo->isnull = true;
		if (f->composite && tuplestore_gettupleslot(out, true, false, slot))
		{
			MemoryContext old = MemoryContextSwitchTo(callcxt);
			TupleDesc	desc = BlessTupleDesc(CreateTupleDescCopy(outdesc));

			slot_getallattrs(slot);
			result = HeapTupleGetDatum(heap_form_tuple(desc, slot->tts_values,
													   slot->tts_isnull));
			fcinfo->isnull = false;
			MemoryContextSwitchTo(old);
		}
		else if (tuplestore_gettupleslot(out, true, false, slot))
		{
			Datum		value = slot_getattr(slot, 1, &fcinfo->isnull);
			Form_pg_attribute att = TupleDescAttr(outdesc, 0);

			if (!fcinfo->isnull)
			{
				MemoryContext old = MemoryContextSwitchTo(callcxt);

				result = datumCopy(value, att->attbyval, att->attlen);
				MemoryContextSwitchTo(old);
			}
		}
		ExecDropSingleTupleTableSlot(slot);
	}
	SPI_finish();
	return result;
}
