/* AHCI 1.3.1 SATA controller as on Intel's ICH9 (8086:2922), one port, one
 * SATA disk on a raw image: --disk FILE[,readonly] in full mode, or
 * --disk FILE,if=ahci.
 *
 * The HBA and port registers sit in BAR5 (ABAR, AHCI 1.3.1 section 2.1.11).
 * A write of PxCI (3.3.14) hands the new command slots to the device's
 * worker threads (src/dev/README.md; NR_WORKERS of them, so that NCQ
 * commands are on the disk together): each takes one slot and reads the command header (4.2.2),
 * the command FIS and PRDT of the command table (4.2.3), moves the data
 * with one preadv/pwritev straight into or out of guest RAM, writes the
 * received FIS (4.2.1), clears PxCI / PxSACT and raises the interrupt.
 * Guest memory is reached only through pci_dma_* (bus master enable, whole
 * range checked). A command the disk cannot do, or a PRDT that points
 * outside RAM, ends with the task-file error of 6.2.2.1: PxTFD has ERR,
 * PxIS.TFES is set, the port stops until the driver clears PxCMD.ST. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "../host/blockfile.h"
#include "../host/seccomp.h"
#include "../stats.h"
#include "../vm.h"
#include "../vmstate.h"
#include "pci.h"

#define SECTOR 512
#define NR_SLOTS 32
#define MAX_PRD 1024             /* entries we map at once; Linux uses 168 */
#define PRD_MAX_BYTES (4u << 20) /* DBC is 22 bits (4.2.3.3) */
/* Worker threads: each takes the next issued slot, so up to this many
 * commands (NCQ tags, 1.3.1 section 5.6.5: the HBA may have several
 * outstanding and complete them in any order) are on the disk at once. */
#define NR_WORKERS 4

/* HBA registers (3.1) */
enum {
	HBA_CAP = 0x00, HBA_GHC = 0x04, HBA_IS = 0x08, HBA_PI = 0x0c, HBA_VS = 0x10,
	HBA_CCC_CTL = 0x14, HBA_CCC_PORTS = 0x18, HBA_EM_LOC = 0x1c, HBA_EM_CTL = 0x20,
	HBA_CAP2 = 0x24, HBA_BOHC = 0x28,
};
#define CAP_S64A (1u << 31)
#define CAP_SNCQ (1u << 30)
#define CAP_SAM (1u << 18)       /* AHCI mode only: GHC.AE reads 1 */
#define CAP_SCLO (1u << 24)
#define CAP_ISS_GEN3 (3u << 20)
#define CAP_NCS(n) (((n) - 1u) << 8)
#define GHC_AE (1u << 31)
#define GHC_IE (1u << 1)
#define GHC_HR (1u << 0)
#define AHCI_VERSION 0x00010300

/* Port registers (3.3), 0x100 + 0x80 * port */
#define PORT_BASE 0x100
#define PORT_SIZE 0x80
enum {
	PX_CLB = 0x00, PX_CLBU = 0x04, PX_FB = 0x08, PX_FBU = 0x0c, PX_IS = 0x10, PX_IE = 0x14,
	PX_CMD = 0x18, PX_TFD = 0x20, PX_SIG = 0x24, PX_SSTS = 0x28, PX_SCTL = 0x2c,
	PX_SERR = 0x30, PX_SACT = 0x34, PX_CI = 0x38, PX_SNTF = 0x3c, PX_FBS = 0x40,
};
#define CMD_ST (1u << 0)
#define CMD_SUD (1u << 1)
#define CMD_POD (1u << 2)
#define CMD_CLO (1u << 3)
#define CMD_FRE (1u << 4)
#define CMD_FR (1u << 14)
#define CMD_CR (1u << 15)
#define CMD_CCS_SHIFT 8
#define CMD_RW_BITS (CMD_ST | CMD_FRE | (0xfu << 28) /* ICC */ | (1u << 26) | (1u << 27) | (1u << 23))

#define IS_DHRS (1u << 0)        /* D2H register FIS */
#define IS_PSS (1u << 1)         /* PIO setup FIS */
#define IS_SDBS (1u << 3)        /* set device bits FIS */
#define IS_DPS (1u << 5)         /* descriptor processed */
#define IS_PCS (1u << 6)         /* port connect change */
#define IS_PRCS (1u << 22)
#define IS_TFES (1u << 30)       /* task file error */
#define IS_VALID 0xfdc000ffu     /* defined bits of PxIS (3.3.5) */
#define IE_VALID 0xfdc000ffu

#define SIG_ATA 0x00000101
#define SSTS_UP 0x133            /* DET 3 (present, phy up), Gen3, IPM active */

/* ATA status and error (ATA8-ACS 6.1, 6.2) */
#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DSC 0x10
#define ST_DRDY 0x40
#define ST_BSY 0x80
#define ER_ABRT 0x04
#define ER_IDNF 0x10
#define ER_UNC 0x40

/* FIS types (SATA 3.x, 10.3) */
#define FIS_H2D 0x27
#define FIS_D2H 0x34
#define FIS_SDB 0xa1
#define FIS_PIO_SETUP 0x5f

