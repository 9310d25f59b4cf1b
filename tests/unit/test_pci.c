/* The PCI host bridge and config space against a RAM array: ECAM decoding,
 * BAR sizing and decoding in each window, the command register (memory,
 * I/O, bus master, interrupt disable), the INTx swizzle onto shared lines,
 * the capability list, reset and a hostile state load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/pci.h"
#include "vm.h"
#include "vmstate.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (1ULL << 20)
#define ECAM 0x30000000ULL
#define IOW 0x03000000ULL
#define MEMW 0x40000000ULL
#define MEM64W 0x400000000ULL

#include "check.h"

static int line_level[64];

static void fake_set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	if (irq < 64)
		line_level[irq] = level;
}

static struct vm_config cfg;
static struct vm vm;

struct fake {
	int last_bar;
	uint64_t last_off, last_val;
	unsigned writes;
	uint16_t cmd_seen;
};

static uint64_t fake_read(void *o, int bar, uint64_t off, unsigned size)
{
	struct fake *f = o;

	(void)size;
	f->last_bar = bar;
	f->last_off = off;
	return 0x1000u * (unsigned)bar + off;
}

static void fake_write(void *o, int bar, uint64_t off, uint64_t val, unsigned size)
{
	struct fake *f = o;

	(void)size;
	f->last_bar = bar;
	f->last_off = off;
	f->last_val = val;
	f->writes++;
}

static void fake_cmd(void *o, uint16_t old, uint16_t cmd)
{
	struct fake *f = o;

	(void)old;
	f->cmd_seen = cmd;
}

static const struct pci_dev_ops fake_ops = { fake_read, fake_write, fake_cmd };

static uint64_t mrd(uint64_t pa, unsigned size)
{
	uint64_t v = 0;

	if (vm_mmio_read(&vm, pa, size, &v))
		return 0xdeadULL;
	return v;
}

static void mwr(uint64_t pa, uint64_t v, unsigned size)
{
	vm_mmio_write(&vm, pa, size, v);
}

static uint64_t cfga(int slot, unsigned off)
{
	return ECAM + ((uint64_t)slot << 15) + off;
}

int main(void)
{
	struct pci_host_config pc = {
		.ecam_base = ECAM, .nr_buses = 256, .io_base = IOW, .io_size = 0x10000,
		.mem_base = MEMW, .mem_size = 0x40000000, .mem64_base = MEM64W,
		.mem64_size = 0x400000000ULL, .irq_base = 32, .irq_parent = 0x20,
	};
	struct pci_dev_info info = {
		.name = "fake", .vendor = 0x8086, .device = 0x2922, .subsys_vendor = 0x1af4,
		.subsys = 0x1100, .revision = 2, .class_code = 0x010601, .irq_pin = 1,
		.bar = { [0] = { PCI_BAR_MEM32, 4096, false },
			 [1] = { PCI_BAR_IO, 32, false },
			 [2] = { PCI_BAR_MEM64, 0x4000, true } },
	};
	struct pci_dev_info info2 = info;
	struct fake f = { 0 }, f2 = { 0 };
	struct pci_dev *d, *d2, *extra[40];
	uint8_t pm[6] = { 0x03, 0x00, 0x08, 0x00, 0x00, 0x00 }, buf[16];
	struct vmstate s;
	int cap, n;

	vm.cfg = &cfg;
	vm.set_irq = fake_set_irq;
	if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE)) {
		printf("FAIL pci-setup: cannot map RAM\n");
		return 1;
	}
	CHECK("pci-no-bus", pci_register(&vm, &info, &fake_ops, &f, &d) == -ENODEV);
	CHECK("pci-host-create", pci_host_create(&vm, &pc) == 0 && vm.pci && vm.nr_desc == 1 &&
					 !strcmp(vm.desc[0].compatible, "pci-host-ecam-generic") &&
					 vm.desc[0].base == ECAM && vm.desc[0].size == 256ULL << 20);
	info2.bar[3] = (struct pci_bar_info){ PCI_BAR_MEM32, 100, false };
	CHECK("pci-bad-bar-size", pci_register(&vm, &info2, &fake_ops, &f2, &d2) == -EINVAL);
	info2 = info;
	info2.bar[5] = (struct pci_bar_info){ PCI_BAR_MEM64, 4096, false };
	CHECK("pci-bad-bar64-last", pci_register(&vm, &info2, &fake_ops, &f2, &d2) == -EINVAL);
	CHECK("pci-register", pci_register(&vm, &info, &fake_ops, &f, &d) == 0 && pci_slot(d) == 1);
	cap = pci_add_capability(d, PCI_CAP_ID_PM, pm, sizeof(pm));
	CHECK("pci-cap-add", cap == 0x40);
	CHECK("pci-cap-add2", pci_add_capability(d, PCI_CAP_ID_SATA, pm, 2) == 0x48);

	/* Identity, empty slots and functions read all ones. */
	CHECK("pci-ids", mrd(cfga(1, 0), 4) == 0x29228086 && mrd(cfga(1, 2), 2) == 0x2922);
	CHECK("pci-class", mrd(cfga(1, 8), 4) == 0x01060102);
	CHECK("pci-subsys", mrd(cfga(1, 0x2c), 4) == 0x11001af4);
	CHECK("pci-empty-slot", mrd(cfga(0, 0), 4) == 0xffffffff && mrd(cfga(5, 0), 2) == 0xffff);
	CHECK("pci-other-fn", mrd(cfga(1, 0x1000), 4) == 0xffffffff);
	CHECK("pci-other-bus", mrd(ECAM + (1ULL << 20) + (1 << 15), 4) == 0xffffffff);
	CHECK("pci-ext-space", mrd(cfga(1, 0x100), 4) == 0);
	CHECK("pci-unaligned", mrd(cfga(1, 1), 2) == 0xffff && mrd(cfga(1, 2), 4) == 0xffffffff);
	CHECK("pci-pin", mrd(cfga(1, PCI_INTERRUPT_PIN), 1) == 1);
	mwr(cfga(1, 0), 0x12345678, 4);
	mwr(cfga(1, PCI_INTERRUPT_PIN), 3, 1);
	CHECK("pci-ro-ids", mrd(cfga(1, 0), 4) == 0x29228086 &&
				    mrd(cfga(1, PCI_INTERRUPT_PIN), 1) == 1);
	mwr(cfga(1, PCI_INTERRUPT_LINE), 33, 1);
	CHECK("pci-line-rw", mrd(cfga(1, PCI_INTERRUPT_LINE), 1) == 33);

	/* Capability list: status bit, pointer, chain, end. */
	CHECK("pci-cap-status", mrd(cfga(1, PCI_STATUS), 2) & PCI_STATUS_CAP_LIST);
	CHECK("pci-cap-chain", mrd(cfga(1, PCI_CAP_PTR), 1) == 0x40 && mrd(cfga(1, 0x40), 1) == 1 &&
				       mrd(cfga(1, 0x41), 1) == 0x48 && mrd(cfga(1, 0x48), 1) == 0x12 &&
				       mrd(cfga(1, 0x49), 1) == 0 && mrd(cfga(1, 0x42), 2) == 0x0003);
	mwr(cfga(1, 0x42), 0xffff, 2);
	CHECK("pci-cap-ro", mrd(cfga(1, 0x42), 2) == 0x0003);
	pci_set_wmask(d, 0x44, 0x0003, 2);
	mwr(cfga(1, 0x44), 0xffff, 2);
	CHECK("pci-cap-wmask", mrd(cfga(1, 0x44), 2) == 0x000b);  /* 0x08 kept, bits 0-1 written */

	/* BAR sizing (6.2.5.1): all ones in, the size mask and flags out. */
	mwr(cfga(1, 0x10), 0xffffffff, 4);
	CHECK("pci-bar0-size", mrd(cfga(1, 0x10), 4) == 0xfffff000);
	mwr(cfga(1, 0x14), 0xffffffff, 4);
	CHECK("pci-bar1-io-size", mrd(cfga(1, 0x14), 4) == 0xffffffe1);
	mwr(cfga(1, 0x18), 0xffffffff, 4);
	mwr(cfga(1, 0x1c), 0xffffffff, 4);
	CHECK("pci-bar2-64-size", mrd(cfga(1, 0x18), 4) == 0xffffc00c && mrd(cfga(1, 0x1c), 4) == 0xffffffff);
	mwr(cfga(1, 0x20), 0xffffffff, 4);
	CHECK("pci-bar4-absent", mrd(cfga(1, 0x20), 4) == 0);
	mwr(cfga(1, 0x30), 0xffffffff, 4);
	CHECK("pci-no-rom", mrd(cfga(1, 0x30), 4) == 0);

	/* Assign, then decoding waits for the command register. */
	mwr(cfga(1, 0x10), 0x40001000, 4);
	mwr(cfga(1, 0x14), 0x1020, 4);
	mwr(cfga(1, 0x18), 0x00000000, 4);
	mwr(cfga(1, 0x1c), 0x4, 4);
	CHECK("pci-bar-addr", pci_bar_address(d, 0) == 0x40001000 && pci_bar_address(d, 1) == 0x1020 &&
				      pci_bar_address(d, 2) == 0x400000000ULL);
	CHECK("pci-mem-off", mrd(0x40001010, 4) == 0xffffffff && f.last_off == 0);
	mwr(cfga(1, PCI_COMMAND), PCI_CMD_MEMORY, 2);
	CHECK("pci-cmd-callback", f.cmd_seen == PCI_CMD_MEMORY);
	CHECK("pci-mem-bar0", mrd(0x40001010, 4) == 0x10 && f.last_bar == 0 && f.last_off == 0x10);
	CHECK("pci-mem-bar0-edge", mrd(0x40001ffc, 4) == 0xffc && mrd(0x40001ffe, 4) == 0xffffffff);
	CHECK("pci-mem-unclaimed", mrd(0x40003000, 4) == 0xffffffff);
	CHECK("pci-mem64-bar2", mrd(0x400000008ULL, 8) == 0x2008 && f.last_bar == 2);
	CHECK("pci-io-off", mrd(IOW + 0x1024, 2) == 0xffff);
	mwr(cfga(1, PCI_COMMAND), PCI_CMD_MEMORY | PCI_CMD_IO, 2);
	CHECK("pci-io-bar1", mrd(IOW + 0x1024, 2) == 0x1004 && f.last_bar == 1);
	mwr(0x40001100, 0xabcd, 4);
	CHECK("pci-mem-write", f.writes == 1 && f.last_off == 0x100 && f.last_val == 0xabcd);
	mwr(cfga(1, PCI_COMMAND), 0xffff, 2);
	CHECK("pci-cmd-mask", mrd(cfga(1, PCI_COMMAND), 2) == 0x0547);

	/* Bus master gates DMA; the range check covers the whole transfer. */
	mwr(cfga(1, PCI_COMMAND), PCI_CMD_MEMORY, 2);
	CHECK("pci-dma-no-master", pci_dma_read(d, RAM_BASE, buf, 4) == -EPERM &&
					   pci_dma_write(d, RAM_BASE, buf, 4) == -EPERM &&
					   !pci_dma_ptr(d, RAM_BASE, 4));
	mwr(cfga(1, PCI_COMMAND), PCI_CMD_MEMORY | PCI_CMD_MASTER, 2);
	memcpy(buf, "abcd", 4);
	CHECK("pci-dma-write", pci_dma_write(d, RAM_BASE + 8, buf, 4) == 0 &&
				       !memcmp(vm.mem.region[0].host + 8, "abcd", 4));
	CHECK("pci-dma-read", pci_dma_read(d, RAM_BASE + 8, buf + 4, 4) == 0 && !memcmp(buf + 4, "abcd", 4));
	CHECK("pci-dma-outside", pci_dma_read(d, RAM_BASE + RAM_SIZE - 2, buf, 4) == -EFAULT &&
					 pci_dma_write(d, 0x1000, buf, 4) == -EFAULT &&
					 pci_dma_read(d, ~0ULL - 1, buf, 4) == -EFAULT &&
					 !pci_dma_ptr(d, RAM_BASE + RAM_SIZE - 2, 4));

	/* INTA of slot 1 is line 1 of the swizzle: source 33. */
	pci_set_irq(d, 1);
	CHECK("pci-intx-raise", line_level[33] == 1 && line_level[32] == 0 &&
					(mrd(cfga(1, PCI_STATUS), 2) & PCI_STATUS_INTX));
	mwr(cfga(1, PCI_COMMAND), PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE, 2);
	CHECK("pci-intx-disable", line_level[33] == 0 && (mrd(cfga(1, PCI_STATUS), 2) & PCI_STATUS_INTX));
	mwr(cfga(1, PCI_COMMAND), PCI_CMD_MEMORY | PCI_CMD_MASTER, 2);
	CHECK("pci-intx-enable", line_level[33] == 1);

	/* A second function with INTD in slot 2 shares line (2+3)%4 = 1. */
	info2 = info;
	info2.irq_pin = 4;
	CHECK("pci-register2", pci_register(&vm, &info2, &fake_ops, &f2, &d2) == 0 && pci_slot(d2) == 2);
	mwr(cfga(2, PCI_COMMAND), PCI_CMD_MEMORY, 2);
	pci_set_irq(d2, 1);
	pci_set_irq(d, 0);
	CHECK("pci-intx-shared", line_level[33] == 1);
	pci_set_irq(d2, 1);
	pci_set_irq(d2, 0);
	CHECK("pci-intx-shared-low", line_level[33] == 0);
	/* Overlapping BARs: the first slot wins, nothing crashes. */
	mwr(cfga(2, 0x10), 0x40001000, 4);
	CHECK("pci-overlap", mrd(0x40001004, 4) == 4 && f.last_off == 4);

	/* State round trip, then a load cannot write read-only bits. */
	vms_init_save(&s);
	pci_dev_state(d, &s);
	CHECK("pci-state-save", vms_error(&s) == 0 && s.len > 256);
	pci_dev_reset(d);
	CHECK("pci-reset", mrd(cfga(1, PCI_COMMAND), 2) == 0 && pci_bar_address(d, 0) == 0 &&
				   mrd(cfga(1, 0), 4) == 0x29228086 && mrd(cfga(1, 0x41), 1) == 0x48);
	{
		struct vmstate l;
		vms_init_load(&l, s.buf, s.len);
		pci_dev_state(d, &l);
		CHECK("pci-state-load", vms_error(&l) == 0 && pci_bar_address(d, 0) == 0x40001000 &&
						pci_command(d) == (PCI_CMD_MEMORY | PCI_CMD_MASTER));
		/* hostile: vendor id and capability pointer overwritten */
		s.buf[4] = 0xff;
		s.buf[4 + 0x34] = 0x99;
		s.buf[4 + 0x0e] = 0x80;
		vms_init_load(&l, s.buf, s.len);
		pci_dev_state(d, &l);
		CHECK("pci-state-hostile", mrd(cfga(1, 0), 4) == 0x29228086 &&
						   mrd(cfga(1, PCI_CAP_PTR), 1) == 0x40 &&
						   mrd(cfga(1, PCI_HEADER_TYPE), 1) == 0);
		vms_init_load(&l, s.buf, 10);
		pci_dev_state(d, &l);
		CHECK("pci-state-truncated", vms_error(&l) != 0 && mrd(cfga(1, 0), 4) == 0x29228086);
	}
	vms_free(&s);

	/* The bus fills up: 31 slots. */
	for (n = 0; n < 40; n++)
		if (pci_register(&vm, &info, &fake_ops, &f2, &extra[n]))
			break;
	CHECK("pci-bus-full", n == 29);
	while (n--)
		pci_unregister(extra[n]);
	pci_unregister(d2);
	CHECK("pci-unregister", mrd(cfga(2, 0), 4) == 0xffffffff);
	pci_unregister(d);
	pci_host_destroy(&vm);
	CHECK("pci-host-destroy", vm.pci == NULL);
	gmem_free(&vm.mem);
	return failures ? 1 : 0;
}
