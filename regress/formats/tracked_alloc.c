/*
 * tracked_alloc.c
 *	  A ScanAlloc that frees all its blocks at once (tracked_alloc.h).
 *
 * Each block starts with a header holding its place in the list of blocks,
 * so moving a block updates its entry without a search.
 */
#include "tracked_alloc.h"

#include <stddef.h>
#include <stdlib.h>

typedef union Header
{
	size_t		index;
	max_align_t align;
} Header;

static Header **blocks;
static size_t nblocks;
static size_t blocks_cap;

static void *
tracked_resize(void *ctx, void *ptr, size_t size)
{
	Header	   *old = ptr ? (Header *) ptr - 1 : NULL;
	Header	   *moved;

	(void) ctx;
	if (size > TRACKED_MAX_BLOCK)
		return NULL;
	if (old == NULL && nblocks == blocks_cap)
	{
		size_t		cap = blocks_cap ? blocks_cap * 2 : 256;
		Header	  **grown = realloc(blocks, cap * sizeof(Header *));

		if (grown == NULL)
			return NULL;
		blocks = grown;
		blocks_cap = cap;
	}
	moved = realloc(old, sizeof(Header) + size);
	if (moved == NULL)
		return NULL;
	if (old == NULL)
		moved->index = nblocks++;
	blocks[moved->index] = moved;
	return moved + 1;
}

const ScanAlloc tracked_alloc = {tracked_resize, NULL};

void
tracked_free_all(void)
{
	for (size_t i = 0; i < nblocks; i++)
		free(blocks[i]);
	nblocks = 0;
}
