/* Remote TLB shootdown: hart 0 changes a page table entry that the other
 * harts have used, and they must see the new mapping after the remote fence
 * (privileged spec 4.2.1: SFENCE.VMA orders the stores to the page tables
 * the executing hart has observed before its later implicit references; a
 * hart's SFENCE.VMA does nothing for another hart's TLB, so the writer
 * needs the others to execute one, as Linux's flush_tlb_* do).
 *
 * Every hart runs in S-mode under Sv39 (identity gigapages for the devices
 * and RAM, and TVA, one 4 KiB page whose leaf points at page0 or page1).
 * Round r maps TVA to page[r & 1]. The readers keep loading through TVA, so
 * the old translation stays hot in their TLBs.
 *  Phase 1, ROUNDS rounds, the handshake in memory: hart 0 writes the
 *   leaf, fence rw,rw, req = r; each reader waits for req == r, executes
 *   sfence.vma and must then read page[r & 1] through TVA (case 1: the old
 *   page, case 2: anything else), then adds 1 to acks; hart 0 waits for
 *   all acks before the next round.
 *  Phase 2, IPI_ROUNDS rounds, as Linux in full mode (SBI IPI through
 *   OpenSBI): hart 0 writes the leaf, fence rw,rw, and sets each reader's
 *   CLINT msip; the reader's M-mode handler clears it and raises its
 *   SSIP; the S-mode handler (delegated) executes sfence.vma, checks TVA
 *   (cases 3, 4) and acks.
 * Without the readers' sfence.vma, phase 1 fails with case 1 (checked by
 * deleting it: the stale translation is read). Phase 2 would not: Trevo
 * empties a hart's TLB when its privilege changes (trap.c), which the
 * M-mode handler does. Unexpected traps: 250 in M-mode, 251 in S-mode.
 * Registers: the M-mode handler uses t5, t6 only and the S-mode one t3, t4
 * and the readers' s1, s3, s4, so that neither disturbs what it interrupts. */
#include "smp.h"
#define ROUNDS 60
#define IPI_ROUNDS 30
#define TVA 0xc007b000		/* VPN[2] 3, VPN[1] 0, VPN[0] 0x7b */
#define LEAF 0xcf		/* V R W X A D */
#define LEAF_RW 0xc7		/* V R W A D */
#define VAL0 0x111
#define VAL1 0x222

	.text
	.globl smp_main
smp_main:
	mv s0, a0
	bnez s0, 1f
	/* hart 0 builds the page tables */
	la t0, root
	li t1, LEAF			/* [0]: 0 - 1 GiB, devices */
	sd t1, 0(t0)
	li t1, ((0x80000000 >> 12) << 10) | LEAF	/* [2]: RAM */
	sd t1, 16(t0)
	la t1, l1
	srli t1, t1, 12
	slli t1, t1, 10
	ori t1, t1, 1
	sd t1, 24(t0)			/* [3]: TVA's gigabyte */
	la t0, l1
	la t1, l0
	srli t1, t1, 12
	slli t1, t1, 10
	ori t1, t1, 1
	sd t1, 0(t0)
	la t0, page0
	li t1, VAL0
	sd t1, 0(t0)
	la t0, page1
	li t1, VAL1
	sd t1, 0(t0)
	la t0, l0
	addi t0, t0, 0x7b * 8
	la t1, page0
	srli t1, t1, 12
	slli t1, t1, 10
	ori t1, t1, LEAF_RW
	sd t1, 0(t0)			/* round 0: page0 */
	fence rw, rw
1:	BARRIER(1)
	/* every hart: Sv39, the handlers, then S-mode */
	la t0, root
	srli t0, t0, 12
	li t1, 8 << 60
	or t0, t0, t1
	csrw satp, t0
	sfence.vma
	la t0, m_trap
	csrw mtvec, t0
	la t0, s_trap
	csrw stvec, t0
	li t0, MIP_SSIP
	csrw mideleg, t0
	li t0, MIP_MSIP | MIP_SSIP
	csrw mie, t0
	li t0, MSTATUS_MPP
	csrc mstatus, t0
	li t0, MSTATUS_MPP_S
	csrs mstatus, t0
	la t0, s_main
	csrw mepc, t0
	mret

