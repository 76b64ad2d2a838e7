// SPDX-License-Identifier: MIT
/* pem.c - is this a PEM file of certificates, and nothing else? (pure)
 *
 * A CA given to agentbox is copied into the sandbox's trust store, so it
 * is checked first: PEM blocks of CERTIFICATE or TRUSTED CERTIFICATE with
 * a base64 body, text between blocks allowed (openssl x509 -text writes
 * some).  A private key is refused by name: a file that holds one is not a
 * CA certificate, and copying it into the sandbox would hand the key to
 * the command.
 */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cabundle.h"

static bool b64_line(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
		      (p[i] >= '0' && p[i] <= '9') || p[i] == '+' ||
		      p[i] == '/' || p[i] == '='))
			return false;
	return true;
}

/* "-----BEGIN X-----" or "-----END X-----": X, or NULL */
static const char *marker(const char *line, size_t n, const char *kind,
			  size_t *label_len)
{
	size_t k = strlen(kind);

	if (n < 10 + k || memcmp(line, "-----", 5) ||
	    memcmp(line + 5, kind, k) || memcmp(line + n - 5, "-----", 5))
		return NULL;
	*label_len = n - 10 - k;
	return line + 5 + k;
}

static bool label_is(const char *l, size_t n, const char *want)
{
	return n == strlen(want) && !memcmp(l, want, n);
}

/**
 * ab_pem_certs() - Count the certificates of a PEM text that holds only
 *		    certificates
 * @buf:	Text (need not be NUL-terminated)
 * @len:	Its length
 * @why:	Result: what is wrong, with the line
 * @why_size:	Its size
 *
 * Return: number of certificates (at least 1), or -1 with @why filled
 */
int ab_pem_certs(const char *buf, size_t len, char *why, size_t why_size)
{
	const char *p = buf, *end = buf + len, *label = NULL;
	size_t label_len = 0, body = 0;
	int certs = 0, line = 0, open_line = 0;

	if (memchr(buf, '\0', len)) {
		snprintf(why, why_size, "not a text file");
		return -1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *l;
		size_t ln;

		line++;
		if (n && p[n - 1] == '\r')
			n--;
		if (!label && (l = marker(p, n, "BEGIN ", &ln))) {
			if (ln >= 11 && !memcmp(l + ln - 11, "PRIVATE KEY", 11)) {
				snprintf(why, why_size, "line %d: a private "
					 "key; give the CA certificate only",
					 line);
				return -1;
			}
			if (!label_is(l, ln, "CERTIFICATE") &&
			    !label_is(l, ln, "TRUSTED CERTIFICATE")) {
				snprintf(why, why_size, "line %d: a %.*s "
					 "block; expected certificates only",
					 line, (int)(ln > 40 ? 40 : ln), l);
				return -1;
			}
			label = l;
			label_len = ln;
			body = 0;
			open_line = line;
		} else if (label && (l = marker(p, n, "END ", &ln))) {
			if (ln != label_len || memcmp(l, label, ln) || !body) {
				snprintf(why, why_size, "line %d: END does not "
					 "close the certificate of line %d",
					 line, open_line);
				return -1;
			}
			label = NULL;
			certs++;
		} else if (label) {
			if (!b64_line(p, n)) {
				snprintf(why, why_size, "line %d: not base64",
					 line);
				return -1;
			}
			body += n;
		}
		p = nl ? nl + 1 : end;
	}
	if (label) {
		snprintf(why, why_size, "line %d: certificate not closed",
			 open_line);
		return -1;
	}
	if (!certs) {
		snprintf(why, why_size, "no PEM certificate in it");
		return -1;
	}
	return certs;
}
