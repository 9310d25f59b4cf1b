/* The x86-64 KVM machine: what kvm.c, boot.c, cpuid.c and acpi.c share. */
#ifndef TREVO_X86_H
#define TREVO_X86_H

#include "../vm.h"

#include <linux/kvm.h>

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

/* boot.c: load cfg->kernel (bzImage or flat binary) and everything around
 * it (command line, initrd, boot_params with e820, page tables, GDT, ACPI).
 * Bad input ends with die(). */
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
