/* The e1000 model against a RAM array and slirp, as Linux's e1000 driver
 * drives it: EEPROM by Microwire bit-banging and by EERD (MAC, checksum
 * 0xBABA), the PHY through MDIC, ICR read-to-clear with IMS/IMC, an ARP
 * request sent through a transmit ring that wraps and slirp's reply found
 * in the receive ring, a TCP connection through slirp to a host socket
 * (receive checksum offload on slirp's SYN-ACK; a TSO send that slirp
 * takes whole and acknowledges once), hostile descriptors (outside RAM,
 * heads past the ring, oversized lengths), filtering, and a state round
 * trip. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dev/pci.h"
#include "stats.h"
#include "unit_net.h"
#include "vm.h"
#include "vmstate.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (1ULL << 20)
#define ECAM 0x30000000ULL
#define BAR0 0x40000000ULL
#define TXR (RAM_BASE + 0x1000)
#define RXR (RAM_BASE + 0x2000)
#define TXBUF (RAM_BASE + 0x10000)
#define RXBUF (RAM_BASE + 0x20000)

#include "check.h"

static _Atomic int irq_level;

static void fake_set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	if (irq == 33)
		irq_level = level;
}

static struct vm_config cfg;
static struct vm vm;

static uint8_t *host(uint64_t gpa)
{
	return vm.mem.region[0].host + (gpa - RAM_BASE);
}

static uint32_t rd(unsigned off)
{
	uint64_t v = 0;

	vm_mmio_read(&vm, BAR0 + off, 4, &v);
	return (uint32_t)v;
}

static void wr(unsigned off, uint32_t v)
{
	vm_mmio_write(&vm, BAR0 + off, 4, v);
}

/* e1000_shift_out_ee_bits / shift_in as the driver does them */
static uint16_t ee_read_bitbang(unsigned addr)
{
	uint32_t v = 0x40 | 0x2;      /* REQ, CS */
	uint32_t cmd = 6u << 6 | addr;
	uint16_t data = 0;

	wr(0x10, 0x40);
	wr(0x10, v);
	for (int i = 8; i >= 0; i--) {
		uint32_t di = (cmd >> i & 1) ? 0x4 : 0;
		wr(0x10, v | di);
		wr(0x10, v | di | 1);
		wr(0x10, v | di);
	}
	for (int i = 0; i < 16; i++) {
		wr(0x10, v | 1);
		data = (uint16_t)(data << 1 | ((rd(0x10) & 0x8) ? 1 : 0));
		wr(0x10, v);
	}
	wr(0x10, 0x40);
	wr(0x10, 0);
	return data;
}

static uint16_t ee_read_eerd(unsigned addr)
{
	wr(0x14, addr << 8 | 1);
	return (uint16_t)(rd(0x14) >> 16);
}

static uint16_t phy_read(unsigned reg)
{
	wr(0x20, 2u << 26 | 1u << 21 | reg << 16);
	return (uint16_t)rd(0x20);
}

static void put_desc(uint64_t at, uint64_t addr, uint32_t cmd_len)
{
	memset(host(at), 0, 16);
	memcpy(host(at), &addr, 8);
	memcpy(host(at) + 8, &cmd_len, 4);
}

static bool wait_for(unsigned off, uint32_t want)
{
	for (int i = 0; i < 20000; i++) {
		if (rd(off) == want)
			return true;
		usleep(100);
	}
	return false;
}

/* --- a TCP connection by hand, for the offloads --------------------------- */

static uint64_t stat_value;
static const char *stat_name;

static void stat_put(void *ctx, const char *name, uint64_t value)
{
	(void)ctx;
	if (!strcmp(name, stat_name))
		stat_value = value;
}

static uint64_t stat(struct device *dev, const char *name)
{
	struct stats_sink sink = { stat_put, NULL };

	stat_name = name;
	stat_value = UINT64_MAX;
	dev->ops->stats(dev->state, &sink);
	return stat_value;
}

static void put32(uint8_t *p, uint32_t v)
{
	unit_put16(p, v >> 16);
	unit_put16(p + 2, v & 0xffff);
}

static uint16_t inet_csum(uint32_t sum, const uint8_t *p, size_t len)
{
	return (uint16_t)~unit_sum16(sum, p, len);
}

/* Ethernet + IPv4 + TCP (20-byte header) from 10.0.2.15:40000 to
 * 10.0.2.2:port with payload bytes of 0x30 + i; checksums complete. */
