/*
 * pg_mnemic.c
 *	  Loading the extension: the listener's setup (listener/setup.c) and the
 *	  hook that keeps the listener from blocking DROP DATABASE and DROP
 *	  EXTENSION.
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#include "listener/listener.h"
#include "coordinator.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static ProcessUtility_hook_type prev_process_utility_hook = NULL;

/* Does a DROP EXTENSION statement name pg_mnemic? */
static bool
drops_this_extension(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_EXTENSION)
		return false;
	foreach(lc, stmt->objects)
	{
		if (strcmp(strVal(lfirst(lc)), "pg_mnemic") == 0)
			return true;
	}
	return false;
}

static bool
in_listener_database(void)
{
	char	   *current = get_database_name(MyDatabaseId);

	return current != NULL && mnemic_database != NULL &&
		strcmp(current, mnemic_database) == 0;
}

/*
 * What a utility statement needs from the inserter before it can run: a
 * database that is dropped or renamed must have no one connected, and the
 * extension's tables must not be written while they are dropped.
 */
static ListenerLeaveRequest
leave_request_for(Node *parsetree)
{
	const char *dbname = NULL;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			dbname = ((DropdbStmt *) parsetree)->dbname;
			break;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
				dbname = ((RenameStmt *) parsetree)->subname;
			break;
		case T_DropStmt:
			/* Only the listener's own database matters. */
			if (drops_this_extension((DropStmt *) parsetree) &&
				in_listener_database())
				return LISTENER_LEAVE_DISCARD;
			break;
		default:
			break;
	}
	if (dbname != NULL && mnemic_database != NULL &&
		strcmp(dbname, mnemic_database) == 0)
		return LISTENER_LEAVE_FLUSH;
	return LISTENER_STAY;
}

static void
mnemic_process_utility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	if (listener_shared != NULL)
	{
		ListenerLeaveRequest how = leave_request_for(pstmt->utilityStmt);

		if (how != LISTENER_STAY)
			ListenerAskInserterToLeave(how);
	}

	if (prev_process_utility_hook)
		prev_process_utility_hook(pstmt, queryString, readOnlyTree, context,
								  params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
_PG_init(void)
{
	/* before the listener's, which reserves the pg_mnemic prefix */
	CoordinatorDefineSettings();
	ListenerSetup();
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = mnemic_process_utility;
}
