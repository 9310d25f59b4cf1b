/* Zicsr and the machine/supervisor CSRs (unprivileged spec ch. 9, priv spec
 * 2.1, 3.1): read-only and unknown CSRs trap, csrrs/csrrc with x0 and
 * csrrsi/csrrci with 0 do not write, WARL fields keep legal values, misa,
 * mhartid, counters move forward, mcounteren/scounteren gate S/U reads. */
#include "isa.h"

/* run lbl in mode (1 = S, 0 = U) expecting the trap `cause` at lbl */
#define IN_MODE_TRAPS(n, mode, lbl, cause) TRAP_BEGIN(n); GOTO_MODE(mode, lbl); TRAP_END(cause); CHECK_EPC(lbl)

	.text
	.globl test_main
test_main:
	/* csrrw/csrrs/csrrc and the immediate forms on sscratch */
	TEST_CASE(1); li a0, 0x1234; csrw sscratch, a0; csrr a4, sscratch; ASSERT_IMM(a4, 0x1234)
	TEST_CASE(2); li a0, 0xff00; csrrs a4, sscratch, a0; ASSERT_IMM(a4, 0x1234); csrr a4, sscratch; ASSERT_IMM(a4, 0xff34)
	TEST_CASE(3); li a0, 0x0f0f; csrrc a4, sscratch, a0; ASSERT_IMM(a4, 0xff34); csrr a4, sscratch; ASSERT_IMM(a4, 0xf030)
	TEST_CASE(4); li a0, -1; csrrw a4, sscratch, a0; ASSERT_IMM(a4, 0xf030); csrr a4, sscratch; ASSERT_IMM(a4, -1)
	TEST_CASE(5); csrrwi a4, sscratch, 0x15; ASSERT_IMM(a4, -1); csrr a4, sscratch; ASSERT_IMM(a4, 0x15)
	TEST_CASE(6); csrrsi a4, sscratch, 0x0a; ASSERT_IMM(a4, 0x15); csrr a4, sscratch; ASSERT_IMM(a4, 0x1f)
	TEST_CASE(7); csrrci a4, sscratch, 0x03; ASSERT_IMM(a4, 0x1f); csrr a4, sscratch; ASSERT_IMM(a4, 0x1c)
	/* rd == rs1: old value read before the write */
	TEST_CASE(8); li a4, 0x77; csrrw a4, sscratch, a4; ASSERT_IMM(a4, 0x1c); csrr a4, sscratch; ASSERT_IMM(a4, 0x77)
	/* rd == x0 still writes */
	TEST_CASE(9); li a0, 0x99; csrrw x0, sscratch, a0; csrr a4, sscratch; ASSERT_IMM(a4, 0x99)
	/* csrrs/csrrc with rs1 = x0 read but do not write (and so do not trap
	 * on read-only CSRs); the same for csrrsi/csrrci with uimm = 0 */
	TEST_CASE(10); csrrs a4, sscratch, x0; ASSERT_IMM(a4, 0x99); csrrc a4, sscratch, x0; ASSERT_IMM(a4, 0x99)
	TEST_CASE(11); csrrs a4, mhartid, x0; ASSERT_IMM(a4, 0); csrrc a4, mhartid, x0; csrrsi a4, mhartid, 0; csrrci a4, mhartid, 0
	TEST_CASE(12); csrrs a4, mvendorid, x0; csrrs a4, marchid, x0; csrrs a4, mimpid, x0; csrr a4, cycle; csrrc a4, instret, x0
	/* writes to read-only CSRs (csr[11:10] == 3) trap; mtval = the instruction */
	TRAP_BEGIN(14); 98: csrw mvendorid, a0; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b); CHECK_TVAL(0xf1151073)
	TRAP_BEGIN(15); 98: csrrwi x0, mhartid, 1; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(16); li a0, 1; 98: csrrc a4, cycle, a0; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(17); 98: csrrsi a4, time, 1; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(18); 98: csrw instret, zero; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	/* unknown CSRs trap, read or write */
	TRAP_BEGIN(19); 98: csrr a4, 0x8ff; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(20); 98: csrw 0x8ff, a0; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(21); 98: csrr a4, 0x7ff; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	TRAP_BEGIN(22); 98: csrr a4, 0xfff; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)

	/* misa: RV64 (MXL = 2) with A C D F I M S U */
	TEST_CASE(30); csrr a4, misa; srli a5, a4, 62; ASSERT_IMM(a5, 2)
	li t0, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20)
	and a5, a4, t0; ASSERT_EQ(a5, t0)
	TEST_CASE(31); csrr a4, misa; csrw misa, a4; csrr a5, misa; ASSERT_EQ(a4, a5)
	TEST_CASE(32); csrr a4, mhartid; ASSERT_IMM(a4, 0)
	/* mstatus: UXL and SXL read 2 (64-bit) */
	TEST_CASE(33); csrr a4, mstatus; srli a5, a4, 32; andi a5, a5, 15; ASSERT_IMM(a5, 0xa)
	/* WARL: mtvec MODE >= 2 is reserved; reads back 0 or 1 */
	TEST_CASE(35); csrr s0, mtvec; la t0, trap_entry; ori t0, t0, 3; csrw mtvec, t0; csrr a4, mtvec; csrw mtvec, s0; andi a4, a4, 3; li t6, 2; bltu a4, t6, 1f; j fail; 1:
	/* medeleg: the exceptions an OS delegates are delegable (ecall from U,
	 * page faults, breakpoint, illegal instruction) */
	TEST_CASE(36); li t0, 0xb10c; csrw medeleg, t0; csrr a4, medeleg; csrw medeleg, zero; and a4, a4, t0; ASSERT_EQ(a4, t0)
	/* S-level interrupts can be delegated */
	TEST_CASE(37); li t0, 0x222; csrw mideleg, t0; csrr a4, mideleg; csrw mideleg, zero; andi a4, a4, 0x222; ASSERT_IMM(a4, 0x222)
	/* mie: the six standard interrupt enables are writable */
	TEST_CASE(38); li t0, -1; csrw mie, t0; csrr a4, mie; csrw mie, zero; li t0, 0xaaa; and a4, a4, t0; ASSERT_IMM(a4, 0xaaa)
	/* satp: a write with an unsupported MODE has no effect at all */
	TEST_CASE(39); csrw satp, zero; li t0, (5 << 60) | 0x1234; csrw satp, t0; csrr a4, satp; ASSERT_IMM(a4, 0)
	/* sstatus is a view of mstatus without M fields */
	TEST_CASE(40); li t0, MSTATUS_SIE; csrs sstatus, t0; csrr a4, mstatus; andi a4, a4, MSTATUS_SIE; ASSERT_IMM(a4, MSTATUS_SIE)
	csrc mstatus, t0; csrr a4, sstatus; andi a4, a4, MSTATUS_SIE; ASSERT_IMM(a4, 0)
	TEST_CASE(41); li t0, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP; csrs sstatus, t0; csrr a4, sstatus; and a4, a4, t0; ASSERT_IMM(a4, 0)
	/* sie/sip show only delegated interrupts (priv 4.1.3) */
	TEST_CASE(42); csrw mideleg, zero; li t0, MIP_SSIP; csrs mie, t0; csrr a4, sie; ASSERT_IMM(a4, 0); csrw mie, zero
	TEST_CASE(43); li t0, 0x222; csrw mideleg, t0; li t0, 0x22; csrw sie, t0; csrr a4, mie; ASSERT_IMM(a4, 0x22); csrr a4, sie; ASSERT_IMM(a4, 0x22)
	csrw sie, zero; csrw mideleg, zero; csrw mie, zero
	/* sscratch */
	TEST_CASE(44); li t0, 0x5a5a; csrw sscratch, t0; csrr a4, sscratch; ASSERT_IMM(a4, 0x5a5a)

	/* counters move forward */
	TEST_CASE(50); rdcycle a4; li t0, 100; 1: addi t0, t0, -1; bnez t0, 1b; rdcycle a5; bltu a4, a5, 2f; j fail; 2:
	TEST_CASE(51); rdinstret a4; nop; nop; rdinstret a5; bltu a4, a5, 2f; j fail; 2:
	TEST_CASE(52); csrr a4, minstret; nop; csrr a5, minstret; bltu a4, a5, 2f; j fail; 2:
	TEST_CASE(53); csrr a4, mcycle; nop; csrr a5, mcycle; bltu a4, a5, 2f; j fail; 2:
	/* time follows mtime (10 MHz): wait until it moves, compare with CLINT */
	TEST_CASE(54); rdtime a4; li t1, 10000000; 1: rdtime a5; bne a4, a5, 2f; addi t1, t1, -1; bnez t1, 1b; j fail; 2: bltu a4, a5, 3f; j fail; 3:
	TEST_CASE(55); li t0, CLINT_MTIME; ld a4, 0(t0); rdtime a5; bgeu a5, a4, 1f; j fail; 1: sub a5, a5, a4; li t6, 10000000; bltu a5, t6, 2f; j fail; 2:

	/* counter-enable gating (priv 3.1.11, 4.1.4): S needs mcounteren, U
	 * needs mcounteren and scounteren */
	csrw mcounteren, zero
	csrw scounteren, zero
	IN_MODE_TRAPS(60, 1, s_rdcycle, CAUSE_ILLEGAL)
	IN_MODE_TRAPS(61, 1, s_rdtime, CAUSE_ILLEGAL)
	IN_MODE_TRAPS(62, 1, s_rdinstret, CAUSE_ILLEGAL)
	li t0, 7; csrw mcounteren, t0
	TRAP_BEGIN(63); GOTO_S(s_counters); TRAP_END(CAUSE_ECALL_S)
	IN_MODE_TRAPS(64, 0, u_rdcycle, CAUSE_ILLEGAL)	/* scounteren = 0 */
	li t0, 7; csrw scounteren, t0
	TRAP_BEGIN(65); GOTO_U(u_counters); TRAP_END(CAUSE_ECALL_U)
	li t0, 5; csrw mcounteren, t0			/* time off for both */
	IN_MODE_TRAPS(66, 0, u_rdtime, CAUSE_ILLEGAL)
	IN_MODE_TRAPS(67, 1, s_rdtime, CAUSE_ILLEGAL)
	li t0, 7; csrw mcounteren, t0
	li t0, 6; csrw scounteren, t0			/* cycle off for U only */
	IN_MODE_TRAPS(68, 0, u_rdcycle, CAUSE_ILLEGAL)
	TRAP_BEGIN(69); GOTO_S(s_counters); TRAP_END(CAUSE_ECALL_S)
	/* privilege checks on CSR numbers: csr[9:8] is the lowest level */
	IN_MODE_TRAPS(70, 1, s_mstatus, CAUSE_ILLEGAL)
	IN_MODE_TRAPS(71, 0, u_sstatus, CAUSE_ILLEGAL)
	IN_MODE_TRAPS(72, 1, s_mscratch_w, CAUSE_ILLEGAL)
	/* S may use its own CSRs */
	TRAP_BEGIN(73); GOTO_S(s_scsrs); TRAP_END(CAUSE_ECALL_S)
	csrr a4, sscratch; ASSERT_IMM(a4, 0x77)
	TEST_PASS

	/* code run in S or U mode */
s_rdcycle:	rdcycle a4; j fail
s_rdtime:	rdtime a4; j fail
s_rdinstret:	rdinstret a4; j fail
s_counters:	rdcycle a4; rdtime a4; rdinstret a4; ecall
u_rdcycle:	rdcycle a4; j fail
u_rdtime:	rdtime a4; j fail
u_counters:	rdcycle a4; rdtime a4; rdinstret a4; ecall
s_mstatus:	csrr a4, mstatus; j fail
u_sstatus:	csrr a4, sstatus; j fail
s_mscratch_w:	csrw mscratch, a4; j fail
s_scsrs:	csrr a4, sstatus; li a4, 0x77; csrw sscratch, a4; csrr a4, sepc; csrr a4, stvec; csrr a4, satp; ecall
