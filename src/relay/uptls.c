// SPDX-License-Identifier: MIT
/* uptls.c - TLS to the upstream proxy itself (upstream = https://HOST:PORT).
 *
 * The context (the trusted roots, the proxy's name, the session to resume)
 * is made by the supervisor before the sandbox exists; each connection's
 * SSL is made here for pump.c, which moves the bytes, and for the doctor's
 * handshake check.
 *
 * Why OpenSSL: Debian's most used and best-kept TLS library, with the
 * verification (X509_VERIFY_PARAM host and IP checks) this needs.  It is
 * loaded only when an upstream is https:// (ossl.c), so a run with an
 * http:// upstream pays nothing for it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ossl.h"
#include "relay.h"
#include "uptls.h"
#include "util.h"

#include "conn.h"

struct ab_uptls {
	SSL_CTX *ctx;
	char host[256];			/* checked against the certificate */
	bool ip;			/* host is an IP literal */
	SSL_SESSION *session;		/* the newest the proxy gave, to
					 * resume: a handshake without the
					 * proxy's signature */
};

/* The relay is one thread: the one context's newest session, kept */
static struct ab_uptls *session_owner;

static int new_session(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	if (!session_owner)
		return 0;
	if (session_owner->session)
		SSL_SESSION_free(session_owner->session);
	session_owner->session = sess;
	return 1;			/* the reference is ours now */
}

/**
 * ab_uptls_new() - The TLS context for an upstream, made before the sandbox
 * @host:	The proxy's host as written (a name, or an IP literal)
 * @ca:		PEM file of the CA(s) to trust, or NULL for the system's roots
 * @e:		Error
 *
 * Return: the context, or NULL with @e filled (a CA file that cannot be
 * read or holds no certificate is a setup failure)
 */
struct ab_uptls *ab_uptls_new(const char *host, const char *ca,
			      struct ab_err *e)
{
	struct ab_uptls *t = calloc(1, sizeof(*t));
	struct in6_addr a6;
	struct in_addr a4;
	unsigned long err;

	if (!t) {
		ab_fail(e, ENOMEM, "TLS to the upstream proxy");
		return NULL;
	}
	if (ab_ossl_load(e)) {
		free(t);
		return NULL;
	}
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->ip = inet_pton(AF_INET, host, &a4) == 1 ||
		inet_pton(AF_INET6, host, &a6) == 1;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx) {
		ab_fail(e, ENOMEM, "TLS to the upstream proxy: SSL_CTX_new");
		free(t);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	/* sessions to resume: the next connection skips the proxy's
	 * certificate signature, the costly part of a handshake */
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_CLIENT |
				       SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(t->ctx, new_session);
	session_owner = t;
	if (ca ? SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1 :
		 SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		err = ERR_get_error();
		ab_fail(e, 0, "upstream_ca %s: %s", ca ? ca : "(system roots)",
			err ? ERR_reason_error_string(err) : "no certificate");
		ERR_clear_error();
		ab_uptls_free(t);
		return NULL;
	}
	return t;
}

void ab_uptls_free(struct ab_uptls *t)
{
	if (!t)
		return;
	if (session_owner == t)
		session_owner = NULL;
	if (t->session)
		SSL_SESSION_free(t->session);
	SSL_CTX_free(t->ctx);
	free(t);
}

/* The cause of an OpenSSL failure, in words */
const char *rl_uptls_cause(SSL *ssl, int rc, char *buf, size_t size)
{
	long v = SSL_get_verify_result(ssl);
	unsigned long err = ERR_get_error();

	if (v != X509_V_OK)
		snprintf(buf, size, "certificate verify failed: %s",
			 X509_verify_cert_error_string(v));
	else if (err)
		snprintf(buf, size, "%s", ERR_reason_error_string(err) ?
			 ERR_reason_error_string(err) : "TLS error");
	else if (rc == 0 || errno == 0)
		snprintf(buf, size, "the proxy closed the connection");
	else
		snprintf(buf, size, "%s", strerror(errno));
	ERR_clear_error();
	return buf;
}

/* An SSL on @fd that checks the proxy's name or address, or NULL */
static SSL *ssl_for(const struct ab_uptls *t, int fd)
{
	SSL *ssl = SSL_new(t->ctx);

	if (!ssl || !SSL_set_fd(ssl, fd)) {
		SSL_free(ssl);
		return NULL;
	}
	if (t->ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->host);
	} else {
		SSL_set_tlsext_host_name(ssl, t->host);
		SSL_set1_host(ssl, t->host);
	}
	return ssl;
}

/**
 * rl_uptls_ssl() - The SSL for a pump's connection to the proxy
 * @t:		Context
 * @fd:		The TCP connection, connected
 *
 * Return: an SSL that checks the proxy's name or address and resumes the
 * newest session (verified when it was made), or NULL
 */
SSL *rl_uptls_ssl(const struct ab_uptls *t, int fd)
{
	SSL *ssl = ssl_for(t, fd);

	if (!ssl)
		return NULL;
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
		     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (t->session)
		SSL_set_session(ssl, t->session);
	return ssl;
}

/* Until @end: SSL_connect, SSL_write or SSL_read (@op) on @ssl, polled */
static int ssl_wait(SSL *ssl, int fd, int rc, uint64_t end, char *why,
		    size_t size)
{
	int e = SSL_get_error(ssl, rc);
	struct pollfd p = { .fd = fd };
	uint64_t now = ab_now_us();

	if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
	    now >= end) {
		if (now >= end)
			snprintf(why, size, "no answer in time");
		else
			rl_uptls_cause(ssl, rc, why, size);
		return -1;
	}
	p.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
	poll(&p, 1, (int)((end - now) / 1000 + 1));
	return 0;
}

/**
 * ab_uptls_check() - A handshake on a connected socket, for the doctor;
 *		      then a request and its answer's head, if one is given
 * @t:		Context
 * @fd:		Connected to the proxy (made non-blocking here)
 * @timeout_ms:	For all of it
 * @req:	Request to send after the handshake, or NULL
 * @ans:	Its answer, up to the end of the head (NUL-terminated)
 * @ans_size:	Its size
 * @why:	Result on failure
 * @size:	Its size
 *
 * Return: 0 when the proxy's certificate verifies (and the answer came), -1
 * with @why filled
 */
int ab_uptls_check(const struct ab_uptls *t, int fd, int timeout_ms,
		   const char *req, char *ans, size_t ans_size, char *why,
		   size_t size)
{
	uint64_t end = ab_now_us() + (uint64_t)timeout_ms * 1000;
	SSL *ssl = ssl_for(t, fd);
	size_t off = 0, len = 0;
	int r, rc = -1;

	if (!ssl) {
		snprintf(why, size, "out of memory");
		return -1;
	}
	while ((r = SSL_connect(ssl)) != 1)
		if (ssl_wait(ssl, fd, r, end, why, size))
			goto out;
	while (req && off < strlen(req)) {
		r = SSL_write(ssl, req + off, (int)(strlen(req) - off));
		if (r > 0)
			off += (size_t)r;
		else if (ssl_wait(ssl, fd, r, end, why, size))
			goto out;
	}
	while (req && len < ans_size - 1) {
		r = SSL_read(ssl, ans + len, (int)(ans_size - 1 - len));
		if (r > 0) {
			len += (size_t)r;
			ans[len] = '\0';
			if (strstr(ans, "\r\n\r\n"))
				break;
		} else if (ssl_wait(ssl, fd, r, end, why, size)) {
			goto out;
		}
	}
	rc = 0;
out:
	ERR_clear_error();
	SSL_free(ssl);
	return rc;
}
