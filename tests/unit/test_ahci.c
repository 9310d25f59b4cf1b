/* The AHCI controller as Linux's ahci driver drives it, against a RAM
 * array and a temporary image: PCI enumeration, HBA and port start-up,
 * COMRESET, IDENTIFY, DMA and NCQ reads and writes, flush, the
 * architected errors (bad command, LBA out of range, PRDT outside RAM or
 * shorter than the transfer, bus mastering off), recovery through
 * PxCMD.ST, the NCQ error log, and a state round trip. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dev/pci.h"
#include "vm.h"
#include "vmstate.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (4ULL << 20)
#define ECAM 0x30000000ULL
#define ABAR 0x40000000ULL
#define CLB (RAM_BASE + 0x1000)
#define FB (RAM_BASE + 0x2000)
#define CTBA(slot) (RAM_BASE + 0x10000 + 0x1000 * (slot))
#define DATA (RAM_BASE + 0x100000)
#define SECTORS 256
#define P0 0x100

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

	vm_mmio_read(&vm, ABAR + off, 4, &v);
	return (uint32_t)v;
}

static void wr(unsigned off, uint32_t v)
{
	vm_mmio_write(&vm, ABAR + off, 4, v);
}

static void cfg_wr(unsigned off, uint32_t v, unsigned size)
{
	vm_mmio_write(&vm, ECAM + (1 << 15) + off, size, v);
}

static uint32_t cfg_rd(unsigned off, unsigned size)
{
	uint64_t v = 0;

	vm_mmio_read(&vm, ECAM + (1 << 15) + off, size, &v);
	return (uint32_t)v;
}

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(host(gpa), &v, 4);
}

/* Command header and table of slot: an H2D FIS and nprd PRD entries of
 * prd_bytes each from DATA. */
static void build(unsigned slot, uint8_t cmd, uint64_t lba, unsigned count, bool write,
		  unsigned nprd, uint32_t prd_bytes, uint64_t data)
{
	uint8_t *f = host(CTBA(slot));

	memset(host(CLB + 32 * slot), 0, 32);
	put32(CLB + 32 * slot, 5 | (write ? 1u << 6 : 0) | (uint32_t)nprd << 16);
	put32(CLB + 32 * slot + 8, (uint32_t)CTBA(slot));
	put32(CLB + 32 * slot + 12, (uint32_t)(CTBA(slot) >> 32));
	memset(f, 0, 0x80);
	f[0] = 0x27;
	f[1] = 0x80;
	f[2] = cmd;
	f[4] = (uint8_t)lba;
	f[5] = (uint8_t)(lba >> 8);
	f[6] = (uint8_t)(lba >> 16);
	f[7] = 0x40;
	f[8] = (uint8_t)(lba >> 24);
	f[9] = (uint8_t)(lba >> 32);
	f[10] = (uint8_t)(lba >> 40);
	if (cmd == 0x60 || cmd == 0x61) {
		f[3] = (uint8_t)count;
		f[11] = (uint8_t)(count >> 8);
		f[12] = (uint8_t)(slot << 3);
	} else {
		f[12] = (uint8_t)count;
		f[13] = (uint8_t)(count >> 8);
	}
	for (unsigned i = 0; i < nprd; i++) {
		uint64_t a = data + (uint64_t)i * prd_bytes;
		put32(CTBA(slot) + 0x80 + 16 * i, (uint32_t)a);
		put32(CTBA(slot) + 0x84 + 16 * i, (uint32_t)(a >> 32));
		put32(CTBA(slot) + 0x88 + 16 * i, 0);
		put32(CTBA(slot) + 0x8c + 16 * i, prd_bytes - 1);
	}
}

/* Issue and wait until the slot leaves PxCI or the port reports an error. */
static bool issue(unsigned slot, bool ncq)
{
	struct timespec t0, t;

	wr(P0 + 0x10, 0xffffffff);
	wr(0x08, 0xffffffff);
	if (ncq)
		wr(P0 + 0x34, 1u << slot);
	wr(P0 + 0x38, 1u << slot);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (!(rd(P0 + 0x38) & (1u << slot)) || (rd(P0 + 0x10) & (1u << 30)))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 5)
			return false;
		usleep(100);
	}
}

static bool port_ok(void)
{
	return !(rd(P0 + 0x20) & 1) && !(rd(P0 + 0x10) & (1u << 30));
}

static bool tf_error(uint8_t err)
{
	return (rd(P0 + 0x20) & 0xff) == 0x41 && (rd(P0 + 0x20) >> 8) == err &&
	       (rd(P0 + 0x10) & (1u << 30));
}

