/*
 * static_files.c
 *	  Keep CivetWeb's file serving inside --static DIR.
 *
 * Left to itself CivetWeb serves any file under its document root,
 * dotfiles included (.git, .env, editor backups), and follows symbolic
 * links wherever they point.  Before it serves a path, refuse with 404
 * any path with a component that starts with a dot, and any path that,
 * symbolic links resolved, leads out of the folder; the rest is handed
 * back to CivetWeb, which serves it as before (types, ranges, caching).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <civetweb.h>

#include "static_files.h"

/* The folder with its symbolic links resolved, set once at start. */
static char root[PATH_MAX];
static size_t root_len;

/* The directory index CivetWeb is configured with (main.c). */
#define INDEX_FILE "index.html"

static bool
has_dot_component(const char *uri)
{
	const char *p;

	for (p = uri; (p = strchr(p, '/')) != NULL; p++)
		if (p[1] == '.')
			return true;
	return false;
}

/* Is the file at path, links resolved, inside root?  (Absent: nothing to leak.) */
static bool
stays_inside(const char *path)
{
	char		real[PATH_MAX];

	if (realpath(path, real) == NULL)
		return true;
	return strncmp(real, root, root_len) == 0 &&
		(real[root_len] == '\0' || real[root_len] == '/');
}

static int
guard_static_path(struct mg_connection *conn, void *cbdata)
{
	const char *dir = cbdata;
	const char *uri = mg_get_request_info(conn)->local_uri;
	char		path[PATH_MAX + sizeof(INDEX_FILE) + 1];
	struct stat st;
	bool		allowed;

	/* CivetWeb has decoded the path and removed its dot segments. */
	allowed = !has_dot_component(uri) &&
		(size_t) snprintf(path, sizeof(path) - sizeof(INDEX_FILE) - 1, "%s%s", dir, uri)
		< sizeof(path) - sizeof(INDEX_FILE) - 1;
	if (allowed)
		allowed = stays_inside(path);
	/* A folder is served as its index file, which may be a link too. */
	if (allowed && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
	{
		strcat(path, "/" INDEX_FILE);
		allowed = stays_inside(path);
	}
	if (allowed)
		return 0;				/* CivetWeb serves it */
	mg_send_http_error(conn, 404, "%s", "Not found");
	return 404;
}

void
static_files_register(struct mg_context *ctx, const char *dir)
{
	if (realpath(dir, root) == NULL)
		snprintf(root, sizeof(root), "%s", dir);
	root_len = strlen(root);
	/* "/" itself: a root of "/" must not let "/x" count as outside. */
	if (root_len == 1)
		root_len = 0;
	mg_set_request_handler(ctx, "**", guard_static_path, (void *) dir);
}
