/* SPDX-License-Identifier: MIT */
/* ossl.h - the OpenSSL functions uptls.c, pump.c and upws.c call, loaded
 * at run time (ossl.c).  Included after OpenSSL's own headers: each name becomes a
 * call through the table, the headers' macros (SSL_set_mode, ...) too.
 */
#ifndef AB_RELAY_OSSL_H
#define AB_RELAY_OSSL_H

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "err.h"

#define AB_OSSL_FUNCS(X) \
	X(ERR_clear_error) X(ERR_get_error) X(ERR_reason_error_string) \
	X(SSL_CTX_ctrl) X(SSL_CTX_free) X(SSL_CTX_load_verify_locations) \
	X(SSL_CTX_new) X(SSL_CTX_set_default_verify_paths) \
	X(SSL_CTX_set_verify) X(SSL_connect) X(SSL_ctrl) X(SSL_free) \
	X(SSL_get0_param) X(SSL_get_error) X(SSL_get_verify_result) \
	X(SSL_new) X(SSL_pending) X(SSL_read) X(SSL_set1_host) \
	X(SSL_set_fd) X(SSL_shutdown) X(SSL_write) X(TLS_client_method) \
	X(X509_VERIFY_PARAM_set1_ip_asc) X(X509_verify_cert_error_string) \
	X(SSL_CTX_sess_set_new_cb) X(SSL_set_session) X(SSL_SESSION_free) \
	X(SSL_session_reused) X(EVP_Digest) X(EVP_sha1)

struct ab_ossl {
#define AB_OSSL_MEMBER(f) __typeof__(f) *f;
	AB_OSSL_FUNCS(AB_OSSL_MEMBER)
#undef AB_OSSL_MEMBER
};

extern struct ab_ossl ab_ossl;

int ab_ossl_load(struct ab_err *e);

#define ERR_clear_error			(*ab_ossl.ERR_clear_error)
#define ERR_get_error			(*ab_ossl.ERR_get_error)
#define ERR_reason_error_string		(*ab_ossl.ERR_reason_error_string)
#define SSL_CTX_ctrl			(*ab_ossl.SSL_CTX_ctrl)
#define SSL_CTX_free			(*ab_ossl.SSL_CTX_free)
#define SSL_CTX_load_verify_locations	(*ab_ossl.SSL_CTX_load_verify_locations)
#define SSL_CTX_new			(*ab_ossl.SSL_CTX_new)
#define SSL_CTX_set_default_verify_paths (*ab_ossl.SSL_CTX_set_default_verify_paths)
#define SSL_CTX_set_verify		(*ab_ossl.SSL_CTX_set_verify)
#define SSL_connect			(*ab_ossl.SSL_connect)
#define SSL_ctrl			(*ab_ossl.SSL_ctrl)
#define SSL_free			(*ab_ossl.SSL_free)
#define SSL_get0_param			(*ab_ossl.SSL_get0_param)
#define SSL_get_error			(*ab_ossl.SSL_get_error)
#define SSL_get_verify_result		(*ab_ossl.SSL_get_verify_result)
#define SSL_new				(*ab_ossl.SSL_new)
#define SSL_pending			(*ab_ossl.SSL_pending)
#define SSL_read			(*ab_ossl.SSL_read)
#define SSL_set1_host			(*ab_ossl.SSL_set1_host)
#define SSL_set_fd			(*ab_ossl.SSL_set_fd)
#define SSL_shutdown			(*ab_ossl.SSL_shutdown)
#define SSL_write			(*ab_ossl.SSL_write)
#define TLS_client_method		(*ab_ossl.TLS_client_method)
#define X509_VERIFY_PARAM_set1_ip_asc	(*ab_ossl.X509_VERIFY_PARAM_set1_ip_asc)
#define X509_verify_cert_error_string	(*ab_ossl.X509_verify_cert_error_string)
#define SSL_CTX_sess_set_new_cb		(*ab_ossl.SSL_CTX_sess_set_new_cb)
#define SSL_set_session			(*ab_ossl.SSL_set_session)
#define SSL_SESSION_free		(*ab_ossl.SSL_SESSION_free)
#define SSL_session_reused		(*ab_ossl.SSL_session_reused)
#define EVP_Digest			(*ab_ossl.EVP_Digest)
#define EVP_sha1			(*ab_ossl.EVP_sha1)

#endif /* AB_RELAY_OSSL_H */
