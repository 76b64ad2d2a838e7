// SPDX-License-Identifier: MIT
/* log.c - "agentbox log": the audit log as one readable line per event.
 *
 *   agentbox log [-f] [-s SESSION] [-n N] [--json] [FILE]
 *
 * Reads the audit log (default: the one agentbox writes,
 * $XDG_STATE_HOME/agentbox/audit.jsonl), keeps the events of one session
 * if asked, and prints them; -f keeps reading as the file grows (and when
 * it is rotated).  Every string that came from inside the sandbox (process
 * names, URLs) is printed with control characters replaced, so a log line
 * cannot rewrite the terminal of the person reading it.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "log.h"

#define FOLLOW_INTERVAL_NS	250000000L

struct opts {
	const char *session;
	long last;			/* -n, -1: all */
	int follow, json;
};

/* Print a string from the log with control characters made visible */
static void put_clean(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

/* The value at a dotted ECS path ("event.action"), or NULL */
static json_t *at(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_object_get(o, path);
}

static const char *str(json_t *o, const char *path)
{
	o = at(o, path);
	return json_is_string(o) ? json_string_value(o) : NULL;
}

static long long num(json_t *o, const char *path)
{
	o = at(o, path);
	return json_is_integer(o) ? (long long)json_integer_value(o) : -1;
}

/* " (xN until END)" for a line that stands for N folded events */
static void put_count(FILE *out, json_t *o)
{
	if (num(o, "agentbox.count") <= 1)
		return;
	fprintf(out, " (x%lld until ", num(o, "agentbox.count"));
	put_clean(out, str(o, "event.end"));
	fputc(')', out);
}

/* event.type is an array; the relay puts "allowed" or "denied" first */
static const char *first_type(json_t *o)
{
	const char *v = json_string_value(json_array_get(at(o, "event.type"),
							 0));

	return v ? v : "";
}

static void print_event(json_t *o, FILE *out)
{
	const char *action = str(o, "event.action"), *ts = str(o, "@timestamp");
	const char *who = str(o, "process.name");
	const char *sess = str(o, "agentbox.session");
	const char *run = str(o, "agentbox.run");
	long long pid = num(o, "process.pid"), dur = num(o, "event.duration");
	char tag[16];

	if (!action)
		action = "?";
	put_clean(out, ts ? ts : "-");
	fputs("  ", out);
	put_clean(out, str(o, "agentbox.session"));
	if (run && sess && strcmp(run, sess)) {	/* --session: which run */
		fputc('/', out);
		put_clean(out, run);
	}
	if (!strcmp(action, "session-start"))
		snprintf(tag, sizeof(tag), "START");
	else if (!strcmp(action, "session-end"))
		snprintf(tag, sizeof(tag), "END");
	else if (!strcmp(action, "socket-denied") ||
		 !strcmp(action, "unix-denied"))
		snprintf(tag, sizeof(tag), "SOCKET");
	else if (!strcmp(first_type(o), "denied"))
		snprintf(tag, sizeof(tag), "DENY");
	else if (!strcmp(str(o, "event.outcome") ?: "", "failure"))
		snprintf(tag, sizeof(tag), "FAIL");
	else
		snprintf(tag, sizeof(tag), "ALLOW");
	fprintf(out, "  %-6s ", tag);

	if (!strcmp(tag, "START")) {
		fputs("profile=", out);
		put_clean(out, str(o, "agentbox.profile"));
		fputs(" upstream=", out);
		put_clean(out, str(o, "agentbox.upstream"));
		fputs(" cwd=", out);
		put_clean(out, str(o, "process.working_directory"));
		fputs(" cmd: ", out);
		put_clean(out, str(o, "process.command_line"));
	} else if (!strcmp(tag, "END")) {
		fprintf(out, "exit=%lld after %.3fs", num(o, "process.exit_code"),
			dur >= 0 ? (double)dur / 1e9 : 0.0);
	} else {
		if (who || pid > 0) {
			put_clean(out, who ? who : "?");
			fprintf(out, "[%lld] ", pid);
		} else {
			fputs("?[-] ", out);
		}
		if (!strcmp(tag, "SOCKET")) {
			put_clean(out, str(o, "event.reason"));
			put_count(out, o);
		} else {
			long long st = num(o, "http.response.status_code");
			const char *m = str(o, "http.request.method");

			if (m && *m) {
				put_clean(out, m);
				fputc(' ', out);
			}
			put_clean(out, str(o, "url.original"));
			if (st > 0)
				fprintf(out, " %lld", st);
			fprintf(out, " up=%lld down=%lld %.3fs",
				num(o, "source.bytes"),
				num(o, "destination.bytes"),
				dur >= 0 ? (double)dur / 1e9 : 0.0);
			if (str(o, "event.reason")) {
				fputs(" -- ", out);
				put_clean(out, str(o, "event.reason"));
			}
			put_count(out, o);
		}
	}
	fputc('\n', out);
}

/**
 * show_line() - Filter and print one line of the log
 * @line:	The line, without its newline
 * @o:		Options
 * @lineno:	For the message about a malformed line
 *
 * Return: 1 if printed, 0 if filtered out or malformed
 */
static int show_line(const char *line, const struct opts *o, long lineno)
{
	json_error_t err;
	json_t *j = json_loads(line, 0, &err);
	const char *sess, *run;

	if (!j || !json_is_object(j)) {
		fprintf(stderr, "agentbox log: line %ld: not a JSON object: "
			"%s\n", lineno, j ? "" : err.text);
		json_decref(j);
		return 0;
	}
	sess = str(j, "agentbox.session");
	run = str(j, "agentbox.run");
	if (o->session && (!sess || strcmp(sess, o->session)) &&
	    (!run || strcmp(run, o->session))) {
		json_decref(j);
		return 0;
	}
	if (o->json) {
		put_clean(stdout, line);
		fputc('\n', stdout);
	} else {
		print_event(j, stdout);
	}
	json_decref(j);
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: agentbox log [-f] [-s SESSION] [-n N] [--json] "
		"[FILE]\n"
		"  -f, --follow        keep printing events as they are "
		"written\n"
		"  -s, --session ID    only the events of this session or run\n"
		"  -n, --lines N       only the last N events (with -f: 10)\n"
		"      --json          the events as written (JSON lines)\n"
		"FILE defaults to $XDG_STATE_HOME/agentbox/audit.jsonl.\n");
}

