/* The exit port's value becomes trevo's exit status. */
#include "lib.h"

void guest_main(int id)
{
	(void)id;
	puts_serial("exiting with 7\n");
	guest_exit(7);
}
