/* Intel 82540EM Gigabit Ethernet controller (e1000, 8086:100e) on PCI, the
 * card Linux's e1000 driver knows best: --net user|tap:NAME in full mode or
 * --net ...,model=e1000. The reference is Intel's "PCI/PCI-X Family of
 * Gigabit Ethernet Controllers Software Developer's Manual" (8254x SDM);
 * section numbers below are from it.
 *
 * BAR0 holds the registers (13), BAR1 the I/O window onto them (IOADDR,
 * IODATA; 13.2). A Microwire EEPROM (5.3) holds the MAC address with its
 * checksum, an M88E1011 PHY answers through MDIC (13.4.5) with the link up.
 * Transmit and receive use the legacy descriptor rings (3.2, 3.3) and the
 * transmit context and data descriptors (3.3.6, 3.3.7) for checksum offload
 * and TCP segmentation, which Linux's driver always turns on (to a back end
 * that is an IP stack, slirp, a TSO send goes whole: net.h), and receive
 * checksum offload (3.2.9, RXCSUM). Interrupt causes are ICR with
 * read-to-clear semantics, masked by IMS/IMC (13.4.17). The moderation
 * registers (ITR, RDTR/RADV, TIDV/TADV) only read back what was written:
 * with NAPI, Linux takes far fewer interrupts than its ITR would allow.
 *
 * The I/O model of src/dev/README.md: register accesses on the vCPU update
 * registers and kick the device's I/O thread; the thread polls the back end
 * (slirp or tap, as virtio-net), walks the transmit ring and fills receive
 * descriptors, all guest memory through pci_dma_*. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../host/net.h"
#include "../host/seccomp.h"
#include "../stats.h"
#include "../vm.h"
#include "../vmstate.h"
#include "netoffload.h"
#include "pci.h"

#define MMIO_SIZE 0x20000
#define NREGS (MMIO_SIZE / 4)
#define EEPROM_WORDS 64
#define MAX_POLLFDS 32
#define MAX_FRAME 16384            /* one received or assembled frame */
#define TSO_MAX (64 * 1024 + 256)

/* Registers (13.3, table 13-2), byte offsets */
enum {
	CTRL = 0x0000, STATUS = 0x0008, EECD = 0x0010, EERD = 0x0014, CTRL_EXT = 0x0018,
	MDIC = 0x0020, ICR = 0x00c0, ITR = 0x00c4, ICS = 0x00c8, IMS = 0x00d0, IMC = 0x00d8,
	RCTL = 0x0100, TCTL = 0x0400, RDBAL = 0x2800, RDBAH = 0x2804, RDLEN = 0x2808,
	RDH = 0x2810, RDT = 0x2818, TDBAL = 0x3800, TDBAH = 0x3804, TDLEN = 0x3808,
	TDH = 0x3810, TDT = 0x3818, RXCSUM = 0x5000, MTA = 0x5200, RA = 0x5400, STATS_FIRST = 0x4000,
	STATS_LAST = 0x40fc,
};
#define CTRL_SLU (1u << 6)
#define CTRL_RST (1u << 26)
#define CTRL_PHY_RST (1u << 31)
#define STATUS_FD 0x1
#define STATUS_LU 0x2
#define STATUS_SPEED_1000 0x80
#define EECD_SK 0x1
#define EECD_CS 0x2
#define EECD_DI 0x4
#define EECD_DO 0x8
#define EECD_REQ 0x40
#define EECD_GNT 0x80
#define EECD_PRES 0x100
#define MDIC_READY (1u << 28)
#define MDIC_ERROR (1u << 30)
#define ICR_TXDW 0x01
#define ICR_TXQE 0x02
#define ICR_LSC 0x04
#define ICR_RXO 0x40
#define ICR_RXT0 0x80
#define RCTL_EN (1u << 1)
#define RCTL_UPE (1u << 3)
#define RCTL_MPE (1u << 4)
#define RCTL_BAM (1u << 15)
#define RCTL_BSEX (1u << 25)
#define RCTL_SECRC (1u << 26)
#define TCTL_EN (1u << 1)
#define RAH_AV (1u << 31)

/* Transmit descriptor bits (3.3.3, 3.3.6, 3.3.7) */
#define TXD_CMD_EOP (1u << 24)
#define TXD_CMD_RS (1u << 27)
#define TXD_CMD_DEXT (1u << 29)
#define TXD_DTYP_D (1u << 20)      /* data descriptor (with DEXT) */
#define TXD_CMD_TSE (1u << 26)     /* in a data/context descriptor */
#define TXD_STAT_DD 0x1
#define TXD_POPTS_IXSM 0x1
#define TXD_POPTS_TXSM 0x2
#define TUCMD_TCP (1u << 24)
#define TUCMD_IP (1u << 25)

/* Receive descriptor status (3.2.3.1) */
#define RXD_STAT_DD 0x1
#define RXD_STAT_EOP 0x2
#define RXD_STAT_IXSM 0x4
#define RXD_STAT_TCPCS 0x20
#define RXD_STAT_IPCS 0x40
#define RXD_ERR_TCPE 0x20
#define RXD_ERR_IPE 0x40
#define RXCSUM_IPOFLD (1u << 8)
#define RXCSUM_TUOFLD (1u << 9)