static size_t tcp_frame(uint8_t *f, const uint8_t *dst_mac, int port, uint32_t seq, uint32_t ack,
			uint8_t flags, size_t payload)
{
	static const uint8_t src_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	uint8_t *ip = f + 14, *tcp = ip + 20;
	uint32_t pseudo;

	memset(f, 0, 54);
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	unit_put16(f + 12, 0x0800);
	ip[0] = 0x45;
	unit_put16(ip + 2, 40 + (unsigned)payload);
	unit_put16(ip + 6, 0x4000);                    /* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 2, 15, 10, 0, 2, 2 }, 8);
	unit_put16(ip + 10, inet_csum(0, ip, 20));
	unit_put16(tcp, 40000);
	unit_put16(tcp + 2, (unsigned)port);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	unit_put16(tcp + 14, 65535);
	for (size_t i = 0; i < payload; i++)
		tcp[20 + i] = (uint8_t)(0x30 + i);
	pseudo = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + 6 + 20 + (uint32_t)payload;
	unit_put16(tcp + 16, inet_csum(pseudo, tcp, 20 + payload));
	return 54 + payload;
}

/* The next received frame at ring slot *rdh (waits for it), or NULL. */
static uint8_t *next_rx(unsigned *rdh, uint8_t *status, uint8_t *errors)
{
	for (int i = 0; i < 20000 && rd(0x2810) == *rdh; i++)
		usleep(100);
	if (rd(0x2810) == *rdh)
		return NULL;
	*status = host(RXR + 16 * *rdh + 12)[0];
	*errors = host(RXR + 16 * *rdh + 13)[0];
	return host(RXBUF + 0x800 * (*rdh)++);
}

int main(void)
{
	struct pci_host_config pc = {
		.ecam_base = ECAM, .nr_buses = 1, .io_base = 0x03000000, .io_size = 0x10000,
		.mem_base = 0x40000000, .mem_size = 0x40000000, .irq_base = 32, .irq_parent = 1,
	};
	struct dev_params p = { .irq = -1, .arg = "user" };
	static const uint8_t arp[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
		10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2,
	};
	struct device *dev;
	uint16_t sum = 0, w[3];

	vm.cfg = &cfg;
	vm.set_irq = fake_set_irq;
	if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE) || pci_host_create(&vm, &pc)) {
		printf("FAIL e1000-setup\n");
		return 1;
	}
	CHECK("e1000-bad-backend", (p.arg = "wire", vm_create_device(&vm, "e1000", &p) != 0));
	p.arg = "user";
	CHECK("e1000-create", vm_create_device(&vm, "e1000", &p) == 0);
	dev = vm.devices;
	vm_mmio_write(&vm, ECAM + (1 << 15) + 0x10, 4, (uint32_t)BAR0);
	vm_mmio_write(&vm, ECAM + (1 << 15) + 0x14, 4, 0x100);
	vm_mmio_write(&vm, ECAM + (1 << 15) + 4, 2, PCI_CMD_MEMORY | PCI_CMD_IO | PCI_CMD_MASTER);
	CHECK("e1000-status", (rd(0x08) & 3) == 3);
	/* EEPROM */
	for (int i = 0; i < 64; i++)
		sum = (uint16_t)(sum + ee_read_bitbang((unsigned)i));
	CHECK("e1000-eeprom-checksum", sum == 0xbaba);
	for (int i = 0; i < 3; i++)
		w[i] = ee_read_bitbang((unsigned)i);
	CHECK("e1000-eeprom-mac", w[0] == 0x5452 && w[1] == 0x1200 && w[2] == 0x5634);
	CHECK("e1000-eerd", ee_read_eerd(1) == 0x1200 && (rd(0x14) & 0x10));
	CHECK("e1000-ral", rd(0x5400) == 0x12005452 && rd(0x5404) == (0x80000000u | 0x5634));
	/* PHY */
	CHECK("e1000-phy-id", phy_read(2) == 0x0141 && phy_read(3) == 0x0c20);
	CHECK("e1000-phy-link", (phy_read(1) & 4) && (rd(0x20) & (1u << 28)));
	wr(0x20, 2u << 26 | 2u << 21 | 1u << 16);
	CHECK("e1000-phy-bad-addr", rd(0x20) & (1u << 30));
	/* interrupts */
	wr(0xd0, 0x4);
	wr(0xc8, 0x4);
	CHECK("e1000-ics-raises", irq_level == 1);
	CHECK("e1000-icr-read-clears", rd(0xc0) == 0x4 && rd(0xc0) == 0 && irq_level == 0);
	wr(0xc8, 0x80);
	CHECK("e1000-masked", irq_level == 0 && rd(0xc0) == 0x80);
	wr(0xd8, 0x4);
	CHECK("e1000-imc", rd(0xd0) == 0);
	/* I/O window */
	vm_mmio_write(&vm, 0x03000000 + 0x100, 4, 0x8);
	{
		uint64_t v = 0;
		vm_mmio_read(&vm, 0x03000000 + 0x104, 4, &v);
		CHECK("e1000-ioaddr", (v & 3) == 3);
	}

	/* receive ring: 8 descriptors, 2 KiB buffers */
	for (int i = 0; i < 8; i++)
		put_desc(RXR + 16 * i, RXBUF + 0x800 * i, 0);
	wr(0x2800, (uint32_t)RXR);
	wr(0x2804, 0);
	wr(0x2808, 128);
	wr(0x2810, 0);
	wr(0x2818, 7);
	wr(0x100, (1u << 1) | (1u << 15) | (1u << 26));   /* EN, BAM, SECRC */
	wr(0xd0, 0x80 | 0x1);
	/* transmit ring of 8 that wraps: head and tail start at 6 */
	wr(0x3800, (uint32_t)TXR);
	wr(0x3804, 0);
	wr(0x3808, 128);
	wr(0x3810, 6);
	wr(0x3818, 6);
	wr(0x400, 1u << 1);
	memcpy(host(TXBUF), arp, 20);
	memcpy(host(TXBUF + 0x100), arp + 20, 22);
	put_desc(TXR + 16 * 6, TXBUF, 20 | 1u << 27);
	put_desc(TXR + 16 * 7, TXBUF + 0x100, 22 | 1u << 24 | 1u << 27);
	wr(0x3818, 0);
	CHECK("e1000-tx-wrap", wait_for(0x3810, 0) && host(TXR + 16 * 7)[12] == 1 &&
				       host(TXR + 16 * 6)[12] == 1);
	CHECK("e1000-arp-reply", wait_for(0x2810, 1) && (host(RXR + 12)[0] & 3) == 3 &&
					 host(RXBUF + 12)[0] == 0x08 && host(RXBUF + 13)[0] == 0x06 &&
					 host(RXBUF + 21)[0] == 2 && irq_level == 1);
	{
		/* slirp pads its own frames; SECRC: no CRC appended, padded to 60 */
		unsigned len = host(RXR + 8)[0] | host(RXR + 9)[0] << 8;
		CHECK("e1000-rx-len", len >= 60 && len <= 64);
	}
	CHECK("e1000-rx-ixsm-without-rxcsum", host(RXR + 12)[0] & 0x4);
	rd(0xc0);

	/* TCP through slirp to a host socket; receive checksum offload on */
	{
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t sl = sizeof(sa);
		int ls = socket(AF_INET, SOCK_STREAM, 0), cs = -1, port;
		uint8_t mac[6], *f, st = 0, er = 0, got[8192];
		unsigned rdh = 1, n = 0;
		uint32_t their = 0;
		uint64_t frames;
		bool same = true;

		memcpy(mac, host(RXBUF + 6), 6);  /* slirp's, from its ARP reply */
		if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1) ||
		    getsockname(ls, (struct sockaddr *)&sa, &sl)) {
			printf("SKIP e1000-tcp: no loopback socket\n");
			goto tcp_done;
		}
		port = ntohs(sa.sin_port);
		wr(0x5000, 0x300);                /* RXCSUM: IPOFLD, TUOFLD */
		wr(0x2818, 0);                    /* 7 free receive buffers from 1 */
		put_desc(TXR, TXBUF, (uint32_t)tcp_frame(host(TXBUF), mac, port, 1000, 0, 0x02, 0) |
					     1u << 24 | 1u << 27);
		wr(0x3818, 1);
		f = next_rx(&rdh, &st, &er);
		CHECK("e1000-tcp-synack", f && unit_be16(f + 12) == 0x0800 && f[14 + 9] == 6 &&
					      f[14 + 20 + 13] == 0x12 && unit_be32(f + 14 + 20 + 8) == 1001);
		CHECK("e1000-rx-csum-offload", f && (st & 0x60) == 0x60 && !(st & 0x4) && er == 0);
		if (!f)
			goto tcp_done;
		their = unit_be32(f + 14 + 20 + 4) + 1;
		cs = accept(ls, NULL, NULL);
		/* ACK, then a TSO send of 4000 bytes with an MSS of 1000: a
		 * context descriptor (3.3.6) and one data descriptor (3.3.7) */
		put_desc(TXR + 16, TXBUF + 0x1000, (uint32_t)tcp_frame(host(TXBUF + 0x1000), mac, port,
									1001, their, 0x10, 0) |
						     1u << 24 | 1u << 27);
		tcp_frame(host(TXBUF + 0x2000), mac, port, 1001, their, 0x18, 4000);
		memset(host(TXR + 32), 0, 16);
		memcpy(host(TXR + 32), (uint8_t[]){ 14, 24, 33, 0, 34, 50, 0, 0 }, 8);
		{
			uint32_t cl = 4000 | 1u << 24 /* TCP */ | 1u << 25 /* IP */ | 1u << 26 /* TSE */ |
				      1u << 29 /* DEXT */;
			memcpy(host(TXR + 32) + 8, &cl, 4);
			host(TXR + 32)[13] = 54;         /* HDRLEN */
			unit_put16(host(TXR + 32) + 14, 0);
			host(TXR + 32)[14] = 1000 & 0xff; /* MSS, little-endian */
			host(TXR + 32)[15] = 1000 >> 8;
			put_desc(TXR + 48, TXBUF + 0x2000, 4054 | 1u << 20 | 1u << 24 | 1u << 26 |
							   1u << 27 | 1u << 29);
			host(TXR + 48)[13] = 0x3;        /* POPTS: IXSM, TXSM */
		}
		frames = stat(dev, "tx-frames");
		wr(0x3818, 4);
		n = (unsigned)unit_read_all(cs, got, 4000, 2000);
		for (unsigned i = 0; i < n; i++)
			same &= got[i] == (uint8_t)(0x30 + i);
		CHECK("e1000-tso-data", n == 4000 && same);
		/* the counters move before TDH does */
		CHECK("e1000-tso-whole-to-slirp", wait_for(0x3810, 4) && stat(dev, "tx-frames") - frames == 2 &&
						     stat(dev, "tx-tso") == 1);
		f = next_rx(&rdh, &st, &er);
		CHECK("e1000-tso-acked-once", f && unit_be32(f + 14 + 20 + 8) == 5001 && rdh == 3);
		wr(0x5000, 0);
