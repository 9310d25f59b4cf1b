/* The PCI Express host bridge and bus 0 (pci.h): the ECAM config window,
 * the I/O, 32-bit and 64-bit memory windows decoded to the BARs the driver
 * programmed, INTx swizzled onto four interrupt lines, and the device-tree
 * node Linux's pci-host-ecam-generic driver binds to. */
#include <libfdt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm.h"
#include "../vmstate.h"
#include "pci.h"

struct pci_dev {
	struct pci_bus *bus;
	int slot;
	struct pci_dev_info info;
	const struct pci_dev_ops *ops;
	void *opaque;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];     /* driver-writable bits */
	uint8_t power_on[PCI_CFG_SIZE];  /* cfg as registered, for reset */
	uint8_t cap_end;                 /* next free capability offset */
	uint8_t last_cap;                /* offset of the last capability, 0 none */
	_Atomic uint16_t command;        /* mirror of cfg[4..5] for DMA checks */
	_Atomic int irq_level;
};

struct pci_bus {
	struct vm *vm;
	struct pci_host_config cfg;
	pthread_rwlock_t lock;           /* slots and BAR addresses */
	struct pci_dev *slot[PCI_MAX_SLOTS];
	pthread_mutex_t irq_lock;
	unsigned irq_count[4];           /* asserting functions per line */
};

