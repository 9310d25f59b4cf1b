/* AMO counters (8.4): every hart adds 1 with amoadd.d and amoadd.w ITER
 * times, and ORs its bit into a mask with amoor.w, and amomaxu.d its id;
 * the totals are exact (NHARTS * ITER), as they are only if each AMO is one
 * indivisible read-modify-write against the other harts'. */
#include "smp.h"
#define ITER 50000

	.text
	.globl smp_main
smp_main:
	mv s0, a0
	la s1, counter64
	la s2, counter32
	li s3, ITER
	li t3, 1
1:	amoadd.d zero, t3, (s1)
	amoadd.w.aqrl zero, t3, (s2)
	addi s3, s3, -1
	bnez s3, 1b
	sll t4, t3, s0
	la t0, mask
	amoor.w zero, t4, (t0)
	la t0, maxid
	amomaxu.d zero, s0, (t0)
	BARRIER(1)
	bnez s0, 9f
	ld t0, 0(s1)
	li t1, ITER * NHARTS
	beq t0, t1, 2f
	SMP_FAIL(1)
2:	lw t0, 0(s2)
	beq t0, t1, 3f
	SMP_FAIL(2)
3:	lw t0, mask
	li t1, (1 << NHARTS) - 1
	beq t0, t1, 4f
	SMP_FAIL(3)
4:	ld t0, maxid
	li t1, NHARTS - 1
	beq t0, t1, 9f
	SMP_FAIL(4)
9:	ret

	.data
	.align 6
counter64: .dword 0
	.align 6
counter32: .word 0
	.align 6
mask: .word 0
	.align 6
maxid: .dword 0
