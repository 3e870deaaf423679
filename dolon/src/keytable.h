/*
 * keytable.h
 *	  An open-addressing hash table from a two-word key to a one-word value
 *	  (keytable.c), for the profile's interning and its sampled pointers.
 *
 * Its memory comes from the C library, never from Python's allocators: the
 * allocation sampler uses it from inside those allocators.  The key (0, 0)
 * marks an empty slot and is never stored.  Linear probing with deletion
 * by backward shift, so a lookup that misses stops at the first empty slot
 * and the table never fills with tombstones; it doubles at half full.  Not
 * thread-safe: dolon uses it with the GIL held.
 */
#ifndef DOLON_KEYTABLE_H
#define DOLON_KEYTABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct KeyEntry
{
	uint64_t	a;
	uint64_t	b;
	uint64_t	value;
} KeyEntry;

typedef struct KeyTable
{
	KeyEntry   *slots;			/* mask + 1 of them; NULL until first use */
	size_t		mask;
	size_t		count;
} KeyTable;

static inline size_t
keytable_hash(uint64_t a, uint64_t b)
{
	/* splitmix64's finaliser over both words: pointers differ in few bits */
	uint64_t	h = a ^ (b * 0x9E3779B97F4A7C15ULL);

	h ^= h >> 30;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 27;
	h *= 0x94D049BB133111EBULL;
	h ^= h >> 31;
	return (size_t) h;
}

/* The entry for (a, b), or NULL. */
static inline KeyEntry *
keytable_find(const KeyTable *t, uint64_t a, uint64_t b)
{
	size_t		i;

	if (t->count == 0)
		return NULL;
	for (i = keytable_hash(a, b) & t->mask;; i = (i + 1) & t->mask)
	{
		KeyEntry   *e = &t->slots[i];

		if (e->a == a && e->b == b)
			return e;
		if (e->a == 0 && e->b == 0)
			return NULL;
	}
}

extern KeyEntry *keytable_insert(KeyTable *t, uint64_t a, uint64_t b,
								 uint64_t value);
extern int	keytable_remove(KeyTable *t, uint64_t a, uint64_t b);
extern void keytable_clear(KeyTable *t);
extern void keytable_free(KeyTable *t);

#endif							/* DOLON_KEYTABLE_H */
