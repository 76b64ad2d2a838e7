// SPDX-License-Identifier: MIT
/* negotiate.c - Kerberos (Negotiate, RFC 4559) authentication to the
 * upstream proxy, with the user's ticket, which the sandbox never sees.
 *
 * Theory of operation: with "[network] negotiate = yes", the supervisor
 * checks at start that the user holds Kerberos credentials (a ticket from
 * kinit; none is a setup failure that says to run kinit), and the relay
 * adds to every request head it sends upstream
 *
 *	Proxy-Authorization: Negotiate <SPNEGO token for HTTP@proxy-host>
 *
 * a fresh token each time (gss_init_sec_context() with a new context:
 * each carries its own authenticator, so the proxy's replay cache takes
 * every one), as it adds a Basic field from a credentials file.  The
 * proxy answers as usual; no 407 round trip is needed.  The sandbox's own
 * Proxy-Authorization fields are removed before (http.c), and its view of
 * the ticket cache is hidden (policy.c) and KRB5CCNAME unset (env.c).
 *
 * GSSAPI (MIT's libgssapi_krb5.so.2, Debian's libgssapi-krb5-2) is loaded
 * at run time only when this is on, as OpenSSL is (ossl.c): a run without
 * it pays nothing.
 */

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>

#include "negotiate.h"
#include "util.h"

#define AB_LIBGSSAPI	"libgssapi_krb5.so.2"

static struct {
	__typeof__(gss_import_name) *import_name;
	__typeof__(gss_acquire_cred) *acquire_cred;
	__typeof__(gss_inquire_cred) *inquire_cred;
	__typeof__(gss_display_name) *display_name;
	__typeof__(gss_init_sec_context) *init_sec_context;
	__typeof__(gss_delete_sec_context) *delete_sec_context;
	__typeof__(gss_release_buffer) *release_buffer;
	__typeof__(gss_release_name) *release_name;
	__typeof__(gss_release_cred) *release_cred;
	__typeof__(gss_display_status) *display_status;
} G;

/* 1.2.840.113554.1.2.1.4 (RFC 2743 hostbased service), 1.3.6.1.5.5.2
 * (SPNEGO, RFC 4178), as their DER bytes */
static unsigned char oid_hostbased[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12,
					 0x01, 0x02, 0x01, 0x04 };
