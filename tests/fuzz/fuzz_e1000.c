/* libFuzzer target for the e1000 rings (src/dev/e1000.c, included whole):
 * the input is a few register writes, a frame to receive, and the bytes of
 * a small guest RAM holding the descriptor rings and buffers; the transmit
 * ring (legacy, context and data descriptors, checksum insertion, TCP
 * segmentation, or the whole segment to a back end that takes large TCP
 * frames) and one receive (with checksum offload when the register writes
 * turn it on) run synchronously against a back end that swallows frames. Nothing may reach outside guest RAM or abort. */
#include "../../src/dev/e1000.c"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (64u << 10)

struct net_backend *tap_open(const char *name) { (void)name; return NULL; }
struct net_backend *slirp_open(const char *o) { (void)o; return NULL; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static struct vm_config cfg;
static struct e1000 *dev;

static void no_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	(void)irq;
	(void)level;
}

static void sink_prepare(struct net_backend *b, struct pollfd *fds, int *n, int max, int *t, bool r)
{
	(void)b; (void)fds; (void)n; (void)max; (void)t; (void)r;
}

static void sink_dispatch(struct net_backend *b, struct pollfd *fds, int first, int end)
{
	(void)b; (void)fds; (void)first; (void)end;
}

/* Touch every byte, so the sanitizer sees a frame past its buffer. */
static int sink_send(struct net_backend *b, const struct iovec *iov, int cnt)
{
	volatile uint8_t x = 0;

	(void)b;
	for (int i = 0; i < cnt; i++)
		for (size_t k = 0; k < iov[i].iov_len; k++)
			x ^= ((const uint8_t *)iov[i].iov_base)[k];
	return 0;
}

static void sink_close(struct net_backend *b)
{
	(void)b;
}

static const struct net_backend_ops sink_ops = { sink_prepare, sink_dispatch, sink_send, sink_close };
static struct net_backend sink = { .ops = &sink_ops };

static void setup(void)
{
	struct pci_host_config pc = {
		.ecam_base = 0x30000000, .nr_buses = 1, .io_base = 0x03000000, .io_size = 0x10000,
		.mem_base = 0x40000000, .mem_size = 0x40000000, .irq_base = 32,
	};
	struct pci_dev_info info = {
		.name = "e1000", .vendor = 0x8086, .device = 0x100e, .class_code = 0x020000,
		.irq_pin = 1, .bar = { [0] = { PCI_BAR_MEM32, MMIO_SIZE, false } },
	};

	vm.cfg = &cfg;
	vm.set_irq = no_irq;
	if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE) || pci_host_create(&vm, &pc))
		abort();
	dev = calloc(1, sizeof(*dev));
	if (!dev || !(dev->tx_buf = malloc(TSO_MAX)))
		abort();
	pthread_mutex_init(&dev->lock, NULL);
	dev->be = &sink;
	dev->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	memcpy(dev->mac, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
	build_eeprom(dev);
	if (pci_register(&vm, &info, &e1000_pci_ops, dev, &dev->pci))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned nwrites, flen;

	if (!dev)
		setup();
	if (size < 4)
		return 0;
	pci_dev_reset(dev->pci);
	pci_config_write(dev->pci, PCI_COMMAND, (data[0] & 1) ? PCI_CMD_MEMORY | PCI_CMD_MASTER
							   : PCI_CMD_MEMORY, 2);
	mac_reset(dev);
	sink.takes_large_tcp4 = data[0] & 2;   /* a TSO send whole, as to slirp */
	memset(vm.mem.region[0].host, 0, RAM_SIZE);
	/* rings at the start of RAM, 16 descriptors each, running */
	reg_write(dev, TDBAL, (uint32_t)RAM_BASE);
	reg_write(dev, TDLEN, 256);
	reg_write(dev, RDBAL, (uint32_t)RAM_BASE + 0x100);
	reg_write(dev, RDLEN, 256);
	reg_write(dev, RDT, 15);
	reg_write(dev, TCTL, TCTL_EN);
	reg_write(dev, RCTL, RCTL_EN | RCTL_UPE | RCTL_MPE | RCTL_BAM);
	reg_write(dev, IMS, ~0u);
	/* data[1]: register writes of 6 bytes (offset 16 bits, value) */
	nwrites = data[1] % 12;
	flen = data[2] | (data[3] & 0x3f) << 8;
	data += 4;
	size -= 4;
	for (unsigned i = 0; i < nwrites && size >= 6; i++, data += 6, size -= 6) {
		uint32_t off = (uint32_t)(data[0] | data[1] << 8) * 4 % MMIO_SIZE, v;
		memcpy(&v, data + 2, 4);
		reg_write(dev, off, v);
		(void)reg_read(dev, off);
	}
	memcpy(vm.mem.region[0].host, data, size < RAM_SIZE ? size : RAM_SIZE);
	pthread_mutex_lock(&dev->lock);
	transmit(dev);
	if (flen > size)
		flen = (unsigned)size;
	receive(dev, data, flen);
	transmit(dev);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}
