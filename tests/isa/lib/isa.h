/* Trevo ISA tests: assembler macros shared by every tests/isa/*.S.
 *
 * Conventions: gp (x3) holds the number of the running test case; on failure
 * the case number becomes the fail code (SiFive test device, code << 16 |
 * 0x3333), so QEMU's and trevo's exit status is the failing case. Each test
 * file defines `test_main` (entered in M-mode, sp = a stack, FS = Initial,
 * fcsr = 0, mtvec = the common trap handler of crt.S, PMP = all RWX) and ends
 * with TEST_PASS. mscratch belongs to the handler (it points at its frame).
 * The labels 90..99 are reserved for these macros. */
#ifndef TREVO_ISA_H
#define TREVO_ISA_H

#define TESTDEV    0x100000
#define UART_BASE  0x10000000
#define CLINT_BASE 0x2000000
#define CLINT_MSIP     (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME    (CLINT_BASE + 0xbff8)

#define MSTATUS_SIE  (1 << 1)
#define MSTATUS_MIE  (1 << 3)
#define MSTATUS_SPIE (1 << 5)
#define MSTATUS_MPIE (1 << 7)
#define MSTATUS_SPP  (1 << 8)
#define MSTATUS_MPP  (3 << 11)
#define MSTATUS_MPP_S (1 << 11)
#define MSTATUS_FS   (3 << 13)
#define MSTATUS_FS_INITIAL (1 << 13)
#define MSTATUS_FS_DIRTY (3 << 13)
#define MSTATUS_MPRV (1 << 17)
#define MSTATUS_SUM  (1 << 18)
#define MSTATUS_MXR  (1 << 19)
#define MSTATUS_TVM  (1 << 20)
#define MSTATUS_TW   (1 << 21)
#define MSTATUS_TSR  (1 << 22)

#define MIP_SSIP (1 << 1)
#define MIP_MSIP (1 << 3)
#define MIP_STIP (1 << 5)
#define MIP_MTIP (1 << 7)

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U 8
#define CAUSE_ECALL_S 9
#define CAUSE_ECALL_M 11
#define CAUSE_FETCH_PF 12
#define CAUSE_LOAD_PF 13
#define CAUSE_STORE_PF 15
#define CAUSE_INTR (1 << 63)

/* PTE bits */
#define PTE_V (1 << 0)
#define PTE_R (1 << 1)
#define PTE_W (1 << 2)
#define PTE_X (1 << 3)
#define PTE_U (1 << 4)
#define PTE_G (1 << 5)
#define PTE_A (1 << 6)
#define PTE_D (1 << 7)

#define SATP_SV39 (8 << 60)
#define SATP_SV48 (9 << 60)

/* fflags */
#define FF_NX 1
#define FF_UF 2
#define FF_OF 4
#define FF_DZ 8
#define FF_NV 16

/* ---- test case bookkeeping ---- */
#define TEST_CASE(n) li gp, n
#define TEST_PASS j pass

/* Fail unless a == b (registers). Uses a jump so the test file can be large. */
#define ASSERT_EQ(a, b) beq a, b, 97f; j fail; 97:
#define ASSERT_NE(a, b) bne a, b, 97f; j fail; 97:
/* Fail unless register r == immediate v (clobbers t6). */
#define ASSERT_IMM(r, v) li t6, v; ASSERT_EQ(r, t6)

/* riscv-tests style one-line cases. Result register is a4 (x14); operands
 * are a0 and a1; the expected value is loaded into t6. */
#define TEST_RR(n, insn, exp, v1, v2) \
	TEST_CASE(n); li a0, v1; li a1, v2; insn a4, a0, a1; ASSERT_IMM(a4, exp)
#define TEST_RI(n, insn, exp, v1, imm) \
	TEST_CASE(n); li a0, v1; insn a4, a0, imm; ASSERT_IMM(a4, exp)
#define TEST_R(n, insn, exp, v1) \
	TEST_CASE(n); li a0, v1; insn a4, a0; ASSERT_IMM(a4, exp)

/* ---- expected traps (handled by the common M-mode handler in crt.S) ----
 * TRAP_BEGIN arms the handler: the next trap, from any mode, resumes in
 * M-mode at the matching TRAP_END with every register as it was at the trap
 * and mstatus.MIE = 0.
 * TRAP_END fails the case if no trap happened, or the cause differs. The
 * trap's mcause, mepc, mtval and mstatus are then in trap_cause, trap_epc,
 * trap_tval, trap_status. */
#define TRAP_BEGIN(n) \
	TEST_CASE(n); la t6, 99f; la t5, trap_resume; sd t6, 0(t5); \
	la t5, trap_cause; li t6, -1; sd t6, 0(t5)
#define TRAP_END(cause) \
	j fail; .align 2; 99: la t5, trap_cause; ld t5, 0(t5); ASSERT_IMM(t5, cause)
/* mepc of the last trap must be the address of label lbl */
#define CHECK_EPC(lbl) la t5, trap_epc; ld t5, 0(t5); la t6, lbl; ASSERT_EQ(t5, t6)
#define CHECK_TVAL(v) la t5, trap_tval; ld t5, 0(t5); ASSERT_IMM(t5, v)
#define CHECK_TVAL_LBL(lbl) la t5, trap_tval; ld t5, 0(t5); la t6, lbl; ASSERT_EQ(t5, t6)
#define CHECK_TVAL_REG(r) la t5, trap_tval; ld t5, 0(t5); ASSERT_EQ(t5, r)
/* (trap_status & mask) == v */
#define CHECK_STATUS(mask, v) la t5, trap_status; ld t5, 0(t5); li t6, mask; and t5, t5, t6; ASSERT_IMM(t5, v)

/* A trap hook: a function called by the handler with a0 = register frame
 * (x[i] at 8*i), a1 = mcause, a2 = mepc, a3 = mtval. Return a0 = 0 to resume
 * at mepc (which the hook may change) with the frame's registers, anything
 * else for the default handling. */
#define SET_HOOK(fn) la t6, fn; la t5, trap_hook; sd t6, 0(t5)
#define CLEAR_HOOK la t5, trap_hook; sd zero, 0(t5)

/* Leave M-mode: mret to lbl in mode U (0) or S (1); MPIE is left as is. */
#define GOTO_MODE(mode, lbl) \
	li t6, MSTATUS_MPP; csrc mstatus, t6; li t6, (mode) << 11; csrs mstatus, t6; \
	la t6, lbl; csrw mepc, t6; mret
#define GOTO_U(lbl) GOTO_MODE(0, lbl)
#define GOTO_S(lbl) GOTO_MODE(1, lbl)

#endif
