// SPDX-License-Identifier: MIT
/* audit.c - the audit log, written with jansson.
 *
 * Each event is one JSON object on one line, with Elastic Common Schema
 * field names (nested objects: {"event":{"action":...}}), so that Filebeat
 * or the Elastic agent ingest it without a pipeline.  The event of every
 * relayed request is written straight into a buffer (jsonw.c, 3 us); the
 * rarer ones through jansson objects (16 us).  Events:
 *
 *   session-start   command line, cwd, profile, upstream
 *   session-end     exit code, duration
 *   http-request    one per request through the relay (absolute-form)
 *   connect         one per CONNECT tunnel
 *   connection      a connection that carried no request (client-gone)
 *   socket-denied   a socket() the seccomp filter refused, folded
 *   unix-denied     a connect() to a host unix socket, refused
 *
 * Every event carries agentbox.session (--session, else the run's id),
 * agentbox.run (this run's own id), agentbox.profile, user.name and, where
 * known, the process inside the sandbox that caused it.
 *
 * The file is opened O_APPEND before the sandbox exists, and each line is
 * one write(2): lines from concurrent sessions do not interleave.
 *
 * Fail closed: an event that cannot be written whole (the disk full, the
 * file system below the [audit] min_free reserve, an I/O error, the file
 * size limit) is not half written: a short write's tail is cut off again
 * (when nothing was appended after it).  The log is then failed: nothing
 * more is written to it, one line on stderr and one on syslog (authpriv,
 * LOG_ERR) say which file and why, and ab_audit_failed() tells the relay
 * and the supervisor, which stop accepting connections, end the session
 * and exit with AB_EXIT_AUDIT.  A missing session-end line therefore means
 * that the session ended abnormally.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "jsonw.h"
#include "util.h"

#define ECS_VERSION	"8.11.0"
#define RESERVE_CHECK	65536	/* bytes between checks of min_free */
#define FOLD_US		1000000	/* refused requests of a kind: one line a second */
#define FOLD_KINDS	64

/* Refused requests of one kind (process, status, host, port, reason),
 * counted since their line */
struct req_fold {
	bool used;
	uint64_t until;			/* the interval ends (monotonic us) */
	struct ab_audit_req r;		/* the first; strings point below */
	struct ab_actor who;
	char action[16], reason[400], method[16], domain[256], url[320];
	char icpt[8], oaddr[48], sni[256], proto[8], dtype[16], drcode[16];
};

struct ab_audit {
	int fd;
	bool syslog;
	char path[PATH_MAX];
	uint64_t min_free;		/* bytes the file system keeps free */
	int failed;			/* errno of the first failure, or 0 */
	bool started;			/* the session-start line is written */
	size_t unchecked;		/* bytes written since the reserve was
					 * last checked */
	struct req_fold folds[FOLD_KINDS];
	unsigned long long seq;		/* event.sequence of the next line */
	char session[72];
	char run[24];
	char profile[256];
	char policy_sha256[72];		/* "" if none */
	char policy_files[4096];	/* each NUL-terminated */
	size_t policy_files_len;
	char upstream[300];
	char user[64];
	char uid[16];
};

/**
 * ab_audit_default_path() - $XDG_STATE_HOME/agentbox/audit.jsonl
 * @buf:	Result
 * @size:	Its size
 *
 * Falls back to ~/.local/state when XDG_STATE_HOME is unset or relative.
 *
 * Return: 0, or -1 if there is no home directory to put it in
 */
int ab_audit_default_path(char *buf, size_t size)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int n;

	if (x && x[0] == '/')
		n = snprintf(buf, size, "%s/agentbox/audit.jsonl", x);
	else if (home && home[0] == '/')
		n = snprintf(buf, size, "%s/.local/state/agentbox/audit.jsonl",
			     home);
	else
		return -1;
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* mkdir -p for the directory part of @path, mode 0700 for what we make */
static int make_parents(const char *path, struct ab_err *e)
{
	char dir[PATH_MAX];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return ab_fail(e, errno, "audit log: mkdir %s", dir);
		*p = '/';
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return ab_fail(e, errno, "audit log: mkdir %s", dir);
	return 0;
}

/**
 * ab_audit_open() - Open the sinks
 * @cfg:	What to open
 * @e:		Error
 *
 * Return: the log, or NULL with @e filled
 */
struct ab_audit *ab_audit_open(const struct ab_audit_cfg *cfg,
			       struct ab_err *e)
{
	struct ab_audit *a = calloc(1, sizeof(*a));

