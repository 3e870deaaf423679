/*
 * nodes_sql.c
 *	  A coordinator's registry of nodes: mnemic.add_node(),
 *	  mnemic.remove_node() and mnemic.nodes().
 *
 * A node is a row of mnemic.node and a postgres_fdw foreign server,
 * mnemic_node_<name>, with a user mapping for PUBLIC: the connection
 * string's user and password go to the mapping (where only superusers and
 * the server's owner can read them), everything else to the server.  So
 * the credentials are PostgreSQL's own objects: a deployment can give a
 * role its own mapping, and SQL users can build foreign tables on the
 * same server.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "listener/spi_helpers.h"
#include "node_calls.h"

PG_FUNCTION_INFO_V1(mnemic_add_node);
PG_FUNCTION_INFO_V1(mnemic_remove_node);
PG_FUNCTION_INFO_V1(mnemic_nodes);

#define NODE_NAME_MAX 40

/* What nodes() asks every node. */
static const char *probe_sql =
"SELECT (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_mnemic'),"
" (SELECT count(*) FROM mnemic.run), (SELECT max(last_seen) FROM mnemic.run)";

static void
check_node_name(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > NODE_NAME_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid node name \"%s\"", name),
				 errdetail("A node name is 1 to %d lower-case letters, digits and underscores.",
						   NODE_NAME_MAX)));
}

static void
exec_ddl(const char *sql)
{
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "pg_mnemic: \"%s\" failed", sql);
}

/* Options "k 'v', ..." of a connection string, for the server or the mapping. */
static void
split_conninfo(const char *conninfo, StringInfo server, StringInfo mapping)
{
	char	   *error = NULL;
	PQconninfoOption *options = PQconninfoParse(conninfo, &error);

	if (options == NULL)
	{
		char	   *msg = error ? pstrdup(error) : "out of memory";

		if (error)
			PQfreemem(error);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid connection string for a node: %s", msg)));
	}
	for (PQconninfoOption *o = options; o->keyword != NULL; o++)
	{
		StringInfo	to;

		if (o->val == NULL || o->val[0] == '\0')
			continue;
		to = strcmp(o->keyword, "user") == 0 || strcmp(o->keyword, "password") == 0 ||
			strcmp(o->keyword, "sslpassword") == 0 ? mapping : server;
		appendStringInfo(to, "%s%s %s", to->len > 0 ? ", " : "",
						 quote_identifier(o->keyword), quote_literal_cstr(o->val));
	}
	PQconninfoFree(options);
}

/* Run probe_sql on nodes; calls[i] answers for the i-th node. */
static NodeCall *
probe_nodes(List *nodes, Tuplestorestate **answers, TupleDesc *tagged)
{
	int			n = list_length(nodes);
	NodeCall   *calls = palloc0(sizeof(NodeCall) * Max(n, 1));
	TupleDesc	desc = CreateTemplateTupleDesc(3);

	TupleDescInitEntry(desc, 1, "version", TEXTOID, -1, 0);
	TupleDescInitEntry(desc, 2, "runs", INT8OID, -1, 0);
	TupleDescInitEntry(desc, 3, "last_seen", TIMESTAMPTZOID, -1, 0);
	*tagged = CreateTemplateTupleDesc(4);
	TupleDescInitEntry(*tagged, 1, "node", TEXTOID, -1, 0);
	for (int i = 1; i <= 3; i++)
		TupleDescCopyEntry(*tagged, i + 1, desc, i);
	*answers = tuplestore_begin_heap(true, false, work_mem);
	for (int i = 0; i < n; i++)
	{
		calls[i].node = list_nth(nodes, i);
		calls[i].sql = probe_sql;
	}
	NodeCallsRun(calls, n, desc, *answers, *tagged, true);
	return calls;
}

/*
 * SQL: mnemic.add_node(name text, conninfo text) RETURNS void.  Registers
 * the node; a WARNING when it cannot be reached now or has no pg_mnemic.
 */
