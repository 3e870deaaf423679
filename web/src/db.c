/*
 * db.c
 *	  libpq sessions: a pool the worker threads borrow from, lazy connect,
 *	  reconnect, errors as HTTP.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"

struct DbSession
{
	const char *conninfo;		/* shared by all sessions, not owned */
	PGconn	   *conn;
	PGresult   *pending;		/* first row of a stream, already fetched */
	bool		streaming;
	char		warning[512];	/* the last statement's WARNING, or "" */
	DbSession  *next_free;		/* in the pool's free list */
};

/* A thread waiting for a session, in the pool's queue. */
typedef struct DbWaiter
{
	pthread_cond_t wake;
	DbSession  *given;			/* the session handed over, or NULL */
	struct DbWaiter *next;
} DbWaiter;

/*
 * Worker threads outnumber sessions: a thread holds a connection open by a
 * client for as long as the client keeps it, idle or not, while a session
 * is only needed during a statement.  Sessions go to waiting threads in
 * the order they asked (a release hands its session straight to the first
 * waiter), so a new client queues behind the requests already waiting and
 * never behind every request that arrives after it.
 */
struct DbPool
{
	pthread_mutex_t lock;
	DbSession  *free;
	DbWaiter   *first_waiter;
	DbWaiter   *last_waiter;
	int			size;
	DbSession  *sessions[];
};

/*
 * Settings every session runs with: ISO dates in UTC so timestamps have one
 * text form, and a ceiling on any statement so a runaway query cannot hold a
 * session for ever.
 */
#define SESSION_OPTIONS \
	"-c DateStyle=ISO,YMD -c TimeZone=UTC -c IntervalStyle=iso_8601 " \
	"-c statement_timeout=30000"

/* Seconds to wait for the server when connecting, unless the URI says. */
#define CONNECT_TIMEOUT "5"

static DbSession *
db_session_new(const char *conninfo)
{
	DbSession  *s = calloc(1, sizeof(DbSession));

	if (s != NULL)
		s->conninfo = conninfo;
	return s;
}

static void
db_session_free(DbSession *s)
{
	if (s == NULL)
		return;
	if (s->pending)
		PQclear(s->pending);
	if (s->conn)
		PQfinish(s->conn);
	free(s);
}

DbPool *
db_pool_new(const char *conninfo, int size)
{
	DbPool	   *pool = calloc(1, sizeof(DbPool) + size * sizeof(DbSession *));
	int			i;

	if (pool == NULL)
		return NULL;
	pthread_mutex_init(&pool->lock, NULL);
	pool->size = size;
	for (i = 0; i < size; i++)
	{
		pool->sessions[i] = db_session_new(conninfo);
		if (pool->sessions[i] == NULL)
		{
			db_pool_free(pool);
			return NULL;
		}
		pool->sessions[i]->next_free = pool->free;
		pool->free = pool->sessions[i];
	}
	return pool;
}

void
db_pool_free(DbPool *pool)
{
	int			i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->size; i++)
		db_session_free(pool->sessions[i]);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

static void
remove_waiter(DbPool *pool, DbWaiter *w)
{
	DbWaiter  **link = &pool->first_waiter;
	DbWaiter   *prev = NULL;

	while (*link != NULL && *link != w)
	{
		prev = *link;
		link = &(*link)->next;
	}
	if (*link == NULL)
		return;
	*link = w->next;
	if (pool->last_waiter == w)
		pool->last_waiter = prev;
}

DbSession *
db_pool_acquire(DbPool *pool, int timeout_ms)
{
	DbWaiter	me;
	struct timespec deadline;
	DbSession  *s;

	pthread_mutex_lock(&pool->lock);
	if (pool->free != NULL && pool->first_waiter == NULL)
	{
		s = pool->free;
		pool->free = s->next_free;
		pthread_mutex_unlock(&pool->lock);
		return s;
	}

	/* Queue up; a release hands over its session by setting me.given. */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L)
	{
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	{
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&me.wake, &attr);
		pthread_condattr_destroy(&attr);
	}
	me.given = NULL;
	me.next = NULL;
	if (pool->last_waiter)
		pool->last_waiter->next = &me;
	else
		pool->first_waiter = &me;
	pool->last_waiter = &me;

	while (me.given == NULL)
	{
		if (pthread_cond_timedwait(&me.wake, &pool->lock, &deadline) == ETIMEDOUT &&
			me.given == NULL)
		{
			remove_waiter(pool, &me);
			break;
		}
	}
	s = me.given;
	pthread_mutex_unlock(&pool->lock);
	pthread_cond_destroy(&me.wake);
	return s;
}