	if (!a) {
		ab_fail(e, ENOMEM, "audit log");
		return NULL;
	}
	a->fd = -1;
	a->min_free = cfg->min_free;
	a->unchecked = RESERVE_CHECK;	/* the first line checks */
	if (cfg->path) {
		snprintf(a->path, sizeof(a->path), "%s", cfg->path);
		if (make_parents(cfg->path, e))
			goto fail;
		a->fd = open(cfg->path, O_RDWR | O_APPEND | O_CREAT |
			     O_CLOEXEC | O_NOFOLLOW, 0600);
		if (a->fd < 0) {
			ab_fail(e, errno, "audit log %s: open", cfg->path);
			goto fail;
		}
	}
	if (cfg->syslog) {
		openlog("agentbox", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
		a->syslog = true;
	}
	snprintf(a->session, sizeof(a->session), "%s", cfg->session);
	snprintf(a->run, sizeof(a->run), "%s", cfg->run);
	snprintf(a->profile, sizeof(a->profile), "%s", cfg->profile);
	snprintf(a->policy_sha256, sizeof(a->policy_sha256), "%s",
		 cfg->policy_sha256 ? cfg->policy_sha256 : "");
	for (unsigned i = 0; i < cfg->n_policy_files; i++) {
		size_t n = strlen(cfg->policy_files[i]) + 1;

		if (n > sizeof(a->policy_files) - a->policy_files_len)
			break;
		memcpy(a->policy_files + a->policy_files_len,
		       cfg->policy_files[i], n);
		a->policy_files_len += n;
	}
	snprintf(a->upstream, sizeof(a->upstream), "%s", cfg->upstream);
	snprintf(a->uid, sizeof(a->uid), "%u", (unsigned)getuid());
	snprintf(a->user, sizeof(a->user), "%s", cfg->user);
	return a;
fail:
	free(a);
	return NULL;
}

/* An ECS date with milliseconds, from us since the epoch */
static const char *iso_time(uint64_t us, char *buf, size_t size)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), size - strlen(buf), ".%03uZ",
		 (unsigned)(us / 1000 % 1000));
	return buf;
}

/* Now, as an ECS date with milliseconds */
static const char *stamp(char *ts, size_t size)
{
	return iso_time(ab_wall_us(), ts, size);
}

static json_t *event_base(struct ab_audit *a, const char *action,
			  const char *category, const char *kind_type,
			  const char *outcome)
{
	char ts[40];
	json_t *o;

	stamp(ts, sizeof(ts));
	o = json_pack("{s:s, s:{s:s}, s:{s:s, s:s, s:[s], s:[s], s:s, s:I}, "
		      "s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s}}",
		      "@timestamp", ts,
		      "ecs", "version", ECS_VERSION,
		      "event", "kind", "event", "action", action,
		      "category", category, "type", kind_type,
		      "outcome", outcome, "sequence", (json_int_t)++a->seq,
		      "user", "name", a->user, "id", a->uid,
		      "agentbox", "session", a->session, "run", a->run,
		      "profile",
		      a->profile, "upstream", a->upstream);
	if (o && a->policy_sha256[0]) {
		json_t *files = json_array();

		for (size_t off = 0; files && off < a->policy_files_len;
		     off += strlen(a->policy_files + off) + 1)
			json_array_append_new(files, json_string(
				a->policy_files + off));
		json_object_set_new(json_object_get(o, "agentbox"), "policy",
				    json_pack("{s:s, s:o*}", "sha256",
					      a->policy_sha256, "files",
					      files));
	}
	return o;
}

static void add_actor(json_t *o, const struct ab_actor *w)
{
	json_t *p;

	if (!w || !w->pid)
		return;
	p = json_pack("{s:I}", "pid", (json_int_t)w->pid);
	if (!p)
		return;
	if (w->name[0])
		json_object_set_new(p, "name", json_string(w->name));
	if (w->exe[0])
		json_object_set_new(p, "executable", json_string(w->exe));
	if (w->args_len) {
		json_t *args = json_array();

		for (unsigned off = 0; args && off < w->args_len;
		     off += (unsigned)strlen(w->args + off) + 1)
			json_array_append_new(args, json_string(w->args + off));
		json_object_set_new(p, "args", args);
	}
	if (w->ppid > 0) {
		json_t *pp = json_pack("{s:I}", "pid", (json_int_t)w->ppid);

		if (pp && w->pname[0])
			json_object_set_new(pp, "name", json_string(w->pname));
		if (pp && w->pexe[0])
			json_object_set_new(pp, "executable",
					    json_string(w->pexe));
		json_object_set_new(p, "parent", pp);
	}
	json_object_set_new(o, "process", p);
}

