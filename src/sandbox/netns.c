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
 * already has its fe80:: address), its IPv4 address, and goes up.
 *
 * With interception (the default), init also installs G's nftables rules
 * while it is there (nft.c) and makes two more listeners, IPv4 and IPv6;
 * both ends get a ULA address (fd61:6762:6f78:1::1 and ::2, without
 * duplicate address detection), and S default routes for both families via
 * G.  Every TCP connection the sandbox makes then ends in G, redirected to
 * the relay (intercept.c); G forwards nothing, so nothing else leaves.
 * When the rules cannot be installed (no nf_tables nat in this kernel),
 * that is one warning and S has no route and no IPv6 address, as with
 * "[network] intercept = no": the only address it can reach outside
 * itself is the gateway's proxy port.  Once init has dropped its
 * references, G lives exactly as long as its listeners and the veth: no
 * process is in G, so nothing can enter it.
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
#include <netlink/route/route.h>
#include <linux/rtnetlink.h>

#include "netns.h"
#include "nft.h"
#include "util.h"

#define IFINDEX_LO	1
#define IFINDEX_VETH	AB_GW_IFINDEX	/* the same in S and G */

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
 * addr_add() - Give an interface an address
 * @sk:		Netlink socket in the interface's netns
 * @ifname:	Interface name, for errors
 * @ifindex:	Interface index
 * @family:	AF_INET or AF_INET6
 * @a:		Address (struct in_addr or struct in6_addr)
 * @prefix_len:	Prefix length
 * @e:		Error
 *
 * An IPv6 address skips duplicate address detection (nodad): nothing else
 * is on the link, and a tentative address could not be bound for a second.
 *
 * Return: 0 on success, -1 with @e filled
 */
static int addr_add(struct nl_sock *sk, const char *ifname, int ifindex,
		    int family, const void *a, unsigned prefix_len,
		    struct ab_err *e)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local;
	int rc;

	if (!addr)
		return ab_fail(e, ENOMEM, "address %s: alloc", ifname);
	local = nl_addr_build(family, a, family == AF_INET ?
			      sizeof(struct in_addr) : sizeof(struct in6_addr));
	if (!local) {
		rtnl_addr_put(addr);
		return ab_fail(e, ENOMEM, "address %s: alloc", ifname);
	}
	nl_addr_set_prefixlen(local, (int)prefix_len);
	rtnl_addr_set_ifindex(addr, ifindex);
	if (family == AF_INET6)
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
	rc = rtnl_addr_set_local(addr, local);
	if (rc >= 0)
		rc = rtnl_addr_add(sk, addr, 0);
	nl_addr_put(local);
	rtnl_addr_put(addr);
	if (rc < 0) {
		char buf[INET6_ADDRSTRLEN];

		inet_ntop(family, a, buf, sizeof(buf));
		return ab_fail(e, nl_errno(rc), "address %s/%u on %s: "
			       "RTM_NEWADDR", buf, prefix_len, ifname);
	}
	return 0;
}

