/* Virtual memory tests shared by vm_sv39.S and vm_sv48.S (priv spec 4.3,
 * 4.4, 4.5): define LEVELS (3 or 4) and SATP_MODE before including. Page
 * tables are built at run time by map_page in fixed scratch RAM; S-mode
 * code runs from an identity-mapped 1 GiB page; U-mode code from a U page.
 * Faults are not delegated, so they arrive at the M handler. */

#define PT_BASE   0x80600000	/* root; further tables follow */
#define PT_END    0x80700000
#define DATA_PA   0x80700000	/* 32 data pages P0..P31 */
#define P(i)      (DATA_PA + (i) * 0x1000)
#define BIG_PA    0x80800000	/* 2 MiB aligned */

#define VA_4K     0x40000000
#define VA_2M     0x40200000
#define VA_2M_BAD 0x40400000
#define VA_1G     0xc0000000
#define VA_1G_BAD 0x100000000
#define VA_U      0x40100000	/* u_page, U|R|X */
#define VA_X      0x40110000	/* x_page, X only */
#define VA_NX     0x40111000	/* x_page, R|W, no X */
#define VA_SFENCE 0x40120000
#define VA_CROSS  0x40130000	/* P(16), P(17): a 32-bit insn across the pages */
#define VA_SPAN   0x40140000	/* P(18), then P(19) or P(20): code running across */

#define RWXAD (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define RWAD  (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define RAD   (PTE_V | PTE_R | PTE_A)

/* map va -> pa with flags as a leaf at level lvl (0 = 4K, 1 = 2M, 2 = 1G) */
#define MAP(va, pa, flags, lvl) li a0, va; li a1, pa; li a2, flags; li a3, lvl; call map_page
#define MAP_LBL(va, lbl, flags, lvl) li a0, va; la a1, lbl; li a2, flags; li a3, lvl; call map_page
/* PTE address of the leaf for va at lvl -> a0 */
#define PTE_OF(va, lvl) li a0, va; li a1, 0; li a2, -1; li a3, lvl; call map_page
#define SATP_ON li t0, SATP_MODE | (PT_BASE >> 12); csrw satp, t0; sfence.vma
#define IN_S(lbl, cause) GOTO_S(lbl); TRAP_END(cause)
#define S_LOAD_OK(n, va, exp) TRAP_BEGIN(n); li a0, va; IN_S(s_load, CAUSE_ECALL_S); ASSERT_IMM(a4, exp)
#define S_FAULT(n, lbl, va, cause) TRAP_BEGIN(n); li a0, va; IN_S(lbl, cause); CHECK_TVAL(va)
/* U-mode code runs at VA_U + offset in u_page */
#define GOTO_U_VA(lbl) li t6, MSTATUS_MPP; csrc mstatus, t6; la t6, lbl; la t5, u_page; sub t6, t6, t5; li t5, VA_U; add t6, t6, t5; csrw mepc, t6; mret
#define MAGIC(i) (0x1111111100000000 + (i))

	.text
	.globl test_main
test_main:
	/* zero the page-table area and the data pages */
	li t0, PT_BASE
	li t1, DATA_PA + 0x20000
1:	sd zero, 0(t0)
	addi t0, t0, 8
	bltu t0, t1, 1b
	la t0, pt_next
	li t1, PT_BASE + 0x1000
	sd t1, 0(t0)
	/* put MAGIC(i) at the start of each data page, and in the 2M page */
	li t0, DATA_PA
	li t2, 0
