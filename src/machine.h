/* The machines Trevo can build, one per CPU engine. Each creates its board on
 * a configured struct vm, runs the guest to its end and returns the exit
 * status for trevo (0 poweroff, non-zero failure). */
#ifndef TREVO_MACHINE_H
#define TREVO_MACHINE_H

#include "vm.h"

/* Software RV64GC CPU: --mode full (firmware in M-mode) and --mode para (SBI in
 * the monitor). src/riscv/board.c */
int riscv_machine_run(struct vm *vm);
/* Linux KVM, x86-64 guests: --mode hw. src/x86/kvm.c */
int x86_machine_run(struct vm *vm) __attribute__((weak));

#endif
