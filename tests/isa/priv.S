/* Privilege levels and delegation (priv spec 3.1.6, 3.1.8, 3.3.2, 4.1):
 * medeleg to S-mode with sepc/scause/stval, traps from M never delegated,
 * the SPP/SPIE stack on delegated traps and sret, mret to S, TSR, TW, TVM. */
#include "isa.h"

#define MODE_TRAPS(n, mode, lbl, cause) TRAP_BEGIN(n); GOTO_MODE(mode, lbl); TRAP_END(cause); CHECK_EPC(lbl)
/* the S-mode handler records scause etc. here, then does ecall to M */
#define CHECK_S(var, v) la t5, var; ld t5, 0(t5); ASSERT_IMM(t5, v)
#define CHECK_S_LBL(var, lbl) la t5, var; ld t5, 0(t5); la t6, lbl; ASSERT_EQ(t5, t6)
#define CHECK_S_STATUS(mask, v) la t5, s_status; ld t5, 0(t5); li t6, mask; and t5, t5, t6; ASSERT_IMM(t5, v)
#define CLEAR_S la t5, s_cause; li t6, -1; sd t6, 0(t5)

	.text
	.globl test_main
test_main:
	la t0, s_handler
	csrw stvec, t0
	/* ecall from U delegated to S */
	li t0, 1 << CAUSE_ECALL_U; csrw medeleg, t0
	CLEAR_S
	TRAP_BEGIN(1); GOTO_U(u_ecall); TRAP_END(CAUSE_ECALL_S); CHECK_EPC(s_handler_ecall)
	CHECK_S(s_cause, CAUSE_ECALL_U); CHECK_S_LBL(s_epc, u_ecall); CHECK_S(s_tval, 0)
	CHECK_S_STATUS(MSTATUS_SPP, 0)
	/* the delegated trap did not touch mepc's value of the S ecall: the M
	 * trap was the handler's own ecall (checked above) */
	/* illegal instruction from U delegated: stval = instruction bits */
	li t0, (1 << CAUSE_ECALL_U) | (1 << CAUSE_ILLEGAL) | (1 << CAUSE_BREAKPOINT); csrw medeleg, t0
	CLEAR_S
	TRAP_BEGIN(2); GOTO_U(u_illegal); TRAP_END(CAUSE_ECALL_S)
	CHECK_S(s_cause, CAUSE_ILLEGAL); CHECK_S_LBL(s_epc, u_illegal); CHECK_S(s_tval, 0xffffffff)
	/* ebreak in S delegated to S: SPP = 1; SIE = 1 before -> SPIE = 1, SIE = 0 */
	CLEAR_S
	li t0, MSTATUS_SIE; csrs mstatus, t0
	TRAP_BEGIN(3); GOTO_S(s_ebreak); TRAP_END(CAUSE_ECALL_S)
	CHECK_S(s_cause, CAUSE_BREAKPOINT); CHECK_S_LBL(s_epc, s_ebreak)
	CHECK_S_STATUS(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPP | MSTATUS_SPIE)
	/* ... and with SIE = 0 before: SPIE = 0 */
	CLEAR_S
	li t0, MSTATUS_SIE; csrc mstatus, t0
	TRAP_BEGIN(4); GOTO_S(s_ebreak); TRAP_END(CAUSE_ECALL_S)
	CHECK_S_STATUS(MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE, MSTATUS_SPP)
	/* delegation never applies to traps taken in M */
	CLEAR_S
	TRAP_BEGIN(5); 98: .word 0xffffffff; TRAP_END(CAUSE_ILLEGAL); CHECK_EPC(98b)
	CHECK_S(s_cause, -1)
	TRAP_BEGIN(6); 98: ebreak; TRAP_END(CAUSE_BREAKPOINT); CHECK_EPC(98b)
	/* not delegated -> M even from U */
	csrw medeleg, zero
	MODE_TRAPS(7, 0, u_illegal, CAUSE_ILLEGAL)
	CHECK_TVAL(0xffffffff)

	/* mret to S really enters S: mstatus is not accessible there */
	MODE_TRAPS(10, 1, s_read_mstatus, CAUSE_ILLEGAL)
	CHECK_STATUS(MSTATUS_MPP, MSTATUS_MPP_S)
	/* sret: SIE = SPIE, SPIE = 1, SPP = U, back to the mode in SPP */
	TRAP_BEGIN(11); GOTO_S(s_sret_test); TRAP_END(CAUSE_ECALL_S)
	la t5, s_status; ld t5, 0(t5); li t6, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE; and t5, t5, t6; ASSERT_IMM(t5, MSTATUS_SPIE | MSTATUS_SIE)
	/* sret with SPP = 0 goes to U */
	TRAP_BEGIN(12); GOTO_S(s_sret_to_u); TRAP_END(CAUSE_ECALL_U); CHECK_EPC(u_ecall)
	/* sret in M is allowed too (goes to SPP's mode) */
	TRAP_BEGIN(13); li t0, MSTATUS_SPP; csrc mstatus, t0; la t0, u_ecall; csrw sepc, t0; sret; TRAP_END(CAUSE_ECALL_U); CHECK_EPC(u_ecall)

	/* TSR: sret in S is illegal; in M it is not */
	li t0, MSTATUS_TSR; csrs mstatus, t0
	MODE_TRAPS(20, 1, s_sret, CAUSE_ILLEGAL)
	CHECK_TVAL(0x10200073)
	TRAP_BEGIN(21); li t0, MSTATUS_SPP; csrc mstatus, t0; la t0, u_ecall; csrw sepc, t0; sret; TRAP_END(CAUSE_ECALL_U)
	li t0, MSTATUS_TSR; csrc mstatus, t0

	/* TW: wfi in S is illegal when TW = 1 */
	li t0, MSTATUS_TW; csrs mstatus, t0
	MODE_TRAPS(30, 1, s_wfi, CAUSE_ILLEGAL)
	CHECK_TVAL(0x10500073)
	/* ... but not in M. An interrupt pending and enabled in mie (MIE = 0)
	 * makes wfi return at once. */
	TEST_CASE(31); csrci mstatus, MSTATUS_MIE; li t0, CLINT_MSIP; li t1, 1; sw t1, 0(t0); li t1, MIP_MSIP; csrw mie, t1
	wfi; li t0, CLINT_MSIP; sw zero, 0(t0); csrw mie, zero
	li t0, MSTATUS_TW; csrc mstatus, t0
	/* TW = 0: wfi in S is fine; SSIP delegated, enabled in sie, SIE = 0 */
	TEST_CASE(32); li t0, MIP_SSIP; csrw mideleg, t0; csrw mie, t0; csrs mip, t0; li t0, MSTATUS_SIE; csrc mstatus, t0
	TRAP_BEGIN(33); GOTO_S(s_wfi_ok); TRAP_END(CAUSE_ECALL_S)
	li t0, MIP_SSIP; csrc mip, t0; csrw mie, zero; csrw mideleg, zero

	/* TVM: satp and sfence.vma are illegal in S */
	li t0, MSTATUS_TVM; csrs mstatus, t0
	MODE_TRAPS(40, 1, s_satp, CAUSE_ILLEGAL)
	MODE_TRAPS(41, 1, s_sfence, CAUSE_ILLEGAL)
	MODE_TRAPS(42, 1, s_satp_w, CAUSE_ILLEGAL)
	/* M is not affected */
	TEST_CASE(43); csrr a4, satp; sfence.vma
	li t0, MSTATUS_TVM; csrc mstatus, t0
	TRAP_BEGIN(44); GOTO_S(s_vm_ok); TRAP_END(CAUSE_ECALL_S)
	TEST_PASS

