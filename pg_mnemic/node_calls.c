/*
 * node_calls.c
 *	  A coordinator's statements to its nodes, through dblink (node_calls.h).
 *
 * Each node is a postgres_fdw foreign server: its options say where it is,
 * the user mapping of the caller (or PUBLIC) who to be there.  The session
 * keeps one named dblink connection per node, opened with a connection
 * string made from those plus the pg_mnemic.node_* timeouts and the
 * session settings that make values travel exactly as text (ISO dates,
 * every float digit); a changed server, mapping, role or setting makes a
 * different string, and the connection is opened anew.
 *
 * Fan-out is dblink's asynchronous pair: dblink_send_query() to every node
 * first, then dblink_get_result() from each, so that the nodes work at the
 * same time and the call takes as long as the slowest, not the sum.  Each
 * node's part runs in a subtransaction: a node that is down, slow or
 * failing costs its own answer and nothing else.  Interrupts of our own
 * (cancel, statement_timeout, shutdown) are never caught.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "libpq-fe.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "node_calls.h"

int			mnemic_node_connect_timeout_s = 2;
int			mnemic_node_statement_timeout_ms = 30000;

/* This session's connection to one node. */
typedef struct NodeConnection
{
	char		name[NAMEDATALEN];	/* the node's; key */
	char		dblink_name[NAMEDATALEN + 8];
	char	   *conninfo;		/* opened with; NULL: not open */
} NodeConnection;

static HTAB *connections = NULL;

/* Statements calling dblink, prepared for the schema it is installed in. */
static char *dblink_schema = NULL;
static SPIPlanPtr plan_connect = NULL;
static SPIPlanPtr plan_disconnect = NULL;
static SPIPlanPtr plan_send = NULL;
static SPIPlanPtr plan_drain = NULL;

/* dblink_get_result() AS t(<columns>): one plan per column list. */
typedef struct ResultPlan
{
	char		columns[1024];	/* key */
	SPIPlanPtr	plan;
} ResultPlan;

static HTAB *result_plans = NULL;

List *
NodeList(void)
{
	List	   *nodes = NIL;
	MemoryContext cxt = CurrentMemoryContext;

	if (SPI_execute("SELECT name, server FROM mnemic.node ORDER BY name",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_mnemic: reading mnemic.node failed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		MnemicNode *node = palloc(sizeof(MnemicNode));

		node->name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		node->server = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		nodes = lappend(nodes, node);
		MemoryContextSwitchTo(old);
	}
	return nodes;
}

/* ---------------------------------------------------------------------
 * dblink's functions, wherever the extension was installed
 * ---------------------------------------------------------------------
 */

static SPIPlanPtr
prepare_kept(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

	if (plan == NULL)
		elog(ERROR, "pg_mnemic: SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	return plan;
}

static void
prepare_dblink_plans(void)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	char	   *schema;
	const char *q;

	if (plan_connect != NULL)
		return;
	if (SPI_execute("SELECT n.nspname FROM pg_catalog.pg_extension e"
					" JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
					" WHERE e.extname = 'dblink'", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_mnemic: looking up dblink failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pg_mnemic: this database has nodes but no dblink extension"),
				 errhint("mnemic.add_node() installs it: CREATE EXTENSION dblink.")));
	schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	dblink_schema = MemoryContextStrdup(TopMemoryContext, schema);
	q = quote_identifier(dblink_schema);
	plan_connect = prepare_kept(psprintf("SELECT %s.dblink_connect($1, $2)", q), 2, types);
	plan_disconnect = prepare_kept(psprintf("SELECT %s.dblink_disconnect($1)", q), 1, types);
	plan_send = prepare_kept(psprintf("SELECT %s.dblink_send_query($1, $2)", q), 2, types);
	plan_drain = prepare_kept(psprintf("SELECT * FROM %s.dblink_get_result($1) AS t(x text)", q),
							  1, types);
}

/* "name type, ..." of desc, for dblink's column definition list. */
static char *
column_list(TupleDesc desc)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		appendStringInfo(&buf, "%s%s %s", i > 0 ? ", " : "",
						 quote_identifier(NameStr(att->attname)),
						 format_type_with_typemod(att->atttypid, att->atttypmod));
	}
	return buf.data;
}

