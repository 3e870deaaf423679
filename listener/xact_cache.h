/*
 * xact_cache.h
 *	  Backend-local caches of database rows (ids of runs, metrics, frames,
 *	  stacks...) that a rollback may have removed.
 *
 * A cache registers the function that forgets it; whenever a transaction or
 * subtransaction that added an entry to any cache aborts, every registered
 * cache is forgotten, so no cache ever names a row the rollback removed.
 */
#ifndef MNEMIC_XACT_CACHE_H
#define MNEMIC_XACT_CACHE_H

typedef void (*XactCacheForget) (void);

/* Register a cache's forget function (once; later calls are ignored). */
extern void XactCacheRegister(XactCacheForget forget);

/* Call when an entry was added: an abort from now on forgets the caches. */
extern void XactCacheAdded(void);

#endif							/* MNEMIC_XACT_CACHE_H */
