/* The smallest ACPI that a stock Linux needs to find several CPUs, route the
 * virtio-mmio interrupts and power the machine off:
 *
 *   RSDP -> XSDT (and RSDT) -> FADT (HW-reduced, ACPI 6.0 layout) -> DSDT
 *                           -> MADT
 *
 * The FADT says "HW-reduced" (ACPI 6.4 section 4.1), so there are no PM1
 * blocks: sleep (\_S5 with SLP_TYP 5) goes through the sleep control
 * register and reset through the reset register, both on Trevo's ports
 * (x86.h). The DSDT holds only \_S5. The MADT lists one LAPIC per vCPU,
 * the in-kernel IOAPIC and an interrupt source override per virtio-mmio
 * interrupt making it level-triggered, active high (what KVM_IRQ_LINE with
 * level semantics delivers). IRQ 0 stays on IOAPIC pin 0 as KVM's default
 * routing wires it. */
#include "x86.h"

#include <string.h>

#define ACPI_OEM_ID    "TREVO "
#define ACPI_OEM_TABLE "TREVOVM "

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* Standard description header (ACPI 6.4 section 5.2.6); length and
 * checksum are filled in by table_end(). */
static void table_begin(uint8_t *t, const char *sig, uint8_t rev)
{
	memcpy(t, sig, 4);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE, 8);
	put32(t + 24, 1);
	memcpy(t + 28, "TRVO", 4);
	put32(t + 32, 1);
}

static void table_end(uint8_t *t, uint32_t len)
{
	put32(t + 4, len);
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* Generic Address Structure for a byte-wide I/O port (section 5.2.3.2). */
static void gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = 1;   /* system I/O */
	p[1] = 8;   /* bit width */
	p[2] = 0;
	p[3] = 1;   /* byte access */
	put64(p + 4, port);
}

static uint32_t build_fadt(uint8_t *t, uint64_t dsdt)
{
	const uint32_t len = 276;

	table_begin(t, "FACP", 6);
	put32(t + 40, (uint32_t)dsdt);
	put16(t + 46, 9);                    /* SCI_INT: unused when HW-reduced */
	/* IAPC_BOOT_ARCH: no VGA (bit 2), no CMOS RTC (bit 5); no 8042 (bit 1
	 * clear) keeps Linux from probing a keyboard controller. */
	put16(t + 109, (1 << 2) | (1 << 5));
	/* Flags: WBINVD, PWR/SLP buttons not fixed, RESET_REG_SUP, HW_REDUCED */
	put32(t + 112, (1 << 0) | (1 << 4) | (1 << 5) | (1 << 10) | (1 << 20));
	gas_io8(t + 116, X86_ACPI_RESET);
	t[128] = X86_ACPI_RESET_VAL;
	t[131] = 0;                          /* FADT minor version */
	put64(t + 140, dsdt);                /* X_DSDT */
	gas_io8(t + 244, X86_ACPI_SLEEP_CTL);
	gas_io8(t + 256, X86_ACPI_SLEEP_STS);
	memcpy(t + 268, "TREVOKVM", 8);      /* hypervisor vendor identity */
	table_end(t, len);
	return len;
}

static uint32_t build_dsdt(uint8_t *t)
{
	/* Name (\_S5, Package (4) { 5, 5, 0, 0 }) -- AML, ACPI 6.4 section
	 * 20.2.5: NameOp, NameString, PackageOp, PkgLength, NumElements,
	 * BytePrefix 5, BytePrefix 5, ZeroOp, ZeroOp. */
	static const uint8_t aml[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,
	};

	table_begin(t, "DSDT", 2);
	memcpy(t + 36, aml, sizeof(aml));
	table_end(t, 36 + sizeof(aml));
	return 36 + sizeof(aml);
}

static uint32_t build_madt(uint8_t *t, const struct vm *vm, int nr_cpus)
{
	uint32_t off = 44;

	table_begin(t, "APIC", 4);
	put32(t + 36, (uint32_t)X86_LAPIC_ADDR);
	put32(t + 40, 1);                    /* PCAT_COMPAT: 8259s present */
	for (int i = 0; i < nr_cpus; i++) {
		uint8_t *e = t + off;
		e[0] = 0;                    /* processor local APIC */
		e[1] = 8;
		e[2] = i;                    /* processor UID */
		e[3] = i;                    /* APIC id = vCPU id */
		put32(e + 4, 1);             /* enabled */
		off += 8;
	}
	{
		uint8_t *e = t + off;
		e[0] = 1;                    /* I/O APIC */
		e[1] = 12;
		e[2] = nr_cpus;              /* an id no LAPIC uses */
		e[3] = 0;
		put32(e + 4, (uint32_t)X86_IOAPIC_ADDR);
		put32(e + 8, 0);             /* GSI base */
		off += 12;
	}
	for (int i = 0; i < vm->nr_desc; i++) {
		const struct dev_desc *d = &vm->desc[i];
		uint8_t *e = t + off;
		if (strcmp(d->compatible, "virtio,mmio") || d->irq < 0 || d->irq > 15)
			continue;
		e[0] = 2;                    /* interrupt source override */
		e[1] = 10;
		e[2] = 0;                    /* ISA */
		e[3] = d->irq;
		put32(e + 4, d->irq);
		put16(e + 8, 0x1 | (0x3 << 2));  /* active high, level */
		off += 10;
	}
	{
		uint8_t *e = t + off;
		e[0] = 4;                    /* local APIC NMI on LINT1, all CPUs */
		e[1] = 6;
		e[2] = 0xff;
		put16(e + 3, 0);
		e[5] = 1;
		off += 6;
	}
	table_end(t, off);
	return off;
}

uint64_t x86_acpi_build(struct vm *vm, int nr_cpus)
{
	static uint8_t buf[X86_ACPI_SIZE];
	const uint64_t base = X86_ACPI_ADDR;
	uint64_t rsdp = base, xsdt = base + 0x40, rsdt = base + 0x80, fadt = base + 0x100;
	uint64_t dsdt = base + 0x300, madt = base + 0x400;
	uint8_t *p;

	memset(buf, 0, sizeof(buf));
	build_fadt(buf + (fadt - base), dsdt);
	build_dsdt(buf + (dsdt - base));
	build_madt(buf + (madt - base), vm, nr_cpus);

	p = buf + (xsdt - base);
	table_begin(p, "XSDT", 1);
	put64(p + 36, fadt);
	put64(p + 44, madt);
	table_end(p, 52);

	p = buf + (rsdt - base);
	table_begin(p, "RSDT", 1);
	put32(p + 36, (uint32_t)fadt);
	put32(p + 40, (uint32_t)madt);
	table_end(p, 44);

	/* RSDP (section 5.2.5.3), found by the boot_params pointer or by the
	 * kernel's scan of 0xe0000-0xfffff. */
	p = buf;
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, ACPI_OEM_ID, 6);
	p[15] = 2;
	put32(p + 16, (uint32_t)rsdt);
	put32(p + 20, 36);
	put64(p + 24, xsdt);
	p[8] = checksum(p, 20);
	p[32] = checksum(p, 36);

	if (gmem_write(&vm->mem, base, buf, 0x1000))
		return 0;
	return rsdp;
}