/**
 * fail_log() - The log cannot be written: say so once, stop writing
 * @a:		Log
 * @err:	errno
 * @why:	What failed
 */
static void fail_log(struct ab_audit *a, int err, const char *why)
{
	if (a->failed)
		return;
	a->failed = err ? err : EIO;
	/* before the start is logged, the caller reports it (125) */
	if (a->started)
		dprintf(STDERR_FILENO, "agentbox: audit log %s: %s: %s; the session is "
		"ended (exit %d): it could not be audited\n", a->path, why,
		strerror(a->failed), AB_EXIT_AUDIT);
	if (!a->syslog)
		openlog("agentbox", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	syslog(LOG_ERR, "audit log %s of session %s: %s: %s; session ended",
	       a->path, a->session, why, strerror(a->failed));
}

/* A short write's tail, cut off again if nothing came after it */
static void unwrite(int fd, const char *s, size_t n)
{
	char tail[4096];
	struct stat st;

	if (n > sizeof(tail) || fstat(fd, &st) || (size_t)st.st_size < n)
		return;
	if (pread(fd, tail, n, st.st_size - (off_t)n) == (ssize_t)n &&
	    !memcmp(tail, s, n))
		(void)!ftruncate(fd, st.st_size - (off_t)n);
}

/**
 * write_line() - One event as one whole line, or nothing
 * @a:		Log with a file
 * @s:		The line, with its newline
 * @len:	Its length
 *
 * Return: 0, or -1 after failing the log
 */
static int write_line(struct ab_audit *a, const char *s, size_t len)
{
	struct statvfs vfs;
	ssize_t n = 0;

	/* the reserve is checked once per RESERVE_CHECK bytes: it is
	 * megabytes, a line is hundreds of bytes */
	if (a->min_free && (a->unchecked += len) >= RESERVE_CHECK) {
		a->unchecked = 0;
		if (!fstatvfs(a->fd, &vfs) && (uint64_t)vfs.f_bavail *
		    vfs.f_frsize < a->min_free + RESERVE_CHECK) {
			fail_log(a, ENOSPC, "below the free space reserve "
				 "([audit] min_free)");
			return -1;
		}
	}
	size_t done = 0;
	int err;

	/* a short write is tried on once: it completes the line, or says
	 * why it cannot (ENOSPC, EFBIG) */
	for (int tries = 0; done < len && tries < 2; ) {
		n = write(a->fd, s + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
		tries++;
	}
	if (done == len)
		return 0;
	err = n < 0 ? errno : ENOSPC;
	if (done)
		unwrite(a->fd, s, done);
	fail_log(a, err, "write");
	return -1;
}

/* One event's text, @len bytes and room for one more (the newline) */
static void emit_text(struct ab_audit *a, char *s, size_t len)
{
	if (a->syslog)
		syslog(LOG_INFO, "%s", s);
	if (a->fd >= 0 && !a->failed) {
		s[len] = '\n';
		write_line(a, s, len + 1);
	}
}

static void emit(struct ab_audit *a, json_t *o)
{
	char *s;

	if (!o)
		return;
	/* JSON_ENSURE_ASCII: a name from the sandbox cannot smuggle
	 * bytes that a terminal or a log shipper would interpret */
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!s)
		return;
	emit_text(a, s, strlen(s));	/* json_dumps gave len + 1 bytes */
	free(s);
}

/**
 * ab_audit_failed() - Whether the log could not be written
 * @a:		Log, may be NULL
 *
 * Return: the errno of the failure, 0 if none
 */
int ab_audit_failed(const struct ab_audit *a)
{
	return a ? a->failed : 0;
}

/**
 * ab_audit_check() - Whether the log can take a session now
 * @a:		Log, may be NULL
 * @e:		Error
 *
 * The file system must have more than the reserve free, and the log must
 * not have failed.
 *
 * Return: 0, or -1 with @e filled
 */
int ab_audit_check(const struct ab_audit *a, struct ab_err *e)
{
	struct statvfs vfs;

	if (!a || a->fd < 0)
		return 0;
	if (a->failed)
		return ab_fail(e, a->failed, "audit log %s", a->path);
	if (fstatvfs(a->fd, &vfs))
		return ab_fail(e, errno, "audit log %s: statvfs", a->path);
	if ((uint64_t)vfs.f_bavail * vfs.f_frsize <= a->min_free) {
		ab_fail(e, ENOSPC, "audit log %s: %llu bytes free, the reserve "
			"([audit] min_free) is %llu", a->path,
			(unsigned long long)vfs.f_bavail * vfs.f_frsize,
			(unsigned long long)a->min_free);
		ab_hint(e, "free space there, or put the log elsewhere with "
			"[audit] file");
		return -1;
	}
	return 0;
}

/**
 * ab_audit_session() - Log the start or the end of the session
 * @a:		Log, may be NULL
 * @start:	Start (else end)
 * @argv:	The command (start)
 * @cwd:	Its working directory (start)
 * @exit_code:	What agentbox exits with (end)
 * @duration_us: How long the session ran (end)
 * @reason:	Why it failed to start (end), or NULL
 */
void ab_audit_session(struct ab_audit *a, bool start, char *const argv[],
		      const char *cwd, int exit_code, uint64_t duration_us,
		      const char *reason)
{
	json_t *o;

	if (!a)
		return;
	o = event_base(a, start ? "session-start" : "session-end", "process",
		       start ? "start" : "end",
		       start || !exit_code ? "success" : "failure");
	if (!o)
		return;
	if (start) {
		json_t *args = json_array();
		char cmd[4096] = "";
		size_t len = 0;

		for (unsigned i = 0; argv && argv[i]; i++) {
			int n;

			json_array_append_new(args, json_string(argv[i]));
			n = snprintf(cmd + len, sizeof(cmd) - len, "%s%s",
				     i ? " " : "", argv[i]);
			if (n > 0 && (size_t)n < sizeof(cmd) - len)
				len += (size_t)n;
		}
		json_object_set_new(o, "process",
				    json_pack("{s:o, s:s, s:s, s:I}",
					      "args", args,
					      "command_line", cmd,
					      "working_directory",
					      cwd ? cwd : "",
					      "pid", (json_int_t)getpid()));
	} else {
		json_object_set_new(o, "process",
				    json_pack("{s:i}", "exit_code",
					      exit_code));
		if (argv && argv[0])
			json_object_set_new(json_object_get(o, "process"),
					    "name", json_string(argv[0]));
		if (reason)
			json_object_set_new(json_object_get(o, "event"),
					    "reason", json_string(reason));
		json_object_set_new(json_object_get(o, "event"), "duration",
				    json_integer((json_int_t)duration_us *
						 1000));
	}
	emit(a, o);
	if (start && !a->failed)
		a->started = true;
}

/**
 * request_fast() - An http-request or connect event, without jansson
 * @a:		Log
 * @r:		What happened
 *
 * The same fields as request_jansson() below, written straight into a
 * buffer (jsonw.c): the event of every relayed request, where building a
 * jansson object cost 16 us.
 *
 * Return: 0, or -1 if it did not fit (then the caller uses jansson)
 */
static int request_fast(struct ab_audit *a, const struct ab_audit_req *r)
{
	bool ok = r->allowed && r->status < 400 && !r->failed;
	char buf[8192], ts[40];
	struct ab_jw w;

	ab_jw_init(&w, buf, sizeof(buf) - 1);	/* room for the newline */
	ab_jw_str(&w, "@timestamp", stamp(ts, sizeof(ts)));
	ab_jw_open(&w, "ecs");
	ab_jw_str(&w, "version", ECS_VERSION);
	ab_jw_close(&w);
	ab_jw_open(&w, "event");
	ab_jw_str(&w, "kind", "event");
	ab_jw_str(&w, "action", r->action);
	ab_jw_list1(&w, "category", "network");
	ab_jw_list1(&w, "type", r->allowed ? "allowed" : "denied");
	ab_jw_str(&w, "outcome", ok ? "success" : "failure");
	ab_jw_int(&w, "sequence", (long long)a->seq + 1);
	ab_jw_int(&w, "duration", (long long)r->duration_us * 1000);
	if (r->reason)
		ab_jw_str(&w, "reason", r->reason);
	if (r->count > 1) {
		char t0[40], t1[40];

		ab_jw_str(&w, "start", iso_time(r->first_us, t0, sizeof(t0)));
		ab_jw_str(&w, "end", iso_time(r->last_us, t1, sizeof(t1)));
	}
	ab_jw_close(&w);
	ab_jw_open(&w, "user");
	ab_jw_str(&w, "name", a->user);
	ab_jw_str(&w, "id", a->uid);
	ab_jw_close(&w);
	ab_jw_open(&w, "agentbox");
	ab_jw_str(&w, "session", a->session);
	ab_jw_str(&w, "run", a->run);
	ab_jw_str(&w, "profile", a->profile);
	if (a->policy_sha256[0]) {
		ab_jw_open(&w, "policy");
		ab_jw_str(&w, "sha256", a->policy_sha256);
		ab_jw_strv(&w, "files", a->policy_files, a->policy_files_len);
		ab_jw_close(&w);
	}
	ab_jw_str(&w, "upstream", a->upstream);
	if (r->reason && !r->allowed)
		ab_jw_str(&w, "rule", r->reason);
	if (!r->allowed)
		ab_jw_int(&w, "count", r->count ? (long long)r->count : 1);
	if (r->intercepted) {
		ab_jw_open(&w, "intercept");
		ab_jw_str(&w, "mode", r->intercepted);
		if (r->orig_addr)
			ab_jw_str(&w, "ip", r->orig_addr);
		ab_jw_int(&w, "port", (long long)r->orig_port);
		ab_jw_close(&w);
	}
	ab_jw_close(&w);
	if (r->sni) {
		ab_jw_open(&w, "tls");
		ab_jw_open(&w, "client");
		ab_jw_str(&w, "server_name", r->sni);
		ab_jw_close(&w);
		ab_jw_close(&w);
	}
	if (r->dns_type) {
		ab_jw_open(&w, "dns");
		ab_jw_open(&w, "question");
		ab_jw_str(&w, "name", r->domain ? r->domain : "");
		ab_jw_str(&w, "type", r->dns_type);
		ab_jw_close(&w);
		if (r->dns_rcode)
			ab_jw_str(&w, "response_code", r->dns_rcode);
		ab_jw_close(&w);
	}
	ab_jw_open(&w, "destination");
	ab_jw_str(&w, "domain", r->domain ? r->domain : "");
	ab_jw_int(&w, "port", (long long)r->port);
	if (r->address)
		ab_jw_str(&w, "ip", r->address);
	ab_jw_int(&w, "bytes", (long long)r->bytes_down);
	ab_jw_close(&w);
	ab_jw_open(&w, "source");
	ab_jw_int(&w, "bytes", (long long)r->bytes_up);
	ab_jw_close(&w);
	if (r->url) {
		ab_jw_open(&w, "url");
		ab_jw_str(&w, "original", r->url);
		ab_jw_close(&w);
	}
	ab_jw_open(&w, "http");
	ab_jw_open(&w, "request");
	ab_jw_str(&w, "method", r->method ? r->method : "");
	ab_jw_close(&w);
	if (r->status) {
		ab_jw_open(&w, "response");
		ab_jw_int(&w, "status_code", r->status);
		ab_jw_close(&w);
	}
	ab_jw_close(&w);
	ab_jw_open(&w, "network");
	ab_jw_str(&w, "transport", "tcp");
	if (r->protocol)
		ab_jw_str(&w, "protocol", r->protocol);
	ab_jw_close(&w);
	if (r->who && r->who->pid) {
		ab_jw_open(&w, "process");
		ab_jw_int(&w, "pid", (long long)r->who->pid);
		if (r->who->name[0])
			ab_jw_str(&w, "name", r->who->name);
		if (r->who->exe[0])
			ab_jw_str(&w, "executable", r->who->exe);
		if (r->who->args_len)
			ab_jw_strv(&w, "args", r->who->args,
				   r->who->args_len);
		if (r->who->ppid > 0) {
			ab_jw_open(&w, "parent");
			ab_jw_int(&w, "pid", (long long)r->who->ppid);
			if (r->who->pname[0])
				ab_jw_str(&w, "name", r->who->pname);
			if (r->who->pexe[0])
				ab_jw_str(&w, "executable", r->who->pexe);
			ab_jw_close(&w);
		}
		ab_jw_close(&w);
	}
	if (!ab_jw_done(&w))
		return -1;
	a->seq++;		/* taken only by a line that is written */
	emit_text(a, buf, w.len);
	return 0;
}

/* The same event through jansson: for one that does not fit request_fast's
 * buffer */
static void request_jansson(struct ab_audit *a, const struct ab_audit_req *r)
{
	json_t *o, *ev, *dst, *http;

	o = event_base(a, r->action, "network", r->allowed ? "allowed" : "denied",
		       r->allowed && r->status < 400 && !r->failed ? "success" :
							       "failure");
	if (!o)
		return;
	ev = json_object_get(o, "event");
	json_object_set_new(ev, "duration",
			    json_integer((json_int_t)r->duration_us * 1000));
	if (r->reason)
		json_object_set_new(ev, "reason", json_string(r->reason));
	dst = json_pack("{s:s, s:i}", "domain", r->domain ? r->domain : "",
			"port", (int)r->port);
	if (dst && r->address)
		json_object_set_new(dst, "ip", json_string(r->address));
	if (dst)
		json_object_set_new(dst, "bytes",
				    json_integer((json_int_t)r->bytes_down));
	json_object_set_new(o, "destination", dst);
	json_object_set_new(o, "source",
			    json_pack("{s:I}", "bytes",
				      (json_int_t)r->bytes_up));
	if (r->url)
		json_object_set_new(o, "url", json_pack("{s:s}", "original",
							r->url));
	http = json_pack("{s:{s:s}}", "request", "method",
			 r->method ? r->method : "");
	if (http && r->status)
		json_object_set_new(http, "response",
				    json_pack("{s:i}", "status_code",
					      r->status));
	json_object_set_new(o, "http", http);
	json_object_set_new(o, "network", json_pack("{s:s}", "transport",
						    "tcp"));
	if (r->protocol)
		json_object_set_new(json_object_get(o, "network"), "protocol",
				    json_string(r->protocol));
	if (r->intercepted) {
		json_t *ic = json_pack("{s:s, s:i}", "mode", r->intercepted,
				       "port", (int)r->orig_port);

		if (ic && r->orig_addr)
			json_object_set_new(ic, "ip",
					    json_string(r->orig_addr));
		json_object_set_new(json_object_get(o, "agentbox"),
				    "intercept", ic);
	}
	if (r->sni)
		json_object_set_new(o, "tls", json_pack("{s:{s:s}}", "client",
							"server_name",
							r->sni));
	if (r->dns_type) {
		json_t *d = json_pack("{s:{s:s, s:s}}", "question", "name",
				      r->domain ? r->domain : "", "type",
				      r->dns_type);

		if (d && r->dns_rcode)
			json_object_set_new(d, "response_code",
					    json_string(r->dns_rcode));
		json_object_set_new(o, "dns", d);
	}
	if (r->reason && !r->allowed)
		json_object_set_new(json_object_get(o, "agentbox"), "rule",
				    json_string(r->reason));
	if (!r->allowed)
		json_object_set_new(json_object_get(o, "agentbox"), "count",
				    json_integer(r->count ? (json_int_t)r->count :
						 1));
	if (r->count > 1) {
		char t0[40], t1[40];

		json_object_set_new(ev, "start", json_string(
			iso_time(r->first_us, t0, sizeof(t0))));
		json_object_set_new(ev, "end", json_string(
			iso_time(r->last_us, t1, sizeof(t1))));
	}
	add_actor(o, r->who);
	emit(a, o);
}

static void request_line(struct ab_audit *a, const struct ab_audit_req *r)
{
	if (request_fast(a, r))
		request_jansson(a, r);
}

static bool same_kind(const struct req_fold *f, const struct ab_audit_req *r)
{
	pid_t pid = r->who ? r->who->pid : 0;

	return f->used && f->who.pid == pid && f->r.status == r->status &&
	       f->r.port == r->port &&
	       !strcmp(f->domain, r->domain ? r->domain : "") &&
	       !strcmp(f->reason, r->reason ? r->reason : "");
}

static void fold_emit(struct ab_audit *a, struct req_fold *f)
{
	if (f->r.count)
		request_line(a, &f->r);
	f->r.count = 0;
}

/* Keep a copy of @r as the first of a new kind's interval */
static void fold_start(struct req_fold *f, const struct ab_audit_req *r,
		       uint64_t now)
{
	memset(f, 0, sizeof(*f));
	f->used = true;
	f->until = now + FOLD_US;
	f->r = *r;
	if (r->who)
		f->who = *r->who;
	f->r.who = &f->who;
	snprintf(f->action, sizeof(f->action), "%s", r->action);
	snprintf(f->reason, sizeof(f->reason), "%s", r->reason ? r->reason : "");
	snprintf(f->method, sizeof(f->method), "%s", r->method ? r->method : "");
	snprintf(f->domain, sizeof(f->domain), "%s", r->domain ? r->domain : "");
	snprintf(f->url, sizeof(f->url), "%s", r->url ? r->url : "");
	f->r.action = f->action;
	f->r.reason = r->reason ? f->reason : NULL;
	f->r.method = r->method ? f->method : NULL;
	f->r.domain = r->domain ? f->domain : NULL;
	f->r.url = r->url ? f->url : NULL;
	f->r.address = NULL;
#define FOLD_COPY(field, buf) do { \
		snprintf(f->buf, sizeof(f->buf), "%s", r->field ? r->field : ""); \
		f->r.field = r->field ? f->buf : NULL; \
	} while (0)
	FOLD_COPY(intercepted, icpt);
	FOLD_COPY(orig_addr, oaddr);
	FOLD_COPY(sni, sni);
	FOLD_COPY(protocol, proto);
	FOLD_COPY(dns_type, dtype);
	FOLD_COPY(dns_rcode, drcode);
#undef FOLD_COPY
	f->r.count = 0;
}

