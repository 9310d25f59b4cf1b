/* Software interrupts through the CLINT (msip) between harts, and WFI:
 * harts 1.. enable only MSIE and sleep in WFI; hart 0 raises each one's
 * msip in turn, ROUNDS times. Each woken hart clears its msip, counts the
 * interrupt (amoadd), and acknowledges; hart 0 waits for the acknowledgment
 * before the next one. A WFI that does not wake on its own hart's interrupt
 * times out; one that wakes a wrong hart is caught by the per-hart counts. */
#include "smp.h"
#define ROUNDS 200

	.text
	.globl smp_main
smp_main:
	mv s0, a0
	la t0, on_msi
	csrw mtvec, t0
	li t0, MIP_MSIP
	csrw mie, t0
	BARRIER(1)
	beqz s0, sender
	/* receivers: sleep until ROUNDS interrupts were taken (mstatus.MIE is
	 * off, so WFI wakes and the trap is taken when MIE is set below) */
	la s1, counts
	slli t0, s0, 3
	add s1, s1, t0
1:	wfi
	csrr t0, mip
	andi t0, t0, MIP_MSIP
	beqz t0, 1b
	/* take it: the handler clears msip and counts */
	csrsi mstatus, MSTATUS_MIE
	csrci mstatus, MSTATUS_MIE
	ld t0, 0(s1)
	li t1, ROUNDS
	blt t0, t1, 1b
	j done
sender:
	li s3, 0
1:	li s4, 1
2:	/* msip of hart s4 */
	li t0, CLINT_MSIP
	slli t1, s4, 2
	add t0, t0, t1
	li t1, 1
	la s1, counts
	slli t2, s4, 3
	add s1, s1, t2
	ld s2, 0(s1)
	sw t1, 0(t0)
3:	ld t0, 0(s1)		/* wait for the count to move */
	beq t0, s2, 3b
	addi s4, s4, 1
	li t0, NHARTS
	blt s4, t0, 2b
	addi s3, s3, 1
	li t0, ROUNDS
	blt s3, t0, 1b
	/* every receiver took exactly ROUNDS */
	li s4, 1
4:	la s1, counts
	slli t2, s4, 3
	add s1, s1, t2
	ld t0, 0(s1)
	li t1, ROUNDS
	beq t0, t1, 5f
	SMP_FAIL(1)
5:	addi s4, s4, 1
	li t0, NHARTS
	blt s4, t0, 4b
done:	BARRIER(2)
	ret

	.align 2
on_msi:	/* M-mode software interrupt: clear own msip, count */
	csrr t5, mcause
	bgez t5, 9f
	csrr t5, mhartid
	li t6, CLINT_MSIP
	slli t5, t5, 2
	add t6, t6, t5
	sw zero, 0(t6)
	fence w, r		/* the msip clear is seen before the count */
	csrr t5, mhartid
	la t6, counts
	slli t5, t5, 3
	add t6, t6, t5
	li t5, 1
	amoadd.d zero, t5, (t6)
	mret
9:	li a0, 251
	j smp_fail

	.data
	.align 6
counts: .skip 8 * 32
