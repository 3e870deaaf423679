/*
 * profile_detect.h
 *	  Which profile format a file is in, from its first bytes, for uploads
 *	  that do not say.
 */
#ifndef MNEMIC_WEB_PROFILE_DETECT_H
#define MNEMIC_WEB_PROFILE_DETECT_H

#include <stddef.h>

/*
 * "vmprof", "collapsed", "speedscope" or "pprof" for a file that starts
 * like one (looking inside gzip when it is gzipped), or NULL when it looks
 * like none of them.
 */
extern const char *profile_detect_format(const unsigned char *data, size_t len);

#endif							/* MNEMIC_WEB_PROFILE_DETECT_H */
