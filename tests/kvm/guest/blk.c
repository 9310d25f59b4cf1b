/* The virtio-blk test guest (driver in vblk.c): find the virtio-blk window
 * that trevo placed at 0xd0000000 and up, set up queue 0, read sector 0
 * (filled by the test script), write a pattern to sector 1 and read it back.
 * The test script then finds the pattern in the host file. Completion is
 * polled on the used ring; the interrupt status register must say so too.
 * Built with -DUSE_IRQ (blk_irq.bin), completion comes as an interrupt:
 * IOAPIC pin = the window's IRQ (trevo allocates 5 first), level-triggered
 * active high, vector 0x30 to the boot CPU's LAPIC, the 8259s masked.
 * Built with -DUSE_IRQ -DREBOOT_ONCE (blk_reboot.bin), the guest does it
 * all twice with a reboot (0xcf9) between: the IOAPIC, the LAPIC, the
 * device and the irqfd must all work again after a system reset. */
#include "vblk.h"

#ifdef USE_IRQ
#define IRQ_PIN 5
#define IRQ_VECTOR 0x30
static volatile unsigned irqs, isr_seen, spurious;

struct frame;
__attribute__((interrupt)) static void virtio_irq(struct frame *f)
{
	(void)f;
	uint32_t isr = vblk_read(VIRTIO_INT_STATUS);
	isr_seen |= isr;
	if (!isr)
		spurious++;
	vblk_write(VIRTIO_INT_ACK, isr);      /* lowers the level before the EOI */
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
#ifdef USE_IRQ
	uint16_t seen = vblk_used_idx();
	unsigned before = irqs;

	vblk_post(type, sector);
	vblk_write(VIRTIO_QUEUE_NOTIFY, 0);
	for (unsigned long spin = 0; irqs == before; spin++) {
		__asm__ volatile("pause");
		if (spin > 200000000UL)
			fail("no interrupt");
	}
	if (vblk_used_idx() == seen || !(isr_seen & 1))
		fail("interrupt without a used buffer");
	return vblk_status();
#else
	int st = vblk_request(type, sector);

	if (st == VBLK_TIMEOUT)
		fail("request timed out");
	if (st == VBLK_NO_ISR)
		fail("used buffer without interrupt status");
	return st;
#endif
}

void guest_main(int id)
{
	static const char pattern[] = "written by the kvm test guest";
	static const char marker[] = "host sector zero";
	const char *why;
	uint64_t win;
	int i;

	if (id != 0)
		halt_forever();
#ifdef REBOOT_ONCE
	irqs = isr_seen = spurious = 0;  /* .bss is not part of the image: a reset keeps it */
#endif
	win = virtio_find(2);
	if (!win)
		fail("no virtio-blk window");
	if ((why = vblk_init(win)))
		fail(why);
#ifdef USE_IRQ
	irq_setup();
#endif

	if (request(0, 0) != 0)
		fail("read of sector 0 failed");
	for (i = 0; marker[i]; i++)
		if (vblk_data[i] != (uint8_t)marker[i])
			fail("sector 0 does not hold the host's marker");
	memset(vblk_data, 0, sizeof(vblk_data));
	memcpy(vblk_data, pattern, sizeof(pattern));
	if (request(1, 1) != 0)
		fail("write of sector 1 failed");
	memset(vblk_data, 0, sizeof(vblk_data));
	if (request(0, 1) != 0)
		fail("read-back of sector 1 failed");
	for (i = 0; pattern[i]; i++)
		if (vblk_data[i] != (uint8_t)pattern[i])
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
