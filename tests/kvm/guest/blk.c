/* A tiny virtio-mmio (version 2) block driver: find the virtio-blk window
 * that trevo placed at 0xd0000000 and up, set up queue 0 by the driver
 * initialisation sequence (virtio 1.2 section 3.1.1, 4.2.3), read sector 0
 * (filled by the test script), write a pattern to sector 1 and read it back.
 * The test script then finds the pattern in the host file. Completion is
 * polled on the used ring; the interrupt status register must say so too.
 * Built with -DUSE_IRQ (blk_irq.bin), completion comes as an interrupt:
 * IOAPIC pin = the window's IRQ (trevo allocates 5 first), level-triggered
 * active high, vector 0x30 to the boot CPU's LAPIC, the 8259s masked.
 * Built with -DUSE_IRQ -DREBOOT_ONCE (blk_reboot.bin), the guest does it
 * all twice with a reboot (0xcf9) between: the IOAPIC, the LAPIC, the
 * device and the irqfd must all work again after a system reset. */
#include "lib.h"

#define WIN_BASE 0xd0000000UL
#define QSIZE 8

enum {
	MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEV_FEAT = 0x010, DEV_FEAT_SEL = 0x014,
	DRV_FEAT = 0x020, DRV_FEAT_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034,
	QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, INT_STATUS = 0x060,
	INT_ACK = 0x064, STATUS = 0x070, DESC_LO = 0x080, DESC_HI = 0x084, DRIVER_LO = 0x090,
	DRIVER_HI = 0x094, DEVICE_LO = 0x0a0, DEVICE_HI = 0x0a4,
};

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QSIZE], used_event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QSIZE]; uint16_t avail_event; };
struct req_hdr { uint32_t type, reserved; uint64_t sector; };

static struct desc descs[QSIZE] __attribute__((aligned(16)));
static struct avail avail __attribute__((aligned(2)));
static struct used used __attribute__((aligned(4)));
static struct req_hdr hdr;
static uint8_t data[512] __attribute__((aligned(16)));
static volatile uint8_t status_byte;
static uint64_t win;

static uint32_t rd(uint32_t off) { return mmio_read32(win + off); }
static void wr(uint32_t off, uint32_t v) { mmio_write32(win + off, v); }

#ifdef USE_IRQ
#define IRQ_PIN 5
#define IRQ_VECTOR 0x30
static volatile unsigned irqs, isr_seen, spurious;

struct frame;
__attribute__((interrupt)) static void virtio_irq(struct frame *f)
{
	(void)f;
	uint32_t isr = rd(INT_STATUS);
	isr_seen |= isr;
	if (!isr)
		spurious++;
	wr(INT_ACK, isr);      /* lowers the level before the EOI */
	irqs++;
	mmio_write32(0xfee000b0, 0);  /* LAPIC EOI */
}

struct __attribute__((packed)) gate {
	uint16_t off_lo, sel;
	uint8_t ist, attr;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};
static struct gate idt[256] __attribute__((aligned(16)));

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(0xfec00000, reg);
	mmio_write32(0xfec00010, v);
}

static void irq_setup(void)
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr = { sizeof(idt) - 1, (uint64_t)idt };
	uint64_t h = (uint64_t)virtio_irq;

	idt[IRQ_VECTOR] = (struct gate){ (uint16_t)h, 0x10, 0, 0x8e, (uint16_t)(h >> 16), (uint32_t)(h >> 32), 0 };
	__asm__ volatile("lidt %0" :: "m"(idtr));
	outb(0x21, 0xff);      /* mask both 8259s: the IOAPIC delivers */
	outb(0xa1, 0xff);
	mmio_write32(0xfee000f0, 0x1ff);  /* LAPIC SVR: enabled, spurious 0xff */
	mmio_write32(0xfee00080, 0);      /* TPR */
	ioapic_write(0x11 + 2 * IRQ_PIN, 0);                       /* to APIC id 0 */
	ioapic_write(0x10 + 2 * IRQ_PIN, IRQ_VECTOR | (1u << 15)); /* level, high */
	__asm__ volatile("sti");
}
#endif

static void fail(const char *why)
{
	puts_serial("blk FAIL: ");
	puts_serial(why);
	puts_serial("\n");
	guest_exit(6);
}