/**
 * route_default() - The sandbox's default route, through the gateway
 * @sk:		Netlink socket in S
 * @family:	AF_INET or AF_INET6
 * @gw:		The gateway's address on the veth
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
static int route_default(struct nl_sock *sk, int family, const void *gw,
			 struct ab_err *e)
{
	size_t alen = family == AF_INET ? sizeof(struct in_addr) :
					  sizeof(struct in6_addr);
	static const uint8_t zero[16];
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = nl_addr_build(family, zero, alen);
	struct nl_addr *via = nl_addr_build(family, gw, alen);
	int rc = -NLE_NOMEM;

	if (rt && nh && dst && via) {
		nl_addr_set_prefixlen(dst, 0);
		rtnl_route_set_family(rt, (uint8_t)family);
		rtnl_route_set_table(rt, RT_TABLE_MAIN);
		rtnl_route_set_protocol(rt, RTPROT_STATIC);
		rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
		rtnl_route_set_type(rt, RTN_UNICAST);
		rc = rtnl_route_set_dst(rt, dst);
		rtnl_route_nh_set_ifindex(nh, IFINDEX_VETH);
		rtnl_route_nh_set_gateway(nh, via);
		rtnl_route_add_nexthop(rt, nh);
		nh = NULL;		/* the route's now */
		if (rc >= 0)
			rc = rtnl_route_add(sk, rt, NLM_F_CREATE);
	}
	if (nh)
		rtnl_route_nh_free(nh);
	if (dst)
		nl_addr_put(dst);
	if (via)
		nl_addr_put(via);
	if (rt)
		rtnl_route_put(rt);
	if (rc < 0)
		return ab_fail(e, nl_errno(rc), "default %s route via the "
			       "gateway: RTM_NEWROUTE",
			       family == AF_INET ? "IPv4" : "IPv6");
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
 * @a6:		IPv6 address (prefix AB_VETH6_PREFIX), or NULL for none
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
static int veth_end_setup(struct nl_sock *sk, const char *ifname,
			  struct in_addr a, unsigned prefix_len,
			  const struct in6_addr *a6, struct ab_err *e)
{
	if (link_change(sk, ifname, IFINDEX_VETH, false, e) ||
	    addr_add(sk, ifname, IFINDEX_VETH, AF_INET, &a, prefix_len, e) ||
	    (a6 && addr_add(sk, ifname, IFINDEX_VETH, AF_INET6, a6,
			    AB_VETH6_PREFIX, e)) ||
	    link_change(sk, ifname, IFINDEX_VETH, true, e))
		return -1;
	return 0;
}

/**
 * listener_bind() - Bind and listen on an address of the gateway
 * @fd:		TCP socket created in G
 * @sa:		Address and port
 * @what:	For errors ("proxy listener")
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled
 */
static int listener_bind(int fd, const struct sockaddr_storage *sa,
			 const char *what, struct ab_err *e)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	char buf[INET6_ADDRSTRLEN + 2] = "[";
	bool v6 = sa->ss_family == AF_INET6;
	unsigned port = ntohs(v6 ? s6->sin6_port : s4->sin_port);
	int one = 1;

	inet_ntop(sa->ss_family, v6 ? (const void *)&s6->sin6_addr :
		  (const void *)&s4->sin_addr, buf + v6, sizeof(buf) - 2);
	if (v6)
		strcat(buf, "]");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa,
		 v6 ? sizeof(*s6) : sizeof(*s4)))
		return ab_fail(e, errno, "%s %s:%u: bind", what, buf, port);
	if (listen(fd, 4096))
		return ab_fail(e, errno, "%s %s:%u: listen", what, buf, port);
	return 0;
}

static void sa4(struct sockaddr_storage *ss, struct in_addr a, uint16_t port)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	s->sin_addr = a;
	s->sin_port = htons(port);
}

static void sa6(struct sockaddr_storage *ss, const struct in6_addr *a,
		uint16_t port)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin6_family = AF_INET6;
	s->sin6_addr = *a;
	s->sin6_port = htons(port);
}

/* Sockets made in G, before its end of the veth exists */
struct gw_socks {
	int proxy, icpt4, icpt6;
};

static void gw_socks_close(struct gw_socks *g)
{
	ab_closep(&g->proxy);
	ab_closep(&g->icpt4);
	ab_closep(&g->icpt6);
}

/**
 * gateway_enter() - Make G, and what lives in it, and come back to S
 * @c:		Configuration
 * @s_fd:	Descriptor of S
 * @g_fd:	Result: descriptor of G
 * @sk_g:	Result: netlink socket in G
 * @g:		Result: the listener sockets, unbound (icpt4 -1 unless
 *		interception could be set up)
 * @e:		Error
 *
 * Interception that cannot be set up (no nf_tables, or no nat, in this
 * kernel) is a warning: the command still runs, closed as without it.
 *
 * Return: 0 on success, -1 with @e filled
 */
static int gateway_enter(const struct ab_config *c, int s_fd, int *g_fd,
			 struct nl_sock **sk_g, struct gw_socks *g,
			 struct ab_err *e)
{
	int ret = -1;

