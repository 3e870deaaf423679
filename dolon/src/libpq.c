/*
 * libpq.c
 *	  A minimal non-blocking PostgreSQL connection for PostgresDiagnostics.
 *
 * libpq is loaded with dlopen("libpq.so.5") the first time a connection is
 * made, so "import dolon" works on machines without PostgreSQL client
 * libraries; only PostgresDiagnostics needs them.
 *
 * Nothing here blocks: connect_start()/connect_poll() wrap PQconnectStart
 * and PQconnectPoll, send_query() hands a query to libpq in non-blocking
 * mode, and the Python layer waits for the socket with loop.add_reader() /
 * add_writer() between calls until the connection or the answer is complete.
 * (Only resolving a host name inside PQconnectStart may block; give an
 * address, or hostaddr=, to avoid even that.)
 */
#include "libpq.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/*
 * glibc 2.34 moved dlopen and its kin into libc under a new symbol version;
 * a core built on a newer glibc would refuse to load on an older one.  Ask
 * for the versions every x86_64 glibc has (2.2.5, in libdl before 2.34,
 * which CPython itself loads there), so that nothing in the core needs a
 * glibc newer than 2.17 (dolon/README.md, checked by tests/test_wheels.py).
 */
#if defined(__GLIBC__) && defined(__x86_64__)
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlerror,dlerror@GLIBC_2.2.5");
__asm__(".symver dlclose,dlclose@GLIBC_2.2.5");
#endif

/* The few libpq declarations we use, so that no libpq headers are needed. */
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

#define PG_CONNECTION_OK	0
#define PG_CONNECTION_BAD	1
#define PG_POLLING_FAILED	0
#define PG_POLLING_READING	1
#define PG_POLLING_WRITING	2
#define PG_POLLING_OK		3
#define PG_RES_TUPLES_OK	2

static struct
{
	void	   *handle;
	PGconn	   *(*connect_start) (const char *conninfo);
	int			(*connect_poll) (PGconn *conn);
	int			(*status) (const PGconn *conn);
	char	   *(*error_message) (const PGconn *conn);
	void		(*finish) (PGconn *conn);
	int			(*socket) (const PGconn *conn);
	int			(*setnonblocking) (PGconn *conn, int arg);
	int			(*send_query) (PGconn *conn, const char *query);
	int			(*flush) (PGconn *conn);
	int			(*consume_input) (PGconn *conn);
	int			(*is_busy) (PGconn *conn);
	PGresult   *(*get_result) (PGconn *conn);
	int			(*result_status) (const PGresult *res);
	char	   *(*result_error_message) (const PGresult *res);
	int			(*ntuples) (const PGresult *res);
	int			(*nfields) (const PGresult *res);
	char	   *(*getvalue) (const PGresult *res, int row, int col);
	int			(*getisnull) (const PGresult *res, int row, int col);
	void		(*clear) (PGresult *res);
}			pq;

static int
load_libpq(void)
{
	void	   *h;

	if (pq.handle != NULL)
		return 0;
	h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
	{
		PyErr_Format(PyExc_ImportError,
					 "PostgresDiagnostics needs libpq: %s "
					 "(on Debian: apt-get install libpq5)", dlerror());
		return -1;
	}
#define LOAD(field, symbol) \
	if ((*(void **) &pq.field = dlsym(h, symbol)) == NULL) goto missing
	LOAD(connect_start, "PQconnectStart");
	LOAD(connect_poll, "PQconnectPoll");
	LOAD(status, "PQstatus");
	LOAD(error_message, "PQerrorMessage");
	LOAD(finish, "PQfinish");
	LOAD(socket, "PQsocket");
	LOAD(setnonblocking, "PQsetnonblocking");
	LOAD(send_query, "PQsendQuery");
	LOAD(flush, "PQflush");
	LOAD(consume_input, "PQconsumeInput");
	LOAD(is_busy, "PQisBusy");
	LOAD(get_result, "PQgetResult");
	LOAD(result_status, "PQresultStatus");
	LOAD(result_error_message, "PQresultErrorMessage");
	LOAD(ntuples, "PQntuples");
	LOAD(nfields, "PQnfields");
	LOAD(getvalue, "PQgetvalue");
	LOAD(getisnull, "PQgetisnull");
	LOAD(clear, "PQclear");
#undef LOAD
	pq.handle = h;
	return 0;

missing:
	PyErr_Format(PyExc_ImportError, "libpq.so.5 lacks a symbol: %s",
				 dlerror());
	dlclose(h);
	return -1;
}

typedef struct PgConnection
{
	PyObject_HEAD
	PGconn	   *conn;
	PyObject   *rows;			/* first row of the result being read */
	PyObject   *error;			/* its error message, if any */
	int			connected;		/* connect_poll() said "ok" */
	int			in_query;
} PgConnection;

static PyObject *
pg_error(const char *what, const char *message)
{
	size_t		len = strlen(message);

	/* libpq messages end with a newline */
	while (len > 0 && (message[len - 1] == '\n' || message[len - 1] == ' '))
		len--;
	return PyErr_Format(PyExc_ConnectionError, "%s: %.*s", what, (int) len,
						message);
}

/*
 * connect_start(conninfo): begin connecting.  Then wait for the socket to
 * be writable and call connect_poll() until it says "ok".
 */
static PyObject *
pg_connect_start(PgConnection *self, PyObject *arg)
{
	const char *conninfo;
	PGconn	   *conn;

	if (!PyUnicode_Check(arg))
		return PyErr_Format(PyExc_TypeError, "conninfo must be str");
	conninfo = PyUnicode_AsUTF8(arg);
	if (conninfo == NULL)
		return NULL;
	if (self->conn != NULL)
		return PyErr_Format(PyExc_RuntimeError, "already connected");
	conn = pq.connect_start(conninfo);
	if (conn == NULL)
		return PyErr_NoMemory();
	if (pq.status(conn) == PG_CONNECTION_BAD)
	{
		pg_error("cannot connect to PostgreSQL", pq.error_message(conn));
		pq.finish(conn);
		return NULL;
	}
	self->conn = conn;
	self->connected = 0;
	Py_RETURN_NONE;
}

/*
 * connect_poll() -> "read" or "write" (wait for the socket, then call
 * again) or "ok".  Raises ConnectionError if connecting failed.
 */
static PyObject *
pg_connect_poll(PgConnection *self, PyObject *unused)
{
	if (self->conn == NULL)
		return PyErr_Format(PyExc_RuntimeError, "connect_start() first");
	switch (pq.connect_poll(self->conn))
	{
		case PG_POLLING_READING:
			return PyUnicode_FromString("read");
		case PG_POLLING_WRITING:
			return PyUnicode_FromString("write");
		case PG_POLLING_OK:
			if (pq.setnonblocking(self->conn, 1) != 0)
				break;
			self->connected = 1;
			return PyUnicode_FromString("ok");
		default:
			break;
	}
	pg_error("cannot connect to PostgreSQL", pq.error_message(self->conn));
	pq.finish(self->conn);
	self->conn = NULL;
	return NULL;
}

static int
pg_check_connected(PgConnection *self)
{
	if (self->conn == NULL || !self->connected)
	{
		PyErr_SetString(PyExc_RuntimeError, "not connected");
		return -1;
	}
	return 0;
}

/*
 * send_query(sql) -> bool: start a query; True when libpq still has bytes
 * to write (wait for writability and call flush()).
 */
static PyObject *
pg_send_query(PgConnection *self, PyObject *arg)
{
	const char *sql;
	int			r;

	if (pg_check_connected(self) < 0)
		return NULL;
	if (self->in_query)
		return PyErr_Format(PyExc_RuntimeError, "a query is under way");
	sql = PyUnicode_AsUTF8(arg);
	if (sql == NULL)
		return NULL;
	if (!pq.send_query(self->conn, sql))
		return pg_error("cannot send query", pq.error_message(self->conn));
	self->in_query = 1;
	Py_CLEAR(self->rows);
	Py_CLEAR(self->error);
	r = pq.flush(self->conn);
	if (r < 0)
		return pg_error("cannot send query", pq.error_message(self->conn));
	return PyBool_FromLong(r == 1);
}

static PyObject *
pg_flush(PgConnection *self, PyObject *unused)
{
	int			r;

	if (pg_check_connected(self) < 0)
		return NULL;
	r = pq.flush(self->conn);
	if (r < 0)
		return pg_error("cannot send query", pq.error_message(self->conn));
	return PyBool_FromLong(r == 1);
}

/* The first row of a result as floats (None for NULL or non-numbers). */
static PyObject *
first_row_as_floats(PGresult *res)
{
	int			n = pq.ntuples(res) > 0 ? pq.nfields(res) : 0;
	PyObject   *row = PyList_New(n);
	int			i;

	if (row == NULL)
		return NULL;
	for (i = 0; i < n; i++)
	{
		PyObject   *v;

		if (pq.getisnull(res, 0, i))
			v = Py_NewRef(Py_None);
		else
		{
			char	   *end;
			const char *text = pq.getvalue(res, 0, i);
			double		d = strtod(text, &end);

			v = (end == text) ? Py_NewRef(Py_None) : PyFloat_FromDouble(d);
		}
		if (v == NULL)
		{
			Py_DECREF(row);
			return NULL;
		}
		PyList_SET_ITEM(row, i, v);
	}
	return row;
}

