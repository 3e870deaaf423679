/*
 * db.h
 *	  A pool of libpq sessions that CivetWeb's worker threads borrow from,
 *	  one request at a time.
 *
 * A session connects lazily on first use and reconnects when it finds its
 * connection broken (the database restarted or crashed), retrying a
 * statement once if it failed before returning any row.  Every statement
 * is parameterised; errors come back as an HTTP status and a message for
 * the client.
 */
#ifndef MNEMIC_WEB_DB_H
#define MNEMIC_WEB_DB_H

#include <stdbool.h>

#include <libpq-fe.h>

typedef struct DbSession DbSession;
typedef struct DbPool DbPool;

typedef struct DbError
{
	int			http_status;
	char		sqlstate[6];
	char		message[600];
} DbError;

/* size sessions for conninfo, none connected yet; NULL if out of memory */
extern DbPool *db_pool_new(const char *conninfo, int size);
extern void db_pool_free(DbPool *pool);

/*
 * Borrow a session, waiting in line up to timeout_ms for one to come back;
 * NULL if none did.  Give it back with db_pool_release(), which throws
 * away whatever a stream of it still holds.
 */
extern DbSession *db_pool_acquire(DbPool *pool, int timeout_ms);
extern void db_pool_release(DbPool *pool, DbSession *session);

/* Is the database reachable right now? (connects if needed) */
extern bool db_ping(DbSession *session, DbError *err);

/*
 * Run a statement and return its whole result (PGRES_TUPLES_OK), or NULL
 * with *err filled.  result_format 1 asks for binary values.
 */
extern PGresult *db_query(DbSession *session, const char *sql, int nparams,
						  const char *const *values, int result_format,
						  DbError *err);

/*
 * The same with each parameter's length and format (1: binary, for bytea
 * bodies); lengths and formats may be NULL for text parameters.
 */
extern PGresult *db_query_params(DbSession *session, const char *sql,
								 int nparams, const char *const *values,
								 const int *lengths, const int *formats,
								 int result_format, DbError *err);

/*
 * Row-by-row streaming for results too large to hold: db_stream_begin runs
 * the statement and waits for its first row, so an error is known before
 * any of the response is sent.  db_stream_next then returns one row at a
 * time (a PGresult with one tuple, to PQclear) and NULL at the end, with
 * err->http_status set non-zero if the statement failed midway.
 */
extern bool db_stream_begin(DbSession *session, const char *sql, int nparams,
							const char *const *values, DbError *err);
extern PGresult *db_stream_next(DbSession *session, DbError *err);

/*
 * The WARNING the last statement raised, or NULL: a coordinator's answer
 * that leaves out a node says so.  mnemic-web sends it as the response's
 * Mnemic-Warning header, and the UI shows it.
 */
extern const char *db_warning(const DbSession *session);

/* Throw away whatever a stream still holds (after an early stop). */
extern void db_stream_cancel(DbSession *session);

#endif							/* MNEMIC_WEB_DB_H */
