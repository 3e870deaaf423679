/*
 * api_profiles.c
 *	  A run's profile as the UI draws it: the flame graph of a window and
 *	  its diff against another, the top functions, the stack sampled at a
 *	  moment, and allocations by type.
 *
 * Each handler runs one parameterised statement that calls a mnemic.*
 * profile function (docs/sql.md, "Profiles") and writes the rows as JSON.
 * A flame graph goes out by column, with every function and file name
 * written once in "names" and referred to by index, so a tree of tens of
 * thousands of nodes stays a small answer that the browser reads into
 * typed arrays without building an object per node.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"
#include "params.h"
#include "pgjson.h"
#include "pgvalue.h"

#define DEFAULT_MAX_NODES	100000
#define MAX_MAX_NODES		1000000
#define DEFAULT_TOP			50
#define MAX_TOP				1000

static const char SQL_FLAMEGRAPH[] =
"SELECT node, parent, depth, function, file, line, self, total "
"FROM mnemic.flamegraph($1::uuid, $2::timestamptz, $3::timestamptz, $4, $5)";

/* The base window is side a, this run's window side b. */
static const char SQL_FLAMEGRAPH_DIFF[] =
"SELECT node, parent, depth, function, file, line, self_b, total_b, "
"       self_a, total_a "
"FROM mnemic.flamegraph_diff($5::uuid, $6::timestamptz, $7::timestamptz, "
"                            $1::uuid, $2::timestamptz, $3::timestamptz, $4)";

static const char SQL_TOP_FUNCTIONS[] =
"SELECT function, file, line, self, total "
"FROM mnemic.top_functions($1::uuid, $2::timestamptz, $3::timestamptz, $4, $5::int, $6)";

static const char SQL_THREADS[] =
"SELECT thread, to_json(native_ids) AS native_ids, samples, cpu_seconds, "
"       wall_seconds "
"FROM mnemic.threads($1::uuid, $2::timestamptz, $3::timestamptz)";

static const char SQL_STACK_AT[] =
"SELECT thread, sampled_at, rss_bytes, depth, function, file, line "
"FROM mnemic.stack_at($1::uuid, $2::timestamptz, $3)";

static const char SQL_ALLOCATIONS[] =
"SELECT type, bytes, count "
"FROM mnemic.allocations_by_type($1::uuid, $2::timestamptz, $3::timestamptz, "
"                                weight => $4, function => $5)";

/* Columns of a flame graph result, in both statements above. */
enum
{
	COL_NODE, COL_PARENT, COL_DEPTH, COL_FUNCTION, COL_FILE, COL_LINE,
	COL_SELF, COL_TOTAL, COL_BASE_SELF, COL_BASE_TOTAL
};

/* ---- names written once ------------------------------------------------ */

/*
 * Function and file names, each given an index the first time it is seen
 * (open addressing on a power-of-two table; names point into the result).
 */
typedef struct NameTable
{
	const char **names;			/* by index */
	int		   *lens;
	int			count;
	int		   *slots;			/* index + 1, 0 for empty */
	size_t		nslots;
} NameTable;

static uint64_t
hash_bytes(const char *s, int len)
{
	uint64_t	h = 1469598103934665603ULL;	/* FNV-1a */
	int			i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char) s[i]) * 1099511628211ULL;
	return h;
}

static bool
names_init(NameTable *t, int max_names)
{
	t->nslots = 16;
	while (t->nslots < (size_t) max_names * 2)
		t->nslots *= 2;
	t->names = malloc(sizeof(char *) * (max_names + 1));
	t->lens = malloc(sizeof(int) * (max_names + 1));
	t->slots = calloc(t->nslots, sizeof(int));
	t->count = 0;
	return t->names && t->lens && t->slots;
}

static void
names_free(NameTable *t)
{
	free(t->names);
	free(t->lens);
	free(t->slots);
}

static int
names_intern(NameTable *t, const char *s, int len)
{
	size_t		mask = t->nslots - 1;
	size_t		i = hash_bytes(s, len) & mask;

	for (;; i = (i + 1) & mask)
	{
		int			idx = t->slots[i] - 1;

		if (idx < 0)
			break;
		if (t->lens[idx] == len && memcmp(t->names[idx], s, len) == 0)
			return idx;
	}
	t->names[t->count] = s;
	t->lens[t->count] = len;
	t->slots[i] = ++t->count;
	return t->count - 1;
}

/* ---- which nodes go out -------------------------------------------------- */