/* Received-FIS area offsets (4.2.1) */
#define RFIS_PSFIS 0x20
#define RFIS_RFIS 0x40
#define RFIS_SDBFIS 0x58

/* Commands (ATA8-ACS) */
#define ATA_NOP 0x00
#define ATA_READ_DMA 0xc8
#define ATA_WRITE_DMA 0xca
#define ATA_READ_DMA_EXT 0x25
#define ATA_WRITE_DMA_EXT 0x35
#define ATA_READ_FPDMA 0x60
#define ATA_WRITE_FPDMA 0x61
#define ATA_READ_LOG_EXT 0x2f
#define ATA_READ_LOG_DMA_EXT 0x47
#define ATA_FLUSH 0xe7
#define ATA_FLUSH_EXT 0xea
#define ATA_IDENTIFY 0xec
#define ATA_SET_FEATURES 0xef
#define ATA_SET_MULTIPLE 0xc6
#define ATA_STANDBY_NOW 0xe0
#define ATA_IDLE_NOW 0xe1
#define ATA_CHECK_POWER 0xe5
#define ATA_INIT_PARAMS 0x91
#define ATA_VERIFY_EXT 0x42
#define ATA_VERIFY 0x40

struct port {
	uint32_t clb, clbu, fb, fbu, is, ie, cmd, tfd, sig, ssts, sctl, serr, sact, ci;
	uint32_t taken;          /* slots the worker took, not yet finished */
	bool stopped;            /* a task-file error: no more until ST cycles */
	/* NCQ command error log (ATA8-ACS, log 10h), read by the driver's EH */
	bool ncq_err;
	uint8_t ncq_err_tag, ncq_err_status, ncq_err_error;
	bool wcache;             /* volatile write cache enabled (SET FEATURES) */
};

struct ahci_counts {
	uint64_t read_bytes, write_bytes, flushes, errors, commands, irqs;
};

struct ahci {
	struct vm *vm;
	struct pci_dev *pci;
	char name[32];
	struct blockfile *file;
	uint64_t sectors;
	char serial[21];
	pthread_mutex_t lock;
	pthread_cond_t work, idle;
	pthread_t thread[NR_WORKERS];
	int nr_threads;
	bool stopping, paused;
	unsigned busy;           /* commands the workers are serving (lock) */
	/* Bumped when the port forgets its commands (HBA reset, PxCMD.ST
	 * cleared): a command taken before completes into nothing, even
	 * when the driver has issued a new one in its slot meanwhile. */
	uint64_t epoch;
	/* An HBA reset came while commands still moved data: GHC.HR reads 1
	 * until they are done (10.4.3: "set to 0 when the reset is
	 * complete"), so a driver that waits for it knows no stale write
	 * reaches the disk after its own. */
	bool resetting;
	uint32_t ghc, is;
	struct port port;        /* one port: PI = 1 */
	bool irq_level;
	struct ahci_counts counts;
};

/* --- interrupts (lock held) ---------------------------------------------- */

/* IS.IPS[0] follows PxIS & PxIE (3.1.3); the pin follows IS and GHC.IE. */
static void update_irq(struct ahci *a)
{
	bool level;

	if (a->port.is & a->port.ie)
		a->is |= 1;
	level = (a->ghc & GHC_IE) && a->is;
	if (level != a->irq_level) {
		a->irq_level = level;
		if (level)
			a->counts.irqs++;
		pci_set_irq(a->pci, level);
	}
}

/* --- the port ------------------------------------------------------------ */

static uint64_t port_fb(const struct port *p)
{
	return (uint64_t)p->fbu << 32 | p->fb;
}

/* Power-on / COMRESET: the disk is there and its first D2H FIS says so. */
static void port_reset(struct ahci *a, bool keep_regs)
{
	struct port *p = &a->port;

	if (!keep_regs) {
		*p = (struct port){ 0 };
		p->wcache = true;
		p->cmd = CMD_SUD | CMD_POD;
	}
	p->tfd = ST_DRDY | ST_DSC;
	p->sig = SIG_ATA;
	p->ssts = SSTS_UP;
}

/* Post a FIS into the received-FIS area when FIS receive is on (3.3.7). */
static void post_fis(struct ahci *a, unsigned off, const uint8_t *fis, unsigned len)
{
	struct port *p = &a->port;

	if (!(p->cmd & CMD_FRE))
		return;
	if (pci_dma_write(a->pci, port_fb(p) + off, fis, len))
		debug("%s: received-FIS area at %#llx is not in guest RAM", a->name,
		      (unsigned long long)port_fb(p));
}

static void d2h_fis(struct ahci *a, uint8_t status, uint8_t error, bool irq)
{
	uint8_t f[20] = { FIS_D2H, irq ? 0x40 : 0, status, error };

	post_fis(a, RFIS_RFIS, f, sizeof(f));
}

/* The driver stopped the port (PxCMD.ST 1 -> 0): the HBA clears PxCI,
 * PxSACT and CCS and ends list processing (3.3.7, ST). */
static void port_stop(struct ahci *a)
{
	struct port *p = &a->port;

	p->ci = 0;
	p->sact = 0;
	p->taken = 0;
	a->epoch++;
	p->stopped = false;
	p->cmd &= ~(0x1fu << CMD_CCS_SHIFT);
	/* CR stays up while a command is still moving data; the worker
	 * drops it when that one ends. */
	if (!a->busy)
		p->cmd &= ~CMD_CR;
}