static uint32_t get_le(const uint8_t *p, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, uint32_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* --- interrupts ----------------------------------------------------------- */

/* The standard swizzle (PCI-to-PCI Bridge 1.2, 9.1): pin INTx of slot s
 * arrives on line (s + x) mod 4 of the root. */
static unsigned intx_line(const struct pci_dev *d)
{
	return ((unsigned)d->slot + d->info.irq_pin - 1) % 4;
}

/* The pin as the bus sees it: asserted and not masked by Interrupt
 * Disable (6.2.2). Called with irq_lock held. */
static void update_line(struct pci_dev *d, int old_out, int new_out)
{
	struct pci_bus *b = d->bus;
	unsigned line = intx_line(d);
	struct irq_line l;

	if (old_out == new_out)
		return;
	if (new_out)
		b->irq_count[line]++;
	else if (b->irq_count[line])
		b->irq_count[line]--;
	l = vm_irq_line(b->vm, b->cfg.irq_base + line);
	irq_set_level(&l, b->irq_count[line] > 0);
}

static int pin_out(int level, uint16_t cmd)
{
	return level && !(cmd & PCI_CMD_INTX_DISABLE);
}

void pci_set_irq(struct pci_dev *d, int level)
{
	struct pci_bus *b = d->bus;
	uint16_t cmd;
	int old;

	if (!d->info.irq_pin || !b)
		return;
	level = !!level;
	pthread_mutex_lock(&b->irq_lock);
	cmd = atomic_load(&d->command);
	old = atomic_exchange(&d->irq_level, level);
	update_line(d, pin_out(old, cmd), pin_out(level, cmd));
	pthread_mutex_unlock(&b->irq_lock);
}

/* --- config space --------------------------------------------------------- */

static bool bar_is_upper_half(const struct pci_dev *d, int bar)
{
	return bar > 0 && d->info.bar[bar - 1].kind == PCI_BAR_MEM64;
}

static uint32_t bar_flags(const struct pci_bar_info *bi)
{
	switch (bi->kind) {
	case PCI_BAR_IO:
		return 1;
	case PCI_BAR_MEM64:
		return 4 | (bi->prefetchable ? 8 : 0);
	case PCI_BAR_MEM32:
		return bi->prefetchable ? 8 : 0;
	default:
		return 0;
	}
}

/* Lay out the power-on header: identity, BAR flags, which bits the driver
 * may write (6.2: read-only bits ignore writes). */
static void build_config(struct pci_dev *d)
{
	const struct pci_dev_info *in = &d->info;
	uint8_t *c = d->cfg, *w = d->wmask;

	memset(c, 0, PCI_CFG_SIZE);
	memset(w, 0, PCI_CFG_SIZE);
	put_le(c + PCI_VENDOR_ID, in->vendor, 2);
	put_le(c + PCI_DEVICE_ID, in->device, 2);
	put_le(c + PCI_REVISION_ID, in->revision, 1);
	put_le(c + PCI_CLASS_PROG, in->class_code, 3);
	put_le(c + PCI_SUBSYS_VENDOR, in->subsys_vendor, 2);
	put_le(c + PCI_SUBSYS_ID, in->subsys, 2);
	c[PCI_INTERRUPT_PIN] = in->irq_pin;
	put_le(w + PCI_COMMAND, PCI_CMD_IO | PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_PARITY |
				       PCI_CMD_SERR | PCI_CMD_INTX_DISABLE, 2);
	w[PCI_CACHE_LINE_SIZE] = 0xff;
	w[PCI_LATENCY_TIMER] = 0xff;
	w[PCI_INTERRUPT_LINE] = 0xff;
	for (int i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar_info *bi = &in->bar[i];
		uint64_t mask = bi->size ? ~(bi->size - 1) : 0;
		if (bi->kind == PCI_BAR_NONE) {
			if (bar_is_upper_half(d, i))
				put_le(w + PCI_BAR0 + 4 * i, (uint32_t)(~(in->bar[i - 1].size - 1) >> 32), 4);
			continue;
		}
		put_le(c + PCI_BAR0 + 4 * i, bar_flags(bi), 4);
		put_le(w + PCI_BAR0 + 4 * i, (uint32_t)mask & (bi->kind == PCI_BAR_IO ? ~3u : ~15u), 4);
	}
}

uint16_t pci_command(const struct pci_dev *d)
{
	return atomic_load(&d->command);
}

int pci_slot(const struct pci_dev *d)
{
	return d->slot;
}

uint64_t pci_bar_address(const struct pci_dev *d, int bar)
{
	uint64_t v;

	if (bar < 0 || bar >= PCI_NR_BARS)
		return 0;
	v = get_le(d->cfg + PCI_BAR0 + 4 * bar, 4);
	switch (d->info.bar[bar].kind) {
	case PCI_BAR_IO:
		return v & ~3ULL;
	case PCI_BAR_MEM32:
		return v & ~15ULL;
	case PCI_BAR_MEM64:
		if (bar + 1 < PCI_NR_BARS)
			v |= (uint64_t)get_le(d->cfg + PCI_BAR0 + 4 * (bar + 1), 4) << 32;
		return v & ~15ULL;
	default:
		return 0;
	}
}

uint32_t pci_config_read(struct pci_dev *d, unsigned off, unsigned size)
{
	uint32_t v;

	if ((size != 1 && size != 2 && size != 4) || off % size)
		return ~0u;
	if (off >= PCI_CFG_SIZE)
		return 0;  /* no extended capabilities (PCIe 7.6.3: header 0 ends the list) */
	v = get_le(d->cfg + off, size);
	/* Status bit 3 mirrors the pin whatever Interrupt Disable says. */
	if (off <= PCI_STATUS && PCI_STATUS < off + size && atomic_load(&d->irq_level))
		v |= (uint32_t)PCI_STATUS_INTX << (8 * (PCI_STATUS - off));
	return v;
}

void pci_config_write(struct pci_dev *d, unsigned off, uint32_t val, unsigned size)
{
	struct pci_bus *b = d->bus;
	uint16_t old_cmd, new_cmd;

	if ((size != 1 && size != 2 && size != 4) || off % size || off >= PCI_CFG_SIZE)
		return;
	if (b)
		pthread_rwlock_wrlock(&b->lock);
	old_cmd = (uint16_t)get_le(d->cfg + PCI_COMMAND, 2);
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = d->wmask[off + i], v = (uint8_t)(val >> (8 * i));
		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~m) | (v & m));
	}
	new_cmd = (uint16_t)get_le(d->cfg + PCI_COMMAND, 2);
	if (b)
		pthread_mutex_lock(&b->irq_lock);
	atomic_store(&d->command, new_cmd);
	if (b) {
		int lvl = atomic_load(&d->irq_level);
		if (d->info.irq_pin)
			update_line(d, pin_out(lvl, old_cmd), pin_out(lvl, new_cmd));
		pthread_mutex_unlock(&b->irq_lock);
		pthread_rwlock_unlock(&b->lock);
	}
	if (off < PCI_COMMAND + 2 && off + size > PCI_COMMAND && d->ops->command_written)
		d->ops->command_written(d->opaque, old_cmd, new_cmd);
}

