/* ASIDs and address-space switches (priv spec 4.1.11 satp, 4.2.1
 * SFENCE.VMA, 4.3.1 the G bit), Sv39. Two address spaces A (ASID 1) and B
 * (ASID 2) map the same virtual pages to different physical pages, data
 * and code; satp writes alone must switch between them, and each
 * sfence.vma variant must drop what it covers. The page tables are fixed:
 *   root A/B [2]: 1 GiB identity leaf at 0x80000000 (G), S code and data
 *   root A/B [1] -> L1 A/B: [0] -> L0 A/B, [1] 2 MiB leaf (A only)
 *   L0 [0] VA_D data (A: P0, B: P1), [1] VA_G global data (PG in both),
 *      [2] VA_C code (A: code_a, B: code_b), [3] VA_UC U code (u_page),
 *      [4] VA_GC global code (code_a in both, then code_b)
 * Faults are not delegated; S routines ecall back to M. */
#include "isa.h"

#define ROOT_A 0x80600000
#define L1_A   0x80601000
#define L0_A   0x80602000
#define ROOT_B 0x80610000
#define L1_B   0x80611000
#define L0_B   0x80612000
#define P0     0x80700000
#define P1     0x80701000
#define P2     0x80702000
#define PG     0x80703000
#define BIG1   0x80800000	/* 2 MiB aligned */
#define BIG2   0x80a00000

#define VA_D   0x40000000
#define VA_G   0x40001000
#define VA_C   0x40002000
#define VA_UC  0x40003000
#define VA_GC  0x40004000
#define VA_BIG 0x40200000

#define ASID(n) ((n) << 44)
#define SATP_A (SATP_SV39 | ASID(1) | (ROOT_A >> 12))
#define SATP_B (SATP_SV39 | ASID(2) | (ROOT_B >> 12))

#define RWAD  (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define RXA   (PTE_V | PTE_R | PTE_X | PTE_A)
/* PTE value for physical address pa with flags */
#define PTE(pa, flags) ((((pa) >> 12) << 10) | (flags))
/* store the PTE for pa/flags at table + 8 * index */
#define SET_PTE(table, index, pa, flags) li t0, (table) + 8 * (index); li t1, PTE(pa, flags); sd t1, 0(t0)
#define SET_SATP(v) li t0, v; csrw satp, t0
/* map VA_GC to lbl, global, in both address spaces */
#define MAP_GC(lbl) la t2, lbl; srli t2, t2, 12; slli t2, t2, 10; ori t2, t2, RXA | PTE_G; \
	li t0, L0_A + 32; sd t2, 0(t0); li t0, L0_B + 32; sd t2, 0(t0)
/* an S-mode load of va, whose value must be exp */
#define S_LOAD(n, va, exp) TRAP_BEGIN(n); li a0, va; GOTO_S(s_load); TRAP_END(CAUSE_ECALL_S); ASSERT_IMM(a4, exp)
/* an S-mode call of the code at va, which must set a4 to exp */
#define S_CALL(n, va, exp) TRAP_BEGIN(n); li a0, va; li a4, 0; GOTO_S(s_call); TRAP_END(CAUSE_ECALL_S); ASSERT_IMM(a4, exp)

	.text
	.globl test_main
test_main:
	/* tables and data pages zeroed */
	li t0, ROOT_A
	li t1, ROOT_B + 0x3000