static void kick(struct ahci *a)
{
	struct port *p = &a->port;

	if ((p->cmd & CMD_ST) && !p->stopped && (p->ci & ~p->taken))
		pthread_cond_signal(&a->work);
}

/* --- register accesses (vCPU) ---------------------------------------------- */

static uint32_t port_read(struct ahci *a, unsigned off)
{
	struct port *p = &a->port;

	switch (off) {
	case PX_CLB: return p->clb;
	case PX_CLBU: return p->clbu;
	case PX_FB: return p->fb;
	case PX_FBU: return p->fbu;
	case PX_IS: return p->is;
	case PX_IE: return p->ie;
	case PX_CMD: return p->cmd;
	case PX_TFD: return p->tfd;
	case PX_SIG: return p->sig;
	case PX_SSTS: return p->ssts;
	case PX_SCTL: return p->sctl;
	case PX_SERR: return p->serr;
	case PX_SACT: return p->sact;
	case PX_CI: return p->ci;
	default: return 0;
	}
}

static void port_write(struct ahci *a, unsigned off, uint32_t v)
{
	struct port *p = &a->port;

	switch (off) {
	case PX_CLB: p->clb = v & ~0x3ffu; break;   /* 1 KiB aligned */
	case PX_CLBU: p->clbu = v; break;
	case PX_FB: p->fb = v & ~0xffu; break;      /* 256-byte aligned */
	case PX_FBU: p->fbu = v; break;
	case PX_IS: p->is &= ~v; break;             /* RW1C */
	case PX_IE: p->ie = v & IE_VALID; break;
	case PX_CMD: {
		uint32_t old = p->cmd;
		p->cmd = (p->cmd & ~CMD_RW_BITS) | (v & CMD_RW_BITS);
		p->cmd &= ~(0xfu << 28);               /* ICC reads 0 when done */
		if (v & CMD_CLO)                        /* command list override */
			p->tfd &= ~(ST_BSY | ST_DRQ);
		if ((p->cmd & CMD_FRE))
			p->cmd |= CMD_FR;
		else
			p->cmd &= ~CMD_FR;
		if ((p->cmd & CMD_ST) && !(old & CMD_ST))
			p->cmd |= CMD_CR;
		if (!(p->cmd & CMD_ST) && (old & CMD_ST))
			port_stop(a);
		break;
	}
	case PX_SCTL:
		/* DET = 1 holds COMRESET; releasing it brings the link up
		 * with the disk's signature (3.3.11, 10.4.2). */
		if ((v & 0xf) == 1) {
			p->ssts = 0;
			p->tfd = ST_BSY;
		} else if ((p->sctl & 0xf) == 1 && (v & 0xf) == 0) {
			port_reset(a, true);
			p->serr |= 1u << 26 | 1u << 16;     /* DIAG.X, DIAG.N */
			p->is |= IS_PCS | IS_PRCS;
			d2h_fis(a, p->tfd, 0x01, false);
		}
		p->sctl = v & 0xfff;
		break;
	case PX_SERR: p->serr &= ~v; break;
	case PX_SACT:
		if (p->cmd & CMD_ST)
			p->sact |= v;
		break;
	case PX_CI:
		if (p->cmd & CMD_ST)
			p->ci |= v;
		break;
	default:
		break;
	}
}

static void hba_reset(struct ahci *a)
{
	a->epoch++;
	a->resetting = a->busy > 0;
	a->ghc = 0;
	a->is = 0;
	port_reset(a, false);
	update_irq(a);
}

static uint64_t ahci_bar_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	struct ahci *a = opaque;
	uint32_t v = 0;

	if (bar != 5 || (size != 4 && size != 8) || off % 4)
		return 0;
	if (size == 8)
		return ahci_bar_read(a, bar, off, 4) | ahci_bar_read(a, bar, off + 4, 4) << 32;
	pthread_mutex_lock(&a->lock);
	if (off < PORT_BASE) {
		switch (off) {
		case HBA_CAP:
			v = CAP_S64A | CAP_SNCQ | CAP_SAM | CAP_SCLO | CAP_ISS_GEN3 | CAP_NCS(NR_SLOTS);
			break;
		case HBA_GHC: v = a->ghc | GHC_AE | (a->resetting ? GHC_HR : 0); break;
		case HBA_IS: v = a->is; break;
		case HBA_PI: v = 1; break;
		case HBA_VS: v = AHCI_VERSION; break;
		default: v = 0;
		}
	} else if (off < PORT_BASE + PORT_SIZE) {
		v = port_read(a, (unsigned)(off - PORT_BASE));
	}
	pthread_mutex_unlock(&a->lock);
	return v;
}

