/*
 * counters.c
 *	  The listener's counters in shared memory (counters.h).
 */
#include "postgres.h"

#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "counters.h"

ListenerCounters *listener_counters = NULL;

Size
CountersShmemSize(void)
{
	return MAXALIGN(sizeof(ListenerCounters));
}

/* Called from the shmem_startup_hook with AddinShmemInitLock held. */
void
CountersShmemInit(void)
{
	bool		found;
	ListenerCounters *stats;

	stats = ShmemInitStruct("pg_mnemic counters", CountersShmemSize(), &found);
	if (!found)
	{
		pg_atomic_uint64 *counter;

		/* Every member before the mutex is a pg_atomic_uint64. */
		for (counter = &stats->datagrams_received;
			 (char *) counter < (char *) &stats->mutex;
			 counter++)
			pg_atomic_init_u64(counter, 0);
		SpinLockInit(&stats->mutex);
		stats->last_error_time = 0;
		stats->last_error[0] = '\0';
	}
	listener_counters = stats;
}

void
CountersMax(pg_atomic_uint64 *mark, uint64 v)
{
	uint64		old;

	if (listener_counters == NULL)
		return;
	old = pg_atomic_read_u64(mark);
	while (old < v)
	{
		if (pg_atomic_compare_exchange_u64(mark, &old, v))
			break;
	}
}

void
CountersSetError(const char *msg)
{
	TimestampTz now = GetCurrentTimestamp();

	if (listener_counters == NULL)
		return;
	SpinLockAcquire(&listener_counters->mutex);
	strlcpy(listener_counters->last_error, msg, sizeof(listener_counters->last_error));
	listener_counters->last_error_time = now;
	SpinLockRelease(&listener_counters->mutex);
}
