/*
 * xact_cache.c
 *	  Forgetting backend-local caches when what they name is rolled back
 *	  (xact_cache.h).
 */
#include "postgres.h"

#include "access/xact.h"

#include "xact_cache.h"

#define MAX_CACHES	8

static XactCacheForget caches[MAX_CACHES];
static int	ncaches = 0;
static bool added_in_xact = false;

static void
forget_all(void)
{
	for (int i = 0; i < ncaches; i++)
		caches[i] ();
	added_in_xact = false;
}

static void
xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		if (added_in_xact)
			forget_all();
	}
	else if (event == XACT_EVENT_COMMIT ||
			 event == XACT_EVENT_PARALLEL_COMMIT ||
			 event == XACT_EVENT_PREPARE)
		added_in_xact = false;
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && added_in_xact)
		forget_all();
}

void
XactCacheRegister(XactCacheForget forget)
{
	for (int i = 0; i < ncaches; i++)
		if (caches[i] == forget)
			return;
	if (ncaches == 0)
	{
		RegisterXactCallback(xact_callback, NULL);
		RegisterSubXactCallback(subxact_callback, NULL);
	}
	if (ncaches == MAX_CACHES)
		elog(ERROR, "pg_mnemic: too many caches");
	caches[ncaches++] = forget;
}

void
XactCacheAdded(void)
{
	added_in_xact = true;
}