/* What Linux's EH does after a task-file error: stop, start. */
static void restart_port(void)
{
	wr(P0 + 0x18, rd(P0 + 0x18) & ~1u);
	for (int i = 0; i < 1000 && (rd(P0 + 0x18) & (1u << 15)); i++)
		usleep(100);
	wr(P0 + 0x10, 0xffffffff);
	wr(P0 + 0x18, rd(P0 + 0x18) | 1u);
}

int main(void)
{
	char img[] = "/tmp/trevo-ahci-XXXXXX";
	struct pci_host_config pc = {
		.ecam_base = ECAM, .nr_buses = 1, .io_base = 0x03000000, .io_size = 0x10000,
		.mem_base = 0x40000000, .mem_size = 0x40000000, .irq_base = 32, .irq_parent = 1,
	};
	struct dev_params p = { .irq = -1, .arg = img };
	struct device *dev;
	uint8_t sector[512];
	uint16_t id[256];
	int fd;

	fd = mkstemp(img);
	for (int i = 0; i < SECTORS; i++) {
		memset(sector, i, sizeof(sector));
		if (fd < 0 || write(fd, sector, sizeof(sector)) != sizeof(sector)) {
			printf("FAIL ahci-image: cannot write %s\n", img);
			return 1;
		}
	}
	close(fd);
	vm.cfg = &cfg;
	vm.set_irq = fake_set_irq;
	if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE) || pci_host_create(&vm, &pc)) {
		printf("FAIL ahci-setup\n");
		return 1;
	}
	CHECK("ahci-create", vm_create_device(&vm, "ahci", &p) == 0);
	dev = vm.devices;
	CHECK("ahci-pci-ids", cfg_rd(0, 4) == 0x29228086 && cfg_rd(8, 4) >> 8 == 0x010601 &&
				      cfg_rd(0x3d, 1) == 1);
	cfg_wr(0x24, 0xffffffff, 4);
	CHECK("ahci-bar5-size", cfg_rd(0x24, 4) == 0xfffff000);
	cfg_wr(0x24, (uint32_t)ABAR, 4);
	CHECK("ahci-no-decode", rd(0x10) == 0xffffffff);
	cfg_wr(4, PCI_CMD_MEMORY | PCI_CMD_MASTER, 2);
	CHECK("ahci-version", rd(0x10) == 0x00010300 && rd(0x0c) == 1);
	CHECK("ahci-cap", (rd(0) & (1u << 31)) && (rd(0) & (1u << 30)) && ((rd(0) >> 8) & 31) == 31 &&
				  (rd(0) & 31) == 0);
	/* HBA reset, AHCI enable, interrupts. */
	wr(0x04, 1);
	CHECK("ahci-hba-reset", (rd(0x04) & 1) == 0 && (rd(0x04) >> 31) == 1);
	CHECK("ahci-port-present", rd(P0 + 0x28) == 0x133 && rd(P0 + 0x24) == 0x101 &&
					   (rd(P0 + 0x20) & 0x80) == 0);
	/* COMRESET through PxSCTL.DET. */
	wr(P0 + 0x2c, 1);
	CHECK("ahci-comreset-hold", (rd(P0 + 0x28) & 0xf) == 0 && (rd(P0 + 0x20) & 0x80));
	wr(P0 + 0x2c, 0);
	CHECK("ahci-comreset-done", rd(P0 + 0x28) == 0x133 && rd(P0 + 0x20) == 0x50 &&
					    (rd(P0 + 0x30) & (1u << 26)));
	wr(P0 + 0x30, 0xffffffff);
	CHECK("ahci-serr-w1c", rd(P0 + 0x30) == 0);

	wr(P0 + 0x00, (uint32_t)CLB);
	wr(P0 + 0x04, (uint32_t)(CLB >> 32));
	wr(P0 + 0x08, (uint32_t)FB);
	wr(P0 + 0x0c, (uint32_t)(FB >> 32));
	wr(P0 + 0x18, 1u << 4);                   /* FRE */
	CHECK("ahci-fre", rd(P0 + 0x18) & (1u << 14));
	wr(P0 + 0x38, 1);
	CHECK("ahci-ci-needs-st", rd(P0 + 0x38) == 0);
	wr(P0 + 0x18, (1u << 4) | 1);             /* ST */
	CHECK("ahci-st-cr", rd(P0 + 0x18) & (1u << 15));
	wr(P0 + 0x14, 0xffffffff);
	wr(0x04, 2);                              /* GHC.IE */

	build(0, 0xec, 0, 0, false, 1, 512, DATA);
	CHECK("ahci-identify", issue(0, false) && port_ok());
	memcpy(id, host(DATA), sizeof(id));
	CHECK("ahci-identify-size", id[100] == SECTORS && id[60] == SECTORS && (id[83] & (1 << 10)) &&
					    (id[76] & (1 << 8)) && id[75] == 31 && (id[85] & (1 << 5)));
	{
		uint8_t sum = 0;
		for (int i = 0; i < 512; i++)
			sum = (uint8_t)(sum + host(DATA)[i]);
		CHECK("ahci-identify-checksum", sum == 0 && (id[255] & 0xff) == 0xa5);
	}
	CHECK("ahci-identify-psfis", host(FB + 0x20)[0] == 0x5f && host(FB + 0x20)[15] == 0x50);
	CHECK("ahci-identify-prdbc", *(uint32_t *)host(CLB + 4) == 512);
	CHECK("ahci-irq", irq_level == 1 && (rd(0x08) & 1) && (rd(P0 + 0x10) & 2));
	wr(P0 + 0x10, 0xffffffff);
	wr(0x08, 1);
	CHECK("ahci-irq-clear", irq_level == 0 && rd(0x08) == 0);

	/* READ DMA EXT of sectors 5..7 through three PRD entries. */
	memset(host(DATA), 0xee, 4096);
	build(1, 0x25, 5, 3, false, 3, 512, DATA);
	CHECK("ahci-read-dma-ext", issue(1, false) && port_ok() && host(DATA)[0] == 5 &&
					   host(DATA)[512] == 6 && host(DATA)[1535] == 7 &&
					   host(DATA)[1536] == 0xee);
	CHECK("ahci-d2h-fis", host(FB + 0x40)[0] == 0x34 && host(FB + 0x40)[2] == 0x50);
	/* A PRDT longer than the transfer is used only as far as needed. */
	build(2, 0x25, 9, 1, false, 4, 4096, DATA);
	CHECK("ahci-prdt-longer", issue(2, false) && port_ok() && host(DATA)[0] == 9);

	/* WRITE DMA EXT, read back on the host. */
	memset(host(DATA), 0xab, 1024);
	build(3, 0x35, 200, 2, true, 1, 1024, DATA);
	CHECK("ahci-write-dma-ext", issue(3, false) && port_ok());
	fd = open(img, O_RDONLY);
	CHECK("ahci-write-on-disk", fd >= 0 && pread(fd, sector, 512, 201 * 512) == 512 &&
					    sector[0] == 0xab && sector[511] == 0xab);
	if (fd >= 0)
		close(fd);

	/* NCQ: READ/WRITE FPDMA QUEUED on two tags, SDB FIS and SActive. */
	memset(host(DATA), 0x5a, 512);
	build(4, 0x61, 100, 1, true, 1, 512, DATA);
	build(6, 0x60, 201, 1, false, 1, 512, DATA + 0x10000);
	wr(P0 + 0x34, 1u << 4 | 1u << 6);
	CHECK("ahci-ncq-issue", issue(4, true) && issue(6, true) && port_ok());
	CHECK("ahci-ncq-done", rd(P0 + 0x34) == 0 && rd(P0 + 0x38) == 0 &&
				       host(DATA + 0x10000)[0] == 0xab && host(FB + 0x58)[0] == 0xa1);
	CHECK("ahci-ncq-sdbs", rd(P0 + 0x10) & (1u << 3));

	build(5, 0xea, 0, 0, false, 0, 0, 0);
	CHECK("ahci-flush", issue(5, false) && port_ok());
	build(5, 0xef, 0, 0, false, 0, 0, 0);
	host(CTBA(5))[3] = 0x82;                  /* write cache off */
	CHECK("ahci-wcache-off", issue(5, false) && port_ok());
	build(0, 0xec, 0, 0, false, 1, 512, DATA);
	CHECK("ahci-wcache-off-identify", issue(0, false) && !(((uint16_t *)host(DATA))[85] & (1 << 5)));

	/* Errors: each the architected task-file error, then recovery. */
	build(7, 0x99, 0, 0, false, 0, 0, 0);
	CHECK("ahci-bad-command", issue(7, false) && tf_error(0x04) && (rd(P0 + 0x38) & (1u << 7)) &&
					  ((rd(P0 + 0x18) >> 8) & 31) == 7 && irq_level == 1);
	build(8, 0x25, 0, 1, false, 1, 512, DATA);
	wr(P0 + 0x38, 1u << 8);
	usleep(20000);
	CHECK("ahci-stopped-after-error", rd(P0 + 0x38) & (1u << 8));
	restart_port();
	CHECK("ahci-restart", rd(P0 + 0x38) == 0 && (rd(P0 + 0x18) & (1u << 15)));
	build(8, 0x25, SECTORS - 1, 2, false, 1, 1024, DATA);
	CHECK("ahci-lba-range", issue(8, false) && tf_error(0x10));
	restart_port();
	build(9, 0x25, 0, 1, false, 1, 512, RAM_BASE + RAM_SIZE - 256);
	CHECK("ahci-prdt-outside-ram", issue(9, false) && tf_error(0x04));
	restart_port();
	build(9, 0x25, 0, 1, false, 1, 512, 0xfffffffffffffe00ULL);
	CHECK("ahci-prdt-wrap", issue(9, false) && tf_error(0x04));
	restart_port();
	build(10, 0x25, 0, 4, false, 2, 512, DATA);
	CHECK("ahci-prdt-short", issue(10, false) && tf_error(0x04));
	restart_port();
	build(10, 0x25, 0, 1, false, 0, 0, DATA);
	CHECK("ahci-prdt-empty", issue(10, false) && tf_error(0x04));
	restart_port();
	/* zero-length encodings: DBC 0 means one byte; 512 of them cover a sector */
	build(11, 0x25, 3, 1, false, 1, 512, DATA);
	for (int i = 0; i < 1; i++)
		put32(CTBA(11) + 0x8c, 0);
	CHECK("ahci-prdt-tiny", issue(11, false) && tf_error(0x04));
	restart_port();
	/* oversized entry: DBC has 22 bits, the rest is ignored */
	build(11, 0x25, 3, 1, false, 1, 512, DATA);
	put32(CTBA(11) + 0x8c, 0x7fc001ff);
	CHECK("ahci-prdt-oversized-dbc", issue(11, false) && port_ok() && host(DATA)[0] == 3);
	/* header pointing outside RAM */
	build(12, 0x25, 0, 1, false, 1, 512, DATA);
	put32(CLB + 32 * 12 + 8, 0x10);
	put32(CLB + 32 * 12 + 12, 0);
	CHECK("ahci-ctba-outside-ram", issue(12, false) && tf_error(0x04));
	restart_port();
	/* NCQ error, then the NCQ error log names the tag */
	build(13, 0x60, SECTORS, 1, false, 1, 512, DATA);
	CHECK("ahci-ncq-error", issue(13, true) && tf_error(0x10));
	restart_port();
	CHECK("ahci-ncq-error-clears-sact", rd(P0 + 0x34) == 0);
	build(14, 0x2f, 0, 1, false, 1, 512, DATA);
	host(CTBA(14))[4] = 0x10;
	CHECK("ahci-ncq-log", issue(14, false) && port_ok() && host(DATA)[0] == 13 &&
				      host(DATA)[3] == 0x10);
	/* Bus mastering off: no DMA at all, an error instead. */
	cfg_wr(4, PCI_CMD_MEMORY, 2);
	memset(host(DATA), 0xee, 512);
	build(15, 0x25, 1, 1, false, 1, 512, DATA);
	CHECK("ahci-no-bus-master", issue(15, false) && tf_error(0x04) && host(DATA)[0] == 0xee);
	cfg_wr(4, PCI_CMD_MEMORY | PCI_CMD_MASTER, 2);
	restart_port();

	/* State: save, reset, load. */
	{
		struct vmstate s, l;
		uint32_t clb;
		vms_init_save(&s);
		CHECK("ahci-state-save", dev->ops->pause && (dev->ops->pause(dev->state), 1) &&
						 dev->ops->state(dev->state, &s) == 0);
		clb = rd(P0);
		dev->ops->reset(dev->state);
		CHECK("ahci-reset", cfg_rd(4, 2) == 0);
		vms_init_load(&l, s.buf, s.len);
		CHECK("ahci-state-load", dev->ops->state(dev->state, &l) == 0 && rd(P0) == clb &&
						 (rd(P0 + 0x18) & 1));
		vms_init_load(&l, s.buf, s.len / 2);
		CHECK("ahci-state-truncated", dev->ops->state(dev->state, &l) != 0 &&
						      cfg_rd(4, 2) == 0);
		vms_free(&s);
		dev->ops->resume(dev->state);
	}
	dev->ops->destroy(dev->state);
	pci_host_destroy(&vm);
	unlink(img);
	return failures ? 1 : 0;
}
