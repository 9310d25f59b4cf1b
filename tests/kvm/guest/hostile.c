/* The x86-64 hostile guest (tests/hostile/run.sh, --mode hw --memory 64M
 * with a virtio-blk disk and virtio-net on slirp). For ROUNDS rounds of a
 * seeded generator it
 *   - writes and reads random values at random widths and offsets in every
 *     virtio-mmio window (the status register included: resets at any
 *     time), the serial port's registers and random I/O ports;
 *   - brings queues up with rings and descriptors at hostile addresses
 *     (inside RAM, across its end, past it, in the MMIO hole, above 4 GiB,
 *     the top of the address space), queue sizes that are not powers of
 *     two, chains that loop, indirect tables, huge lengths, virtio-blk
 *     requests of every type at any sector, then notifies and, now and
 *     then, resets the device with the request in flight.
 * Left alone: the ports that end or reset the run (lib.c port_ends_run)
 * and pages that are not virtio (pvpanic: a write there is "the guest
 * panicked"). Then a well-behaved driver resets every device, sets the
 * serial port up again, writes a pattern to sectors 1-4 through vblk.c,
 * reads it back and checks it, prints the HOSTILE-X86-SURVIVED marker and
 * powers off; the test checks the host image holds the pattern.
 *
 * Memory: the image at 1 MiB, stacks below 512 KiB and the boot page tables
 * below 64 KiB are never a DMA target; "inside RAM" means the scratch area
 * from 16 MiB to the end (a DMA that starts below the image and runs into
 * it would be this program clobbering itself, not a fault of Trevo). */
#include "vblk.h"

#ifndef ROUNDS
#define ROUNDS 3000
#endif

#define RAM_END     (64UL << 20)   /* the test's --memory */
#define SCRATCH     (16UL << 20)
#define SCRATCH_END (RAM_END - (1UL << 20))
#define FIRST_SECTOR 16            /* the chaos writes from here on; the pattern is below */
#define PATTERN_SECTORS 4

#define rnd rand64

static uint64_t windows[VIRTIO_WIN_COUNT];
static unsigned nr_windows, needs_reset;

/* An address a device must refuse or clip, or (case 0) fine. */
static uint64_t evil_addr(void)
{
	uint64_t r = rnd();

	switch (r % 10) {
	case 0: case 1: return SCRATCH + (r >> 8) % (SCRATCH_END - SCRATCH);   /* fine */
	case 2: return RAM_END - 64 + (r >> 8) % 128;                          /* across the end */
	case 3: return RAM_END + (r >> 8) % (1UL << 30);                       /* past it */
	case 4: return VIRTIO_WIN_BASE + ((r >> 8) & 0xffff);                  /* MMIO: the windows */
	case 5: return 0xfec00000UL + ((r >> 8) & 0x1fffff);                   /* IOAPIC, LAPIC */
	case 6: return (1UL << 32) + ((r >> 8) & 0xfffffff);                   /* above 4 GiB */
	case 7: return ~0UL - ((r >> 8) & 0xfff);                              /* the top */
	case 8: return (3UL << 30) - 64 + (r >> 8) % 128;                      /* across 3 GiB */
	default: return r;
	}
}

static uint32_t evil_len(void)
{
	uint64_t r = rnd();

	switch (r % 5) {
	case 0: return 0;
	case 1: return (uint32_t)(r >> 8) % 8192;
	case 2: return 0xffffffffu - (uint32_t)((r >> 8) & 0xff);
	case 3: return 1u << ((r >> 8) % 32);
	default: return (uint32_t)(r >> 8);
	}
}

/* Room for size bytes in the scratch area, 16-aligned. */
static uint64_t scratch(uint64_t size)
{
	return (SCRATCH + rnd() % (SCRATCH_END - SCRATCH - size)) & ~15UL;
}

static void mmio_write(uint64_t a, uint64_t v, unsigned width)
{
	switch (width & 3) {
	case 0: *(volatile uint8_t *)a = (uint8_t)v; break;
	case 1: *(volatile uint16_t *)(a & ~1UL) = (uint16_t)v; break;
	case 2: *(volatile uint32_t *)(a & ~3UL) = (uint32_t)v; break;
	default: *(volatile uint64_t *)(a & ~7UL) = v; break;
	}
}

static uint64_t mmio_read(uint64_t a, unsigned width)
{
	switch (width & 3) {
	case 0: return *(volatile uint8_t *)a;
	case 1: return *(volatile uint16_t *)(a & ~1UL);
	case 2: return *(volatile uint32_t *)(a & ~3UL);
	default: return *(volatile uint64_t *)(a & ~7UL);
	}
}

static void register_round(void)
{
	uint64_t r = rnd(), v = rnd() % 2 ? rnd() : evil_addr();
	uint64_t win = windows[(r >> 8) % nr_windows];
	unsigned width = (unsigned)(r >> 16);
	uint32_t off = (uint32_t)(r >> 20) % 4 ? (uint32_t)(r >> 24) % 0x110 : (uint32_t)(r >> 24) % 0x1000;

	if (r & 1)
		mmio_write(win + off, v, width);
	else
		(void)mmio_read(win + off, width);
	if (mmio_read32(win + VIRTIO_STATUS) & 0x40)  /* DEVICE_NEEDS_RESET */
		needs_reset++;
}