/**
 * ab_audit_request() - Log one request or refusal
 * @a:		Log, may be NULL
 * @r:		What happened
 *
 * Refusals are folded as socket() refusals are (notify.c): the first of a
 * kind (process, status, host, port, reason) is a line at once, the same
 * ones in the second after it are counted into one line
 * (agentbox.count, event.start and event.end), written when the second is
 * over (ab_audit_flush()).  Allowed requests are each a line.
 */
void ab_audit_request(struct ab_audit *a, const struct ab_audit_req *r)
{
	struct req_fold *f = NULL, *oldest = &a->folds[0];
	uint64_t now, wall;

	if (!a)
		return;
	if (r->allowed) {
		request_line(a, r);
		return;
	}
	now = ab_now_us();
	wall = ab_wall_us();
	for (unsigned i = 0; i < FOLD_KINDS && !f; i++) {
		if (same_kind(&a->folds[i], r))
			f = &a->folds[i];
		else if (a->folds[i].until < oldest->until)
			oldest = &a->folds[i];
	}
	if (f && now < f->until) {
		if (!f->r.count++)
			f->r.first_us = wall;
		f->r.last_us = wall;
		return;
	}
	if (!f) {
		f = oldest;	/* a free one has until 0: it is the oldest */
		fold_emit(a, f);
	} else {
		fold_emit(a, f);	/* its interval is over */
	}
	fold_start(f, r, now);
	request_line(a, r);	/* the first of its kind, at once */
}

