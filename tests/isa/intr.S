/* Interrupts (priv spec 3.1.9, 3.3.3, 4.1.3): machine timer through the
 * CLINT's mtimecmp, machine software interrupt through msip, supervisor
 * software interrupt through mip.SSIP (to M, and delegated to S), global
 * enables per privilege, wfi wake-up, supervisor timer (STIP set by M),
 * and vectored mtvec. Priority: intr_priority.S. */
#include "isa.h"

/* spin until the interrupt handler has run (intr_count != 0) or give up */
#define WAIT_INTR li t1, 50000000; 1: la t0, intr_count; ld t0, 0(t0); bnez t0, 2f; addi t1, t1, -1; bnez t1, 1b; j fail; 2:
#define CLEAR_INTR la t0, intr_count; sd zero, 0(t0); la t0, intr_cause; sd zero, 0(t0)

	.text
	.globl test_main
test_main:
	SET_HOOK(intr_hook)
	li t0, CLINT_MTIMECMP; li t1, -1; sd t1, 0(t0)	/* no timer yet */

	/* machine timer: mtimecmp = mtime + 1000 (100 us), MTIE, MIE */
	TEST_CASE(1); CLEAR_INTR
	li t0, CLINT_MTIME; ld t1, 0(t0); addi t1, t1, 1000; li t0, CLINT_MTIMECMP; sd t1, 0(t0)
	li t0, MIP_MTIP; csrw mie, t0; csrsi mstatus, MSTATUS_MIE
	WAIT_INTR
	csrci mstatus, MSTATUS_MIE
	la t0, intr_cause; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_INTR | 7)
	/* the handler moved mtimecmp to the far future: MTIP is clear again */
	TEST_CASE(2); csrr a4, mip; andi a4, a4, MIP_MTIP; ASSERT_IMM(a4, 0)
	/* MTIP is pending but not taken while MIE = 0 in M-mode */
	TEST_CASE(3); CLEAR_INTR
	li t0, CLINT_MTIME; ld t1, 0(t0); li t0, CLINT_MTIMECMP; sd t1, 0(t0)	/* due now */
	li t1, 10000000; 1: csrr a4, mip; andi a4, a4, MIP_MTIP; bnez a4, 2f; addi t1, t1, -1; bnez t1, 1b; j fail; 2:
	la t0, intr_count; ld a4, 0(t0); ASSERT_IMM(a4, 0)
	/* mip.MTIP is read-only to software */
	TEST_CASE(4); li t0, MIP_MTIP; csrc mip, t0; csrr a4, mip; andi a4, a4, MIP_MTIP; ASSERT_IMM(a4, MIP_MTIP)
	/* ... and taken as soon as MIE is set: mepc is the next instruction */
	TEST_CASE(5); csrsi mstatus, MSTATUS_MIE; 98: nop; nop; csrci mstatus, MSTATUS_MIE
	la t0, intr_count; ld a4, 0(t0); ASSERT_IMM(a4, 1)
	la t0, intr_epc; ld a4, 0(t0); la t6, 98b; ASSERT_EQ(a4, t6)
	/* in U-mode, M interrupts are always enabled (MIE ignored) */
	TEST_CASE(6); CLEAR_INTR
	li t0, CLINT_MTIME; ld t1, 0(t0); li t0, CLINT_MTIMECMP; sd t1, 0(t0)
	TRAP_BEGIN(7); GOTO_U(u_spin); TRAP_END(CAUSE_ECALL_U)
	la t0, intr_cause; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_INTR | 7)
	csrw mie, zero

	/* machine software interrupt through msip */
	TEST_CASE(10); CLEAR_INTR
	li t0, MIP_MSIP; csrw mie, t0
	li t0, CLINT_MSIP; li t1, 1; sw t1, 0(t0)
	csrsi mstatus, MSTATUS_MIE
	WAIT_INTR
	csrci mstatus, MSTATUS_MIE
	la t0, intr_cause; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_INTR | 3)
	TEST_CASE(11); li t0, CLINT_MSIP; lw a4, 0(t0); ASSERT_IMM(a4, 0); csrr a4, mip; andi a4, a4, MIP_MSIP; ASSERT_IMM(a4, 0)
	csrw mie, zero

	/* supervisor software interrupt, set by M in mip.SSIP, taken in M when
	 * not delegated */
	TEST_CASE(20); CLEAR_INTR
	li t0, MIP_SSIP; csrw mie, t0; csrs mip, t0
	csrsi mstatus, MSTATUS_MIE
	WAIT_INTR
	csrci mstatus, MSTATUS_MIE
	la t0, intr_cause; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_INTR | 1)
	/* delegated to S: taken in S (SIE = 1), scause = interrupt | 1, sepc */
	TEST_CASE(21); CLEAR_INTR
	la t0, s_handler; csrw stvec, t0
	li t0, MIP_SSIP; csrw mideleg, t0; csrw mie, t0
	TRAP_BEGIN(22); GOTO_S(s_ssip); TRAP_END(CAUSE_ECALL_S)
	la t0, s_cause; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_INTR | 1)
	la t0, s_epc; ld a4, 0(t0); la t6, s_ssip_at; ASSERT_EQ(a4, t6)
	/* a delegated interrupt is not taken in M, even with MIE = 1 */
	TEST_CASE(23); CLEAR_INTR
	li t0, MIP_SSIP; csrs mip, t0; csrsi mstatus, MSTATUS_MIE; nop; nop; csrci mstatus, MSTATUS_MIE
	la t0, intr_count; ld a4, 0(t0); ASSERT_IMM(a4, 0)
	li t0, MIP_SSIP; csrc mip, t0
	/* in S with SIE = 0, a delegated interrupt waits; in U it is taken */
	TRAP_BEGIN(24); GOTO_S(s_ssip_masked); TRAP_END(CAUSE_ECALL_S)
	la t0, s_cause; ld a4, 0(t0); ASSERT_IMM(a4, -1)
	TEST_CASE(25); la t0, s_cause; li t1, -1; sd t1, 0(t0)
	li t0, MSTATUS_SIE; csrc mstatus, t0; li t0, MIP_SSIP; csrs mip, t0
	TRAP_BEGIN(26); GOTO_U(u_spin); TRAP_END(CAUSE_ECALL_S)
	la t0, s_cause; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_INTR | 1)
	csrw mideleg, zero; csrw mie, zero; li t0, MIP_SSIP; csrc mip, t0
	/* S-mode cannot set SSIP through sip when it is not delegated... but when
	 * delegated it can (sip.SSIP is writable) */
	TEST_CASE(27); li t0, MIP_SSIP; csrw mideleg, t0
	TRAP_BEGIN(28); GOTO_S(s_set_ssip); TRAP_END(CAUSE_ECALL_S)
	csrr a4, mip; andi a4, a4, MIP_SSIP; ASSERT_IMM(a4, MIP_SSIP)
	li t0, MIP_SSIP; csrc mip, t0; csrw mideleg, zero

	/* vectored mtvec: interrupts go to BASE + 4 * cause, exceptions to BASE */
	TEST_CASE(40); CLEAR_HOOK
	la t0, vec_table; ori t0, t0, 1; csrw mtvec, t0; csrr a4, mtvec; andi a4, a4, 3
	li t6, 1; bne a4, t6, 9f		/* vectored mode not implemented: skip */
	li t0, MIP_MSIP; csrw mie, t0; li t0, CLINT_MSIP; li t1, 1; sw t1, 0(t0)
	la t0, vec_hit; sd zero, 0(t0)
	csrsi mstatus, MSTATUS_MIE; nop; nop; csrci mstatus, MSTATUS_MIE
	la t0, vec_hit; ld a4, 0(t0); ASSERT_IMM(a4, 3)
	TRAP_BEGIN(41); la t0, vec_hit; sd zero, 0(t0); ecall; TRAP_END(CAUSE_ECALL_M)	/* through BASE -> trap_entry */
