// SPDX-License-Identifier: MIT
/* tls.c - the server name of a TLS ClientHello (pure code).
 *
 * The first bytes a TLS client sends are one or more handshake records
 * (RFC 8446 5.1: type 22, a legacy version 3.x, a length of at most
 * 2^14 + 256... here 2^14) whose payloads, joined, start with the
 * ClientHello (4.1.2).  Its extensions may hold server_name (RFC 6066 3),
 * a list in which host_name (type 0) may appear once.  Every length is
 * checked against the one around it; a ClientHello longer than
 * AB_TLS_MAX_HELLO is refused rather than buffered.  The name must be a
 * DNS name (RFC 6066: no trailing dot, no IP literal is sent as a name),
 * and is returned in lower case.
 */

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "tls.h"

#define REC_HEADER	5
#define REC_MAX		16384

struct rd {
	const uint8_t *p;
	size_t len, at;
};

static bool take(struct rd *r, size_t n, const uint8_t **out)
{
	if (r->len - r->at < n)
		return false;
	*out = r->p + r->at;
	r->at += n;
	return true;
}

static bool take_n(struct rd *r, size_t bytes, size_t *v)
{
	const uint8_t *p;

	if (!take(r, bytes, &p))
		return false;
	*v = 0;
	for (size_t i = 0; i < bytes; i++)
		*v = *v << 8 | p[i];
	return true;
}

/* A vector with a length prefix of @bytes bytes, as a reader of its own */
static bool take_vec(struct rd *r, size_t bytes, struct rd *v)
{
	size_t n;
	const uint8_t *p;

	if (!take_n(r, bytes, &n) || !take(r, n, &p))
		return false;
	*v = (struct rd){ p, n, 0 };
	return true;
}

static enum ab_tls_result bad(const char **why, const char *text)
{
	*why = text;
	return AB_TLS_BAD;
}

static enum ab_tls_result server_name(struct rd *ext, char *name,
				      size_t size, const char **why)
{
	struct rd list, host;
	bool seen = false;
	size_t type;

	if (!take_vec(ext, 2, &list) || ext->at != ext->len)
		return bad(why, "server_name extension: bad length");
	while (list.at < list.len) {
		if (!take_n(&list, 1, &type) || !take_vec(&list, 2, &host))
			return bad(why, "server_name extension: bad entry");
		if (type != 0)
			continue;
		if (seen)
			return bad(why, "server_name extension: two host "
				   "names");
		seen = true;
		if (!host.len || host.len >= size || host.len > 253)
			return bad(why, "server name: empty or too long");
		for (size_t i = 0; i < host.len; i++) {
			uint8_t c = host.p[i];

			if (!isalnum(c) && c != '-' && c != '.' && c != '_')
				return bad(why, "server name: a character "
					   "hostnames do not have");
			name[i] = (char)tolower(c);
		}
		name[host.len] = '\0';
		if (name[0] == '.' || name[host.len - 1] == '.' ||
		    strstr(name, ".."))
			return bad(why, "server name: an empty label");
	}
	return seen ? AB_TLS_SNI : AB_TLS_NO_SNI;
}

/**
 * ab_tls_client_hello() - The server name in a ClientHello
 * @p:		What the client sent first
 * @len:	Its length
 * @name:	Result: the server name, lower case
 * @size:	Size of @name
 * @why:	Result: the reason, for AB_TLS_BAD
 *
 * Return: AB_TLS_SNI, AB_TLS_NO_SNI, AB_TLS_MORE (incomplete) or
 * AB_TLS_BAD
 */
enum ab_tls_result ab_tls_client_hello(const uint8_t *p, size_t len,
				       char *name, size_t size,
				       const char **why)
{
	uint8_t hello[AB_TLS_MAX_HELLO + 4];
	size_t have = 0, need = 0, off = 0, v;
	enum ab_tls_result res = AB_TLS_NO_SNI;
	struct rd r, sid, ciphers, comp, exts;
	const uint8_t *skip;

	*why = NULL;
	/* join the records' payloads until the handshake message is whole */
	for (;;) {
		size_t rl;

		if (len - off < REC_HEADER) {
			if (off < len && p[off] != 22)
				return bad(why, "not a TLS handshake record");
			return AB_TLS_MORE;
		}
		if (p[off] != 22)
			return bad(why, "not a TLS handshake record");
		if (p[off + 1] != 3)
			return bad(why, "not a TLS record version (3.x)");
		rl = (size_t)p[off + 3] << 8 | p[off + 4];
		if (!rl || rl > REC_MAX)
			return bad(why, "a TLS record of a bad length");
		if (len - off - REC_HEADER < rl)
			rl = len - off - REC_HEADER;	/* partial */
		if (have + rl > sizeof(hello))
			return bad(why, "a ClientHello longer than 16 KiB");
		memcpy(hello + have, p + off + REC_HEADER, rl);
		have += rl;
		off += REC_HEADER + rl;
		if (have >= 4 && !need) {
			if (hello[0] != 1)
				return bad(why, "the first handshake message "
					   "is not a ClientHello");
			need = 4 + ((size_t)hello[1] << 16 |
				    (size_t)hello[2] << 8 | hello[3]);
			if (need > sizeof(hello))
				return bad(why, "a ClientHello longer than "
					   "16 KiB");
		}
		if (need && have >= need)
			break;
		if (off >= len)
			return AB_TLS_MORE;
	}

	r = (struct rd){ hello + 4, need - 4, 0 };
	if (!take_n(&r, 2, &v) || (v >> 8) != 3)
		return bad(why, "ClientHello: not a TLS version (3.x)");
	if (!take(&r, 32, &skip) || !take_vec(&r, 1, &sid) || sid.len > 32 ||
	    !take_vec(&r, 2, &ciphers) || !ciphers.len || ciphers.len % 2 ||
	    !take_vec(&r, 1, &comp) || !comp.len)
		return bad(why, "ClientHello: bad session id, cipher suites "
			   "or compression methods");
	if (r.at == r.len)
		return AB_TLS_NO_SNI;	/* no extensions at all */
	if (!take_vec(&r, 2, &exts) || r.at != r.len)
		return bad(why, "ClientHello: bad extensions length");
	/* every extension is walked: a second server_name, which another
	 * parser could take instead of the first, is refused */
	while (exts.at < exts.len) {
		struct rd ext;
		size_t type;

		if (!take_n(&exts, 2, &type) || !take_vec(&exts, 2, &ext))
			return bad(why, "ClientHello: bad extension");
		if (type != 0)
			continue;
		if (res != AB_TLS_NO_SNI)
			return bad(why, "ClientHello: two server_name "
				   "extensions");
		res = server_name(&ext, name, size, why);
		if (res == AB_TLS_BAD)
			return res;
	}
	return res;
}