static SPIPlanPtr
result_plan(TupleDesc desc)
{
	char	   *columns = column_list(desc);
	ResultPlan *rp;
	bool		found;
	Oid			type = TEXTOID;

	if (strlen(columns) >= sizeof(rp->columns))
		elog(ERROR, "pg_mnemic: result columns too long: %s", columns);
	if (result_plans == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(rp->columns);
		ctl.entrysize = sizeof(ResultPlan);
		result_plans = hash_create("pg_mnemic dblink result plans", 16, &ctl,
								   HASH_ELEM | HASH_STRINGS);
	}
	rp = hash_search(result_plans, columns, HASH_ENTER, &found);
	if (!found)
	{
		rp->plan = NULL;
		rp->plan = prepare_kept(psprintf("SELECT * FROM %s.dblink_get_result($1) AS t(%s)",
										 quote_identifier(dblink_schema), columns),
								1, &type);
	}
	return rp->plan;
}

static void
exec_plan(SPIPlanPtr plan, const char *a, const char *b)
{
	Datum		args[2] = {CStringGetTextDatum(a), b ? CStringGetTextDatum(b) : (Datum) 0};

	if (SPI_execute_plan(plan, args, NULL, false, 0) < 0)
		elog(ERROR, "pg_mnemic: a dblink call failed");
}

/* ---------------------------------------------------------------------
 * Connections
 * ---------------------------------------------------------------------
 */

static NodeConnection *
connection_of(const MnemicNode *node)
{
	NodeConnection *c;
	char		key[NAMEDATALEN];
	bool		found;

	if (connections == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = NAMEDATALEN;
		ctl.entrysize = sizeof(NodeConnection);
		connections = hash_create("pg_mnemic node connections", 16, &ctl,
								  HASH_ELEM | HASH_STRINGS);
	}
	strlcpy(key, node->name, sizeof(key));
	c = hash_search(connections, key, HASH_ENTER, &found);
	if (!found)
	{
		snprintf(c->dblink_name, sizeof(c->dblink_name), "mnemic_%s", key);
		c->conninfo = NULL;
	}
	return c;
}

/* A libpq option, as opposed to one of postgres_fdw's own? */
static bool
is_libpq_option(const char *keyword)
{
	static PQconninfoOption *options = NULL;

	if (options == NULL)
	{
		options = PQconndefaults();
		if (options == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
							errmsg("out of memory")));
	}
	for (PQconninfoOption *o = options; o->keyword != NULL; o++)
		if (strcmp(o->keyword, keyword) == 0)
			return true;
	return false;
}

static void
append_conninfo(StringInfo buf, const char *keyword, const char *value)
{
	appendStringInfo(buf, "%s%s = '", buf->len > 0 ? " " : "", keyword);
	for (const char *p = value; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '\'');
}

/*
 * The connection string for node as the current user: the server's and
 * the user mapping's options (as dblink would take them, with the same
 * permission check), our timeouts unless the server sets its own, and the
 * session settings values are exchanged in.
 */
static char *
node_conninfo(const MnemicNode *node)
{
	ForeignServer *server = GetForeignServerByName(node->server, false);
	UserMapping *mapping;
	AclResult	aclresult;
	StringInfoData buf;
	StringInfoData options;
	bool		has_timeout = false;
	List	   *all;
	ListCell   *lc;

	aclresult = pg_foreign_server_aclcheck(server->serverid, GetUserId(), ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, server->servername);
	mapping = GetUserMapping(GetUserId(), server->serverid);

	initStringInfo(&buf);
	initStringInfo(&options);
	all = list_concat_copy(server->options, mapping->options);
	foreach(lc, all)
	{
		DefElem    *def = lfirst(lc);
		const char *value = defGetString(def);

		if (strcmp(def->defname, "options") == 0)
			appendStringInfo(&options, "%s ", value);
		else if (is_libpq_option(def->defname))
		{
			append_conninfo(&buf, def->defname, value);
			if (strcmp(def->defname, "connect_timeout") == 0)
				has_timeout = true;
		}
	}
	if (!has_timeout && mnemic_node_connect_timeout_s > 0)
		append_conninfo(&buf, "connect_timeout",
						psprintf("%d", mnemic_node_connect_timeout_s));
	append_conninfo(&buf, "fallback_application_name", "pg_mnemic coordinator");
	/* The node answers from its own tables, and never forwards further. */
	appendStringInfo(&options,
					 "-c pg_mnemic.local_only=on -c datestyle=ISO"
					 " -c intervalstyle=postgres -c extra_float_digits=3"
					 " -c bytea_output=hex -c statement_timeout=%d",
					 mnemic_node_statement_timeout_ms);
	append_conninfo(&buf, "options", options.data);
	return buf.data;
}

