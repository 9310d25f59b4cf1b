/* Priority of simultaneous machine interrupts: MEI, MSI, MTI, SEI, SSI, STI
 * (priv spec 3.1.9). trevo-only: QEMU 7.2 takes SSI before MSI and MTI. */
#include "isa.h"

	.text
	.globl test_main
test_main:
	SET_HOOK(order_hook)
	TEST_CASE(1)
	li t0, CLINT_MTIME; ld t1, 0(t0); li t0, CLINT_MTIMECMP; sd t1, 0(t0)
	li t0, CLINT_MSIP; li t1, 1; sw t1, 0(t0)
	li t0, MIP_SSIP; csrs mip, t0
	li t1, 10000000; 1: csrr a4, mip; andi a4, a4, MIP_MTIP; bnez a4, 2f; addi t1, t1, -1; bnez t1, 1b; j fail; 2:
	li t0, MIP_SSIP | MIP_MSIP | MIP_MTIP; csrw mie, t0
	la t0, intr_order; sd zero, 0(t0)
	csrsi mstatus, MSTATUS_MIE; nop; nop; nop; csrci mstatus, MSTATUS_MIE
	TEST_CASE(2); la t0, intr_order; ld a4, 0(t0); ASSERT_IMM(a4, 0x371)	/* 3, then 7, then 1 */
	/* MTI before SSI */
	TEST_CASE(3)
	li t0, CLINT_MTIME; ld t1, 0(t0); li t0, CLINT_MTIMECMP; sd t1, 0(t0)
	li t0, MIP_SSIP; csrs mip, t0
	li t1, 10000000; 1: csrr a4, mip; andi a4, a4, MIP_MTIP; bnez a4, 2f; addi t1, t1, -1; bnez t1, 1b; j fail; 2:
	la t0, intr_order; sd zero, 0(t0)
	csrsi mstatus, MSTATUS_MIE; nop; nop; nop; csrci mstatus, MSTATUS_MIE
	TEST_CASE(4); la t0, intr_order; ld a4, 0(t0); ASSERT_IMM(a4, 0x71)
	csrw mie, zero
	TEST_PASS

/* record the cause as a hex digit, silence its source */
order_hook:
	bgez a1, 9f
	la t0, intr_order
	ld t1, 0(t0)
	slli t1, t1, 4
	andi t2, a1, 15
	or t1, t1, t2
	sd t1, 0(t0)
	li t1, 7
	bne t2, t1, 1f
	li t0, CLINT_MTIMECMP
	li t1, -1
	sd t1, 0(t0)
	j 8f
1:	li t1, 3
	bne t2, t1, 2f
	li t0, CLINT_MSIP
	sw zero, 0(t0)
	j 8f
2:	li t1, MIP_SSIP
	csrc mip, t1
8:	li a0, 0
	ret
9:	li a0, 1
	ret

	.data
	.align 3
intr_order:	.dword 0
