// SPDX-License-Identifier: MIT
/* ossl.c - OpenSSL, loaded when an upstream is https://, ws:// or wss://
 * (the WebSocket handshake's SHA-1) and not before.
 *
 * Linked in (statically: 18,000 more relocations at every exec, 0.4 ms
 * measured; dynamically: the loading of libssl and libcrypto), OpenSSL
 * would cost every run, and most runs have an http:// upstream or none.
 * So the supervisor opens Debian's libssl.so.3 (package libssl3) when it
 * makes the TLS context, before the sandbox exists, and takes the few
 * functions uptls.c calls; ossl.h makes each name a call through this
 * table.  A missing library or function is a setup failure naming it.
 */

#include <dlfcn.h>
#include <errno.h>

#include "ossl.h"

#define AB_LIBSSL	"libssl.so.3"

struct ab_ossl ab_ossl;

/**
 * ab_ossl_load() - Open libssl and take its functions, once
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
int ab_ossl_load(struct ab_err *e)
{
	static void *lib;
	void *sym;

	if (lib)
		return 0;
	lib = dlopen(AB_LIBSSL, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		ab_fail(e, 0, "TLS to the upstream proxy: %s", dlerror());
		ab_hint(e, "install the libssl3 package");
		return -1;
	}
#define AB_OSSL_TAKE(f) \
	if (!(sym = dlsym(lib, #f))) \
		goto missing; \
	*(void **)&ab_ossl.f = sym;
#undef ERR_clear_error
#undef ERR_get_error
#undef ERR_reason_error_string
#undef SSL_CTX_ctrl
#undef SSL_CTX_free
#undef SSL_CTX_load_verify_locations
#undef SSL_CTX_new
#undef SSL_CTX_set_default_verify_paths
#undef SSL_CTX_set_verify
#undef SSL_connect
#undef SSL_ctrl
#undef SSL_free
#undef SSL_get0_param
#undef SSL_get_error
#undef SSL_get_verify_result
#undef SSL_new
#undef SSL_pending
#undef SSL_read
#undef SSL_set1_host
#undef SSL_set_fd
#undef SSL_shutdown
#undef SSL_write
#undef TLS_client_method
#undef X509_VERIFY_PARAM_set1_ip_asc
#undef X509_verify_cert_error_string
#undef SSL_CTX_sess_set_new_cb
#undef SSL_set_session
#undef SSL_SESSION_free
#undef SSL_session_reused
#undef EVP_Digest
#undef EVP_sha1
	AB_OSSL_FUNCS(AB_OSSL_TAKE)
#undef AB_OSSL_TAKE
	return 0;
missing:
	ab_fail(e, ENOSYS, "TLS to the upstream proxy: %s lacks a function "
		"agentbox needs (%s)", AB_LIBSSL, dlerror());
	dlclose(lib);
	lib = NULL;
	return -1;
}
