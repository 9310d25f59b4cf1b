/* HLT with interrupts off on every vCPU: the machine is halted for good and
 * trevo ends with status 0, as after Linux's `halt`. */
#include "lib.h"

void guest_main(int id)
{
	if (id == 0)
		puts_serial("halting\n");
	halt_forever();
}
