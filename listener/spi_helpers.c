/*
 * spi_helpers.c
 *	  Kept statements, a cursor loop and checks around SPI (spi_helpers.h).
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "spi_helpers.h"

void
SpiConnect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_mnemic: SPI_connect failed");
}

SPIPlanPtr
KeptPlanGet(KeptPlan *kp)
{
	if (kp->plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(kp->sql, kp->nargs, kp->argtypes,
											  kp->generic ? CURSOR_OPT_GENERIC_PLAN : 0);

		if (plan == NULL)
			elog(ERROR, "pg_mnemic: SPI_prepare failed for \"%s\": %s",
				 kp->sql, SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		kp->plan = plan;
	}
	return kp->plan;
}

uint64
KeptPlanExec(KeptPlan *kp, Datum *values, const char *nulls, bool read_only,
			 long count)
{
	int			rc = SPI_execute_plan(KeptPlanGet(kp), values, nulls,
									  read_only, count);

	if (rc < 0)
		elog(ERROR, "pg_mnemic: \"%s\" failed: %s", kp->sql,
			 SPI_result_code_string(rc));
	return SPI_processed;
}

Datum
WireTextDatum(const char *utf8)
{
	return CStringGetTextDatum(pg_any_to_server(utf8, strlen(utf8), PG_UTF8));
}

int32
SpiResultInt32(int col)
{
	bool		isnull;
	Datum		d = SpiResult(0, col, &isnull);

	if (isnull)
		elog(ERROR, "pg_mnemic: unexpected NULL in column %d", col);
	return DatumGetInt32(d);
}

void
SpiForEachRow(SPIPlanPtr plan, Datum *args, const char *nulls, bool read_only,
			  long fetch, SpiRowFn fn, void *arg)
{
	Portal		portal = SPI_cursor_open(NULL, plan, args, nulls, read_only);
	bool		more = true;

	while (more)
	{
		SPI_cursor_fetch(portal, true, fetch);
		if (SPI_processed == 0)
			break;
		for (uint64 row = 0; row < SPI_processed && more; row++)
			more = fn(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, arg);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
}
