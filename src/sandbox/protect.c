// SPDX-License-Identifier: MIT
/* protect.c - writable roots, read-only, hidden and pinned paths, private
 * IPC mounts, covered sockets (init).
 *
 * Runs in init's mount namespace after mounts.c, before the capabilities
 * are dropped, in this order:
 *
 *   1. stubs: a missing path that a rule protects is created (an empty
 *      file, or a directory for a rule ending in "/"), with its missing
 *      parents, as the caller; it stays on the host.  policy.c keeps only
 *      stubs where the sandbox could have created the path itself.  A
 *      missing writable root is created as a directory the same way.
 *   2. writable roots ([filesystem] writable): each root is cloned as it
 *      is (recursively, with its own flags), then every mount of the tree
 *      is made read-only with one recursive mount_setattr(2) on "/", and
 *      the clones are put back on their paths.  The fresh /proc of this
 *      pid namespace stays writable (it is the sandbox's own).
 *   3. /dev/shm is a fresh tmpfs and /dev/mqueue a fresh mqueue of the new
 *      IPC namespace: POSIX shared memory and queues of the host's
 *      processes are out of reach, as SysV IPC is by the namespace itself.
 *   4. pins: every directory above a rule (inside a writable root, when
 *      there are roots) is bound onto itself (recursively), so it is a
 *      mount point, which cannot be renamed or removed: nothing can move a
 *      protected path away and put a writable one in its place.
 *   5. rules, shorter paths first: read-only is a recursive bind of the
 *      path onto itself with only MOUNT_ATTR_RDONLY set by mount_setattr(2)
 *      (the flags the kernel locked, nosuid, nodev, noexec, atime, are
 *      left as they are); hide is an empty read-only tmpfs over a directory,
 *      or an empty read-only file over anything else.
 *   6. the bundle of trusted roots with the proxy's CA ([network]
 *      ca_bundle, cabundle.c), from a read-only tmpfs of its own over the
 *      system bundle; the same way, the untrusted X cookie (x11.c) over the
 *      Xauthority file.
 *   7. host sockets: each is covered by an empty read-only file; connect()
 *      then fails with ECONNREFUSED.
 *   8. the working directory is entered again, through the new mounts
 *      (init's old one would reach below them).
 *
 * The command has no capability, so it cannot unmount or remount any of
 * it.  In a nested user namespace the kernel copies these mounts locked:
 * they cannot be unmounted there, a read-only one cannot be made writable,
 * and a non-recursive bind that would show what is under them is refused.
 * Mount flags were chosen over Landlock for the read-only tree: they are
 * one call for the whole tree, they hold for root without capabilities as
 * for anyone, nested namespaces inherit them locked, and read-only paths
 * inside a writable root need them anyway (a Landlock rule only adds
 * rights below a path, it cannot take them away again below it).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "protect.h"
#include "util.h"

#define AB_MAX_ROOTS	64	/* writable roots in one sandbox */
#define AB_PRIVATE_SIZE	"64m"	/* [filesystem] private: each tmpfs */

/* An empty tmpfs, detached, holding one empty file: the source of hides */
struct empty {
	int mnt;			/* the tmpfs (read-only once made) */
};

/**
 * tmpfs_make() - A detached tmpfs, nosuid and nodev, owned by the caller
 * @size:	Its size ("4096", "64m")
 * @mode:	Its root directory's mode ("0555")
 * @attrs:	Further MOUNT_ATTR_* (MOUNT_ATTR_NOEXEC)
 * @what:	For messages ("protect", "FILE:LINE: private PATH")
 * @e:		Error
 *
 * Return: the mount's descriptor, or -1 with @e filled
 */