1:	li t1, 0x1111111100000000
	add t1, t1, t2
	sd t1, 0(t0)
	li t1, 0x1000
	add t0, t0, t1
	addi t2, t2, 1
	li t1, 16
	bltu t2, t1, 1b
	li t0, BIG_PA + 0x1238
	li t1, 0xb16b16b16b16
	sd t1, 0(t0)

	/* identity map for S code and data: 1G leaf at 0x80000000 */
	MAP(0x80000000, 0x80000000, RWXAD, 2)
	MAP(VA_4K, P(0), RWAD, 0)
	MAP(VA_4K + 0x1000, P(1), RWAD, 0)
	MAP(VA_4K + 0x2000, P(2), RAD, 0)				/* read-only */
	MAP(VA_4K + 0x3000, P(3), PTE_R | PTE_W | PTE_A | PTE_D, 0)	/* V = 0 */
	MAP(VA_4K + 0x4000, P(4), PTE_V | PTE_W | PTE_A | PTE_D, 0)	/* W without R: reserved */
	MAP(VA_4K + 0x5000, P(5), PTE_V, 0)				/* pointer at the last level */
	MAP(VA_4K + 0x6000, P(6), RWAD | PTE_U, 0)			/* user data */
	MAP(VA_4K + 0x7000, P(7), PTE_V | PTE_R | PTE_W, 0)		/* A = D = 0 */
	MAP(VA_4K + 0x8000, P(8), PTE_V | PTE_R | PTE_W | PTE_A, 0)	/* D = 0 */
	MAP(VA_2M, BIG_PA, RWAD, 1)
	MAP(VA_2M_BAD, BIG_PA + 0x1000, RWAD, 1)			/* misaligned superpage */
	MAP(VA_1G, 0x80000000, RWAD, 2)
	MAP(VA_1G_BAD, 0x80200000, RWAD, 2)
	MAP_LBL(VA_U, u_page, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A, 0)
	MAP_LBL(VA_X, x_page, PTE_V | PTE_X | PTE_A, 0)
	MAP_LBL(VA_NX, x_page, RWAD, 0)
	MAP(VA_SFENCE, P(9), RWAD, 0)
	SATP_ON
	TEST_CASE(1); csrr a4, satp; srli a4, a4, 60; ASSERT_IMM(a4, SATP_MODE >> 60)

	/* 4K page, load and store */
	S_LOAD_OK(2, VA_4K, MAGIC(0))
	TRAP_BEGIN(3); li a0, VA_4K + 0x1008; li a1, 0xabcdef; IN_S(s_store, CAUSE_ECALL_S)
	li t0, P(1) + 8; ld a4, 0(t0); ASSERT_IMM(a4, 0xabcdef)
	/* 2M and 1G superpages */
	S_LOAD_OK(4, VA_2M + 0x1238, 0xb16b16b16b16)
	TEST_CASE(5); la t0, vm_magic; li t1, 0x80000000; sub t0, t0, t1; li t1, VA_1G; add s1, t0, t1
	TRAP_BEGIN(6); mv a0, s1; IN_S(s_load, CAUSE_ECALL_S); ASSERT_IMM(a4, 0x5eed5eed)
	/* misaligned superpages are page faults (4.3.2 step 6) */
	S_FAULT(7, s_load, VA_2M_BAD, CAUSE_LOAD_PF)
	CHECK_EPC(s_load)
	S_FAULT(8, s_load, VA_1G_BAD + 0x10, CAUSE_LOAD_PF)
	S_FAULT(9, s_store, VA_2M_BAD + 0x8, CAUSE_STORE_PF)
	/* invalid, reserved W-only, pointer at level 0 */
	S_FAULT(10, s_load, VA_4K + 0x3000, CAUSE_LOAD_PF)
	S_FAULT(11, s_store, VA_4K + 0x3010, CAUSE_STORE_PF)
	S_FAULT(12, s_load, VA_4K + 0x4000, CAUSE_LOAD_PF)
	S_FAULT(13, s_store, VA_4K + 0x4000, CAUSE_STORE_PF)
	S_FAULT(14, s_load, VA_4K + 0x5000, CAUSE_LOAD_PF)
	/* unmapped (no PTE at all) */
	S_FAULT(15, s_load, 0x20000000, CAUSE_LOAD_PF)
	/* a VA that is not sign-extended from the top VA bit */
