/* Trevo SMP litmus tests: every hart runs the test (RVWMO, unprivileged spec
 * chapter 17; the A extension, chapter 8). Each tests/smp/NAME.S is built
 * once per hart count N (NHARTS = 2, 4, 8: build/smp/NAME-N.elf) and run
 * with --cpus N. It defines `smp_main`, entered in M-mode by every hart
 * with a0 = mhartid, sp = a stack of its own, mtvec = fail. Hart 0 ends the
 * test with SMP_PASS or, on any hart, SMP_FAIL(code): the SiFive test
 * device's exit status (code << 16 | 0x3333), so the status is the failing
 * case. ISA conventions (device addresses) as in tests/isa/lib/isa.h. */
#ifndef TREVO_SMP_H
#define TREVO_SMP_H

#include "isa.h"

#ifndef NHARTS
#error "NHARTS must be defined (-DNHARTS=N)"
#endif

#define SMP_PASS j smp_pass
#define SMP_FAIL(code) li a0, code; j smp_fail

/* All NHARTS harts meet here (the k-th barrier of the test, k = 1, 2 ...):
 * an AMO counter that every hart increments once per barrier. Uses t0-t2. */
#define BARRIER(k)                                 \
	la t0, smp_barrier_count;                  \
	li t1, 1;                                  \
	amoadd.d zero, t1, (t0);                   \
	li t2, (k) * NHARTS;                       \
90:	ld t1, 0(t0);                              \
	blt t1, t2, 90b;                           \
	fence rw, rw

#endif