static void ahci_bar_write(void *opaque, int bar, uint64_t off, uint64_t val, unsigned size)
{
	struct ahci *a = opaque;
	uint32_t v = (uint32_t)val;

	if (bar != 5 || (size != 4 && size != 8) || off % 4)
		return;
	if (size == 8) {
		ahci_bar_write(a, bar, off, v, 4);
		ahci_bar_write(a, bar, off + 4, val >> 32, 4);
		return;
	}
	pthread_mutex_lock(&a->lock);
	if (off == HBA_GHC) {
		if (v & GHC_HR) {
			/* 10.4.3. A command the worker is still moving data
			 * for completes into nothing: complete() finds its
			 * slot gone from PxCI. The vCPU does not wait for it
			 * (src/dev/README.md, rule 1). */
			hba_reset(a);
		} else {
			a->ghc = v & GHC_IE;
		}
	} else if (off == HBA_IS) {
		a->is &= ~v;
	} else if (off >= PORT_BASE && off < PORT_BASE + PORT_SIZE) {
		port_write(a, (unsigned)(off - PORT_BASE), v);
		kick(a);
	}
	update_irq(a);
	pthread_mutex_unlock(&a->lock);
}

/* --- commands (worker thread, lock not held) -------------------------------- */

struct cmd {
	unsigned slot;
	uint8_t fis[20];
	uint16_t prdtl;
	uint64_t ctba;
	bool write;               /* header W bit */
	uint32_t prdbc;           /* bytes moved */
	uint8_t status, error;
	bool ncq, pio_in;
	uint8_t tag;
	uint64_t epoch;           /* ahci.epoch when the worker took it */
	/* The PRDT mapped onto host memory (the worker's own: commands run
	 * concurrently); not cleared by fetch. */
	struct iovec iov[MAX_PRD];
	uint64_t iov_gpa[MAX_PRD];       /* guest address of each iov */
};

static uint64_t fis_lba48(const uint8_t *f)
{
	return (uint64_t)f[4] | (uint64_t)f[5] << 8 | (uint64_t)f[6] << 16 | (uint64_t)f[8] << 24 |
	       (uint64_t)f[9] << 32 | (uint64_t)f[10] << 40;
}

/* Map the PRDT onto host iovecs covering exactly len bytes. 0, or -EFAULT
 * when an entry lies outside RAM (or bus mastering is off), -EINVAL when
 * the PRDT is shorter than the transfer or longer than we map. */
static int map_prdt(struct ahci *a, struct cmd *c, uint64_t len, int *nr)
{
	uint64_t done = 0;
	int n = 0;

	for (unsigned i = 0; i < c->prdtl && done < len; i++) {
		uint32_t prd[4];
		uint64_t dba, bytes;
		void *host;
		if (n == MAX_PRD)
			return -EINVAL;
		if (pci_dma_read(a->pci, c->ctba + 0x80 + 16ULL * i, prd, sizeof(prd)))
			return -EFAULT;
		dba = ((uint64_t)prd[1] << 32 | prd[0]) & ~1ULL;  /* word aligned (4.2.3.3) */
		bytes = (prd[3] & (PRD_MAX_BYTES - 1)) + 1ULL;
		if (bytes > len - done)
			bytes = len - done;
		host = pci_dma_ptr(a->pci, dba, bytes);
		if (!host)
			return -EFAULT;
		c->iov[n].iov_base = host;
		c->iov[n].iov_len = bytes;
		c->iov_gpa[n] = dba;
		n++;
		done += bytes;
	}
	*nr = n;
	return done == len ? 0 : -EINVAL;
}

/* The software CPU drops code it decoded from bytes we wrote. */
static void iov_written(struct ahci *a, const struct cmd *c, int n)
{
	for (int i = 0; i < n; i++)
		pci_dma_written(a->pci, c->iov_gpa[i], c->iov[i].iov_len);
}

/* Data moved between the disk and guest RAM through the PRDT. */
static void do_rw(struct ahci *a, struct cmd *c, uint64_t lba, uint64_t count, bool write,
		  struct ahci_counts *k)
{
	uint64_t len = count * SECTOR;
	int n = 0, err;

	if (lba > a->sectors || count > a->sectors - lba) {
		c->status = ST_DRDY | ST_ERR;
		c->error = ER_IDNF;
		return;
	}
	if (write && blockfile_readonly(a->file)) {
		c->status = ST_DRDY | ST_ERR;
		c->error = ER_ABRT;
		return;
	}
	if ((err = map_prdt(a, c, len, &n))) {
		debug("%s: slot %u: PRDT %s", a->name, c->slot,
		      err == -EFAULT ? "outside guest RAM" : "does not cover the transfer");
		c->status = ST_DRDY | ST_ERR;
		c->error = ER_ABRT;
		return;
	}
	if (write) {
		err = blockfile_pwritev(a->file, c->iov, n, lba * SECTOR);
		if (!err && !a->port.wcache)
			err = blockfile_flush(a->file);
		if (!err)
			k->write_bytes += len;
	} else {
		err = blockfile_preadv(a->file, c->iov, n, lba * SECTOR);
		iov_written(a, c, n);
		if (!err)
			k->read_bytes += len;
	}
	if (err) {
		debug("%s: %s at sector %llu: %s", a->name, write ? "write" : "read",
		      (unsigned long long)lba, strerror(-err));
		c->status = ST_DRDY | ST_ERR;
		c->error = ER_UNC;
		return;
	}
	c->prdbc = (uint32_t)len;
}

