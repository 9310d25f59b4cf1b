/* The RISC-V "virt" board of Trevo: memory map, harts, interrupt wiring. */
#ifndef TREVO_RISCV_BOARD_H
#define TREVO_RISCV_BOARD_H

#include <pthread.h>

#include "../vm.h"
#include "cpu.h"

/* Memory map (the layout users of QEMU's virt board know). */
#define BOARD_ROM_BASE     0x1000ULL
#define BOARD_ROM_SIZE     0x1000ULL
#define BOARD_TEST_BASE    0x100000ULL     /* SiFive test / syscon */
#define BOARD_RTC_BASE     0x101000ULL     /* goldfish RTC */
#define BOARD_PVPANIC_BASE 0x102000ULL     /* pvpanic-mmio */
#define BOARD_CLINT_BASE   0x2000000ULL
#define BOARD_CLINT_SIZE   0x10000ULL
#define BOARD_PLIC_BASE    0xc000000ULL
#define BOARD_PLIC_SIZE    0x600000ULL
#define BOARD_UART_BASE    0x10000000ULL
#define BOARD_VIRTIO_BASE  0x10001000ULL   /* 8 slots of 0x1000 */
#define BOARD_VIRTIO_SLOTS 8
#define BOARD_PCI_IO_BASE  0x03000000ULL   /* PCI I/O space 0..64 KiB */
#define BOARD_PCI_IO_SIZE  0x10000ULL
#define BOARD_PCI_ECAM_BASE 0x30000000ULL  /* 256 buses of 1 MiB */
#define BOARD_PCI_BUSES    256
#define BOARD_PCI_MEM_BASE 0x40000000ULL   /* 32-bit BARs */
#define BOARD_PCI_MEM_SIZE 0x40000000ULL
#define BOARD_PCI_MEM64_SIZE 0x400000000ULL /* 64-bit BARs, above RAM */
#define BOARD_RAM_BASE     0x80000000ULL
#define BOARD_KERNEL_OFF   0x200000ULL     /* fw_jump jumps to RAM + 2 MiB */

/* PLIC sources */
#define IRQ_VIRTIO_FIRST   1               /* 1..8 */
#define IRQ_UART           10
#define IRQ_RTC            11
#define IRQ_PCI_INTA       32              /* INTA..INTD: 32..35 */
#define PLIC_NR_SOURCES    95              /* highest source id (riscv,ndev) */

#define BOARD_INTC_PHANDLE(h) (1 + (h))
#define BOARD_PLIC_PHANDLE    0x20
#define BOARD_TEST_PHANDLE    0x7e57

struct plic;

/* The board's own state (vm->arch): what it built around the CPU. */
struct rv_board {
	struct vm *vm;
	struct rv_cpu *cpu;
	struct plic *plic;
	bool para;                       /* SBI in the monitor: no firmware, no CLINT */
	/* HTIF: a firmware ELF with a tohost symbol ends the run by writing it */
	uint64_t tohost, fromhost;
	bool has_tohost;
	/* Where the harts start after a reset. */
	uint64_t entry;                  /* para: the kernel; full: the reset ROM */
	uint64_t fdt_addr;
};

/* PLIC (plic.c): contexts 2*h (M-mode) and 2*h+1 (S-mode) per hart, as on
 * QEMU's virt board; drives MEIP/SEIP of each hart. Installs itself as the
 * VM's interrupt controller. */
struct plic *plic_create(struct rv_cpu *cpu, uint64_t base, unsigned nr_sources);
void plic_set_irq(void *plic, unsigned irq, int level);
void plic_reset(struct plic *p);
int plic_state(struct plic *p, struct vmstate *s);
void plic_destroy(struct plic *p);

/* CLINT (clint.c): msip, mtimecmp, mtime. */
int clint_create(struct rv_cpu *cpu, uint64_t base);

#endif
