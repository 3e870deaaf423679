/*
 * encode.h
 *	  The encode_* functions of dolon._core, for the test vectors (encode.c).
 */
#ifndef DOLON_ENCODE_H
#define DOLON_ENCODE_H

#include "compat.h"

extern PyMethodDef dolon_encode_methods[];
extern PyMethodDef dolon_encode_profile_methods[];	/* encode_profile.c */

#endif							/* DOLON_ENCODE_H */
