/*
 * sign.c
 *	  Signing binary v1 datagrams (sign.h).
 *
 * The tag is the HMAC-SHA-256, under the key's secret, of every byte of the
 * datagram before the tag -- its header with the AUTH flag already set, and
 * its messages -- truncated to the tag's length; the key id and the tag
 * length follow it (docs/protocol.md, "Authentication trailer").
 */
#include "sign.h"

#include <string.h>

#include "wire.h"

static void
sign_with_tag_length(const SignKey *key, uint8_t *buf, size_t len,
					 size_t tag_len)
{
	uint8_t		mac[SHA256_DIGEST];

	buf[5] |= V1_FLAG_AUTH;
	hmac_sha256(&key->hmac, buf, len, mac);
	memcpy(buf + len, mac, tag_len);
	buf[len + tag_len] = key->key_id;
	buf[len + tag_len + 1] = (uint8_t) tag_len;
}

size_t
sign_datagram(const SignKey *key, uint8_t *buf, size_t len)
{
	sign_with_tag_length(key, buf, len, SIGN_TAG_BYTES);
	return len + SIGN_TRAILER_BYTES;
}

int
sign_key_from_object(PyObject *obj, SignKey *key)
{
	int			key_id;
	Py_buffer	secret;

	if (!PyTuple_Check(obj) || PyTuple_GET_SIZE(obj) != 2)
	{
		PyErr_SetString(PyExc_TypeError, "key must be a (key_id, secret) tuple");
		return -1;
	}
	if (!PyArg_ParseTuple(obj, "iy*:key", &key_id, &secret))
		return -1;
	if (key_id < 0 || key_id > 255 ||
		secret.len < SIGN_MIN_SECRET || secret.len > SIGN_MAX_SECRET)
	{
		PyBuffer_Release(&secret);
		PyErr_Format(PyExc_ValueError,
					 "a key is an id of 0..255 and a secret of %d..%d bytes",
					 SIGN_MIN_SECRET, SIGN_MAX_SECRET);
		return -1;
	}
	key->key_id = (uint8_t) key_id;
	hmac_sha256_init(&key->hmac, secret.buf, (size_t) secret.len);
	PyBuffer_Release(&secret);
	return 0;
}

/* hmac_sha256(key, data) -> 32 bytes */
static PyObject *
module_hmac_sha256(PyObject *module, PyObject *args)
{
	Py_buffer	key;
	Py_buffer	data;
	HmacSha256Key k;
	uint8_t		mac[SHA256_DIGEST];

	if (!PyArg_ParseTuple(args, "y*y*:hmac_sha256", &key, &data))
		return NULL;
	hmac_sha256_init(&k, key.buf, (size_t) key.len);
	hmac_sha256(&k, data.buf, (size_t) data.len, mac);
	PyBuffer_Release(&key);
	PyBuffer_Release(&data);
	return PyBytes_FromStringAndSize((const char *) mac, SHA256_DIGEST);
}

/* sign_datagram(datagram, key_id, secret, tag_len=16) -> signed datagram */
static PyObject *
module_sign_datagram(PyObject *module, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"datagram", "key_id", "secret", "tag_len", NULL};
	Py_buffer	datagram;
	int			key_id;
	Py_buffer	secret;
	int			tag_len = SIGN_TAG_BYTES;
	PyObject   *key_obj;
	PyObject   *result = NULL;
	SignKey		key;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*iy*|i:sign_datagram",
									 kwlist, &datagram, &key_id, &secret,
									 &tag_len))
		return NULL;
	key_obj = Py_BuildValue("(iy#)", key_id, (const char *) secret.buf,
							secret.len);
	if (key_obj == NULL || sign_key_from_object(key_obj, &key) < 0)
		goto done;
	if (datagram.len < V1_HEADER_SIZE || tag_len < 1 || tag_len > SHA256_DIGEST)
	{
		PyErr_SetString(PyExc_ValueError,
						"a v1 datagram of at least 28 bytes, a tag of 1..32 bytes");
		goto done;
	}
	result = PyBytes_FromStringAndSize(NULL, datagram.len + tag_len + 2);
	if (result == NULL)
		goto done;
	memcpy(PyBytes_AS_STRING(result), datagram.buf, datagram.len);
	sign_with_tag_length(&key, (uint8_t *) PyBytes_AS_STRING(result),
						 (size_t) datagram.len, (size_t) tag_len);
done:
	Py_XDECREF(key_obj);
	PyBuffer_Release(&datagram);
	PyBuffer_Release(&secret);
	return result;
}

PyMethodDef dolon_sign_methods[] = {
	{"hmac_sha256", module_hmac_sha256, METH_VARARGS,
	"hmac_sha256(key, data) -> bytes: HMAC-SHA-256 (RFC 2104)"},
	{"sign_datagram", (PyCFunction) (void (*) (void)) module_sign_datagram,
		METH_VARARGS | METH_KEYWORDS,
	"sign_datagram(datagram, key_id, secret, tag_len=16) -> bytes: the v1 "
	"datagram with its AUTH flag set and trailer appended"},
	{NULL}
};