9:	la t0, trap_entry; csrw mtvec, t0; csrw mie, zero
	/* the CLINT registers also take 32-bit accesses */
	TEST_CASE(45); li t0, CLINT_MTIMECMP; li t1, 0x12345678; sw t1, 0(t0); li t1, 0x7fffffff; sw t1, 4(t0)
	ld a4, 0(t0); ASSERT_IMM(a4, 0x7fffffff12345678); lw a4, 4(t0); ASSERT_IMM(a4, 0x7fffffff)
	TEST_CASE(46); li t0, CLINT_MTIME; lwu a4, 0(t0); li t1, 1000000; 1: lwu a5, 0(t0); bne a4, a5, 2f; addi t1, t1, -1; bnez t1, 1b; j fail; 2:
	li t0, CLINT_MTIMECMP; li t1, -1; sd t1, 0(t0)
	/* wfi with MIE = 0 returns when an enabled interrupt becomes pending,
	 * without taking it (priv 3.3.3) */
	TEST_CASE(50); CLEAR_INTR; SET_HOOK(intr_hook)
	li t0, MIP_MTIP; csrw mie, t0
	li t0, CLINT_MTIME; ld t1, 0(t0); addi t1, t1, 2000; li t0, CLINT_MTIMECMP; sd t1, 0(t0)
	li s1, 1000
1:	wfi
	csrr a4, mip; andi a4, a4, MIP_MTIP; bnez a4, 2f	/* wfi may also return early */
	addi s1, s1, -1; bnez s1, 1b; j fail
2:	la t0, intr_count; ld a4, 0(t0); ASSERT_IMM(a4, 0)
	/* wfi with MIE = 1: the interrupt is taken, mepc = the instruction after wfi */
	TEST_CASE(51); CLEAR_INTR
	li t0, CLINT_MTIME; ld t1, 0(t0); addi t1, t1, 2000; li t0, CLINT_MTIMECMP; sd t1, 0(t0)
	csrsi mstatus, MSTATUS_MIE
	.option push; .option norvc