/* PHY registers (M88E1011) */
#define PHY_CTRL 0
#define PHY_STATUS 1
#define PHY_NREGS 32

struct tx_context {
	uint8_t ipcss, ipcso, tucss, tucso;
	uint16_t ipcse, tucse;
	uint8_t hdr_len;
	uint16_t mss;
	uint32_t tucmd;             /* cmd bits of the context descriptor */
};

struct e1000_counts {
	uint64_t rx_frames, rx_bytes, rx_dropped, tx_frames, tx_bytes, tx_dropped, tx_tso, irqs;
};

struct e1000 {
	struct vm *vm;
	struct pci_dev *pci;
	char name[32];
	struct net_backend *be;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	pthread_t thread;
	bool thread_started, stopping, paused, parked;
	int kick;
	uint32_t regs[NREGS];
	uint16_t eeprom[EEPROM_WORDS];
	uint16_t phy[PHY_NREGS];
	uint8_t mac[6];
	/* Microwire state (5.3.1) */
	uint32_t ee_in;             /* bits clocked in */
	unsigned ee_bits_in, ee_bits_out;
	uint16_t ee_addr;
	bool ee_reading;
	uint32_t ioaddr;            /* BAR1 IOADDR */
	bool irq_level;
	struct tx_context ctx;
	/* a frame being assembled from transmit descriptors */
	uint8_t *tx_buf;
	size_t tx_len;
	bool tx_tse, tx_legacy_ic;
	uint8_t tx_popts, tx_cso, tx_css;
	struct e1000_counts counts;
	uint8_t seg[TSO_MAX];
};

#define R(e, off) ((e)->regs[(off) / 4])

/* --- interrupts (lock held) ---------------------------------------------- */

static void update_irq(struct e1000 *e)
{
	bool level = (R(e, ICR) & R(e, IMS)) != 0;

	if (level != e->irq_level) {
		e->irq_level = level;
		if (level)
			e->counts.irqs++;
		pci_set_irq(e->pci, level);
	}
}

static void raise_cause(struct e1000 *e, uint32_t cause)
{
	R(e, ICR) |= cause;
	update_irq(e);
}

/* --- EEPROM, PHY ---------------------------------------------------------- */

/* 5.6: words 0-2 the MAC address; word 0x3f makes the sum of 0-0x3f equal
 * 0xbaba. */
static void build_eeprom(struct e1000 *e)
{
	uint16_t sum = 0;

	memset(e->eeprom, 0, sizeof(e->eeprom));
	for (int i = 0; i < 3; i++)
		e->eeprom[i] = (uint16_t)(e->mac[2 * i] | e->mac[2 * i + 1] << 8);
	e->eeprom[0x0a] = 0x4408;       /* init control 1: valid signature (5.6.7) */
	e->eeprom[0x0b] = 0x001e;       /* subsystem id */
	e->eeprom[0x0c] = 0x8086;       /* subsystem vendor */
	e->eeprom[0x0d] = 0x100e;       /* device id */
	e->eeprom[0x0e] = 0x8086;       /* vendor id */
	e->eeprom[0x0f] = 0x3040;       /* init control 2 */
	for (int i = 0; i < EEPROM_WORDS - 1; i++)
		sum = (uint16_t)(sum + e->eeprom[i]);
	e->eeprom[EEPROM_WORDS - 1] = (uint16_t)(0xbaba - sum);
}

static void phy_reset(struct e1000 *e)
{
	static const uint16_t init[PHY_NREGS] = {
		[0] = 0x1140,    /* autoneg on, full duplex, 1000 Mb/s */
		[1] = 0x796d,    /* link up, autoneg complete, capabilities */
		[2] = 0x0141,    /* M88E1011 identifier */
		[3] = 0x0c20,
		[4] = 0x0de1,    /* advertised */
		[5] = 0x45e1,    /* link partner */
		[6] = 0x000d,
		[9] = 0x0e00,
		[10] = 0x3c00,   /* partner 1000BASE-T FD/HD, receivers ok */
		[15] = 0x3000,
		[16] = 0x0068,
		[17] = 0xac00,   /* 1000 Mb/s, full duplex, resolved, link */
		[20] = 0x0c60,
	};
	memcpy(e->phy, init, sizeof(init));
}

/* MDIC (13.4.5): one PHY register read or write, done at once. */
static void mdic_write(struct e1000 *e, uint32_t v)
{
	unsigned reg = (v >> 16) & 31, phyadd = (v >> 21) & 31, op = (v >> 26) & 3;

	v &= ~(MDIC_READY | MDIC_ERROR);
	if (phyadd != 1 || (op != 1 && op != 2)) {
		R(e, MDIC) = v | MDIC_READY | MDIC_ERROR;
		return;
	}
	if (op == 2) {
		v = (v & ~0xffffu) | e->phy[reg];
	} else {
		uint16_t d = (uint16_t)v;
		switch (reg) {
		case PHY_CTRL:
			/* reset and restart-autoneg bits clear themselves; the
			 * link is back at once */
			e->phy[PHY_CTRL] = d & ~(0x8000 | 0x0200);
			break;
		case PHY_STATUS: case 2: case 3: case 5: case 6: case 10: case 15: case 17:
			break;  /* read-only */
		default:
			e->phy[reg] = d;
		}
	}
	R(e, MDIC) = v | MDIC_READY;
	if (v & (1u << 29))             /* I: interrupt at the end */
		raise_cause(e, 0x200);      /* MDAC */
}

