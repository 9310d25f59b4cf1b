/* Message passing and store buffering between harts 0 and 1 (RVWMO,
 * chapter 17 and appendix A litmus tests MP and SB); the other harts only
 * meet them at the barriers.
 * MP: hart 0 writes data = i, fence w,w, flag = i; hart 1 reads flag, fence
 *     r,r, data: it must never see a flag newer than the data.
 * SB: in round r, hart 0 writes x = r, fence rw,rw, reads y; hart 1 writes
 *     y = r, fence rw,rw, reads x: both reads older than r is forbidden (the
 *     one ordering x86-TSO does not give without a barrier: store -> load). */
#include "smp.h"
#define MP_ITER 100000
#define SB_ROUNDS 20000

	.text
	.globl smp_main
smp_main:
	mv s0, a0
	li t0, 1
	beqz s0, mp_writer
	beq s0, t0, mp_reader
	j sb
mp_writer:
	la s1, data
	la s2, flag
	li s3, 1
	li s4, MP_ITER
1:	sd s3, 0(s1)
	fence w, w
	sd s3, 0(s2)
	addi s3, s3, 1
	ble s3, s4, 1b
	j sb
mp_reader:
	la s1, data
	la s2, flag
	li s4, MP_ITER
1:	ld t0, 0(s2)
	fence r, r
	ld t1, 0(s1)
	bgeu t1, t0, 2f
	SMP_FAIL(1)
2:	bne t0, s4, 1b

sb:	BARRIER(1)
	li t0, 1
	beqz s0, sb_0
	beq s0, t0, sb_1
	j done
sb_0:	la s1, x
	la s2, y
	la s5, go
	la s6, ack
	la s7, res1
	li s3, 1
	li s4, SB_ROUNDS
1:	sd s3, 0(s5)		/* go = r */
	sd s3, 0(s1)		/* x = r */
	fence rw, rw
	ld t3, 0(s2)		/* r1 = y */
2:	ld t0, 0(s6)		/* wait for hart 1's round */
	bne t0, s3, 2b
	fence r, r
	ld t4, 0(s7)		/* r2 = x as hart 1 read it */
	bgeu t3, s3, 3f
	bgeu t4, s3, 3f
	SMP_FAIL(2)
3:	addi s3, s3, 1
	ble s3, s4, 1b
	j done
sb_1:	la s1, x
	la s2, y
	la s5, go
	la s6, ack
	la s7, res1
	li s3, 1
	li s4, SB_ROUNDS
1:	ld t0, 0(s5)		/* wait for go = r */
	bltu t0, s3, 1b
	sd s3, 0(s2)		/* y = r */
	fence rw, rw
	ld t4, 0(s1)		/* r2 = x */
	sd t4, 0(s7)
	fence w, w
	sd s3, 0(s6)		/* ack = r */
	addi s3, s3, 1
	ble s3, s4, 1b
done:	BARRIER(2)
	ret

	.data
	.align 6
data: .dword 0
	.align 6
flag: .dword 0
	.align 6
x: .dword 0
	.align 6
y: .dword 0
	.align 6
go: .dword 0
	.align 6
ack: .dword 0
	.align 6
res1: .dword 0
