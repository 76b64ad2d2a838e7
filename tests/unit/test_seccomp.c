// SPDX-License-Identifier: MIT
/* test_seccomp.c - the filter agentbox loads (build/seccomp-filter.h), run
 * for real in a child: what it allows never waits for anyone, what it
 * refuses fails even when no supervisor answers (the listener closed).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "seccomp.h"

/* In a child: load the filter, close its listener, try a socket */
static int child_errno(int family, int type)
{
	int p[2], err = -1;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ab_err e = { 0 };
		int fd = -1, s, res;

		close(p[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    ab_seccomp_load(&fd, &e))
			_exit(2);
		close(fd);	/* nobody will answer */
		s = socket(family, type, 0);
		res = s >= 0 ? 0 : errno;
		(void)!write(p[1], &res, sizeof(res));
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &err, sizeof(err)), sizeof(err));
	close(p[0]);
	waitpid(pid, NULL, 0);
	return err;
}

static void refused_without_supervisor(void **state)
{
	(void)state;
	/* a refused call is a notification; with no listener, ENOSYS */
	assert_int_equal(child_errno(AF_INET, SOCK_DGRAM), ENOSYS);
	assert_int_equal(child_errno(AF_PACKET, SOCK_RAW), ENOSYS);
	/* unix datagrams: sendmsg could name a host socket bound later */
	assert_int_equal(child_errno(AF_UNIX, SOCK_DGRAM), ENOSYS);
}

static void allowed_without_supervisor(void **state)
{
	(void)state;
	assert_int_equal(child_errno(AF_INET, SOCK_STREAM), 0);
	assert_int_equal(child_errno(AF_UNIX, SOCK_STREAM), 0);
	assert_int_equal(child_errno(AF_UNIX, SOCK_SEQPACKET), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refused_without_supervisor),
		cmocka_unit_test(allowed_without_supervisor),
	};

	return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