int pci_add_capability(struct pci_dev *d, uint8_t id, const void *body, size_t len)
{
	unsigned at = d->cap_end ? d->cap_end : 0x40;

	/* dword aligned, inside the conventional space (6.7) */
	if (len > PCI_CFG_SIZE - 2 || at + 2 + len > PCI_CFG_SIZE)
		return -ENOSPC;
	d->cfg[at] = id;
	d->cfg[at + 1] = 0;
	memcpy(d->cfg + at + 2, body, len);
	if (d->last_cap)
		d->cfg[d->last_cap + 1] = (uint8_t)at;
	else
		d->cfg[PCI_CAP_PTR] = (uint8_t)at;
	put_le(d->cfg + PCI_STATUS, get_le(d->cfg + PCI_STATUS, 2) | PCI_STATUS_CAP_LIST, 2);
	d->last_cap = (uint8_t)at;
	d->cap_end = (uint8_t)((at + 2 + len + 3) & ~3u);
	memcpy(d->power_on, d->cfg, PCI_CFG_SIZE);
	return (int)at;
}

void pci_set_wmask(struct pci_dev *d, unsigned off, uint32_t mask, unsigned size)
{
	if (size > 4 || off >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - off)
		return;
	put_le(d->wmask + off, mask, size);
}

void pci_dev_reset(struct pci_dev *d)
{
	struct pci_bus *b = d->bus;

	if (b)
		pthread_rwlock_wrlock(&b->lock);
	memcpy(d->cfg, d->power_on, PCI_CFG_SIZE);
	if (b)
		pthread_mutex_lock(&b->irq_lock);
	{
		uint16_t old = atomic_exchange(&d->command, 0);
		int lvl = atomic_exchange(&d->irq_level, 0);
		if (b && d->info.irq_pin)
			update_line(d, pin_out(lvl, old), 0);
	}
	if (b) {
		pthread_mutex_unlock(&b->irq_lock);
		pthread_rwlock_unlock(&b->lock);
	}
}

/* Only the driver-writable bits are state; a load applies them through the
 * write mask, as a driver's writes would be. The INTx level belongs to the
 * device model, which raises it again from its own state. */
void pci_dev_state(struct pci_dev *d, struct vmstate *s)
{
	uint8_t cfg[PCI_CFG_SIZE];

	if (vms_version(s, 1) < 0)
		return;
	memcpy(cfg, d->cfg, sizeof(cfg));
	vms_bytes(s, cfg, sizeof(cfg));
	if (!s->loading || vms_error(s))
		return;
	for (unsigned i = 0; i < PCI_CFG_SIZE; i++)
		d->cfg[i] = (uint8_t)((d->power_on[i] & ~d->wmask[i]) | (cfg[i] & d->wmask[i]));
	atomic_store(&d->command, (uint16_t)get_le(d->cfg + PCI_COMMAND, 2));
}

/* --- DMA ---------------------------------------------------------------- */

static bool bus_master(const struct pci_dev *d)
{
	return atomic_load(&d->command) & PCI_CMD_MASTER;
}

static struct guest_mem *dev_mem(struct pci_dev *d)
{
	return &d->bus->vm->mem;
}

int pci_dma_read(struct pci_dev *d, uint64_t addr, void *buf, uint64_t len)
{
	if (!bus_master(d))
		return -EPERM;
	return gmem_read(dev_mem(d), addr, buf, len) ? -EFAULT : 0;
}

int pci_dma_write(struct pci_dev *d, uint64_t addr, const void *buf, uint64_t len)
{
	if (!bus_master(d))
		return -EPERM;
	return gmem_write(dev_mem(d), addr, buf, len) ? -EFAULT : 0;
}

void *pci_dma_ptr(struct pci_dev *d, uint64_t addr, uint64_t len)
{
	if (!bus_master(d) || len == 0)
		return NULL;
	return gmem_ptr(dev_mem(d), addr, len);
}

void pci_dma_written(struct pci_dev *d, uint64_t addr, uint64_t len)
{
	gmem_dma_written(dev_mem(d), addr, len);
}

/* --- the host's windows --------------------------------------------------- */

