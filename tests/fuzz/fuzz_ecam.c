/* libFuzzer target for PCI config space and BAR decoding on their own
 * (src/dev/pci.c, included whole to see each function's config bytes):
 * three functions on bus 0 of a two-bus ECAM window (a 32-bit memory BAR
 * and an I/O BAR with a capability whose PMCSR is writable; two 64-bit
 * BARs, one prefetchable; no BAR at all), reached as a driver reaches
 * them: ECAM reads and writes at any bus, slot, function, offset and width
 * (BAR sizing, 64-bit halves, the command register, capabilities, the
 * extended space, slots and buses with nothing there), accesses to the
 * memory, 64-bit and I/O windows, INTx raised and dropped, function
 * resets, and a hostile saved state. After every step:
 *   - read-only bits hold their power-on value (PCI 3.0, 6.1; 6.2.5.1:
 *     the BAR's low bits, the size bits of an unprogrammed BAR);
 *   - the command register's mirror (DMA checks) equals config space;
 *   - a BAR window access reaches the function whose enabled BAR decodes
 *     it, with an offset and size inside that BAR, or nothing at all;
 *   - every interrupt line is "some function on it asserts INTx with
 *     Interrupt Disable clear" (6.2.2), after the swizzle. */
#include <stdlib.h>
#include <string.h>

#include "dev/pci.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ECAM   0x30000000ULL
#define IO     0x03000000ULL
#define MEM    0x40000000ULL
#define MEM64  0x400000000ULL
#define IRQ_BASE 32
#define NFN 3

static struct vm_config cfg;
static struct vm vm;
static struct pci_dev *fn[NFN];
static int asserted[NFN], line_level[4];
static int tags[NFN];

static const struct pci_dev_info infos[NFN] = {
	{ .name = "f0", .vendor = 0x1af4, .device = 0x1000, .class_code = 0x020000, .irq_pin = 1,
	  .bar = { [0] = { PCI_BAR_MEM32, 0x1000, false }, [1] = { PCI_BAR_IO, 32, false } } },
	{ .name = "f1", .vendor = 0x8086, .device = 0x2922, .class_code = 0x010601, .irq_pin = 4,
	  .bar = { [0] = { PCI_BAR_MEM64, 0x4000, true }, [4] = { PCI_BAR_MEM64, 1 << 20, false } } },
	{ .name = "f2", .vendor = 0x1234, .device = 0x5678, .class_code = 0x088000 },
};

static void set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	if (irq < IRQ_BASE || irq >= IRQ_BASE + 4 || (level != 0 && level != 1))
		abort();
	line_level[irq - IRQ_BASE] = level;
}

/* The function behind opaque, and that the access falls inside its BAR. */
static int which(void *opaque, int bar, uint64_t off, unsigned size)
{
	int f = (int *)opaque - tags;
	const struct pci_bar_info *bi;

	if (f < 0 || f >= NFN || bar < 0 || bar >= PCI_NR_BARS)
		abort();
	bi = &infos[f].bar[bar];
	if (bi->kind == PCI_BAR_NONE || off >= bi->size || size > bi->size - off ||
	    !(pci_command(fn[f]) & (bi->kind == PCI_BAR_IO ? PCI_CMD_IO : PCI_CMD_MEMORY)) ||
	    pci_bar_address(fn[f], bar) == 0)
		abort();
	return f;
}

static uint64_t bar_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	return (uint64_t)which(opaque, bar, off, size) << 8 | (uint64_t)bar;
}

static void bar_write(void *opaque, int bar, uint64_t off, uint64_t val, unsigned size)
{
	(void)val;
	which(opaque, bar, off, size);
}

static const struct pci_dev_ops ops = { bar_read, bar_write, NULL };

static void setup(void)
{
	struct pci_host_config pc = {
		.ecam_base = ECAM, .nr_buses = 2, .io_base = IO, .io_size = 0x10000,
		.mem_base = MEM, .mem_size = 0x40000000, .mem64_base = MEM64, .mem64_size = MEM64,
		.irq_base = IRQ_BASE,
	};
	uint8_t pm[6] = { 0x03, 0x00, 0x08, 0x00, 0, 0 };  /* PMC, PMCSR (D0) */
	int at;

	vm.cfg = &cfg;
	vm.set_irq = set_irq;
	if (pci_host_create(&vm, &pc))
		abort();
	for (int i = 0; i < NFN; i++)
		if (pci_register(&vm, &infos[i], &ops, &tags[i], &fn[i]))
			abort();
	at = pci_add_capability(fn[0], PCI_CAP_ID_PM, pm, sizeof(pm));
	if (at < 0)
		abort();
	pci_set_wmask(fn[0], (unsigned)at + 4, 3, 2);
	if (pci_add_capability(fn[0], PCI_CAP_ID_MSI, pm, 200) != -ENOSPC)
		abort();
}

