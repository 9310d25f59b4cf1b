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

/* FUZZ_CONSOLE: virtio-console (5.3) instead, built as fuzz_virtio_console:
 * both queues, emerg_wr, and host console input arriving at any moment. */
#ifdef FUZZ_CONSOLE
#include "host/console.h"
#define MODEL "virtio-console"
static uint8_t con_in[64];
static size_t con_in_len;
static void (*rx_ready)(void *);
static void *rx_opaque;

void console_write(struct console *c, const uint8_t *buf, size_t len)
{
	volatile uint8_t sum = 0;

	(void)c;
	for (size_t i = 0; i < len; i++)  /* every byte handed out must be readable */
		sum += buf[i];
}
void console_set_receiver(struct console *c, void (*fn)(void *), void *opaque)
{
	(void)c;
	rx_ready = fn;
	rx_opaque = opaque;
}
void console_clear_receiver(struct console *c, void *opaque) { (void)c; (void)opaque; rx_ready = NULL; }
size_t console_read(struct console *c, uint8_t *buf, size_t max)
{
	size_t n = con_in_len < max ? con_in_len : max;

	(void)c;
	memcpy(buf, con_in, n);
	memmove(con_in, con_in + n, con_in_len - n);
	con_in_len -= n;
	return n;
}
size_t console_pending(struct console *c) { (void)c; return con_in_len; }
#else
#define MODEL "virtio-rng"
#endif

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
	    (vm.console = (struct console *)&cfg, vm_create_device(&vm, MODEL, &p)))
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
#ifdef FUZZ_CONSOLE
	con_in_len = 0;
#endif
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

#ifdef FUZZ_CONSOLE
		if (op & 0x80) {  /* the user types: up to 4 bytes, then the event */
			unsigned n = op >> 4 & 3;
			if (con_in_len + n + 1 <= sizeof(con_in)) {
				memcpy(con_in + con_in_len, &v, n + 1);
				con_in_len += n + 1;
			}
			if (rx_ready)
				rx_ready(rx_opaque);
			continue;
		}
#endif
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
