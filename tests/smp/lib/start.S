/* Start-up of the SMP litmus tests (see smp.h). */
#include "smp.h"

	.section .text.init
	.globl _start
_start:
	csrr a0, mhartid
	li t0, NHARTS
	bgeu a0, t0, smp_idle
	la t0, smp_trap
	csrw mtvec, t0
	csrw mie, zero
	/* stack: 4 KiB per hart */
	la sp, smp_stacks
	addi t0, a0, 1
	slli t0, t0, 12
	add sp, sp, t0
	li t0, -1
	csrw pmpaddr0, t0
	li t0, 0x1f
	csrw pmpcfg0, t0
	call smp_main
	/* smp_main returned: only hart 0 passes; the others wait */
	csrr t0, mhartid
	beqz t0, smp_pass
smp_idle:
	wfi
	j smp_idle

	.text
	.globl smp_pass
smp_pass:
	li t0, TESTDEV
	li t1, 0x5555
	sw t1, 0(t0)
1:	j 1b

	.globl smp_fail
smp_fail:	/* a0 = case number (1..255) */
	andi a0, a0, 0xff
	bnez a0, 1f
	li a0, 0xff
1:	slli a0, a0, 16
	li t1, 0x3333
	or a0, a0, t1
	li t0, TESTDEV
	sw a0, 0(t0)
2:	j 2b

	.align 2
smp_trap:	/* an unexpected trap: case 250 */
	li a0, 250
	j smp_fail

	.data
	.align 6
	.globl smp_barrier_count
smp_barrier_count: .dword 0
	.bss
	.align 12
smp_stacks: .skip 4096 * NHARTS
