/* The SiFive CLINT (core-local interruptor): msip per hart at +0,
 * mtimecmp per hart at +0x4000, mtime at +0xbff8, as OpenSBI's ACLINT/CLINT
 * drivers and the RISC-V test suites expect. mtime counts at MTIME_HZ from
 * the host's monotonic clock (the engine's timebase, rv_mtime). The timer
 * compare values are part of each hart's state, as Sstc would have them, so
 * that they travel with the vCPU state. */
#include "board.h"

#define CLINT_MSIP     0x0000
#define CLINT_MTIMECMP 0x4000
#define CLINT_MTIME    0xbff8

static uint64_t clint_read(void *opaque, uint64_t off, unsigned size)
{
	struct rv_cpu *m = opaque;
	uint64_t v = 0;
	unsigned shift = (off & 4) * 8;

	if (off < CLINT_MSIP + 4 * (uint64_t)m->nr_harts && size == 4) {
		struct hart *h = m->harts[off / 4];
		return (atomic_load(&h->mip) & MIP_MSIP) ? 1 : 0;
	}
	if (off >= CLINT_MTIMECMP && off < CLINT_MTIMECMP + 8 * (uint64_t)m->nr_harts)
		v = m->harts[(off - CLINT_MTIMECMP) / 8]->timecmp;
	else if (off >= CLINT_MTIME && off < CLINT_MTIME + 8)
		v = rv_mtime(m);
	else
		return 0;
	return size == 8 ? v : (uint32_t)(v >> shift);
}

static void clint_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct rv_cpu *m = opaque;
	unsigned shift = (off & 4) * 8;

	if (off < CLINT_MSIP + 4 * (uint64_t)m->nr_harts) {
		if (size == 4 && !(off & 3))
			hart_set_mip(m->harts[off / 4], MIP_MSIP, val & 1);
		return;
	}
	if (off >= CLINT_MTIMECMP && off < CLINT_MTIMECMP + 8 * (uint64_t)m->nr_harts) {
		struct hart *h = m->harts[(off - CLINT_MTIMECMP) / 8];
		if (size == 8)
			h->timecmp = val;
		else
			h->timecmp = (h->timecmp & ~(0xffffffffULL << shift)) |
				     ((val & 0xffffffffULL) << shift);
		rv_update_timers(m);
		/* a hart asleep in WFI sleeps until its old deadline */
		rv_hart_kick(h);
		return;
	}
	if (off >= CLINT_MTIME && off < CLINT_MTIME + 8) {
		/* writing mtime moves the timebase so that it reads back val */
		uint64_t now = rv_mtime(m), want = val;
		if (size != 8)
			want = (now & ~(0xffffffffULL << shift)) | ((val & 0xffffffffULL) << shift);
		rv_set_mtime(m, want);
		rv_update_timers(m);
	}
}

static const struct mmio_ops clint_ops = {
	.read = clint_read,
	.write = clint_write,
};

static void clint_fdt(void *fdt, void *opaque);

int clint_create(struct rv_cpu *m, uint64_t base)
{
	struct dev_desc d = {
		.node_name = "clint",
		.compatible = "sifive,clint0\0riscv,clint0",
		.compatible_len = sizeof("sifive,clint0\0riscv,clint0"),
		.base = base,
		.size = BOARD_CLINT_SIZE,
		.irq = -1,
		.fdt_extra = clint_fdt,
		.opaque = m,
	};
	int err = vm_add_mmio(m->vm, base, BOARD_CLINT_SIZE, &clint_ops, m, "clint");

	return err ? err : vm_describe(m->vm, &d);
}

#include <libfdt.h>

/* interrupts-extended: each hart's MSI (3) and MTI (7) */
static void clint_fdt(void *fdt, void *opaque)
{
	struct rv_cpu *m = opaque;
	fdt32_t cells[MAX_HARTS * 4];

	for (int i = 0; i < m->nr_harts; i++) {
		cells[4 * i + 0] = cpu_to_fdt32(BOARD_INTC_PHANDLE(i));
		cells[4 * i + 1] = cpu_to_fdt32(3);
		cells[4 * i + 2] = cpu_to_fdt32(BOARD_INTC_PHANDLE(i));
		cells[4 * i + 3] = cpu_to_fdt32(7);
	}
	fdt_property(fdt, "interrupts-extended", cells, m->nr_harts * 4 * sizeof(fdt32_t));
}
