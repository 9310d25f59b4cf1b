/* Every vCPU starts at the entry with its index in RDI; each reports, then
 * CPU 0 waits for all of them and ends the run. */
#include "lib.h"

#define NR 4

static volatile int console_lock;
static volatile int arrived;

void guest_main(int id)
{
	lock(&console_lock);
	puts_serial("cpu ");
	put_dec(id);
	puts_serial(" up\n");
	unlock(&console_lock);
	__atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
	if (id != 0)
		halt_forever();
	for (unsigned long spin = 0; __atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < NR; spin++) {
		__asm__ volatile("pause");
		if (spin > 400000000UL) {
			puts_serial("timeout waiting for the other cpus\n");
			guest_exit(4);
		}
	}
	lock(&console_lock);
	puts_serial("all ");
	put_dec(arrived);
	puts_serial(" cpus up\n");
	unlock(&console_lock);
	guest_exit(0);
}