#if LEVELS == 3
	S_FAULT(16, s_load, 0x0000004000000000, CAUSE_LOAD_PF)
#else
	S_FAULT(16, s_load, 0x0000800000000000, CAUSE_LOAD_PF)
#endif
	S_FAULT(17, s_load, 0xffff000080000000, CAUSE_LOAD_PF)
	/* write to a read-only page */
	S_LOAD_OK(18, VA_4K + 0x2000, MAGIC(2))
	S_FAULT(19, s_store, VA_4K + 0x2000, CAUSE_STORE_PF)
	/* AMO to a read-only page: store/AMO page fault */
	S_FAULT(20, s_amo, VA_4K + 0x2000, CAUSE_STORE_PF)
	/* execute: X-only page runs, RW page does not; mepc = mtval = the VA */
	TRAP_BEGIN(21); li a0, VA_X; li a4, 0; IN_S(s_jump, CAUSE_ECALL_S); ASSERT_IMM(a4, 0x77)
	S_FAULT(22, s_jump, VA_NX, CAUSE_FETCH_PF)
	la t5, trap_epc; ld t5, 0(t5); ASSERT_IMM(t5, VA_NX)
	/* MXR: loads from X-only pages */
	S_FAULT(23, s_load, VA_X, CAUSE_LOAD_PF)
	li t0, MSTATUS_MXR; csrs mstatus, t0
	TRAP_BEGIN(24); li a0, VA_X; IN_S(s_load, CAUSE_ECALL_S)
	la t0, x_page; ld t0, 0(t0); ASSERT_EQ(a4, t0)
	li t0, MSTATUS_MXR; csrc mstatus, t0
	/* U pages from S: fault unless SUM; never executable from S */
	S_FAULT(25, s_load, VA_4K + 0x6000, CAUSE_LOAD_PF)
	S_FAULT(26, s_store, VA_4K + 0x6000, CAUSE_STORE_PF)
	li t0, MSTATUS_SUM; csrs mstatus, t0
	S_LOAD_OK(27, VA_4K + 0x6000, MAGIC(6))
	TRAP_BEGIN(28); li a0, VA_4K + 0x6010; li a1, 0x5a; IN_S(s_store, CAUSE_ECALL_S)
	S_FAULT(29, s_jump, VA_U, CAUSE_FETCH_PF)
	li t0, MSTATUS_SUM; csrc mstatus, t0
	/* SUM off again: the earlier permitted access is not remembered */
	S_FAULT(35, s_load, VA_4K + 0x6000, CAUSE_LOAD_PF)
	li t0, MSTATUS_MXR; csrs mstatus, t0
	TRAP_BEGIN(36); li a0, VA_X + 0x100; IN_S(s_load, CAUSE_ECALL_S); la t0, x_page; ld t0, 0x100(t0); ASSERT_EQ(a4, t0)
	li t0, MSTATUS_MXR; csrc mstatus, t0
	S_FAULT(37, s_load, VA_X + 0x100, CAUSE_LOAD_PF)
	/* U-mode: U pages yes, others no */
	TRAP_BEGIN(30); li a0, VA_4K + 0x6000; GOTO_U_VA(u_load); TRAP_END(CAUSE_ECALL_U); ASSERT_IMM(a4, MAGIC(6))
	TRAP_BEGIN(31); li a0, VA_4K; GOTO_U_VA(u_load); TRAP_END(CAUSE_LOAD_PF); CHECK_TVAL(VA_4K)
	TRAP_BEGIN(32); li a0, VA_4K + 0x1000; GOTO_U_VA(u_store); TRAP_END(CAUSE_STORE_PF); CHECK_TVAL(VA_4K + 0x1000)
	TRAP_BEGIN(33); GOTO_U(u_identity); TRAP_END(CAUSE_FETCH_PF); CHECK_EPC(u_identity); CHECK_TVAL_LBL(u_identity)
	/* the U code page is not writable: store to it */
	TRAP_BEGIN(34); li a0, VA_U; GOTO_U_VA(u_store); TRAP_END(CAUSE_STORE_PF); CHECK_TVAL(VA_U)

	/* MPRV: M-mode loads and stores translated as MPP */
	TEST_CASE(40); li t0, MSTATUS_MPP; csrc mstatus, t0; li t0, MSTATUS_MPP_S | MSTATUS_MPRV; csrs mstatus, t0
	li a0, VA_4K; ld a4, 0(a0); li t0, MSTATUS_MPRV; csrc mstatus, t0; ASSERT_IMM(a4, MAGIC(0))
	/* instruction fetch is not affected by MPRV: this code keeps running */
	TRAP_BEGIN(41); li t0, MSTATUS_MPP; csrc mstatus, t0; li t0, MSTATUS_MPRV; csrs mstatus, t0	/* MPP = U */
	li a0, VA_4K; 98: ld a4, 0(a0); TRAP_END(CAUSE_LOAD_PF); CHECK_EPC(98b); CHECK_TVAL(VA_4K)
	TEST_CASE(42); li t0, MSTATUS_MPP; csrs mstatus, t0; li t0, MSTATUS_MPRV; csrs mstatus, t0	/* MPP = M: no translation */
	li a0, P(0); ld a4, 0(a0); li t0, MSTATUS_MPRV; csrc mstatus, t0; ASSERT_IMM(a4, MAGIC(0))
	TEST_CASE(43); li t0, MSTATUS_MPP; csrc mstatus, t0; li t0, MSTATUS_MPP_S | MSTATUS_MPRV | MSTATUS_SUM; csrs mstatus, t0
	li a0, VA_4K + 0x6000; li a1, 0x99; sd a1, 8(a0); li t0, MSTATUS_MPRV | MSTATUS_SUM; csrc mstatus, t0
	li a0, P(6) + 8; ld a4, 0(a0); ASSERT_IMM(a4, 0x99)
	li t0, MSTATUS_MPP; csrs mstatus, t0

	/* A and D are set by the hardware (Svadu behaviour, as on QEMU) */
	S_LOAD_OK(50, VA_4K + 0x7000, MAGIC(7))
	TEST_CASE(51); PTE_OF(VA_4K + 0x7000, 0); ld a4, 0(a0); andi a4, a4, PTE_A | PTE_D; ASSERT_IMM(a4, PTE_A)
	TRAP_BEGIN(52); li a0, VA_4K + 0x7010; li a1, 1; IN_S(s_store, CAUSE_ECALL_S)
	TEST_CASE(53); PTE_OF(VA_4K + 0x7000, 0); ld a4, 0(a0); andi a4, a4, PTE_A | PTE_D; ASSERT_IMM(a4, PTE_A | PTE_D)
	TRAP_BEGIN(54); li a0, VA_4K + 0x8010; li a1, 1; IN_S(s_store, CAUSE_ECALL_S)
	TEST_CASE(55); PTE_OF(VA_4K + 0x8000, 0); ld a4, 0(a0); andi a4, a4, PTE_A | PTE_D; ASSERT_IMM(a4, PTE_A | PTE_D)
	/* a faulting store does not set D (or A) */
	TEST_CASE(56); MAP(VA_4K + 0x9000, P(10), PTE_V | PTE_R, 0)
	S_FAULT(57, s_store, VA_4K + 0x9000, CAUSE_STORE_PF)
	TEST_CASE(58); PTE_OF(VA_4K + 0x9000, 0); ld a4, 0(a0); andi a4, a4, PTE_D; ASSERT_IMM(a4, 0)

	/* sfence.vma after changing a PTE: the new mapping is used */
	S_LOAD_OK(60, VA_SFENCE, MAGIC(9))
	MAP(VA_SFENCE, P(11), RWAD, 0)
	TRAP_BEGIN(61); li a0, VA_SFENCE; IN_S(s_sfence_load, CAUSE_ECALL_S); ASSERT_IMM(a4, MAGIC(11))
	MAP(VA_SFENCE, P(12), RWAD, 0)
	TRAP_BEGIN(62); li a0, VA_SFENCE; IN_S(s_sfence_va_load, CAUSE_ECALL_S); ASSERT_IMM(a4, MAGIC(12))
	/* removing the mapping: page fault after sfence */
	MAP(VA_SFENCE, P(12), 0, 0)
	S_FAULT(63, s_sfence_load, VA_SFENCE, CAUSE_LOAD_PF)
	/* satp change with a different root: here, back to bare */
	TEST_CASE(64); csrw satp, zero; sfence.vma
	TRAP_BEGIN(65); li a0, P(0); IN_S(s_load, CAUSE_ECALL_S); ASSERT_IMM(a4, MAGIC(0))
