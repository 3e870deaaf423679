/*
 * speedscope_build.h
 *	  Between the two halves of the speedscope scanner: speedscope_scan.c
 *	  follows the JSON events through the file's structure, and calls these
 *	  to build the file from the values it finds; speedscope_build.c checks
 *	  them as speedscope's importer does.
 *
 * Each function records the first problem in the scanner (the scanner then
 * ignores everything after it); text is a JSON scalar as the parser hands
 * it over, line where the parser is.  Plain C, no PostgreSQL headers.
 */
#ifndef MNEMIC_SPEEDSCOPE_BUILD_H
#define MNEMIC_SPEEDSCOPE_BUILD_H

#include "speedscope_scan.h"

extern void ss_fail(SpeedscopeScan *s, int line, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* A finite number; false (and a problem) otherwise. */
extern bool ss_number(SpeedscopeScan *s, const char *text, double *v, int line);

/* A frame index: a whole number from 0 (its range is checked at the end). */
extern bool ss_frame_index(SpeedscopeScan *s, const char *text,
						   uint32_t *index, int line);

/* The profile being read. */
extern SpeedscopeProfile *ss_profile(SpeedscopeScan *s);

/* A frame of shared.frames read whole. */
extern void ss_add_frame(SpeedscopeScan *s, int line);

extern bool ss_begin_profile(SpeedscopeScan *s, int line);
extern void ss_end_profile(SpeedscopeScan *s);

/* "samples": its arrays; then each sample, and the frames of each. */
extern bool ss_begin_samples(SpeedscopeScan *s, int line);
extern bool ss_begin_sample(SpeedscopeScan *s, int line);
extern void ss_add_sample_frame(SpeedscopeScan *s, const char *text, int line);
extern void ss_end_sample(SpeedscopeScan *s);

extern void ss_add_weight(SpeedscopeScan *s, const char *text, int line);

/* An event read whole: in order of "at", closing what was opened last. */
extern void ss_add_event(SpeedscopeScan *s, int line);

/* After the file: every frame index in range. */
extern void ss_check_frames(SpeedscopeScan *s);

#endif							/* MNEMIC_SPEEDSCOPE_BUILD_H */
