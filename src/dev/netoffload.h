/* The offloads a network card does for its driver, written once for every
 * card model (e1000, virtio-net): Internet checksums (RFC 1071), checksum
 * insertion at an offset, TCP segmentation, and the receive-side check.
 * A card parses its own descriptors or headers into these calls; nothing
 * here knows a device, and every offset is checked against the frame. */
#ifndef TREVO_DEV_NETOFFLOAD_H
#define TREVO_DEV_NETOFFLOAD_H

#include "../host/net.h"

static inline uint16_t net_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void net_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The ones'-complement sum of big-endian 16-bit words, added to sum
 * (unfolded: up to 128 KiB at a time). */
uint32_t net_csum_add(uint32_t sum, const uint8_t *p, size_t len);
/* Folded and complemented: the value a checksum field holds. */
uint16_t net_csum_fold(uint32_t sum);

/* The checksum of f[start, end) stored at f[at, at + 2), over what the
 * driver left in that field (the pseudo-header sum): 0, or -EINVAL (and
 * nothing written) when the range or the field is not inside len. */
int net_csum_insert(uint8_t *f, size_t len, size_t start, size_t end, size_t at);

/* A TCP segmentation request: IP header at ipcss, TCP header at tucss,
 * hdr_len bytes of headers repeated before every mss bytes of payload. */
struct net_tso {
	size_t ipcss, tucss, hdr_len, mss;
	bool ipv4;                  /* else IPv6 (40-byte header, no options) */
};

/* One frame to the back end; the card counts it. */
typedef void net_send_fn(void *opaque, uint8_t *frame, size_t len);

/* Segment f[0, len) as t says, calling send once per segment, each with
 * its IPv4 total length, identification (+1 a segment) and header checksum
 * or IPv6 payload length, TCP sequence number, flags (FIN and PSH on the
 * last only, CWR on the first only) and checksum. A back end that
 * takes_large_tcp4 gets an IPv4 segment whole instead (one send, lengths
 * and checksums completed), as the stack it is acknowledges it once.
 * seg (seg_size bytes) holds one segment. f may be rewritten. 1 when the
 * whole segment went at once, 0 when segmented, -EINVAL (nothing sent)
 * when t does not fit f or seg. */
int net_tso_send(const struct net_backend *be, uint8_t *f, size_t len, const struct net_tso *t,
		 uint8_t *seg, size_t seg_size, net_send_fn *send, void *opaque);

/* The receive-side check of an Ethernet II IPv4 frame. */
enum {
	NET_RX_IP = 1,        /* an IPv4 header, its checksum checked */
	NET_RX_IP_BAD = 2,    /* ... and wrong */
	NET_RX_L4 = 4,        /* a TCP or UDP header (no fragment), checksum checked */
	NET_RX_L4_BAD = 8,    /* ... and wrong */
};
/* NET_RX_* bits; with check_l4 false, the TCP/UDP checksum is left alone. */
unsigned net_rx_csum(const uint8_t *f, size_t len, bool check_l4);

#endif