	/* Into G, just long enough to make the sockets that live there */
	if (unshare(CLONE_NEWNET))
		return ab_fail_ns(e, errno, "gateway netns: "
				  "unshare(CLONE_NEWNET)");
	*g_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*g_fd < 0) {
		ab_fail(e, errno, "gateway netns: open /proc/self/ns/net");
		goto back;
	}
	if (!(*sk_g = nl_open("gateway", e)))
		goto back;
	g->proxy = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  0);
	if (g->proxy < 0) {
		ab_fail(e, errno, "proxy listener: socket");
		goto back;
	}
	ret = 0;
	if (c->intercept) {
		struct ab_err w = { 0 };

		g->icpt4 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
				  SOCK_CLOEXEC, 0);
		g->icpt6 = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK |
				  SOCK_CLOEXEC, 0);
		if (g->icpt4 < 0 || g->icpt6 < 0)
			ab_fail(&w, errno, "interception: listener socket");
		else
			ab_nft_intercept(c->gateway_addr, c->proxy_port,
					 ab_intercept_port(c), &w);
		if (w.code) {
			ab_closep(&g->icpt4);
			ab_closep(&g->icpt6);
			ab_warn("%s: %s; interception is off (tools that "
				"ignore the proxy variables fail closed); "
				"'agentbox doctor' says why", w.msg,
				strerror(w.code));
		}
	}
back:
	if (setns(s_fd, CLONE_NEWNET)) {
		/* Cannot happen short of a kernel bug; stay closed */
		return ab_fail_ns(e, errno, "sandbox netns: setns back from "
				  "gateway");
	}
	return ret;
}

/**
 * ab_netns_setup() - Build the sandbox's network (run by init, in S)
 * @c:		Configuration: addresses and port
 * @out:	Result: the listeners, bound in G (the interception ones -1
 *		when it is off)
 * @e:		Error
 *
 * Return: 0 on success, -1 with @e filled; on failure nothing is left open
 */
int ab_netns_setup(const struct ab_config *c, struct ab_gw_fds *out,
		   struct ab_err *e)
{
	struct gw_socks g = { -1, -1, -1 };
	cleanup_fd int s_fd = -1;
	cleanup_fd int g_fd = -1;
	struct nl_sock *sk_s = NULL, *sk_g = NULL;
	struct in6_addr gw6, sb6;
	struct sockaddr_storage ss;
	bool icpt;
	int ret = -1;

	inet_pton(AF_INET6, AB_VETH6_GATEWAY, &gw6);
	inet_pton(AF_INET6, AB_VETH6_SANDBOX, &sb6);
	s_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s_fd < 0)
		return ab_fail(e, errno, "sandbox netns: open "
			       "/proc/self/ns/net");
	if (!(sk_s = nl_open("sandbox", e)))
		return -1;
	if (gateway_enter(c, s_fd, &g_fd, &sk_g, &g, e))
		goto out;
	icpt = g.icpt4 >= 0;

	if (veth_create(sk_s, g_fd, e))
		goto out;
	if (veth_end_setup(sk_g, AB_IF_GATEWAY, c->gateway_addr,
			   c->prefix_len, icpt ? &gw6 : NULL, e) ||
	    veth_end_setup(sk_s, AB_IF_SANDBOX, c->sandbox_addr,
			   c->prefix_len, icpt ? &sb6 : NULL, e) ||
	    link_change(sk_s, "lo", IFINDEX_LO, true, e))
		goto out;
	if (icpt && (route_default(sk_s, AF_INET, &c->gateway_addr, e) ||
		     route_default(sk_s, AF_INET6, &gw6, e)))
		goto out;
	sa4(&ss, c->gateway_addr, c->proxy_port);
	if (listener_bind(g.proxy, &ss, "proxy listener", e))
		goto out;
	if (icpt) {
		sa4(&ss, c->gateway_addr, ab_intercept_port(c));
		if (listener_bind(g.icpt4, &ss, "interception listener", e))
			goto out;
		sa6(&ss, &gw6, ab_intercept_port(c));
		if (listener_bind(g.icpt6, &ss, "interception listener", e))
			goto out;
	}

	out->proxy = g.proxy;
	out->icpt4 = g.icpt4;
	out->icpt6 = g.icpt6;
	g = (struct gw_socks){ -1, -1, -1 };
	ret = 0;
out:
	gw_socks_close(&g);
	if (sk_g)
		nl_socket_free(sk_g);
	nl_socket_free(sk_s);
	return ret;
}