/**
 * ab_audit_flush() - Log the refusals counted in intervals that ended
 * @a:		Log, may be NULL
 * @all:	Every one, ended or not (the session ends)
 */
void ab_audit_flush(struct ab_audit *a, bool all)
{
	uint64_t now = ab_now_us();

	for (unsigned i = 0; a && i < FOLD_KINDS; i++) {
		struct req_fold *f = &a->folds[i];

		if (!f->used || (!all && now < f->until))
			continue;
		fold_emit(a, f);
		f->used = false;
		f->until = 0;
	}
}

static const char *family_name(int f)
{
	switch (f) {
	case AF_INET: return "AF_INET";
	case AF_INET6: return "AF_INET6";
	case AF_UNIX: return "AF_UNIX";
	case AF_NETLINK: return "AF_NETLINK";
	case AF_PACKET: return "AF_PACKET";
	case AF_VSOCK: return "AF_VSOCK";
	case AF_BLUETOOTH: return "AF_BLUETOOTH";
	case AF_ALG: return "AF_ALG";
	case AF_XDP: return "AF_XDP";
	default: return NULL;
	}
}

static const char *type_name(int t)
{
	switch (t & 0xf) {
	case SOCK_STREAM: return "SOCK_STREAM";
	case SOCK_DGRAM: return "SOCK_DGRAM";
	case SOCK_RAW: return "SOCK_RAW";
	case SOCK_SEQPACKET: return "SOCK_SEQPACKET";
	case SOCK_RDM: return "SOCK_RDM";
	case SOCK_PACKET: return "SOCK_PACKET";
	default: return NULL;
	}
}

