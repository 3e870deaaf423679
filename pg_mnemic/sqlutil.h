/*
 * sqlutil.h
 *	  What the SQL-callable functions share: checks of their arguments and
 *	  the errors that name what a caller asked for and does not exist.
 */
#ifndef MNEMIC_SQLUTIL_H
#define MNEMIC_SQLUTIL_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/uuid.h"

/* Argument arg, which must not be NULL; the error names it. */
extern pg_uuid_t *RequiredUuid(FunctionCallInfo fcinfo, int arg,
							   const char *name);
extern text *RequiredText(FunctionCallInfo fcinfo, int arg, const char *name);

/* A uuid as text, for messages. */
extern char *UuidText(const pg_uuid_t *uuid);

/* ERROR: run <uuid> does not exist, with a hint where to find runs. */
pg_attribute_noreturn() extern void RunNotFound(const pg_uuid_t *run);

#endif							/* MNEMIC_SQLUTIL_H */