/* EECD (13.4.4): the driver bit-bangs the Microwire protocol: CS high,
 * start bit and opcode 110 (read), 6 address bits, then 16 data bits out,
 * MSB first, each sampled after the driver raises SK (5.3.1). */
static void eecd_write(struct e1000 *e, uint32_t v)
{
	uint32_t old = R(e, EECD);

	R(e, EECD) = v & (EECD_SK | EECD_CS | EECD_DI | EECD_REQ);
	if (!(v & EECD_CS)) {
		e->ee_in = 0;
		e->ee_bits_in = 0;
		e->ee_reading = false;
		return;
	}
	if (!(old & EECD_SK) && (v & EECD_SK)) {
		if (e->ee_reading) {
			e->ee_bits_out++;
			if (e->ee_bits_out > 16) {      /* sequential read */
				e->ee_bits_out = 1;
				e->ee_addr = (uint16_t)((e->ee_addr + 1) % EEPROM_WORDS);
			}
			return;
		}
		e->ee_in = e->ee_in << 1 | !!(v & EECD_DI);
		if (++e->ee_bits_in == 9) {
			if ((e->ee_in >> 6) == 6) {       /* start bit, READ */
				e->ee_reading = true;
				e->ee_addr = e->ee_in & 63;
				e->ee_bits_out = 0;
			}
			e->ee_in = 0;
			e->ee_bits_in = 0;
		}
	}
}

static uint32_t eecd_read(struct e1000 *e)
{
	uint32_t v = R(e, EECD) | EECD_PRES;

	if (v & EECD_REQ)
		v |= EECD_GNT;
	if (e->ee_reading && e->ee_bits_out >= 1 && e->ee_bits_out <= 16 &&
	    (e->eeprom[e->ee_addr] >> (16 - e->ee_bits_out) & 1))
		v |= EECD_DO;
	return v;
}

/* --- reset ------------------------------------------------------------------- */

static void mac_reset(struct e1000 *e)
{
	memset(e->regs, 0, sizeof(e->regs));
	R(e, CTRL) = CTRL_SLU | (1u << 0) /* FD */ | 0x200 /* SPEED 1000 */;
	R(e, STATUS) = STATUS_FD | STATUS_LU | STATUS_SPEED_1000;
	R(e, MDIC) = MDIC_READY;
	R(e, RA) = (uint32_t)(e->mac[0] | e->mac[1] << 8 | e->mac[2] << 16 | (uint32_t)e->mac[3] << 24);
	R(e, RA + 4) = (uint32_t)(e->mac[4] | e->mac[5] << 8) | RAH_AV;
	R(e, 0x1000) = 0x30;            /* PBA: 48 KiB receive */
	R(e, 0x0038) = 0x8100;          /* VET */
	e->ee_in = e->ee_bits_in = e->ee_bits_out = 0;
	e->ee_reading = false;
	e->ctx = (struct tx_context){ 0 };
	e->tx_len = 0;
	e->tx_tse = false;
	phy_reset(e);
	update_irq(e);
}

/* --- registers (vCPU) -------------------------------------------------------- */

static void kick(struct e1000 *e)
{
	uint64_t one = 1;

	if (write(e->kick, &one, sizeof(one)) < 0)
		debug("%s: kick: %s", e->name, strerror(errno));
}

static uint32_t reg_read(struct e1000 *e, uint32_t off)
{
	uint32_t v;

	switch (off) {
	case ICR:
		/* 13.4.17: reading clears every cause, the line drops */
		v = R(e, ICR);
		R(e, ICR) = 0;
		update_irq(e);
		return v;
	case EECD:
		return eecd_read(e);
	case ICS:
	case IMC:
		return 0;
	case EERD:
		return R(e, EERD);
	default:
		if (off >= STATS_FIRST && off <= STATS_LAST)
			return 0;   /* statistics counters, clear on read */
		return R(e, off);
	}
}