/**
 * ab_audit_socket() - Log a socket() or socketpair() seccomp refused
 * @a:		Log, may be NULL
 * @who:	The caller
 * @family:	Its arguments
 * @type:
 * @protocol:
 * @nr:		The syscall number
 * @count:	How many such calls this line stands for (folded)
 * @first_us:	When the first of them was, us since the epoch
 * @last_us:	When the last was
 */
void ab_audit_socket(struct ab_audit *a, const struct ab_actor *who,
		     int family, int type, int protocol, int nr,
		     unsigned long count, uint64_t first_us, uint64_t last_us)
{
	const char *fn = family_name(family), *tn = type_name(type);
	char fbuf[16], tbuf[16], reason[160];
	json_t *o;

	if (!a)
		return;
	if (!fn) {
		snprintf(fbuf, sizeof(fbuf), "%d", family);
		fn = fbuf;
	}
	if (!tn) {
		snprintf(tbuf, sizeof(tbuf), "%d", type & 0xf);
		tn = tbuf;
	}
	snprintf(reason, sizeof(reason), "%s(%s, %s, %d) is refused by the "
		 "seccomp filter", nr == SYS_socketpair ? "socketpair" : "socket", fn, tn,
		 protocol);
	o = event_base(a, "socket-denied", "network", "denied", "failure");
	if (!o)
		return;
	json_object_set_new(json_object_get(o, "event"), "reason",
			    json_string(reason));
	json_object_set_new(json_object_get(o, "agentbox"), "socket",
			    json_pack("{s:s, s:s, s:i}", "family", fn,
				      "type", tn, "protocol", protocol));
	json_object_set_new(json_object_get(o, "agentbox"), "count",
			    json_integer((json_int_t)count));
	if (count > 1) {
		char t0[40], t1[40];

		json_object_set_new(json_object_get(o, "event"), "start",
				    json_string(iso_time(first_us, t0,
							 sizeof(t0))));
		json_object_set_new(json_object_get(o, "event"), "end",
				    json_string(iso_time(last_us, t1,
							 sizeof(t1))));
	}
	json_object_set_new(o, "network", json_pack("{s:s}", "transport",
			    (type & 0xf) == SOCK_DGRAM ? "udp" :
			    (type & 0xf) == SOCK_STREAM ? "tcp" : "other"));
	add_actor(o, who);
	emit(a, o);
}

