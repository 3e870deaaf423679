/*
 * access.h
 *	  Who may ask: optional authentication of every request (access.c).
 */
#ifndef MNEMIC_WEB_ACCESS_H
#define MNEMIC_WEB_ACCESS_H

#include "config.h"

struct mg_context;

/*
 * When config names a digest password file or a bearer token, make every
 * request but /healthz prove it knows one of them.  config must outlive
 * the server.
 */
extern void access_register(struct mg_context *ctx, const WebConfig *config);

#endif							/* MNEMIC_WEB_ACCESS_H */
