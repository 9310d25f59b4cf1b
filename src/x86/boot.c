/* Loading the guest: a Linux bzImage by the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"), or a flat
 * test binary loaded at 1 MiB and entered in 64-bit mode (tests/kvm/README.md).
 *
 * Both start with the same state: identity page tables for the first 4 GiB
 * with 2 MiB pages, a GDT with __BOOT_CS (0x10) and __BOOT_DS (0x18),
 * CR0.PE|PG, CR4.PAE, EFER.LME|LMA, interrupts off. */
#include "x86.h"

#include <elf.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Offsets in the bzImage / boot_params (boot.rst, "The Real-Mode Kernel
 * Header" and Documentation/arch/x86/zero-page.rst). */
#define BP_ACPI_RSDP        0x070
#define BP_EXT_RAMDISK_IMG  0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE     0x0c8
#define BP_E820_ENTRIES     0x1e8
#define HDR_SETUP_SECTS     0x1f1
#define HDR_VID_MODE        0x1fa
#define HDR_BOOT_FLAG       0x1fe
#define HDR_JUMP            0x200
#define HDR_MAGIC           0x202
#define HDR_VERSION         0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS       0x211
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_HEAP_END_PTR    0x224
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGN    0x230
#define HDR_XLOADFLAGS      0x236
#define HDR_CMDLINE_SIZE    0x238
#define HDR_PAYLOAD_OFFSET  0x248
#define HDR_PAYLOAD_LENGTH  0x24c
#define HDR_PREF_ADDRESS    0x258
#define HDR_INIT_SIZE       0x260
#define HDR_END_MIN         0x268
#define BP_E820_TABLE       0x2d0
#define BP_E820_MAX         128

#define LOADED_HIGH         0x01
#define CAN_USE_HEAP        0x80
#define XLF_KERNEL_64       0x01

#define E820_RAM            1
#define E820_RESERVED       2

static uint16_t le16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }
static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }

static uint64_t low_ram_end(const struct vm *vm)
{
	return vm->mem.region[0].size;
}

/* Every image goes through vm_load_blob: a system reset writes it again. */
static void write_or_die(struct vm *vm, uint64_t gpa, const void *buf, uint64_t len, const char *what)
{
	if (!gmem_ptr(&vm->mem, gpa, len ? len : 1))
		die("--memory %llu MiB is too small for the %s",
		    (unsigned long long)(vm->cfg->memory >> 20), what);
	if (vm_load_blob(vm, what, vm->cfg->kernel, gpa, buf, len))
		die("out of memory for the %s", what);
}

static void build_page_tables(struct vm *vm)
{
	uint64_t pml4[512] = { 0 }, pdpt[512] = { 0 }, pd[512];

	pml4[0] = X86_PDPT_ADDR | 3;  /* present, writable */
	for (int i = 0; i < 4; i++) {
		pdpt[i] = (X86_PD_ADDR + i * 0x1000ULL) | 3;
		for (int j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i * GiB + (uint64_t)j * 2 * MiB) | 0x83;  /* PS */
		write_or_die(vm, X86_PD_ADDR + i * 0x1000ULL, pd, sizeof(pd), "page tables");
	}
	write_or_die(vm, X86_PML4_ADDR, pml4, sizeof(pml4), "page tables");
	write_or_die(vm, X86_PDPT_ADDR, pdpt, sizeof(pdpt), "page tables");
}

static void build_gdt(struct vm *vm)
{
	const uint64_t gdt[4] = {
		0,
		0,
		0x00af9b000000ffffULL,  /* 0x10: 64-bit code, DPL 0 */
		0x00cf93000000ffffULL,  /* 0x18: flat data */
	};

	write_or_die(vm, X86_GDT_ADDR, gdt, sizeof(gdt), "GDT");
}