static int
compare_desc(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* A node's share of its side's root, the larger of the two sides in a diff. */
static double
node_share(const PGresult *res, int row, bool diff, double root, double base_root)
{
	double		share = root > 0 ? strtod(PQgetvalue(res, row, COL_TOTAL), NULL) / root : 0;

	if (diff && base_root > 0)
	{
		double		base = strtod(PQgetvalue(res, row, COL_BASE_TOTAL), NULL) / base_root;

		if (base > share)
			share = base;
	}
	return share;
}

/*
 * Choose the rows to send, at most max_nodes of them: all when they fit,
 * else the widest.  A node is never wider than its parent, so the nodes
 * wider than the max_nodes-th widest form a tree whose every node has its
 * parent; nodes as wide as it fill what room is left, in row order, where
 * their parent is kept.  What is left out shows as the unlabelled part of
 * a parent's width.  out_index[row] becomes the row's index in the answer
 * or -1; returns how many are kept, -1 for rows that are not numbered in
 * order with parents before children, -2 when out of memory.
 */
static int
choose_nodes(const PGresult *res, bool diff, int max_nodes, int *out_index)
{
	int			nrows = PQntuples(res);
	double		root = nrows ? strtod(PQgetvalue(res, 0, COL_TOTAL), NULL) : 0;
	double		base_root = nrows && diff ? strtod(PQgetvalue(res, 0, COL_BASE_TOTAL), NULL) : 0;
	double		threshold = -1;
	int			ties = 0;		/* room for nodes exactly at the threshold */
	int			kept = 0;
	int			row;

	if (nrows > max_nodes)
	{
		double	   *shares = malloc(sizeof(double) * nrows);
		int			wider = 0;

		if (shares == NULL)
			return -2;
		for (row = 0; row < nrows; row++)
			shares[row] = node_share(res, row, diff, root, base_root);
		qsort(shares, nrows, sizeof(double), compare_desc);
		threshold = shares[max_nodes - 1];
		while (wider < nrows && shares[wider] > threshold)
			wider++;
		ties = max_nodes - wider;
		free(shares);
	}
	for (row = 0; row < nrows; row++)
	{
		int			node = atoi(PQgetvalue(res, row, COL_NODE));
		int			parent;
		double		share;

		if (node != row)
			return -1;
		out_index[row] = -1;
		if (row == 0)
		{
			out_index[row] = kept++;
			if (threshold >= 0 && node_share(res, row, diff, root, base_root) <= threshold)
				ties--;
			continue;
		}
		parent = atoi(PQgetvalue(res, row, COL_PARENT));
		if (PQgetisnull(res, row, COL_PARENT) || parent < 0 || parent >= row)
			return -1;
		if (out_index[parent] < 0)
			continue;
		if (threshold >= 0)
		{
			share = node_share(res, row, diff, root, base_root);
			if (share < threshold || (share == threshold && ties <= 0))
				continue;
			if (share == threshold)
				ties--;
		}
		out_index[row] = kept++;
	}
	return kept;
}

/* ---- writing ------------------------------------------------------------ */

/* One column of the kept rows as a JSON array of numbers (null for NULL). */
static void
write_number_column(JsonWriter *w, const char *key, const PGresult *res,
					int col, const int *out_index)
{
	int			row;

	json_key(w, key);
	json_begin_array(w);
	for (row = 0; row < PQntuples(res); row++)
	{
		if (out_index[row] < 0)
			continue;
		if (PQgetisnull(res, row, col))
			json_null(w);
		else
			json_number_text(w, PQgetvalue(res, row, col));
	}
	json_end_array(w);
}

/* The parent column, renumbered to the answer's indexes (root: -1). */
static void
write_parent_column(JsonWriter *w, const PGresult *res, const int *out_index)
{
	int			row;

	json_key(w, "parent");
	json_begin_array(w);
	for (row = 0; row < PQntuples(res); row++)
		if (out_index[row] >= 0)
			json_int(w, row == 0 ? -1 : out_index[atoi(PQgetvalue(res, row, COL_PARENT))]);
	json_end_array(w);
}

/* A name column as indexes into "names" (file: -1 for none). */
static void
write_name_column(JsonWriter *w, const char *key, const PGresult *res, int col,
				  const int *out_index, NameTable *names)
{
	int			row;

	json_key(w, key);
	json_begin_array(w);
	for (row = 0; row < PQntuples(res); row++)
	{
		if (out_index[row] < 0)
			continue;
		if (PQgetisnull(res, row, col))
			json_int(w, -1);
		else
			json_int(w, names_intern(names, PQgetvalue(res, row, col),
									 PQgetlength(res, row, col)));
	}
	json_end_array(w);
}

static void
write_window(JsonWriter *w, const char *run, const ProfileParams *p)
{
	json_key(w, "run");
	json_string(w, run);
	json_key(w, "from");
	json_string(w, p->has_from ? p->from : NULL);
	json_key(w, "to");
	json_string(w, p->has_to ? p->to : NULL);
}

/*
 * The body of a flame graph answer: the window, the weight, the kept nodes
 * by column and the names they refer to.
 */
static int
send_flamegraph(Request *req, const PGresult *res, const ProfileParams *p,
				bool diff, int max_nodes, const char *base_run,
				const ProfileParams *base)
{
	int			nrows = PQntuples(res);
	int		   *out_index = malloc(sizeof(int) * (nrows + 1));
	NameTable	names = {0};
	JsonWriter	w;
	int			kept;
	int			i;

	if (out_index == NULL || !names_init(&names, 2 * nrows + 1))
	{
		free(out_index);
		names_free(&names);
		return http_out_of_memory(req);
	}
	kept = choose_nodes(res, diff, max_nodes, out_index);
	if (kept < 0)
	{
		free(out_index);
		names_free(&names);
		return kept == -2 ? http_out_of_memory(req)
			: http_error(req, 500, "the flame graph's rows are not a tree in order");
	}

	http_begin_json(req, &w);
	json_begin_object(&w);
	write_window(&w, req->run, p);
	if (diff)
	{
		json_key(&w, "base");
		json_begin_object(&w);
		write_window(&w, base_run, base);
		json_end_object(&w);
	}
	json_key(&w, "weight");
	json_string(&w, p->weight);
	json_key(&w, "unit");
	json_string(&w, p->unit);
	json_key(&w, "nodes");
	json_int(&w, kept);
	json_key(&w, "left_out");
	json_int(&w, nrows - kept);
	write_parent_column(&w, res, out_index);
	write_number_column(&w, "depth", res, COL_DEPTH, out_index);
	write_name_column(&w, "function", res, COL_FUNCTION, out_index, &names);
	write_name_column(&w, "file", res, COL_FILE, out_index, &names);
	write_number_column(&w, "line", res, COL_LINE, out_index);
	write_number_column(&w, "self", res, COL_SELF, out_index);
	write_number_column(&w, "total", res, COL_TOTAL, out_index);
	if (diff)
	{
		write_number_column(&w, "base_self", res, COL_BASE_SELF, out_index);
		write_number_column(&w, "base_total", res, COL_BASE_TOTAL, out_index);
	}
	json_key(&w, "names");
	json_begin_array(&w);
	for (i = 0; i < names.count; i++)
		json_string_len(&w, names.names[i], names.lens[i]);
	json_end_array(&w);
	json_end_object(&w);
	free(out_index);
	names_free(&names);
	return http_finish_json(req);
}

/* max_nodes: how many nodes a flame graph answer may hold. */
static int
read_max_nodes(Request *req, int *max_nodes)
{
	char		raw[16];
	bool		present;
	int			status = params_read_text(req, "max_nodes", raw, sizeof(raw), &present);
	char	   *end;
	long		v;

	*max_nodes = DEFAULT_MAX_NODES;
	if (status != 0 || !present)
		return status;
	v = strtol(raw, &end, 10);
	if (*end != '\0' || v < 1 || v > MAX_MAX_NODES)
	{
		char		msg[80];

		snprintf(msg, sizeof(msg), "max_nodes must be a whole number from 1 to %d",
				 MAX_MAX_NODES);
		return http_error(req, 400, msg);
	}
	*max_nodes = (int) v;
	return 0;
}

/* ---- handlers ----------------------------------------------------------- */

int
api_flamegraph(Request *req)
{
	ProfileParams p;
	char		thread[THREAD_NAME_MAX + 1];
	bool		has_thread;
	int			max_nodes;
	const char *params[5];
	DbError		err;
	PGresult   *res;
	int			status;

	if ((status = params_read_profile(req, "cpu", &p)) != 0 ||
		(status = params_read_text(req, "thread", thread, sizeof(thread),
								   &has_thread)) != 0 ||
		(status = read_max_nodes(req, &max_nodes)) != 0)
		return status;
	params[0] = req->run;
	params[1] = p.has_from ? p.from : NULL;
	params[2] = p.has_to ? p.to : NULL;
	params[3] = p.weight;
	params[4] = has_thread ? thread : NULL;
	res = db_query(req->db, SQL_FLAMEGRAPH, 5, params, 0, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	status = send_flamegraph(req, res, &p, false, max_nodes, NULL, NULL);
	PQclear(res);
	return status;
}

int
api_flamegraph_diff(Request *req)
{
	ProfileParams p;
	ProfileParams base;
	char		base_run[UUID_TEXT_LEN + 1];
	bool		has_base;
	int			max_nodes;
	const char *params[7];
	DbError		err;
	PGresult   *res;
	int			status;

	if ((status = params_read_profile(req, "cpu", &p)) != 0 ||
		(status = params_read_text(req, "base", base_run, sizeof(base_run),
								   &has_base)) != 0 ||
		(status = params_read_time(req, "base_from", base.from, &base.has_from)) != 0 ||
		(status = params_read_time(req, "base_to", base.to, &base.has_to)) != 0 ||
		(status = read_max_nodes(req, &max_nodes)) != 0)
		return status;
	if (!has_base)
		snprintf(base_run, sizeof(base_run), "%s", req->run);
	else if (!param_is_uuid(base_run, strlen(base_run)))
		return http_error(req, 400, "base must be a run's uuid");
	if (strcmp(base_run, req->run) == 0 && !base.has_from && !base.has_to)
		return http_error(req, 400,
						  "give another run as base, or another window of this one "
						  "with base_from and base_to");
	params[0] = req->run;
	params[1] = p.has_from ? p.from : NULL;
	params[2] = p.has_to ? p.to : NULL;
	params[3] = p.weight;
	params[4] = base_run;
	params[5] = base.has_from ? base.from : NULL;
	params[6] = base.has_to ? base.to : NULL;
	res = db_query(req->db, SQL_FLAMEGRAPH_DIFF, 7, params, 0, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	status = send_flamegraph(req, res, &p, true, max_nodes, base_run, &base);
	PQclear(res);
	return status;
}

int
api_top_functions(Request *req)
{
	ProfileParams p;
	char		raw[16];
	bool		has_n;
	long		n = DEFAULT_TOP;
	char		n_text[16];
	char		thread[THREAD_NAME_MAX + 1];
	bool		has_thread;
	const char *params[6];
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			status;
	int			row;
	int			col;

	if ((status = params_read_profile(req, "cpu", &p)) != 0 ||
		(status = params_read_text(req, "n", raw, sizeof(raw), &has_n)) != 0 ||
		(status = params_read_text(req, "thread", thread, sizeof(thread),
								   &has_thread)) != 0)
		return status;
	if (has_n)
	{
		char	   *end;

		n = strtol(raw, &end, 10);
		if (*end != '\0' || n < 1 || n > MAX_TOP)
			return http_error(req, 400, "n must be a whole number from 1 to 1000");
	}
	snprintf(n_text, sizeof(n_text), "%ld", n);
	params[0] = req->run;
	params[1] = p.has_from ? p.from : NULL;
	params[2] = p.has_to ? p.to : NULL;
	params[3] = p.weight;
	params[4] = n_text;
	params[5] = has_thread ? thread : NULL;
	res = db_query(req->db, SQL_TOP_FUNCTIONS, 6, params, 0, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	http_begin_json(req, &w);
	json_begin_object(&w);
	write_window(&w, req->run, &p);
	json_key(&w, "weight");
	json_string(&w, p.weight);
	json_key(&w, "unit");
	json_string(&w, p.unit);
	json_key(&w, "thread");
	json_string(&w, has_thread ? thread : NULL);
	json_key(&w, "functions");
	json_begin_array(&w);
	for (row = 0; row < PQntuples(res); row++)
	{
		json_begin_object(&w);
		for (col = 0; col < PQnfields(res); col++)
		{
			json_key(&w, PQfname(res, col));
			if (PQgetisnull(res, row, col))
				json_null(&w);
			else if (col < 2)
				json_string_len(&w, PQgetvalue(res, row, col), PQgetlength(res, row, col));
			else
				json_number_text(&w, PQgetvalue(res, row, col));
		}
		json_end_object(&w);
	}
	json_end_array(&w);
	json_end_object(&w);
	PQclear(res);
	return http_finish_json(req);
}

/* A text column's value, or JSON null. */
static void
write_text_or_null(JsonWriter *w, const PGresult *res, int row, int col)
{
	if (row >= PQntuples(res) || PQgetisnull(res, row, col))
		json_null(w);
	else
		json_string_len(w, PQgetvalue(res, row, col), PQgetlength(res, row, col));
}

/* The run's threads of stack samples in the window, by name, the most first. */
int
api_threads(Request *req)
{
	ProfileParams p;
	const char *params[3];
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			status;
	int			row;

	if ((status = params_read_profile(req, "samples", &p)) != 0)
		return status;
	params[0] = req->run;
	params[1] = p.has_from ? p.from : NULL;
	params[2] = p.has_to ? p.to : NULL;
	res = db_query(req->db, SQL_THREADS, 3, params, 0, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	http_begin_json(req, &w);
	json_begin_object(&w);
	write_window(&w, req->run, &p);
	json_key(&w, "threads");
	json_begin_array(&w);
	for (row = 0; row < PQntuples(res); row++)
		pgjson_row_object(&w, res, row, -1);
	json_end_array(&w);
	json_end_object(&w);
	PQclear(res);
	return http_finish_json(req);
}

int
api_stack_at(Request *req)
{
	char		at[TIME_TEXT_LEN];
	bool		has_at;
	char		thread[THREAD_NAME_MAX + 1];
	bool		has_thread;
	const char *params[3];
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			status;
	int			row;

	if ((status = params_read_time(req, "at", at, &has_at)) != 0 ||
		(status = params_read_text(req, "thread", thread, sizeof(thread),
								   &has_thread)) != 0)
		return status;
	if (!has_at)
		return http_error(req, 400,
						  "at is required: seconds since the epoch or an ISO 8601 time");
	params[0] = req->run;
	params[1] = at;
	params[2] = has_thread ? thread : NULL;
	res = db_query(req->db, SQL_STACK_AT, 3, params, 0, &err);
	if (res == NULL)
		return http_db_error(req, &err);

	/* One row per frame, outermost first; the sample's fields repeat. */
	http_begin_json(req, &w);
	json_begin_object(&w);
	json_key(&w, "run");
	json_string(&w, req->run);
	json_key(&w, "at");
	json_string(&w, at);
	json_key(&w, "thread");
	write_text_or_null(&w, res, 0, 0);
	json_key(&w, "sampled_at");
	if (PQntuples(res) > 0)
		json_double(&w, pg_timestamptz_to_epoch(PQgetvalue(res, 0, 1)));
	else
		json_null(&w);
	json_key(&w, "rss_bytes");
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 2))
		json_number_text(&w, PQgetvalue(res, 0, 2));
	else
		json_null(&w);
	json_key(&w, "frames");
	json_begin_array(&w);
	for (row = 0; row < PQntuples(res); row++)
	{
		json_begin_object(&w);
		json_key(&w, "function");
		write_text_or_null(&w, res, row, 4);
		json_key(&w, "file");
		write_text_or_null(&w, res, row, 5);
		json_key(&w, "line");
		if (PQgetisnull(res, row, 6))
			json_null(&w);
		else
			json_number_text(&w, PQgetvalue(res, row, 6));
		json_end_object(&w);
	}
	json_end_array(&w);
	json_end_object(&w);
	PQclear(res);
	return http_finish_json(req);
}

int
api_allocations(Request *req)
{
	ProfileParams p;
	char		function[FUNCTION_NAME_MAX + 1];
	bool		has_function;
	const char *params[5];
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			status;
	int			row;

	if ((status = params_read_profile(req, "alloc", &p)) != 0 ||
		(status = params_read_text(req, "function", function, sizeof(function),
								   &has_function)) != 0)
		return status;
	if (strcmp(p.weight, "alloc") != 0 && strcmp(p.weight, "inuse") != 0)
		return http_error(req, 400, "weight must be alloc or inuse for allocations");
	params[0] = req->run;
	params[1] = p.has_from ? p.from : NULL;
	params[2] = p.has_to ? p.to : NULL;
	params[3] = p.weight;
	params[4] = has_function ? function : NULL;
	res = db_query(req->db, SQL_ALLOCATIONS, 5, params, 0, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	http_begin_json(req, &w);
	json_begin_object(&w);
	write_window(&w, req->run, &p);
	json_key(&w, "weight");
	json_string(&w, p.weight);
	json_key(&w, "function");
	json_string(&w, has_function ? function : NULL);
	json_key(&w, "types");
	json_begin_array(&w);
	for (row = 0; row < PQntuples(res); row++)
	{
		json_begin_object(&w);
		json_key(&w, "type");
		write_text_or_null(&w, res, row, 0);
		json_key(&w, "bytes");
		json_number_text(&w, PQgetvalue(res, row, 1));
		json_key(&w, "count");
		json_number_text(&w, PQgetvalue(res, row, 2));
		json_end_object(&w);
	}
	json_end_array(&w);
	json_end_object(&w);
	PQclear(res);
	return http_finish_json(req);
}