static void reg_write(struct e1000 *e, uint32_t off, uint32_t v)
{
	switch (off) {
	case CTRL:
		if (v & CTRL_RST) {         /* 13.4.1: a software reset */
			mac_reset(e);
			return;
		}
		R(e, CTRL) = v & ~(CTRL_RST | CTRL_PHY_RST);
		if (v & CTRL_PHY_RST)
			phy_reset(e);
		break;
	case STATUS:
		break;
	case EECD:
		eecd_write(e, v);
		break;
	case EERD:
		/* 13.4.3: start bit 0, address 15:8, data 31:16, done bit 4 */
		if (v & 1) {
			unsigned a = (v >> 8) & 0xff;
			R(e, EERD) = (a < EEPROM_WORDS ? (uint32_t)e->eeprom[a] << 16 : 0) | (a << 8) | 0x10;
		}
		break;
	case MDIC:
		mdic_write(e, v);
		break;
	case ICR:
		R(e, ICR) &= ~v;            /* write 1 clears (13.4.17) */
		update_irq(e);
		break;
	case ICS:
		raise_cause(e, v);
		break;
	case IMS:
		R(e, IMS) |= v;
		update_irq(e);
		break;
	case IMC:
		R(e, IMS) &= ~v;
		update_irq(e);
		break;
	case RDLEN:
	case TDLEN:
		R(e, off) = v & 0xfff80;    /* multiple of 128 bytes */
		break;
	case RDH: case RDT: case TDH: case TDT:
		R(e, off) = v & 0xffff;
		kick(e);
		break;
	case RCTL:
		R(e, off) = v;
		kick(e);
		break;
	case TCTL:
		R(e, off) = v;
		kick(e);
		break;
	default:
		if (off >= STATS_FIRST && off <= STATS_LAST)
			break;
		R(e, off) = v;
	}
}

static uint64_t e1000_bar_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	struct e1000 *e = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&e->lock);
	if (bar == 0 && off % 4 == 0 && off < MMIO_SIZE) {
		v = reg_read(e, (uint32_t)off);
		if (size == 8 && off + 4 < MMIO_SIZE)
			v |= (uint64_t)reg_read(e, (uint32_t)off + 4) << 32;
	} else if (bar == 0 && off < MMIO_SIZE) {
		/* a narrower access inside a register */
		v = reg_read(e, (uint32_t)off & ~3u) >> (8 * (off & 3));
	} else if (bar == 1 && off == 0) {
		v = e->ioaddr;
	} else if (bar == 1 && off == 4 && e->ioaddr < MMIO_SIZE) {
		v = reg_read(e, e->ioaddr & ~3u);
	}
	pthread_mutex_unlock(&e->lock);
	return v;
}

static void e1000_bar_write(void *opaque, int bar, uint64_t off, uint64_t val, unsigned size)
{
	struct e1000 *e = opaque;

	pthread_mutex_lock(&e->lock);
	if (bar == 0 && off % 4 == 0 && off < MMIO_SIZE && size >= 4) {
		reg_write(e, (uint32_t)off, (uint32_t)val);
		if (size == 8 && off + 4 < MMIO_SIZE)
			reg_write(e, (uint32_t)off + 4, (uint32_t)(val >> 32));
	} else if (bar == 1 && off == 0 && size == 4) {
		e->ioaddr = (uint32_t)val & 0x1fffc;
	} else if (bar == 1 && off == 4 && size == 4 && e->ioaddr < MMIO_SIZE) {
		reg_write(e, e->ioaddr & ~3u, (uint32_t)val);
	}
	pthread_mutex_unlock(&e->lock);
}

/* --- checksums and segmentation ----------------------------------------------- */

/* Checksum insertion of 3.3.6: sum from css to cse (0: the end), the
 * result at cso; the driver seeded the field (pseudo-header sum). */
static void insert_csum(uint8_t *f, size_t len, unsigned css, unsigned cso, unsigned cse)
{
	size_t end = cse && cse < len ? cse + 1u : len;

	(void)net_csum_insert(f, len, css, end, cso);   /* out of the frame: left alone */
}

static void send_frame(struct e1000 *e, uint8_t *f, size_t len)
{
	struct iovec iov = { f, len };

	if (len < 14 || e->be->ops->send(e->be, &iov, 1)) {
		e->counts.tx_dropped++;
		return;
	}
	e->counts.tx_frames++;
	e->counts.tx_bytes += len;
}

static void send_segment(void *opaque, uint8_t *f, size_t len)
{
	send_frame(opaque, f, len);
}

/* TCP segmentation (3.5) in netoffload.c: the header of hdr_len bytes
 * repeated before every mss bytes of payload; to a back end that is an IP
 * stack (net.h) the segment goes whole. */
static void send_tso(struct e1000 *e, uint8_t *f, size_t len)
{
	const struct tx_context *c = &e->ctx;
	struct net_tso t = { .ipcss = c->ipcss, .tucss = c->tucss, .hdr_len = c->hdr_len,
			     .mss = c->mss, .ipv4 = c->tucmd & TUCMD_IP };

	if (!(c->tucmd & TUCMD_TCP) ||
	    net_tso_send(e->be, f, len, &t, e->seg, sizeof(e->seg), send_segment, e) < 0) {
		e->counts.tx_dropped++;
		return;
	}
	e->counts.tx_tso++;
}

