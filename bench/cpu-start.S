/* Start-up for the CPU benchmark: hart 0 only, a stack, FP on, main(), then
 * power off through the SiFive test device. */
	.section .text.init
	.globl _start
_start:
	csrr t0, mhartid
	bnez t0, 2f
	la sp, cpu_stack_top
	li t0, 1 << 13			/* mstatus.FS = Initial */
	csrs mstatus, t0
	csrw fcsr, zero
	call main
	li t0, 0x100000
	li t1, 0x5555
	beqz a0, 1f
	slli a0, a0, 16
	li t1, 0x3333
	or t1, t1, a0
1:	sw t1, 0(t0)
2:	wfi
	j 2b

	.bss
	.align 12
	.space 16384
cpu_stack_top:
