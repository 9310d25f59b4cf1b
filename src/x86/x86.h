/* The x86-64 KVM machine: what the board (board.c, kvm.c, boot.c, acpi.c,
 * ports.c, irq.c) and the engine (engine.c, vcpu.c, cpuid.c) share. */
#ifndef TREVO_X86_H
#define TREVO_X86_H

#include "../vm.h"

#include <linux/kvm.h>
#include <stdatomic.h>

#define X86_MAX_CPUS 8

/* Guest-physical layout of what Trevo writes below 1 MiB. Linux reserves
 * the first 64 KiB and copies boot_params and the command line before it
 * reuses anything, so nothing here needs an e820 hole. */
#define X86_GDT_ADDR        0x0800ULL
#define X86_PML4_ADDR       0x1000ULL
#define X86_PDPT_ADDR       0x2000ULL
#define X86_PD_ADDR         0x3000ULL   /* 4 page directories: 0-4 GiB */
#define X86_BOOT_PARAMS     0x7000ULL
#define X86_CMDLINE_ADDR    0x20000ULL
#define X86_CMDLINE_MAX     0x10000ULL
#define X86_EBDA_START      0x9fc00ULL  /* top of conventional RAM in e820 */
#define X86_ACPI_ADDR       0xe0000ULL  /* RSDP search area, reserved in e820 */
#define X86_ACPI_SIZE       0x20000ULL
#define X86_KERNEL_ADDR     0x100000ULL /* bzImage protected-mode part, flat guests */

/* RAM layout: the PCI/MMIO hole between 3 and 4 GiB holds the virtio-mmio
 * windows, the IOAPIC (0xfec00000), the LAPIC (0xfee00000) and the KVM TSS. */
#define X86_LOW_RAM_MAX     (3 * GiB)
#define X86_HIGH_RAM_BASE   (4 * GiB)
#define X86_MMIO_WIN_BASE   0xd0000000ULL
#define X86_MMIO_WIN_END    0xfe000000ULL
#define X86_PVPANIC_ADDR    (X86_MMIO_WIN_END - 0x1000)  /* last page, not allocated */
#define X86_IOAPIC_ADDR     0xfec00000ULL
#define X86_LAPIC_ADDR      0xfee00000ULL
#define X86_KVM_IDMAP_ADDR  0xfffbc000ULL
#define X86_KVM_TSS_ADDR    0xfffbd000ULL

/* Trevo's own ports (documented in tests/kvm/README.md):
 * 0x501: write N (8 to 32 bits) ends trevo: 0 poweroff (status 0), N>0
 *        failure with status N (isa-debug-exit style, test guests);
 * 0x600: ACPI sleep control (HW-reduced FADT), 0x601 sleep status,
 * 0x602: ACPI reset register. */
#define X86_EXIT_PORT       0x501
#define X86_ACPI_PORT_BASE  0x600
#define X86_ACPI_SLEEP_CTL  (X86_ACPI_PORT_BASE + 0)
#define X86_ACPI_SLEEP_STS  (X86_ACPI_PORT_BASE + 1)
#define X86_ACPI_RESET      (X86_ACPI_PORT_BASE + 2)
#define X86_ACPI_RESET_VAL  0x0e

/* Where and how the boot CPU starts. */
struct x86_boot {
	uint64_t entry;          /* 64-bit RIP */
	uint64_t rsi;            /* boot_params for Linux */
	bool flat;               /* flat test guest: every vCPU at entry, RDI = id */
};

/* One interrupt line of the in-kernel IOAPIC/PIC (irq.c). */
#define X86_NR_GSI 24
struct x86_machine;
struct x86_irq_route {
	struct x86_machine *m;
	unsigned gsi;
	int fd, resample_fd;        /* -1: no irqfd, KVM_IRQ_LINE instead */
	_Atomic int level;          /* the device's line, as last set */
};

/* The KVM VM that the board builds and the engine runs vCPUs in; it is
 * vm->arch (kvm.c creates it, board.c fills in the rest). */
struct x86_machine {
	struct vm *vm;
	int kvm_fd, vm_fd;
	int run_size;                /* KVM_GET_VCPU_MMAP_SIZE */
	struct kvm_cpuid2 *cpuid;    /* KVM_GET_SUPPORTED_CPUID */
	struct x86_boot boot;
	struct x86_irq_route irq[X86_NR_GSI];
};

static inline struct x86_machine *x86_machine(struct vm *vm)
{
	return vm->arch;
}

/* kvm.c: open /dev/kvm, create the VM with the in-kernel irqchip and PIT,
 * map vm->mem (already laid out) into memory slots; vm->arch is the
 * result. A host without usable KVM ends with die() (one line, status 2);
 * other failures -errno with a message. */
int x86_kvm_create(struct vm *vm);
void x86_kvm_destroy(struct vm *vm);
/* Live migration: KVM_MEM_LOG_DIRTY_PAGES on every slot (on) or off, and
 * KVM_GET_DIRTY_LOG of every slot OR-ed into vm->mem's bitmaps. */
int x86_kvm_dirty_log(struct x86_machine *m, bool on);
int x86_kvm_dirty_sync(struct x86_machine *m);
/* Guest RAM: below 3 GiB and from 4 GiB up (the MMIO hole between). */
int x86_ram_create(struct vm *vm);

/* irq.c: vm->set_irq and the irqfds of the lines devices allocated. */
void x86_irq_init(struct x86_machine *m);
void x86_set_irq(void *ctx, unsigned irq, int level);
/* After the devices exist: one resampling irqfd per allocated line. */
void x86_irq_start(struct x86_machine *m);
/* System reset: drop what KVM's resamplers still hold. */
void x86_irq_reset(struct x86_machine *m);
void x86_irq_destroy(struct x86_machine *m);

/* ports.c: Trevo's ports (exit, i8042 reset, ACPI PM, 0xcf9, 0x80). */
int x86_ports_add(struct vm *vm);

/* boot.c: load cfg->kernel (bzImage, vmlinux or flat binary) and everything
 * around it (command line, initrd, boot_params with e820, page tables, GDT,
 * ACPI), every image through vm_load_blob so that a system reset puts it
 * back. Bad input ends with die() (start-up only). */
void x86_boot_load(struct vm *vm, int nr_cpus, struct x86_boot *boot);
/* Segment and control registers for 64-bit mode with the boot page tables. */
void x86_boot_sregs(struct kvm_sregs *s);

/* cpuid.c: the CPUID table for vCPU id, from KVM_GET_SUPPORTED_CPUID. */
struct kvm_cpuid2 *x86_cpuid_supported(int kvm_fd);
int x86_cpuid_set(int vcpu_fd, const struct kvm_cpuid2 *supported, int id, int nr_cpus);

/* unpack.c: decompress a bzImage payload (xz, gzip, zstd) into a malloc'd
 * buffer. -EOPNOTSUPP for other formats, -EINVAL when corrupt. */
int x86_unpack_payload(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

/* acpi.c: RSDP, XSDT, FADT (HW-reduced, sleep/reset registers on Trevo's
 * ports), DSDT with \_S5, MADT with the CPUs, IOAPIC and the level-triggered
 * virtio interrupts. Returns the RSDP address or 0 if it does not fit. */
uint64_t x86_acpi_build(struct vm *vm, int nr_cpus);

#endif