#if LEVELS == 4
	/* Sv48: a VA above 2^39 (canonical in Sv48 only) and a 512G-level walk */
	SATP_ON
	MAP(0x0000008000000000, P(13), RWAD, 0)
	S_LOAD_OK(70, 0x0000008000000000, MAGIC(13))
	MAP(0xffff800000000000, P(14), RWAD, 0)
	S_LOAD_OK(71, 0xffff800000000000, MAGIC(14))
	/* a misaligned 512G "terapage" */
	MAP(0x0000010000000000, 0x80000000, RWAD, 3)
	S_FAULT(72, s_load, 0x0000010000000000, CAUSE_LOAD_PF)
	csrw satp, zero; sfence.vma
#endif

	/* a 32-bit instruction across a page boundary: addi a4, zero, 0x55
	 * (0x05500713) at VA_CROSS + 0xffe, then c.jr ra (0x8082) */
	SATP_ON
	TEST_CASE(80); li t0, P(16) + 0xffe; li t1, 0x0713; sh t1, 0(t0); li t0, P(17); li t1, 0x0550; sh t1, 0(t0); li t1, 0x8082; sh t1, 2(t0); fence.i
	MAP(VA_CROSS, P(16), PTE_V | PTE_X | PTE_A, 0)
	MAP(VA_CROSS + 0x1000, P(17), PTE_V | PTE_X | PTE_A, 0)
	sfence.vma
	TRAP_BEGIN(81); li a0, VA_CROSS + 0xffe; li a4, 0; IN_S(s_jump, CAUSE_ECALL_S); ASSERT_IMM(a4, 0x55)
	/* second page not executable: fetch page fault, mepc = the instruction,
	 * mtval = the part that faulted (priv 3.1.16) */
	MAP(VA_CROSS + 0x1000, P(17), RWAD, 0)
	sfence.vma
	TRAP_BEGIN(82); li a0, VA_CROSS + 0xffe; IN_S(s_jump, CAUSE_FETCH_PF); CHECK_TVAL(VA_CROSS + 0x1000)
	la t5, trap_epc; ld t5, 0(t5); ASSERT_IMM(t5, VA_CROSS + 0xffe)
	/* misaligned load across two mapped pages, and into an invalid one:
	 * mtval lies in the part that faulted (priv 3.1.16) */
	S_LOAD_OK(88, VA_4K + 0xffc, 0x100000000)
	TRAP_BEGIN(89); li a0, VA_4K + 0x2ffc; IN_S(s_load, CAUSE_LOAD_PF)
	la t5, trap_tval; ld t5, 0(t5); li t6, VA_4K + 0x3000; bgeu t5, t6, 1f; j fail; 1: li t6, VA_4K + 0x3004; bltu t5, t6, 1f; j fail; 1:
	/* code written through a writable alias of its page, then fence.i:
	 * VA_CROSS + 0x1000 is P(17) executable, VA_SFENCE its RW alias */
	MAP(VA_CROSS + 0x1000, P(17), PTE_V | PTE_X | PTE_A, 0)
	MAP(VA_SFENCE, P(17), RWAD, 0)
	sfence.vma
	TRAP_BEGIN(90); li a0, VA_CROSS + 0x1000 + 0x10; li a1, 0x0000808200600713; li a2, VA_SFENCE + 0x10; IN_S(s_patch_run, CAUSE_ECALL_S); ASSERT_IMM(a4, 6)
	TRAP_BEGIN(91); li a0, VA_CROSS + 0x1000 + 0x10; li a1, 0x0000808200700713; li a2, VA_SFENCE + 0x10; IN_S(s_patch_run, CAUSE_ECALL_S); ASSERT_IMM(a4, 7)
	/* a leaf PTE with a reserved bit (63:54) set: page fault (priv 1.12,
	 * 4.4.1) */
	MAP(VA_4K + 0xa000, P(10), RWAD | (1 << 54), 0)
	sfence.vma
	S_FAULT(92, s_load, VA_4K + 0xa000, CAUSE_LOAD_PF)
	MAP(VA_4K + 0xa000, P(10), RWAD | (1 << 63), 0)
	sfence.vma
	S_FAULT(93, s_load, VA_4K + 0xa000, CAUSE_LOAD_PF)
	/* straight-line code running from one page into the next; the second
	 * page is remapped to other code (sfence.vma): the new code runs. P18
	 * ends with addi a4, zero, 1; P19 starts addi a4, a4, 10; c.jr ra, P20
	 * addi a4, a4, 20; c.jr ra */
	TEST_CASE(94); li t0, P(18) + 0xffc; li t1, 0x00100713; sw t1, 0(t0)
	li t0, P(19); li t1, 0x00a70713; sw t1, 0(t0); li t1, 0x8082; sh t1, 4(t0)
	li t0, P(20); li t1, 0x01470713; sw t1, 0(t0); li t1, 0x8082; sh t1, 4(t0); fence.i
	MAP(VA_SPAN, P(18), PTE_V | PTE_X | PTE_A, 0)
	MAP(VA_SPAN + 0x1000, P(19), PTE_V | PTE_X | PTE_A, 0)
	sfence.vma
	TRAP_BEGIN(95); li a0, VA_SPAN + 0xffc; IN_S(s_jump3, CAUSE_ECALL_S); ASSERT_IMM(a4, 33)
	MAP(VA_SPAN + 0x1000, P(20), PTE_V | PTE_X | PTE_A, 0)
	TRAP_BEGIN(96); li a0, VA_SPAN + 0xffc; IN_S(s_sfence_jump3, CAUSE_ECALL_S); ASSERT_IMM(a4, 63)
	/* page faults delegated to S: scause, sepc, stval; M sees nothing */
	TEST_CASE(83); la t0, s_vm_handler; csrw stvec, t0
	li t0, (1 << CAUSE_LOAD_PF) | (1 << CAUSE_STORE_PF) | (1 << CAUSE_FETCH_PF); csrw medeleg, t0
	TRAP_BEGIN(84); li a0, VA_4K + 0x3008; IN_S(s_load, CAUSE_ECALL_S); CHECK_EPC(s_vm_handler_ecall)
	la t0, s_trap; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_LOAD_PF); ld a4, 8(t0); la t6, s_load; ASSERT_EQ(a4, t6); ld a4, 16(t0); ASSERT_IMM(a4, VA_4K + 0x3008)
	TRAP_BEGIN(85); li a0, VA_4K + 0x2010; IN_S(s_store, CAUSE_ECALL_S)
	la t0, s_trap; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_STORE_PF); ld a4, 16(t0); ASSERT_IMM(a4, VA_4K + 0x2010)
	TRAP_BEGIN(86); li a0, VA_NX; IN_S(s_jump, CAUSE_ECALL_S)
	la t0, s_trap; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_FETCH_PF); ld a4, 8(t0); ASSERT_IMM(a4, VA_NX); ld a4, 16(t0); ASSERT_IMM(a4, VA_NX)
	/* from U too */
	TRAP_BEGIN(87); li a0, VA_4K; GOTO_U_VA(u_load); TRAP_END(CAUSE_ECALL_S)
	la t0, s_trap; ld a4, 0(t0); ASSERT_IMM(a4, CAUSE_LOAD_PF); ld a4, 16(t0); ASSERT_IMM(a4, VA_4K); ld a4, 24(t0); andi a4, a4, MSTATUS_SPP; ASSERT_IMM(a4, 0)
	csrw medeleg, zero
	csrw satp, zero; sfence.vma
	TEST_PASS

