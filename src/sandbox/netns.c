// SPDX-License-Identifier: MIT
/* netns.c - the sandbox network namespace S and the gateway namespace G.
 *
 * Theory of operation: init runs in S, a fresh network namespace owned by
 * the sandbox's user namespace.  An unprivileged user cannot put a veth end
 * into the host namespace, but it can own two namespaces and join them, so
 * init briefly enters a second fresh namespace G (unshare), opens a netlink
 * socket and the proxy listener socket there (a socket stays bound to the
 * namespace it was created in), and goes back to S (setns).  Then, from S:
 *
 *   ab0 (S, sandbox_addr/N) <==== veth ====> ab1 (G, gateway_addr/N)
 *                                              `- listener gateway_addr:port
 *
 * Both ends are created down with fixed ifindex 2 (a fresh namespace holds
 * only lo, index 1), so no lookup is needed.  Each end then gets IPv6
 * address generation turned off (addr_gen_mode none, which the kernel takes
 * only on an existing link and must be set before the link goes up, or it
 * already has its fe80:: address), its IPv4 address, and goes up.  S gets
 * lo up and no default route: the only address it can
 * reach outside itself is the gateway's, and the only socket listening in G
 * is the proxy listener, which is passed to the supervisor.  Once init has
 * dropped its references, G lives exactly as long as that listener and the
 * veth: no process is in G, so nothing can enter it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/veth.h>

#include "netns.h"
#include "util.h"

#define IFINDEX_LO	1
#define IFINDEX_VETH	2

/**
 * nl_errno() - Turn a libnl error code into the errno it stands for
 * @nlerr:	Negative libnl error
 *
 * Return: errno value
 */
static int nl_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_PERM:		return EPERM;
	case NLE_NOACCESS:	return EACCES;
	case NLE_EXIST:		return EEXIST;
	case NLE_NOMEM:		return ENOMEM;
	case NLE_BUSY:		return EBUSY;
	case NLE_OPNOTSUPP:	return EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:	return EAFNOSUPPORT;
	case NLE_INVAL:		return EINVAL;
	case NLE_RANGE:		return ERANGE;
	case NLE_NODEV:		return ENODEV;
	case NLE_OBJ_NOTFOUND:	return ENOENT;
	case NLE_NOADDR:	return EADDRNOTAVAIL;
	default:		return EIO;
	}
}

/**
 * nl_open() - Open a NETLINK_ROUTE socket in the current netns
 * @ns:		Name of the namespace, for errors
 * @e:		Error
 *
 * Return: socket, or NULL with @e filled
 */
static struct nl_sock *nl_open(const char *ns, struct ab_err *e)
{
	struct nl_sock *sk = nl_socket_alloc();
	int rc;

