/* libFuzzer target for the AHCI command path (src/dev/ahci.c, included
 * whole to reach fetch/execute/complete without the worker thread): the
 * input is a few register writes, then the bytes of a small guest RAM that
 * holds the command list, command tables, PRDTs and received-FIS area. The
 * commands run synchronously, as the worker would run them, against a
 * 32 KiB image in a memfd. Nothing may reach outside guest RAM or the
 * image, and nothing the guest wrote may abort. */
#include "../../src/dev/ahci.c"

#include <sys/mman.h>
#include <unistd.h>

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (64u << 10)
#define IMAGE_SECTORS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static struct vm_config cfg;
static struct ahci *dev;

static void no_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	(void)irq;
	(void)level;
}

static void setup(void)
{
	struct pci_host_config pc = {
		.ecam_base = 0x30000000, .nr_buses = 1, .io_base = 0x03000000, .io_size = 0x10000,
		.mem_base = 0x40000000, .mem_size = 0x40000000, .irq_base = 32,
	};
	struct pci_dev_info info = {
		.name = "ahci", .vendor = 0x8086, .device = 0x2922, .class_code = 0x010601,
		.irq_pin = 1, .bar = { [5] = { PCI_BAR_MEM32, 0x1000, false } },
	};
	char path[64];
	int err, fd = memfd_create("trevo-fuzz-ahci", 0);

	vm.cfg = &cfg;
	vm.set_irq = no_irq;
	if (fd < 0 || ftruncate(fd, IMAGE_SECTORS * SECTOR) ||
	    gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE) || pci_host_create(&vm, &pc))
		abort();
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		abort();
	dev->vm = &vm;
	snprintf(dev->name, sizeof(dev->name), "ahci0");
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->work, NULL);
	pthread_cond_init(&dev->idle, NULL);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dev->file = blockfile_open(path, false, &err);
	if (!dev->file || pci_register(&vm, &info, &ahci_pci_ops, dev, &dev->pci))
		abort();
	dev->sectors = IMAGE_SECTORS;
}

/* What ahci_thread does for one slot, on this thread. */
static void run_slots(void)
{
	struct port *p = &dev->port;

	for (int n = 0; n < NR_SLOTS; n++) {
		struct ahci_counts k = { 0 };
		struct cmd c;
		unsigned slot;
		bool ok;
		pthread_mutex_lock(&dev->lock);
		if (!(p->cmd & CMD_ST) || p->stopped || !(p->ci & ~p->taken)) {
			pthread_mutex_unlock(&dev->lock);
			return;
		}
		slot = (unsigned)__builtin_ctz(p->ci & ~p->taken);
		p->taken |= 1u << slot;
		dev->busy++;
		ok = fetch(dev, slot, &c);
		c.epoch = dev->epoch;
		pthread_mutex_unlock(&dev->lock);
		if (ok) {
			execute(dev, &c, &k);
		} else {
			c.status = ST_DRDY | ST_ERR;
			c.error = ER_ABRT;
		}
		pthread_mutex_lock(&dev->lock);
		complete(dev, &c);
		update_irq(dev);
		if (!--dev->busy)
			dev->resetting = false;
		pthread_mutex_unlock(&dev->lock);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned nwrites;

	if (!dev)
		setup();
	if (size < 2)
		return 0;
	/* Power-on, bus master on, the port pointed into RAM and started. */
	pci_dev_reset(dev->pci);
	pci_config_write(dev->pci, PCI_COMMAND, (data[0] & 1) ? PCI_CMD_MEMORY | PCI_CMD_MASTER
							   : PCI_CMD_MEMORY, 2);
	hba_reset(dev);
	memset(vm.mem.region[0].host, 0, RAM_SIZE);
	ahci_bar_write(dev, 5, PORT_BASE + PX_CLB, RAM_BASE, 4);
	ahci_bar_write(dev, 5, PORT_BASE + PX_FB, RAM_BASE + 0x400, 4);
	ahci_bar_write(dev, 5, PORT_BASE + PX_IE, ~0u, 4);
	ahci_bar_write(dev, 5, HBA_GHC, GHC_IE, 4);
	ahci_bar_write(dev, 5, PORT_BASE + PX_CMD, CMD_FRE | CMD_ST, 4);
	/* data[1] register writes of 5 bytes each: offset/4, value. */
	nwrites = data[1] % 16;
	data += 2;
	size -= 2;
	for (unsigned i = 0; i < nwrites && size >= 5; i++, data += 5, size -= 5) {
		uint32_t v;
		memcpy(&v, data + 1, 4);
		/* no HBA reset: it would wait for this very thread */
		if ((unsigned)data[0] * 4 == HBA_GHC)
			v &= ~GHC_HR;
		ahci_bar_write(dev, 5, (uint64_t)data[0] * 4, v, 4);
		(void)ahci_bar_read(dev, 5, (uint64_t)data[0] * 4, 4);
	}
	memcpy(vm.mem.region[0].host, data, size < RAM_SIZE ? size : RAM_SIZE);
	{
		uint32_t ci = 1;
		if (size >= 4)
			memcpy(&ci, data, 4);
		ahci_bar_write(dev, 5, PORT_BASE + PX_SACT, ci >> 16, 4);
		ahci_bar_write(dev, 5, PORT_BASE + PX_CI, ci | 1, 4);
	}
	run_slots();
	/* The driver's recovery path, then once more. */
	ahci_bar_write(dev, 5, PORT_BASE + PX_CMD, CMD_FRE, 4);
	ahci_bar_write(dev, 5, PORT_BASE + PX_CMD, CMD_FRE | CMD_ST, 4);
	ahci_bar_write(dev, 5, PORT_BASE + PX_SACT, 0xffff, 4);
	ahci_bar_write(dev, 5, PORT_BASE + PX_CI, 0xffff, 4);
	run_slots();
	ahci_bar_write(dev, 5, PORT_BASE + PX_CMD, 0, 4);
	return 0;
}
