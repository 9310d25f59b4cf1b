/* HTIF: an ELF with a `tohost` symbol ends the run by writing it; 1 =
 * pass. trevo-only: QEMU's virt board has no HTIF (the write is a plain RAM
 * store there and the test would spin until its timeout). */
#include "isa.h"

	.text
	.globl test_main
test_main:
	TEST_RR(1, add, 3, 1, 2)
	la t0, tohost
	li t1, 1
	sd t1, 0(t0)
1:	j 1b

	.section .tohost, "aw"
	.align 6
	.globl tohost, fromhost
tohost:	.dword 0
	.align 6
fromhost: .dword 0