	if (!sk) {
		ab_fail(e, ENOMEM, "netlink %s: nl_socket_alloc", ns);
		return NULL;
	}
	rc = nl_connect(sk, NETLINK_ROUTE);
	if (rc < 0) {
		ab_fail(e, nl_errno(rc), "netlink %s: connect NETLINK_ROUTE",
			ns);
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/**
 * veth_create() - Create ab0 in the current netns (S), ab1 in G
 * @sk:		Netlink socket in S
 * @g_fd:	Descriptor of G
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
static int veth_create(struct nl_sock *sk, int g_fd, struct ab_err *e)
{
	struct rtnl_link *link, *peer;
	int rc;

	link = rtnl_link_veth_alloc();
	if (!link)
		return ab_fail(e, ENOMEM, "veth " AB_IF_SANDBOX ": alloc");
	peer = rtnl_link_veth_get_peer(link);

	rtnl_link_set_name(link, AB_IF_SANDBOX);
	rtnl_link_set_ifindex(link, IFINDEX_VETH);
	rtnl_link_set_name(peer, AB_IF_GATEWAY);
	rtnl_link_set_ifindex(peer, IFINDEX_VETH);
	rtnl_link_set_ns_fd(peer, g_fd);

	rc = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(peer);
	rtnl_link_veth_release(link);
	if (rc < 0) {
		ab_fail_ns(e, nl_errno(rc), "veth " AB_IF_SANDBOX ": RTM_NEWLINK");
		if (nl_errno(rc) == EOPNOTSUPP)
			ab_hint(e, "the veth kernel module is not loaded and "
				"an unprivileged user cannot load it; run "
				"'modprobe veth' as root once");
		return -1;
	}
	return 0;
}

/**
 * addr_add() - Give an interface its IPv4 address
 * @sk:		Netlink socket in the interface's netns
 * @ifname:	Interface name, for errors
 * @ifindex:	Interface index
 * @a:		Address
 * @prefix_len:	Prefix length
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
static int addr_add(struct nl_sock *sk, const char *ifname, int ifindex,
		    struct in_addr a, unsigned prefix_len, struct ab_err *e)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local;
	int rc;

	if (!addr)
		return ab_fail(e, ENOMEM, "address %s: alloc", ifname);
	local = nl_addr_build(AF_INET, &a, sizeof(a));
	if (!local) {
		rtnl_addr_put(addr);
		return ab_fail(e, ENOMEM, "address %s: alloc", ifname);
	}
	nl_addr_set_prefixlen(local, (int)prefix_len);
	rtnl_addr_set_ifindex(addr, ifindex);
	rc = rtnl_addr_set_local(addr, local);
	if (rc >= 0)
		rc = rtnl_addr_add(sk, addr, 0);
	nl_addr_put(local);
	rtnl_addr_put(addr);
	if (rc < 0) {
		char buf[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a, buf, sizeof(buf));
		return ab_fail(e, nl_errno(rc), "address %s/%u on %s: "
			       "RTM_NEWADDR", buf, prefix_len, ifname);
	}
	return 0;
}

/**
 * link_change() - Change an interface: IPv6 address generation off, or up
 * @sk:		Netlink socket in the interface's netns
 * @ifname:	Interface name, for errors
 * @ifindex:	Interface index
 * @up:		true: bring it up; false: set addr_gen_mode none
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
static int link_change(struct nl_sock *sk, const char *ifname, int ifindex,
		       bool up, struct ab_err *e)
{
	struct rtnl_link *orig = rtnl_link_alloc(), *chg = rtnl_link_alloc();
	int rc = -NLE_NOMEM;

	if (orig && chg) {
		rtnl_link_set_ifindex(orig, ifindex);
		if (up)
			rtnl_link_set_flags(chg, IFF_UP);
		else
			rc = rtnl_link_inet6_set_addr_gen_mode(
				chg, IN6_ADDR_GEN_MODE_NONE);
		if (up || rc >= 0)
			rc = rtnl_link_change(sk, orig, chg, 0);
	}
	if (orig)
		rtnl_link_put(orig);
	if (chg)
		rtnl_link_put(chg);
	if (rc < 0)
		return ab_fail(e, nl_errno(rc), "link %s: %s", ifname,
			       up ? "set up" : "IPv6 addr_gen_mode none");
	return 0;
}

/**
 * veth_end_setup() - Configure one veth end: no IPv6, IPv4 address, up
 * @sk:		Netlink socket in the end's netns
 * @ifname:	Interface name
 * @a:		Address
 * @prefix_len:	Prefix length
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
static int veth_end_setup(struct nl_sock *sk, const char *ifname,
			  struct in_addr a, unsigned prefix_len,
			  struct ab_err *e)
{
	if (link_change(sk, ifname, IFINDEX_VETH, false, e) ||
	    addr_add(sk, ifname, IFINDEX_VETH, a, prefix_len, e) ||
	    link_change(sk, ifname, IFINDEX_VETH, true, e))
		return -1;
	return 0;
}

/**
 * listener_bind() - Bind and listen on the gateway address
 * @fd:		TCP socket created in G
 * @c:		Configuration
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
static int listener_bind(int fd, const struct ab_config *c, struct ab_err *e)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(c->proxy_port),
		.sin_addr = c->gateway_addr,
	};
	char buf[INET_ADDRSTRLEN];
	int one = 1;

	inet_ntop(AF_INET, &c->gateway_addr, buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return ab_fail(e, errno, "proxy listener %s:%u: bind", buf,
			       c->proxy_port);
	if (listen(fd, 4096))
		return ab_fail(e, errno, "proxy listener %s:%u: listen", buf,
			       c->proxy_port);
	return 0;
}

/**
 * ab_netns_setup() - Build the sandbox's network (run by init, in S)
 * @c:		Configuration: addresses and port
 * @listener:	Result: the proxy listener socket, bound in G
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled; on failure nothing is left open
 */
int ab_netns_setup(const struct ab_config *c, int *listener,
		   struct ab_err *e)
{
	cleanup_fd int s_fd = -1;
	cleanup_fd int g_fd = -1;
	cleanup_fd int lfd = -1;
	struct nl_sock *sk_s = NULL, *sk_g = NULL;
	int ret = -1;

	s_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s_fd < 0)
		return ab_fail(e, errno, "sandbox netns: open "
			       "/proc/self/ns/net");
	if (!(sk_s = nl_open("sandbox", e)))
		return -1;

	/* Into G, just long enough to make the sockets that live there */
	if (unshare(CLONE_NEWNET)) {
		ab_fail_ns(e, errno, "gateway netns: unshare(CLONE_NEWNET)");
		goto out;
	}
	g_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (g_fd < 0) {
		ab_fail(e, errno, "gateway netns: open /proc/self/ns/net");
		goto back;
	}
	if (!(sk_g = nl_open("gateway", e)))
		goto back;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		ab_fail(e, errno, "proxy listener: socket");
back:
	if (setns(s_fd, CLONE_NEWNET)) {
		/* Cannot happen short of a kernel bug; stay closed */
		ab_fail_ns(e, errno, "sandbox netns: setns back from gateway");
		goto out;
	}
	if (lfd < 0 || !sk_g)
		goto out;

	if (veth_create(sk_s, g_fd, e))
		goto out;
	if (veth_end_setup(sk_g, AB_IF_GATEWAY, c->gateway_addr,
			   c->prefix_len, e) ||
	    veth_end_setup(sk_s, AB_IF_SANDBOX, c->sandbox_addr,
			   c->prefix_len, e) ||
	    link_change(sk_s, "lo", IFINDEX_LO, true, e))
		goto out;
	if (listener_bind(lfd, c, e))
		goto out;

	*listener = lfd;
	lfd = -1;
	ret = 0;
out:
	if (sk_g)
		nl_socket_free(sk_g);
	nl_socket_free(sk_s);
	return ret;
}
