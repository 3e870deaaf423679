/*
 * access.c
 *	  Optional authentication for the UI and the API.
 *
 * Two credentials, either of which lets a request in:
 *
 *	 --auth-file FILE	 HTTP digest authentication against a password file
 *						 in CivetWeb's (and Apache htdigest's) format,
 *						 user:realm:md5(user:realm:password); browsers ask
 *						 for the password themselves;
 *	 --auth-token SECRET "Authorization: Bearer SECRET", for scripts and
 *						 scrapers that do not speak digest (Prometheus).
 *
 * The check is ours rather than CivetWeb's global_auth_file, which lets
 * every request through when the file cannot be opened: here a missing or
 * unreadable file refuses everyone.  /healthz stays open so that load
 * balancers and container health checks need no password; it tells only
 * whether the database answers.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "access.h"

/* Compare without a timing that depends on where the first difference is. */
static bool
same_secret(const char *given, size_t given_len, const char *secret)
{
	size_t		len = strlen(secret);
	unsigned char diff = 0;
	size_t		i;

	if (given_len != len)
		return false;
	for (i = 0; i < len; i++)
		diff |= (unsigned char) given[i] ^ (unsigned char) secret[i];
	return diff == 0;
}

static bool
has_bearer_token(struct mg_connection *conn, const char *token)
{
	const char *header = mg_get_header(conn, "Authorization");
	size_t		len;

	if (token == NULL || header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	header += 7;
	while (*header == ' ')
		header++;
	len = strlen(header);
	while (len > 0 && header[len - 1] == ' ')
		len--;
	return same_secret(header, len, token);
}

static bool
has_digest_password(struct mg_connection *conn, const WebConfig *config)
{
	return config->auth_file != NULL &&
		mg_check_digest_access_authentication(conn, config->auth_realm,
											  config->auth_file) > 0;
}

/* The 401 when only a bearer token would do. */
static void
refuse_without_token(struct mg_connection *conn)
{
	static const char body[] =
		"{\"error\": {\"status\": 401, \"message\": \"a bearer token is required\"}}\n";
	char		length[16];

	snprintf(length, sizeof(length), "%zu", sizeof(body) - 1);
	mg_response_header_start(conn, 401);
	mg_response_header_add(conn, "WWW-Authenticate", "Bearer", -1);
	mg_response_header_add(conn, "Content-Type", "application/json; charset=utf-8", -1);
	mg_response_header_add(conn, "Content-Length", length, -1);
	mg_response_header_send(conn);
	mg_write(conn, body, sizeof(body) - 1);
}

/* CivetWeb asks this before serving any path: 1 lets the request in. */
static int
authorize_request(struct mg_connection *conn, void *cbdata)
{
	const WebConfig *config = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);

	if (strcmp(ri->local_uri, "/healthz") == 0)
		return 1;
	if (has_bearer_token(conn, config->auth_token) ||
		has_digest_password(conn, config))
		return 1;

	if (config->auth_file != NULL)
		mg_send_digest_access_authentication_request(conn, config->auth_realm);
	else
		refuse_without_token(conn);
	return 0;
}

void
access_register(struct mg_context *ctx, const WebConfig *config)
{
	if (config->auth_file == NULL && config->auth_token == NULL)
		return;
	mg_set_auth_handler(ctx, "**", authorize_request, (void *) config);
}