static void port_round(void)
{
	uint64_t r = rnd();
	uint16_t port = (r & 3) ? (uint16_t)(0x3f8 + (r >> 8) % 8) : (uint16_t)(r >> 16);

	if (port_ends_run(port))
		return;
	if (r & 4)
		outb(port, (uint8_t)(r >> 32));
	else
		(void)inb(port);
}

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

/* A descriptor table of n entries at t: chains through random next
 * fields (loops included), any flags (NEXT, WRITE, INDIRECT), hostile
 * buffers, and for the first entries of a block device a request header
 * of any type at a sector the well-behaved part never reads. */
static void fill_table(uint64_t t, unsigned n, int blk)
{
	volatile struct desc *d = (volatile struct desc *)t;

	for (unsigned i = 0; i < n; i++) {
		uint64_t r = rnd();
		d[i].addr = evil_addr();
		d[i].len = evil_len();
		d[i].flags = (uint16_t)(r % 4 ? (r >> 8) & 7 : r >> 8);
		d[i].next = (uint16_t)(r % 4 ? (r >> 24) % (n + 2) : (r % 3 ? i : r >> 24));
		if (blk && i < 4 && (r >> 40) % 2) {
			static const uint32_t types[] = { 0, 1, 4, 8, 11, 13, 0x80000000u, 7 };
			volatile uint32_t *h = (volatile uint32_t *)scratch(16);
			uint64_t sector = (r >> 44) % 2 ? FIRST_SECTOR + rnd() % 8200 : rnd() | 1UL << 63;
			h[0] = types[rnd() % 8];
			h[1] = (uint32_t)rnd();
			*(volatile uint64_t *)(h + 2) = sector;
			d[i].addr = (uint64_t)h;
			d[i].len = (r >> 48) % 4 ? 16 : evil_len();
		}
	}
}

/* One queue of one device, set up to hurt, started, perhaps reset. */
static void queue_round(void)
{
	uint64_t r = rnd(), win = windows[(r >> 8) % nr_windows];
	int blk = mmio_read32(win + VIRTIO_DEVICE_ID) == 2;
	uint32_t q = (r >> 16) % 8 ? (uint32_t)(r >> 20) % 3 : (uint32_t)(r >> 20);
	uint32_t max, num;
	uint64_t desc, drv, dev;

	if ((r >> 24) % 4) {  /* the handshake, with any features */
		mmio_write32(win + VIRTIO_STATUS, 0);
		mmio_write32(win + VIRTIO_STATUS, 1);
		mmio_write32(win + VIRTIO_STATUS, 3);
		mmio_write32(win + VIRTIO_DRV_FEAT_SEL, 0);
		mmio_write32(win + VIRTIO_DRV_FEAT, (uint32_t)rnd());
		mmio_write32(win + VIRTIO_DRV_FEAT_SEL, 1);
		mmio_write32(win + VIRTIO_DRV_FEAT, (uint32_t)rnd() | 1);
		mmio_write32(win + VIRTIO_STATUS, 11);
	}
	mmio_write32(win + VIRTIO_QUEUE_SEL, q);
	max = mmio_read32(win + VIRTIO_QUEUE_NUM_MAX);
	switch (rnd() % 4) {
	case 0: num = max; break;
	case 1: num = max ? 1 + (uint32_t)rnd() % max : 1; break;   /* not a power of two */
	case 2: num = 1u << rnd() % 16; break;
	default: num = (uint32_t)rnd(); break;
	}
	num &= 0xffff;
	desc = rnd() % 4 ? scratch(16 * 256) : evil_addr();
	drv = rnd() % 4 ? scratch(6 + 2 * 256) : evil_addr();
	dev = rnd() % 4 ? scratch(6 + 8 * 256) : evil_addr();
	if (desc >= SCRATCH && desc < SCRATCH_END)
		fill_table(desc, num < 256 ? num : 256, blk);
	if (drv >= SCRATCH && drv < SCRATCH_END) {
		volatile uint16_t *a = (volatile uint16_t *)drv;
		a[0] = (uint16_t)rnd();                          /* flags */
		a[1] = (uint16_t)(rnd() % 4 ? rnd() % 8 : rnd()); /* idx: a few, or any */
		for (unsigned i = 0; i < 8; i++)
			a[2 + i] = (uint16_t)(rnd() % 2 ? rnd() % 8 : rnd());
	}
	/* An indirect table somewhere in the scratch area, for the chains
	 * that have INDIRECT set and point at it by luck or by this. */
	if (desc >= SCRATCH && desc < SCRATCH_END && rnd() % 2) {
		uint64_t ind = scratch(16 * 64);
		fill_table(ind, 64, blk);
		((volatile struct desc *)desc)[0].addr = ind;
		((volatile struct desc *)desc)[0].len = rnd() % 2 ? 16 * 64 : evil_len();
		((volatile struct desc *)desc)[0].flags = 4;
	}
	mmio_write32(win + VIRTIO_QUEUE_NUM, num);
	mmio_write32(win + VIRTIO_DESC_LO, (uint32_t)desc);
	mmio_write32(win + VIRTIO_DESC_HI, (uint32_t)(desc >> 32));
	mmio_write32(win + VIRTIO_DRIVER_LO, (uint32_t)drv);
	mmio_write32(win + VIRTIO_DRIVER_HI, (uint32_t)(drv >> 32));
	mmio_write32(win + VIRTIO_DEVICE_LO, (uint32_t)dev);
	mmio_write32(win + VIRTIO_DEVICE_HI, (uint32_t)(dev >> 32));
	mmio_write32(win + VIRTIO_QUEUE_READY, rnd() % 8 ? 1 : (uint32_t)rnd());
	mmio_write32(win + VIRTIO_STATUS, rnd() % 8 ? 15 : (uint32_t)rnd());
	mmio_write32(win + VIRTIO_QUEUE_NOTIFY, rnd() % 8 ? q : (uint32_t)rnd());
	if (rnd() % 4 == 0)
		mmio_write32(win + VIRTIO_STATUS, 0);            /* reset mid-request */
	if (rnd() % 4 == 0)
		mmio_write32(win + VIRTIO_QUEUE_READY, 0);       /* or take the queue away */
	mmio_write32(win + VIRTIO_INT_ACK, (uint32_t)rnd());
	if (mmio_read32(win + VIRTIO_STATUS) & 0x40)
		needs_reset++;
}

