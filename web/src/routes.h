/*
 * routes.h
 *	  Which handler serves which path: the table in routes.c.
 */
#ifndef MNEMIC_WEB_ROUTES_H
#define MNEMIC_WEB_ROUTES_H

#include "config.h"
#include "db.h"

struct mg_context;

/*
 * Hand every path of the table to CivetWeb (the rest is static files).
 * Handlers see config; it must outlive the server.
 */
extern void routes_register(struct mg_context *ctx, const WebConfig *config,
							DbPool *pool);

#endif							/* MNEMIC_WEB_ROUTES_H */
