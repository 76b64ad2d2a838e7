// SPDX-License-Identifier: MIT
/* try-syscall - make one dangerous call and report what the kernel said.
 *
 * Usage: try-syscall PROBE [ARG]
 * Prints "PROBE: ok" or "PROBE: ERRNAME" and exits 0 if the call succeeded,
 * 1 if it failed.  A process killed by seccomp dies with SIGSYS (exit 159
 * from a shell).  The integration tests assert on the output, so every
 * escape the sandbox must stop has a probe here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <linux/vm_sockets.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif

static int report(const char *probe, long rc)
{
	if (rc >= 0) {
		printf("%s: ok\n", probe);
		return 0;
	}
	printf("%s: %s\n", probe, strerrorname_np(errno));
	return 1;
}

/* socket() through the i386 ABI (int 0x80), nr 359 */
static long i386_socket(int domain, int type, int proto)
{
#if defined(__x86_64__)
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(359L), "b"((long)domain), "c"((long)type),
			   "d"((long)proto)
			 : "memory");
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
#else
	errno = ENOSYS;
	return -1;
#endif
}

int main(int argc, char **argv)
{
	const char *p = argc > 1 ? argv[1] : "";
	long arg = argc > 2 ? strtol(argv[2], NULL, 0) : 0;

	if (!strcmp(p, "udp"))
		return report(p, socket(AF_INET, SOCK_DGRAM, 0));
	if (!strcmp(p, "udp6"))
		return report(p, socket(AF_INET6, SOCK_DGRAM, 0));
	if (!strcmp(p, "udp-nonblock"))
		return report(p, socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK |
					SOCK_CLOEXEC, 0));
	if (!strcmp(p, "icmp"))
		return report(p, socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
	if (!strcmp(p, "raw"))
		return report(p, socket(AF_INET, SOCK_RAW, IPPROTO_RAW));
	if (!strcmp(p, "sctp"))
		return report(p, socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP));
	if (!strcmp(p, "mptcp"))
		return report(p, socket(AF_INET, SOCK_STREAM, 262));
	if (!strcmp(p, "packet"))
		return report(p, socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
	if (!strcmp(p, "vsock"))
		return report(p, socket(AF_VSOCK, SOCK_STREAM, 0));
	if (!strcmp(p, "netlink-audit"))
		return report(p, socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT));
	if (!strcmp(p, "netlink-route"))
		return report(p, socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
	if (!strcmp(p, "tcp"))
		return report(p, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!strcmp(p, "tcp6"))
		return report(p, socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP));
	if (!strcmp(p, "unix-dgram"))
		return report(p, socket(AF_UNIX, SOCK_DGRAM, 0));
	if (!strcmp(p, "unix-stream"))
		return report(p, socket(AF_UNIX, SOCK_STREAM, 0));
	if (!strcmp(p, "unix-seqpacket"))
		return report(p, socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
					0));
	if (!strcmp(p, "socketpair-inet")) {
		int sv[2];

		return report(p, socketpair(AF_INET, SOCK_STREAM, 0, sv));
	}
	if (!strcmp(p, "udp-highbits"))	/* AF_INET with garbage above */
		return report(p, syscall(SYS_socket, 0x100000002L, 2L, 0L));
	if (!strcmp(p, "io_uring")) {
		char params[120] = { 0 };

		return report(p, syscall(__NR_io_uring_setup, 4, params));
	}
	if (!strcmp(p, "tiocsti")) {
		char c = 'x';

		return report(p, ioctl(0, TIOCSTI, &c));
	}
	if (!strcmp(p, "tiocsti-highbits")) {
		char c = 'x';

		return report(p, syscall(SYS_ioctl, 0,
					 0x100000000UL | TIOCSTI, &c));
	}
	if (!strcmp(p, "tioclinux")) {
		char c = 0;

		return report(p, ioctl(0, TIOCLINUX, &c));
	}
	if (!strcmp(p, "i386-socket"))
		return report(p, i386_socket(AF_INET, SOCK_DGRAM, 0));
	if (!strcmp(p, "x32-socket"))	/* x32 ABI: __X32_SYSCALL_BIT | 41 */
		return report(p, syscall(0x40000000L | 41, AF_INET,
					 SOCK_DGRAM, 0));
	if (!strcmp(p, "ptrace"))
		return report(p, ptrace(PTRACE_ATTACH, (pid_t)arg, 0, 0));
	if (!strcmp(p, "kill"))
		return report(p, kill((pid_t)arg, 0));
	if (!strcmp(p, "seccomp-listener")) {	/* a notification listener */
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K,
						    SECCOMP_RET_ALLOW);
		struct sock_fprog prog = { .len = 1, .filter = &allow };

		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		return report(p, syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
					 SECCOMP_FILTER_FLAG_NEW_LISTENER,
					 &prog));
	}
	if (!strcmp(p, "seccomp-filter")) {	/* a filter without one */
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K,
						    SECCOMP_RET_ALLOW);
		struct sock_fprog prog = { .len = 1, .filter = &allow };

		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		return report(p, syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
					 0, &prog));
	}
	if (!strcmp(p, "fd"))	/* is descriptor ARG open? */
		return report(p, fcntl((int)arg, F_GETFD));
	fprintf(stderr, "try-syscall: unknown probe '%s'\n", p);
	return 2;
}
