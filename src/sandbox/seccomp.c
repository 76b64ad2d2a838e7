// SPDX-License-Identifier: MIT
/* seccomp.c - the syscall filter that keeps the command on TCP (libseccomp).
 *
 * Built at build time: tools/gen-seccomp runs ab_seccomp_export() and
 * writes the BPF program into build/seccomp-filter.h, which seccomp-load.c
 * loads as it is (building it at every start cost a quarter of a
 * millisecond).  The program is for the build machine's architecture.
 *
 * Theory of operation: the default action is to allow; what is refused is
 * listed.  socket() may create only
 *   AF_UNIX streams and seqpackets (not datagrams, whose sendmsg(2)
 *     address the filter cannot see),
 *   AF_NETLINK with protocol NETLINK_ROUTE (glibc and Chromium read
 *     addresses with it; changing anything needs CAP_NET_ADMIN, which is
 *     gone),
 *   AF_INET and AF_INET6 with type SOCK_STREAM (SOCK_NONBLOCK and
 *     SOCK_CLOEXEC ignored) and protocol 0 or IPPROTO_TCP (not SCTP, not
 *     MPTCP);
 * socketpair() only AF_UNIX, not datagrams.  Every connect() goes to the
 * supervisor, which makes the call itself (onbehalf.c): a unix socket a
 * host daemon binds after the start is refused there.  Everything else
 * fails: an unknown family with
 * EAFNOSUPPORT (what programs expect of a family the kernel lacks), a
 * refused type or protocol of an allowed family with EPERM.  The refusals
 * are user notifications (SCMP_ACT_NOTIFY): the supervisor logs who tried
 * and answers with the error (notify.c); it never lets a call through.  If
 * the supervisor is gone the kernel fails the call with ENOSYS.  Allowed
 * calls never leave the kernel.  A process of the sandbox may not create a
 * notification listener of its own (seccomp() with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER fails with EPERM): a newer filter's
 * listener sees a notification first and could answer "continue".
 *
 * libseccomp takes one comparison per argument in a rule, so each refused
 * range of values is cut into aligned power-of-two blocks and each block is
 * one masked comparison; anything at or above 64 (families) or 7
 * (protocols) is refused by a ">=" rule.  The comparisons are on all 64 bits
 * of the argument while the kernel reads only the low 32 bits of an int, so
 * a value with garbage in the high half never equals an allowed one and
 * always lands in a ">=" rule: it is refused, never let through.
 *
 * io_uring_setup/enter/register fail with ENOSYS (io_uring performs socket
 * operations that seccomp never sees).  ioctl TIOCSTI and TIOCLINUX (which
 * push input into the terminal, to be run by the shell outside) fail with
 * EPERM, comparing only the low 32 bits of the request as the kernel does.
 *
 * Other ABIs: the filter is for the native ABI only; a syscall made through
 * another (i386 via int 0x80, x32) kills the process, so i386's socketcall,
 * whose arguments seccomp cannot read, is never a way around it.
 */

#include <errno.h>
#include <linux/seccomp.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "seccomp.h"	/* our own, on the quote path */
#include "util.h"

#define FAMILY_LIMIT	64	/* families at or above: refused */
#define PROTO_LIMIT	7	/* inet protocols at or above: refused */

/**
 * deny_block() - Refuse one aligned block of values of an argument
 * @ctx:	Filter
 * @action:	SCMP_ACT_ERRNO(...)
 * @nr:		Syscall
 * @arg:	Argument index
 * @lo:		First value of the block (aligned to @size)
 * @size:	Block size, a power of two
 * @valmask:	Bits of the argument the values live in (0xf for a type)
 * @pre:	Extra comparison on another argument, or NULL
 *
 * Return: 0 on success, negative errno from libseccomp
 */
