/* The network cards' shared offloads (src/dev/netoffload.c) against frames
 * built here and a checksum computed here, independently: checksum
 * insertion, TCP segmentation for a wire-like back end (tap: segment
 * sizes, sequence numbers, IP ids, flags, both checksums, payload), the
 * whole segment for an IP-stack back end (slirp), IPv6 segmentation, the
 * receive check, and hostile requests (nothing sent, nothing touched
 * outside the frame). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/netoffload.h"
#include "unit_net.h"

#include "check.h"


static bool ip4_ok(const uint8_t *ip)
{
	return unit_sum16(0, ip, (ip[0] & 15) * 4u) == 0xffff;
}

static bool tcp4_ok(const uint8_t *ip, size_t tcp_len)
{
	uint32_t pseudo = unit_sum16(0, ip + 12, 8) + 6 + (uint32_t)tcp_len;

	return unit_sum16(pseudo, ip + (ip[0] & 15) * 4u, tcp_len) == 0xffff;
}

static bool tcp6_ok(const uint8_t *ip, size_t tcp_len)
{
	uint32_t pseudo = unit_sum16(0, ip + 8, 32) + 6 + (uint32_t)tcp_len;

	return unit_sum16(pseudo, ip + 40, tcp_len) == 0xffff;
}

#define MAXSEG 16
static struct { size_t len; uint8_t data[70000]; } sent[MAXSEG];
static unsigned nsent;

static void capture(void *opaque, uint8_t *f, size_t len)
{
	(void)opaque;
	if (nsent < MAXSEG && len <= sizeof(sent[0].data)) {
		memcpy(sent[nsent].data, f, len);
		sent[nsent].len = len;
	}
	nsent++;
}

/* Ethernet, IPv4 (id 0x1234, with 4 bytes of options when opt), TCP
 * (seq 0xfffff000: it wraps, flags CWR|PSH|FIN|ACK, 12 bytes of options),
 * payload bytes i & 0xff. Returns the frame length; *hl the headers. */
static size_t tcp4_frame(uint8_t *f, size_t payload, bool opt, size_t *hl)
{
	size_t ihl = opt ? 24 : 20, h = 14 + ihl + 32;
	uint8_t *ip = f + 14, *tcp = ip + ihl;

	memset(f, 0, h);
	memset(f, 0x02, 12);
	f[12] = 0x08;
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	ip[4] = 0x12; ip[5] = 0x34; ip[8] = 64; ip[9] = 6;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 2, 15, 10, 0, 2, 2 }, 8);
	if (opt)
		memcpy(ip + 20, (uint8_t[]){ 1, 1, 1, 0 }, 4);  /* NOP NOP NOP EOL */
	tcp[0] = 0x30; tcp[1] = 0x39; tcp[2] = 0x00; tcp[3] = 0x50;
	memcpy(tcp + 4, (uint8_t[]){ 0xff, 0xff, 0xf0, 0x00 }, 4);
	tcp[8] = 0; tcp[11] = 1;
	tcp[12] = 8 << 4;
	tcp[13] = 0x80 | 0x10 | 0x08 | 0x01;
	tcp[14] = 0xff;
	memcpy(tcp + 20, (uint8_t[]){ 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 }, 12);
	for (size_t i = 0; i < payload; i++)
		f[h + i] = (uint8_t)i;
	*hl = h;
	return h + payload;
}

static uint8_t frame[70000], seg[70000];

static void test_csum_insert(void)
{
	/* UDP over IPv4, the field seeded with the pseudo-header sum as a
	 * driver leaves it (5.1.6.2; e1000 3.3.6 likewise). */
	uint8_t f[14 + 20 + 8 + 5] = { 0 };
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint32_t pseudo;

	f[12] = 0x08;
	ip[0] = 0x45; ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 2, 15, 10, 0, 2, 3 }, 8);
	udp[1] = 53; udp[3] = 99; udp[5] = 13;
	memcpy(udp + 8, "hello", 5);
	pseudo = unit_sum16(0, ip + 12, 8) + 17 + 13;
	pseudo = unit_sum16(pseudo, NULL, 0);
	udp[6] = (uint8_t)(pseudo >> 8);
	udp[7] = (uint8_t)pseudo;
	CHECK("csum-insert-udp", net_csum_insert(f, sizeof(f), 34, sizeof(f), 34 + 6) == 0 &&
					 unit_sum16(unit_sum16(0, ip + 12, 8) + 17 + 13, udp, 13) == 0xffff);
	CHECK("csum-insert-field-outside", net_csum_insert(f, sizeof(f), 34, sizeof(f), sizeof(f) - 1) == -EINVAL);
	CHECK("csum-insert-start-outside", net_csum_insert(f, sizeof(f), sizeof(f), sizeof(f), 0) == -EINVAL);
	CHECK("csum-insert-end-outside", net_csum_insert(f, sizeof(f), 0, sizeof(f) + 1, 0) == -EINVAL);
	CHECK("csum-insert-tiny-frame", net_csum_insert(f, 1, 0, 1, 0) == -EINVAL);
	CHECK("csum-insert-huge-offset",
	      net_csum_insert(f, sizeof(f), 0, sizeof(f), (size_t)0xffff + 0xffff) == -EINVAL);
}

