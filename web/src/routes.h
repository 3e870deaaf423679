/*
 * routes.h
 *	  Which handler serves which path: the table in routes.c.
 */
#ifndef MNEMIC_WEB_ROUTES_H
#define MNEMIC_WEB_ROUTES_H

#include "config.h"

struct mg_context;

/*
 * Hand every path of the table to CivetWeb (the rest is static files).
 * Handlers see config; it must outlive the server.
 */
extern void routes_register(struct mg_context *ctx, const WebConfig *config);

#endif							/* MNEMIC_WEB_ROUTES_H */