/* map_page(a0 = va, a1 = pa, a2 = flags, a3 = leaf level): walk from the
 * root, allocating zeroed tables; write the leaf PTE unless a2 == -1;
 * return a0 = the leaf PTE's address. */
map_page:
	li t0, LEVELS - 1		/* level */
	li t2, PT_BASE			/* table */
1:	li t3, 9
	mul t3, t3, t0
	addi t3, t3, 12
	srl t4, a0, t3
	andi t4, t4, 511
	slli t4, t4, 3
	add t4, t4, t2			/* PTE address */
	beq t0, a3, 3f
	ld t5, 0(t4)
	andi t6, t5, PTE_V
	beqz t6, 2f
	srli t2, t5, 10
	slli t2, t2, 12
	addi t0, t0, -1
	j 1b
2:	la t5, pt_next			/* new table */
	ld t2, 0(t5)
	li t6, 0x1000
	add t6, t6, t2
	sd t6, 0(t5)
	srli t5, t2, 12
	slli t5, t5, 10
	ori t5, t5, PTE_V
	sd t5, 0(t4)
	addi t0, t0, -1
	j 1b
3:	li t6, -1
	beq a2, t6, 4f
	srli t5, a1, 12
	slli t5, t5, 10
	or t5, t5, a2
	sd t5, 0(t4)
