/*
 * profile_files.c
 *	  Profile files: a window of a run downloaded as speedscope, pprof or
 *	  folded stacks (/api/runs/{uuid}/profile), and a file uploaded as a new
 *	  run of a tracer (POST /api/import).
 *
 * Both are one call of a mnemic.* function, export_profile() or
 * import_profile(), with the file as bytea in binary so its bytes pass
 * through untouched.  Importing changes data, so it takes the same token
 * as deleting a run, and a role that may run import_profile().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "handlers.h"
#include "http.h"
#include "params.h"
#include "profile_detect.h"

/*
 * The largest upload: a profile of hours of many threads is tens of
 * megabytes; import_profile() reads up to 1 GB unpacked.
 */
#define MAX_IMPORT_BYTES	((size_t) 256 * 1024 * 1024)
#define TRACER_NAME_MAX		1024

static const char SQL_EXPORT_PROFILE[] =
"SELECT mnemic.export_profile($1::uuid, $2::timestamptz, $3::timestamptz, $4, $5)";

static const char SQL_IMPORT_PROFILE[] =
"SELECT mnemic.import_profile($1, $2, $3::bytea)";

/* What an export is sent as. */
static const struct
{
	const char *format;
	const char *content_type;
	const char *extension;
}			export_formats[] = {
	{"speedscope", "application/json", "speedscope.json"},
	{"pprof", "application/octet-stream", "pb.gz"},
	{"collapsed", "text/plain; charset=utf-8", "collapsed.txt"},
};

#define N_EXPORT_FORMATS (sizeof(export_formats) / sizeof(export_formats[0]))

static const char *const import_formats[] = {
	"vmprof", "collapsed", "speedscope", "pprof"
};

int
api_export_profile(Request *req)
{
	ProfileParams p;
	char		format[16];
	bool		has_format;
	const char *params[5];
	size_t		f;
	DbError		err;
	PGresult   *res;
	Response   *r;
	char		disposition[160];
	int			status;

	if ((status = params_read_profile(req, "cpu", &p)) != 0 ||
		(status = params_read_text(req, "format", format, sizeof(format),
								   &has_format)) != 0)
		return status;
	if (!has_format)
		snprintf(format, sizeof(format), "speedscope");
	for (f = 0; f < N_EXPORT_FORMATS; f++)
		if (strcmp(format, export_formats[f].format) == 0)
			break;
	if (f == N_EXPORT_FORMATS)
		return http_error(req, 400, "format must be one of speedscope, pprof, collapsed");
	params[0] = req->run;
	params[1] = p.has_from ? p.from : NULL;
	params[2] = p.has_to ? p.to : NULL;
	params[3] = format;
	params[4] = p.weight;
	res = db_query(req->db, SQL_EXPORT_PROFILE, 5, params, 1, &err);
	if (res == NULL)
		return http_db_error(req, &err);
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		PQclear(res);
		return http_error(req, 500, "export_profile() returned nothing");
	}
	r = http_begin(req, 200, export_formats[f].content_type);
	snprintf(disposition, sizeof(disposition),
			 "attachment; filename=\"mnemic-%s-%s.%s\"", req->run, p.weight,
			 export_formats[f].extension);
	r->content_disposition = disposition;
	response_write(r, PQgetvalue(res, 0, 0), (size_t) PQgetlength(res, 0, 0));
	PQclear(res);
	return http_finish(req);
}

/*
 * The request body, up to MAX_IMPORT_BYTES, into *body (to free).  Returns
 * 0, or the status of the error sent.
 */
static int
read_body(Request *req, char **body, size_t *len)
{
	long long	declared = req->info->content_length;
	size_t		cap = declared > 0 ? (size_t) declared : 64 * 1024;
	char	   *buf;
	int			got;

	*body = NULL;
	*len = 0;
	if (declared > (long long) MAX_IMPORT_BYTES)
		return http_error(req, 413, "the file is larger than 256 MB");
	buf = malloc(cap + 1);
	if (buf == NULL)
		return http_out_of_memory(req);
	for (;;)
	{
		if (*len == cap)
		{
			char	   *bigger;

			if (cap > MAX_IMPORT_BYTES)
			{
				free(buf);
				return http_error(req, 413, "the file is larger than 256 MB");
			}
			cap *= 2;
			bigger = realloc(buf, cap + 1);
			if (bigger == NULL)
			{
				free(buf);
				return http_out_of_memory(req);
			}
			buf = bigger;
		}
		got = mg_read(req->conn, buf + *len, cap - *len);
		if (got < 0)
		{
			free(buf);
			return http_error(req, 400, "the upload was cut short");
		}
		if (got == 0)
			break;
		*len += (size_t) got;
	}
	if (declared > 0 && *len < (size_t) declared)
	{
		free(buf);
		return http_error(req, 400, "the upload was cut short");
	}
	*body = buf;
	return 0;
}