/* PIO data-in of one 512-byte block (IDENTIFY, READ LOG EXT). */
static void pio_in(struct ahci *a, struct cmd *c, const void *data, unsigned len)
{
	int n = 0, err;

	c->pio_in = true;
	if ((err = map_prdt(a, c, len, &n))) {
		c->status = ST_DRDY | ST_ERR;
		c->error = ER_ABRT;
		return;
	}
	for (int i = 0, off = 0; i < n; off += (int)c->iov[i].iov_len, i++)
		memcpy(c->iov[i].iov_base, (const uint8_t *)data + off, c->iov[i].iov_len);
	iov_written(a, c, n);
	c->prdbc = len;
}

static void put_string(uint16_t *w, const char *s, unsigned words)
{
	/* ATA strings: two characters a word, the first in the high byte,
	 * padded with spaces (ATA8-ACS 3.4.9). */
	for (unsigned i = 0; i < words; i++) {
		char c0 = *s ? *s++ : ' ';
		char c1 = *s ? *s++ : ' ';
		w[i] = (uint16_t)((uint8_t)c0 << 8 | (uint8_t)c1);
	}
}

/* IDENTIFY DEVICE data (ATA8-ACS 7.16.7). */
static void identify(struct ahci *a, uint16_t *w)
{
	uint64_t lba28 = a->sectors < 0x0fffffff ? a->sectors : 0x0fffffff;
	uint64_t cyl = a->sectors / (16 * 63);
	uint8_t sum = 0;

	memset(w, 0, 512);
	w[0] = 0x0040;                        /* fixed device, not removable */
	w[1] = (uint16_t)(cyl > 16383 ? 16383 : cyl);
	w[3] = 16;
	w[6] = 63;
	put_string(w + 10, a->serial, 10);
	put_string(w + 23, "1.0", 4);
	put_string(w + 27, "TREVO SATA DISK", 20);
	w[47] = 0x8000 | 16;                  /* READ/WRITE MULTIPLE up to 16 */
	w[49] = 0x0300;                       /* LBA, DMA */
	w[50] = 0x4000;
	w[53] = 0x0006;                       /* words 64-70 and 88 valid */
	w[54] = w[1];
	w[55] = 16;
	w[56] = 63;
	w[60] = (uint16_t)lba28;
	w[61] = (uint16_t)(lba28 >> 16);
	w[63] = 0x0007;                       /* multiword DMA 0-2 */
	w[64] = 0x0003;                       /* PIO 3-4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[75] = NR_SLOTS - 1;                 /* queue depth */
	w[76] = 0x010e;                       /* NCQ; Gen1, Gen2, Gen3 */
	w[80] = 0x01f0;                       /* ATA8-ACS, ATA/ATAPI-7..4 */
	w[82] = 0x4060;                       /* NOP, read look-ahead, write cache */
	w[83] = 0x7400;                       /* FLUSH CACHE (EXT), 48-bit */
	w[84] = 0x4020;                       /* general purpose logging */
	w[85] = 0x4040 | (a->port.wcache ? 0x0020 : 0);
	w[86] = 0x3400;
	w[87] = 0x4020;
	w[88] = 0x203f;                       /* UDMA 0-5, mode 5 selected */
	w[93] = 0;
	w[100] = (uint16_t)a->sectors;
	w[101] = (uint16_t)(a->sectors >> 16);
	w[102] = (uint16_t)(a->sectors >> 32);
	w[103] = (uint16_t)(a->sectors >> 48);
	w[106] = 0x4000;                      /* one 512-byte logical sector per physical */
	w[217] = 1;                           /* non-rotating medium */
	w[255] = 0x00a5;                      /* integrity word (7.16.7.96) */
	for (unsigned i = 0; i < 510; i++)
		sum = (uint8_t)(sum + ((uint8_t *)w)[i]);
	sum = (uint8_t)(sum + 0xa5);
	w[255] |= (uint16_t)((uint8_t)-sum << 8);
}

static void read_log(struct ahci *a, struct cmd *c)
{
	const uint8_t *f = c->fis;
	uint8_t page[512] = { 0 };
	unsigned log = f[4], count = f[12] | f[13] << 8, pageno = f[5] | f[9] << 8;

	if (count != 1 || pageno != 0 || (log != 0 && log != 0x10)) {
		c->status = ST_DRDY | ST_ERR;
		c->error = ER_ABRT;
		return;
	}
	if (log == 0) {                       /* the log directory (A.2) */
		page[0] = 1;
		page[0x10 * 2] = 1;
	} else {                              /* NCQ command error (A.13) */
		pthread_mutex_lock(&a->lock);
		if (a->port.ncq_err) {
			page[0] = a->port.ncq_err_tag;
			page[2] = a->port.ncq_err_status;
			page[3] = a->port.ncq_err_error;
			a->port.ncq_err = false;
		} else {
			page[0] = 0x80;               /* NQ: no queued error */
		}
		pthread_mutex_unlock(&a->lock);
		for (int i = 0; i < 511; i++)
			page[511] = (uint8_t)(page[511] - page[i]);
	}
	pio_in(a, c, page, sizeof(page));
}

