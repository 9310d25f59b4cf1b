/* Code written by one hart and executed by another (Zifencei, chapter 3:
 * the executing hart's FENCE.I makes the other's earlier stores visible to
 * its instruction fetch once it has observed them): hart 0 rewrites a
 * two-instruction function "li a0, K; ret" for K = 1 .. ROUNDS, publishes K
 * after a fence w,w, and waits; hart 1 waits for K, runs fence.i, calls the
 * function (decoded and cached in the shared block cache from the previous
 * rounds) and must get K. Hart 1 also runs it between rounds, so that the
 * old code is hot when it is replaced. Harts 2.. run their own copy of the
 * check on a buffer of their own, written by themselves. The calls link
 * through ra, so smp_main keeps its own return address in s6. */
#include "smp.h"
#define ROUNDS 150
#define LI_A0(k) (((k) << 20) | 0x513)	/* addi a0, zero, k */
#define RET 0x00008067

	.text
	.globl smp_main
smp_main:
	mv s6, ra		/* jalr s1 below overwrites ra */
	mv s0, a0
	la s1, code
	la s2, flag
	la s3, ack
	li s4, 1
	li s5, ROUNDS
	li t0, RET
	sw t0, 4(s1)
	li t0, LI_A0(0)
	sw t0, 0(s1)
	fence.i
	BARRIER(1)
	li t0, 1
	beqz s0, writer
	beq s0, t0, runner
	j self
writer:
1:	slli t0, s4, 20
	ori t0, t0, 0x513
	sw t0, 0(s1)
	fence w, w
	sd s4, 0(s2)
2:	ld t0, 0(s3)
	bne t0, s4, 2b
	addi s4, s4, 1
	ble s4, s5, 1b
	j done
runner:
1:	jalr s1			/* the old code, hot */
	ld t0, 0(s2)
	bne t0, s4, 1b
	fence.i
	jalr s1
	beq a0, s4, 2f
	j diag
2:	sd s4, 0(s3)
	addi s4, s4, 1
	ble s4, s5, 1b
	j done
self:	/* harts 2..: own buffer, own fence.i */
	la s1, own
	slli t0, s0, 4
	add s1, s1, t0
	li t0, RET
	sw t0, 4(s1)
1:	slli t0, s4, 20
	ori t0, t0, 0x513
	sw t0, 0(s1)
	fence.i
	jalr s1
	beq a0, s4, 2f
	j diag
2:	addi s4, s4, 1
	ble s4, s5, 1b
done:	BARRIER(2)
	mv ra, s6
	ret
	/* The call returned the wrong value: tell why in the status.
	 * 100 + (word in memory - expected), when the instruction word in
	 * memory is not the expected one (the data itself is late: 99 = one
	 * round behind); 11 when memory is right and a second fence.i and
	 * call give the right value (stale decoded code); 12 when even the
	 * second call is wrong. */
diag:	lw t0, 0(s1)
	slli t1, s4, 20
	ori t1, t1, 0x513
	beq t0, t1, 1f
	srli t0, t0, 20
	sub a0, t0, s4
	addi a0, a0, 100
	andi a0, a0, 0xff
	j smp_fail
1:	fence.i
	jalr s1
	bne a0, s4, 2f
	SMP_FAIL(11)
2:	SMP_FAIL(12)

	.data
	.align 12
code: .word 0, 0
	.align 6
flag: .dword 0
	.align 6
ack: .dword 0
	.align 12
own: .skip 16 * NHARTS
