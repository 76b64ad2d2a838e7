// SPDX-License-Identifier: MIT
/* nft.c - the gateway's nftables rules: every TCP connection from the
 * sandbox to the relay's transparent listener.
 *
 * Theory of operation: init calls ab_nft_intercept() while it is in the
 * gateway namespace G, which the sandbox's user namespace owns, so it has
 * CAP_NET_ADMIN there without any privilege on the host.  One netlink
 * transaction (a batch: all of it or none) installs, for IPv4 and IPv6:
 *
 *   table ip agentbox {
 *     chain intercept {
 *       type nat hook prerouting priority dstnat; policy accept;
 *       iif ab1 ip daddr GATEWAY tcp dport PROXY_PORT accept
 *       iif ab1 meta l4proto tcp redirect to :INTERCEPT_PORT
 *     }
 *   }
 *   table ip6 agentbox {
 *     chain intercept {
 *       type nat hook prerouting priority dstnat; policy accept;
 *       iif ab1 meta l4proto tcp redirect to :INTERCEPT_PORT
 *     }
 *   }
 *
 * redirect rewrites the destination to the address of ab1 itself, where
 * the relay's transparent listeners are bound; conntrack keeps what it was,
 * and the relay reads it back with SO_ORIGINAL_DST.  The explicit proxy
 * port stays as it is.  Nothing else needs a rule: G has no route
 * anywhere and does not forward, and UDP and the rest never leave the
 * sandbox (the seccomp filter refuses those sockets).
 *
 * Why libnftnl and not libnftables: the rules are fixed, and libnftables
 * would parse them from text with its bison grammar and dump the ruleset
 * first, about a millisecond at every start (measured: 0.15 ms to make its
 * context, 0.7 ms to run), where building the same netlink messages costs
 * microseconds.  `nft list ruleset` in G (nsenter) shows them as above.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "nft.h"
#include "util.h"

#define NFT_TABLE	"agentbox"
#define NFT_CHAIN	"intercept"
#define NFT_PRIO_DSTNAT	(-100)

struct batch {
	char buf[8192];
	size_t len;
	uint32_t seq;
	bool nomem;
};

static char *batch_cur(struct batch *b)
{
	return b->buf + b->len;
}

static void batch_next(struct batch *b, const struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* Each expression added to @r in turn; false when out of memory */
static bool add_expr(struct nftnl_rule *r, struct nftnl_expr *x)
{
	if (!x)
		return false;
	nftnl_rule_add_expr(r, x);
	return true;
}

static struct nftnl_expr *meta(uint32_t key)
{
	struct nftnl_expr *x = nftnl_expr_alloc("meta");

	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return x;
}

static struct nftnl_expr *payload(uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *x = nftnl_expr_alloc("payload");

	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	return x;
}

static struct nftnl_expr *cmp_eq(const void *data, uint32_t len)
{
	struct nftnl_expr *x = nftnl_expr_alloc("cmp");

	if (x) {
		nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return x;
}

/* iif ab1 meta l4proto tcp: the start of both rules */
static bool match_tcp_from_sandbox(struct nftnl_rule *r, uint32_t ifindex)
{
	uint8_t tcp = IPPROTO_TCP;

	return add_expr(r, meta(NFT_META_IIF)) &&
	       add_expr(r, cmp_eq(&ifindex, sizeof(ifindex))) &&
	       add_expr(r, meta(NFT_META_L4PROTO)) &&
	       add_expr(r, cmp_eq(&tcp, sizeof(tcp)));
}

/* ... ip daddr GATEWAY tcp dport PROXY_PORT accept */
static bool rule_accept_proxy(struct nftnl_rule *r, struct in_addr gw,
			      uint16_t port)
{
	struct nftnl_expr *v = nftnl_expr_alloc("immediate");
	uint16_t nport = htons(port);

	if (v) {
		nftnl_expr_set_u32(v, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(v, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	}
	if (!add_expr(r, payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4)) ||
	    !add_expr(r, cmp_eq(&gw, sizeof(gw))) ||
	    !add_expr(r, payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2)) ||
	    !add_expr(r, cmp_eq(&nport, sizeof(nport)))) {
		if (v)
			nftnl_expr_free(v);
		return false;
	}
	return add_expr(r, v);
}

/* ... redirect to :PORT */
static bool rule_redirect(struct nftnl_rule *r, uint16_t port)
{
	struct nftnl_expr *imm = nftnl_expr_alloc("immediate");
	struct nftnl_expr *redir;
	uint16_t nport = htons(port);

	if (!imm)
		return false;
	nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &nport, sizeof(nport));
	nftnl_rule_add_expr(r, imm);
	redir = nftnl_expr_alloc("redir");
	if (redir) {
		nftnl_expr_set_u32(redir, NFTNL_EXPR_REDIR_REG_PROTO_MIN,
				   NFT_REG_1);
		nftnl_expr_set_u32(redir, NFTNL_EXPR_REDIR_REG_PROTO_MAX,
				   NFT_REG_1);
	}
	return add_expr(r, redir);
}