s_main:
	li s1, TVA
	ld t0, 0(s1)			/* the translation of round 0, cached */
	la s2, req
	la s3, acks
	li s4, 1
	li s5, ROUNDS
	BARRIER(2)
	bnez s0, reader

writer:
	la s1, l0
	addi s1, s1, 0x7b * 8
	la t0, page0
	srli t0, t0, 12
	slli t0, t0, 10
	ori s7, t0, LEAF_RW
	la t0, page1
	srli t0, t0, 12
	slli t0, t0, 10
	ori s8, t0, LEAF_RW
	li s9, NHARTS - 1
	li s5, ROUNDS + IPI_ROUNDS
1:	andi t0, s4, 1
	mv t1, s7
	beqz t0, 2f
	mv t1, s8
2:	sd t1, 0(s1)			/* the leaf of round r */
	fence rw, rw
	li t0, ROUNDS
	bgt s4, t0, 3f
	sd s4, 0(s2)			/* phase 1: req = r */
	j 5f
3:	li t0, 1			/* phase 2: an IPI to every reader */
	li t1, CLINT_MSIP + 4
	li t2, 1
	li t3, NHARTS
4:	sw t0, 0(t1)
	addi t1, t1, 4
	addi t2, t2, 1
	blt t2, t3, 4b
5:	mul t0, s4, s9
6:	ld t1, 0(s3)			/* all acks of round r */
	blt t1, t0, 6b
	addi s4, s4, 1
	ble s4, s5, 1b
	j done

reader:
1:	ld t0, 0(s1)			/* keeps the old translation hot */
	ld t1, 0(s2)
	bne t1, s4, 1b
	sfence.vma zero, zero		/* the remote fence, on this hart */
	ld t0, 0(s1)
	andi t1, s4, 1
	li t2, VAL0
	beqz t1, 2f
	li t2, VAL1
2:	beq t0, t2, 3f
	xori t2, t2, VAL0 ^ VAL1	/* the other page's value */
	bne t0, t2, 4f
	SMP_FAIL(1)
4:	SMP_FAIL(2)
3:	li t1, 1
	amoadd.d zero, t1, (s3)
	addi s4, s4, 1
	ble s4, s5, 1b
	/* phase 2: the S-mode handler checks and counts the rounds in s4 */
	li s5, ROUNDS + IPI_ROUNDS
	csrsi sstatus, MSTATUS_SIE
5:	ld t0, 0(s1)
	ble s4, s5, 5b
	csrci sstatus, MSTATUS_SIE

done:	BARRIER(3)
	beqz s0, smp_pass
7:	wfi
	j 7b

	/* Supervisor software interrupt (phase 2): the IPI's local part */
	.align 2
s_trap:
	csrr t3, scause
	li t4, -1
	slli t4, t4, 63
	addi t4, t4, 1			/* supervisor software interrupt */
	beq t3, t4, 1f
	li a0, 251
	j smp_fail
1:	csrci sip, MIP_SSIP
	sfence.vma zero, zero
	ld t3, 0(s1)
	andi t4, s4, 1
	bnez t4, 2f
	li t4, VAL0
	j 3f
2:	li t4, VAL1
3:	beq t3, t4, 4f
	xori t4, t4, VAL0 ^ VAL1
	bne t3, t4, 5f
	SMP_FAIL(3)
5:	SMP_FAIL(4)
4:	addi s4, s4, 1
	li t4, 1
	amoadd.d zero, t4, (s3)
	sret

	/* Machine software interrupt: clear it, hand it to S-mode (SSIP) */
	.align 2
m_trap:
	csrr t6, mcause
	li t5, -1
	slli t5, t5, 63
	addi t5, t5, 3			/* machine software interrupt */
	beq t6, t5, 1f
	li a0, 250
	j smp_fail
1:	csrr t6, mhartid
	slli t6, t6, 2
	li t5, CLINT_MSIP
	add t5, t5, t6
	sw zero, 0(t5)
	li t6, MIP_SSIP
	csrs mip, t6
	mret

	.data
	.align 6
req: .dword 0
	.align 6
acks: .dword 0
	.align 12
root: .skip 4096
l1: .skip 4096
l0: .skip 4096
page0: .skip 4096
page1: .skip 4096