/**
 * ab_actor_fill() - Name a process: comm and executable
 * @w:		Result
 * @pid:	Process, in the supervisor's pid namespace
 */
/* comm and exe of @pid into @name and @exe */
static void name_exe(pid_t pid, char *name, size_t nsize, char *exe,
		     size_t esize)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (ab_read_small_file(path, name, nsize) > 0)
		name[strcspn(name, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, esize - 1);
	exe[n > 0 ? n : 0] = '\0';
}

/* argv of @pid, whole arguments only, and its parent's pid */
static void args_ppid(struct ab_actor *w)
{
	char path[64], stat[512];
	const char *rp;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)w->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, w->args, sizeof(w->args));
		close(fd);
		/* cut after the last whole argument */
		while (n > 0 && w->args[n - 1] != '\0')
			n--;
		w->args_len = n > 0 ? (unsigned)n : 0;
	}
	/* "pid (comm) state ppid ...": comm may hold ") " itself */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)w->pid);
	if (ab_read_small_file(path, stat, sizeof(stat)) > 0 &&
	    (rp = strrchr(stat, ')')) && rp[1] == ' ' && rp[2] && rp[3] == ' ')
		w->ppid = (pid_t)atoi(rp + 4);
}

/**
 * ab_actor_fill() - Name a process: comm, executable, argv, its parent
 * @w:		Result
 * @pid:	The process, in our pid namespace
 */