static int deny_block(scmp_filter_ctx ctx, uint32_t action, int nr,
		      unsigned arg, uint64_t lo, uint64_t size,
		      uint64_t valmask, const struct scmp_arg_cmp *pre)
{
	struct scmp_arg_cmp cmp[2];
	unsigned n = 0;

	if (pre)
		cmp[n++] = *pre;
	cmp[n++] = (struct scmp_arg_cmp){
		.arg = arg, .op = SCMP_CMP_MASKED_EQ,
		.datum_a = valmask & ~(size - 1), .datum_b = lo,
	};
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

/**
 * deny_range() - Refuse the values @lo to @hi (inclusive) of an argument
 * @ctx:	Filter
 * @action:	Action
 * @nr:		Syscall
 * @arg:	Argument index
 * @lo:		First value
 * @hi:		Last value
 * @valmask:	Bits the values live in
 * @pre:	Extra comparison, or NULL
 *
 * Return: 0 on success, negative errno from libseccomp
 */
static int deny_range(scmp_filter_ctx ctx, uint32_t action, int nr,
		      unsigned arg, uint64_t lo, uint64_t hi,
		      uint64_t valmask, const struct scmp_arg_cmp *pre)
{
	while (lo <= hi) {
		uint64_t size = 1;
		int rc;

		/* the largest aligned block starting at lo within [lo, hi] */
		while (!(lo & size) && lo + size * 2 - 1 <= hi && size < (1U << 30))
			size *= 2;
		rc = deny_block(ctx, action, nr, arg, lo, size, valmask, pre);
		if (rc)
			return rc;
		lo += size;
	}
	return 0;
}

/**
 * deny_from() - Refuse every value of an argument at or above @lo
 * @ctx:	Filter
 * @action:	Action
 * @nr:		Syscall
 * @arg:	Argument index
 * @lo:		First refused value
 * @pre:	Extra comparison, or NULL
 *
 * Return: 0 on success, negative errno from libseccomp
 */
static int deny_from(scmp_filter_ctx ctx, uint32_t action, int nr,
		     unsigned arg, uint64_t lo, const struct scmp_arg_cmp *pre)
{
	struct scmp_arg_cmp cmp[2];
	unsigned n = 0;

	if (pre)
		cmp[n++] = *pre;
	cmp[n++] = (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_GE,
					  .datum_a = lo };
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

/**
 * deny_families_except() - Refuse every family but the allowed ones
 * @ctx:	Filter
 * @nr:		socket or socketpair
 * @allowed:	Allowed families, ascending
 * @n:		How many
 *
 * Return: 0 on success, negative errno from libseccomp
 */
static int deny_families_except(scmp_filter_ctx ctx, int nr,
				const int *allowed, unsigned n)
{
	uint32_t act = SCMP_ACT_NOTIFY;
	uint64_t lo = 0;
	int rc;

	for (unsigned i = 0; i < n; i++) {
		if ((uint64_t)allowed[i] > lo) {
			rc = deny_range(ctx, act, nr, 0, lo,
					(uint64_t)allowed[i] - 1, ~0ULL, NULL);
			if (rc)
				return rc;
		}
		lo = (uint64_t)allowed[i] + 1;
	}
	if (lo < FAMILY_LIMIT) {
		rc = deny_range(ctx, act, nr, 0, lo, FAMILY_LIMIT - 1, ~0ULL,
				NULL);
		if (rc)
			return rc;
	}
	return deny_from(ctx, act, nr, 0, FAMILY_LIMIT, NULL);
}

/**
 * deny_inet_non_tcp() - For AF_INET or AF_INET6: refuse all but TCP streams
 * @ctx:	Filter
 * @family:	AF_INET or AF_INET6
 *
 * Return: 0 on success, negative errno from libseccomp
 */
static int deny_inet_non_tcp(scmp_filter_ctx ctx, int family)
{
	const struct scmp_arg_cmp fam = SCMP_A0(SCMP_CMP_EQ, (uint64_t)family);
	uint32_t act = SCMP_ACT_NOTIFY;
	int nr = SCMP_SYS(socket), rc;

	/* type (low 4 bits of arg 1): everything but SOCK_STREAM (1) */
	rc = deny_range(ctx, act, nr, 1, 0, 0, 0xf, &fam);
	if (!rc)
		rc = deny_range(ctx, act, nr, 1, 2, 15, 0xf, &fam);
	/* protocol: everything but 0 and IPPROTO_TCP (6) */
	if (!rc)
		rc = deny_range(ctx, act, nr, 2, 1, IPPROTO_TCP - 1, ~0ULL,
				&fam);
	if (!rc)
		rc = deny_from(ctx, act, nr, 2, PROTO_LIMIT, &fam);
	return rc;
}

/**
 * build_rules() - Add every rule of the filter
 * @ctx:	Filter
 * @what:	Result: which rule failed, for the error
 *
 * Return: 0 on success, negative errno from libseccomp
 */
static int build_rules(scmp_filter_ctx ctx, const char **what)
{
	static const int sock_families[] = { AF_UNIX, AF_INET, AF_INET6,
					     AF_NETLINK };
	static const int pair_families[] = { AF_UNIX };
	const struct scmp_arg_cmp nl = SCMP_A0(SCMP_CMP_EQ, AF_NETLINK);
	const struct scmp_arg_cmp unix_family = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	static const char *const io_uring[] = {
		"io_uring_setup", "io_uring_enter", "io_uring_register",
	};
	static const unsigned long tty_ioctls[] = { TIOCSTI, TIOCLINUX };
	int rc;

	*what = "socket families";
	rc = deny_families_except(ctx, SCMP_SYS(socket), sock_families,
				  ARRAY_SIZE(sock_families));
	if (rc)
		return rc;
	*what = "socketpair families";
	rc = deny_families_except(ctx, SCMP_SYS(socketpair), pair_families,
				  ARRAY_SIZE(pair_families));
	if (rc)
		return rc;
	*what = "AF_INET types and protocols";
	if ((rc = deny_inet_non_tcp(ctx, AF_INET)))
		return rc;
	*what = "AF_INET6 types and protocols";
	if ((rc = deny_inet_non_tcp(ctx, AF_INET6)))
		return rc;
	*what = "AF_NETLINK protocols";
	rc = deny_from(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socket), 2,
		       NETLINK_ROUTE + 1, &nl);
	if (rc)
		return rc;

	/* Unix datagrams: sendmsg(2) names its address in memory that this
	 * filter cannot read, so a datagram could reach a host socket bound
	 * after the start; streams and seqpackets go through connect() */
	*what = "AF_UNIX datagrams";
	rc = deny_range(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socket), 1, SOCK_DGRAM,
			SOCK_DGRAM, 0xf, &unix_family);
	if (!rc)
		rc = deny_range(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socketpair), 1,
				SOCK_DGRAM, SOCK_DGRAM, 0xf, &unix_family);
	if (rc)
		return rc;

	/* Every connect() is made by the supervisor (onbehalf.c), which
	 * checks a unix address against the sockets bound in the sandbox */
	*what = "connect";
	rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(connect), 0);
	if (rc)
		return rc;

	/* No listener of the sandbox's own: a newer filter's listener would
	 * get our notifications first and could let the call through */
	*what = "seccomp listeners";
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(seccomp), 2,
			      SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER),
			      SCMP_A1(SCMP_CMP_MASKED_EQ,
				      SECCOMP_FILTER_FLAG_NEW_LISTENER,
				      SECCOMP_FILTER_FLAG_NEW_LISTENER));
	if (rc)
		return rc;

	*what = "io_uring";
	for (unsigned i = 0; i < ARRAY_SIZE(io_uring); i++) {
		int nr = seccomp_syscall_resolve_name(io_uring[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;	/* libseccomp older than the syscall */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		if (rc)
			return rc;
	}

	*what = "ioctl TIOCSTI/TIOCLINUX";
	for (unsigned i = 0; i < ARRAY_SIZE(tty_ioctls); i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
				      SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffU,
					      tty_ioctls[i]));
		if (rc)
			return rc;
	}
	return 0;
}

/**
 * ab_seccomp_export() - Build the filter and write its BPF program to @fd
 * @fd:		Where the program goes (struct sock_filter, native order)
 * @e:		Error
 *
 * Run at build time by tools/gen-seccomp; agentbox loads the result
 * (seccomp-load.c) without building anything at run time.
 *
 * Return: 0 on success, -1 with @e filled
 */
int ab_seccomp_export(int fd, struct ab_err *e)
{
	scmp_filter_ctx ctx;
	const char *what = "init";
	int rc;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return ab_fail(e, ENOMEM, "seccomp: seccomp_init");

	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			      SCMP_ACT_KILL_PROCESS);
	if (!rc)
		rc = build_rules(ctx, &what);
	if (rc) {
		seccomp_release(ctx);
		return ab_fail(e, -rc, "seccomp: rule for %s", what);
	}
	rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc)
		return ab_fail(e, -rc, "seccomp: export BPF");
	return 0;
}
