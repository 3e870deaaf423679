/*
 * arena.h
 *	  The scratch memory one decode allocates from.
 *
 * Plain C, no PostgreSQL headers.  The decoders never call malloc(): what a
 * decoded datagram needs beyond the datagram's own bytes comes from an arena
 * the caller owns and empties before each decode.
 */
#ifndef MNEMIC_ARENA_H
#define MNEMIC_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct DecodeArena
{
	uint8_t    *base;
	size_t		size;
	size_t		used;
} DecodeArena;

/* 8-byte aligned space for n bytes, or NULL when the arena is exhausted. */
static inline void *
arena_alloc(DecodeArena *arena, size_t n)
{
	uintptr_t	at = (uintptr_t) arena->base + arena->used;
	size_t		pad = (size_t) (-at & 7);

	if (arena->size - arena->used < pad ||
		arena->size - arena->used - pad < n)
		return NULL;
	arena->used += pad + n;
	return (void *) (at + pad);
}

#endif							/* MNEMIC_ARENA_H */
