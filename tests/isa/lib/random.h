/* Robustness: execute random bytes (build/isa/random-*.bin, fixed seed) and
 * survive. Every trap, and a watchdog timer interrupt when the code loops,
 * ends up in rand_hook, which moves a cursor 2 bytes forward through the
 * region and restarts there with fresh registers pointing into the region:
 * every 16-bit aligned offset is an entry point once. When the
 * cursor reaches the end the test passes and prints the number of traps.
 * Define RAND_BIN, RAND_VA (where the code runs), RAND_MODE (0 U, 1 S, 3 M)
 * and SETUP (code run once in M before the start; for S it is run again
 * before every restart, as S may have changed satp) before including. */

#define RAND_SIZE 32768
#define WATCHDOG 2000		/* mtime ticks (200 us) */
/* registers x1..x31 (but not t0) := RAND_VA + 0x3f8 * i */
#define FRESH_REGS li ra, RAND_VA + 0x3f8 * 1; li sp, RAND_VA + 0x3f8 * 2; li gp, RAND_VA + 0x3f8 * 3; li tp, RAND_VA + 0x3f8 * 4; li t1, RAND_VA + 0x3f8 * 6; li t2, RAND_VA + 0x3f8 * 7; li s0, RAND_VA + 0x3f8 * 8; li s1, RAND_VA + 0x3f8 * 9; li a0, RAND_VA + 0x3f8 * 10; li a1, RAND_VA + 0x3f8 * 11; li a2, RAND_VA + 0x3f8 * 12; li a3, RAND_VA + 0x3f8 * 13; li a4, RAND_VA + 0x3f8 * 14; li a5, RAND_VA + 0x3f8 * 15; li a6, RAND_VA + 0x3f8 * 16; li a7, RAND_VA + 0x3f8 * 17; li s2, RAND_VA + 0x3f8 * 18; li s3, RAND_VA + 0x3f8 * 19; li s4, RAND_VA + 0x3f8 * 20; li s5, RAND_VA + 0x3f8 * 21; li s6, RAND_VA + 0x3f8 * 22; li s7, RAND_VA + 0x3f8 * 23; li s8, RAND_VA + 0x3f8 * 24; li s9, RAND_VA + 0x3f8 * 25; li s10, RAND_VA + 0x3f8 * 26; li s11, RAND_VA + 0x3f8 * 27; li t3, RAND_VA + 0x3f8 * 28; li t4, RAND_VA + 0x3f8 * 29; li t5, RAND_VA + 0x3f8 * 30; li t6, RAND_VA + 0x3f8 * 31


	.text
	.globl test_main
test_main:
	TEST_CASE(1)
	SETUP
	SET_HOOK(rand_hook)
	li t0, RAND_VA
	la t1, cursor
	sd t0, 0(t1)
	li t0, MSTATUS_FS; csrs mstatus, t0		/* FP on */
	li t0, MIP_MTIP; csrw mie, t0
	call arm_watchdog
	li t0, MSTATUS_MPP; csrc mstatus, t0
	li t0, (RAND_MODE << 11) | MSTATUS_MPIE; csrs mstatus, t0
	li t0, RAND_VA
	csrw mepc, t0
	FRESH_REGS
	mret

arm_watchdog:
	li t0, CLINT_MTIME
	ld t1, 0(t0)
	li t2, WATCHDOG
	add t1, t1, t2
	li t0, CLINT_MTIMECMP
	sd t1, 0(t0)
	ret

/* a0 = frame, a1 = mcause, a2 = mepc */
rand_hook:
	csrr t0, mstatus
	srli t0, t0, 11
	andi t0, t0, 3
	li t1, RAND_MODE
#if RAND_MODE == 1
	beqz t0, 3f			/* S may sret to U */
#endif
	bne t0, t1, 9f			/* a trap from elsewhere: harness bug */
3:
	la t1, cursor
	ld t2, 0(t1)
	li t4, RAND_VA + RAND_SIZE
	addi t2, t2, 2
	sd t2, 0(t1)
	bgeu t2, t4, rand_done
	csrw mepc, t2
	/* fresh registers in the frame */
	li t0, 1
	li t1, RAND_VA
	li t3, 0x3f8
2:	mul t5, t0, t3
	li t6, RAND_SIZE - 1
	and t5, t5, t6
	add t5, t5, t1
	slli t6, t0, 3
	add t6, t6, a0
	sd t5, 0(t6)
	addi t0, t0, 1
	li t6, 32
	bltu t0, t6, 2b
#if RAND_MODE == 1
	/* undo what S may have changed: satp, sstatus fields */
	mv s1, a0
	SETUP
	mv a0, s1
	li t0, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR
	csrc mstatus, t0
#endif
	/* back in RAND_MODE with interrupts on, FP on */
	li t0, MSTATUS_MPP
	csrc mstatus, t0
	li t0, (RAND_MODE << 11) | MSTATUS_MPIE | MSTATUS_FS
	csrs mstatus, t0
	mv s0, ra
	call arm_watchdog
	mv ra, s0
	li a0, 0
	ret
9:	li a0, 1
	ret

rand_done:
	csrw mie, zero
	la sp, stack_top
	la a0, msg_done
	call puts
	la t0, trap_count
	ld a0, 0(t0)
	call puthex
	li a0, '\n'
	call putc
	j pass

	.section .rodata
msg_done: .asciz "isa: random code done, traps: "

	.data
	.align 3
cursor:	.dword 0

	.section .rand, "awx"
	.align 12
	.globl rand_code
rand_code:
	.incbin RAND_BIN
	.align 12
rand_end:
