/* Synchronous exceptions taken to M-mode with exact mcause, mepc and mtval
 * (priv spec 3.1.15-3.1.16, 3.3, table 3.6): illegal instructions (mtval =
 * the instruction bits), ecall from U/S/M, ebreak, access faults on
 * unmapped physical addresses, and the mstatus stack on trap and mret. */
#include "isa.h"

#define MODE_TRAPS(n, mode, lbl, cause) TRAP_BEGIN(n); GOTO_MODE(mode, lbl); TRAP_END(cause); CHECK_EPC(lbl)

	.text
	.globl test_main
test_main:
	/* illegal instructions; mtval holds the instruction (or its 16 bits) */
	TRAP_BEGIN(1); 98: .word 0; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b); CHECK_TVAL(0)
	TRAP_BEGIN(2); 98: .word 0xffffffff; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b); CHECK_TVAL(0xffffffff)
	TRAP_BEGIN(3); 98: .word 0x0000000b; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b); CHECK_TVAL(0x0000000b)	/* custom-0 */
	TRAP_BEGIN(4); 98: .half 0; nop; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b); CHECK_TVAL(0)
	/* reserved funct3 in OP-IMM-32 (funct3 = 2): 0x0000201b */
	TRAP_BEGIN(5); 98: .word 0x0000201b; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b); CHECK_TVAL(0x0000201b)
	/* slli with shamt[5] set is fine in RV64, srliw with shamt 32+ is not (bit 25) */
	TRAP_BEGIN(6); 98: .word 0x0205551b; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b); CHECK_TVAL(0x0205551b)
	/* illegal instruction at a 2-byte aligned address */
	TRAP_BEGIN(7); c.nop; 98: .word 0xffffffff; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b); CHECK_TVAL(0xffffffff)
	/* privileged instructions in U-mode */
	MODE_TRAPS(8, 0, u_mret, CAUSE_ILLEGAL)
	CHECK_TVAL(0x30200073)
	MODE_TRAPS(9, 0, u_sret, CAUSE_ILLEGAL)
	CHECK_TVAL(0x10200073)
	MODE_TRAPS(10, 1, s_mret, CAUSE_ILLEGAL)
	CHECK_TVAL(0x30200073)
	MODE_TRAPS(11, 0, u_sfence, CAUSE_ILLEGAL)

	/* ecall from each mode: mtval = 0 */
	TRAP_BEGIN(20); 98: ecall; TRAP_END(CAUSE_ECALL_M); CHECK_EPC(98b); CHECK_TVAL(0)
	MODE_TRAPS(21, 1, s_ecall, CAUSE_ECALL_S)
	CHECK_TVAL(0)
	MODE_TRAPS(22, 0, u_ecall, CAUSE_ECALL_U)
	CHECK_TVAL(0)
	/* ebreak from each mode; mtval is 0 or the pc (priv 3.1.16) */
	TRAP_BEGIN(23); 98: ebreak; TRAP_END(CAUSE_BREAKPOINT); CHECK_EPC(98b)
	la t5, trap_tval; ld t5, 0(t5); beqz t5, 1f; la t6, 98b; ASSERT_EQ(t5, t6); 1:
	MODE_TRAPS(24, 1, s_ebreak, CAUSE_BREAKPOINT)
	MODE_TRAPS(25, 0, u_ebreak, CAUSE_BREAKPOINT)

	/* access faults: physical address 0 is not memory or a device */
	TRAP_BEGIN(30); li a0, 0; 98: lw a4, 0(a0); TRAP_END(CAUSE_LOAD_ACCESS); CHECK_EPC(98b); CHECK_TVAL(0)
	TRAP_BEGIN(31); li a0, 8; 98: ld a4, -8(a0); TRAP_END(CAUSE_LOAD_ACCESS); CHECK_EPC(98b); CHECK_TVAL(0)
	TRAP_BEGIN(32); li a0, 0x10; 98: lbu a4, 0(a0); TRAP_END(CAUSE_LOAD_ACCESS); CHECK_EPC(98b); CHECK_TVAL(0x10)
	TRAP_BEGIN(33); li a0, 0; 98: sd a4, 0(a0); TRAP_END(CAUSE_STORE_ACCESS); CHECK_EPC(98b); CHECK_TVAL(0)
	TRAP_BEGIN(34); li a0, 0x20; 98: sb a4, 0(a0); TRAP_END(CAUSE_STORE_ACCESS); CHECK_EPC(98b); CHECK_TVAL(0x20)
	TRAP_BEGIN(36); li a0, 0; 98: lr.d a4, (a0); TRAP_END(CAUSE_LOAD_ACCESS); CHECK_EPC(98b); CHECK_TVAL(0)
	TRAP_BEGIN(37); li a0, 0; 98: fld fa0, 0(a0); TRAP_END(CAUSE_LOAD_ACCESS); CHECK_EPC(98b); CHECK_TVAL(0)
	TRAP_BEGIN(38); li a0, 0; 98: fsw fa0, 0(a0); TRAP_END(CAUSE_STORE_ACCESS); CHECK_EPC(98b); CHECK_TVAL(0)
	/* instruction fetch from 0: mepc = mtval = 0; ra was written by jalr */
	TRAP_BEGIN(39); li a0, 0; 98: jalr a0; TRAP_END(CAUSE_FETCH_ACCESS); CHECK_TVAL(0)
	la t5, trap_epc; ld t5, 0(t5); ASSERT_IMM(t5, 0)
	la t6, 98b; addi t6, t6, 2; ASSERT_EQ(ra, t6)	/* c.jalr: link = pc + 2 */
	/* a failed load leaves rd unchanged */
	TRAP_BEGIN(40); li a4, 0x1234; li a0, 0; lw a4, 0(a0); TRAP_END(CAUSE_LOAD_ACCESS); ASSERT_IMM(a4, 0x1234)
	/* a fault from U-mode gets the same mcause/mtval */
	MODE_TRAPS(41, 0, u_load0, CAUSE_LOAD_ACCESS)
	CHECK_TVAL(0)

	/* a fault in the middle of straight-line code: the instructions before
	 * it are done, the ones after it are not */
	TRAP_BEGIN(42); li a4, 1; li a5, 2; li a6, 3; addi a4, a4, 10; addi a5, a5, 20; 98: ld a6, 0(zero); li a4, 99; li a5, 99; li a6, 99; TRAP_END(CAUSE_LOAD_ACCESS); CHECK_EPC(98b)
	ASSERT_IMM(a4, 11); ASSERT_IMM(a5, 22); ASSERT_IMM(a6, 3)
	TRAP_BEGIN(43); la a0, scratch; li a1, 7; sd a1, 0(a0); 98: sd a1, 0(zero); sd zero, 0(a0); TRAP_END(CAUSE_STORE_ACCESS); CHECK_EPC(98b)
	ld a4, 0(a0); ASSERT_IMM(a4, 7)

	/* a jump to a 2-byte aligned 32-bit instruction is not misaligned with C */
	TEST_CASE(50); la a0, half_aligned; jalr a0; ASSERT_IMM(a4, 0x5678)

	/* mstatus stack on a trap from U: MPP = 0, MPIE = MIE before, MIE = 0 */
	TEST_CASE(60); li t0, MSTATUS_MPIE; csrc mstatus, t0
	MODE_TRAPS(61, 0, u_ecall, CAUSE_ECALL_U)
	CHECK_STATUS(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, 0)
	TEST_CASE(62); li t0, MSTATUS_MPIE; csrs mstatus, t0
	MODE_TRAPS(63, 0, u_ecall, CAUSE_ECALL_U)
	CHECK_STATUS(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPIE)
	MODE_TRAPS(64, 1, s_ecall, CAUSE_ECALL_S)
	CHECK_STATUS(MSTATUS_MPP | MSTATUS_MIE, MSTATUS_MPP_S)
	/* trap from M with MIE = 1: MPP = 3, MPIE = 1, MIE = 0 (mie = 0, so no
	 * interrupt is taken) */
	TEST_CASE(65); csrw mie, zero; csrsi mstatus, MSTATUS_MIE
	TRAP_BEGIN(66); ecall; TRAP_END(CAUSE_ECALL_M)
	CHECK_STATUS(MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE, MSTATUS_MPP | MSTATUS_MPIE)
	csrci mstatus, MSTATUS_MIE
	/* mret to M: MIE = MPIE, MPIE = 1, MPP = U (the least privileged mode) */
	TEST_CASE(67); li t0, MSTATUS_MPIE | MSTATUS_MIE; csrc mstatus, t0; li t0, MSTATUS_MPP; csrs mstatus, t0
	la t0, 1f; csrw mepc, t0; mret; j fail
1:	csrr a4, mstatus; li t0, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE; and a4, a4, t0; ASSERT_IMM(a4, MSTATUS_MPIE)
	TEST_CASE(68); li t0, MSTATUS_MPP | MSTATUS_MPIE; csrs mstatus, t0
	la t0, 1f; csrw mepc, t0; mret; j fail
1:	csrr a4, mstatus; andi a4, a4, MSTATUS_MIE; ASSERT_IMM(a4, MSTATUS_MIE); csrci mstatus, MSTATUS_MIE
	TEST_PASS

	.align 2
	c.nop
half_aligned:	/* 2 mod 4 */
	li a4, 0x5678
	ret

u_mret:	mret
u_sret:	sret
s_mret:	mret
u_sfence: sfence.vma
s_ecall: ecall
u_ecall: ecall
s_ebreak: ebreak
u_ebreak: ebreak
u_load0: ld a4, 0(zero)

	.data
	.align 3
scratch: .dword 0
