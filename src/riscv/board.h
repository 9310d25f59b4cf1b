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
#define BOARD_RAM_BASE     0x80000000ULL
#define BOARD_KERNEL_OFF   0x200000ULL     /* fw_jump jumps to RAM + 2 MiB */

/* PLIC sources */
#define IRQ_VIRTIO_FIRST   1               /* 1..8 */
#define IRQ_UART           10
#define IRQ_RTC            11
#define PLIC_NR_SOURCES    32

#define MTIME_HZ 10000000ULL               /* 10 MHz timebase */
#define MAX_HARTS 8

#define BOARD_INTC_PHANDLE(h) (1 + (h))
#define BOARD_PLIC_PHANDLE    0x20
#include "../dev/sifive_test.h"
#define BOARD_TEST_PHANDLE    SIFIVE_TEST_PHANDLE

#define PAGE_CODE  1
#define PAGE_WATCH 2

struct rv_block_cache;
struct plic;

struct rv_machine {
	struct vm *vm;
	int nr_harts;
	struct hart *harts[MAX_HARTS];
	struct plic *plic;
	struct rv_block_cache *blocks;   /* decoded code, shared by all harts */

	/* Main RAM, for the CPU's fast paths (also in vm->mem). */
	uint8_t *ram;
	uint64_t ram_base, ram_size;
	uint8_t *rom;                    /* reset ROM at BOARD_ROM_BASE */
	/* Per RAM page: PAGE_CODE (instructions decoded from it: stores must
	 * invalidate them), PAGE_WATCH (HTIF tohost). Written by the CPU thread
	 * only. */
	uint8_t *page_flags;
	/* Device DMA into code pages, queued by I/O threads for the CPU thread. */
	pthread_mutex_t dma_lock;
	uint64_t dma_pages[64];
	int nr_dma_pages;
	bool dma_overflow;
	_Atomic int dma_pending;
	bool para;

	/* mtime = (host_ns() - mtime_origin_ns) / 100 */
	uint64_t mtime_origin_ns;

	/* HTIF: a firmware ELF with a tohost symbol ends the run by writing it */
	uint64_t tohost, fromhost;
	bool has_tohost;

	/* WFI sleep: all harts idle -> wait for a timer or a kick */
	pthread_mutex_t idle_lock;
	pthread_cond_t idle_cond;
	_Atomic int kicked;
};

uint64_t board_mtime(struct rv_machine *m);
/* Physical accesses from the CPU to something that is not RAM. 0 or -1
 * (access fault). */
int board_mmio_read(struct rv_machine *m, uint64_t pa, unsigned size, uint64_t *val);
int board_mmio_write(struct rv_machine *m, uint64_t pa, unsigned size, uint64_t val);

void board_fdt_extra_nodes(struct rv_machine *m, void *fdt);
/* A store hit the HTIF tohost word (PAGE_WATCH). */
void board_htif_store(struct rv_machine *m, uint64_t pa, unsigned size);

/* PLIC (plic.c): contexts 2*h (M-mode) and 2*h+1 (S-mode) per hart, as on
 * QEMU's virt board; drives MEIP/SEIP of each hart. */
struct plic *plic_create(struct rv_machine *m, uint64_t base, unsigned nr_sources);
void plic_set_irq(void *plic, unsigned irq, int level);

/* CLINT (clint.c): msip, mtimecmp, mtime. */
int clint_create(struct rv_machine *m, uint64_t base);
/* Raise MTIP/STIP on harts whose timecmp has passed; returns the earliest
 * pending deadline in mtime ticks (UINT64_MAX: none). */
uint64_t clint_update_timers(struct rv_machine *m);

#endif
