/*
 * main.c
 *	  mnemic-web: options, signals, and the CivetWeb server's life.
 *
 * Options fall back to the environment variables of the old deployment
 * (FRONT_END_PORT, POSTGRES_CONN_STR) and to MNEMIC_WEB_* for the rest.
 * SIGTERM or SIGINT stops the server: CivetWeb finishes the requests under
 * way, and each worker thread closes its database connection on exit.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <civetweb.h>

#include "config.h"
#include "db.h"
#include "routes.h"

#define DEFAULT_PORT	12111
/* The read-only role of sql/roles.sql (it, or a member, must be able to log in). */
#define DEFAULT_DB		"postgresql://mnemic_reader@127.0.0.1:5432/mnemic"
/*
 * CivetWeb binds a worker thread to a connection for as long as it is kept
 * alive, and a browser opens up to six: fewer threads than that stall the
 * UI's parallel requests.  Database sessions are opened lazily, so idle
 * threads cost no connection.
 */
#define DEFAULT_THREADS 16
#define MAX_THREADS		64

static WebConfig config;

static void
usage(FILE *out)
{
	fprintf(out,
			"usage: mnemic-web [options]\n"
			"  --port N        TCP port (env FRONT_END_PORT; default %d)\n"
			"  --listen ADDR   IPv4 address to bind (env MNEMIC_WEB_LISTEN; default 127.0.0.1)\n"
			"  --db URI        libpq connection string (env POSTGRES_CONN_STR;\n"
			"                  default %s)\n"
			"  --threads N     worker threads, one database connection each\n"
			"                  (env MNEMIC_WEB_THREADS; default %d)\n"
			"  --static DIR    the UI's files (env MNEMIC_WEB_STATIC; default: static/\n"
			"                  next to the executable)\n"
			"  --token SECRET  allow DELETE /api/runs/{uuid} with header\n"
			"                  X-Mnemic-Token: SECRET (env MNEMIC_WEB_TOKEN)\n",
			DEFAULT_PORT, DEFAULT_DB, DEFAULT_THREADS);
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

static void
parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"listen", required_argument, NULL, 'l'},
		{"db", required_argument, NULL, 'd'},
		{"threads", required_argument, NULL, 't'},
		{"static", required_argument, NULL, 's'},
		{"token", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *port = env_or("FRONT_END_PORT", NULL);
	const char *threads = env_or("MNEMIC_WEB_THREADS", NULL);
	struct in_addr addr;
	struct stat st;
	int			c;

	config.port = DEFAULT_PORT;
	config.listen = env_or("MNEMIC_WEB_LISTEN", "127.0.0.1");
	config.db = env_or("POSTGRES_CONN_STR", DEFAULT_DB);
	config.threads = DEFAULT_THREADS;
	config.static_dir = env_or("MNEMIC_WEB_STATIC", NULL);
	config.token = env_or("MNEMIC_WEB_TOKEN", NULL);

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'p':
				port = optarg;
				break;
			case 'l':
				config.listen = optarg;
				break;
			case 'd':
				config.db = optarg;
				break;
			case 't':
				threads = optarg;
				break;
			case 's':
				config.static_dir = optarg;
				break;
			case 'k':
				config.token = *optarg ? optarg : NULL;
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
		config.port = parse_int_option("the port", port, 1, 65535);
	if (threads)
		config.threads = parse_int_option("the thread count", threads, 1, MAX_THREADS);
	if (inet_pton(AF_INET, config.listen, &addr) != 1)
	{
		fprintf(stderr, "mnemic-web: --listen needs an IPv4 address, not \"%s\"\n",
				config.listen);
		exit(2);
	}
	if (config.static_dir == NULL)
		config.static_dir = default_static_dir();
	if (stat(config.static_dir, &st) != 0 || !S_ISDIR(st.st_mode))
	{
		fprintf(stderr, "mnemic-web: static directory \"%s\" not found (--static DIR)\n",
				config.static_dir);
		exit(2);
	}
}

static void *
init_thread(const struct mg_context *ctx, int thread_type)
{
	(void) ctx;
	/* Only the workers that serve requests need a database session. */
	if (thread_type != 1)
		return NULL;
	return db_session_new(config.db);
}

static void
exit_thread(const struct mg_context *ctx, int thread_type, void *session)
{
	(void) ctx;
	if (thread_type == 1)
		db_session_free(session);
}

static int
log_message(const struct mg_connection *conn, const char *message)
{
	(void) conn;
	fprintf(stderr, "mnemic-web: %s\n", message);
	return 1;
}

int
main(int argc, char **argv)
{
	char		ports[64];
	char		threads[16];
	const char *options[32];
	int			n = 0;
	struct mg_callbacks callbacks;
	struct mg_context *ctx;
	sigset_t	stop_signals;
	int			sig;

	parse_options(argc, argv);

	/*
	 * Block the stop signals before CivetWeb starts its threads, so they
	 * inherit the mask and only sigwait() below sees the signals.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

	snprintf(ports, sizeof(ports), "%s:%d", config.listen, config.port);
	snprintf(threads, sizeof(threads), "%d", config.threads);
	options[n++] = "listening_ports";
	options[n++] = ports;
	options[n++] = "num_threads";
	options[n++] = threads;
	options[n++] = "document_root";
	options[n++] = config.static_dir;
	options[n++] = "enable_directory_listing";
	options[n++] = "no";
	options[n++] = "index_files";
	options[n++] = "index.html";
	options[n++] = "enable_keep_alive";
	options[n++] = "yes";
	/* Headers and body go out in separate writes: do not let Nagle hold
	 * the second back waiting for the client's delayed ACK. */
	options[n++] = "tcp_nodelay";
	options[n++] = "1";
	options[n++] = "request_timeout_ms";
	options[n++] = "60000";
	options[n++] = "static_file_max_age";
	options[n++] = "0";
	/* The UI needs nothing from elsewhere; say so to the browser. */
	options[n++] = "additional_header";
	options[n++] = "X-Content-Type-Options: nosniff\r\n"
		"Content-Security-Policy: default-src 'self'; "
		"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
		"object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
	options[n++] = NULL;

	memset(&callbacks, 0, sizeof(callbacks));
	callbacks.init_thread = init_thread;
	callbacks.exit_thread = exit_thread;
	callbacks.log_message = log_message;

	mg_init_library(0);
	ctx = mg_start(&callbacks, NULL, options);
	if (ctx == NULL)
	{
		fprintf(stderr, "mnemic-web: cannot listen on %s\n", ports);
		return 1;
	}
	routes_register(ctx, &config);

	fprintf(stderr, "mnemic-web: serving http://%s/ with %d threads, static files from %s\n",
			ports, config.threads, config.static_dir);

	while (sigwait(&stop_signals, &sig) != 0)
		;
	fprintf(stderr, "mnemic-web: %s, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	mg_stop(ctx);
	mg_exit_library();
	return 0;
}