static unsigned char oid_spnego[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
static gss_OID_desc nt_hostbased = { sizeof(oid_hostbased), oid_hostbased };
static gss_OID_desc mech_spnego = { sizeof(oid_spnego), oid_spnego };

struct ab_negotiate {
	gss_name_t target;		/* HTTP@proxy-host */
	char principal[256];		/* the user's, for messages */
};

static int load(struct ab_err *e)
{
	static void *lib;

	if (lib)
		return 0;
	lib = dlopen(AB_LIBGSSAPI, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		ab_fail(e, 0, "Negotiate to the upstream proxy: %s",
			dlerror());
		ab_hint(e, "install the libgssapi-krb5-2 package");
		return -1;
	}
#define TAKE(f) if (!(*(void **)&G.f = dlsym(lib, "gss_" #f))) goto missing;
	TAKE(import_name) TAKE(acquire_cred) TAKE(inquire_cred)
	TAKE(display_name) TAKE(init_sec_context) TAKE(delete_sec_context)
	TAKE(release_buffer) TAKE(release_name) TAKE(release_cred)
	TAKE(display_status)
#undef TAKE
	return 0;
missing:
	ab_fail(e, ENOSYS, "Negotiate to the upstream proxy: %s lacks a "
		"function agentbox needs", AB_LIBGSSAPI);
	dlclose(lib);
	lib = NULL;
	return -1;
}

/* GSSAPI's words for a major and minor status */
static void status_text(OM_uint32 major, OM_uint32 minor, char *buf,
			size_t size)
{
	OM_uint32 ctx = 0, m;
	gss_buffer_desc t = GSS_C_EMPTY_BUFFER;

	buf[0] = '\0';
	if (G.display_status(&m, minor ? minor : major, minor ?
			     GSS_C_MECH_CODE : GSS_C_GSS_CODE, GSS_C_NO_OID,
			     &ctx, &t) == GSS_S_COMPLETE) {
		snprintf(buf, size, "%.*s", (int)t.length, (char *)t.value);
		G.release_buffer(&m, &t);
	}
	if (!buf[0])
		snprintf(buf, size, "GSSAPI error %u/%u", major, minor);
}

/**
 * ab_negotiate_new() - Check the user's Kerberos credentials, for a proxy
 * @host:	The proxy's host, as the upstream URL names it
 * @e:		Error
 *
 * Return: the state, or NULL with @e filled (no ticket: run kinit)
 */
struct ab_negotiate *ab_negotiate_new(const char *host, struct ab_err *e)
{
	struct ab_negotiate *n;
	gss_buffer_desc name;
	gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
	gss_name_t me = GSS_C_NO_NAME;
	OM_uint32 major, minor, life = 0;
	char svc[300], why[300];

	if (load(e))
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n) {
		ab_fail(e, ENOMEM, "Negotiate");
		return NULL;
	}
	snprintf(svc, sizeof(svc), "HTTP@%s", host);
	name.value = svc;
	name.length = strlen(svc);
	major = G.import_name(&minor, &name, &nt_hostbased, &n->target);
	if (GSS_ERROR(major)) {
		status_text(major, minor, why, sizeof(why));
		ab_fail(e, 0, "Negotiate: the proxy's name %s: %s", svc, why);
		free(n);
		return NULL;
	}
	major = G.acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE,
			       GSS_C_NO_OID_SET, GSS_C_INITIATE, &cred, NULL,
			       &life);
	if (!GSS_ERROR(major))
		major = G.inquire_cred(&minor, cred, &me, &life, NULL, NULL);
	if (GSS_ERROR(major) || life == 0) {
		if (GSS_ERROR(major))
			status_text(major, minor, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "the ticket has expired");
		ab_fail(e, 0, "Negotiate to the upstream proxy: no Kerberos "
			"credentials (%s)", why);
		ab_hint(e, "run kinit, then agentbox again");
		if (cred != GSS_C_NO_CREDENTIAL)
			G.release_cred(&minor, &cred);
		ab_negotiate_free(n);
		return NULL;
	}
	if (G.display_name(&minor, me, &name, NULL) == GSS_S_COMPLETE) {
		snprintf(n->principal, sizeof(n->principal), "%.*s",
			 (int)name.length, (char *)name.value);
		G.release_buffer(&minor, &name);
	}
	G.release_name(&minor, &me);
	G.release_cred(&minor, &cred);
	return n;
}

void ab_negotiate_free(struct ab_negotiate *n)
{
	OM_uint32 minor;

	if (!n)
		return;
	if (n->target != GSS_C_NO_NAME)
		G.release_name(&minor, &n->target);
	free(n);
}

const char *ab_negotiate_principal(const struct ab_negotiate *n)
{
	return n->principal;
}

/**
 * ab_negotiate_field() - A Proxy-Authorization field with a fresh token
 * @n:		State
 * @buf:	Result: "Proxy-Authorization: Negotiate ...\r\n"
 * @size:	Its size
 * @why:	Result on failure (an expired ticket: run kinit)
 * @wsize:	Its size
 *
 * Return: the field's length, or -1 with @why filled
 */
int ab_negotiate_field(struct ab_negotiate *n, char *buf, size_t size,
		       char *why, size_t wsize)
{
	gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
	gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor;
	static const char pre[] = "Proxy-Authorization: Negotiate ";
	int len = -1;

	major = G.init_sec_context(&minor, GSS_C_NO_CREDENTIAL, &ctx,
				   n->target, &mech_spnego, 0, 0,
				   GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER,
				   NULL, &out, NULL, NULL);
	if (GSS_ERROR(major)) {
		char t[300];

		status_text(major, minor, t, sizeof(t));
		snprintf(why, wsize, "Negotiate to the upstream proxy: no "
			 "token (%s); run kinit", t);
	} else if (sizeof(pre) - 1 + 4 * ((out.length + 2) / 3) + 3 > size) {
		snprintf(why, wsize, "Negotiate to the upstream proxy: a token "
			 "of %zu bytes is too large", out.length);
	} else {
		memcpy(buf, pre, sizeof(pre) - 1);
		ab_base64(out.value, out.length, buf + sizeof(pre) - 1);
		len = (int)strlen(buf);
		memcpy(buf + len, "\r\n", 3);
		len += 2;
	}
	if (out.value)
		G.release_buffer(&minor, &out);
	if (ctx != GSS_C_NO_CONTEXT)
		G.delete_sec_context(&minor, &ctx, GSS_C_NO_BUFFER);
	return len;
}
