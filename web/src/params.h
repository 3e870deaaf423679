/*
 * params.h
 *	  Request parameters, read and checked before they reach SQL.
 *
 * Values are still passed to PostgreSQL as parameters, never spliced into
 * SQL; checking them here gives a clear 400 for nonsense without a round
 * trip, and bounds what a request can ask for.
 *
 * The params_read_* functions return 0 when the parameters are good, and
 * otherwise the status of the error response they sent.
 */
#ifndef MNEMIC_WEB_PARAMS_H
#define MNEMIC_WEB_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

#define TIME_PARAM_MAX		64
#define METRIC_NAME_MAX		1024	/* docs/protocol.md: names <= 1,024 bytes */
#define MAX_METRICS_PER_REQUEST 64
#define MAX_POINTS			100000
#define DEFAULT_POINTS		1000

/* Room for a time parameter as text PostgreSQL reads as a timestamptz. */
#define TIME_TEXT_LEN		(TIME_PARAM_MAX + 8)
/* Room for points as text. */
#define POINTS_TEXT_LEN		16

/* What /series is asked for, as the statement's text parameters. */
typedef struct SeriesParams
{
	char		from[TIME_TEXT_LEN];
	char		to[TIME_TEXT_LEN];
	bool		has_from;
	bool		has_to;
	char		points[POINTS_TEXT_LEN];
	char		method[16];
} SeriesParams;

/* What the profile endpoints are asked for, as the statement's parameters. */
#define THREAD_NAME_MAX		1024
#define FUNCTION_NAME_MAX	4096
#define WEIGHT_NAME_MAX		16

typedef struct ProfileParams
{
	char		from[TIME_TEXT_LEN];
	char		to[TIME_TEXT_LEN];
	bool		has_from;
	bool		has_to;
	char		weight[WEIGHT_NAME_MAX];
	const char *unit;			/* what the weight's values count */
} ProfileParams;

/* Names and filter texts of the listing: tracer names are <= 1,024 bytes. */
#define LISTING_TEXT_MAX	1024
#define CURSOR_TEXT_MAX		48
#define DEFAULT_PAGE		100
#define MAX_PAGE			1000

/*
 * What /api/tracers and /api/runs are asked for, each as the text of a
 * statement parameter: NULL when absent (the SQL functions then ignore it).
 */
typedef struct ListingParams
{
	const char *name;			/* tracers: part of the name; runs: the tracer */
	const char *host;
	const char *program;
	const char *state;
	const char *from;
	const char *to;
	const char *changed_since;
	const char *before;			/* runs: the keyset of the page */
	const char *before_run;
	const char *unnamed;		/* runs: "true" for the runs without a tracer */
	long		limit;			/* runs: rows in a page */
	/* the storage the pointers above point into */
	char		name_buf[LISTING_TEXT_MAX + 1];
	char		host_buf[LISTING_TEXT_MAX + 1];
	char		program_buf[LISTING_TEXT_MAX + 1];
	char		state_buf[16];
	char		from_buf[TIME_TEXT_LEN];
	char		to_buf[TIME_TEXT_LEN];
	char		cursor_buf[CURSOR_TEXT_MAX + 1];
	char		before_buf[TIME_TEXT_LEN];
	char		before_run_buf[UUID_TEXT_LEN + 1];
} ListingParams;

/*
 * The filters both listings take (host, program, state, from, to,
 * changed_since), and name_param into p->name.
 */
extern int	params_read_listing(Request *req, const char *name_param,
								ListingParams *p);

/* The paging of /api/runs: before, before_run, limit and unnamed. */
extern int	params_read_page(Request *req, ListingParams *p);

/* Is s a UUID in canonical text form (either case)? */
extern bool param_is_uuid(const char *s, size_t len);

/*
 * An optional time parameter into out[TIME_TEXT_LEN]; *present says
 * whether it was given.
 */
extern int	params_read_time(Request *req, const char *name, char *out,
							 bool *present);

/*
 * from, to (optional) and weight of the profile endpoints; weight defaults
 * to default_weight and must be one of those mnemic.flamegraph() knows.
 */
extern int	params_read_profile(Request *req, const char *default_weight,
								ProfileParams *p);

/*
 * An optional text parameter of at most buflen - 1 bytes into buf;
 * *present says whether it was given (and not empty).
 */
extern int	params_read_text(Request *req, const char *name, char *buf,
							 size_t buflen, bool *present);

/* from, to, points and method of /series, each optional. */
extern int	params_read_series(Request *req, SeriesParams *p);

/*
 * The metric parameters, in order, as one text[] literal to free; NULL when
 * there are none.
 */
extern int	params_read_metric_names(Request *req, char **array);

/* since, which /tail requires, into since[TIME_TEXT_LEN]. */
extern int	params_read_since(Request *req, char *since);

/* points into points[POINTS_TEXT_LEN]; DEFAULT_POINTS when absent. */
extern int	params_read_points(Request *req, char *points);

/*
 * uuid, which dolon 0.2.0's endpoints take as a query parameter, into
 * uuid[UUID_TEXT_LEN + 1].
 */
extern int	params_read_uuid(Request *req, char *uuid);

#endif							/* MNEMIC_WEB_PARAMS_H */
