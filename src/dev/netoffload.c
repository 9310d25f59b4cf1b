/* Checksums and TCP segmentation for the network cards (netoffload.h). */
#include <errno.h>
#include <string.h>

#include "netoffload.h"

#define ETH_P_IPV4 0x0800
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

uint32_t net_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += net_get_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int net_csum_insert(uint8_t *f, size_t len, size_t start, size_t end, size_t at)
{
	/* written so that nothing wraps: len < 2 fails before len - 2 */
	if (end > len || start >= end || len < 2 || at > len - 2)
		return -EINVAL;
	net_put_be16(f + at, net_csum_fold(net_csum_add(0, f + start, end - start)));
	return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)net_get_be16(p) << 16 | net_get_be16(p + 2);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	net_put_be16(p, (uint16_t)(v >> 16));
	net_put_be16(p + 2, (uint16_t)v);
}

/* The IPv4 header checksum, redone. */
static void ip4_csum(uint8_t *ip, size_t ihl)
{
	net_put_be16(ip + 10, 0);
	net_put_be16(ip + 10, net_csum_fold(net_csum_add(0, ip, ihl)));
}

/* The TCP checksum of tcp[0, tcp_len) over the pseudo-header (RFC 793
 * 3.1, RFC 8200 8.1): addresses from the IP header, protocol, length. */
static void tcp_csum(uint8_t *ip, bool ipv4, uint8_t *tcp, size_t tcp_len)
{
	uint32_t sum;

	net_put_be16(tcp + 16, 0);
	sum = net_csum_add(0, tcp, tcp_len);
	sum = ipv4 ? net_csum_add(sum, ip + 12, 8) : net_csum_add(sum, ip + 8, 32);
	sum += 6 + (uint32_t)tcp_len;
	net_put_be16(tcp + 16, net_csum_fold(sum));
}

int net_tso_send(const struct net_backend *be, uint8_t *f, size_t len, const struct net_tso *t,
		 uint8_t *seg, size_t seg_size, net_send_fn *send, void *opaque)
{
	size_t hl = t->hdr_len, ipcss = t->ipcss, tucss = t->tucss, mss = t->mss;
	size_t ihl = t->ipv4 && ipcss < len ? (f[ipcss] & 15) * 4u : 40;
	size_t payload, off = 0;
	uint32_t seq;
	uint16_t ipid;

	/* Every header we read or write lies inside the replicated headers,
	 * the IP header before the TCP one; a segment fits seg. */
	if (hl > len || mss == 0 || ipcss + ihl > tucss || ihl < 20 || tucss + 20 > hl ||
	    hl > seg_size || mss > seg_size - hl || hl - ipcss + mss > 0xffff)
		return -EINVAL;
	payload = len - hl;
	if (t->ipv4 && be->takes_large_tcp4 && len <= NET_MAX_FRAME && len - ipcss <= 0xffff) {
		net_put_be16(f + ipcss + 2, (uint16_t)(len - ipcss));
		ip4_csum(f + ipcss, ihl);
		tcp_csum(f + ipcss, true, f + tucss, len - tucss);
		send(opaque, f, len);
		return 1;
	}
	seq = get_be32(f + tucss + 4);
	ipid = net_get_be16(f + ipcss + 4);
	do {
		size_t n = payload - off < mss ? payload - off : mss;
		uint8_t *ip = seg + ipcss, *tcp = seg + tucss;

		memcpy(seg, f, hl);
		memcpy(seg + hl, f + hl + off, n);
		if (t->ipv4) {
			net_put_be16(ip + 2, (uint16_t)(hl - ipcss + n));
			net_put_be16(ip + 4, ipid++);
			ip4_csum(ip, ihl);
		} else {
			net_put_be16(ip + 4, (uint16_t)(hl - ipcss - 40 + n));  /* payload length */
		}
		put_be32(tcp + 4, seq + (uint32_t)off);
		if (off + n < payload)
			tcp[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (off > 0)
			tcp[13] &= (uint8_t)~TCP_CWR;   /* RFC 3168 6.1.2: once */
		tcp_csum(ip, t->ipv4, tcp, hl - tucss + n);
		send(opaque, seg, hl + n);
		off += n;
	} while (off < payload);
	return 0;
}

unsigned net_rx_csum(const uint8_t *f, size_t len, bool check_l4)
{
	const uint8_t *ip = f + 14, *l4;
	unsigned ihl, tot, proto, r;
	uint32_t sum;

	if (len < 14 + 20 || net_get_be16(f + 12) != ETH_P_IPV4 || ip[0] >> 4 != 4)
		return 0;
	ihl = (ip[0] & 15) * 4u;
	tot = net_get_be16(ip + 2);
	if (ihl < 20 || tot < ihl || tot > len - 14)
		return 0;
	r = NET_RX_IP;
	if (net_csum_fold(net_csum_add(0, ip, ihl)))
		r |= NET_RX_IP_BAD;
	proto = ip[9];
	if (!check_l4 || (net_get_be16(ip + 6) & 0x3fff) || (proto != 6 && proto != 17))
		return r;
	l4 = ip + ihl;
	if (tot - ihl < (proto == 6 ? 20u : 8u))
		return r;
	r |= NET_RX_L4;
	if (proto == 17 && net_get_be16(l4 + 6) == 0)
		return r;                 /* UDP without a checksum */
	sum = net_csum_add(0, l4, tot - ihl);
	sum = net_csum_add(sum, ip + 12, 8);
	sum += proto + (tot - ihl);
	if (net_csum_fold(sum))
		r |= NET_RX_L4_BAD;
	return r;
}
