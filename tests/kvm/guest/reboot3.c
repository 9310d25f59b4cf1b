/* Three boots in one trevo run: the guest prints one line per boot,
 * reboots through the PIIX reset control register (0xcf9) after the first
 * and through the ACPI reset register (0x602) after the second, and powers
 * off on the third. The boot count lives at 2 MiB, outside every image
 * Trevo loads: a reset puts the images back (the code, the page tables)
 * but leaves the rest of RAM as it was, as on real hardware. */
#include "lib.h"

#define BOOT_MAGIC 0x33544f42u  /* "BOT3" */
static volatile uint32_t *const magic = (volatile uint32_t *)0x200000;
static volatile uint32_t *const boots = (volatile uint32_t *)0x200004;

void guest_main(int id)
{
	uint32_t n;

	(void)id;
	if (*magic != BOOT_MAGIC) {  /* fresh RAM reads zero */
		*magic = BOOT_MAGIC;
		*boots = 0;
	}
	n = ++*boots;
	puts_serial("boot ");
	put_dec(n);
	puts_serial("\n");
	if (n == 1)
		outb(0xcf9, 0x06);   /* SYS_RST | RST_CPU */
	else if (n == 2)
		outb(0x602, 0x0e);   /* X86_ACPI_RESET_VAL */
	else
		guest_exit(0);
	for (;;)
		__asm__ volatile("pause");
}
