/* Trevo ISA tests: start-up, pass/fail, and the common M-mode trap handler.
 * Linked into every test; see isa.h for the conventions. */
#include "isa.h"

	.section .text.init
	.globl _start
_start:
	/* Only hart 0 runs the test; others (if any) park. */
	csrr t0, mhartid
	bnez t0, park
	la sp, stack_top
	la t0, trap_entry
	csrw mtvec, t0
	la t0, trap_frame
	csrw mscratch, t0
	csrw mie, zero
	csrw medeleg, zero
	csrw mideleg, zero
	csrw satp, zero
	/* PMP: one NAPOT entry over everything, RWX, so that S/U-mode may
	 * access memory at all (QEMU enforces PMP; Trevo accepts it). */
	li t0, -1
	csrw pmpaddr0, t0
	li t0, 0x1f
	csrw pmpcfg0, t0
	li t0, MSTATUS_FS
	csrc mstatus, t0
	li t0, MSTATUS_FS_INITIAL
	csrs mstatus, t0
	csrw fcsr, zero
	li gp, 0
	call test_main
	j pass
park:
	wfi
	j park

	.text
	.globl pass
pass:
	li t0, TESTDEV
	li t1, 0x5555
	sw t1, 0(t0)
1:	j 1b

	.globl fail
fail:
	/* Back to a sane state in case a test left M-mode translation on. */
	li t0, MSTATUS_MPRV
	csrc mstatus, t0
	la sp, stack_top
	mv s0, gp
	la a0, msg_fail
	call puts
	mv a0, s0
	call puthex
	/* the last trap, to help whoever debugs the failure */
	la a0, msg_last
	call puts
	la s1, trap_cause
	ld a0, 0(s1)
	call puthex
	la a0, msg_epc
	call puts
	ld a0, 8(s1)
	call puthex
	la a0, msg_tval
	call puts
	ld a0, 16(s1)
	call puthex
	li a0, '\n'
	call putc
	/* Exit code: the case number; never 0 modulo 256 (status is 8 bits). */
	andi a0, s0, 0xff
	bnez a0, 1f
	li a0, 0xff
1:	slli a0, a0, 16
	li t1, 0x3333
	or a0, a0, t1
	li t0, TESTDEV
	sw a0, 0(t0)
2:	j 2b

	.globl putc
putc:	/* a0 = byte; NS16550A, wait for THR empty (LSR bit 5) */
	li t0, UART_BASE
1:	lbu t1, 5(t0)
	andi t1, t1, 0x20
	beqz t1, 1b
	sb a0, 0(t0)
	ret

	.globl puts
puts:	/* a0 = NUL-terminated string */
	addi sp, sp, -16
	sd ra, 0(sp)
	sd s1, 8(sp)
	mv s1, a0
1:	lbu a0, 0(s1)
	beqz a0, 2f
	call putc
	addi s1, s1, 1
	j 1b
2:	ld ra, 0(sp)
	ld s1, 8(sp)
	addi sp, sp, 16
	ret

	.globl puthex
puthex:	/* a0 = value, printed as 0x and 16 hex digits */
	addi sp, sp, -32
	sd ra, 0(sp)
	sd s1, 8(sp)
	sd s2, 16(sp)
	mv s1, a0
	li a0, '0'
	call putc
	li a0, 'x'
	call putc
	li s2, 60
1:	srl a0, s1, s2
	andi a0, a0, 15
	addi a0, a0, '0'
	li t0, '9'
	ble a0, t0, 2f
	addi a0, a0, 'a' - '0' - 10
2:	call putc
	addi s2, s2, -4
	bgez s2, 1b
	ld ra, 0(sp)
	ld s1, 8(sp)
	ld s2, 16(sp)
	addi sp, sp, 32
	ret

/* The common trap handler. mscratch always points at trap_frame. */
	.align 4
	.globl trap_entry