void x86_boot_sregs(struct kvm_sregs *s)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0xb,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = code;

	data.selector = 0x18;
	data.type = 0x3;
	data.db = 1;
	data.l = 0;
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = (struct kvm_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s->ldt = (struct kvm_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
	s->gdt.base = X86_GDT_ADDR;
	s->gdt.limit = 4 * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	/* PE, MP, ET, NE, WP, PG */
	s->cr0 = 0x80010033;
	s->cr3 = X86_PML4_ADDR;
	s->cr4 = 0x20;             /* PAE */
	s->efer = 0x500;           /* LME, LMA */
}

struct e820 {
	uint8_t raw[BP_E820_MAX * 20];
	int n;
};

static void e820_add(struct e820 *e, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t *p;

	if (size == 0 || e->n >= BP_E820_MAX)
		return;
	p = e->raw + e->n++ * 20;
	put64(p, addr);
	put64(p + 8, size);
	put32(p + 16, type);
}

/* The command line: the user's --append (or a serial console), then one
 * virtio_mmio.device=SIZE@BASE:IRQ per virtio-mmio window (the kernel's
 * drivers/virtio/virtio_mmio.c "device" parameter). */
static char *build_cmdline(struct vm *vm)
{
	const char *user = vm->cfg->append ? vm->cfg->append : "";
	/* As on the RISC-V board: the serial console unless the user chose. */
	const char *console = strstr(user, "console=") ? "" : "console=ttyS0";
	size_t cap = strlen(console) + 1 + strlen(user) + 1 + (size_t)vm->nr_desc * 64;
	char *s = malloc(cap);
	size_t len;

	if (!s)
		die("out of memory");
	len = snprintf(s, cap, "%s%s%s", console, *console && *user ? " " : "", user);
	for (int i = 0; i < vm->nr_desc; i++) {
		const struct dev_desc *d = &vm->desc[i];
		if (strcmp(d->compatible, "virtio,mmio") || d->irq < 0)
			continue;
		len += snprintf(s + len, cap - len, " virtio_mmio.device=%lluK@%#llx:%d",
				(unsigned long long)(d->size >> 10), (unsigned long long)d->base, d->irq);
	}
	return s;
}

static void load_initrd(struct vm *vm, uint8_t *bp, uint64_t kernel_end, uint64_t max_addr)
{
	uint8_t *buf;
	size_t len;
	uint64_t top = low_ram_end(vm), addr;
	int err = read_file(vm->cfg->initrd, &buf, &len);

	if (err)
		die("cannot read --initrd %s: %s", vm->cfg->initrd, strerror(-err));
	if (top > max_addr + 1)
		top = max_addr + 1;
	addr = len <= top ? (top - len) & ~(2 * MiB - 1) : 0;
	if (len > top || addr < kernel_end)
		die("--memory %llu MiB is too small for this kernel and a %zu KiB initrd",
		    (unsigned long long)(vm->cfg->memory >> 20), len >> 10);
	write_or_die(vm, addr, buf, len, "initrd");
	free(buf);
	put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)addr);
	put32(bp + HDR_RAMDISK_SIZE, (uint32_t)len);
	put32(bp + BP_EXT_RAMDISK_IMG, (uint32_t)(addr >> 32));
	put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)len >> 32));
}

/* What both kernel formats need around them in boot_params: command line,
 * initrd, e820 map, ACPI; then boot_params goes to X86_BOOT_PARAMS. */
static void finish_boot_params(struct vm *vm, uint8_t *bp, uint64_t kernel_end, int nr_cpus)
{
	char *cmdline;
	size_t cmdline_max;
	uint64_t rsdp, initrd_max;
	struct e820 e820 = { .n = 0 };

	cmdline = build_cmdline(vm);
	cmdline_max = le32(bp + HDR_CMDLINE_SIZE);
	if (cmdline_max == 0 || cmdline_max > X86_CMDLINE_MAX - 1)
		cmdline_max = X86_CMDLINE_MAX - 1;
	if (strlen(cmdline) > cmdline_max)
		die("kernel command line too long (%zu bytes, this kernel takes %zu)",
		    strlen(cmdline), cmdline_max);
	write_or_die(vm, X86_CMDLINE_ADDR, cmdline, strlen(cmdline) + 1, "command line");
	put32(bp + HDR_CMD_LINE_PTR, (uint32_t)X86_CMDLINE_ADDR);
	put32(bp + BP_EXT_CMD_LINE, 0);
	debug("kvm: command line: %s", cmdline);
	free(cmdline);

	initrd_max = le32(bp + HDR_INITRD_ADDR_MAX);
	if (initrd_max == 0)
		initrd_max = 0x37ffffff;
	if (vm->cfg->initrd)
		load_initrd(vm, bp, kernel_end, initrd_max);

	e820_add(&e820, 0, X86_EBDA_START, E820_RAM);
	e820_add(&e820, X86_EBDA_START, 0xa0000 - X86_EBDA_START, E820_RESERVED);
	e820_add(&e820, X86_ACPI_ADDR, 0x100000 - X86_ACPI_ADDR, E820_RESERVED);
	e820_add(&e820, 0x100000, low_ram_end(vm) - 0x100000, E820_RAM);
	if (vm->mem.nr_regions > 1)
		e820_add(&e820, vm->mem.region[1].gpa, vm->mem.region[1].size, E820_RAM);
	bp[BP_E820_ENTRIES] = e820.n;
	memcpy(bp + BP_E820_TABLE, e820.raw, e820.n * 20);

	rsdp = x86_acpi_build(vm, nr_cpus);
	put64(bp + BP_ACPI_RSDP, rsdp);

	write_or_die(vm, X86_BOOT_PARAMS, bp, 4096, "boot parameters");
	free(bp);
}