/* One complete frame assembled from its descriptors. */
static void frame_done(struct e1000 *e)
{
	uint8_t *f = e->tx_buf;
	size_t len = e->tx_len;
	const struct tx_context *c = &e->ctx;

	if (e->tx_tse) {
		send_tso(e, f, len);
	} else {
		if (e->tx_popts & TXD_POPTS_IXSM) {
			if (c->ipcso + 2u <= len)
				net_put_be16(f + c->ipcso, 0);
			insert_csum(f, len, c->ipcss, c->ipcso, c->ipcse);
		}
		if (e->tx_popts & TXD_POPTS_TXSM)
			insert_csum(f, len, c->tucss, c->tucso, c->tucse);
		if (e->tx_legacy_ic)
			insert_csum(f, len, e->tx_css, e->tx_cso, 0);
		send_frame(e, f, len);
	}
	e->tx_len = 0;
	e->tx_tse = false;
	e->tx_legacy_ic = false;
	e->tx_popts = 0;
}

/* --- transmit (I/O thread, lock held) ---------------------------------------- */

static uint64_t ring_base(struct e1000 *e, uint32_t lo)
{
	return (uint64_t)R(e, lo + 4) << 32 | (R(e, lo) & ~15u);
}

static void transmit(struct e1000 *e)
{
	uint32_t n = R(e, TDLEN) / 16, done = 0;
	uint64_t base = ring_base(e, TDBAL);
	bool wrote = false;

	if (!(R(e, TCTL) & TCTL_EN) || n == 0)
		return;
	while (R(e, TDH) != R(e, TDT) && done++ < n) {
		uint32_t h = R(e, TDH);
		uint8_t d[16];
		uint64_t addr;
		uint32_t cl;
		if (h >= n) {               /* a head past the ring: nothing sane to do */
			R(e, TDH) = 0;
			break;
		}
		if (pci_dma_read(e->pci, base + 16ULL * h, d, 16)) {
			debug("%s: transmit descriptor %u outside guest RAM", e->name, h);
			break;
		}
		memcpy(&addr, d, 8);
		memcpy(&cl, d + 8, 4);
		if ((cl & TXD_CMD_DEXT) && !(cl & TXD_DTYP_D)) {
			/* context descriptor (3.3.6) */
			struct tx_context *c = &e->ctx;
			c->ipcss = d[0];
			c->ipcso = d[1];
			c->ipcse = (uint16_t)(d[2] | d[3] << 8);
			c->tucss = d[4];
			c->tucso = d[5];
			c->tucse = (uint16_t)(d[6] | d[7] << 8);
			c->tucmd = cl;
			c->hdr_len = d[13];
			c->mss = (uint16_t)(d[14] | d[15] << 8);
		} else {
			/* legacy (3.3.3) or data (3.3.7) descriptor */
			uint32_t blen = (cl & TXD_CMD_DEXT) ? cl & 0xfffff : cl & 0xffff;
			if (cl & TXD_CMD_DEXT) {
				e->tx_tse = cl & TXD_CMD_TSE;
				e->tx_popts = d[13];
			} else if (cl & (1u << 26)) {
				/* legacy IC (3.3.3.1): CSO and CSS of this descriptor */
				e->tx_legacy_ic = true;
				e->tx_cso = d[10];
				e->tx_css = d[11];
			}
			if (blen > TSO_MAX - e->tx_len) {
				e->counts.tx_dropped++;
				e->tx_len = 0;      /* oversized: drop the frame */
			} else if (blen && pci_dma_read(e->pci, addr, e->tx_buf + e->tx_len, blen)) {
				e->counts.tx_dropped++;
				e->tx_len = 0;
			} else {
				e->tx_len += blen;
			}
			if (cl & TXD_CMD_EOP) {
				if (e->tx_len)
					frame_done(e);
				e->tx_len = 0;
			}
		}
		if (cl & TXD_CMD_RS) {
			uint8_t st = TXD_STAT_DD;
			pci_dma_write(e->pci, base + 16ULL * h + 12, &st, 1);
		}
		R(e, TDH) = (h + 1) % n;
		wrote = true;
	}
	if (wrote)
		raise_cause(e, ICR_TXDW | (R(e, TDH) == R(e, TDT) ? ICR_TXQE : 0));
}

/* --- receive (I/O thread, lock held) ------------------------------------------ */

static size_t rx_buf_size(uint32_t rctl)
{
	static const size_t plain[4] = { 2048, 1024, 512, 256 };
	static const size_t ext[4] = { 2048, 16384, 8192, 4096 };
	unsigned b = (rctl >> 16) & 3;

	return (rctl & RCTL_BSEX) ? ext[b] : plain[b];
}

static unsigned rx_free(struct e1000 *e)
{
	uint32_t n = R(e, RDLEN) / 16, h = R(e, RDH), t = R(e, RDT);

	if (n == 0 || h >= n || t >= n)
		return 0;
	return (t + n - h) % n;
}