static void put_table(struct batch *b, uint16_t family)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t) {
		b->nomem = true;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE);
	nlh = nftnl_table_nlmsg_build_hdr(batch_cur(b), NFT_MSG_NEWTABLE,
					  family, NLM_F_CREATE | NLM_F_ACK,
					  b->seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_next(b, nlh);
}

static void put_chain(struct batch *b, uint16_t family)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c) {
		b->nomem = true;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, NFT_CHAIN);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_PRE_ROUTING);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NFT_PRIO_DSTNAT);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = nftnl_chain_nlmsg_build_hdr(batch_cur(b), NFT_MSG_NEWCHAIN,
					  family, NLM_F_CREATE | NLM_F_ACK,
					  b->seq++);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	batch_next(b, nlh);
}

static void put_rule(struct batch *b, uint16_t family, uint32_t ifindex,
		     const struct in_addr *gw, uint16_t proxy_port,
		     uint16_t to_port)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	bool ok;

	if (!r) {
		b->nomem = true;
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, NFT_CHAIN);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	ok = match_tcp_from_sandbox(r, ifindex) &&
	     (gw ? rule_accept_proxy(r, *gw, proxy_port) :
		   rule_redirect(r, to_port));
	if (!ok) {
		nftnl_rule_free(r);
		b->nomem = true;
		return;
	}
	nlh = nftnl_rule_nlmsg_build_hdr(batch_cur(b), NFT_MSG_NEWRULE, family,
					 NLM_F_CREATE | NLM_F_APPEND |
					 NLM_F_ACK, b->seq++);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_next(b, nlh);
}

/**
 * acks() - Read the answers to a batch: the first error, if any
 * @fd:		The netlink socket
 * @want:	How many acknowledgements the batch asked for
 *
 * The kernel handles the batch within sendmsg(), so every answer is queued
 * by the time it returns.
 *
 * Return: 0, or the errno of the first message that failed
 */
static int acks(int fd, unsigned want)
{
	char buf[8192] __attribute__((aligned(4)));
	unsigned got = 0;

	while (got < want) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		const struct nlmsghdr *h;
		size_t left;

		if (n < 0)
			return errno == EAGAIN ? EPROTO : errno;
		left = (size_t)n;
		for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			const struct nlmsgerr *m = NLMSG_DATA(h);

			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (m->error)
				return -m->error;
			got++;
		}
	}
	return 0;
}

/**
 * ab_nft_intercept() - Install the interception rules (init, in G)
 * @gw:		The gateway's IPv4 address (ab1)
 * @proxy_port:	The explicit proxy's port there, left as it is
 * @to_port:	The transparent listeners' port
 * @e:		Error
 *
 * Return: 0, or -1 with @e filled (nothing is installed then)
 */
int ab_nft_intercept(struct in_addr gw, uint16_t proxy_port, uint16_t to_port,
		     struct ab_err *e)
{
	static const uint16_t fams[] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	cleanup_fd int fd = -1;
	struct batch b = { .seq = 1 };
	struct nlmsghdr *nlh;
	unsigned n_ack = 0;
	int err;

#ifdef AB_TEST_PATHS
	/* the tests of a kernel without nf_tables nat (test builds only) */
	if (getenv("AGENTBOX_TEST_NO_NFT"))
		return ab_fail(e, EOPNOTSUPP, "interception: nftables "
			       "transaction (nat redirect in the gateway "
			       "netns)");
#endif
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return ab_fail(e, errno, "interception: NETLINK_NETFILTER "
			       "socket");
	nlh = nftnl_batch_begin(batch_cur(&b), b.seq++);
	batch_next(&b, nlh);
	for (unsigned i = 0; i < ARRAY_SIZE(fams); i++) {
		put_table(&b, fams[i]);
		put_chain(&b, fams[i]);
		if (fams[i] == NFPROTO_IPV4) {
			put_rule(&b, fams[i], AB_GW_IFINDEX, &gw, proxy_port, 0);
			n_ack++;
		}
		put_rule(&b, fams[i], AB_GW_IFINDEX, NULL, 0, to_port);
		n_ack += 3;
	}
	nlh = nftnl_batch_end(batch_cur(&b), b.seq++);
	batch_next(&b, nlh);
	if (b.nomem)
		return ab_fail(e, ENOMEM, "interception: nftables rules");
	if (sendto(fd, b.buf, b.len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) != (ssize_t)b.len)
		return ab_fail(e, errno, "interception: nftables transaction");
	err = acks(fd, n_ack);
	if (err)
		return ab_fail(e, err, "interception: nftables transaction "
			       "(nat redirect in the gateway netns)");
	return 0;
}