static int tmpfs_make(const char *size, const char *mode, unsigned attrs,
		      const char *what, struct ab_err *e)
{
	char uid[16], gid[16];
	int fs, mnt;

	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	snprintf(gid, sizeof(gid), "%u", (unsigned)getgid());
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return ab_fail(e, errno, "%s: fsopen tmpfs", what);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "uid", uid, 0) ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "gid", gid, 0) ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
		ab_fail(e, errno, "%s: tmpfs", what);
		close(fs);
		return -1;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID |
		      MOUNT_ATTR_NODEV | attrs);
	close(fs);
	if (mnt < 0)
		return ab_fail(e, errno, "%s: fsmount tmpfs", what);
	return mnt;
}

static int tmpfs_seal(int mnt, struct ab_err *e)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			  sizeof(attr)))
		return ab_fail(e, errno, "protect: tmpfs read-only");
	return 0;
}

static int empty_make(struct empty *em, struct ab_err *e)
{
	int fd;

	em->mnt = tmpfs_make("4096", "0555", MOUNT_ATTR_NOEXEC, "protect", e);
	if (em->mnt < 0)
		return -1;
	fd = openat(em->mnt, "empty", O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
	if (fd < 0 || mkdirat(em->mnt, "dir", 0555)) {
		ab_fail(e, errno, "protect: empty file in tmpfs");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return tmpfs_seal(em->mnt, e);
}

/**
 * attach() - Put a clone of @what (under @dfd) on @target
 * @dfd:	Directory or mount of the source
 * @what:	Source relative to @dfd, "" for @dfd itself
 * @target:	Absolute path
 * @ro:		Set MOUNT_ATTR_RDONLY on the clone
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
static int attach(int dfd, const char *what, const char *target, bool ro,
		  const char *why, struct ab_err *e)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	int t;

	t = open_tree(dfd, what, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
		      AT_RECURSIVE | (*what ? 0 : AT_EMPTY_PATH));
	if (t < 0)
		return ab_fail(e, errno, "%s %s: open_tree", why, target);
	if (ro && mount_setattr(t, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
				sizeof(attr))) {
		ab_fail(e, errno, "%s %s: mount_setattr read-only", why,
			target);
		close(t);
		return -1;
	}
	if (move_mount(t, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)) {
		ab_fail(e, errno, "%s %s: move_mount", why, target);
		close(t);
		return -1;
	}
	close(t);
	return 0;
}

/**
 * private_dir() - [filesystem] private: a writable tmpfs of the sandbox's
 *		   own over a directory, gone when the sandbox ends
 * @r:		The rule
 * @st:		What its path is
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
static int private_dir(const struct ab_fs_rule *r, const struct stat *st,
		       struct ab_err *e)
{
	char what[PATH_MAX + 128];
	int mnt;

	if (!S_ISDIR(st->st_mode))
		return ab_fail(e, ENOTDIR, "%s: private %s", r->origin,
			       r->path);
	snprintf(what, sizeof(what), "%s: private %s", r->origin, r->path);
	mnt = tmpfs_make(AB_PRIVATE_SIZE, "0700", 0, what, e);
	if (mnt < 0)
		return -1;
	if (move_mount(mnt, "", AT_FDCWD, r->path, MOVE_MOUNT_F_EMPTY_PATH)) {
		ab_fail(e, errno, "%s: private %s: move_mount", r->origin,
			r->path);
		close(mnt);
		return -1;
	}
	close(mnt);
	return 0;
}

/**
 * file_install() - A file of ours, read-only, over @target
 * @data:	Its content
 * @len:	Its length
 * @target:	The path it is mounted over (must exist)
 * @why:	For messages ("ca_bundle", "X authority")
 * @e:		Error
 *
 * Written into a tmpfs of its own, made read-only, then mounted over
 * @target: only this mount namespace sees it.  Used for the bundle with
 * the proxy's CA (over the system bundle) and the untrusted X cookie (over
 * the Xauthority file).
 *
 * Return: 0, or -1 with @e filled
 */
static int file_install(const char *data, size_t len, const char *target,
			const char *why, struct ab_err *e)
{
	cleanup_fd int mnt = -1;
	cleanup_fd int fd = -1;
	size_t off = 0;
	char size[32];

	snprintf(size, sizeof(size), "%zu", len + 65536);
	mnt = tmpfs_make(size, "0555", MOUNT_ATTR_NOEXEC, "protect", e);
	if (mnt < 0)
		return -1;
	fd = openat(mnt, "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
	if (fd < 0)
		return ab_fail(e, errno, "%s: create in tmpfs", why);
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ab_fail(e, n ? errno : EIO, "%s: write into "
				       "tmpfs", why);
		off += (size_t)n;
	}
	close(fd);	/* a file open for writing keeps it from sealing */
	fd = -1;
	if (tmpfs_seal(mnt, e))
		return -1;
	return attach(mnt, "file", target, true, why, e);
}

static int mkdirs(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int make_stub(const struct ab_fs_rule *r, struct ab_err *e)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s", r->path);
	if (mkdirs(p, 0700))
		return ab_fail(e, errno, "%s: stub for %s: create parents",
			       r->origin, r->path);
	if (r->dir) {
		if (mkdir(r->path, 0700) && errno != EEXIST)
			return ab_fail(e, errno, "%s: stub directory %s",
				       r->origin, r->path);
		return 0;
	}
	/* empty and without write bits: a placeholder, which programs that
	 * take an empty writable file for a new one (Claude Code's legacy
	 * ~/.claude/.config.json) leave alone */
	fd = open(r->path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC |
		  O_NOFOLLOW, 0400);
	if (fd < 0 && errno != EEXIST)
		return ab_fail(e, errno, "%s: stub file %s", r->origin,
			       r->path);
	if (fd >= 0)
		close(fd);
	return 0;
}

/**
 * roots_apply() - Everything read-only but the writable roots
 * @pol:	Policy, with at least one root
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
static int roots_apply(const struct ab_policy *pol, struct ab_err *e)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	struct mount_attr rw = { .attr_clr = MOUNT_ATTR_RDONLY };
	int fds[AB_MAX_ROOTS];
	unsigned n = pol->roots.n;
	int ret = -1;

	if (n > AB_MAX_ROOTS)
		return ab_fail(e, E2BIG, "writable roots: more than %d",
			       AB_MAX_ROOTS);
	for (unsigned i = 0; i < n; i++) {
		fds[i] = open_tree(AT_FDCWD, pol->roots.v[i].path,
				   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
				   AT_RECURSIVE);
		if (fds[i] < 0) {
			ab_fail(e, errno, "%s: writable %s: open_tree",
				pol->roots.v[i].origin, pol->roots.v[i].path);
			n = i;
			goto out;
		}
	}
	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro))) {
		ab_fail(e, errno, "read-only /: mount_setattr");
		if (errno == ENOSYS)
			ab_hint(e, "the kernel lacks mount_setattr(2) (Linux "
				"5.12); run with a profile without [filesystem] "
				"writable, or --profile none");
		goto out;
	}
	if (mount_setattr(AT_FDCWD, "/proc", 0, &rw, sizeof(rw))) {
		ab_fail(e, errno, "/proc: mount_setattr writable");
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		if (move_mount(fds[i], "", AT_FDCWD, pol->roots.v[i].path,
			       MOVE_MOUNT_F_EMPTY_PATH)) {
			ab_fail(e, errno, "%s: writable %s: move_mount",
				pol->roots.v[i].origin, pol->roots.v[i].path);
			goto out;
		}
	ret = 0;
out:
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	return ret;
}

/* A fresh filesystem of @type on @target, if @target is there */
static int fresh_fs(const char *type, const char *target, const char *mode,
		    struct ab_err *e)
{
	cleanup_fd int fs = -1, mnt = -1;
	struct stat st;

	if (stat(target, &st) || !S_ISDIR(st.st_mode))
		return 0;
	fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return ab_fail(e, errno, "private %s: fsopen %s", target, type);
	if ((mode && fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0)) ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		return ab_fail(e, errno, "private %s: %s", target, type);
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID |
		      MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return ab_fail(e, errno, "private %s: fsmount", target);
	if (move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH))
		return ab_fail(e, errno, "private %s: move_mount", target);
	return 0;
}

/* /dev/shm and /dev/mqueue of the sandbox's own IPC namespace */
static int ipc_private(struct ab_err *e)
{
	struct stat st, dev;

	if (fresh_fs("tmpfs", "/dev/shm", "1777", e))
		return -1;
	/* a host /dev/mqueue is a mount of the host's queues */
	if (!stat("/dev/mqueue", &st) && !stat("/dev", &dev) &&
	    st.st_dev != dev.st_dev)
		return fresh_fs("mqueue", "/dev/mqueue", NULL, e);
	return 0;
}

/**
 * ab_protect_apply() - Apply the policy's paths to the mount namespace
 * @pol:	Policy (NULL: nothing to do)
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled
 */
int ab_protect_apply(const struct ab_policy *pol, struct ab_err *e)
{
	struct empty em = { .mnt = -1 };
	int ret = -1;

	if (!pol)
		return 0;
	for (unsigned i = 0; i < pol->rules.n; i++)
		if (pol->rules.v[i].stub && make_stub(&pol->rules.v[i], e))
			return -1;
	for (unsigned i = 0; i < pol->roots.n; i++)
		if (pol->roots.v[i].stub && make_stub(&pol->roots.v[i], e))
			return -1;
	if (pol->roots.n && roots_apply(pol, e))
		return -1;
	if (ipc_private(e))
		return -1;
	for (unsigned i = 0; i < pol->pins.n; i++)
		if (attach(AT_FDCWD, pol->pins.v[i], pol->pins.v[i], false,
			   "pin", e))
			return -1;

	for (unsigned i = 0; i < pol->rules.n; i++) {
		const struct ab_fs_rule *r = &pol->rules.v[i];
		struct stat st;

		if (lstat(r->path, &st)) {
			ab_fail(e, errno, "%s: %s %s", r->origin,
				r->priv ? "private" : r->hide ? "hide" :
				"readonly", r->path);
			goto out;
		}
		if (!r->hide) {
			if (attach(AT_FDCWD, r->path, r->path, true,
				   "readonly", e))
				goto out;
			continue;
		}
		if (r->priv) {
			if (private_dir(r, &st, e))
				goto out;
			continue;
		}
		if (em.mnt < 0 && empty_make(&em, e))
			goto out;
		if (attach(em.mnt, S_ISDIR(st.st_mode) ? "dir" : "empty",
			   r->path, false, "hide", e))
			goto out;
	}

	if (pol->ca.pem && file_install(pol->ca.pem, pol->ca.len, pol->ca.target,
					"ca_bundle over", e))
		goto out;
	if (pol->resolv.data && file_install(pol->resolv.data,
					     pol->resolv.len,
					     pol->resolv.target, "resolv.conf",
					     e))
		goto out;
	if (pol->xauth.data && file_install(pol->xauth.data, pol->xauth.len,
					    pol->xauth.target, "X authority",
					    e))
		goto out;
	for (unsigned i = 0; i < pol->sockets.n; i++) {
		if (em.mnt < 0 && empty_make(&em, e))
			goto out;
		if (!attach(em.mnt, "empty", pol->sockets.v[i], false,
			    "host socket", e))
			continue;
		/* A socket that went away since the scan needs nothing */
		if (e->code != ENOENT)
			goto out;
		*e = (struct ab_err){ 0 };
	}
	if (pol->cwd[0] && chdir(pol->cwd)) {
		ab_fail(e, errno, "protect: enter %s again", pol->cwd);
		goto out;
	}
	ret = 0;
out:
	if (em.mnt >= 0)
		close(em.mnt);
	return ret;
}
