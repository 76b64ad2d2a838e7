// SPDX-License-Identifier: MIT
/* peer.c - name the process behind a connection from the sandbox.
 *
 * The relay sees a connection from the sandbox's veth address and an
 * ephemeral port.  A sock_diag query in the sandbox's netns (through a
 * NETLINK_SOCK_DIAG socket init made there before its seccomp filter, which
 * refuses such sockets) maps those to the socket's inode (reading
 * /proc/PID/net/tcp instead costs a millisecond: the kernel walks every
 * netns's connections to print one netns's); the process holding the
 * inode is found among the sandbox's processes only (init's descendants,
 * through /proc/PID/task/TID/children), never the whole host.  The process
 * that last matched is tried first: a client usually opens many.
 *
 * First, though, the connect table: every connect() of the sandbox is made
 * by the supervisor (onbehalf.c), which notes the socket's local address
 * and port with the process that asked, named at that moment
 * (ab_peer_note()).  A relayed connection is then named by one table
 * lookup on its source address and port, whatever the number of processes
 * and descriptors in the sandbox, and also when the client is already gone
 * (a closed socket has no inode to look up).  The
 * /proc scan above is only for a socket the table does not know (a TCP
 * Fast Open sendto(), which connects without connect()), and it has a
 * budget: after SCAN_BUDGET descriptors read, the process is unknown
 * (pid 0), never a guess.
 *
 * A socket passed to another process is named after the one that
 * connected it.  It is for the audit log, never for policy.
 */

#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

#define MAX_PROCS	4096
#define SCAN_BUDGET	4096	/* descriptors read per lookup, at most */
#define TABLE_SIZE	4096	/* connects remembered (a power of two) */

static pid_t last_pid;

/* source address and port -> who connected it; a newer connect takes an
 * older's slot.  IPv4 addresses are kept as IPv4-mapped IPv6 ones. */
static struct noted {
	uint8_t addr[16];		/* all zero: free */
	uint16_t port;			/* network order */
	struct ab_actor who;
} table[TABLE_SIZE];

static struct noted *slot(uint16_t port)
{
	/* ephemeral ports are handed out in turn: the low bits spread */
	return &table[ntohs(port) & (TABLE_SIZE - 1)];
}

/* @sa's address as IPv6 (mapped if IPv4) and port; false if neither */
static bool key_of(const struct sockaddr_storage *sa, uint8_t addr[16],
		   uint16_t *port)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;

	if (sa->ss_family == AF_INET) {
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &v4->sin_addr, 4);
		*port = v4->sin_port;
		return true;
	}
	if (sa->ss_family == AF_INET6) {
		memcpy(addr, &v6->sin6_addr, 16);
		*port = v6->sin6_port;
		return true;
	}
	return false;
}

/**
 * ab_peer_note() - Remember which process connected a socket
 * @local:	The socket's own address after connect() (IPv4 or IPv6)
 * @who:	The process, named
 */
void ab_peer_note(const struct sockaddr_storage *local,
		  const struct ab_actor *who)
{
	uint8_t addr[16];
	uint16_t port;
	struct noted *n;

	if (!key_of(local, addr, &port))
		return;
	n = slot(port);
	memcpy(n->addr, addr, 16);
	n->port = port;
	n->who = *who;
}

static const struct noted *noted(const struct sockaddr_storage *client)
{
	static const uint8_t zero[16];
	const struct noted *n;
	uint8_t addr[16];
	uint16_t port;

	if (!key_of(client, addr, &port) || !memcmp(addr, zero, 16))
		return NULL;
	n = slot(port);
	return !memcmp(n->addr, addr, 16) && n->port == port ? n : NULL;
}

/**
 * socket_inode() - The inode of the sandbox's end of a relayed connection
 * @diag:	NETLINK_SOCK_DIAG socket in the sandbox's netns
 * @client:	The client's address and port (the sandbox's end)
 * @server:	Where it connected to, as the sandbox sees it: the
 *		listener, or the original destination of an intercepted
 *		connection (the same family)
 *
 * One exact lookup (no dump): the kernel finds the socket by its four
 * addresses, whatever the size of its tables.
 *
 * Return: the inode, 0 if not found
 */