void ab_actor_fill(struct ab_actor *w, pid_t pid)
{
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	name_exe(pid, w->name, sizeof(w->name), w->exe, sizeof(w->exe));
	args_ppid(w);
	if (w->ppid > 0)
		name_exe(w->ppid, w->pname, sizeof(w->pname), w->pexe,
			 sizeof(w->pexe));
}

/**
 * ab_audit_unix() - Log a connect() to a host unix socket that was refused
 * @a:		Log, may be NULL
 * @who:	The caller
 * @path:	The path it connected to
 */
void ab_audit_unix(struct ab_audit *a, const struct ab_actor *who,
		   const char *path)
{
	char reason[PATH_MAX / 4 + 160];
	json_t *o;

	if (!a)
		return;
	snprintf(reason, sizeof(reason), "connect to unix socket %.900s is "
		 "refused: bound outside the sandbox, and [unix] allow does "
		 "not name it", path);
	o = event_base(a, "unix-denied", "network", "denied", "failure");
	if (!o)
		return;
	json_object_set_new(json_object_get(o, "event"), "reason",
			    json_string(reason));
	json_object_set_new(o, "file", json_pack("{s:s}", "path", path));
	json_object_set_new(o, "network", json_pack("{s:s}", "transport",
						    "unix"));
	add_actor(o, who);
	emit(a, o);
}

/**
 * ab_audit_close() - Close the sinks and free
 * @a:		Log, may be NULL
 */
void ab_audit_close(struct ab_audit *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	if (a->syslog)
		closelog();
	free(a);
}
