/*
 * run_changes.c
 *	  mnemic.change_cursor() and mnemic.active_until(): how a reader of the
 *	  listing learns what changed since it last looked (run_changes.h).
 */
#include "postgres.h"

#include <limits.h>

#include "access/transam.h"
#include "access/xact.h"
#include "common/int.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "coordinator.h"
#include "run_changes.h"

PG_FUNCTION_INFO_V1(mnemic_change_cursor);
PG_FUNCTION_INFO_V1(mnemic_active_until);

/* A run with no period, or a short one, stays active this long. */
#define ACTIVE_MIN_USECS	(10 * USECS_PER_SEC)

/* The 64-bit form of an xid of the present, relative to the next one. */
static FullTransactionId
widen_xid(TransactionId xid, FullTransactionId next)
{
	uint32		epoch = EpochFromFullTransactionId(next);

	if (!TransactionIdIsNormal(xid))
		return FullTransactionIdFromEpochAndXid(0, xid);
	if (xid > XidFromFullTransactionId(next))
		epoch--;
	return FullTransactionIdFromEpochAndXid(epoch, xid);
}

/*
 * SQL: mnemic.change_cursor() RETURNS text: a cursor for the moment of the
 * calling statement's snapshot, to hand to runs() or tracers() later as
 * changed_since.  Its form ("<xid>:<microseconds>") is not a contract.
 * NULL on a coordinator, whose transactions say nothing of its nodes'.
 */
Datum
mnemic_change_cursor(PG_FUNCTION_ARGS)
{
	FullTransactionId xmin;

	if (MnemicCoordinating())
		PG_RETURN_NULL();

	if (!ActiveSnapshotSet())
		elog(ERROR, "change_cursor() needs an active snapshot");
	xmin = widen_xid(GetActiveSnapshot()->xmin, ReadNextFullTransactionId());
	PG_RETURN_TEXT_P(cstring_to_text(psprintf(UINT64_FORMAT ":" INT64_FORMAT,
											  U64FromFullTransactionId(xmin),
											  GetCurrentTransactionStartTimestamp())));
}

pg_attribute_noreturn()
static void
bad_cursor(const char *text, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid change cursor \"%s\": %s", text, why),
			 errhint("Use a cursor that mnemic.change_cursor() returned in this database.")));
}

void
ChangeCursorParse(const char *text, ChangeCursor *cursor)
{
	const char *p = text;
	char	   *end;
	unsigned long long xid;
	long long	taken;

	/* strtoull would take a sign and spaces: digits only. */
	if (*p < '0' || *p > '9')
		bad_cursor(text, "expected <xid>:<time>");
	errno = 0;
	xid = strtoull(p, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		bad_cursor(text, "expected <xid>:<time>");
	p = end + 1;
	errno = 0;
	taken = strtoll(p, &end, 10);
	if (errno != 0 || *end != '\0')
		bad_cursor(text, "expected <xid>:<time>");

	cursor->xmin = FullTransactionIdFromU64((uint64) xid);
	cursor->taken = (TimestampTz) taken;
	/* From another database or a restored copy: it would hide changes. */
	if (FullTransactionIdFollows(cursor->xmin, ReadNextFullTransactionId()))
		bad_cursor(text, "it names a transaction that has not started yet");
}

/*
 * SQL: mnemic.active_until(last_seen timestamptz, period interval)
 * RETURNS timestamptz: last_seen + greatest(3 * period, 10 s), with the
 * period's days as 24 h and months as 30 days, so that it is immutable
 * (indexed by run_active_until).  NULL last_seen gives NULL; a NULL or
 * negative period counts as none.  Saturates at the ends of time.
 */
Datum
mnemic_active_until(PG_FUNCTION_ARGS)
{
	TimestampTz last_seen;
	int64		window = ACTIVE_MIN_USECS;
	TimestampTz result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	last_seen = PG_GETARG_TIMESTAMPTZ(0);
	if (TIMESTAMP_NOT_FINITE(last_seen))
		PG_RETURN_TIMESTAMPTZ(last_seen);
	if (!PG_ARGISNULL(1))
	{
		Interval   *period = PG_GETARG_INTERVAL_P(1);
		int64		days;
		int64		us;
		int64		three;

		if (pg_mul_s64_overflow((int64) period->month, DAYS_PER_MONTH, &days) ||
			pg_add_s64_overflow(days, period->day, &days) ||
			pg_mul_s64_overflow(days, USECS_PER_DAY, &us) ||
			pg_add_s64_overflow(us, period->time, &us) ||
			pg_mul_s64_overflow(us, 3, &three))
		{
			/* Beyond 29,000 years either way: forever, or no period. */
			if (period->month > 0 || period->day > 0)
				PG_RETURN_TIMESTAMPTZ(DT_NOEND);
		}
		else if (three > window)
			window = three;
	}
	if (pg_add_s64_overflow(last_seen, window, &result) ||
		!IS_VALID_TIMESTAMP(result))
		PG_RETURN_TIMESTAMPTZ(DT_NOEND);
	PG_RETURN_TIMESTAMPTZ(result);
}
