// SPDX-License-Identifier: MIT
/* peer.c - name the process behind a connection from the sandbox.
 *
 * The relay sees a connection from the sandbox's veth address and an
 * ephemeral port.  The sandbox's own TCP table (/proc/PID/net/tcp of any
 * process in it) maps that port to a socket inode; the process holding the
 * inode is found among the sandbox's processes only (init's descendants,
 * through /proc/PID/task/TID/children), never the whole host.  The process
 * that last matched is tried first: a client usually opens many.
 *
 * This is best effort and costs a few /proc reads per connection; a socket
 * passed to another process, or a process that exits at once, may be named
 * wrongly or not at all (pid 0).  It is for the audit log, never for policy.
 */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

#define MAX_PROCS	4096

static pid_t last_pid;

static unsigned long socket_inode(pid_t pid, unsigned short client_port,
				  unsigned short proxy_port)
{
	char path[64], line[512];
	unsigned long inode = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/tcp", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned lport, rport;
		unsigned long ino;

		if (sscanf(line, " %*u: %*x:%x %*x:%x %*x %*x:%*x %*x:%*x %*x "
			   "%*u %*u %lu", &lport, &rport, &ino) != 3)
			continue;
		if (lport == client_port && rport == proxy_port) {
			inode = ino;
			break;
		}
	}
	fclose(f);
	return inode;
}

static int holds(pid_t pid, const char *want)
{
	char path[64], link[64];
	struct dirent *d;
	int found = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (!found && (d = readdir(dir))) {
		char fdp[384];
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
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
 * @sandbox_pid: The sandbox's init, in our pid namespace
 * @client_port: The connection's source port (as the relay sees it)
 * @proxy_port:	The listener's port
 * @w:		Result; w->pid is 0 if not found
 *
 * Return: 0 if found, -1 if not
 */
int ab_peer_owner(pid_t sandbox_pid, unsigned short client_port,
		  unsigned short proxy_port, struct ab_actor *w)
{
	static pid_t list[MAX_PROCS];
	unsigned long inode;
	unsigned n = 0;
	char want[48];

	memset(w, 0, sizeof(*w));
	if (sandbox_pid <= 0)
		return -1;
	inode = socket_inode(sandbox_pid, client_port, proxy_port);
	if (!inode)
		return -1;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if (last_pid > 0 && holds(last_pid, want)) {
		ab_actor_fill(w, last_pid);
		return 0;
	}
	add_children(sandbox_pid, list, &n);
	for (unsigned i = 0; i < n; i++) {
		if (holds(list[i], want)) {
			last_pid = list[i];
			ab_actor_fill(w, list[i]);
			return 0;
		}
		add_children(list[i], list, &n);
	}
	return -1;
}
