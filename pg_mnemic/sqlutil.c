/*
 * sqlutil.c
 *	  Argument checks and errors shared by the SQL functions (sqlutil.h).
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "sqlutil.h"

pg_uuid_t *
RequiredUuid(FunctionCallInfo fcinfo, int arg, const char *name)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	return PG_GETARG_UUID_P(arg);
}

text *
RequiredText(FunctionCallInfo fcinfo, int arg, const char *name)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	return PG_GETARG_TEXT_PP(arg);
}

char *
UuidText(const pg_uuid_t *uuid)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out,
											   UUIDPGetDatum(uuid)));
}

void
RunNotFound(const pg_uuid_t *run)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("run %s does not exist", UuidText(run)),
			 errhint("mnemic.runs() lists the runs.")));
}