static void check(void)
{
	int want[4] = { 0 };

	for (int f = 0; f < NFN; f++) {
		struct pci_dev *d = fn[f];
		for (unsigned i = 0; i < PCI_CFG_SIZE; i += 8) {
			uint64_t c, p, w;
			memcpy(&c, d->cfg + i, 8);
			memcpy(&p, d->power_on + i, 8);
			memcpy(&w, d->wmask + i, 8);
			if ((c ^ p) & ~w)
				abort();
		}
		if (atomic_load(&d->command) != get_le(d->cfg + PCI_COMMAND, 2))
			abort();
		if (d->info.irq_pin && asserted[f] && !(pci_command(d) & PCI_CMD_INTX_DISABLE))
			want[intx_line(d)] = 1;
		for (int b = 0; b < PCI_NR_BARS; b++) {
			uint64_t a = pci_bar_address(d, b), sz = infos[f].bar[b].size;
			if (infos[f].bar[b].kind != PCI_BAR_NONE && a & (sz - 1))
				abort();  /* a BAR holds only size-aligned addresses */
		}
	}
	for (int l = 0; l < 4; l++)
		if (line_level[l] != want[l] || (unsigned)want[l] != (vm.pci->irq_count[l] > 0))
			abort();
}

/* An ECAM offset: mostly a function that is there (slots 1-3), sometimes
 * slot 0 (empty), another function number, bus 1, or anything. */
static uint64_t ecam_off(unsigned sel, uint32_t v)
{
	uint64_t reg = sel & 0x80 ? v % 4096 : v % 0x48;
	unsigned slot = 1 + sel % 3;

	switch (sel >> 4 & 7) {
	case 0: slot = 0; break;
	case 1: return (1ULL << 20) | (uint64_t)slot << 15 | reg;
	case 2: return (uint64_t)slot << 15 | 1 << 12 | reg;
	case 3: return v % (2ULL << 20);
	default: break;
	}
	return (uint64_t)slot << 15 | reg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vm.pci)
		setup();
	for (int f = 0; f < NFN; f++) {
		pci_set_irq(fn[f], 0);
		asserted[f] = 0;
		pci_dev_reset(fn[f]);
	}
	check();
	/* 8-byte steps: op, selector, value (4), extra (2). */
	for (; size >= 8; data += 8, size -= 8) {
		unsigned op = data[0], sel = data[1], width = 1u << (op >> 4 & 3);
		uint32_t v;
		uint16_t x;
		uint64_t got;
		int f = sel % NFN;

		memcpy(&v, data + 2, 4);
		memcpy(&x, data + 6, 2);
		switch (op & 7) {
		case 0:
			vm_mmio_write(&vm, ECAM + (ecam_off(sel, x) & ~(uint64_t)(width - 1)),
				      width, (uint64_t)v << 32 | v);
			break;
		case 1: {
			uint64_t off = ecam_off(sel, x);
			if (vm_mmio_read(&vm, ECAM + off, width, &got))
				abort();
			/* nothing there: all ones (PCIe 2.3.2) */
			if (width == 4 && !(off & 3) && (off >> 12 & 0x107) == 0 &&
			    (off >> 15 & 31) >= 1 + NFN && got != 0xffffffffu)
				abort();
			if (width == 2 && off == ((uint64_t)(1 + f) << 15) && got != infos[f].vendor)
				abort();
			break;
		}
		case 2: {  /* a memory BAR, or anywhere in a window */
			int b = x % PCI_NR_BARS;
			uint64_t a = pci_bar_address(fn[f], b) + v % 0x2000;
			if (op & 8)
				a = (x & 1 ? MEM64 : MEM) + v;
			if (x & 2)
				vm_mmio_write(&vm, a, width, v);
			else
				(void)vm_mmio_read(&vm, a, width, &got);
			break;
		}
		case 3: {  /* I/O space */
			uint64_t a = IO + ((op & 8) ? v % 0x10000 : (pci_bar_address(fn[0], 1) + v % 64) % 0x10000);
			if (x & 2)
				vm_mmio_write(&vm, a, width, v);
			else
				(void)vm_mmio_read(&vm, a, width, &got);
			break;
		}
		case 4:  /* the driver's BAR sizing, then an address */
			pci_config_write(fn[f], PCI_BAR0 + 4 * (x % 6), ~0u, 4);
			(void)pci_config_read(fn[f], PCI_BAR0 + 4 * (x % 6), 4);
			pci_config_write(fn[f], PCI_BAR0 + 4 * (x % 6), v, 4);
			pci_config_write(fn[f], PCI_COMMAND, x, 2);
			break;
		case 5:
			asserted[f] = (int)(v & 1);
			pci_set_irq(fn[f], asserted[f]);
			break;
		case 6:
			if (op & 8) {
				pci_dev_reset(fn[f]);
				asserted[f] = 0;
			}
			break;
		case 7: {  /* save, mutate, load */
			struct vmstate s, l;
			vms_init_save(&s);
			pci_dev_state(fn[f], &s);
			if (vms_error(&s))
				abort();
			if (s.len)
				s.buf[v % s.len] ^= (uint8_t)x;
			vms_init_load(&l, s.buf, (op & 8) ? s.len : v % (s.len + 1));
			/* as at a restore: the pin is the model's, raised again
			 * from its own state once config space is loaded */
			pci_set_irq(fn[f], 0);
			pci_dev_state(fn[f], &l);
			pci_set_irq(fn[f], asserted[f]);
			vms_free(&s);
			break;
		}
		}
		check();
	}
	return 0;
}
