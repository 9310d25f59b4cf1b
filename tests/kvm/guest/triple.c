/* An exception with an empty IDT: #UD -> #DF -> triple fault. Trevo must
 * end with a non-zero status and say so. */
#include "lib.h"

void guest_main(int id)
{
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idt = { 0, 0 };

	(void)id;
	puts_serial("triple faulting\n");
	__asm__ volatile("lidt %0; ud2" :: "m"(idt));
	guest_exit(5);
}