static void
set_quiet(void)
{
	/* dblink reports what we handle ourselves as NOTICEs: keep them out */
	(void) set_config_option("client_min_messages", "warning", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/* Close c's connection, if open; never fails. */
static void
connection_close(NodeConnection *c)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	char	   *conninfo = c->conninfo;

	if (conninfo == NULL)
		return;
	c->conninfo = NULL;
	pfree(conninfo);
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		exec_plan(plan_disconnect, c->dblink_name, NULL);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
}

/* Open c's connection as conninfo, unless it is open as that already. */
static void
connection_open(NodeConnection *c, const char *conninfo)
{
	if (c->conninfo != NULL && strcmp(c->conninfo, conninfo) == 0)
		return;
	connection_close(c);
	exec_plan(plan_connect, c->dblink_name, conninfo);
	c->conninfo = MemoryContextStrdup(TopMemoryContext, conninfo);
}

void
NodeConnectionsKeepOnly(List *nodes)
{
	HASH_SEQ_STATUS seq;
	NodeConnection *c;

	if (connections == NULL)
		return;
	hash_seq_init(&seq, connections);
	while ((c = hash_seq_search(&seq)) != NULL)
	{
		bool		kept = false;
		ListCell   *lc;

		foreach(lc, nodes)
			if (strcmp(((MnemicNode *) lfirst(lc))->name, c->name) == 0)
				kept = true;
		if (!kept && c->conninfo != NULL && plan_disconnect != NULL)
			connection_close(c);
	}
}

/* ---------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------
 */

char *
NodeErrorText(const ErrorData *e)
{
	char	   *text = e->detail ? psprintf("%s: %s", e->message, e->detail) :
		pstrdup(e->message ? e->message : "unknown error");
	size_t		len = strlen(text);

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	return text;
}

bool
NodeErrorIsUnavailability(const ErrorData *e)
{
	int			code = e->sqlerrcode;

	return ERRCODE_TO_CATEGORY(code) == ERRCODE_CONNECTION_EXCEPTION ||
		code == ERRCODE_ADMIN_SHUTDOWN ||
		code == ERRCODE_CRASH_SHUTDOWN ||
		code == ERRCODE_CANNOT_CONNECT_NOW ||
		code == ERRCODE_TOO_MANY_CONNECTIONS ||
		code == ERRCODE_QUERY_CANCELED;	/* the node's statement_timeout */
}

/*
 * An error of this backend itself (cancel, timeout, shutdown, out of
 * memory), which no node may swallow.  Interrupts are raised by
 * ProcessInterrupts() in postgres.c.
 */
static bool
is_local_error(const ErrorData *e)
{
	const char *file = e->filename ? e->filename : "";
	size_t		len = strlen(file);

	return e->sqlerrcode == ERRCODE_OUT_OF_MEMORY ||
		(len >= 10 && strcmp(file + len - 10, "postgres.c") == 0);
}

typedef void (*NodeStep) (NodeCall *call, void *arg);

/*
 * Run step for call in a subtransaction; false, with call->error set, when
 * it failed with an error of the node's or the statement's.
 */
static bool
node_try(NodeStep step, NodeCall *call, void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	int			nest = NewGUCNestLevel();
	bool		ok = true;

	set_quiet();
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		step(call, arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (is_local_error(edata))
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		call->error = edata;
		call->unavailable = NodeErrorIsUnavailability(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	AtEOXact_GUC(true, nest);
	return ok;
}

/* ---------------------------------------------------------------------
 * Sending and collecting
 * ---------------------------------------------------------------------
 */

static void
send_step(NodeCall *call, void *arg)
{
	NodeConnection *c = connection_of(call->node);
	char	   *conninfo = node_conninfo(call->node);
	bool		isnull;

	connection_open(c, conninfo);
	exec_plan(plan_send, c->dblink_name, call->sql);
	if (DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									1, &isnull)) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not send the statement to node \"%s\"",
						call->node->name)));
	call->sent = true;
}