static int request(uint32_t type, uint64_t sector)
{
	uint16_t seen = used.idx;

	hdr.type = type;  /* 0 IN (read), 1 OUT (write) */
	hdr.sector = sector;
	status_byte = 0xff;
	descs[0] = (struct desc){ (uint64_t)&hdr, sizeof(hdr), 1, 1 };
	descs[1] = (struct desc){ (uint64_t)data, sizeof(data), (uint16_t)(1 | (type == 0 ? 2 : 0)), 2 };
	descs[2] = (struct desc){ (uint64_t)&status_byte, 1, 2, 0 };
	avail.ring[avail.idx % QSIZE] = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail.idx++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#ifdef USE_IRQ
	unsigned before = irqs;
	wr(QUEUE_NOTIFY, 0);
	for (unsigned long spin = 0; irqs == before; spin++) {
		__asm__ volatile("pause");
		if (spin > 200000000UL)
			fail("no interrupt");
	}
	if (*(volatile uint16_t *)&used.idx == seen || !(isr_seen & 1))
		fail("interrupt without a used buffer");
#else
	wr(QUEUE_NOTIFY, 0);
	for (unsigned long spin = 0; *(volatile uint16_t *)&used.idx == seen; spin++) {
		__asm__ volatile("pause");
		if (spin > 200000000UL)
			fail("request timed out");
	}
	if (!(rd(INT_STATUS) & 1))
		fail("used buffer without interrupt status");
	wr(INT_ACK, 1);
#endif
	return status_byte;
}

void guest_main(int id)
{
	static const char pattern[] = "written by the kvm test guest";
	static const char marker[] = "host sector zero";
	int i;

	if (id != 0)
		halt_forever();
#ifdef REBOOT_ONCE
	/* .bss is not part of the image, so a reset does not clear it. */
	memset(descs, 0, sizeof(descs));
	memset((void *)&avail, 0, sizeof(avail));
	memset((void *)&used, 0, sizeof(used));
	irqs = isr_seen = spurious = 0;
#endif
	for (win = WIN_BASE; win < WIN_BASE + 16 * 0x1000; win += 0x1000)
		if (rd(MAGIC) == 0x74726976 && rd(DEVICE_ID) == 2)
			break;
	if (win == WIN_BASE + 16 * 0x1000)
		fail("no virtio-blk window");
	if (rd(VERSION) != 2)
		fail("not virtio-mmio version 2");
	wr(STATUS, 0);
	wr(STATUS, 1);          /* ACKNOWLEDGE */
	wr(STATUS, 1 | 2);      /* DRIVER */
	wr(DEV_FEAT_SEL, 1);
	if (!(rd(DEV_FEAT) & 1))
		fail("no VIRTIO_F_VERSION_1");
	wr(DRV_FEAT_SEL, 0);
	wr(DRV_FEAT, 0);
	wr(DRV_FEAT_SEL, 1);
	wr(DRV_FEAT, 1);        /* VIRTIO_F_VERSION_1 only */
	wr(STATUS, 1 | 2 | 8);  /* FEATURES_OK */
	if (!(rd(STATUS) & 8))
		fail("features refused");
	wr(QUEUE_SEL, 0);
	if (rd(QUEUE_NUM_MAX) < QSIZE)
		fail("queue too small");
	wr(QUEUE_NUM, QSIZE);
	wr(DESC_LO, (uint32_t)(uint64_t)descs);
	wr(DESC_HI, 0);
	wr(DRIVER_LO, (uint32_t)(uint64_t)&avail);
	wr(DRIVER_HI, 0);
	wr(DEVICE_LO, (uint32_t)(uint64_t)&used);
	wr(DEVICE_HI, 0);
	wr(QUEUE_READY, 1);
	wr(STATUS, 1 | 2 | 8 | 4);  /* DRIVER_OK */
#ifdef USE_IRQ
	irq_setup();
#endif

	if (request(0, 0) != 0)
		fail("read of sector 0 failed");
	for (i = 0; marker[i]; i++)
		if (data[i] != (uint8_t)marker[i])
			fail("sector 0 does not hold the host's marker");
	memset(data, 0, sizeof(data));
	memcpy(data, pattern, sizeof(pattern));
	if (request(1, 1) != 0)
		fail("write of sector 1 failed");
	memset(data, 0, sizeof(data));
	if (request(0, 1) != 0)
		fail("read-back of sector 1 failed");
	for (i = 0; pattern[i]; i++)
		if (data[i] != (uint8_t)pattern[i])
			fail("sector 1 read back differs");
#ifdef USE_IRQ
	puts_serial("blk irq ok: ");
	put_dec(irqs);
	puts_serial(" interrupts, ");
	put_dec(spurious);
	puts_serial(" with ISR 0\n");
#else
	puts_serial("blk ok\n");
#endif
#ifdef REBOOT_ONCE
	{
		/* The boot count at 2 MiB, outside the image (see reboot3.c). */
		volatile uint32_t *magic = (volatile uint32_t *)0x200000;
		if (*magic != 0x31544f42u) {  /* "BOT1" */
			*magic = 0x31544f42u;
			puts_serial("first boot done, rebooting\n");
			outb(0xcf9, 0x06);
			for (;;)
				__asm__ volatile("pause");
		}
		puts_serial("second boot done\n");
	}
#endif
	guest_exit(0);
}