static unsigned long socket_inode(int diag,
				  const struct sockaddr_storage *client,
				  const struct sockaddr_storage *server)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST,
		},
		.r = {
			.sdiag_family = (uint8_t)client->ss_family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = ~0U,
			.id = {
				.idiag_cookie = { INET_DIAG_NOCOOKIE,
						  INET_DIAG_NOCOOKIE },
			},
		},
	};
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	} resp;
	const struct inet_diag_msg *m;
	ssize_t n;

	if (client->ss_family != server->ss_family)
		return 0;
	if (client->ss_family == AF_INET) {
		const struct sockaddr_in *c = (const void *)client;
		const struct sockaddr_in *s = (const void *)server;

		req.r.id.idiag_sport = c->sin_port;
		req.r.id.idiag_dport = s->sin_port;
		memcpy(req.r.id.idiag_src, &c->sin_addr, 4);
		memcpy(req.r.id.idiag_dst, &s->sin_addr, 4);
	} else if (client->ss_family == AF_INET6) {
		const struct sockaddr_in6 *c = (const void *)client;
		const struct sockaddr_in6 *s = (const void *)server;

		req.r.id.idiag_sport = c->sin6_port;
		req.r.id.idiag_dport = s->sin6_port;
		memcpy(req.r.id.idiag_src, &c->sin6_addr, 16);
		memcpy(req.r.id.idiag_dst, &s->sin6_addr, 16);
	} else {
		return 0;
	}
	if (send(diag, &req, sizeof(req), MSG_DONTWAIT) != sizeof(req))
		return 0;
	/* the answer was queued before send() returned */
	n = recv(diag, &resp, sizeof(resp), MSG_DONTWAIT);
	if (n < (ssize_t)(NLMSG_HDRLEN + sizeof(*m)) ||
	    resp.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return 0;
	m = NLMSG_DATA(&resp.nlh);
	return m->idiag_inode;
}

/**
 * ab_peer_pid() - The pid that connected a relayed connection, cheaply
 * @client:	The connection's source
 *
 * From the connect table only (no /proc scan): for the relay's share of
 * connections per process.
 *
 * Return: the pid, or 0 if not known
 */
pid_t ab_peer_pid(const struct sockaddr_storage *client)
{
	const struct noted *n = noted(client);

	return n ? n->who.pid : 0;
}

static int holds(pid_t pid, const char *want, unsigned *budget)
{
	char path[64], link[64];
	struct dirent *d;
	int found = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (!found && *budget && (d = readdir(dir))) {
		char fdp[384];
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		(*budget)--;
		snprintf(fdp, sizeof(fdp), "%s/%s", path, d->d_name);
		n = readlink(fdp, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = !strcmp(link, want);
	}
	closedir(dir);
	return found;
}

/* Append the children of every thread of @pid to @list */
static void add_children(pid_t pid, pid_t *list, unsigned *n)
{
	char path[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		char cp[384], buf[4096];
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(cp, sizeof(cp), "%s/%s/children", path, d->d_name);
		f = fopen(cp, "re");
		if (!f)
			continue;
		while (fscanf(f, "%4095s", buf) == 1 && *n < MAX_PROCS)
			list[(*n)++] = (pid_t)atoi(buf);
		fclose(f);
	}
	closedir(dir);
}

/**
 * ab_peer_owner() - Find the sandbox process holding a connection
 * @diag:	NETLINK_SOCK_DIAG socket in the sandbox's netns (from init)
 * @sandbox_pid: The sandbox's init, in our pid namespace
 * @client:	The connection's source (as the relay sees it)
 * @server:	Its destination as the sandbox sees it (socket_inode())
 * @w:		Result; w->pid is 0 if not found
 *
 * Return: 0 if found, -1 if not
 */
int ab_peer_owner(int diag, pid_t sandbox_pid,
		  const struct sockaddr_storage *client,
		  const struct sockaddr_storage *server, struct ab_actor *w)
{
	static pid_t list[MAX_PROCS];
	unsigned budget = SCAN_BUDGET;
	unsigned long inode;
	unsigned n = 0;
	char want[48];

	memset(w, 0, sizeof(*w));
	if (noted(client)) {
		*w = noted(client)->who;
		return w->pid ? 0 : -1;
	}
	if (sandbox_pid <= 0 || diag < 0)
		return -1;
	inode = socket_inode(diag, client, server);
	if (!inode)
		return -1;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if (last_pid > 0 && holds(last_pid, want, &budget)) {
		ab_actor_fill(w, last_pid);
		return 0;
	}
	add_children(sandbox_pid, list, &n);
	for (unsigned i = 0; i < n && budget; i++) {
		if (holds(list[i], want, &budget)) {
			last_pid = list[i];
			ab_actor_fill(w, list[i]);
			return 0;
		}
		add_children(list[i], list, &n);
	}
	return -1;
}