static void test_tso_tap(bool opt)
{
	const struct net_backend wire = { .takes_large_tcp4 = false };
	size_t hl, len = tcp4_frame(frame, 3000, opt, &hl);
	struct net_tso t = { .ipcss = 14, .tucss = opt ? 38 : 34, .hdr_len = hl, .mss = 1400, .ipv4 = true };
	bool ok = true;
	int r;

	nsent = 0;
	r = net_tso_send(&wire, frame, len, &t, seg, sizeof(seg), capture, NULL);
	CHECK(opt ? "tso-tap-ipopt-segmented" : "tso-tap-segmented", r == 0 && nsent == 3);
	for (unsigned i = 0; i < 3 && nsent == 3; i++) {
		const uint8_t *s = sent[i].data, *ip = s + 14, *tcp = s + t.tucss;
		size_t n = i < 2 ? 1400 : 200;
		ok &= sent[i].len == hl + n;
		ok &= unit_be16(ip + 2) == hl - 14 + n;
		ok &= unit_be16(ip + 4) == 0x1234 + i;
		ok &= ip4_ok(ip);
		ok &= unit_be32(tcp + 4) == (uint32_t)(0xfffff000u + 1400 * i);
		ok &= tcp4_ok(ip, hl - t.tucss + n);
		ok &= tcp[13] == (i == 0 ? 0x90 : i == 1 ? 0x10 : 0x19);
		ok &= !memcmp(tcp + 20, (uint8_t[]){ 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 }, 12);
		for (size_t k = 0; k < n; k++)
			ok &= s[hl + k] == (uint8_t)(1400 * i + k);
	}
	CHECK(opt ? "tso-tap-ipopt-fields" : "tso-tap-fields-seq-ipid-csum-flags-payload", ok);
}

static void test_tso_whole(void)
{
	const struct net_backend stack = { .takes_large_tcp4 = true };
	size_t hl, len = tcp4_frame(frame, 60000, false, &hl);
	struct net_tso t = { .ipcss = 14, .tucss = 34, .hdr_len = hl, .mss = 1448, .ipv4 = true };
	int r;

	nsent = 0;
	r = net_tso_send(&stack, frame, len, &t, seg, sizeof(seg), capture, NULL);
	CHECK("tso-slirp-whole", r == 1 && nsent == 1 && sent[0].len == len);
	CHECK("tso-slirp-whole-fields",
	      unit_be16(sent[0].data + 16) == len - 14 && unit_be16(sent[0].data + 18) == 0x1234 &&
		      ip4_ok(sent[0].data + 14) && tcp4_ok(sent[0].data + 14, len - 34) &&
		      sent[0].data[34 + 13] == 0x99 && sent[0].data[hl + 59999] == (uint8_t)59999);
	/* Larger than an IPv4 total length can say: segmented instead. */
	len = tcp4_frame(frame, 65536 - hl + 14, false, &hl);
	nsent = 0;
	r = net_tso_send(&stack, frame, len, &t, seg, sizeof(seg), capture, NULL);
	CHECK("tso-slirp-too-long-for-ipv4-segmented", r == 0 && nsent == (65536 - hl + 14 + 1447) / 1448);
}

static void test_tso_ipv6(void)
{
	const struct net_backend stack = { .takes_large_tcp4 = true };
	uint8_t *ip = frame + 14, *tcp = ip + 40;
	size_t hl = 14 + 40 + 20, len = hl + 2500;
	struct net_tso t = { .ipcss = 14, .tucss = 54, .hdr_len = hl, .mss = 1000, .ipv4 = false };
	bool ok = true;

	memset(frame, 0, hl);
	frame[12] = 0x86; frame[13] = 0xdd;
	ip[0] = 0x60; ip[6] = 6; ip[7] = 64;
	ip[8] = 0xfe; ip[9] = 0x80; ip[23] = 1; ip[24] = 0xfe; ip[25] = 0x80; ip[39] = 2;
	tcp[7] = 7; tcp[12] = 5 << 4; tcp[13] = 0x18;
	for (size_t i = 0; i < 2500; i++)
		frame[hl + i] = (uint8_t)(i * 7);
	nsent = 0;
	/* IPv6 is never sent whole, even to an IP stack (takes_large_tcp4). */
	CHECK("tso-ipv6-segmented", net_tso_send(&stack, frame, len, &t, seg, sizeof(seg), capture, NULL) == 0 &&
					    nsent == 3);
	for (unsigned i = 0; i < 3 && nsent == 3; i++) {
		size_t n = i < 2 ? 1000 : 500;
		ok &= unit_be16(sent[i].data + 18) == 20 + n && unit_be32(sent[i].data + 54 + 4) == 7 + 1000 * i;
		ok &= tcp6_ok(sent[i].data + 14, 20 + n);
		ok &= sent[i].data[54 + 13] == (i < 2 ? 0x10 : 0x18);
	}
	CHECK("tso-ipv6-fields", ok);
}