tcp_done:
		if (cs >= 0)
			close(cs);
		if (ls >= 0)
			close(ls);
		wr(0x2810, 0);
		wr(0x2818, 7);
		wr(0x3810, 0);
		wr(0x3818, 0);
		rd(0xc0);
	}

	/* hostile: data outside RAM, a huge length, a descriptor ring past RAM */
	put_desc(TXR, 0x10, 64 | 1u << 24 | 1u << 27);
	put_desc(TXR + 16, TXBUF, 0xffff | 1u << 24 | 1u << 27);
	put_desc(TXR + 32, TXBUF, 0 | 1u << 24 | 1u << 27);
	wr(0x3818, 3);
	CHECK("e1000-tx-hostile", wait_for(0x3810, 3));
	wr(0x3810, 200);                          /* head past the ring */
	wr(0x3818, 4);
	usleep(20000);
	CHECK("e1000-tx-head-past-ring", rd(0x3810) < 8);
	wr(0x3800, 0xfff00000);
	wr(0x3810, 0);
	wr(0x3818, 2);
	usleep(20000);
	CHECK("e1000-tx-ring-outside-ram", rd(0x3810) == 0);
	wr(0x3800, (uint32_t)TXR);
	wr(0x3810, 0);
	wr(0x3818, 0);
	CHECK("e1000-still-alive", (rd(0x08) & 3) == 3);

	/* State round trip */
	{
		struct vmstate s, l;
		vms_init_save(&s);
		dev->ops->pause(dev->state);
		CHECK("e1000-state-save", dev->ops->state(dev->state, &s) == 0);
		dev->ops->reset(dev->state);
		CHECK("e1000-reset", rd(0x2808) != 128);
		vms_init_load(&l, s.buf, s.len);
		CHECK("e1000-state-load", dev->ops->state(dev->state, &l) == 0 && rd(0x2808) == 128 &&
						  rd(0x5400) == 0x12005452);
		vms_init_load(&l, s.buf, 100);
		CHECK("e1000-state-truncated", dev->ops->state(dev->state, &l) != 0);
		vms_free(&s);
		dev->ops->resume(dev->state);
	}
	/* software reset through CTRL.RST (the failed load reset the function) */
	vm_mmio_write(&vm, ECAM + (1 << 15) + 0x10, 4, (uint32_t)BAR0);
	vm_mmio_write(&vm, ECAM + (1 << 15) + 4, 2, PCI_CMD_MEMORY | PCI_CMD_MASTER);
	wr(0x2808, 256);
	wr(0x0, 1u << 26);
	CHECK("e1000-ctrl-rst", rd(0x2808) == 0 && (rd(0x08) & 2) && rd(0x5404) & 0x80000000u);
	dev->ops->destroy(dev->state);
	pci_host_destroy(&vm);
	return failures ? 1 : 0;
}
