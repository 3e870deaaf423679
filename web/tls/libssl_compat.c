/*
 * libssl_compat.c
 *	  The one function Debian 12's CivetWeb (1.15) wants from OpenSSL 3
 *	  and does not find.
 *
 * CivetWeb loads OpenSSL at run time, dlopen("libssl.so"), and looks its
 * functions up by name, SSL_get_peer_certificate among them; OpenSSL 3
 * renamed that one SSL_get1_peer_certificate (the old name is a macro
 * now), and CivetWeb calls it on every TLS connection through the null
 * pointer it found.  This library's SONAME is libssl.so and it depends on
 * the real libssl.so.3: main.c loads it before CivetWeb starts, so
 * CivetWeb's dlopen("libssl.so") finds it already loaded and, through its
 * dependency, every function of the real library besides this one.
 */
typedef struct ssl_st SSL;
typedef struct x509_st X509;

extern X509 *SSL_get1_peer_certificate(const SSL *ssl);
extern X509 *SSL_get_peer_certificate(const SSL *ssl);

/* The same reference counting as before the rename: the caller frees. */
X509 *
SSL_get_peer_certificate(const SSL *ssl)
{
	return SSL_get1_peer_certificate(ssl);
}