static uint64_t ecam_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *b = opaque;
	unsigned busno = (unsigned)(off >> 20), slot = (off >> 15) & 31, fn = (off >> 12) & 7;
	struct pci_dev *d;
	uint64_t v = ~0ULL;

	if (size == 8)  /* two dwords, as a 64-bit CPU access splits */
		return ecam_read(b, off, 4) | ecam_read(b, off + 4, 4) << 32;
	pthread_rwlock_rdlock(&b->lock);
	d = busno == 0 && fn == 0 ? b->slot[slot] : NULL;
	/* No function there: the read completes with all ones (PCIe 2.3.2). */
	if (d)
		v = pci_config_read(d, off & 0xfff, size);
	pthread_rwlock_unlock(&b->lock);
	return v;
}

static void ecam_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bus *b = opaque;
	unsigned busno = (unsigned)(off >> 20), slot = (off >> 15) & 31, fn = (off >> 12) & 7;
	struct pci_dev *d;

	if (size == 8) {
		ecam_write(b, off, (uint32_t)val, 4);
		ecam_write(b, off + 4, val >> 32, 4);
		return;
	}
	/* Slots change only at start-up and tear-down, never while the
	 * guest runs, so the pointer is safe without the lock. */
	d = busno == 0 && fn == 0 ? b->slot[slot] : NULL;
	if (d)
		pci_config_write(d, off & 0xfff, (uint32_t)val, size);
}

/* The BAR that decodes PCI address addr of the given space, with the
 * offset inside it. Read lock held. */
static struct pci_dev *decode(struct pci_bus *b, bool io, uint64_t addr, unsigned size,
			      int *bar, uint64_t *off)
{
	for (int s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = b->slot[s];
		uint16_t cmd;
		if (!d)
			continue;
		cmd = atomic_load(&d->command);
		if (!(cmd & (io ? PCI_CMD_IO : PCI_CMD_MEMORY)))
			continue;
		for (int i = 0; i < PCI_NR_BARS; i++) {
			const struct pci_bar_info *bi = &d->info.bar[i];
			uint64_t base;
			if (bi->kind == PCI_BAR_NONE || (bi->kind == PCI_BAR_IO) != io)
				continue;
			base = pci_bar_address(d, i);
			/* An unassigned BAR (0) decodes nothing. */
			if (base == 0 || addr < base || addr - base >= bi->size ||
			    size > bi->size - (addr - base))
				continue;
			*bar = i;
			*off = addr - base;
			return d;
		}
	}
	return NULL;
}

static uint64_t window_read(struct pci_bus *b, bool io, uint64_t addr, unsigned size)
{
	struct pci_dev *d;
	uint64_t off, v = ~0ULL;
	int bar;

	pthread_rwlock_rdlock(&b->lock);
	d = decode(b, io, addr, size, &bar, &off);
	if (d)
		v = d->ops->bar_read ? d->ops->bar_read(d->opaque, bar, off, size) : 0;
	pthread_rwlock_unlock(&b->lock);
	return v;
}

static void window_write(struct pci_bus *b, bool io, uint64_t addr, uint64_t val, unsigned size)
{
	struct pci_dev *d;
	uint64_t off;
	int bar;

	pthread_rwlock_rdlock(&b->lock);
	d = decode(b, io, addr, size, &bar, &off);
	if (d && d->ops->bar_write)
		d->ops->bar_write(d->opaque, bar, off, val, size);
	pthread_rwlock_unlock(&b->lock);
}

static uint64_t io_read(void *o, uint64_t off, unsigned size)
{
	return window_read(o, true, off, size);
}

static void io_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
	window_write(o, true, off, val, size);
}

static uint64_t mem_read(void *o, uint64_t off, unsigned size)
{
	struct pci_bus *b = o;

	return window_read(b, false, b->cfg.mem_base + off, size);
}

static void mem_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bus *b = o;

	window_write(b, false, b->cfg.mem_base + off, val, size);
}

static uint64_t mem64_read(void *o, uint64_t off, unsigned size)
{
	struct pci_bus *b = o;

	return window_read(b, false, b->cfg.mem64_base + off, size);
}

static void mem64_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
	struct pci_bus *b = o;

	window_write(b, false, b->cfg.mem64_base + off, val, size);
}

