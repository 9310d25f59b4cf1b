/* HTIF failure: (code << 1) | 1 written to tohost ends the run with exit
 * status code (here 5). trevo-only (no HTIF on QEMU's virt board).
 * expect-status: 5 */
#include "isa.h"

	.text
	.globl test_main
test_main:
	la t0, tohost
	li t1, (5 << 1) | 1
	sd t1, 0(t0)
1:	j 1b

	.section .tohost, "aw"
	.align 6
	.globl tohost, fromhost
tohost:	.dword 0
	.align 6
fromhost: .dword 0