void
db_pool_release(DbPool *pool, DbSession *s)
{
	DbWaiter   *w;

	if (s == NULL)
		return;
	/* A stream left open would hand its rows to the next borrower. */
	db_stream_cancel(s);
	pthread_mutex_lock(&pool->lock);
	w = pool->first_waiter;
	if (w != NULL)
	{
		pool->first_waiter = w->next;
		if (pool->last_waiter == w)
			pool->last_waiter = NULL;
		w->given = s;
		pthread_cond_signal(&w->wake);
	}
	else
	{
		s->next_free = pool->free;
		pool->free = s;
	}
	pthread_mutex_unlock(&pool->lock);
}

static void
set_error(DbError *err, int status, const char *sqlstate, const char *msg)
{
	size_t		len;

	err->http_status = status;
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate ? sqlstate : "");
	snprintf(err->message, sizeof(err->message), "%s", msg ? msg : "");
	/* libpq messages end in a newline; JSON clients do not want it. */
	len = strlen(err->message);
	while (len > 0 && (err->message[len - 1] == '\n' || err->message[len - 1] == ' '))
		err->message[--len] = '\0';
}

/*
 * Keep the primary message of a WARNING the statement raised (a
 * coordinator's node that did not answer: the answer is partial), as
 * printable ASCII for an HTTP header; other notices are dropped, as
 * libpq's default receiver would only print them on stderr.
 */
static void
keep_warning(void *arg, const PGresult *res)
{
	DbSession  *s = arg;
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	size_t		i;

	if (severity == NULL || strcmp(severity, "WARNING") != 0 || primary == NULL ||
		s->warning[0] != '\0')
		return;
	for (i = 0; primary[i] != '\0' && i < sizeof(s->warning) - 1; i++)
		s->warning[i] = (primary[i] >= 0x20 && primary[i] < 0x7f) ? primary[i] : '?';
	s->warning[i] = '\0';
}

const char *
db_warning(const DbSession *s)
{
	return s != NULL && s->warning[0] != '\0' ? s->warning : NULL;
}

/* Make sure the session holds a working connection. */
static bool
ensure_connected(DbSession *s, DbError *err)
{
	static const char *const keys[] = {
		"connect_timeout", "dbname", "options", "fallback_application_name", NULL
	};
	const char *values[] = {
		CONNECT_TIMEOUT, s->conninfo, SESSION_OPTIONS, "mnemic-web", NULL
	};

	if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK)
		return true;
	if (s->conn != NULL)
		PQfinish(s->conn);
	s->conn = PQconnectdbParams(keys, values, 1);
	if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK)
	{
		char		msg[600];

		snprintf(msg, sizeof(msg), "database unavailable: %s",
				 s->conn ? PQerrorMessage(s->conn) : "out of memory");
		set_error(err, 503, NULL, msg);
		return false;
	}
	PQsetNoticeReceiver(s->conn, keep_warning, s);
	return true;
}

/* Map a failed result to an HTTP status by its SQLSTATE class. */
static int
status_for_sqlstate(const char *state)
{
	if (state == NULL)
		return 503;
	if (strncmp(state, "22", 2) == 0)	/* data exception: bad parameter */
		return 400;
	if (strncmp(state, "54", 2) == 0)	/* program limit: too many points */
		return 400;
	if (strcmp(state, "P0002") == 0 || strcmp(state, "02000") == 0 ||
		strcmp(state, "42704") == 0)	/* no such run or metric */
		return 404;
	if (strcmp(state, "42883") == 0)	/* the function is not installed */
		return 501;
	if (strcmp(state, "0A000") == 0)	/* a feature this server lacks */
		return 501;
	if (strcmp(state, "42501") == 0)	/* the role may not do this */
		return 403;
	if (strcmp(state, "57014") == 0)	/* statement timeout */
		return 504;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return 503;
	return 500;
}

static void
error_from_result(DbSession *s, const PGresult *res, DbError *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	char		msg[600];

	if (primary == NULL)
		primary = PQerrorMessage(s->conn);
	if (hint)
		snprintf(msg, sizeof(msg), "%s (%s)", primary, hint);
	else
		snprintf(msg, sizeof(msg), "%s", primary);
	set_error(err, status_for_sqlstate(state), state, msg);
}

/*
 * Did the statement fail because the connection is gone?  Then it is worth
 * one retry on a new connection.  After a restart or a crash of the server
 * libpq may still call the old connection good while the error says the
 * session was ended (57P01 admin shutdown, 57P02 crash shutdown) or the
 * connection failed (class 08).
 */
static bool
connection_lost(DbSession *s, const DbError *err)
{
	if (PQstatus(s->conn) == CONNECTION_BAD)
		return true;
	return strncmp(err->sqlstate, "08", 2) == 0 ||
		strcmp(err->sqlstate, "57P01") == 0 ||
		strcmp(err->sqlstate, "57P02") == 0;
}

