/* Spec points (Zicsr, privileged 1.12) where QEMU 7.2 deviates, so this
 * test is trevo-only (see check-qemu.sh):
 * - csrrs/csrrc with rs1 != x0 is a write even when the register holds 0
 *   (unprivileged spec 9.1, table 9.1), so on a read-only CSR it is illegal
 *   (priv spec 2.1); QEMU only checks the written mask.
 * - mstatus.MPP is WARL and 2 is not a legal privilege (priv spec 3.1.6.1);
 *   QEMU keeps 2.
 * - minstret counts exactly the retired instructions (priv spec 3.1.10);
 *   QEMU's TCG counts host ticks instead.
 * - mepc[0] and sepc[0] are always zero (priv spec 3.1.14, 4.1.7); QEMU
 *   stores the bit and only ignores it on xRET.
 * - mret to a mode below M clears MPRV (priv spec 1.12, 3.1.6.3); QEMU 7.2
 *   predates that rule. */
#define MODE_TRAPS(n, mode, lbl, cause) TRAP_BEGIN(n); GOTO_MODE(mode, lbl); TRAP_END(cause); CHECK_EPC(lbl)
#include "isa.h"

	.text
	.globl test_main
test_main:
	TRAP_BEGIN(1); li a0, 0; 98: csrrs a4, mhartid, a0; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(2); li a0, 0; 98: csrrc a4, mvendorid, a0; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(3); li a0, 0; 98: csrrs a4, cycle, a0; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	/* csrrsi/csrrci with uimm = 0 do not write */
	TEST_CASE(4); csrrsi a4, mhartid, 0; csrrci a4, mimpid, 0
	/* MPP WARL */
	TEST_CASE(5); li t0, MSTATUS_MPP; csrc mstatus, t0; li t0, 2 << 11; csrs mstatus, t0; csrr a4, mstatus; srli a4, a4, 11; andi a4, a4, 3
	li t6, 2; ASSERT_NE(a4, t6)
	li t0, MSTATUS_MPP; csrs mstatus, t0
	/* minstret: the reading csrr retires after the read, so the difference
	 * of two reads is the number of instructions from the first read up to
	 * (not including) the second */
	TEST_CASE(6); csrr a4, minstret; csrr a5, minstret; sub a5, a5, a4; ASSERT_IMM(a5, 1)
	TEST_CASE(7); csrr a4, minstret; nop; nop; nop; nop; nop; csrr a5, minstret; sub a5, a5, a4; ASSERT_IMM(a5, 6)
	TEST_CASE(8); li t0, 100; csrr a4, minstret; 1: addi t0, t0, -1; bnez t0, 1b; csrr a5, minstret; sub a5, a5, a4; ASSERT_IMM(a5, 201)
	TEST_CASE(9); rdinstret a4; rdinstret a5; sub a5, a5, a4; ASSERT_IMM(a5, 1)
	/* minstret is writable */
	TEST_CASE(11); li t0, 0x100000000; csrw minstret, t0; csrr a4, minstret; sub a4, a4, t0; li t6, 4; bltu a4, t6, 1f; j fail; 1:
	/* xepc bit 0 */
	TEST_CASE(12); li t0, 0x80001233; csrw sepc, t0; csrr a4, sepc; ASSERT_IMM(a4, 0x80001232)
	TEST_CASE(13); li t0, 0x80001233; csrw mepc, t0; csrr a4, mepc; ASSERT_IMM(a4, 0x80001232)

	/* mret to a lower mode clears MPRV (priv 3.1.6.3) */
	TEST_CASE(20); li t0, MSTATUS_MPRV; csrs mstatus, t0
	MODE_TRAPS(21, 0, u_ecall, CAUSE_ECALL_U)
	CHECK_STATUS(MSTATUS_MPRV, 0)
	TEST_PASS
u_ecall: ecall
