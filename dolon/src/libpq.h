/*
 * libpq.h
 *	  PostgreSQL diagnostics over a lazily loaded libpq (libpq.c).
 */
#ifndef DOLON_LIBPQ_H
#define DOLON_LIBPQ_H

#include "state.h"

extern int	dolon_libpq_init_types(PyObject *module, DolonState *st);

#endif							/* DOLON_LIBPQ_H */
