/*
 * keytable.c
 *	  Growing, inserting into and deleting from a KeyTable.
 */
#include "keytable.h"

#include <stdlib.h>
#include <string.h>

#define KEYTABLE_FIRST_SIZE 256

/* Place an entry known to be absent, in a table with room. */
static KeyEntry *
place(KeyTable *t, uint64_t a, uint64_t b, uint64_t value)
{
	size_t		i;

	for (i = keytable_hash(a, b) & t->mask;; i = (i + 1) & t->mask)
	{
		KeyEntry   *e = &t->slots[i];

		if (e->a == 0 && e->b == 0)
		{
			e->a = a;
			e->b = b;
			e->value = value;
			t->count++;
			return e;
		}
	}
}

static int
grow(KeyTable *t)
{
	size_t		size = t->slots == NULL ? KEYTABLE_FIRST_SIZE : (t->mask + 1) * 2;
	KeyEntry   *old = t->slots;
	size_t		old_size = old == NULL ? 0 : t->mask + 1;
	size_t		i;

	t->slots = calloc(size, sizeof(KeyEntry));
	if (t->slots == NULL)
	{
		t->slots = old;
		return -1;
	}
	t->mask = size - 1;
	t->count = 0;
	for (i = 0; i < old_size; i++)
	{
		if (old[i].a != 0 || old[i].b != 0)
			place(t, old[i].a, old[i].b, old[i].value);
	}
	free(old);
	return 0;
}

/*
 * Insert (a, b) -> value, or set the value if (a, b) is there.  Returns the
 * entry, or NULL when memory ran out (the table is unchanged then).
 */
KeyEntry *
keytable_insert(KeyTable *t, uint64_t a, uint64_t b, uint64_t value)
{
	KeyEntry   *e = keytable_find(t, a, b);

	if (e != NULL)
	{
		e->value = value;
		return e;
	}
	if ((t->slots == NULL || (t->count + 1) * 2 > t->mask + 1) && grow(t) < 0)
		return NULL;
	return place(t, a, b, value);
}

/*
 * Remove (a, b); returns whether it was there.  The entries after it in
 * its probe run move back into the hole, each as far as its own home slot
 * allows, so every remaining entry stays reachable from its home.
 */
int
keytable_remove(KeyTable *t, uint64_t a, uint64_t b)
{
	KeyEntry   *e = keytable_find(t, a, b);
	size_t		hole,
				i;

	if (e == NULL)
		return 0;
	hole = (size_t) (e - t->slots);
	for (i = (hole + 1) & t->mask;; i = (i + 1) & t->mask)
	{
		KeyEntry   *next = &t->slots[i];
		size_t		home;

		if (next->a == 0 && next->b == 0)
			break;
		home = keytable_hash(next->a, next->b) & t->mask;
		/* may next move to the hole?  Only if its home is not in (hole, i] */
		if (((i - home) & t->mask) >= ((i - hole) & t->mask))
		{
			t->slots[hole] = *next;
			hole = i;
		}
	}
	memset(&t->slots[hole], 0, sizeof(KeyEntry));
	t->count--;
	return 1;
}

void
keytable_clear(KeyTable *t)
{
	if (t->slots != NULL)
		memset(t->slots, 0, (t->mask + 1) * sizeof(KeyEntry));
	t->count = 0;
}

void
keytable_free(KeyTable *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->count = 0;
}