1:	sd zero, 0(t0)
	addi t0, t0, 8
	bltu t0, t1, 1b
	li t0, P0; li t1, 0xa0; sd t1, 0(t0)
	li t0, P1; li t1, 0xb1; sd t1, 0(t0)
	li t0, P2; li t1, 0xc2; sd t1, 0(t0)
	li t0, PG; li t1, 0x60; sd t1, 0(t0)
	li t0, BIG1 + 0x5000; li t1, 0xb16; sd t1, 0(t0)
	li t0, BIG2 + 0x5000; li t1, 0xb26; sd t1, 0(t0)

	SET_PTE(ROOT_A, 2, 0x80000000, RWAD | PTE_X | PTE_G)
	SET_PTE(ROOT_A, 1, L1_A, PTE_V)
	SET_PTE(L1_A, 0, L0_A, PTE_V)
	SET_PTE(L1_A, 1, BIG1, RWAD)
	SET_PTE(L0_A, 0, P0, RWAD)
	SET_PTE(L0_A, 1, PG, RWAD | PTE_G)
	la t2, code_a; srli t2, t2, 12; slli t2, t2, 10; ori t2, t2, RXA; li t0, L0_A + 16; sd t2, 0(t0)
	la t2, u_page; srli t2, t2, 12; slli t2, t2, 10; ori t2, t2, RXA | PTE_U; li t0, L0_A + 24; sd t2, 0(t0)
	SET_PTE(ROOT_B, 2, 0x80000000, RWAD | PTE_X | PTE_G)
	SET_PTE(ROOT_B, 1, L1_B, PTE_V)
	SET_PTE(L1_B, 0, L0_B, PTE_V)
	SET_PTE(L0_B, 0, P1, RWAD)
	SET_PTE(L0_B, 1, PG, RWAD | PTE_G)
	la t2, code_b; srli t2, t2, 12; slli t2, t2, 10; ori t2, t2, RXA; li t0, L0_B + 16; sd t2, 0(t0)

	/* 4.1.11: ASID is WARL; all 16 bits are writable (ASIDLEN = 16) */
	TEST_CASE(1); li t0, SATP_SV39 | (0xffff << 44) | (ROOT_A >> 12); csrw satp, t0
	csrr a4, satp; srli a4, a4, 44; li t1, 0xffff; and a4, a4, t1; ASSERT_IMM(a4, 0xffff)
	TEST_CASE(2); csrr a4, satp; srli a4, a4, 60; ASSERT_IMM(a4, 8)
	SET_SATP(SATP_A); sfence.vma
	TEST_CASE(3); csrr a4, satp; ASSERT_IMM(a4, SATP_A)

	/* the same VA in two address spaces: a satp write alone switches */
	S_LOAD(10, VA_D, 0xa0)
	S_CALL(11, VA_C, 0x11)
	SET_SATP(SATP_B)
	S_LOAD(12, VA_D, 0xb1)
	S_CALL(13, VA_C, 0x22)
	SET_SATP(SATP_A)
	S_LOAD(14, VA_D, 0xa0)
	S_CALL(15, VA_C, 0x11)
	SET_SATP(SATP_B)
	S_LOAD(16, VA_D, 0xb1)
	S_CALL(17, VA_C, 0x22)

	/* A's PTE changes; sfence.vma of ASID 1 makes A see it, and leaves
	 * B's translation right */
	SET_PTE(L0_A, 0, P2, RWAD)
	li t0, 1; sfence.vma zero, t0
	SET_SATP(SATP_A)
	S_LOAD(20, VA_D, 0xc2)
	SET_SATP(SATP_B)
	S_LOAD(21, VA_D, 0xb1)
	/* B's PTE changes: sfence.vma of that page and ASID 2 */
	SET_PTE(L0_B, 0, P0, RWAD)
	li t0, VA_D; li t1, 2; sfence.vma t0, t1
	S_LOAD(22, VA_D, 0xa0)
	SET_SATP(SATP_A)
	S_LOAD(23, VA_D, 0xc2)
	/* and an sfence.vma of a page with rs2 = x0 covers every ASID */
	SET_PTE(L0_A, 0, P1, RWAD)
	SET_PTE(L0_B, 0, P2, RWAD)
	li t0, VA_D; sfence.vma t0, zero
	S_LOAD(24, VA_D, 0xb1)
	SET_SATP(SATP_B)
	S_LOAD(25, VA_D, 0xc2)

	/* a global mapping reads the same in both; changed in both page
	 * tables, sfence.vma rs2 = x0 (4.2.1: global entries go too) */
	S_LOAD(30, VA_G, 0x60)
	SET_SATP(SATP_A)
	S_LOAD(31, VA_G, 0x60)
	SET_PTE(L0_A, 1, P0, RWAD | PTE_G)
	SET_PTE(L0_B, 1, P0, RWAD | PTE_G)
	sfence.vma
	S_LOAD(32, VA_G, 0xa0)
	SET_SATP(SATP_B)
	S_LOAD(33, VA_G, 0xa0)

	/* code: B's VA_C is remapped to code_a; sfence.vma of the page in
	 * ASID 2 makes B run the new code, A keeps its own */
	la t2, code_a; srli t2, t2, 12; slli t2, t2, 10; ori t2, t2, RXA; li t0, L0_B + 16; sd t2, 0(t0)
	li t0, VA_C; li t1, 2; sfence.vma t0, t1
	S_CALL(40, VA_C, 0x11)
	la t2, code_b; srli t2, t2, 12; slli t2, t2, 10; ori t2, t2, RXA; li t0, L0_A + 16; sd t2, 0(t0)
	li t0, 1; sfence.vma zero, t0
	SET_SATP(SATP_A)
	S_CALL(41, VA_C, 0x22)
	/* S ran VA_C (not a U page): U-mode jumping there must fault */
	TRAP_BEGIN(42); li a0, VA_C; li t6, MSTATUS_MPP; csrc mstatus, t6; li t6, VA_UC; csrw mepc, t6; mret
	TRAP_END(CAUSE_FETCH_PF); CHECK_TVAL(VA_C)
	/* and U code runs its own page; S may not execute it (4.3.1) */
	TRAP_BEGIN(43); li a0, VA_UC + 8; li t6, MSTATUS_MPP; csrc mstatus, t6; li t6, VA_UC; csrw mepc, t6; mret
	TRAP_END(CAUSE_ECALL_U)
	TRAP_BEGIN(44); li a0, VA_UC + 8; GOTO_S(s_call); TRAP_END(CAUSE_FETCH_PF); CHECK_TVAL(VA_UC + 8)

	/* global code: the same in both spaces; changed in both page tables,
	 * sfence.vma with rs2 = x0 (all, or the page) drops it everywhere,
	 * one with an ASID need not, so nothing is asserted after that */
	MAP_GC(code_a); sfence.vma
	S_CALL(45, VA_GC, 0x11)
	SET_SATP(SATP_B)
	S_CALL(46, VA_GC, 0x11)
	MAP_GC(code_b); sfence.vma
	S_CALL(47, VA_GC, 0x22)
	SET_SATP(SATP_A)
	S_CALL(48, VA_GC, 0x22)
	MAP_GC(code_a); li t0, VA_GC; sfence.vma t0, zero
	S_CALL(49, VA_GC, 0x11)
	SET_SATP(SATP_B)
	S_CALL(53, VA_GC, 0x11)
	SET_SATP(SATP_A)

	/* a superpage: a 4 KiB piece of it is used, the leaf changes, and an
	 * sfence.vma of another address inside the superpage covers it */
	S_LOAD(50, VA_BIG + 0x5000, 0xb16)
	SET_PTE(L1_A, 1, BIG2, RWAD)
	li t0, VA_BIG + 0x1000; sfence.vma t0, zero
	S_LOAD(51, VA_BIG + 0x5000, 0xb26)
	SET_PTE(L1_A, 1, BIG1, RWAD)
	li t0, VA_BIG + 0x100000; li t1, 1; sfence.vma t0, t1
	S_LOAD(52, VA_BIG + 0x5000, 0xb16)

	/* MODE Bare and back: no translation, then A again */
	csrw satp, zero
	S_LOAD(60, P2, 0xc2)
	SET_SATP(SATP_A)
	S_LOAD(61, VA_D, 0xb1)
	/* the same ASID with another root is another address space here */
	SET_SATP(SATP_SV39 | ASID(1) | (ROOT_B >> 12)); sfence.vma
	S_LOAD(62, VA_D, 0xc2)
	csrw satp, zero; sfence.vma
	TEST_PASS

/* S-mode routines (identity-mapped) */
s_load:	ld a4, 0(a0)
	ecall
s_call:	jalr a0
	ecall

	.align 12
code_a:	li a4, 0x11
	ret
	.align 12
code_b:	li a4, 0x22
	ret
	.align 12
u_page:	jalr a0
	ecall
	li a4, 0x33
	ret
	.align 12
