/*
 * response.c
 *	  Buffered HTTP response bodies: Content-Length when the body fits the
 *	  buffer, chunked streaming when it does not.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <civetweb.h>

#include "response.h"

void
response_init(Response *r, struct mg_connection *conn, int status,
			  const char *content_type)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);

	r->conn = conn;
	r->status = status;
	r->content_type = content_type;
	r->content_disposition = NULL;
	r->warning = NULL;
	r->head_only = (ri != NULL && strcmp(ri->request_method, "HEAD") == 0);
	r->headers_sent = false;
	r->failed = false;
	r->len = 0;
}

static void
send_headers(Response *r, bool chunked, size_t content_length)
{
	char		length[32];

	mg_response_header_start(r->conn, r->status);
	mg_response_header_add(r->conn, "Content-Type", r->content_type, -1);
	mg_response_header_add(r->conn, "Cache-Control", "no-store", -1);
	mg_response_header_add(r->conn, "X-Content-Type-Options", "nosniff", -1);
	if (r->content_disposition)
		mg_response_header_add(r->conn, "Content-Disposition",
							   r->content_disposition, -1);
	if (r->warning)
		mg_response_header_add(r->conn, "Mnemic-Warning", r->warning, -1);
	if (chunked)
		mg_response_header_add(r->conn, "Transfer-Encoding", "chunked", -1);
	else
	{
		snprintf(length, sizeof(length), "%zu", content_length);
		mg_response_header_add(r->conn, "Content-Length", length, -1);
	}
	mg_response_header_send(r->conn);
	r->headers_sent = true;
}

/* Push the buffer out as one chunk, sending chunked headers first if needed. */
static void
flush_chunk(Response *r)
{
	if (!r->headers_sent)
		send_headers(r, true, 0);
	if (r->len > 0 && !r->head_only && !r->failed)
	{
		if (mg_send_chunk(r->conn, r->buf, (unsigned int) r->len) < 0)
			r->failed = true;
	}
	r->len = 0;
}

void
response_write(Response *r, const char *data, size_t len)
{
	while (len > 0)
	{
		size_t		room = sizeof(r->buf) - r->len;
		size_t		n = len < room ? len : room;

		memcpy(r->buf + r->len, data, n);
		r->len += n;
		data += n;
		len -= n;
		if (r->len == sizeof(r->buf))
			flush_chunk(r);
	}
}

void
response_puts(Response *r, const char *s)
{
	response_write(r, s, strlen(s));
}

void
response_printf(Response *r, const char *fmt,...)
{
	char		small[512];
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t) n < sizeof(small))
	{
		response_write(r, small, (size_t) n);
		return;
	}
	{
		char		big[n + 1];

		va_start(ap, fmt);
		vsnprintf(big, sizeof(big), fmt, ap);
		va_end(ap);
		response_write(r, big, (size_t) n);
	}
}

int
response_finish(Response *r)
{
	if (!r->headers_sent)
	{
		send_headers(r, false, r->len);
		if (r->len > 0 && !r->head_only)
			mg_write(r->conn, r->buf, r->len);
		r->len = 0;
		return r->status;
	}
	flush_chunk(r);
	if (!r->head_only && !r->failed)
		mg_send_chunk(r->conn, "", 0);	/* the terminating chunk */
	return r->status;
}

void
response_abort(Response *r)
{
	if (!r->headers_sent)
		return;
	r->len = 0;
	if (!r->head_only && !r->failed)
	{
		/*
		 * CivetWeb offers no way to reset a connection from a handler.  A
		 * chunk-size line that is not hexadecimal breaks the client's
		 * chunked decoding, so it reports an error instead of taking the
		 * part already sent for the whole body.
		 */
		mg_write(r->conn, "!aborted\r\n", 10);
	}
	r->failed = true;
}