/* Load the PT_LOAD segments of an x86-64 ELF kernel at their physical
 * addresses; returns the end of the highest one, *entry = physical entry. */
static uint64_t load_elf_segments(struct vm *vm, const uint8_t *img, size_t len, const char *path,
				  uint64_t *entry)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	uint64_t kernel_end = X86_KERNEL_ADDR;

	if (len < sizeof(*eh) || memcmp(img, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
	    eh->e_phnum > (len - eh->e_phoff) / sizeof(Elf64_Phdr))
		die("%s: not an x86-64 ELF kernel (or a corrupt one)", path);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			die("%s: corrupt ELF program header %u", path, i);
		if (ph.p_paddr < X86_KERNEL_ADDR || ph.p_paddr > low_ram_end(vm) ||
		    ph.p_memsz > low_ram_end(vm) - ph.p_paddr)
			die("--memory %llu MiB is too small for this kernel (it needs at least %llu MiB)",
			    (unsigned long long)(vm->cfg->memory >> 20),
			    (unsigned long long)((ph.p_paddr + ph.p_memsz + 64 * MiB) >> 20));
		write_or_die(vm, ph.p_paddr, img + ph.p_offset, ph.p_filesz, "kernel");
		/* RAM is fresh anonymous memory: the bss is already zero. */
		if (ph.p_paddr + ph.p_memsz > kernel_end)
			kernel_end = ph.p_paddr + ph.p_memsz;
	}
	*entry = eh->e_entry;
	if (*entry >= 0xffffffff80000000ULL)  /* __START_KERNEL_map */
		*entry -= 0xffffffff80000000ULL;
	if (*entry < X86_KERNEL_ADDR || *entry >= kernel_end)
		die("%s: entry point %#llx is outside the kernel", path, (unsigned long long)eh->e_entry);
	return kernel_end;
}

/* An uncompressed vmlinux (ELF64, x86-64): its PT_LOAD segments go to their
 * physical addresses and the CPU starts at e_entry (phys_startup_64) with
 * the same boot_params as a bzImage, whose setup header Trevo writes itself
 * (boot.rst: the "64-bit Boot Protocol" entry is the kernel proper's). */
static void load_elf(struct vm *vm, const uint8_t *img, size_t len, int nr_cpus,
		     struct x86_boot *boot)
{
	uint8_t *bp = calloc(1, 4096);
	uint64_t kernel_end, entry;

	if (!bp)
		die("out of memory");
	kernel_end = load_elf_segments(vm, img, len, vm->cfg->kernel, &entry);
	put16(bp + HDR_BOOT_FLAG, 0xaa55);
	put32(bp + HDR_MAGIC, 0x53726448);
	put16(bp + HDR_VERSION, 0x20f);
	put16(bp + HDR_VID_MODE, 0xffff);
	bp[HDR_TYPE_OF_LOADER] = 0xff;
	bp[HDR_LOADFLAGS] = LOADED_HIGH | CAN_USE_HEAP;
	put32(bp + HDR_KERNEL_ALIGN, 0x200000);
	put32(bp + HDR_CMDLINE_SIZE, X86_CMDLINE_MAX - 1);
	finish_boot_params(vm, bp, kernel_end, nr_cpus);
	boot->entry = entry;
	boot->rsi = X86_BOOT_PARAMS;
	boot->flat = false;
}

static void load_bzimage(struct vm *vm, const uint8_t *img, size_t len, int nr_cpus,
			 struct x86_boot *boot)
{
	const char *path = vm->cfg->kernel;
	uint8_t *bp = calloc(1, 4096);
	unsigned setup_sects, hdr_end;
	uint16_t version;
	uint64_t setup_size, payload, init_size, pref, kernel_end, entry;
	uint32_t pay_off, pay_len;
	uint8_t *elf;
	size_t elf_len;

