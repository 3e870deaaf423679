/*
 * speedscope_scan.h
 *	  A speedscope JSON file (the format of speedscope's
 *	  src/lib/file-format-spec.ts) read into arrays and checked as
 *	  speedscope's own importer checks it.
 *
 * The JSON text is parsed by PostgreSQL's JSON parser (common/jsonapi.h,
 * driven from speedscope_json.c), whose events feed the scanner here: this
 * file knows what the events must make, the parser knows JSON.  What is
 * read: shared.frames[] {name, file, line}; profiles[] of type "sampled"
 * {name, unit, startValue, endValue, samples[[frame...]], weights[]} or
 * "evented" {name, unit, startValue, endValue, events[{type "O" or "C",
 * at, frame}]}.  Other keys are passed over, whatever their value.
 *
 * Plain C, no PostgreSQL headers (format_scan.h): the arrays come from the
 * caller's ScanAlloc.
 */
#ifndef MNEMIC_SPEEDSCOPE_SCAN_H
#define MNEMIC_SPEEDSCOPE_SCAN_H

#include "format_scan.h"

/* Nesting the scanner follows at most: file, profiles, profile, samples, stack. */
#define SPEEDSCOPE_MAX_CONTEXTS	8

typedef enum SpeedscopeUnit
{
	SPEEDSCOPE_NONE,
	SPEEDSCOPE_NANOSECONDS,
	SPEEDSCOPE_MICROSECONDS,
	SPEEDSCOPE_MILLISECONDS,
	SPEEDSCOPE_SECONDS,
	SPEEDSCOPE_BYTES
} SpeedscopeUnit;

typedef struct SpeedscopeFrame
{
	char	   *name;
	char	   *file;			/* NULL when not given */
	int32_t		line;			/* 0 when not given */
} SpeedscopeFrame;

typedef struct SpeedscopeEvent
{
	double		at;
	uint32_t	frame;
	bool		open;
} SpeedscopeEvent;

typedef struct SpeedscopeProfile
{
	bool		evented;
	char	   *name;			/* NULL when not given */
	SpeedscopeUnit unit;
	double		start_value;
	double		end_value;
	int			line;			/* where it starts in the file */

	/* sampled: sample i is frames[starts[i] .. starts[i + 1]), outermost first */
	uint32_t   *frames;
	size_t		nframes;
	size_t		frames_cap;
	size_t	   *starts;			/* nsamples + 1 entries */
	int		   *sample_lines;
	size_t		nsamples;
	size_t		samples_cap;
	double	   *weights;
	size_t		nweights;
	size_t		weights_cap;

	/* evented, "at" never decreasing, opens and closes balanced */
	SpeedscopeEvent *events;
	int		   *event_lines;
	size_t		nevents;
	size_t		events_cap;
} SpeedscopeProfile;

typedef struct SpeedscopeFile
{
	SpeedscopeFrame *frames;
	size_t		nframes;
	size_t		frames_cap;
	SpeedscopeProfile *profiles;
	size_t		nprofiles;
	size_t		profiles_cap;
} SpeedscopeFile;

/* The kinds of scalar a JSON parser hands over. */
typedef enum SpeedscopeScalar
{
	SPEEDSCOPE_STRING,
	SPEEDSCOPE_NUMBER,
	SPEEDSCOPE_TRUE,
	SPEEDSCOPE_FALSE,
	SPEEDSCOPE_NULL
} SpeedscopeScalar;

/* The scanner's state; see speedscope_scan.c. */
typedef struct SpeedscopeScan
{
	const ScanAlloc *alloc;
	SpeedscopeFile file;
	int			contexts[SPEEDSCOPE_MAX_CONTEXTS];
	int			depth;
	int			skip;			/* > 0: inside a value passed over */
	int			field;			/* the key whose value comes next */
	unsigned	seen[SPEEDSCOPE_MAX_CONTEXTS];	/* keys met, per object */
	/* the frame or event being read */
	SpeedscopeFrame frame;
	SpeedscopeEvent event;
	int			event_line;
	bool		event_has_type;
	bool		event_has_at;
	bool		event_has_frame;
	bool		profile_has_type;
	bool		profile_has_unit;
	/* opened frames of the evented profile being read */
	uint32_t   *open;
	size_t		nopen;
	size_t		open_cap;
	bool		failed;
	ScanError	err;
} SpeedscopeScan;

/* The events of a JSON parser; line is where the parser is. */
extern void speedscope_scan_init(SpeedscopeScan *s, const ScanAlloc *alloc);
extern void speedscope_object_start(SpeedscopeScan *s, int line);
extern void speedscope_object_end(SpeedscopeScan *s, int line);
extern void speedscope_array_start(SpeedscopeScan *s, int line);
extern void speedscope_array_end(SpeedscopeScan *s, int line);
extern void speedscope_field(SpeedscopeScan *s, const char *name, int line);
extern void speedscope_scalar(SpeedscopeScan *s, SpeedscopeScalar kind,
							  const char *text, int line);

/* After the last event: the file, or false with the first problem. */
extern bool speedscope_scan_finish(SpeedscopeScan *s, SpeedscopeFile *out,
								   ScanError *err);

/*
 * Parse data[0..len) with PostgreSQL's JSON parser and the scanner above
 * (speedscope_json.c); false with err naming the line of the first problem.
 */
extern bool speedscope_parse(const char *data, size_t len,
							 const ScanAlloc *alloc, SpeedscopeFile *out,
							 ScanError *err);

#endif							/* MNEMIC_SPEEDSCOPE_SCAN_H */