int ab_log_main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "session", required_argument, NULL, 's' },
		{ "lines", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .last = -1 };
	char path[4096], *line = NULL, **ring = NULL;
	size_t cap = 0;
	long lineno = 0, nring = 0, head = 0;
	ino_t ino = 0;
	struct stat st;
	FILE *f;
	int ch;

	while ((ch = getopt_long(argc, argv, "+fs:n:h", lo, NULL)) != -1) {
		char *end;

		switch (ch) {
		case 'f':
			o.follow = 1;
			break;
		case 's':
			o.session = optarg;
			break;
		case 'n':
			o.last = strtol(optarg, &end, 10);
			if (*end || o.last < 0 || o.last > 1000000) {
				fprintf(stderr, "agentbox log: -n '%s': "
					"expected a number\n", optarg);
				return 2;
			}
			break;
		case 'j':
			o.json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 < argc) {
		usage(stderr);
		return 2;
	}
	if (optind < argc)
		snprintf(path, sizeof(path), "%s", argv[optind]);
	else if (ab_audit_default_path(path, sizeof(path))) {
		fprintf(stderr, "agentbox log: no $HOME to find the log in\n");
		return 2;
	}
	if (o.follow && o.last < 0)
		o.last = 10;
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "agentbox log: %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (!fstat(fileno(f), &st))
		ino = st.st_ino;
	if (o.last > 0 && !(ring = calloc((size_t)o.last, sizeof(*ring)))) {
		fclose(f);
		return 1;
	}
	/* what is there: all of it, or the last N matching lines */
	for (;;) {
		ssize_t n = getline(&line, &cap, f);

		if (n < 0)
			break;
		lineno++;
		if (n && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (o.last < 0) {
			show_line(line, &o, lineno);
			continue;
		}
		if (!o.last)
			continue;
		if (o.session && !strstr(line, o.session))
			continue;	/* cheap prefilter; show_line decides */
		free(ring[head]);
		ring[head] = strdup(line);
		head = (head + 1) % o.last;
		if (nring < o.last)
			nring++;
	}
	for (long i = 0; i < nring; i++) {
		long at = (head - nring + i + o.last) % o.last;

		show_line(ring[at], &o, 0);
		free(ring[at]);
	}
	free(ring);
	fflush(stdout);
	while (o.follow) {
		struct timespec ts = { 0, FOLLOW_INTERVAL_NS };
		ssize_t n;

		clearerr(f);
		while ((n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] != '\n') {	/* not all written */
				fseeko(f, -(off_t)n, SEEK_CUR);
				break;
			}
			line[n - 1] = '\0';
			show_line(line, &o, ++lineno);
		}
		fflush(stdout);
		nanosleep(&ts, NULL);
		/* rotated: start on the new file */
		if (!stat(path, &st) && st.st_ino != ino) {
			FILE *nf = fopen(path, "re");

			if (nf) {
				fclose(f);
				f = nf;
				ino = st.st_ino;
				lineno = 0;
			}
		}
	}
	free(line);
	fclose(f);
	return 0;
}