/* Drop a connection found broken, so that the next attempt makes a new one. */
static void
forget_connection(DbSession *s)
{
	if (s->pending)
	{
		PQclear(s->pending);
		s->pending = NULL;
	}
	s->streaming = false;
	PQfinish(s->conn);
	s->conn = NULL;
}

bool
db_ping(DbSession *s, DbError *err)
{
	int			attempt;

	err->http_status = 0;
	s->warning[0] = '\0';
	for (attempt = 0; attempt < 2; attempt++)
	{
		PGresult   *res;

		if (!ensure_connected(s, err))
			return false;
		/* An empty query is a round trip that touches nothing. */
		res = PQexec(s->conn, "");
		if (PQresultStatus(res) == PGRES_EMPTY_QUERY)
		{
			PQclear(res);
			err->http_status = 0;
			return true;
		}
		error_from_result(s, res, err);
		PQclear(res);
		if (!connection_lost(s, err))
			return false;
		forget_connection(s);
	}
	return false;
}

PGresult *
db_query(DbSession *s, const char *sql, int nparams,
		 const char *const *values, int result_format, DbError *err)
{
	return db_query_params(s, sql, nparams, values, NULL, NULL, result_format,
						   err);
}

PGresult *
db_query_params(DbSession *s, const char *sql, int nparams,
				const char *const *values, const int *lengths,
				const int *formats, int result_format, DbError *err)
{
	int			attempt;

	err->http_status = 0;
	s->warning[0] = '\0';
	for (attempt = 0; attempt < 2; attempt++)
	{
		PGresult   *res;

		if (!ensure_connected(s, err))
			return NULL;
		res = PQexecParams(s->conn, sql, nparams, NULL, values, lengths,
						   formats, result_format);
		if (PQresultStatus(res) == PGRES_TUPLES_OK ||
			PQresultStatus(res) == PGRES_COMMAND_OK)
		{
			err->http_status = 0;
			return res;
		}
		error_from_result(s, res, err);
		PQclear(res);
		if (!connection_lost(s, err))
			return NULL;
		forget_connection(s);
	}
	return NULL;
}

bool
db_stream_begin(DbSession *s, const char *sql, int nparams,
				const char *const *values, DbError *err)
{
	int			attempt;

	err->http_status = 0;
	db_stream_cancel(s);
	s->warning[0] = '\0';
	for (attempt = 0; attempt < 2; attempt++)
	{
		PGresult   *first;

		if (!ensure_connected(s, err))
			return false;
		if (!PQsendQueryParams(s->conn, sql, nparams, NULL, values, NULL,
							   NULL, 0))
		{
			set_error(err, 503, NULL, PQerrorMessage(s->conn));
			if (!connection_lost(s, err))
				return false;
			forget_connection(s);
			continue;
		}
		PQsetSingleRowMode(s->conn);
		first = PQgetResult(s->conn);
		if (PQresultStatus(first) == PGRES_SINGLE_TUPLE ||
			PQresultStatus(first) == PGRES_TUPLES_OK)
		{
			s->pending = first;
			s->streaming = true;
			err->http_status = 0;
			return true;
		}
		error_from_result(s, first, err);
		PQclear(first);
		db_stream_cancel(s);
		if (!connection_lost(s, err))
			return false;
		forget_connection(s);
	}
	return false;
}

PGresult *
db_stream_next(DbSession *s, DbError *err)
{
	PGresult   *res;

	err->http_status = 0;
	if (!s->streaming)
		return NULL;
	if (s->pending)
	{
		res = s->pending;
		s->pending = NULL;
	}
	else
		res = PQgetResult(s->conn);

	if (res != NULL && PQresultStatus(res) == PGRES_SINGLE_TUPLE)
		return res;
	if (res != NULL && PQresultStatus(res) != PGRES_TUPLES_OK)
		error_from_result(s, res, err);
	if (res)
		PQclear(res);
	db_stream_cancel(s);
	return NULL;
}

void
db_stream_cancel(DbSession *s)
{
	PGresult   *res;

	if (s->pending)
	{
		PQclear(s->pending);
		s->pending = NULL;
	}
	if (s->conn == NULL)
		return;
	if (s->streaming && PQisBusy(s->conn))
	{
		/* Stop the server from sending the rest, then drain what is left. */
		PGcancel   *cancel = PQgetCancel(s->conn);
		char		errbuf[256];

		if (cancel)
		{
			PQcancel(cancel, errbuf, sizeof(errbuf));
			PQfreeCancel(cancel);
		}
	}
	while ((res = PQgetResult(s->conn)) != NULL)
		PQclear(res);
	s->streaming = false;
}
