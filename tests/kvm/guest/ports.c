/* Port and MMIO exits: unassigned ports and addresses read as all ones,
 * a device register (UART scratch) reads back what was written, string
 * port I/O (rep outsb) reaches the device byte by byte. */
#include "lib.h"

static int failures;

static void check(const char *what, uint64_t got, uint64_t want)
{
	if (got != want) {
		puts_serial("FAIL ");
		puts_serial(what);
		puts_serial(": got ");
		put_hex(got);
		puts_serial(" want ");
		put_hex(want);
		puts_serial("\n");
		failures++;
	}
}

void guest_main(int id)
{
	static const char msg[] = "rep-outsb-ok\n";
	const char *p = msg;
	unsigned long n = sizeof(msg) - 1;

	(void)id;
	check("unassigned port inb", inb(0x2e0), 0xff);
	check("unassigned port inl", inl(0x2e0), 0xffffffff);
	outb(0x3ff, 0x5a);
	check("uart scratch", inb(0x3ff), 0x5a);
	outb(0x3ff, 0xa5);
	check("uart scratch 2", inb(0x3ff), 0xa5);
	check("unassigned mmio", mmio_read32(0xd8000000), 0xffffffff);
	mmio_write32(0xd8000000, 0x1234);  /* ignored */
	check("lapic version", mmio_read32(0xfee00030) & 0xff, 0x14);
	__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(0x3f8) : "memory");
	if (failures)
		guest_exit(3);
	puts_serial("ports ok\n");
	guest_exit(0);
}
