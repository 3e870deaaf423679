/*
 * config.c
 *	  mnemic-web's options, each with an environment variable to fall back
 *	  on: those of the old deployment (FRONT_END_PORT, POSTGRES_CONN_STR)
 *	  and MNEMIC_WEB_* for the rest.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define DEFAULT_PORT	12111
/* The read-only role of sql/roles.sql (it, or a member, must be able to log in). */
#define DEFAULT_DB		"postgresql://mnemic_reader@127.0.0.1:5432/mnemic"
/*
 * CivetWeb binds a worker thread to a connection for as long as the client
 * keeps it open, idle or busy: a browser opens up to six, a scraper or a
 * script one more each, and a hostile client as many as it likes.  Threads
 * are cheap (a stack and a 16 kB buffer), so there are many, and short
 * timeouts (main.c) take them back from connections that send nothing.
 * Database sessions are dear and only needed during a statement: the
 * threads borrow them from a smaller pool (db.c).
 */
#define DEFAULT_THREADS 128
#define MAX_THREADS		1024
#define DEFAULT_DB_CONNECTIONS 16
#define MAX_DB_CONNECTIONS 256
#define DEFAULT_AUTH_REALM "mnemic"

static void
usage(FILE *out)
{
	fprintf(out,
			"usage: mnemic-web [options]\n"
			"  --port N        TCP port (env FRONT_END_PORT; default %d)\n"
			"  --listen ADDR   IPv4 address to bind (env MNEMIC_WEB_LISTEN; default 127.0.0.1)\n"
			"  --db URI        libpq connection string (env POSTGRES_CONN_STR;\n"
			"                  default %s)\n"
			"  --threads N     worker threads: connections served at once\n"
			"                  (env MNEMIC_WEB_THREADS; default %d)\n"
			"  --db-connections N  database sessions the threads share\n"
			"                  (env MNEMIC_WEB_DB_CONNECTIONS; default %d)\n"
			"  --static DIR    the UI's files (env MNEMIC_WEB_STATIC; default: static/\n"
			"                  next to the executable)\n"
			"  --token SECRET  allow DELETE /api/runs/{uuid} with header\n"
			"                  X-Mnemic-Token: SECRET (env MNEMIC_WEB_TOKEN)\n"
			"  --tls-cert FILE serve HTTPS only, with the certificate and key in\n"
			"                  this PEM file (env MNEMIC_WEB_TLS_CERT)\n"
			"  --auth-file FILE  require HTTP digest authentication against this\n"
			"                  htdigest file (env MNEMIC_WEB_AUTH_FILE)\n"
			"  --auth-realm R  the realm of --auth-file (env MNEMIC_WEB_AUTH_REALM;\n"
			"                  default %s)\n"
			"  --auth-token SECRET  require \"Authorization: Bearer SECRET\", or\n"
			"                  --auth-file's password (env MNEMIC_WEB_AUTH_TOKEN)\n",
			DEFAULT_PORT, DEFAULT_DB, DEFAULT_THREADS, DEFAULT_DB_CONNECTIONS,
			DEFAULT_AUTH_REALM);
}

static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0') ? v : fallback;
}

static int
parse_int_option(const char *what, const char *text, int min, int max)
{
	char	   *end;
	long		v = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || v < min || v > max)
	{
		fprintf(stderr, "mnemic-web: %s must be a number from %d to %d, not \"%s\"\n",
				what, min, max, text);
		exit(2);
	}
	return (int) v;
}

/* A file named by an option must be there, so a typo fails now, not later. */
static void
require_readable_file(const char *option, const char *path)
{
	if (path != NULL && access(path, R_OK) != 0)
	{
		fprintf(stderr, "mnemic-web: %s \"%s\" cannot be read\n", option, path);
		exit(2);
	}
}

/* static/ next to the executable, so a build tree runs without options. */
static const char *
default_static_dir(void)
{
	static char path[PATH_MAX];
	ssize_t		n = readlink("/proc/self/exe", path, sizeof(path) - 8);
	char	   *slash;

	if (n <= 0)
		return "static";
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash == NULL)
		return "static";
	strcpy(slash + 1, "static");
	return path;
}

