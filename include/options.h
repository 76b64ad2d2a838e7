/* SPDX-License-Identifier: MIT */
/* options.h - the command line, parsed into one struct ab_config.
 *
 * Parsing is pure: no file, socket or namespace is touched, so it is unit
 * tested directly.  Everything the rest of agentbox needs to know about what
 * the user asked for is in struct ab_config.
 */
#ifndef AB_OPTIONS_H
#define AB_OPTIONS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "err.h"

#define AB_MAX_PASS_FDS		16
#define AB_DEFAULT_SUBNET	"10.38.0.0/30"
#define AB_DEFAULT_PROXY_PORT	3128
#define AB_DEFAULT_MAX_CONNS	512
#define AB_DEFAULT_MIN_FREE	(32ULL << 20)	/* [audit] min_free */

/* An upstream proxy: http://HOST:PORT, resolved at parse time if numeric */
struct ab_upstream {
	char host[256];			/* as written, without brackets */
	unsigned short port;
	char source[32];		/* "--upstream" or the env var name */
	bool builtin;			/* "builtin": the relay is the proxy */
	bool tls;			/* https://, wss://: TLS to it */
	bool ws;			/* ws://, wss://: a WebSocket bridge */
	char path[1024];		/* ws: the bridge's request target */
};

#define AB_AUDIT_FILE		(1U << 0)
#define AB_AUDIT_SYSLOG		(1U << 1)
#define AB_DEFAULT_IDENTITY	"X-Agentbox-Session"

/* Which settings the command line gave (they win over a profile's) */
#define AB_SET_UPSTREAM		(1U << 0)
#define AB_SET_SUBNET		(1U << 1)
#define AB_SET_PROXY_PORT	(1U << 2)
#define AB_SET_MAX_CONNS	(1U << 3)
#define AB_SET_VERBOSE		(1U << 4)

struct ab_profile;
struct ab_policy;
struct ab_egress;
struct ab_audit;

struct ab_config {
	struct ab_upstream upstream;
	bool have_upstream;
	int verbose;
	bool tunnel_check;		/* upstream: check a tunnel's first
					 * bytes (always with the built-in) */
	bool intercept;			/* every TCP connection through the
					 * relay, by nftables in the gateway */
	bool negotiate;			/* Kerberos to the upstream proxy */
	struct in_addr sandbox_addr;	/* veth end in the sandbox (ab0) */
	struct in_addr gateway_addr;	/* veth end in the gateway (ab1) */
	unsigned prefix_len;		/* of the veth subnet */
	unsigned short proxy_port;	/* listener port in the gateway */
	unsigned max_conns;
	int pass_fds[AB_MAX_PASS_FDS];
	unsigned n_pass_fds;
	char *const *argv;		/* the command, NULL-terminated */
	const char *profile_name;	/* --profile, or NULL */
	unsigned cli_set;		/* AB_SET_* */
	const struct ab_profile *profile;	/* the merged profile */
	struct ab_policy *policy;	/* what init applies (policy.c) */
	struct ab_egress *egress;	/* built-in proxy's policy */
	char session[72];		/* --session, else the run's id */
	char run[24];			/* this run's own id */
	char user[64];			/* the caller's name, for the logs */
	unsigned audit_sinks;		/* AB_AUDIT_* */
	char audit_path[4096];		/* "" for the default */
	unsigned long long audit_min_free;	/* bytes kept free, else fail */
	struct ab_audit *audit;		/* opened by main */
	char credentials[4096];		/* user:password file, "" if none */
	char proxy_auth[512];		/* Proxy-Authorization value */
	char identity[64];		/* identity header field name */
	char self[4096];		/* this binary, "" if unknown */
	char ca_bundle[4096];		/* the proxy's CA (PEM), "" if none */
	char upstream_ca[4096];		/* CA of an https:// upstream's own
					 * certificate, "" for the system's */
	char upstream_token[4096];	/* ws(s):// bearer token file, or "" */
	char ws_token[4096];		/* its token, read by main */
	bool help;
	bool version;
};

int ab_options_parse(struct ab_config *c, int argc, char *const argv[],
		     struct ab_err *e);
int ab_parse_upstream(struct ab_upstream *u, const char *url,
		      const char *source, struct ab_err *e);
int ab_parse_subnet(const char *cidr, struct in_addr *sandbox,
		    struct in_addr *gateway, unsigned *prefix_len,
		    struct ab_err *e);
int ab_upstream_name(const struct ab_upstream *u, char *buf, size_t size);
int ab_upstream_from_env(struct ab_upstream *u, char *const envp[],
			 struct ab_err *e);
bool ab_session_label_ok(const char *s, size_t len);
void ab_usage(int fd);

#endif /* AB_OPTIONS_H */
