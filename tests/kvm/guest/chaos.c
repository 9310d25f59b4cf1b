/* A confused guest: reads and writes of random values to every I/O port and
 * to every register of the virtio-mmio windows, in every size. Trevo must
 * neither crash nor stop (STYLE.md: nothing the guest controls reaches
 * abort or exit); the sanitizer build checks the device models on the way.
 * Ports that end the run on purpose are left alone: the exit port 0x501,
 * i8042 0x64, reset control 0xcf9, the ACPI block 0x600-0x603. So is the
 * pvpanic window (a write there means "guest panicked"). */
#include "vblk.h"

#define next rand64

/* and the console, which the end of the test needs */
static int spared(uint32_t port)
{
	return port_ends_run(port) || (port >= 0x3f8 && port <= 0x3ff);
}

void guest_main(int id)
{
	volatile uint64_t sink = 0;
	uint64_t win;

	if (id != 0)
		halt_forever();
	puts_serial("chaos: ports\n");
	for (uint32_t port = 0; port < 0x10000; port++) {
		if (spared(port))
			continue;
		sink += inb((uint16_t)port);
		outb((uint16_t)port, (uint8_t)next());
		if ((port & 3) == 0) {
			sink += inl((uint16_t)port);
			outl((uint16_t)port, (uint32_t)next());
		}
	}
	puts_serial("chaos: virtio-mmio\n");
	for (win = VIRTIO_WIN_BASE; win < VIRTIO_WIN_BASE + VIRTIO_WIN_COUNT * VIRTIO_WIN_SIZE;
	     win += VIRTIO_WIN_SIZE) {
		if (mmio_read32(win) != VIRTIO_MAGIC)  /* not virtio: skip */
			continue;
		for (int round = 0; round < 4; round++) {
			for (uint32_t off = 0; off < 0x200; off += 4) {
				uint64_t v = next();
				sink += mmio_read32(win + off);
				sink += *(volatile uint8_t *)(win + off + (v & 3));
				sink += *(volatile uint16_t *)(win + off + (v & 2));
				if (off == 0x70 && (v & 1))
					v = 0;  /* now and then a reset, to start over */
				mmio_write32(win + off, (uint32_t)v);
				*(volatile uint8_t *)(win + off + ((v >> 8) & 3)) = (uint8_t)(v >> 16);
				*(volatile uint64_t *)(win + (off & ~7u)) = next();
			}
			/* Point the queue at RAM full of garbage, then notify. */
			for (uint32_t q = 0; q < 4; q++) {
				mmio_write32(win + 0x30, q);
				mmio_write32(win + 0x38, 1u << (next() & 15));
				mmio_write32(win + 0x80, (uint32_t)(0x200000 + (next() & 0xffff0)));
				mmio_write32(win + 0x84, 0);
				mmio_write32(win + 0x90, (uint32_t)(0x300000 + (next() & 0xffff0)));
				mmio_write32(win + 0x94, 0);
				mmio_write32(win + 0xa0, (uint32_t)(0x400000 + (next() & 0xffff0)));
				mmio_write32(win + 0xa4, 0);
				mmio_write32(win + 0x44, 1);
				mmio_write32(win + 0x70, 0xf);
				mmio_write32(win + 0x50, q);
			}
		}
	}
	/* Garbage for the queues to chew on. */
	for (uint64_t a = 0x200000; a < 0x500000; a += 8)
		*(volatile uint64_t *)a = next();
	for (win = VIRTIO_WIN_BASE; win < VIRTIO_WIN_BASE + VIRTIO_WIN_COUNT * VIRTIO_WIN_SIZE;
	     win += VIRTIO_WIN_SIZE)
		if (mmio_read32(win) == VIRTIO_MAGIC)
			for (uint32_t q = 0; q < 4; q++)
				mmio_write32(win + 0x50, q);
	(void)sink;
	puts_serial("chaos survived\n");
	guest_exit(0);
}
