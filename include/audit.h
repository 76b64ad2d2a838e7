/* SPDX-License-Identifier: MIT */
/* audit.h - the audit log: one JSON object per line, ECS field names.
 *
 * The supervisor writes it; the sandbox can neither see nor touch it (the
 * file's directory is hidden inside, see policy.c).  Sinks: a file, syslog
 * (LOG_AUTHPRIV), both, or none.
 */
#ifndef AB_AUDIT_H
#define AB_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct ab_audit;

struct ab_audit_cfg {
	const char *path;		/* file sink, or NULL */
	bool syslog;			/* syslog sink */
	const char *session;
	const char *run;
	const char *user;		/* the caller's name */
	const char *profile;		/* its name, "" if none */
	const char *policy_sha256;	/* ab_profile_sha256(), or NULL */
	char *const *policy_files;	/* the profile's files, as read */
	unsigned n_policy_files;
	const char *upstream;		/* "builtin" or "HOST:PORT" */
	unsigned long long min_free;	/* [audit] min_free, bytes */
};

/* Who did something inside the sandbox (pid 0: not known) */
struct ab_actor {
	pid_t pid;
	char name[32];			/* comm */
	char exe[256];
	char args[512];			/* argv, each NUL-terminated; whole
					 * arguments only */
	unsigned args_len;
	pid_t ppid;			/* its parent, 0 if unknown */
	char pname[32];
	char pexe[256];
};

/* One request through the relay, or one refusal */
struct ab_audit_req {
	const char *action;		/* "http-request", "connect" */
	bool allowed;			/* the relay let it through */
	bool failed;			/* it ended in a reset or a cut */
	int status;			/* HTTP status the client got, 0 none */
	const char *reason;		/* why refused or failed, or NULL */
	const char *method;
	const char *domain;		/* host as requested */
	unsigned port;
	const char *address;		/* what the relay connected to, or NULL */
	const char *url;		/* absolute URL or host:port */
	const char *intercepted;	/* how an intercepted connection was
					 * carried ("http", "tls", "tcp",
					 * "dns"), NULL if it came to the
					 * proxy port */
	const char *orig_addr;		/* intercepted: where the sandbox
					 * connected (a fake address, or the
					 * IP literal) ... */
	unsigned orig_port;		/* ... and its port */
	const char *sni;		/* the ClientHello's server name */
	const char *protocol;		/* network.protocol, NULL: "http" */
	const char *dns_type;		/* a lookup's question type ... */
	const char *dns_rcode;		/* ... and our answer's rcode */
	uint64_t bytes_up, bytes_down;
	uint64_t duration_us;
	const struct ab_actor *who;
	/* folded refusals (audit.c): how many this line stands for, the
	 * first's and the last's time (us since the epoch); count 0 is 1 */
	unsigned long count;
	uint64_t first_us, last_us;
};

struct ab_audit *ab_audit_open(const struct ab_audit_cfg *cfg,
			       struct ab_err *e);
void ab_audit_session(struct ab_audit *a, bool start, char *const argv[],
		      const char *cwd, int exit_code, uint64_t duration_us,
		      const char *reason);
void ab_audit_request(struct ab_audit *a, const struct ab_audit_req *r);
void ab_audit_flush(struct ab_audit *a, bool all);
void ab_audit_socket(struct ab_audit *a, const struct ab_actor *who,
		     int family, int type, int protocol, int nr,
		     unsigned long count, uint64_t first_us, uint64_t last_us);
void ab_audit_unix(struct ab_audit *a, const struct ab_actor *who,
		   const char *path);
void ab_audit_close(struct ab_audit *a);
int ab_audit_failed(const struct ab_audit *a);
int ab_audit_check(const struct ab_audit *a, struct ab_err *e);
int ab_audit_default_path(char *buf, size_t size);
void ab_actor_fill(struct ab_actor *w, pid_t pid);

#endif /* AB_AUDIT_H */