5:	wfi
	.option pop
	WAIT_INTR
	csrci mstatus, MSTATUS_MIE
	la t0, intr_epc; ld a4, 0(t0); la t6, 5b; addi t6, t6, 4; ASSERT_EQ(a4, t6)
	csrw mie, zero
	/* supervisor timer interrupt: M sets mip.STIP, delegated to S */
	TEST_CASE(52); CLEAR_INTR
	la t0, s_handler; csrw stvec, t0
	li t0, MIP_STIP; csrw mideleg, t0; csrw mie, t0; csrs mip, t0
	csrr a4, mip; andi a4, a4, MIP_STIP; ASSERT_IMM(a4, MIP_STIP)
	la t0, s_cause; li t1, -1; sd t1, 0(t0)
	TRAP_BEGIN(53); GOTO_S(s_stip); TRAP_END(CAUSE_ECALL_S)
	la t0, s_cause; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_INTR | 5)
	/* S cannot clear STIP (read-only in sip); M can */
	TEST_CASE(54); csrr a4, mip; andi a4, a4, MIP_STIP; ASSERT_IMM(a4, MIP_STIP)
	li t0, MIP_STIP; csrc mip, t0; csrr a4, mip; andi a4, a4, MIP_STIP; ASSERT_IMM(a4, 0)
	csrw mie, zero; csrw mideleg, zero
	TEST_PASS

/* Interrupt hook (M-mode): record, silence the source, resume at mepc. Not
 * an interrupt: default handling. */
intr_hook:
	bgez a1, 9f
	la t0, intr_cause
	sd a1, 0(t0)
	sd a2, 8(t0)
	ld t1, 16(t0)
	addi t1, t1, 1
	sd t1, 16(t0)
	ld t1, 24(t0)		/* intr_order: append the cause as a hex digit */
	slli t1, t1, 4
	andi t2, a1, 15
	or t1, t1, t2
	sd t1, 24(t0)
	andi a1, a1, 63
	li t1, 7
	bne a1, t1, 1f
	li t0, CLINT_MTIMECMP
	li t1, -1
	sd t1, 0(t0)
	j 8f
1:	li t1, 3
	bne a1, t1, 2f
	li t0, CLINT_MSIP
	sw zero, 0(t0)
	j 8f
2:	li t1, MIP_SSIP
	csrc mip, t1
8:	/* interrupting U code that spins: end it with an ecall */
	csrr t1, mstatus
	srli t1, t1, 11
	andi t1, t1, 3
	bnez t1, 7f
	la t1, u_ecall
	csrw mepc, t1
7:	li a0, 0
	ret
9:	li a0, 1
	ret

	.align 2
u_spin:	j u_spin
u_ecall: ecall

	.align 4
s_handler:
	la t0, s_cause
	csrr t1, scause
	sd t1, 0(t0)
	csrr t1, sepc
	sd t1, 8(t0)
	li t1, MIP_SSIP
	csrc sip, t1
	li t1, MSTATUS_SIE	/* STIP stays pending: do not take it again */
	csrc sstatus, t1
	ecall
s_ssip:	li t0, MIP_SSIP; csrs sip, t0; li t0, MSTATUS_SIE; csrs sstatus, t0
s_ssip_at: nop
	j s_ssip_at
s_ssip_masked:
	la t0, s_cause; li t1, -1; sd t1, 0(t0)
	li t0, MSTATUS_SIE; csrc sstatus, t0; li t0, MIP_SSIP; csrs sip, t0
	nop; nop; nop; li t0, MIP_SSIP; csrc sip, t0; ecall
s_set_ssip: li t0, MIP_SSIP; csrs sip, t0; ecall
/* enable STIE and SIE; the pending STIP is taken at once; the handler
 * ecalls to M. sip.STIP is read-only: the csrc changes nothing */
s_stip:	li t0, MIP_STIP; csrc sip, t0; csrs sie, t0; li t0, MSTATUS_SIE; csrs sstatus, t0
1:	j 1b

	.align 8
	.option push
	.option norvc	/* 4 bytes per entry */
vec_table:
	j trap_entry		/* 0: exceptions */
	.rept 2
	j vec_bad
	.endr
	j vec_msi		/* 3 */
	.rept 12
	j vec_bad
	.endr
	.option pop
vec_bad: j fail
vec_msi:
	csrw mscratch, t0	/* mscratch is restored below */
	la t0, vec_hit
	sd t1, 8(t0)
	li t1, 3
	sd t1, 0(t0)
	li t1, CLINT_MSIP
	sw zero, 0(t1)
	ld t1, 8(t0)
	la t0, trap_frame
	csrrw t0, mscratch, t0
	mret

	.data
	.align 3
intr_cause:	.dword 0
intr_epc:	.dword 0
intr_count:	.dword 0
intr_order:	.dword 0
s_cause:	.dword 0
s_epc:		.dword 0
vec_hit:	.dword 0, 0
