/* A reboot through the keyboard controller (port 0x64, command 0xfe), or
 * through the ACPI sleep register (S5) when built with -DACPI_S5. */
#include "lib.h"

void guest_main(int id)
{
	(void)id;
#ifdef ACPI_S5
	puts_serial("acpi poweroff\n");
	outb(0x600, (5 << 2) | (1 << 5));
#else
	puts_serial("rebooting\n");
	outb(0x64, 0xfe);
#endif
	for (;;)
		__asm__ volatile("pause");
}
