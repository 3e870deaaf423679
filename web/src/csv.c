/*
 * csv.c
 *	  A run as a CSV download, streamed from mnemic.export_csv(), with no
 *	  cell a spreadsheet would run as a formula.
 *
 * Excel, LibreOffice and Google Sheets treat a cell that starts with "=",
 * "+", "-" or "@" (or with a tab or carriage return) as a formula, and a
 * formula can fetch URLs or, through DDE, start programs.  Metric names
 * come from the traced programs, so a name is anyone's text.  Following
 * OWASP's advice on CSV injection, such a cell is sent as a quoted field
 * that starts with a single quote: "'=HYPERLINK(...)" shows as the text
 * it is.  A cell that is a number in the form PostgreSQL writes float8
 * values and timestamps (-5, -1.5e-07, -Infinity, NaN) is a value, not a
 * formula, and stays as it is, so negative values stay numbers.  A field
 * that already starts with the quote is left alone, so a CSV that
 * mnemic.export_csv() has neutralised itself passes unchanged.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "csv.h"
#include "handlers.h"
#include "http.h"

static const char SQL_EXPORT_CSV[] =
"SELECT line FROM mnemic.export_csv($1::uuid) AS line";

static bool
skip_digits(const char **p, const char *end)
{
	const char *start = *p;

	while (*p < end && isdigit((unsigned char) **p))
		(*p)++;
	return *p > start;
}

/*
 * Is the text from p to end a whole number: [+-] digits [. digits]
 * [e [+-] digits], or .digits, or [+-]Infinity, or NaN, as float8out and
 * timestamptz output write them?
 */
static bool
is_number(const char *p, const char *end)
{
	size_t		len;
	bool		digits;

	if (end - p == 3 && strncasecmp(p, "NaN", 3) == 0)
		return true;
	if (p < end && (*p == '+' || *p == '-'))
		p++;
	len = end - p;
	if (len == 8 && strncasecmp(p, "Infinity", 8) == 0)
		return true;
	digits = skip_digits(&p, end);
	if (p < end && *p == '.')
	{
		p++;
		digits = skip_digits(&p, end) || digits;
	}
	if (!digits)
		return false;
	if (p < end && (*p == 'e' || *p == 'E'))
	{
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!skip_digits(&p, end))
			return false;
	}
	return p == end;
}

/* Would a spreadsheet take a cell with this text for a formula? */
static bool
is_formula(const char *text, const char *end)
{
	return text < end && *text != '\0' && strchr("=+-@\t\r", *text) != NULL &&
		!is_number(text, end);
}

/*
 * One line of CSV (RFC 4180: fields split by commas, quoted with '"',
 * a quote inside doubled), written with every formula cell neutralised.
 * Fields that need nothing are copied as they are, in runs.
 */
static void
write_neutralised_line(Response *r, const char *line, size_t len)
{
	size_t		copied = 0;		/* written up to here */
	size_t		field = 0;		/* where the current field starts */

	for (;;)
	{
		size_t		text = field;	/* the field's text, inside any quotes */
		size_t		text_end;
		size_t		next;		/* the comma after the field, or len */

		if (field < len && line[field] == '"')
		{
			text = field + 1;
			for (text_end = text; text_end < len; text_end++)
			{
				if (line[text_end] != '"')
					continue;
				if (text_end + 1 < len && line[text_end + 1] == '"')
					text_end++;
				else
					break;
			}
			for (next = text_end; next < len && line[next] != ','; next++)
				;
		}
		else
		{
			for (next = field; next < len && line[next] != ','; next++)
				;
			text_end = next;
		}

		if (is_formula(line + text, line + text_end))
		{
			size_t		i;

			response_write(r, line + copied, field - copied);
			response_write(r, "\"'", 2);
			if (text == field)
			{
				/* Unquoted: double any quote, which quoting makes special. */
				for (i = text; i < text_end; i++)
				{
					if (line[i] == '"')
						response_write(r, "\"", 1);
					response_write(r, line + i, 1);
				}
			}
			else
				response_write(r, line + text, text_end - text);
			response_write(r, "\"", 1);
			copied = next;
		}
		if (next >= len)
			break;
		field = next + 1;
	}
	response_write(r, line + copied, len - copied);
}

int
csv_send_run(Request *req, const char *uuid)
{
	const char *params[1] = {uuid};
	DbError		err;
	PGresult   *row;
	Response   *r;
	char		disposition[128];

	if (!db_stream_begin(req->db, SQL_EXPORT_CSV, 1, params, &err))
		return http_db_error(req, &err);
	r = http_begin(req, 200, "text/csv; charset=utf-8");
	snprintf(disposition, sizeof(disposition),
			 "attachment; filename=\"mnemic-%s.csv\"", uuid);
	r->content_disposition = disposition;
	while ((row = db_stream_next(req->db, &err)) != NULL)
	{
		if (!PQgetisnull(row, 0, 0))
			write_neutralised_line(r, PQgetvalue(row, 0, 0),
								   (size_t) PQgetlength(row, 0, 0));
		response_write(r, "\n", 1);
		PQclear(row);
		if (r->failed)
		{
			db_stream_cancel(req->db);
			break;
		}
	}
	if (err.http_status != 0)
	{
		/* Before the first byte went out the client still gets a JSON error. */
		if (!r->headers_sent)
			return http_db_error(req, &err);
		mg_cry(req->conn, "CSV of %s cut short: %s", uuid, err.message);
		response_abort(r);
		return 500;
	}
	return http_finish(req);
}

int
api_csv(Request *req)
{
	return csv_send_run(req, req->run);
}