4:	mv a0, t4
	ret

/* S-mode routines (identity-mapped) */
s_load:	ld a4, 0(a0)
	ecall
s_store: sd a1, 0(a0)
	ecall
s_amo:	amoadd.d a4, a1, (a0)
	ecall
s_jump:	jalr a0
	ecall
s_sfence_load: sfence.vma
	ld a4, 0(a0)
	ecall
s_sfence_va_load: sfence.vma a0
	ld a4, 0(a0)
	ecall
u_identity: ecall
/* run the code at a0 three times, summing a4 into the result */
s_sfence_jump3:
	sfence.vma
s_jump3:
	mv s1, ra
	li s2, 0
	jalr a0
	add s2, s2, a4
	jalr a0
	add s2, s2, a4
	jalr a0
	add a4, s2, a4
	mv ra, s1
	ecall
/* store a1 (addi a4, zero, N; c.jr ra) through the alias a2, fence.i, run
 * it at a0. Called twice with different N: the second run must see the new
 * code although the first version was executed before. */
s_patch_run:
	sd a1, 0(a2)
	fence.i
	mv s1, ra
	jalr a0
	mv ra, s1
	ecall

/* S handler for delegated page faults: record, then ecall to M */
	.align 4
s_vm_handler:
	la t0, s_trap
	csrr t1, scause
	sd t1, 0(t0)
	csrr t1, sepc
	sd t1, 8(t0)
	csrr t1, stval
	sd t1, 16(t0)
	csrr t1, sstatus
	sd t1, 24(t0)
s_vm_handler_ecall:
	ecall

	.align 12
u_page:
u_load:	ld a4, 0(a0)
	ecall
u_store: sd a1, 0(a0)
	ecall
	.align 12
x_page:
	li a4, 0x77
	ret
	.align 12

	.data
	.align 3
pt_next: .dword 0
vm_magic: .dword 0x5eed5eed
s_trap:	.dword 0, 0, 0, 0
