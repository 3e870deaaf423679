/*
 * config.h
 *	  mnemic-web's settings, from its options and environment.
 */
#ifndef MNEMIC_WEB_CONFIG_H
#define MNEMIC_WEB_CONFIG_H

typedef struct WebConfig
{
	int			port;
	const char *listen;			/* IPv4 address to bind */
	const char *db;				/* libpq connection string or URI */
	int			threads;		/* connections served at once */
	int			db_connections; /* database sessions the threads share */
	const char *static_dir;
	const char *token;			/* enables DELETE when set */
	const char *tls_cert;		/* PEM with certificate and key: HTTPS only */
	const char *auth_file;		/* digest passwords, user:realm:hash */
	const char *auth_realm;
	const char *auth_token;		/* Authorization: Bearer, for scripts */
} WebConfig;

/*
 * Fill config from the command line and the environment.  Exits, after
 * saying why on stderr, on a bad option (status 2) or --help (status 0).
 */
extern void config_from_options(WebConfig *config, int argc, char **argv);

#endif							/* MNEMIC_WEB_CONFIG_H */
