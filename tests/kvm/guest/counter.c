/* A guest for snapshot tests (tests/migrate): counts in memory at 2 MiB,
 * prints "count N" after each step of busy work, and powers off at 60. Its
 * only state is its registers and that RAM, so a restored copy must go on
 * from the last count it printed, never start again ("counter start"). */
#include "lib.h"

static volatile uint64_t *const counter = (volatile uint64_t *)0x200000;

void guest_main(int id)
{
	if (id != 0)
		for (;;)
			__asm__ volatile("hlt");
	puts_serial("counter start\n");
	*counter = 0;
	while (*counter < 60) {
		for (volatile uint64_t spin = 0; spin < 20000; spin++)
			;
		++*counter;
		puts_serial("count ");
		put_dec(*counter);
		puts_serial("\n");
	}
	guest_exit(0);
}