static const struct mmio_ops ecam_ops = { ecam_read, ecam_write };
static const struct mmio_ops io_ops = { io_read, io_write };
static const struct mmio_ops mem_ops = { mem_read, mem_write };
static const struct mmio_ops mem64_ops = { mem64_read, mem64_write };

/* --- device tree (Documentation/devicetree/bindings/pci/host-generic-pci.yaml) */

#define FDT_OK(x) do { if ((x) < 0) warn("pci: device tree: %s failed", #x); } while (0)

static void put_cells(fdt32_t *c, uint64_t v)
{
	c[0] = cpu_to_fdt32((uint32_t)(v >> 32));
	c[1] = cpu_to_fdt32((uint32_t)v);
}

static void host_fdt(void *fdt, void *opaque)
{
	struct pci_bus *b = opaque;
	const struct pci_host_config *c = &b->cfg;
	fdt32_t ranges[3 * 7], map[4 * 4 * 6], mask[4], busr[2];
	int n = 0;

	FDT_OK(fdt_property_string(fdt, "device_type", "pci"));
	FDT_OK(fdt_property_u32(fdt, "#address-cells", 3));
	FDT_OK(fdt_property_u32(fdt, "#size-cells", 2));
	FDT_OK(fdt_property_u32(fdt, "#interrupt-cells", 1));
	FDT_OK(fdt_property_u32(fdt, "linux,pci-domain", 0));
	FDT_OK(fdt_property(fdt, "dma-coherent", NULL, 0));
	busr[0] = cpu_to_fdt32(0);
	busr[1] = cpu_to_fdt32(c->nr_buses - 1);
	FDT_OK(fdt_property(fdt, "bus-range", busr, sizeof(busr)));
	/* ranges: (phys.hi, PCI address, CPU address, size); phys.hi space
	 * code 1 = I/O, 2 = 32-bit memory, 3 = 64-bit memory (IEEE 1275 PCI
	 * binding, 2.2.1.1). */
	ranges[n++] = cpu_to_fdt32(0x01000000);
	put_cells(ranges + n, 0), n += 2;
	put_cells(ranges + n, c->io_base), n += 2;
	put_cells(ranges + n, c->io_size), n += 2;
	ranges[n++] = cpu_to_fdt32(0x02000000);
	put_cells(ranges + n, c->mem_base), n += 2;
	put_cells(ranges + n, c->mem_base), n += 2;
	put_cells(ranges + n, c->mem_size), n += 2;
	if (c->mem64_size) {
		ranges[n++] = cpu_to_fdt32(0x03000000);
		put_cells(ranges + n, c->mem64_base), n += 2;
		put_cells(ranges + n, c->mem64_base), n += 2;
		put_cells(ranges + n, c->mem64_size), n += 2;
	}
	FDT_OK(fdt_property(fdt, "ranges", ranges, n * sizeof(fdt32_t)));
	/* The swizzle repeats every 4 slots: the mask keeps slot bits 0-1
	 * and the pin; one entry per (slot mod 4, pin). */
	mask[0] = cpu_to_fdt32(3 << 11);
	mask[1] = mask[2] = cpu_to_fdt32(0);
	mask[3] = cpu_to_fdt32(7);
	FDT_OK(fdt_property(fdt, "interrupt-map-mask", mask, sizeof(mask)));
	n = 0;
	for (unsigned slot = 0; slot < 4; slot++)
		for (unsigned pin = 1; pin <= 4; pin++) {
			map[n++] = cpu_to_fdt32(slot << 11);
			map[n++] = cpu_to_fdt32(0);
			map[n++] = cpu_to_fdt32(0);
			map[n++] = cpu_to_fdt32(pin);
			map[n++] = cpu_to_fdt32(c->irq_parent);
			map[n++] = cpu_to_fdt32(c->irq_base + (slot + pin - 1) % 4);
		}
	FDT_OK(fdt_property(fdt, "interrupt-map", map, sizeof(map)));
}

/* --- the bridge ------------------------------------------------------------ */