/* Filters of 13.4.22 (RCTL), 13.5.1 (MTA), 13.5.2 (RAL/RAH). */
static bool accept(struct e1000 *e, const uint8_t *f)
{
	uint32_t rctl = R(e, RCTL);

	if (f[0] & 1) {
		static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		unsigned mo = (rctl >> 12) & 3, hash;
		if (!memcmp(f, bcast, 6))
			return rctl & RCTL_BAM;
		if (rctl & RCTL_MPE)
			return true;
		hash = ((unsigned)f[4] >> (4 - mo) | (unsigned)f[5] << (4 + mo)) & 0xfff;
		if (mo == 3)
			hash = ((unsigned)f[4] | (unsigned)f[5] << 8) & 0xfff;
		return R(e, MTA + 4 * (hash >> 5)) >> (hash & 31) & 1;
	}
	if (rctl & RCTL_UPE)
		return true;
	for (int i = 0; i < 16; i++) {
		uint32_t lo = R(e, RA + 8 * i), hi = R(e, RA + 8 * i + 4);
		uint8_t a[6] = { (uint8_t)lo, (uint8_t)(lo >> 8), (uint8_t)(lo >> 16),
				 (uint8_t)(lo >> 24), (uint8_t)hi, (uint8_t)(hi >> 8) };
		if ((hi & RAH_AV) && !memcmp(a, f, 6))
			return true;
	}
	return false;
}