typedef struct CollectTarget
{
	SPIPlanPtr	plan;
	Tuplestorestate *out;
	TupleDesc	outdesc;
	bool		tag_node;
	ResourceOwner owner;		/* the store's */
} CollectTarget;

static void
collect_step(NodeCall *call, void *arg)
{
	CollectTarget *t = arg;
	NodeConnection *c = connection_of(call->node);
	Datum		conn = CStringGetTextDatum(c->dblink_name);
	int			natts = t->outdesc->natts;
	Datum	   *values = palloc(sizeof(Datum) * natts);
	bool	   *nulls = palloc(sizeof(bool) * natts);
	int			first = t->tag_node ? 1 : 0;
	ResourceOwner owner = CurrentResourceOwner;
	SPITupleTable *rows;
	uint64		nrows;

	if (SPI_execute_plan(t->plan, &conn, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_mnemic: dblink_get_result failed");
	rows = SPI_tuptable;
	nrows = SPI_processed;
	/* the end of the results, after which the connection is free again */
	if (SPI_execute_plan(plan_drain, &conn, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_mnemic: dblink_get_result failed");

	/* the store may spill to a file, which must outlive this subtransaction */
	CurrentResourceOwner = t->owner;
	for (uint64 i = 0; i < nrows; i++)
	{
		if (t->tag_node)
		{
			values[0] = CStringGetTextDatum(call->node->name);
			nulls[0] = false;
		}
		for (int col = first; col < natts; col++)
			values[col] = SPI_getbinval(rows->vals[i], rows->tupdesc,
										col - first + 1, &nulls[col]);
		tuplestore_putvalues(t->out, t->outdesc, values, nulls);
	}
	CurrentResourceOwner = owner;
	call->rows = nrows;
	call->done = true;
}

static void
drain_step(NodeCall *call, void *arg)
{
	Datum		conn = CStringGetTextDatum(connection_of(call->node)->dblink_name);

	if (SPI_execute_plan(plan_drain, &conn, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_mnemic: dblink_get_result failed");
}

/*
 * After a failure: a connection that failed as a connection is closed; one
 * whose statement failed is drained of what remains, and closed if even
 * that fails.
 */
static void
tidy_after_failure(NodeCall *call)
{
	NodeConnection *c = connection_of(call->node);
	ErrorData  *error = call->error;
	bool		unavailable = call->unavailable;

	if (!unavailable && call->sent && node_try(drain_step, call, NULL))
		;
	else
		connection_close(c);
	call->error = error;
	call->unavailable = unavailable;
}

static void
reset_call(NodeCall *call)
{
	call->sent = call->done = false;
	call->error = NULL;
	call->unavailable = false;
	call->rows = 0;
}

void
NodeCallsRun(NodeCall *calls, int ncalls, TupleDesc desc,
			 Tuplestorestate *out, TupleDesc outdesc, bool tag_node)
{
	CollectTarget target;
	bool	   *reused = palloc0(sizeof(bool) * Max(ncalls, 1));

	if (ncalls == 0)
		return;
	prepare_dblink_plans();
	target.plan = result_plan(desc);
	target.out = out;
	target.outdesc = outdesc;
	target.tag_node = tag_node;
	target.owner = CurrentResourceOwner;

	for (int i = 0; i < ncalls; i++)
	{
		NodeCall   *call = &calls[i];

		reset_call(call);
		if (call->sql == NULL)
			continue;
		reused[i] = connection_of(call->node)->conninfo != NULL;
		if (!node_try(send_step, call, NULL))
		{
			tidy_after_failure(call);
			/* a connection kept from before may have died since: once more */
			if (reused[i] && call->unavailable)
			{
				reset_call(call);
				reused[i] = false;
				if (!node_try(send_step, call, NULL))
					tidy_after_failure(call);
			}
		}
	}
	for (int i = 0; i < ncalls; i++)
	{
		NodeCall   *call = &calls[i];

		if (!call->sent)
			continue;
		if (node_try(collect_step, call, &target))
			continue;
		tidy_after_failure(call);
		if (reused[i] && call->unavailable)
		{
			reset_call(call);
			if (!node_try(send_step, call, NULL) ||
				!node_try(collect_step, call, &target))
				tidy_after_failure(call);
		}
	}
}