Datum
mnemic_add_node(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *conninfo = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *server = psprintf("mnemic_node_%s", name);
	StringInfoData server_options;
	StringInfoData mapping_options;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	MnemicNode	node = {name, server};
	Tuplestorestate *answers;
	TupleDesc	tagged;
	NodeCall   *probe;

	check_node_name(name);
	initStringInfo(&server_options);
	initStringInfo(&mapping_options);
	split_conninfo(conninfo, &server_options, &mapping_options);

	SpiConnect();
	args[0] = CStringGetTextDatum(name);
	if (SPI_execute_with_args("SELECT 1 FROM mnemic.node WHERE name = $1",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_mnemic: reading mnemic.node failed");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("node \"%s\" already exists", name),
				 errhint("mnemic.remove_node() removes it first.")));
	exec_ddl("CREATE EXTENSION IF NOT EXISTS postgres_fdw");
	exec_ddl("CREATE EXTENSION IF NOT EXISTS dblink");
	exec_ddl(psprintf("CREATE SERVER %s FOREIGN DATA WRAPPER postgres_fdw%s%s%s",
					  quote_identifier(server),
					  server_options.len ? " OPTIONS (" : "", server_options.data,
					  server_options.len ? ")" : ""));
	exec_ddl(psprintf("CREATE USER MAPPING FOR PUBLIC SERVER %s%s%s%s",
					  quote_identifier(server),
					  mapping_options.len ? " OPTIONS (" : "", mapping_options.data,
					  mapping_options.len ? ")" : ""));
	exec_ddl(psprintf("GRANT USAGE ON FOREIGN SERVER %s TO mnemic_reader",
					  quote_identifier(server)));
	args[1] = CStringGetTextDatum(server);
	if (SPI_execute_with_args("INSERT INTO mnemic.node (name, server) VALUES ($1, $2)",
							  2, types, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "pg_mnemic: registering the node failed");

	probe = probe_nodes(list_make1(&node), &answers, &tagged);
	if (probe->error)
		ereport(WARNING,
				(errcode(probe->unavailable ? ERRCODE_CONNECTION_FAILURE :
						 probe->error->sqlerrcode),
				 errmsg("pg_mnemic: node \"%s\" is registered but does not answer now",
						name),
				 errdetail_internal("%s", NodeErrorText(probe->error)),
				 errhint("mnemic.nodes() shows its state.")));
	if (SPI_execute("SELECT 1 FROM mnemic.run LIMIT 1", true, 0) == SPI_OK_SELECT &&
		SPI_processed > 0)
		ereport(WARNING,
				(errmsg("pg_mnemic: this database's own runs are not read while it has nodes"),
				 errhint("SET pg_mnemic.local_only = on reads them; a coordinator needs no listener.")));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * SQL: mnemic.remove_node(name text) RETURNS boolean: false when there is
 * no such node.  Its server goes with it, unless something else of the
 * database's (a foreign table) uses it.
 */
Datum
mnemic_remove_node(PG_FUNCTION_ARGS)
{
	Oid			type = TEXTOID;
	Datum		arg = PG_GETARG_DATUM(0);
	char	   *server;

	SpiConnect();
	if (SPI_execute_with_args("DELETE FROM mnemic.node WHERE name = $1 RETURNING server",
							  1, &type, &arg, NULL, false, 0) != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "pg_mnemic: removing the node failed");
	if (SPI_processed == 0)
	{
		SPI_finish();
		PG_RETURN_BOOL(false);
	}
	server = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	arg = CStringGetTextDatum(server);
	if (SPI_execute_with_args("SELECT usename FROM pg_catalog.pg_user_mappings WHERE srvname = $1",
							  1, &type, &arg, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_mnemic: reading the node's user mappings failed");
	{
		uint64		n = SPI_processed;
		char	  **users = palloc(sizeof(char *) * Max(n, 1));

		for (uint64 i = 0; i < n; i++)
			users[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		for (uint64 i = 0; i < n; i++)
			exec_ddl(psprintf("DROP USER MAPPING FOR %s SERVER %s",
							  strcmp(users[i], "public") == 0 ? "PUBLIC" :
							  quote_identifier(users[i]), quote_identifier(server)));
	}
	exec_ddl(psprintf("DROP SERVER %s", quote_identifier(server)));
	SPI_finish();
	PG_RETURN_BOOL(true);
}

/*
 * SQL: mnemic.nodes() RETURNS TABLE (node, state, runs, last_seen,
 * version, detail): every registered node asked at once.  state is 'up',
 * 'unavailable' (cannot be reached, or too slow) or 'failing' (answers
 * with an error: detail says which).
 */
Datum
mnemic_nodes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *nodes;
	NodeCall   *calls;
	Tuplestorestate *answers;
	TupleDesc	tagged;
	TupleTableSlot *slot;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	SpiConnect();
	nodes = NodeList();
	n = list_length(nodes);
	calls = probe_nodes(nodes, &answers, &tagged);
	slot = MakeSingleTupleTableSlot(tagged, &TTSOpsMinimalTuple);
	for (int i = 0; i < n; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, true, true, true, true};

		values[0] = CStringGetTextDatum(calls[i].node->name);
		if (calls[i].error)
		{
			values[1] = CStringGetTextDatum(calls[i].unavailable ? "unavailable" : "failing");
			nulls[5] = false;
			values[5] = CStringGetTextDatum(NodeErrorText(calls[i].error));
		}
		else
		{
			values[1] = CStringGetTextDatum("up");
			tuplestore_rescan(answers);
			while (tuplestore_gettupleslot(answers, true, false, slot))
			{
				bool		isnull;

				if (strcmp(TextDatumGetCString(slot_getattr(slot, 1, &isnull)),
						   calls[i].node->name) != 0)
					continue;
				values[4] = slot_getattr(slot, 2, &nulls[4]);
				values[2] = slot_getattr(slot, 3, &nulls[2]);
				values[3] = slot_getattr(slot, 4, &nulls[3]);
				break;
			}
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	ExecDropSingleTupleTableSlot(slot);
	SPI_finish();
	return (Datum) 0;
}