static void execute(struct ahci *a, struct cmd *c, struct ahci_counts *k)
{
	const uint8_t *f = c->fis;
	uint8_t cmd = f[2];
	uint64_t count;

	c->status = ST_DRDY | ST_DSC;
	c->error = 0;
	k->commands++;
	/* Only a register H2D FIS with the C bit carries a command. */
	if (f[0] != FIS_H2D || !(f[1] & 0x80)) {
		c->status = ST_DRDY | ST_ERR;
		c->error = ER_ABRT;
		return;
	}
	switch (cmd) {
	case ATA_READ_DMA_EXT:
	case ATA_WRITE_DMA_EXT:
		count = f[12] | f[13] << 8;
		do_rw(a, c, fis_lba48(f), count ? count : 65536, cmd == ATA_WRITE_DMA_EXT, k);
		break;
	case ATA_READ_DMA:
	case ATA_WRITE_DMA:
		count = f[12];
		do_rw(a, c, (uint64_t)f[4] | f[5] << 8 | f[6] << 16 | (uint64_t)(f[7] & 0xf) << 24,
		      count ? count : 256, cmd == ATA_WRITE_DMA, k);
		break;
	case ATA_READ_FPDMA:
	case ATA_WRITE_FPDMA:
		/* 13.6.4: count in FEATURE, tag in COUNT 7:3 */
		c->ncq = true;
		c->tag = f[12] >> 3;
		count = f[3] | f[11] << 8;
		do_rw(a, c, fis_lba48(f), count ? count : 65536, cmd == ATA_WRITE_FPDMA, k);
		break;
	case ATA_FLUSH:
	case ATA_FLUSH_EXT:
		k->flushes++;
		if (blockfile_flush(a->file)) {
			c->status = ST_DRDY | ST_ERR;
			c->error = ER_ABRT;
		}
		break;
	case ATA_IDENTIFY: {
		uint16_t id[256];
		identify(a, id);
		pio_in(a, c, id, sizeof(id));
		break;
	}
	case ATA_READ_LOG_EXT:
	case ATA_READ_LOG_DMA_EXT:
		read_log(a, c);
		c->pio_in = cmd == ATA_READ_LOG_EXT;
		break;
	case ATA_SET_FEATURES:
		switch (f[3]) {
		case 0x02: a->port.wcache = true; break;   /* enable write cache */
		case 0x82:                                  /* disable: flush first */
			a->port.wcache = false;
			blockfile_flush(a->file);
			break;
		case 0x03: case 0xaa: case 0x55: case 0x66: case 0xcc: break;
		default:
			c->status = ST_DRDY | ST_ERR;
			c->error = ER_ABRT;
		}
		break;
	case ATA_SET_MULTIPLE:
		if (f[12] > 16 || (f[12] & (f[12] - 1))) {
			c->status = ST_DRDY | ST_ERR;
			c->error = ER_ABRT;
		}
		break;
	case ATA_CHECK_POWER:
		/* the count register answers 0xff: active or idle */
		break;
	case ATA_STANDBY_NOW:
	case ATA_IDLE_NOW:
	case ATA_INIT_PARAMS:
	case ATA_VERIFY:
	case ATA_VERIFY_EXT:
		break;
	default:
		debug("%s: command %#x not supported", a->name, cmd);
		c->status = ST_DRDY | ST_ERR;
		c->error = ER_ABRT;
	}
}

/* Lock held: the command is done; tell the driver (5.3.x, 5.6.4). */
static void complete(struct ahci *a, struct cmd *c)
{
	struct port *p = &a->port;
	uint32_t bit = 1u << c->slot;
	bool failed = c->status & ST_ERR;

	if (c->epoch != a->epoch)
		return;  /* from before a reset or a stop: the slot is another's now */
	p->taken &= ~bit;
	/* A port stopped meanwhile (ST cleared, HBA reset) forgot it. */
	if (!(p->ci & bit) || !(p->cmd & CMD_ST))
		return;
	/* PRDBC of the command header (4.2.2, DW1). */
	pci_dma_write(a->pci, ((uint64_t)p->clbu << 32 | p->clb) + 32ULL * c->slot + 4, &c->prdbc, 4);
	if (failed) {
		a->counts.errors++;
		p->tfd = (uint32_t)c->error << 8 | c->status;
		p->is |= IS_TFES;
		p->stopped = true;
		p->cmd = (p->cmd & ~(0x1fu << CMD_CCS_SHIFT)) | c->slot << CMD_CCS_SHIFT;
		if (c->ncq) {
			p->ncq_err = true;
			p->ncq_err_tag = c->tag;
			p->ncq_err_status = c->status;
			p->ncq_err_error = c->error;
		}
		d2h_fis(a, c->status, c->error, true);
		return;
	}
	p->tfd = c->status;
	if (c->ncq) {
		/* SDB FIS with the finished tag in SActive (SATA 10.3.7) */
		uint8_t sdb[8] = { FIS_SDB, 0x40, c->status & 0x77, 0 };
		uint32_t sact = 1u << c->tag;
		memcpy(sdb + 4, &sact, 4);
		post_fis(a, RFIS_SDBFIS, sdb, sizeof(sdb));
		p->sact &= ~sact;
		p->is |= IS_SDBS;
	} else if (c->pio_in) {
		uint8_t ps[20] = { FIS_PIO_SETUP, 0x60, ST_DRDY | ST_DSC | ST_DRQ, 0 };
		ps[15] = c->status;               /* E_Status */
		ps[16] = (uint8_t)c->prdbc;
		ps[17] = (uint8_t)(c->prdbc >> 8);
		post_fis(a, RFIS_PSFIS, ps, sizeof(ps));
		p->is |= IS_PSS;
	} else {
		d2h_fis(a, c->status, c->error, true);
		p->is |= IS_DHRS;
	}
	p->ci &= ~bit;
}

