/*
 * collapsed_scan.h
 *	  The lines of a collapsed ("folded") stacks file, and the frames of a
 *	  line: "a (a.py:1);b (a.py:7) 12" (format_collapsed.c says what the
 *	  format is and what an import makes of it).
 *
 * Plain C, no PostgreSQL headers (format_scan.h); nothing is allocated:
 * what the scanner returns points into the file.
 */
#ifndef MNEMIC_COLLAPSED_SCAN_H
#define MNEMIC_COLLAPSED_SCAN_H

#include "format_scan.h"

typedef struct CollapsedScan
{
	const char *data;
	size_t		len;
	size_t		pos;			/* start of the next line */
	int			lineno;			/* of the last line read */
} CollapsedScan;

/* A line with a count above zero: its stack text and count. */
typedef struct CollapsedLine
{
	const char *stack;			/* frames separated by ';', none empty */
	size_t		stack_len;
	int32_t		count;
	int			lineno;
} CollapsedLine;

/* One frame of a line; "function (file:line)" split when it has that form. */
typedef struct CollapsedFrame
{
	const char *function;
	size_t		function_len;
	const char *file;			/* "" when the frame is a name alone */
	size_t		file_len;
	int32_t		line;			/* 0 when not given */
} CollapsedFrame;

typedef enum CollapsedStep
{
	COLLAPSED_LINE,
	COLLAPSED_END,
	COLLAPSED_ERROR
} CollapsedStep;

extern void collapsed_scan_init(CollapsedScan *s, const char *data,
								size_t len);

/*
 * The next line that counts; blank lines and lines counting 0 are passed
 * over.  COLLAPSED_ERROR fills err with the line and the problem.
 */
extern CollapsedStep collapsed_next_line(CollapsedScan *s,
										 CollapsedLine *line, ScanError *err);

/*
 * The frames of a line, outermost first: *pos starts at 0; false after the
 * last one.
 */
extern bool collapsed_next_frame(const CollapsedLine *line, size_t *pos,
								 CollapsedFrame *frame);

#endif							/* MNEMIC_COLLAPSED_SCAN_H */
