/*
 * static_files.h
 *	  The UI's files, served by CivetWeb from --static DIR, and only those.
 */
#ifndef MNEMIC_WEB_STATIC_FILES_H
#define MNEMIC_WEB_STATIC_FILES_H

struct mg_context;

/*
 * Guard every path that no route serves: register after the routes, since
 * CivetWeb tries patterns in the order they were registered.  dir must be
 * the document_root CivetWeb was started with, and outlive the server.
 */
extern void static_files_register(struct mg_context *ctx, const char *dir);

#endif							/* MNEMIC_WEB_STATIC_FILES_H */
