/* libFuzzer target for the virtio-mmio register interface (4.2.2) with the
 * virtio core and virtio-rng behind it (rng serves requests right on the
 * notifying thread, so a run is one thread and repeatable enough). The
 * input is guest RAM followed by a program of register reads/writes and RAM
 * pokes: feature and status games, queue set-up in any order, resets with
 * requests pending, notifies of half-built queues. Trevo must never crash
 * or touch memory outside guest RAM. */
#include <stdlib.h>
#include <string.h>

#include "dev/virtio.h"
#include "vm.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE 0x4000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm_config cfg;
static struct vm vm;
static const struct mmio_region *win;

static void set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	(void)irq;
	(void)level;
}

static void setup(void)
{
	struct dev_params p = { .irq = -1 };

	vm.cfg = &cfg;
	vm.set_irq = set_irq;
	vm.mmio_alloc_next = 0x10001000;
	vm.mmio_alloc_end = 0x10002000;
	vm.irq_alloc_next = 1;
	vm.irq_alloc_end = 2;
	if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE) ||
	    vm_create_device(&vm, "virtio-rng", &p))
		abort();
	win = bus_find(&vm.mmio, 0x10001000, 4);
	if (!win)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *ram;
	size_t ram_bytes;

	if (!win)
		setup();
	ram = vm.mem.region[0].host;
	/* A fresh device and RAM for each input. */
	win->ops->write(win->opaque, 0x070, 0, 4);
	memset(ram, 0, RAM_SIZE);
	if (size < 2)
		return 0;
	ram_bytes = (size_t)(data[0] | data[1] << 8) % 2048;
	data += 2;
	size -= 2;
	if (ram_bytes > size)
		ram_bytes = size;
	memcpy(ram, data, ram_bytes);
	data += ram_bytes;
	size -= ram_bytes;

	/* 7-byte instructions: op, offset (2), value (4). */
	for (; size >= 7; data += 7, size -= 7) {
		unsigned op = data[0], off = (unsigned)(data[1] | data[2] << 8) & 0xfff;
		uint32_t v = (uint32_t)data[3] | (uint32_t)data[4] << 8 | (uint32_t)data[5] << 16 |
			     (uint32_t)data[6] << 24;
		unsigned width = 1u << ((op >> 2) & 3);

		switch (op & 3) {
		case 0:  /* the driver's usual aligned 32-bit write */
			win->ops->write(win->opaque, off & ~3u, v, 4);
			break;
		case 1:
			(void)win->ops->read(win->opaque, off, width);
			break;
		case 2:  /* odd widths and alignments */
			win->ops->write(win->opaque, off, v, width);
			break;
		case 3:  /* the driver (or a DMA) changes RAM under the device */
			memcpy(ram + ((size_t)off * 4) % (RAM_SIZE - 4), &v, 4);
			break;
		}
	}
	return 0;
}