int pci_host_create(struct vm *vm, const struct pci_host_config *cfg)
{
	struct pci_bus *b;
	struct dev_desc desc = { .node_name = "pci", .compatible = "pci-host-ecam-generic",
				 .irq = -1 };
	int err;

	if (cfg->nr_buses < 1 || cfg->nr_buses > 256)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->vm = vm;
	b->cfg = *cfg;
	pthread_rwlock_init(&b->lock, NULL);
	pthread_mutex_init(&b->irq_lock, NULL);
	if ((err = vm_add_mmio(vm, cfg->ecam_base, (uint64_t)cfg->nr_buses << 20, &ecam_ops, b,
			       "pci-ecam")) ||
	    (err = vm_add_mmio(vm, cfg->io_base, cfg->io_size, &io_ops, b, "pci-io")) ||
	    (err = vm_add_mmio(vm, cfg->mem_base, cfg->mem_size, &mem_ops, b, "pci-mem")) ||
	    (cfg->mem64_size &&
	     (err = vm_add_mmio(vm, cfg->mem64_base, cfg->mem64_size, &mem64_ops, b, "pci-mem64"))))
		goto fail;
	desc.base = cfg->ecam_base;
	desc.size = (uint64_t)cfg->nr_buses << 20;
	desc.fdt_extra = host_fdt;
	desc.opaque = b;
	if ((err = vm_describe(vm, &desc)))
		goto fail;
	vm->pci = b;
	return 0;
fail:
	warn("pci: cannot create the host bridge: %s", strerror(-err));
	pthread_rwlock_destroy(&b->lock);
	pthread_mutex_destroy(&b->irq_lock);
	free(b);
	return err;
}

void pci_host_destroy(struct vm *vm)
{
	struct pci_bus *b = vm->pci;

	if (!b)
		return;
	for (int s = 0; s < PCI_MAX_SLOTS; s++)
		if (b->slot[s])
			b->slot[s]->bus = NULL;
	pthread_rwlock_destroy(&b->lock);
	pthread_mutex_destroy(&b->irq_lock);
	free(b);
	vm->pci = NULL;
}

static bool info_ok(const struct pci_dev_info *in)
{
	if (in->irq_pin > 4)
		return false;
	for (int i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar_info *bi = &in->bar[i];
		if (bi->kind == PCI_BAR_NONE)
			continue;
		if (bi->size & (bi->size - 1) || bi->size < (bi->kind == PCI_BAR_IO ? 4 : 16))
			return false;
		if (bi->kind == PCI_BAR_IO && bi->size > 256)
			return false;
		if (bi->kind == PCI_BAR_MEM32 && bi->size > (1ULL << 31))
			return false;
		if (bi->kind == PCI_BAR_MEM64 && (i == PCI_NR_BARS - 1 || in->bar[i + 1].kind != PCI_BAR_NONE))
			return false;
	}
	return true;
}

int pci_register(struct vm *vm, const struct pci_dev_info *info, const struct pci_dev_ops *ops,
		 void *opaque, struct pci_dev **out)
{
	struct pci_bus *b = vm->pci;
	struct pci_dev *d;
	int slot;

	if (!b) {
		warn("%s: this machine has no PCI bus", info->name);
		return -ENODEV;
	}
	if (!info_ok(info)) {
		warn("%s: invalid PCI function description", info->name);
		return -EINVAL;
	}
	/* Slot 0 stays empty, as the first device sits at 00:01.0 on QEMU's
	 * virt board too. */
	for (slot = 1; slot < PCI_MAX_SLOTS && b->slot[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS) {
		warn("%s: the PCI bus is full (%d slots)", info->name, PCI_MAX_SLOTS - 1);
		return -ENOSPC;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->bus = b;
	d->slot = slot;
	d->info = *info;
	d->ops = ops;
	d->opaque = opaque;
	build_config(d);
	memcpy(d->power_on, d->cfg, PCI_CFG_SIZE);
	pthread_rwlock_wrlock(&b->lock);
	b->slot[slot] = d;
	pthread_rwlock_unlock(&b->lock);
	*out = d;
	return 0;
}

void pci_unregister(struct pci_dev *d)
{
	struct pci_bus *b;

	if (!d)
		return;
	b = d->bus;
	if (b) {
		pci_set_irq(d, 0);
		pthread_rwlock_wrlock(&b->lock);
		b->slot[d->slot] = NULL;
		pthread_rwlock_unlock(&b->lock);
	}
	free(d);
}
