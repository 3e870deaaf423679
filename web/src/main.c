/*
 * main.c
 *	  mnemic-web: the CivetWeb server's life, from its options (config.c)
 *	  to SIGTERM or SIGINT.
 *
 * A stop signal stops the server: CivetWeb finishes the requests under
 * way, then the pool closes the database connections.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

#include "access.h"
#include "config.h"
#include "db.h"
#include "routes.h"
#include "static_files.h"

static WebConfig config;

/* Set once authentication, routes and the static guard are in place. */
static int	handlers_ready;

/*
 * CivetWeb accepts connections from mg_start() on, before its handlers can
 * be registered: until they are, answer 503, so that nothing is served
 * without its authentication or guard.
 */
static int
refuse_until_ready(struct mg_connection *conn)
{
	if (__atomic_load_n(&handlers_ready, __ATOMIC_ACQUIRE))
		return 0;
	mg_send_http_error(conn, 503, "%s", "starting");
	return 503;
}

/*
 * Load tls/libssl_compat.c's library, built next to the executable, so that
 * CivetWeb finds in OpenSSL 3 the function it calls on every connection.
 * Where it cannot load (an OpenSSL that still has the function) CivetWeb
 * does without it.
 */
static void
load_libssl_compat(void)
{
	char		path[PATH_MAX];
	ssize_t		n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	char	   *slash;

	if (n <= 0)
		return;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash == NULL)
		return;
	strcpy(slash + 1, "mnemic-web-libssl.so");
	if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) == NULL)
		fprintf(stderr, "mnemic-web: not using %s: %s\n", path, dlerror());
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
	const char *options[48];
	int			n = 0;
	struct mg_callbacks callbacks;
	struct mg_context *ctx;
	DbPool	   *pool;
	sigset_t	stop_signals;
	int			sig;

	config_from_options(&config, argc, argv);

	/*
	 * Block the stop signals before CivetWeb starts its threads, so they
	 * inherit the mask and only sigwait() below sees the signals.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

	/* A trailing "s" makes CivetWeb speak TLS on the port. */
	snprintf(ports, sizeof(ports), "%s:%d%s", config.listen, config.port,
			 config.tls_cert ? "s" : "");
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

	/*
	 * A connection holds a worker thread from the moment it is accepted,
	 * whether the client sends anything or not, so give the thread back
	 * soon: the whole request header must arrive within request_timeout_ms
	 * of the connection's turn (CivetWeb counts from the start, so a header
	 * dripped a line at a time gains nothing), and a kept-alive connection
	 * must start its next request within keep_alive_timeout_ms.  The first
	 * also bounds each write to a client that stops reading.  No SO_LINGER
	 * (linger_timeout_ms unset): closing never waits for the client.  The
	 * kernel holds a burst of new connections until a thread is free.
	 */
	options[n++] = "request_timeout_ms";
	options[n++] = "10000";
	options[n++] = "keep_alive_timeout_ms";
	options[n++] = "2000";
	options[n++] = "listen_backlog";
	options[n++] = "1024";
	/* The longest header the UI and the API need, with room for cookies. */
	options[n++] = "max_request_size";
	options[n++] = "16384";
	if (config.tls_cert)
	{
		options[n++] = "ssl_certificate";
		options[n++] = config.tls_cert;
		/* TLS 1.2 and 1.3 only. */
		options[n++] = "ssl_protocol_version";
		options[n++] = "4";
	}
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
	callbacks.log_message = log_message;
	callbacks.begin_request = refuse_until_ready;

	pool = db_pool_new(config.db, config.db_connections);
	if (pool == NULL)
	{
		fprintf(stderr, "mnemic-web: out of memory\n");
		return 1;
	}
	if (config.tls_cert && !mg_check_feature(MG_FEATURES_TLS))
	{
		fprintf(stderr, "mnemic-web: this CivetWeb was built without TLS (--tls-cert)\n");
		return 1;
	}
	if (config.tls_cert)
		load_libssl_compat();
	mg_init_library(config.tls_cert ? MG_FEATURES_TLS : 0);
	ctx = mg_start(&callbacks, NULL, options);
	if (ctx == NULL)
	{
		fprintf(stderr, "mnemic-web: cannot listen on %s%s\n", ports,
				config.tls_cert ? " (or cannot use --tls-cert)" : "");
		return 1;
	}
	/* Authentication first; then the routes; then, for every other path,
	 * the guard of the static files, which CivetWeb tries last. */
	access_register(ctx, &config);
	routes_register(ctx, &config, pool);
	static_files_register(ctx, config.static_dir);
	__atomic_store_n(&handlers_ready, 1, __ATOMIC_RELEASE);

	fprintf(stderr, "mnemic-web: serving %s://%s:%d/ with %d threads and %d database "
			"connections, static files from %s%s\n",
			config.tls_cert ? "https" : "http", config.listen, config.port,
			config.threads, config.db_connections, config.static_dir,
			config.auth_file || config.auth_token ? ", authentication required" : "");

	while (sigwait(&stop_signals, &sig) != 0)
		;
	fprintf(stderr, "mnemic-web: %s, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	mg_stop(ctx);
	mg_exit_library();
	db_pool_free(pool);
	return 0;
}
