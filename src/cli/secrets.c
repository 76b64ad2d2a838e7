// SPDX-License-Identifier: MIT
/* secrets.c - the secrets agentbox keeps for the sandbox: the upstream's
 * Basic credentials and a WebSocket bridge's bearer token, each read from a
 * file of the caller's that nobody else can read, before the sandbox exists
 * (the files are hidden inside it).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "options.h"
#include "secrets.h"
#include "util.h"
#include "ws.h"

/**
 * read_secret() - One line from a file only the caller can read
 * @path:	The file
 * @what:	What it holds, for errors ("credentials", "upstream_token")
 * @buf:	Result, NUL-terminated, without the line end
 * @size:	Its size
 * @e:		Error
 *
 * The file must be the caller's and readable by nobody else (like ssh's
 * keys): it holds a secret agentbox keeps for the sandbox, which never
 * sees it (it is hidden inside, and only the relay sends it upstream).
 *
 * Return: 0, or -1 with @e filled
 */
static int read_secret(const char *path, const char *what, char *buf,
		       size_t size, struct ab_err *e)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ab_fail(e, errno, "%s %s: open", what, path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_uid != getuid() || (st.st_mode & 077)) {
		close(fd);
		ab_fail(e, EPERM, "%s %s: must be a regular file of yours "
			"that only you can read", what, path);
		ab_hint(e, "chmod 600 %s", path);
		return -1;
	}
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return ab_fail(e, errno, "%s %s: read", what, path);
	buf[n] = '\0';
	if ((size_t)n >= size - 1 && !strpbrk(buf, "\r\n"))
		return ab_fail(e, 0, "%s %s: longer than %zu bytes", what,
			       path, size - 6);
	buf[strcspn(buf, "\r\n")] = '\0';
	for (const char *q = buf; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return ab_fail(e, 0, "%s %s: control character", what,
				       path);
	return 0;
}

/**
 * ab_read_credentials() - The upstream's user:password, as Basic credentials
 * @c:		Configuration: c->credentials names the file; c->proxy_auth
 *		is the result
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
int ab_read_credentials(struct ab_config *c, struct ab_err *e)
{
	char buf[256];

	if (read_secret(c->credentials, "credentials", buf, sizeof(buf), e))
		return -1;
	if (!strchr(buf, ':')) {
		explicit_bzero(buf, sizeof(buf));
		return ab_fail(e, 0, "credentials %s: expected one line "
			       "USER:PASSWORD (at most 250 bytes)",
			       c->credentials);
	}
	memcpy(c->proxy_auth, "Basic ", 6);
	ab_base64((const unsigned char *)buf, strlen(buf), c->proxy_auth + 6);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/**
 * ab_read_token() - The bearer token of a ws:// or wss:// upstream's upgrade
 * @c:		Configuration: c->upstream_token names the file; c->ws_token
 *		is the result
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled (also for a token without a WebSocket
 * upstream, which would never be sent)
 */
int ab_read_token(struct ab_config *c, struct ab_err *e)
{
	if (!c->upstream.ws)
		return ab_fail(e, 0, "upstream_token %s: only a ws:// or "
			       "wss:// upstream takes a bearer token (the "
			       "upstream is %s)", c->upstream_token,
			       c->upstream.builtin ? "the built-in proxy" :
			       "a proxy URL");
	if (read_secret(c->upstream_token, "upstream_token", c->ws_token,
			sizeof(c->ws_token), e))
		return -1;
	if (!ab_ws_token_ok(c->ws_token)) {
		explicit_bzero(c->ws_token, sizeof(c->ws_token));
		return ab_fail(e, 0, "upstream_token %s: expected one line, a "
			       "bearer token (letters, digits, -._~+/ and "
			       "trailing =)", c->upstream_token);
	}
	return 0;
}