	if (!bp)
		die("out of memory");
	if (len < HDR_END_MIN || le32(img + HDR_MAGIC) != 0x53726448 /* "HdrS" */)
		die("%s: not a bzImage (no setup header): corrupt or truncated", path);
	version = le16(img + HDR_VERSION);
	if (version < 0x20c)
		die("%s: boot protocol %u.%u is too old for a 64-bit entry (needs 2.12)",
		    path, version >> 8, version & 0xff);
	if (!(img[HDR_XLOADFLAGS] & XLF_KERNEL_64) || !(img[HDR_LOADFLAGS] & LOADED_HIGH))
		die("%s: not a 64-bit kernel with a 64-bit entry point", path);
	setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	setup_size = (setup_sects + 1) * 512ULL;
	if (setup_size >= len)
		die("%s: truncated bzImage (setup only)", path);
	payload = len - setup_size;
	/* The decompressor runs the kernel at its preferred address (16 MiB
	 * on Debian's) when loaded below it, and needs init_size bytes there. */
	init_size = le32(img + HDR_INIT_SIZE);
	pref = le32(img + HDR_PREF_ADDRESS) | (uint64_t)le32(img + HDR_PREF_ADDRESS + 4) << 32;
	if (pref < X86_KERNEL_ADDR || pref > X86_LOW_RAM_MAX)
		pref = X86_KERNEL_ADDR;
	kernel_end = X86_KERNEL_ADDR + payload;
	if (pref + init_size > kernel_end)
		kernel_end = pref + init_size;
	/* Unpack the kernel on the host where we can (unpack.c) and enter the
	 * kernel proper; else the kernel's decompressor does it in the guest.
	 * TREVO_GUEST_DECOMPRESS=1 forces the latter. */
	pay_off = le32(img + HDR_PAYLOAD_OFFSET);
	pay_len = le32(img + HDR_PAYLOAD_LENGTH);
	if (!getenv("TREVO_GUEST_DECOMPRESS") && version >= 0x208 && pay_off < payload &&
	    pay_len <= payload - pay_off &&
	    x86_unpack_payload(img + setup_size + pay_off, pay_len, &elf, &elf_len) == 0) {
		kernel_end = load_elf_segments(vm, elf, elf_len, path, &entry);
		free(elf);
		debug("kvm: kernel unpacked on the host, entry %#llx", (unsigned long long)entry);
	} else {
		if (kernel_end > low_ram_end(vm)) {
			free(bp);  /* die() exits: nothing else holds it */
			die("--memory %llu MiB is too small for this kernel (it needs at least %llu MiB)",
			    (unsigned long long)(vm->cfg->memory >> 20),
			    (unsigned long long)((kernel_end + 64 * MiB) >> 20));
		}
		write_or_die(vm, X86_KERNEL_ADDR, img + setup_size, payload, "kernel");
		entry = X86_KERNEL_ADDR + 0x200;  /* startup_64 of the decompressor */
	}

	/* boot_params: the setup header as the kernel wrote it, then what the
	 * boot loader fills in (boot.rst, "Details of Header Fields"). */
	hdr_end = HDR_MAGIC + img[HDR_JUMP + 1];
	if (hdr_end > len)
		hdr_end = len;
	if (hdr_end > 4096)
		hdr_end = 4096;
	memcpy(bp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
	put16(bp + HDR_VID_MODE, 0xffff);          /* "normal" */
	bp[HDR_TYPE_OF_LOADER] = 0xff;             /* undefined loader */
	bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	bp[HDR_LOADFLAGS] &= ~0x20;                /* not QUIET: early messages */
	put16(bp + HDR_HEAP_END_PTR, 0xfe00);

	finish_boot_params(vm, bp, kernel_end, nr_cpus);
	boot->entry = entry;
	boot->rsi = X86_BOOT_PARAMS;
	boot->flat = false;
}

void x86_boot_load(struct vm *vm, int nr_cpus, struct x86_boot *boot)
{
	const char *path = vm->cfg->kernel;
	uint8_t *img;
	size_t len;
	int err;

	if (!path) {
		/* The default guest (`trevo guest build x86`). */
		path = vm->cfg->kernel = guest_default_file("x86", "bzImage");
		if (!path)
			die("no --kernel given and no default x86 guest built (run `trevo guest build x86`)");
		if (!vm->cfg->initrd)
			vm->cfg->initrd = guest_default_file("x86", "initramfs.cpio.gz");
	}
	err = read_file(path, &img, &len);
	if (err)
		die("cannot read --kernel %s: %s", path, strerror(-err));
	if (len == 0)
		die("--kernel %s is empty", path);
	if (low_ram_end(vm) < 2 * MiB)
		die("--memory is too small");
	build_page_tables(vm);
	build_gdt(vm);
	/* ELF magic: vmlinux. A boot sector signature or the "HdrS" magic:
	 * bzImage. Anything else is a flat test binary. */
	if (len >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG)) {
		load_elf(vm, img, len, nr_cpus, boot);
	} else if ((len >= 0x200 && le16(img + HDR_BOOT_FLAG) == 0xaa55) ||
	    (len >= HDR_MAGIC + 4 && le32(img + HDR_MAGIC) == 0x53726448)) {
		load_bzimage(vm, img, len, nr_cpus, boot);
	} else {
		if (len > low_ram_end(vm) - X86_KERNEL_ADDR)
			die("--memory %llu MiB is too small for %s (%zu KiB at 1 MiB)",
			    (unsigned long long)(vm->cfg->memory >> 20), path, len >> 10);
		write_or_die(vm, X86_KERNEL_ADDR, img, len, "flat binary");
		boot->entry = X86_KERNEL_ADDR;
		boot->rsi = 0;
		boot->flat = true;
	}
	free(img);
}
