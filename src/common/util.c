// SPDX-License-Identifier: MIT
/* util.c - small helpers: cleanup, files, descriptors, SCM_RIGHTS, ids. */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Close *fd if open, and mark it closed (also cleanup_fd's cleanup) */
void ab_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void ab_freep(void *p)
{
	free(*(void **)p);
}

/**
 * ab_write_file() - Write a short string to a file in one write(2)
 * @path:	File (a /proc control file, typically)
 * @data:	What to write
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_write_file(const char *path, const char *data, struct ab_err *e)
{
	size_t len = strlen(data);
	cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return ab_fail(e, errno, "open %s", path);
	n = write(fd, data, len);
	if (n < 0)
		return ab_fail(e, errno, "write %s", path);
	if ((size_t)n != len)
		return ab_fail(e, EIO, "write %s: short write", path);
	return 0;
}

/**
 * ab_read_small_file() - Read a small file into a NUL-terminated buffer
 * @path:	File
 * @buf:	Buffer
 * @size:	Its size
 *
 * Return: bytes read, or -1 with errno set
 */
int ab_read_small_file(const char *path, char *buf, size_t size)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

/**
 * ab_read_sysctl() - Read a numeric sysctl
 * @path:	/proc/sys/... file
 *
 * Return: its value, or -1 if it does not exist or is not a number
 */
long ab_read_sysctl(const char *path)
{
	char buf[32], *end;
	long v;

	if (ab_read_small_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	v = strtol(buf, &end, 10);
	if (end == buf)
		return -1;
	return v;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/**
 * close_span() - Close the descriptors from @from to @to
 * @from:	First
 * @to:		Last (inclusive); ~0U for "all the rest"
 *
 * Return: 0 on success, -1 with errno set
 */
static int close_span(unsigned from, unsigned to)
{
	struct dirent *de;
	DIR *d;

	if (!syscall(SYS_close_range, from, to, 0))
		return 0;
	if (errno != ENOSYS)
		return -1;
	d = opendir("/proc/self/fd");	/* kernels before 5.9 */
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (fd >= (int)from && (unsigned)fd <= to && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
	return 0;
}

/**
 * ab_close_fds_except() - Close every descriptor >= @lowfd but those kept
 * @lowfd:	First descriptor to close
 * @keep:	Descriptors to keep open (any order, duplicates allowed)
 * @n_keep:	How many (at most 64 are honoured)
 *
 * Return: 0 on success, -1 with errno set
 */
int ab_close_fds_except(int lowfd, const int *keep, unsigned n_keep)
{
	unsigned from = (unsigned)lowfd, n = 0;
	int sorted[64] = { 0 };	/* (cppcheck: n may be 0) */

	for (unsigned i = 0; i < n_keep && n < ARRAY_SIZE(sorted); i++)
		if (keep[i] >= lowfd)
			sorted[n++] = keep[i];
	qsort(sorted, n, sizeof(int), cmp_int);

	for (unsigned i = 0; i < n; i++) {
		unsigned k = (unsigned)sorted[i];

		if (k > from && close_span(from, k - 1))
			return -1;
		if (k + 1 > from)
			from = k + 1;
	}
	return close_span(from, ~0U);
}

/**
 * ab_send_fd() - Send a message, with a descriptor attached if @fd >= 0
 * @sock:	Unix socket
 * @buf:	Message
 * @len:	Its length
 * @fd:		Descriptor to pass, or -1
 *
 * Return: 0 on success, -1 with errno set
 */
int ab_send_fd(int sock, const void *buf, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	/* sendmsg does not write through iov_base */
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/**
 * ab_recv_fd() - Receive a message and the descriptor attached to it
 * @sock:	Unix socket
 * @buf:	Buffer
 * @len:	Its size
 * @fd:		Result: the descriptor (close-on-exec), or -1 if none
 *
 * Return: bytes received (0 at end of stream), or -1 with errno set
 */
ssize_t ab_recv_fd(int sock, void *buf, size_t len, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

/**
 * ab_session_id() - Make a random session id (16 hex digits)
 * @out:	Result
 * @size:	Its size, at least 17
 */
void ab_session_id(char *out, size_t size)
{
	unsigned char r[8] = { 0 };

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		uint64_t t = ab_now_us() ^ ((uint64_t)getpid() << 32);

		memcpy(r, &t, sizeof(r));
	}
	snprintf(out, size, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
		 r[2], r[3], r[4], r[5], r[6], r[7]);
}

/**
 * ab_wall_us() - Wall-clock time, for timestamps in logs
 *
 * Return: microseconds since the epoch
 */
uint64_t ab_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/**
 * ab_now_us() - Monotonic time
 *
 * Return: microseconds since an arbitrary start
 */
uint64_t ab_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Whether the text of /proc/self/status has the line "KEY<tab>VALUE" */
static bool status_is(const char *status, const char *key, const char *value)
{
	char want[64];

	snprintf(want, sizeof(want), "\n%s\t%s\n", key, value);
	return strstr(status, want) != NULL;
}

/**
 * ab_inside_agentbox() - Whether this process runs inside an agentbox sandbox
 *
 * The AGENTBOX marker alone is a variable anyone can set; inside agentbox
 * the user namespace also maps one id, where the initial one maps them all,
 * and the process has no capability bounding set, no_new_privs and a
 * seccomp filter.
 *
 * Return: true if both say so
 */
bool ab_inside_agentbox(void)
{
	const char *m = getenv("AGENTBOX");
	unsigned long in, out, count;
	char buf[512], status[4096];

	if (!m || strcmp(m, "1"))
		return false;
	if (ab_read_small_file("/proc/self/uid_map", buf, sizeof(buf)) <= 0)
		return false;
	if (sscanf(buf, "%lu %lu %lu", &in, &out, &count) == 3 &&
	    in == 0 && out == 0 && count == 4294967295UL)
		return false;
	/* and what agentbox leaves every process inside with: no
	 * capabilities to gain, no new privileges, a seccomp filter (a
	 * rootless container with a forged marker has a bounding set) */
	if (ab_read_small_file("/proc/self/status", status,
			       sizeof(status)) <= 0)
		return false;
	return status_is(status, "CapBnd:", "0000000000000000") &&
	       status_is(status, "NoNewPrivs:", "1") &&
	       status_is(status, "Seccomp:", "2");
}

/**
 * ab_ip_literal() - Whether a host is an IPv4 or IPv6 address, not a name
 * @host:	Host, without brackets
 *
 * Return: true for an address
 */
bool ab_ip_literal(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 ||
	       inet_pton(AF_INET6, host, &a) == 1;
}

/**
 * ab_base64() - Base64 (RFC 4648), NUL-terminated
 * @in:		Bytes
 * @len:	How many
 * @out:	Result: 4 * ((len + 2) / 3) + 1 bytes
 */
void ab_base64(const unsigned char *in, size_t len, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		out[o++] = t[in[i] >> 2];
		out[o++] = t[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = t[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		out[o++] = t[in[i + 2] & 63];
	}
	if (i < len) {
		out[o++] = t[in[i] >> 2];
		if (i + 1 < len) {
			out[o++] = t[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			out[o++] = t[(in[i + 1] & 15) << 2];
		} else {
			out[o++] = t[(in[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
}
