/*
 * response.h
 *	  Buffered HTTP response bodies for mnemic-web handlers.
 *
 * A handler sets the status and content type, then writes.  Small bodies go
 * out in one piece with a Content-Length (so keep-alive works); once a body
 * outgrows the buffer the headers are sent with chunked encoding and the
 * body is streamed, so a large CSV never sits whole in memory.
 */
#ifndef MNEMIC_WEB_RESPONSE_H
#define MNEMIC_WEB_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

struct mg_connection;

#define RESPONSE_BUFFER_SIZE	(64 * 1024)

typedef struct Response
{
	struct mg_connection *conn;
	int			status;
	const char *content_type;
	const char *content_disposition;	/* NULL, or a full header value */
	const char *warning;		/* NULL, or Mnemic-Warning's value */
	bool		head_only;			/* HEAD request: headers, no body */
	bool		headers_sent;		/* then the body is chunked */
	bool		failed;				/* the client went away */
	size_t		len;
	char		buf[RESPONSE_BUFFER_SIZE];
} Response;

extern void response_init(Response *r, struct mg_connection *conn,
						  int status, const char *content_type);
extern void response_write(Response *r, const char *data, size_t len);
extern void response_puts(Response *r, const char *s);
extern void response_printf(Response *r, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* Send what is left; returns the status that went out. */
extern int	response_finish(Response *r);

/*
 * Abandon a streamed body after an error: the connection is closed without
 * the final chunk, so the client sees a truncated response rather than a
 * well-formed but incomplete one.
 */
extern void response_abort(Response *r);

#endif							/* MNEMIC_WEB_RESPONSE_H */