static void fail(const char *why)
{
	puts_serial("hostile-x86 FAIL: ");
	puts_serial(why);
	puts_serial("\n");
	guest_exit(6);
}

/* 8n1 at 115200, FIFOs on, no interrupts, no loopback. */
static void serial_setup(void)
{
	outb(0x3f9, 0x00);
	outb(0x3fb, 0x80);
	outb(0x3f8, 0x01);
	outb(0x3f9, 0x00);
	outb(0x3fb, 0x03);
	outb(0x3fa, 0x07);
	outb(0x3fc, 0x03);
}

void guest_main(int id)
{
	const char *why;
	uint64_t win;
	int st;

	if (id != 0)
		halt_forever();
	puts_serial("hostile-x86: chaos\n");
	for (win = VIRTIO_WIN_BASE; win < VIRTIO_WIN_BASE + VIRTIO_WIN_COUNT * VIRTIO_WIN_SIZE;
	     win += VIRTIO_WIN_SIZE)
		if (mmio_read32(win + VIRTIO_MAGIC_VALUE) == VIRTIO_MAGIC)
			windows[nr_windows++] = win;
	if (!nr_windows)
		fail("no virtio-mmio window");
	for (unsigned i = 0; i < ROUNDS; i++) {
		switch (rnd() % 8) {
		case 0: case 1: case 2: queue_round(); break;
		case 3: port_round(); break;
		default: register_round(); break;
		}
	}
	/* A well-behaved driver: every device reset, the console again. */
	for (unsigned i = 0; i < nr_windows; i++) {
		mmio_write32(windows[i] + VIRTIO_STATUS, 0);
		if (mmio_read32(windows[i] + VIRTIO_STATUS) != 0)
			fail("a device did not reset");
	}
	serial_setup();
	puts_serial("\nhostile-x86: chaos over, the disk again\n");
	win = virtio_find(2);
	if (!win)
		fail("no virtio-blk window");
	if ((why = vblk_init(win)))
		fail(why);
	for (unsigned s = 1; s <= PATTERN_SECTORS; s++) {
		for (unsigned i = 0; i < sizeof(vblk_data); i++)
			vblk_data[i] = (uint8_t)(s * 31 + i);
		memcpy(vblk_data, "HOSTILE-PATTERN", 15);
		if ((st = vblk_request(VBLK_OUT, s)) != 0)
			fail(st == VBLK_TIMEOUT ? "write timed out" : "write failed");
	}
	for (unsigned s = 1; s <= PATTERN_SECTORS; s++) {
		memset(vblk_data, 0, sizeof(vblk_data));
		if ((st = vblk_request(VBLK_IN, s)) != 0)
			fail(st == VBLK_TIMEOUT ? "read timed out" : "read failed");
		for (unsigned i = 15; i < sizeof(vblk_data); i++)
			if (vblk_data[i] != (uint8_t)(s * 31 + i))
				fail("the pattern read back differs");
	}
	puts_serial("HOSTILE-X86-SURVIVED rounds=");
	put_dec(ROUNDS);
	puts_serial(" windows=");
	put_dec(nr_windows);
	puts_serial(" needs-reset=");
	put_dec(needs_reset);
	puts_serial("\n");
	guest_exit(0);
}