static uint32_t crc32_le(const uint8_t *p, size_t len)
{
	uint32_t c = ~0u;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

/* Receive checksum offload (3.2.9; RXCSUM at 05000h): for an Ethernet II
 * IPv4 frame, the IP header checksum when RXCSUM.IPOFLD is set and the TCP
 * or UDP checksum (not of a fragment) when RXCSUM.TUOFLD is set, each as a
 * "calculated" status bit with its error bit. With neither enabled the
 * indication is to be ignored (IXSM). Other frames get no indication. */
static void rx_checksum(struct e1000 *e, const uint8_t *f, size_t len, uint8_t *status,
			uint8_t *errors)
{
	uint32_t rxcsum = R(e, RXCSUM);
	unsigned r;

	if (!(rxcsum & (RXCSUM_IPOFLD | RXCSUM_TUOFLD))) {
		*status |= RXD_STAT_IXSM;
		return;
	}
	r = net_rx_csum(f, len, rxcsum & RXCSUM_TUOFLD);
	if ((rxcsum & RXCSUM_IPOFLD) && (r & NET_RX_IP)) {
		*status |= RXD_STAT_IPCS;
		if (r & NET_RX_IP_BAD)
			*errors |= RXD_ERR_IPE;
	}
	if (r & NET_RX_L4) {
		*status |= RXD_STAT_TCPCS;
		if (r & NET_RX_L4_BAD)
			*errors |= RXD_ERR_TCPE;
	}
}

static bool can_receive(struct e1000 *e)
{
	return !e->paused && (R(e, RCTL) & RCTL_EN) && rx_free(e) > 0;
}

static void receive(struct e1000 *e, const uint8_t *frame, size_t len)
{
	uint8_t buf[MAX_FRAME + 64];
	uint32_t n = R(e, RDLEN) / 16;
	uint64_t base = ring_base(e, RDBAL);
	size_t bsize = rx_buf_size(R(e, RCTL)), off = 0;
	uint8_t status = 0, errors = 0;
	uint16_t pcsum;

	if (!(R(e, RCTL) & RCTL_EN) || len < 14 || len > MAX_FRAME || !accept(e, frame)) {
		if (len >= 14)
			e->counts.rx_dropped++;
		return;
	}
	memcpy(buf, frame, len);
	if (len < 60) {                 /* pad to the Ethernet minimum */
		memset(buf + len, 0, 60 - len);
		len = 60;
	}
	rx_checksum(e, buf, len, &status, &errors);
	if (!(R(e, RCTL) & RCTL_SECRC)) {   /* the driver strips the CRC */
		uint32_t crc = crc32_le(buf, len);
		memcpy(buf + len, &crc, 4);
		len += 4;
	}
	/* 3.2.3.1: the packet checksum, the one's complement sum from
	 * RXCSUM.PCSS to the end (the CRC too when it is not stripped) */
	pcsum = (uint8_t)R(e, RXCSUM) < len ? (uint16_t)~net_csum_fold(net_csum_add(0, buf + (uint8_t)R(e, RXCSUM),
						len - (uint8_t)R(e, RXCSUM))) : 0;
	/* 3.2.3: the frame spans as many buffers as it needs; EOP on the last. */
	if (rx_free(e) < (len + bsize - 1) / bsize) {
		e->counts.rx_dropped++;
		raise_cause(e, ICR_RXO);
		return;
	}
	while (off < len) {
		uint32_t h = R(e, RDH);
		uint8_t d[16];
		uint64_t addr;
		size_t chunk = len - off < bsize ? len - off : bsize;
		uint16_t l16 = (uint16_t)chunk;
		if (pci_dma_read(e->pci, base + 16ULL * h, d, 16)) {
			debug("%s: receive descriptor %u outside guest RAM", e->name, h);
			e->counts.rx_dropped++;
			return;
		}
		memcpy(&addr, d, 8);
		if (pci_dma_write(e->pci, addr, buf + off, chunk))
			debug("%s: receive buffer %#llx outside guest RAM", e->name,
			      (unsigned long long)addr);
		off += chunk;
		memcpy(d + 8, &l16, 2);
		d[10] = (uint8_t)pcsum;
		d[11] = (uint8_t)(pcsum >> 8);
		d[12] = RXD_STAT_DD | (off >= len ? RXD_STAT_EOP | status : RXD_STAT_IXSM);
		d[13] = off >= len ? errors : 0;
		pci_dma_write(e->pci, base + 16ULL * h + 8, d + 8, 8);
		R(e, RDH) = (h + 1) % n;
	}
	e->counts.rx_frames++;
	e->counts.rx_bytes += len;
	raise_cause(e, ICR_RXT0);
}

/* Back end callbacks, on the I/O thread. */
static bool be_can_receive(void *opaque)
{
	struct e1000 *e = opaque;
	bool ok;

	pthread_mutex_lock(&e->lock);
	ok = can_receive(e);
	pthread_mutex_unlock(&e->lock);
	return ok;
}

static void be_receive(void *opaque, const uint8_t *frame, size_t len)
{
	struct e1000 *e = opaque;

	pthread_mutex_lock(&e->lock);
	receive(e, frame, len);
	pthread_mutex_unlock(&e->lock);
}

static void *e1000_thread(void *arg)
{
	struct e1000 *e = arg;
	struct pollfd fds[MAX_POLLFDS];

	seccomp_enter(SECCOMP_NET_WORKER);  /* a NIC worker: the same rights */
	for (;;) {
		int cnt = 1, timeout = -1;
		bool room, paused;

		pthread_mutex_lock(&e->lock);
		if (e->stopping) {
			pthread_mutex_unlock(&e->lock);
			break;
		}
		paused = e->paused;
		if (paused != e->parked) {
			e->parked = paused;
			pthread_cond_broadcast(&e->idle);
		}
		if (!paused)
			transmit(e);
		room = can_receive(e);
		pthread_mutex_unlock(&e->lock);

		fds[0] = (struct pollfd){ .fd = e->kick, .events = POLLIN };
		if (!paused)
			e->be->ops->poll_prepare(e->be, fds, &cnt, MAX_POLLFDS, &timeout, room);
		if (poll(fds, cnt, timeout) < 0 && errno != EINTR) {
			warn("%s: poll: %s", e->name, strerror(errno));
			break;
		}
		if (fds[0].revents & POLLIN) {
			uint64_t v;
			if (read(e->kick, &v, sizeof(v)) < 0 && errno != EAGAIN)
				debug("%s: kick read: %s", e->name, strerror(errno));
		}
		if (!paused)
			e->be->ops->poll_dispatch(e->be, fds, 1, cnt);
	}
	return NULL;
}

/* --- lifecycle ----------------------------------------------------------------- */

static const struct pci_dev_ops e1000_pci_ops = {
	.bar_read = e1000_bar_read,
	.bar_write = e1000_bar_write,
};

static void wait_parked(struct e1000 *e, bool want)
{
	kick(e);
	while (e->thread_started && e->parked != want)
		pthread_cond_wait(&e->idle, &e->lock);
}

static void e1000_pause(void *opaque)
{
	struct e1000 *e = opaque;

	pthread_mutex_lock(&e->lock);
	e->paused = true;
	wait_parked(e, true);
	pthread_mutex_unlock(&e->lock);
}

static void e1000_resume(void *opaque)
{
	struct e1000 *e = opaque;

	pthread_mutex_lock(&e->lock);
	e->paused = false;
	kick(e);
	pthread_mutex_unlock(&e->lock);
}

static void e1000_reset(void *opaque)
{
	struct e1000 *e = opaque;

	pthread_mutex_lock(&e->lock);
	mac_reset(e);
	pthread_mutex_unlock(&e->lock);
	pci_dev_reset(e->pci);
}

static int e1000_state(void *opaque, struct vmstate *s)
{
	struct e1000 *e = opaque;
	int ver = vms_version(s, 1);

	if (ver < 0)
		return ver;
	pci_dev_state(e->pci, s);
	pthread_mutex_lock(&e->lock);
	vms_bytes(s, e->regs, sizeof(e->regs));
	vms_bytes(s, e->phy, sizeof(e->phy));
	vms_u32(s, &e->ioaddr);
	vms_u8(s, &e->ctx.ipcss);
	vms_u8(s, &e->ctx.ipcso);
	vms_u16(s, &e->ctx.ipcse);
	vms_u8(s, &e->ctx.tucss);
	vms_u8(s, &e->ctx.tucso);
	vms_u16(s, &e->ctx.tucse);
	vms_u8(s, &e->ctx.hdr_len);
	vms_u16(s, &e->ctx.mss);
	vms_u32(s, &e->ctx.tucmd);
	if (s->loading) {
		if (vms_error(s)) {
			mac_reset(e);
		} else {
			/* as register writes would leave them */
			R(e, RDLEN) &= 0xfff80;
			R(e, TDLEN) &= 0xfff80;
			R(e, RDH) &= 0xffff;
			R(e, RDT) &= 0xffff;
			R(e, TDH) &= 0xffff;
			R(e, TDT) &= 0xffff;
			e->ioaddr &= 0x1fffc;
			e->tx_len = 0;
			e->ee_reading = false;
			e->ee_bits_in = 0;
			e->irq_level = false;
			pci_set_irq(e->pci, 0);
			update_irq(e);
		}
	}
	pthread_mutex_unlock(&e->lock);
	if (s->loading && vms_error(s))
		pci_dev_reset(e->pci);
	return vms_error(s);
}

static void e1000_stats(void *opaque, const struct stats_sink *s)
{
	struct e1000 *e = opaque;

	stats_put(s, "rx-frames", e->counts.rx_frames);
	stats_put(s, "rx-bytes", e->counts.rx_bytes);
	stats_put(s, "rx-dropped", e->counts.rx_dropped);
	stats_put(s, "tx-frames", e->counts.tx_frames);
	stats_put(s, "tx-bytes", e->counts.tx_bytes);
	stats_put(s, "tx-dropped", e->counts.tx_dropped);
	stats_put(s, "tx-tso", e->counts.tx_tso);
	stats_put(s, "interrupts", e->counts.irqs);
}

static void e1000_destroy(void *opaque)
{
	struct e1000 *e = opaque;

	if (e->thread_started) {
		pthread_mutex_lock(&e->lock);
		e->stopping = true;
		pthread_mutex_unlock(&e->lock);
		kick(e);
		pthread_join(e->thread, NULL);
	}
	pci_unregister(e->pci);
	if (e->be)
		e->be->ops->close(e->be);
	if (e->kick >= 0)
		close(e->kick);
	free(e->tx_buf);
	pthread_cond_destroy(&e->idle);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

static struct net_backend *open_backend(const char *spec)
{
	if (spec && !strncmp(spec, "tap:", 4))
		return tap_open(spec + 4);
	if (spec && (!strcmp(spec, "user") || !strncmp(spec, "user,", 5)))
		return slirp_open(spec + 4 + (spec[4] == ','));
	warn("e1000: bad --net '%s' (user[,hostfwd=tcp::HOSTPORT-:GUESTPORT] or tap:NAME)",
	     spec ? spec : "");
	return NULL;
}

static int e1000_create(struct vm *vm, const struct dev_params *p, void **state)
{
	static const uint8_t pm_cap[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x00 };  /* PM 1.1, D0 and D3hot */
	struct pci_dev_info info = {
		.name = "e1000", .vendor = 0x8086, .device = 0x100e, .subsys_vendor = 0x8086,
		.subsys = 0x001e, .revision = 3, .class_code = 0x020000, .irq_pin = 1,
		.bar = { [0] = { PCI_BAR_MEM32, MMIO_SIZE, false }, [1] = { PCI_BAR_IO, 0x40, false } },
	};
	struct e1000 *e;
	int err = -ENOMEM, cap;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->vm = vm;
	e->kick = -1;
	snprintf(e->name, sizeof(e->name), "e1000%d", p->index);
	{
		/* Recursive: slirp answers some frames (ARP, ICMP) from
		 * inside send, so the receive callback runs on the thread
		 * that holds the lock for the transmit ring. */
		pthread_mutexattr_t ma;
		pthread_mutexattr_init(&ma);
		pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&e->lock, &ma);
		pthread_mutexattr_destroy(&ma);
	}
	pthread_cond_init(&e->idle, NULL);
	if (!(e->tx_buf = malloc(TSO_MAX)))
		goto fail;
	e->be = open_backend(p->arg);
	if (!e->be) {
		err = -EINVAL;
		goto fail;
	}
	e->be->receive = be_receive;
	e->be->can_receive = be_can_receive;
	e->be->opaque = e;
	/* 52:54:00:12:34:56 and up, as virtio-net */
	memcpy(e->mac, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
	e->mac[5] = (uint8_t)(e->mac[5] + p->index);
	build_eeprom(e);
	e->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->kick < 0) {
		err = -errno;
		goto fail;
	}
	if ((err = pci_register(vm, &info, &e1000_pci_ops, e, &e->pci)))
		goto fail;
	if ((cap = pci_add_capability(e->pci, PCI_CAP_ID_PM, pm_cap, sizeof(pm_cap))) < 0) {
		err = -ENOSPC;
		goto fail;
	}
	/* PMCSR: the power state is the driver's to set (PCI PM 1.2, 3.2.4) */
	pci_set_wmask(e->pci, (unsigned)cap + 4, 0x0003, 2);
	mac_reset(e);
	if ((err = -pthread_create(&e->thread, NULL, e1000_thread, e))) {
		warn("%s: cannot start the I/O thread: %s", e->name, strerror(-err));
		goto fail;
	}
	e->thread_started = true;
	pthread_setname_np(e->thread, "e1000");
	*state = e;
	return 0;
fail:
	e1000_destroy(e);
	return err;
}

static const struct device_ops e1000_model = {
	.name = "e1000",
	.create = e1000_create,
	.reset = e1000_reset,
	.pause = e1000_pause,
	.resume = e1000_resume,
	.state = e1000_state,
	.stats = e1000_stats,
	.destroy = e1000_destroy,
};
DEVICE_MODEL(e1000_model)