/* S-mode trap handler: record, then ecall to M (which resumes the test) */
	.align 4
s_handler:
	la t0, s_cause
	csrr t1, scause
	sd t1, 0(t0)
	csrr t1, sepc
	sd t1, 8(t0)
	csrr t1, stval
	sd t1, 16(t0)
	csrr t1, sstatus
	sd t1, 24(t0)
s_handler_ecall:
	ecall

u_ecall:	ecall
u_illegal:	.word 0xffffffff
s_ebreak:	ebreak
s_read_mstatus:	csrr a4, mstatus
	j fail
s_sret_test:
	/* SPP = S, SPIE = 1, SIE = 0, sret to 1f in S */
	li t0, MSTATUS_SPP | MSTATUS_SPIE; csrs sstatus, t0; li t0, MSTATUS_SIE; csrc sstatus, t0
	la t0, 1f; csrw sepc, t0; sret; j fail
1:	la t0, s_status; csrr t1, sstatus; sd t1, 0(t0); li t1, MSTATUS_SIE; csrc sstatus, t1; ecall
s_sret_to_u:
	li t0, MSTATUS_SPP; csrc sstatus, t0; la t0, u_ecall; csrw sepc, t0; sret
s_sret:	sret
s_wfi:	wfi
	j fail
s_wfi_ok: wfi; ecall
s_satp:	csrr a4, satp
	j fail
s_satp_w: csrw satp, zero
	j fail
s_sfence: sfence.vma
	j fail
s_vm_ok: csrr a4, satp; csrw satp, zero; sfence.vma; ecall

	.data
	.align 3
s_cause:	.dword 0
s_epc:		.dword 0
s_tval:		.dword 0
s_status:	.dword 0
