/* Serial output through the shared NS16550A model, then a clean exit. */
#include "lib.h"

void guest_main(int id)
{
	puts_serial("hello from the KVM test guest on cpu ");
	put_dec(id);
	puts_serial("\n");
	guest_exit(0);
}
