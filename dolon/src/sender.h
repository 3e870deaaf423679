/*
 * sender.h
 *	  One traced run on the wire (sender.c).
 */
#ifndef DOLON_SENDER_H
#define DOLON_SENDER_H

#include "state.h"

extern int	dolon_sender_init_types(PyObject *module, DolonState *st);

#endif							/* DOLON_SENDER_H */