static void test_tso_hostile(void)
{
	const struct net_backend wire = { 0 };
	size_t hl, len = tcp4_frame(frame, 3000, false, &hl);
	struct net_tso base = { .ipcss = 14, .tucss = 34, .hdr_len = hl, .mss = 1400, .ipv4 = true }, t;
	bool ok = true;

	nsent = 0;
	t = base; t.mss = 0;
	ok &= net_tso_send(&wire, frame, len, &t, seg, sizeof(seg), capture, NULL) == -EINVAL;
	t = base; t.hdr_len = len + 1;
	ok &= net_tso_send(&wire, frame, len, &t, seg, sizeof(seg), capture, NULL) == -EINVAL;
	t = base; t.tucss = 30;        /* TCP header inside the IP header */
	ok &= net_tso_send(&wire, frame, len, &t, seg, sizeof(seg), capture, NULL) == -EINVAL;
	t = base; t.tucss = hl - 10;   /* TCP header past the replicated headers */
	ok &= net_tso_send(&wire, frame, len, &t, seg, sizeof(seg), capture, NULL) == -EINVAL;
	t = base; t.ipcss = len;       /* IP header outside the frame */
	ok &= net_tso_send(&wire, frame, len, &t, seg, sizeof(seg), capture, NULL) == -EINVAL;
	t = base; t.mss = 65535;       /* a segment larger than seg */
	ok &= net_tso_send(&wire, frame, len, &t, seg, 2000, capture, NULL) == -EINVAL;
	t = base; t.mss = 65535 - 20;  /* larger than an IPv4 total length */
	ok &= net_tso_send(&wire, frame, len, &t, seg, sizeof(seg), capture, NULL) == -EINVAL;
	frame[14] = 0x44;              /* IHL 16 bytes */
	ok &= net_tso_send(&wire, frame, len, &base, seg, sizeof(seg), capture, NULL) == -EINVAL;
	frame[14] = 0x4f;              /* IHL 60: past tucss */
	ok &= net_tso_send(&wire, frame, len, &base, seg, sizeof(seg), capture, NULL) == -EINVAL;
	CHECK("tso-hostile-rejected-nothing-sent", ok && nsent == 0);
	/* No payload: one segment, the headers alone. */
	len = tcp4_frame(frame, 0, false, &hl);
	CHECK("tso-empty-payload-one-segment",
	      net_tso_send(&wire, frame, len, &base, seg, sizeof(seg), capture, NULL) == 0 && nsent == 1 &&
		      sent[0].len == hl && tcp4_ok(sent[0].data + 14, hl - 34));
}

static void test_rx(void)
{
	const struct net_backend wire = { 0 };
	size_t hl, len = tcp4_frame(frame, 1000, false, &hl);
	struct net_tso t = { .ipcss = 14, .tucss = 34, .hdr_len = hl, .mss = 1000, .ipv4 = true };
	unsigned r;

	nsent = 0;
	net_tso_send(&wire, frame, len, &t, seg, sizeof(seg), capture, NULL);  /* checksums done */
	r = net_rx_csum(sent[0].data, sent[0].len, true);
	CHECK("rx-csum-good", nsent == 1 && r == (NET_RX_IP | NET_RX_L4));
	CHECK("rx-csum-ip-only", net_rx_csum(sent[0].data, sent[0].len, false) == NET_RX_IP);
	sent[0].data[hl + 5] ^= 1;
	CHECK("rx-csum-bad-payload", net_rx_csum(sent[0].data, sent[0].len, true) ==
					     (NET_RX_IP | NET_RX_L4 | NET_RX_L4_BAD));
	sent[0].data[hl + 5] ^= 1;
	sent[0].data[22] ^= 1;         /* TTL */
	CHECK("rx-csum-bad-ip", net_rx_csum(sent[0].data, sent[0].len, true) & NET_RX_IP_BAD);
	sent[0].data[22] ^= 1;
	sent[0].data[20] = 0x20;       /* more fragments: no L4 check */
	CHECK("rx-csum-fragment", !(net_rx_csum(sent[0].data, sent[0].len, true) & NET_RX_L4));
	sent[0].data[20] = 0;
	CHECK("rx-csum-truncated", net_rx_csum(sent[0].data, 100, true) == 0);
	sent[0].data[12] = 0x86;
	CHECK("rx-csum-not-ipv4", net_rx_csum(sent[0].data, sent[0].len, true) == 0);
}

int main(void)
{
	test_csum_insert();
	test_tso_tap(false);
	test_tso_tap(true);
	test_tso_whole();
	test_tso_ipv6();
	test_tso_hostile();
	test_rx();
	return failures ? 1 : 0;
}
