/*
 * sender.h
 *	  One traced run on the wire (sender.c).
 */
#ifndef DOLON_SENDER_H
#define DOLON_SENDER_H

#include "state.h"

#include <stddef.h>
#include <stdint.h>

extern int	dolon_sender_init_types(PyObject *module, DolonState *st);

/* for the stack sampler: datagrams of the same run, under its sequence */
extern int	sender_check(PyObject *obj);
extern int	sender_speaks_v1(PyObject *sender);
extern void sender_datagram_room(PyObject *sender, size_t *room,
								 size_t *largest);
extern Py_ssize_t sender_send_datagram(PyObject *sender, uint8_t *datagram,
									   size_t len, uint16_t nmessages);

#endif							/* DOLON_SENDER_H */
