/* LR/SC counters (8.3): every hart increments two shared words ITER times
 * with lr.d/sc.d and lr.w/sc.w retry loops (constrained loops: 8.3 promises
 * they succeed eventually); the totals are exact only if an SC fails
 * whenever another hart stored to the word since the LR. The two counters
 * share one cache line, as Linux's spinlock and counter often do. */
#include "smp.h"
#define ITER 20000

	.text
	.globl smp_main
smp_main:
	mv s0, a0
	la s1, counters
	addi s2, s1, 8
	li s3, ITER
1:	lr.d t0, (s1)
	addi t0, t0, 1
	sc.d t1, t0, (s1)
	bnez t1, 1b
2:	lr.w.aq t0, (s2)
	addiw t0, t0, 1
	sc.w.rl t1, t0, (s2)
	bnez t1, 2b
	addi s3, s3, -1
	bnez s3, 1b
	BARRIER(1)
	bnez s0, 9f
	ld t0, 0(s1)
	li t1, ITER * NHARTS
	beq t0, t1, 3f
	SMP_FAIL(1)
3:	lw t0, 8(s1)
	beq t0, t1, 9f
	SMP_FAIL(2)
9:	ret

	.data
	.align 6
counters: .dword 0
	.word 0