/* Lock held: fetch the command header and FIS of slot. */
static bool fetch(struct ahci *a, unsigned slot, struct cmd *c)
{
	struct port *p = &a->port;
	uint32_t hdr[4];
	uint64_t clb = (uint64_t)p->clbu << 32 | p->clb;

	memset(c, 0, offsetof(struct cmd, iov));
	c->slot = slot;
	if (pci_dma_read(a->pci, clb + 32ULL * slot, hdr, sizeof(hdr)))
		return false;
	c->prdtl = (uint16_t)(hdr[0] >> 16);
	c->write = hdr[0] & (1u << 6);
	c->ctba = ((uint64_t)hdr[3] << 32 | hdr[2]) & ~0x7fULL;
	if (pci_dma_read(a->pci, c->ctba, c->fis, sizeof(c->fis)))
		return false;
	return true;
}

static void *ahci_thread(void *arg)
{
	struct ahci *a = arg;
	struct port *p = &a->port;
	struct cmd c;   /* with its iovecs: 24 KiB of the thread's stack */

	seccomp_enter(SECCOMP_BLK_WORKER);  /* a disk worker: the same rights */
	pthread_mutex_lock(&a->lock);
	for (;;) {
		uint32_t todo;
		unsigned slot;
		struct ahci_counts k = { 0 };
		bool ok;
		while (!a->stopping && (a->paused || !(p->cmd & CMD_ST) || p->stopped ||
					!(p->ci & ~p->taken)))
			pthread_cond_wait(&a->work, &a->lock);
		if (a->stopping)
			break;
		todo = p->ci & ~p->taken;
		slot = (unsigned)__builtin_ctz(todo);
		p->taken |= 1u << slot;
		a->busy++;
		/* More issued: the next worker takes the next one. */
		if (p->ci & ~p->taken)
			pthread_cond_signal(&a->work);
		ok = fetch(a, slot, &c);
		c.epoch = a->epoch;
		pthread_mutex_unlock(&a->lock);
		if (ok) {
			execute(a, &c, &k);
		} else {
			debug("%s: slot %u: command list or table outside guest RAM", a->name, slot);
			c.status = ST_DRDY | ST_ERR;
			c.error = ER_ABRT;
		}
		pthread_mutex_lock(&a->lock);
		a->counts.read_bytes += k.read_bytes;
		a->counts.write_bytes += k.write_bytes;
		a->counts.flushes += k.flushes;
		a->counts.commands += k.commands;
		complete(a, &c);
		update_irq(a);
		if (!--a->busy)
			a->resetting = false;
		if (!(p->cmd & CMD_ST))
			p->cmd &= ~CMD_CR;
		pthread_cond_broadcast(&a->idle);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* --- lifecycle -------------------------------------------------------------- */

static void ahci_command_written(void *opaque, uint16_t old, uint16_t cmd)
{
	(void)opaque;
	(void)old;
	(void)cmd;
}

static const struct pci_dev_ops ahci_pci_ops = {
	.bar_read = ahci_bar_read,
	.bar_write = ahci_bar_write,
	.command_written = ahci_command_written,
};

static void wait_idle(struct ahci *a)
{
	while (a->busy)
		pthread_cond_wait(&a->idle, &a->lock);
}

static void ahci_reset(void *opaque)
{
	struct ahci *a = opaque;

	pthread_mutex_lock(&a->lock);
	wait_idle(a);
	a->irq_level = false;
	hba_reset(a);
	pthread_mutex_unlock(&a->lock);
	pci_dev_reset(a->pci);
}

static void ahci_pause(void *opaque)
{
	struct ahci *a = opaque;

	pthread_mutex_lock(&a->lock);
	a->paused = true;
	wait_idle(a);
	pthread_mutex_unlock(&a->lock);
}

static void ahci_resume(void *opaque)
{
	struct ahci *a = opaque;

	pthread_mutex_lock(&a->lock);
	a->paused = false;
	kick(a);
	pthread_mutex_unlock(&a->lock);
}

static int ahci_state(void *opaque, struct vmstate *s)
{
	struct ahci *a = opaque;
	struct port *p = &a->port;
	uint64_t sectors = a->sectors;
	int ver = vms_version(s, 1);

	if (ver < 0)
		return ver;
	pci_dev_state(a->pci, s);
	vms_u64(s, &sectors);
	vms_check(s, sectors == a->sectors, "ahci disk capacity");
	pthread_mutex_lock(&a->lock);
	vms_u32(s, &a->ghc);
	vms_u32(s, &a->is);
	vms_u32(s, &p->clb);
	vms_u32(s, &p->clbu);
	vms_u32(s, &p->fb);
	vms_u32(s, &p->fbu);
	vms_u32(s, &p->is);
	vms_u32(s, &p->ie);
	vms_u32(s, &p->cmd);
	vms_u32(s, &p->tfd);
	vms_u32(s, &p->sig);
	vms_u32(s, &p->ssts);
	vms_u32(s, &p->sctl);
	vms_u32(s, &p->serr);
	vms_u32(s, &p->sact);
	vms_u32(s, &p->ci);
	vms_bool(s, &p->stopped);
	vms_bool(s, &p->ncq_err);
	vms_u8(s, &p->ncq_err_tag);
	vms_u8(s, &p->ncq_err_status);
	vms_u8(s, &p->ncq_err_error);
	vms_bool(s, &p->wcache);
	if (s->loading) {
		if (vms_error(s)) {
			hba_reset(a);
		} else {
			/* only defined bits, as register writes would leave */
			a->ghc &= GHC_IE;
			a->is &= 1;
			p->clb &= ~0x3ffu;
			p->fb &= ~0xffu;
			p->is &= IS_VALID;
			p->ie &= IE_VALID;
			p->ncq_err_tag &= 31;
			p->taken = 0;
			a->irq_level = false;
			pci_set_irq(a->pci, 0);
			update_irq(a);
		}
	}
	pthread_mutex_unlock(&a->lock);
	if (s->loading && vms_error(s))
		pci_dev_reset(a->pci);
	return vms_error(s);
}

static void ahci_stats(void *opaque, const struct stats_sink *s)
{
	struct ahci *a = opaque;

	stats_put(s, "commands", a->counts.commands);
	stats_put(s, "read-bytes", a->counts.read_bytes);
	stats_put(s, "write-bytes", a->counts.write_bytes);
	stats_put(s, "flushes", a->counts.flushes);
	stats_put(s, "errors", a->counts.errors);
	stats_put(s, "interrupts", a->counts.irqs);
}

static void ahci_destroy(void *opaque)
{
	struct ahci *a = opaque;

	if (a->nr_threads) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_broadcast(&a->work);
		pthread_mutex_unlock(&a->lock);
		for (int i = 0; i < a->nr_threads; i++)
			pthread_join(a->thread[i], NULL);
	}
	pci_unregister(a->pci);
	blockfile_close(a->file);
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->idle);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static int ahci_create(struct vm *vm, const struct dev_params *p, void **state)
{
	static const uint8_t pm_cap[6] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x00 };
	struct pci_dev_info info = {
		.name = "ahci", .vendor = 0x8086, .device = 0x2922, .subsys_vendor = 0x8086,
		.subsys = 0x2922, .revision = 2, .class_code = 0x010601, .irq_pin = 1,
		.bar = { [5] = { PCI_BAR_MEM32, 0x1000, false } },
	};
	struct ahci *a;
	char *path = NULL;
	bool ro;
	int err, cap;

	if ((err = blockfile_parse_spec("ahci", p->arg, &path, &ro)))
		return err;
	a = calloc(1, sizeof(*a));
	if (!a) {
		free(path);
		return -ENOMEM;
	}
	a->vm = vm;
	snprintf(a->name, sizeof(a->name), "ahci%d", p->index);
	snprintf(a->serial, sizeof(a->serial), "TREVO%04d", p->index);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->work, NULL);
	pthread_cond_init(&a->idle, NULL);
	a->file = blockfile_open(path, ro, &err);
	if (!a->file) {
		warn("%s: cannot open disk image %s: %s", a->name, path, strerror(-err));
		goto fail;
	}
	a->sectors = blockfile_size(a->file) / SECTOR;
	if ((err = pci_register(vm, &info, &ahci_pci_ops, a, &a->pci)))
		goto fail;
	/* PCI power management 1.2, D0 only (ICH9 has it at 0x70). */
	if ((cap = pci_add_capability(a->pci, PCI_CAP_ID_PM, pm_cap, sizeof(pm_cap))) < 0) {
		err = -ENOSPC;
		goto fail;
	}
	/* PMCSR: the power state is the driver's to set (PCI PM 1.2, 3.2.4) */
	pci_set_wmask(a->pci, (unsigned)cap + 4, 0x0003, 2);
	hba_reset(a);
	for (int i = 0; i < NR_WORKERS; i++) {
		if ((err = -pthread_create(&a->thread[i], NULL, ahci_thread, a))) {
			warn("%s: cannot start the I/O threads: %s", a->name, strerror(-err));
			goto fail;
		}
		a->nr_threads++;
		pthread_setname_np(a->thread[i], "ahci");
	}
	debug("%s: %s, %llu sectors%s, PCI slot %d", a->name, path,
	      (unsigned long long)a->sectors, ro ? ", read-only" : "", pci_slot(a->pci));
	free(path);
	*state = a;
	return 0;
fail:
	ahci_destroy(a);
	free(path);
	return err;
}

static const struct device_ops ahci_model = {
	.name = "ahci",
	.create = ahci_create,
	.reset = ahci_reset,
	.pause = ahci_pause,
	.resume = ahci_resume,
	.state = ahci_state,
	.stats = ahci_stats,
	.destroy = ahci_destroy,
};
DEVICE_MODEL(ahci_model)
