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
	int			threads;
	const char *static_dir;
	const char *token;			/* enables DELETE when set */
} WebConfig;

#endif							/* MNEMIC_WEB_CONFIG_H */
