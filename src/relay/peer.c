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
 * older's slot */
static struct noted {
	uint32_t addr;			/* network order; 0: free */
	uint16_t port;
	struct ab_actor who;
} table[TABLE_SIZE];

static struct noted *slot(uint16_t port)
{
	/* ephemeral ports are handed out in turn: the low bits spread */
	return &table[ntohs(port) & (TABLE_SIZE - 1)];
}

/**
 * ab_peer_note() - Remember which process connected a socket
 * @local:	The socket's own address after connect() (IPv4, or IPv6
 *		holding a mapped IPv4 address; others are not relayed)
 * @who:	The process, named
 */
void ab_peer_note(const struct sockaddr_storage *local,
		  const struct ab_actor *who)
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)local;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)local;
	uint32_t addr;
	uint16_t port;
	struct noted *n;

	if (local->ss_family == AF_INET) {
		addr = v4->sin_addr.s_addr;
		port = v4->sin_port;
	} else if (local->ss_family == AF_INET6 &&
		   IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
		memcpy(&addr, &v6->sin6_addr.s6_addr[12], 4);
		port = v6->sin6_port;
	} else {
		return;
	}
	n = slot(port);
	n->addr = addr;
	n->port = port;
	n->who = *who;
}

static const struct noted *noted(const struct sockaddr_in *client)
{
	const struct noted *n = slot(client->sin_port);

	return n->addr && n->addr == client->sin_addr.s_addr &&
	       n->port == client->sin_port ? n : NULL;
}

/**
 * socket_inode() - The inode of the sandbox's end of a relayed connection
 * @diag:	NETLINK_SOCK_DIAG socket in the sandbox's netns
 * @client:	The client's address and port (the sandbox's end)
 * @server:	The listener's address and port (the gateway's end)
 *
 * One exact lookup (no dump): the kernel finds the socket by its four
 * addresses, whatever the size of its tables.
 *
 * Return: the inode, 0 if not found
 */
static unsigned long socket_inode(int diag, const struct sockaddr_in *client,
				  const struct sockaddr_in *server)
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
			.sdiag_family = AF_INET,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = ~0U,
			.id = {
				.idiag_sport = client->sin_port,
				.idiag_dport = server->sin_port,
				.idiag_src = { client->sin_addr.s_addr },
				.idiag_dst = { server->sin_addr.s_addr },
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
pid_t ab_peer_pid(const struct sockaddr_in *client)
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
 * @server:	Its destination: the listener
 * @w:		Result; w->pid is 0 if not found
 *
 * Return: 0 if found, -1 if not
 */
int ab_peer_owner(int diag, pid_t sandbox_pid,
		  const struct sockaddr_in *client,
		  const struct sockaddr_in *server, struct ab_actor *w)
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