void
config_from_options(WebConfig *config, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"listen", required_argument, NULL, 'l'},
		{"db", required_argument, NULL, 'd'},
		{"threads", required_argument, NULL, 't'},
		{"static", required_argument, NULL, 's'},
		{"token", required_argument, NULL, 'k'},
		{"db-connections", required_argument, NULL, 'c'},
		{"tls-cert", required_argument, NULL, 'T'},
		{"auth-file", required_argument, NULL, 'a'},
		{"auth-realm", required_argument, NULL, 'r'},
		{"auth-token", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *port = env_or("FRONT_END_PORT", NULL);
	const char *threads = env_or("MNEMIC_WEB_THREADS", NULL);
	const char *db_connections = env_or("MNEMIC_WEB_DB_CONNECTIONS", NULL);
	struct in_addr addr;
	struct stat st;
	int			c;

	config->port = DEFAULT_PORT;
	config->listen = env_or("MNEMIC_WEB_LISTEN", "127.0.0.1");
	config->db = env_or("POSTGRES_CONN_STR", DEFAULT_DB);
	config->threads = DEFAULT_THREADS;
	config->static_dir = env_or("MNEMIC_WEB_STATIC", NULL);
	config->token = env_or("MNEMIC_WEB_TOKEN", NULL);
	config->db_connections = DEFAULT_DB_CONNECTIONS;
	config->tls_cert = env_or("MNEMIC_WEB_TLS_CERT", NULL);
	config->auth_file = env_or("MNEMIC_WEB_AUTH_FILE", NULL);
	config->auth_realm = env_or("MNEMIC_WEB_AUTH_REALM", DEFAULT_AUTH_REALM);
	config->auth_token = env_or("MNEMIC_WEB_AUTH_TOKEN", NULL);

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'p':
				port = optarg;
				break;
			case 'l':
				config->listen = optarg;
				break;
			case 'd':
				config->db = optarg;
				break;
			case 't':
				threads = optarg;
				break;
			case 's':
				config->static_dir = optarg;
				break;
			case 'k':
				config->token = *optarg ? optarg : NULL;
				break;
			case 'c':
				db_connections = optarg;
				break;
			case 'T':
				config->tls_cert = *optarg ? optarg : NULL;
				break;
			case 'a':
				config->auth_file = *optarg ? optarg : NULL;
				break;
			case 'r':
				config->auth_realm = optarg;
				break;
			case 'A':
				config->auth_token = *optarg ? optarg : NULL;
				break;
			case 'h':
				usage(stdout);
				exit(0);
			default:
				usage(stderr);
				exit(2);
		}
	}
	if (optind < argc)
	{
		fprintf(stderr, "mnemic-web: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (port)
		config->port = parse_int_option("the port", port, 1, 65535);
	if (threads)
		config->threads = parse_int_option("the thread count", threads, 1, MAX_THREADS);
	if (db_connections)
		config->db_connections = parse_int_option("the database connection count",
												  db_connections, 1, MAX_DB_CONNECTIONS);
	if (inet_pton(AF_INET, config->listen, &addr) != 1)
	{
		fprintf(stderr, "mnemic-web: --listen needs an IPv4 address, not \"%s\"\n",
				config->listen);
		exit(2);
	}
	if (config->static_dir == NULL)
		config->static_dir = default_static_dir();
	if (stat(config->static_dir, &st) != 0 || !S_ISDIR(st.st_mode))
	{
		fprintf(stderr, "mnemic-web: static directory \"%s\" not found (--static DIR)\n",
				config->static_dir);
		exit(2);
	}
	require_readable_file("--tls-cert", config->tls_cert);
	require_readable_file("--auth-file", config->auth_file);
	if (config->auth_realm[0] == '\0' || strpbrk(config->auth_realm, "\":\r\n") != NULL)
	{
		fprintf(stderr, "mnemic-web: --auth-realm must be non-empty, without '\"' or ':'\n");
		exit(2);
	}
}
