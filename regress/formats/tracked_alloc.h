/*
 * tracked_alloc.h
 *	  A ScanAlloc (pg_mnemic/format_scan.h) over malloc that remembers its
 *	  blocks, so a fuzz target frees everything a scanner built after each
 *	  input, as a memory context does in the server.
 */
#ifndef MNEMIC_TRACKED_ALLOC_H
#define MNEMIC_TRACKED_ALLOC_H

#include "format_scan.h"

/* Blocks above this size are refused: scanners must cope with NULL. */
#define TRACKED_MAX_BLOCK	((size_t) 64 << 20)

extern const ScanAlloc tracked_alloc;

/* Free every block handed out. */
extern void tracked_free_all(void);

#endif							/* MNEMIC_TRACKED_ALLOC_H */