/* The import format asked for, or the one the file is in. */
static int
choose_import_format(Request *req, const char *body, size_t len,
					 const char **format)
{
	char		asked[16];
	bool		has_format;
	int			status;
	size_t		i;

	if ((status = params_read_text(req, "format", asked, sizeof(asked), &has_format)) != 0)
		return status;
	if (!has_format || strcmp(asked, "auto") == 0)
	{
		*format = profile_detect_format((const unsigned char *) body, len);
		if (*format == NULL)
			return http_error(req, 415,
							  "not a profile file this server reads (vmprof, collapsed, "
							  "speedscope or pprof, gzipped or not); name its format with "
							  "format=");
		return 0;
	}
	for (i = 0; i < sizeof(import_formats) / sizeof(import_formats[0]); i++)
		if (strcmp(asked, import_formats[i]) == 0)
		{
			*format = import_formats[i];
			return 0;
		}
	return http_error(req, 400,
					  "format must be one of auto, vmprof, collapsed, speedscope, pprof");
}

int
api_import_profile(Request *req)
{
	char		tracer[TRACER_NAME_MAX + 1];
	bool		has_tracer;
	const char *content_type;
	const char *format = NULL;
	char	   *body;
	size_t		len;
	const char *params[3];
	int			lengths[3] = {0, 0, 0};
	int			formats[3] = {0, 0, 1};
	DbError		err;
	PGresult   *res;
	JsonWriter	w;
	int			status;

	if ((status = http_require_token(req, "importing profiles")) != 0 ||
		(status = params_read_text(req, "tracer", tracer, sizeof(tracer),
								   &has_tracer)) != 0)
		return status;
	if (!has_tracer)
		return http_error(req, 400, "tracer is required: the tracer the new run belongs to");
	content_type = mg_get_header(req->conn, "Content-Type");
	if (content_type && strncasecmp(content_type, "multipart/", 10) == 0)
		return http_error(req, 415,
						  "send the file itself as the request body "
						  "(curl --data-binary @FILE), not as a form");
	if ((status = read_body(req, &body, &len)) != 0)
		return status;
	if (len == 0)
	{
		free(body);
		return http_error(req, 400, "the request body is empty: send the profile file");
	}
	if ((status = choose_import_format(req, body, len, &format)) != 0)
	{
		free(body);
		return status;
	}
	params[0] = tracer;
	params[1] = format;
	params[2] = body;
	lengths[2] = (int) len;
	res = db_query_params(req->db, SQL_IMPORT_PROFILE, 3, params, lengths,
						  formats, 0, &err);
	free(body);
	if (res == NULL)
	{
		char		prefix[32];
		size_t		plen;
		size_t		mlen;

		/* Say which format the file was read as: it may have been guessed. */
		plen = (size_t) snprintf(prefix, sizeof(prefix), "read as %s: ", format);
		mlen = strnlen(err.message, sizeof(err.message) - 1 - plen);
		memmove(err.message + plen, err.message, mlen);
		memcpy(err.message, prefix, plen);
		err.message[plen + mlen] = '\0';
		return http_db_error(req, &err);
	}
	http_begin(req, 201, "application/json; charset=utf-8");
	json_init(&w, req->response);
	json_begin_object(&w);
	json_key(&w, "run");
	json_string(&w, PQgetvalue(res, 0, 0));
	json_key(&w, "tracer");
	json_string(&w, tracer);
	json_key(&w, "format");
	json_string(&w, format);
	json_end_object(&w);
	PQclear(res);
	return http_finish_json(req);
}
