// SPDX-License-Identifier: MIT
/* cabundle.c - a TLS-inspecting proxy's CA, added to the system's roots for
 * the sandbox only (supervisor side).
 *
 * A proxy that inspects TLS (Squid ssl-bump) presents certificates signed
 * by its own CA.  With "[network] ca_bundle = FILE", agentbox reads the
 * system's bundle and FILE before the sandbox exists, checks FILE (PEM
 * certificates only, no key), and keeps "system roots + FILE" in memory.
 * init then writes it into a private read-only tmpfs and mounts it over the
 * system bundle (protect.c), so that tools that read the system bundle by
 * its path trust the proxy too, and env.c points the tools that take a
 * variable at the same path.  The host's own bundle is never touched.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cabundle.h"
#include "util.h"

/* Where distributions keep the bundle of trusted roots, in PEM */
static const char *const system_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt",	/* Debian, Ubuntu, Arch */
	"/etc/pki/tls/certs/ca-bundle.crt",	/* Fedora, RHEL */
	"/etc/ssl/ca-bundle.pem",		/* openSUSE */
	"/etc/ssl/cert.pem",			/* Alpine */
};

static int read_whole(const char *what, const char *path, size_t max,
		      char **buf, size_t *len, struct ab_err *e)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t n = 0;

	*buf = NULL;
	if (fd < 0)
		return ab_fail(e, errno, "%s %s: open", what, path);
	if (fstat(fd, &st))
		return ab_fail(e, errno, "%s %s: stat", what, path);
	if (!S_ISREG(st.st_mode))
		return ab_fail(e, 0, "%s %s: not a regular file", what, path);
	if ((size_t)st.st_size > max)
		return ab_fail(e, EFBIG, "%s %s: larger than %zu bytes", what,
			       path, max);
	if (!(*buf = malloc((size_t)st.st_size + 1)))
		return ab_fail(e, ENOMEM, "%s %s", what, path);
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, *buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(*buf);
			*buf = NULL;
			return ab_fail(e, r ? errno : EIO, "%s %s: read",
				       what, path);
		}
		n += (size_t)r;
	}
	*len = n;
	return 0;
}

/**
 * ab_ca_build() - System roots plus the proxy's CA, checked, in memory
 * @ca_file:	The proxy's CA (PEM)
 * @ca:		Result (free with ab_ca_free())
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
int ab_ca_build(const char *ca_file, struct ab_ca *ca, struct ab_err *e)
{
	char *sys = NULL, *extra = NULL, why[160], real[PATH_MAX];
	size_t sys_len = 0, extra_len = 0, i;
	static const char sep[] = "\n# agentbox: the proxy's CA (ca_bundle)\n";
	int certs;

	memset(ca, 0, sizeof(*ca));
	if (read_whole("ca_bundle", ca_file, AB_CA_MAX_FILE, &extra,
		       &extra_len, e) || !extra)
		return -1;
	certs = ab_pem_certs(extra, extra_len, why, sizeof(why));
	if (certs < 0) {
		free(extra);
		return ab_fail(e, 0, "ca_bundle %s: %s", ca_file, why);
	}
	for (i = 0; i < ARRAY_SIZE(system_bundles); i++)
		if (realpath(system_bundles[i], real))
			break;
	if (i == ARRAY_SIZE(system_bundles)) {
		free(extra);
		ab_fail(e, ENOENT, "ca_bundle: no system CA bundle (%s, ...) "
			"to add %s to", system_bundles[0], ca_file);
		ab_hint(e, "install the distribution's ca-certificates");
		return -1;
	}
	if (read_whole("system CA bundle", real, AB_CA_MAX_SYSTEM, &sys,
		       &sys_len, e) || !sys) {
		free(extra);
		return -1;
	}
	ca->pem = malloc(sys_len + sizeof(sep) + extra_len + 1);
	if (!ca->pem) {
		free(sys);
		free(extra);
		return ab_fail(e, ENOMEM, "ca_bundle");
	}
	memcpy(ca->pem, sys, sys_len);
	memcpy(ca->pem + sys_len, sep, sizeof(sep) - 1);
	memcpy(ca->pem + sys_len + sizeof(sep) - 1, extra, extra_len);
	ca->len = sys_len + sizeof(sep) - 1 + extra_len;
	if (extra_len && extra[extra_len - 1] != '\n')
		ca->pem[ca->len++] = '\n';
	snprintf(ca->target, sizeof(ca->target), "%s", real);
	free(sys);
	free(extra);
	return 0;
}

/**
 * ab_ca_free() - Free a bundle
 * @ca:		Bundle
 */
void ab_ca_free(struct ab_ca *ca)
{
	free(ca->pem);
	ca->pem = NULL;
	ca->len = 0;
}
