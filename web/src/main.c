/*
 * main.c
 *	  mnemic-web: the CivetWeb server's life, from its options (config.c)
 *	  to SIGTERM or SIGINT.
 *
 * A stop signal stops the server: CivetWeb finishes the requests under
 * way, and each worker thread closes its database connection on exit.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <civetweb.h>

#include "config.h"
#include "db.h"
#include "routes.h"

static WebConfig config;

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
