/* Robustness: 32 KiB of random bytes run in S-mode under Sv39 (mapped RWX,
 * not U, at 0x40000000; nothing else mapped). S may write its CSRs (satp
 * included), sret, wfi, sfence.vma; no trap is delegated, so everything
 * lands in M, which restores the page table and sstatus and skips forward.
 * The run must end with a pass. */
#include "isa.h"

#define RAND_BIN "random-s.bin"
#define RAND_VA 0x40000000
#define RAND_MODE 1
#define PT_ROOT 0x80600000
#define PT_L1   0x80601000
#define PT_L0   0x80602000
/* root[1] -> L1, L1[0] -> L0, L0[0..7] -> rand_code pages (S RWX A D) */
#define SETUP \
	li t0, PT_ROOT; li t1, PT_L0 + 0x1000; 1: sd zero, 0(t0); addi t0, t0, 8; bltu t0, t1, 1b; \
	li t0, PT_ROOT + 8; li t1, ((PT_L1 >> 12) << 10) | PTE_V; sd t1, 0(t0); \
	li t0, PT_L1; li t1, ((PT_L0 >> 12) << 10) | PTE_V; sd t1, 0(t0); \
	la t1, rand_code; srli t1, t1, 12; slli t1, t1, 10; ori t1, t1, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D; \
	li t0, PT_L0; li t2, 8; 2: sd t1, 0(t0); addi t0, t0, 8; addi t1, t1, 1 << 10; addi t2, t2, -1; bnez t2, 2b; \
	li t0, SATP_SV39 | (PT_ROOT >> 12); csrw satp, t0; sfence.vma
#include "random.h"