/*
 * read_result() -> None while the answer is incomplete (wait for the socket
 * to be readable and call again), else the first row of the last result as
 * a list of floats.  Raises ConnectionError if the query failed.
 */
static PyObject *
pg_read_result(PgConnection *self, PyObject *unused)
{
	PGresult   *res;

	if (pg_check_connected(self) < 0)
		return NULL;
	if (!self->in_query)
		return PyErr_Format(PyExc_RuntimeError, "no query under way");
	if (!pq.consume_input(self->conn))
	{
		self->in_query = 0;
		return pg_error("lost the connection", pq.error_message(self->conn));
	}
	while (!pq.is_busy(self->conn))
	{
		res = pq.get_result(self->conn);
		if (res == NULL)
		{
			PyObject   *rows = self->rows;
			PyObject   *error = self->error;

			self->rows = NULL;
			self->error = NULL;
			self->in_query = 0;
			if (error != NULL)
			{
				PyErr_SetObject(PyExc_ConnectionError, error);
				Py_DECREF(error);
				Py_XDECREF(rows);
				return NULL;
			}
			return rows != NULL ? rows : PyList_New(0);
		}
		if (pq.result_status(res) == PG_RES_TUPLES_OK)
		{
			Py_XSETREF(self->rows, first_row_as_floats(res));
			if (self->rows == NULL)
				PyErr_Clear();
		}
		else if (self->error == NULL)
			self->error = PyUnicode_FromString(pq.result_error_message(res));
		pq.clear(res);
	}
	Py_RETURN_NONE;
}

static PyObject *
pg_get_socket(PgConnection *self, void *closure)
{
	if (self->conn == NULL)
		return PyErr_Format(PyExc_RuntimeError, "not connected");
	return PyLong_FromLong(pq.socket(self->conn));
}

static PyObject *
pg_close(PgConnection *self, PyObject *unused)
{
	if (self->conn != NULL)
	{
		pq.finish(self->conn);
		self->conn = NULL;
	}
	self->connected = 0;
	self->in_query = 0;
	Py_RETURN_NONE;
}

static PyObject *
pg_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
	if (!PyArg_ParseTuple(args, ":PgConnection"))
		return NULL;
	if (load_libpq() < 0)
		return NULL;
	return type->tp_alloc(type, 0);
}

static void
pg_dealloc(PgConnection *self)
{
	PyTypeObject *tp = Py_TYPE(self);

	if (self->conn != NULL)
		pq.finish(self->conn);
	Py_XDECREF(self->rows);
	Py_XDECREF(self->error);
	tp->tp_free((PyObject *) self);
	Py_DECREF(tp);
}

static PyMethodDef pg_methods[] = {
	{"connect_start", (PyCFunction) pg_connect_start, METH_O,
	"connect_start(conninfo): begin connecting, without blocking"},
	{"connect_poll", (PyCFunction) pg_connect_poll, METH_NOARGS,
	"connect_poll() -> 'read', 'write' or 'ok'"},
	{"send_query", (PyCFunction) pg_send_query, METH_O, NULL},
	{"flush", (PyCFunction) pg_flush, METH_NOARGS, NULL},
	{"read_result", (PyCFunction) pg_read_result, METH_NOARGS, NULL},
	{"close", (PyCFunction) pg_close, METH_NOARGS, NULL},
	{NULL}
};

static PyGetSetDef pg_getset[] = {
	{"socket", (getter) pg_get_socket, NULL, "the connection's socket", NULL},
	{NULL}
};

static PyType_Slot pg_slots[] = {
	{Py_tp_new, pg_new},
	{Py_tp_dealloc, pg_dealloc},
	{Py_tp_methods, pg_methods},
	{Py_tp_getset, pg_getset},
	{Py_tp_doc, "PgConnection(): a libpq connection, loaded on first use."},
	{0, NULL}
};

static PyType_Spec pg_spec = {
	.name = "dolon._core.PgConnection",
	.basicsize = sizeof(PgConnection),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = pg_slots,
};

int
dolon_libpq_init_types(PyObject *module, DolonState *st)
{
	st->pg_connection_type = (PyTypeObject *)
		PyType_FromModuleAndSpec(module, &pg_spec, NULL);
	if (st->pg_connection_type == NULL ||
		PyModule_AddObjectRef(module, "PgConnection",
							  (PyObject *) st->pg_connection_type) < 0)
		return -1;
	return 0;
}
