/* The smallest ACPI that a stock Linux needs to find several CPUs, route the
 * virtio-mmio interrupts and power the machine off:
 *
 *   RSDP -> XSDT (and RSDT) -> FADT (HW-reduced, ACPI 6.0 layout) -> DSDT
 *                           -> MADT
 *
 * The FADT says "HW-reduced" (ACPI 6.4 section 4.1), so there are no PM1
 * blocks: sleep (\_S5 with SLP_TYP 5) goes through the sleep control
 * register and reset through the reset register, both on Trevo's ports
 * (x86.h). The DSDT holds \_S5 and the MMIO devices (build_dsdt). The MADT lists one LAPIC per vCPU,
 * the in-kernel IOAPIC and an interrupt source override per allocated device
 * interrupt (the virtio-mmio ones) making it level-triggered, active high (what KVM_IRQ_LINE with
 * level semantics delivers). IRQ 0 stays on IOAPIC pin 0 as KVM's default
 * routing wires it. */
#include "x86.h"

#include <stdio.h>
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

/* A tiny AML writer (ACPI 6.4 chapter 20), enough for named objects and
 * devices with fixed resources. */
struct aml {
	uint8_t *p;
	size_t len, cap;
};

static void aml_bytes(struct aml *a, const void *b, size_t n)
{
	if (a->len + n <= a->cap)
		memcpy(a->p + a->len, b, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* PkgLength (20.2.4) of a body of n bytes that follows it. */
static void aml_pkglen(struct aml *a, size_t n)
{
	if (n + 1 < 0x40) {
		aml_byte(a, (uint8_t)(n + 1));
	} else if (n + 2 < 0x1000) {
		n += 2;
		aml_byte(a, 0x40 | (n & 0xf));
		aml_byte(a, (uint8_t)(n >> 4));
	} else {
		n += 3;
		aml_byte(a, 0x80 | (n & 0xf));
		aml_byte(a, (uint8_t)(n >> 4));
		aml_byte(a, (uint8_t)(n >> 12));
	}
}

/* Name (SEG, "string") */
static void aml_name_string(struct aml *a, const char *seg, const char *str)
{
	aml_byte(a, 0x08);
	aml_bytes(a, seg, 4);
	aml_byte(a, 0x0d);
	aml_bytes(a, str, strlen(str) + 1);
}

/* Name (SEG, byte) */
static void aml_name_byte(struct aml *a, const char *seg, uint8_t v)
{
	aml_byte(a, 0x08);
	aml_bytes(a, seg, 4);
	aml_byte(a, 0x0a);
	aml_byte(a, v);
}

/* Device (NAME) { _HID, _UID, _CRS: Memory32Fixed + optional Extended
 * Interrupt (level, active high, exclusive: what virtio-mmio raises) }. */
static void aml_device(struct aml *a, const char *name, const char *hid, uint8_t uid,
		       uint64_t base, uint64_t size, int irq)
{
	uint8_t crs[32], body[128];
	size_t n = 0;
	struct aml d = { body, 0, sizeof(body) };

	crs[n++] = 0x86;             /* Memory32Fixed (6.4.3.4) */
	crs[n++] = 9;
	crs[n++] = 0;
	crs[n++] = 1;                /* read/write */
	put32(crs + n, (uint32_t)base);
	put32(crs + n + 4, (uint32_t)size);
	n += 8;
	if (irq >= 0) {
		crs[n++] = 0x89;     /* Extended Interrupt (6.4.3.6) */
		crs[n++] = 6;
		crs[n++] = 0;
		crs[n++] = 0x01;     /* consumer, level, active high, exclusive */
		crs[n++] = 1;
		put32(crs + n, (uint32_t)irq);
		n += 4;
	}
	crs[n++] = 0x79;             /* End Tag, checksum 0: "checksum ok" */
	crs[n++] = 0;

	aml_bytes(&d, name, 4);
	aml_name_string(&d, "_HID", hid);
	aml_name_byte(&d, "_UID", uid);
	aml_byte(&d, 0x08);          /* Name (_CRS, Buffer () { ... }) */
	aml_bytes(&d, "_CRS", 4);
	aml_byte(&d, 0x11);
	aml_pkglen(&d, 2 + n);
	aml_byte(&d, 0x0a);
	aml_byte(&d, (uint8_t)n);
	aml_bytes(&d, crs, n);

	aml_byte(a, 0x5b);           /* DeviceOp */
	aml_byte(a, 0x82);
	aml_pkglen(a, d.len);
	aml_bytes(a, body, d.len);
}

/* The DSDT: \_S5 (Name (\_S5, Package (4) { 5, 5, 0, 0 })) and, in
 * \_SB, one device per virtio-mmio window (_HID "LNRO0005", the ACPI id
 * of Linux's virtio_mmio driver: Debian's kernel does not take
 * virtio_mmio.device= from the command line) and the pvpanic window
 * (_HID "QEMU0001"). */
static uint32_t build_dsdt(uint8_t *t, size_t cap, const struct vm *vm)
{
	static const uint8_t s5[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,
	};
	uint8_t devs[4096];
	struct aml body = { devs, 0, sizeof(devs) };
	struct aml a = { t, 36, cap };
	int nr = 0;

	table_begin(t, "DSDT", 2);
	aml_bytes(&a, s5, sizeof(s5));
	for (int i = 0; i < vm->nr_desc; i++) {
		const struct dev_desc *d = &vm->desc[i];
		char name[5];
		if (!d->size || d->base + d->size > 4 * GiB)
			continue;
		snprintf(name, sizeof(name), "V%03X", nr & 0xfff);
		if (!strcmp(d->compatible, "virtio,mmio"))
			aml_device(&body, name, "LNRO0005", (uint8_t)nr, d->base, d->size, d->irq);
		else if (!strcmp(d->compatible, "qemu,pvpanic-mmio"))
			aml_device(&body, "PEVT", "QEMU0001", 0, d->base, d->size, -1);
		else
			continue;
		nr++;
	}
	if (body.len > body.cap)
		return 0;
	if (body.len) {
		aml_byte(&a, 0x10);          /* Scope (\_SB) */
		aml_pkglen(&a, 5 + body.len);
		aml_bytes(&a, "\\_SB_", 5);
		aml_bytes(&a, devs, body.len);
	}
	if (a.len > a.cap)
		return 0;
	table_end(t, (uint32_t)a.len);
	return (uint32_t)a.len;
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
	/* Every line that went to a device through vm_alloc_irq is level,
	 * as the resampling irqfds on them (irq.c) assume. */
	for (int irq = vm->irq_alloc_first; irq && irq < vm->irq_alloc_next && irq <= 15; irq++) {
		uint8_t *e = t + off;
		e[0] = 2;                    /* interrupt source override */
		e[1] = 10;
		e[2] = 0;                    /* ISA */
		e[3] = irq;
		put32(e + 4, irq);
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
	uint64_t madt = base + 0x300, dsdt = base + 0x800;
	uint8_t *p;

	memset(buf, 0, sizeof(buf));
	build_fadt(buf + (fadt - base), dsdt);
	if (!build_dsdt(buf + (dsdt - base), sizeof(buf) - (dsdt - base), vm))
		return 0;
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

	if (vm_load_blob(vm, "ACPI tables", NULL, base, buf, sizeof(buf)))
		return 0;
	return rsdp;
}
