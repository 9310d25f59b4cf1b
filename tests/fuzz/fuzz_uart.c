/* libFuzzer target for the NS16550A register interface (src/dev/uart16550.c)
 * as a guest driver reaches it: a program of byte-wide reads and writes at
 * offsets 0-7 (DLAB games, FIFO control, loopback, scratch), with console
 * input arriving in between. The model must never crash, and its interrupt
 * line must only ever be set to 0 or 1. */
#include <stdlib.h>
#include <string.h>

#include "host/console.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm_config cfg;
static struct vm vm;
static const struct mmio_region *win;
static const uint8_t *input;
static size_t input_len;
static void (*rx_ready)(void *);
static void *rx_opaque;

/* The console as the model sees it: input from the fuzzer, output dropped. */
void console_write(struct console *c, const uint8_t *buf, size_t len) { (void)c; (void)buf; (void)len; }
void console_set_receiver(struct console *c, void (*fn)(void *), void *opaque)
{
	(void)c;
	rx_ready = fn;
	rx_opaque = opaque;
}
void console_clear_receiver(struct console *c, void *opaque) { (void)c; (void)opaque; rx_ready = NULL; }
size_t console_read(struct console *c, uint8_t *buf, size_t max)
{
	size_t n = input_len < max ? input_len : max;

	(void)c;
	memcpy(buf, input, n);
	input += n;
	input_len -= n;
	return n;
}
size_t console_pending(struct console *c) { (void)c; return input_len; }

static void set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	(void)irq;
	if (level != 0 && level != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!win) {
		struct dev_params p = { .base = 0x10000000, .irq = 10 };
		vm.cfg = &cfg;
		vm.set_irq = set_irq;
		vm.console = (struct console *)&cfg;  /* any non-NULL handle */
		vm.irq_alloc_next = 1;
		vm.irq_alloc_end = 32;
		if (vm_create_device(&vm, "ns16550a", &p))
			abort();
		win = bus_find(&vm.mmio, 0x10000000, 1);
		if (!win)
			abort();
	}
	/* A fresh chip for each input: MCR, LCR, IER back to 0. */
	input_len = 0;
	win->ops->write(win->opaque, 3, 0, 1);
	win->ops->write(win->opaque, 1, 0, 1);
	win->ops->write(win->opaque, 4, 0, 1);
	/* Two bytes an operation: op (bit 7 write, bit 6 input, bits 0-2
	 * offset) and a value; the input is what follows the program. */
	size_t prog = size / 2 & ~(size_t)1;
	input = data + prog;
	input_len = size - prog;
	for (size_t i = 0; i + 1 < prog; i += 2) {
		unsigned off = data[i] & 7;
		if (data[i] & 0x40) {
			if (rx_ready)
				rx_ready(rx_opaque);
		} else if (data[i] & 0x80) {
			win->ops->write(win->opaque, off, data[i + 1], 1);
		} else {
			(void)win->ops->read(win->opaque, off, 1);
		}
	}
	input_len = 0;  /* data is the fuzzer's only until we return */
	return 0;
}