trap_entry:
	csrrw sp, mscratch, sp
	sd x1, 8(sp)
	sd x3, 24(sp)
	sd x4, 32(sp)
	sd x5, 40(sp)
	sd x6, 48(sp)
	sd x7, 56(sp)
	sd x8, 64(sp)
	sd x9, 72(sp)
	sd x10, 80(sp)
	sd x11, 88(sp)
	sd x12, 96(sp)
	sd x13, 104(sp)
	sd x14, 112(sp)
	sd x15, 120(sp)
	sd x16, 128(sp)
	sd x17, 136(sp)
	sd x18, 144(sp)
	sd x19, 152(sp)
	sd x20, 160(sp)
	sd x21, 168(sp)
	sd x22, 176(sp)
	sd x23, 184(sp)
	sd x24, 192(sp)
	sd x25, 200(sp)
	sd x26, 208(sp)
	sd x27, 216(sp)
	sd x28, 224(sp)
	sd x29, 232(sp)
	sd x30, 240(sp)
	sd x31, 248(sp)
	csrr t0, mscratch
	sd t0, 16(sp)
	csrw mscratch, sp
	/* Record the trap for the test to check. */
	csrr a1, mcause
	csrr a2, mepc
	csrr a3, mtval
	csrr t1, mstatus
	la t0, trap_cause
	sd a1, 0(t0)
	sd a2, 8(t0)
	sd a3, 16(t0)
	sd t1, 24(t0)
	ld t1, 32(t0)		/* trap_count */
	addi t1, t1, 1
	sd t1, 32(t0)
	ld t1, 48(t0)		/* trap_hook */
	beqz t1, trap_default
	mv a0, sp
	la sp, trap_stack_top
	jalr t1
	csrr sp, mscratch
	beqz a0, trap_return
trap_default:
	la t0, trap_resume
	ld t1, 0(t0)
	beqz t1, trap_unexpected
	sd zero, 0(t0)
	csrw mepc, t1
	/* Resume in M-mode, without MPRV, with interrupts off (MIE = 0). */
	li t0, MSTATUS_MPP
	csrs mstatus, t0
	li t0, MSTATUS_MPRV | MSTATUS_MPIE
	csrc mstatus, t0
trap_return:
	ld x1, 8(sp)
	ld x3, 24(sp)
	ld x4, 32(sp)
	ld x5, 40(sp)
	ld x6, 48(sp)
	ld x7, 56(sp)
	ld x8, 64(sp)
	ld x9, 72(sp)
	ld x10, 80(sp)
	ld x11, 88(sp)
	ld x12, 96(sp)
	ld x13, 104(sp)
	ld x14, 112(sp)
	ld x15, 120(sp)
	ld x16, 128(sp)
	ld x17, 136(sp)
	ld x18, 144(sp)
	ld x19, 152(sp)
	ld x20, 160(sp)
	ld x21, 168(sp)
	ld x22, 176(sp)
	ld x23, 184(sp)
	ld x24, 192(sp)
	ld x25, 200(sp)
	ld x26, 208(sp)
	ld x27, 216(sp)
	ld x28, 224(sp)
	ld x29, 232(sp)
	ld x30, 240(sp)
	ld x31, 248(sp)
	ld x2, 16(sp)
	mret

trap_unexpected:
	li t0, MSTATUS_MPRV
	csrc mstatus, t0
	la sp, stack_top
	la a0, msg_trap
	call puts
	csrr a0, mcause
	call puthex
	la a0, msg_epc
	call puts
	csrr a0, mepc
	call puthex
	la a0, msg_tval
	call puts
	csrr a0, mtval
	call puthex
	li a0, '\n'
	call putc
	csrr t0, mscratch
	ld gp, 24(t0)
	j fail

	.section .rodata
msg_fail:	.asciz "isa: FAIL case "
msg_last:	.asciz " (last trap: mcause="
msg_trap:	.asciz "isa: unexpected trap mcause="
msg_epc:	.asciz " mepc="
msg_tval:	.asciz " mtval="

	.data
	.align 3
	.globl trap_cause, trap_epc, trap_tval, trap_status, trap_count, trap_resume, trap_hook
trap_cause:	.dword 0
trap_epc:	.dword 0
trap_tval:	.dword 0
trap_status:	.dword 0
trap_count:	.dword 0
trap_resume:	.dword 0
trap_hook:	.dword 0
	.globl trap_frame
	.align 4
trap_frame:	.space 256

	.bss
	.align 12
	.space 8192
	.globl stack_top
stack_top:
	.space 4096
	.globl trap_stack_top
trap_stack_top:
