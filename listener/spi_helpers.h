/*
 * spi_helpers.h
 *	  The SPI calls the listener and the SQL functions make, in one style:
 *	  statements prepared once and kept for the backend's life, a cursor
 *	  loop, and the checks every call needs.
 */
#ifndef MNEMIC_SPI_HELPERS_H
#define MNEMIC_SPI_HELPERS_H

#include "postgres.h"

#include "executor/spi.h"

#define KEPT_PLAN_MAX_ARGS	20

/*
 * A statement prepared on first use and kept (SPI_keepplan).  Define them
 * as static tables of { sql, nargs, { argtypes } }; plan starts NULL.
 */
typedef struct KeptPlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[KEPT_PLAN_MAX_ARGS];
	bool		generic;		/* plan once for any arguments: for queries
								 * whose plan does not depend on them but
								 * whose planning would (large arrays) */
	SPIPlanPtr	plan;
} KeptPlan;

/* SPI_connect(), or an error. */
extern void SpiConnect(void);

/* The prepared statement, preparing it on first use. */
extern SPIPlanPtr KeptPlanGet(KeptPlan *kp);

/*
 * Run a kept statement (nulls as SPI_execute_plan takes them, NULL for
 * none); returns the number of rows processed.  Errors on failure.
 */
extern uint64 KeptPlanExec(KeptPlan *kp, Datum *values, const char *nulls,
						   bool read_only, long count);

/* Column col (1-based) of row row of the last result. */
static inline Datum
SpiResult(uint64 row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col,
						 isnull);
}

/*
 * A string from the wire (UTF-8) as a text Datum in the server's encoding;
 * an error when it has no form there.
 */
extern Datum WireTextDatum(const char *utf8);

/* Column col of the first row, which must not be NULL. */
extern int32 SpiResultInt32(int col);

/*
 * Run plan through a cursor, fetch rows at a time, and call fn for each row
 * until it returns false; memory stays bounded however many rows come.
 * read_only as for SPI_execute_plan: true reads the caller's snapshot (what
 * a STABLE function must do), false first makes this transaction's own
 * earlier writes visible.
 */
typedef bool (*SpiRowFn) (HeapTuple tuple, TupleDesc desc, void *arg);
extern void SpiForEachRow(SPIPlanPtr plan, Datum *args, const char *nulls,
						  bool read_only, long fetch, SpiRowFn fn, void *arg);

#endif							/* MNEMIC_SPI_HELPERS_H */
