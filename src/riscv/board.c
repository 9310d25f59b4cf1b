/* The RISC-V virt board: the memory map and board devices around the
 * software CPU (--sbi firmware: OpenSBI in M-mode and a CLINT; --sbi
 * monitor: SBI answered by trevo), the loaders for firmware, kernel and
 * initrd, the device tree, and where the harts start after a reset. The
 * harts themselves are the engine's (engine.c); vm.c runs the machine. */
#include <elf.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../host/console.h"
#include "../host/loop.h"
#include "../engine.h"
#include "../vmstate.h"
#include "board.h"
#include "cache.h"
#include "decode.h"
#include "../dev/pci.h"
#include "../dev/sifive_test.h"

#define DEFAULT_FIRMWARE "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
#define FDT_MAX (64 * 1024)

/* --- loading images --- */

struct image {
	uint64_t entry;
	uint64_t end;        /* highest byte loaded + 1 */
	uint64_t tohost, fromhost;
};

/* Every image goes in as a blob, so that a system reset puts it back. */
static void load_bytes(struct vm *vm, const char *what, const char *path, uint64_t gpa,
		       const void *data, uint64_t len)
{
	int err = vm_load_blob(vm, what, path, gpa, data, len);

	if (err == -ENOMEM)
		die_host("out of memory loading %s %s", what, path);
	if (err)
		exit(EXIT_USAGE);  /* vm_load_blob said why */
}

/* The file's tables may sit at any offset: each entry is copied out
 * (memcpy) rather than read in place, which would be a misaligned access
 * (found by tests/fuzz/fuzz_rv_loader). */
static void elf_symbols(const uint8_t *buf, size_t len, const Elf64_Ehdr *eh, struct image *img)
{
	if (!eh->e_shoff || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff > len || (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len - eh->e_shoff)
		return;
	for (int i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr sh, strsh;
		memcpy(&sh, buf + eh->e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_SYMTAB || sh.sh_link >= eh->e_shnum)
			continue;
		memcpy(&strsh, buf + eh->e_shoff + sh.sh_link * sizeof(strsh), sizeof(strsh));
		if (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset ||
		    strsh.sh_offset > len || strsh.sh_size > len - strsh.sh_offset)
			return;
		for (size_t k = 0; k < sh.sh_size / sizeof(Elf64_Sym); k++) {
			Elf64_Sym sym;
			const char *name;
			memcpy(&sym, buf + sh.sh_offset + k * sizeof(sym), sizeof(sym));
			if (sym.st_name >= strsh.sh_size)
				continue;
			name = (const char *)buf + strsh.sh_offset + sym.st_name;
			if (strnlen(name, strsh.sh_size - sym.st_name) == strsh.sh_size - sym.st_name)
				continue;
			if (!strcmp(name, "tohost"))
				img->tohost = sym.st_value;
			else if (!strcmp(name, "fromhost"))
				img->fromhost = sym.st_value;
		}
	}
}

static void load_elf(struct vm *vm, const char *what, const char *path, const uint8_t *buf,
		     size_t len, struct image *img)
{
	Elf64_Ehdr eh;
	int loaded = 0;

	if (len < sizeof(eh) || buf[EI_CLASS] != ELFCLASS64 || buf[EI_DATA] != ELFDATA2LSB)
		die("%s %s: not a 64-bit little-endian ELF file", what, path);
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_machine != EM_RISCV)
		die("%s %s: ELF file for another architecture (e_machine %u, not RISC-V)", what, path,
		    eh.e_machine);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
		die("%s %s: corrupt ELF program headers", what, path);
	img->end = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len ||
		    ph.p_filesz > len - ph.p_offset)
			die("%s %s: corrupt ELF segment %d (truncated file?)", what, path, i);
		if (!gmem_ptr(&vm->mem, ph.p_paddr, ph.p_memsz))
			die("%s %s: segment %d (%#llx, %llu bytes) does not fit in guest RAM", what,
			    path, i, (unsigned long long)ph.p_paddr,
			    (unsigned long long)ph.p_memsz);
		{
			/* the segment with its zero-filled tail (.bss) as one blob */
			uint8_t *seg = calloc(1, ph.p_memsz);
			if (!seg)
				die_host("out of memory loading %s %s", what, path);
			memcpy(seg, buf + ph.p_offset, ph.p_filesz);
			load_bytes(vm, what, path, ph.p_paddr, seg, ph.p_memsz);
			free(seg);
		}
		if (ph.p_paddr + ph.p_memsz > img->end)
			img->end = ph.p_paddr + ph.p_memsz;
		loaded++;
	}
	if (!loaded)
		die("%s %s: ELF file has nothing to load", what, path);
	img->entry = eh.e_entry;
	elf_symbols(buf, len, &eh, img);
}

static uint8_t *read_image(const char *what, const char *path, size_t *len)
{
	uint8_t *buf;
	int err = read_file(path, &buf, len);

	if (err)
		die("%s %s: %s", what, path, strerror(-err));
	if (*len == 0)
		die("%s %s: empty file", what, path);
	return buf;
}

static bool is_elf(const uint8_t *buf, size_t len)
{
	return len >= 4 && !memcmp(buf, ELFMAG, SELFMAG);
}

/* Firmware: an ELF, or a flat binary at the start of RAM. */
static void load_firmware(struct vm *vm, const char *path, struct image *img)
{
	size_t len;
	uint8_t *buf = read_image("firmware", path, &len);
	struct rv_insn first;

	if (is_elf(buf, len)) {
		load_elf(vm, "firmware", path, buf, len, img);
	} else {
		/* A flat image has no header to check; its first instruction
		 * at least must be one. */
		rv_decode(len >= 4 ? (uint32_t)buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24
				   : (uint32_t)buf[0] | (len > 1 ? buf[1] << 8 : 0), &first);
		if (first.op == OP_ILLEGAL || len < 4)
			die("firmware %s: neither an ELF file nor a RISC-V flat binary", path);
		load_bytes(vm, "firmware", path, BOARD_RAM_BASE, buf, len);
		img->entry = BOARD_RAM_BASE;
		img->end = BOARD_RAM_BASE + len;
	}
	free(buf);
}

/* Kernel: a RISC-V Linux Image (Documentation/riscv/boot-image-header.rst)
 * or an ELF. */
static void load_kernel(struct vm *vm, const char *path, struct image *img)
{
	size_t len;
	uint8_t *buf = read_image("kernel", path, &len);
	uint64_t base = BOARD_RAM_BASE + BOARD_KERNEL_OFF, image_size;

	if (is_elf(buf, len)) {
		load_elf(vm, "kernel", path, buf, len, img);
		free(buf);
		return;
	}
	if (len < 64 || (memcmp(buf + 0x30, "RISCV\0\0\0", 8) && memcmp(buf + 0x38, "RSC\x05", 4)))
		die("kernel %s: not a RISC-V Linux Image (bad header magic)", path);
	memcpy(&image_size, buf + 16, 8);
	if (image_size < len)
		image_size = len;
	if (!gmem_ptr(&vm->mem, base, image_size))
		die("kernel %s: needs %llu MiB from %#llx, more than --memory gives", path,
		    (unsigned long long)(image_size >> 20), (unsigned long long)base);
	load_bytes(vm, "kernel", path, base, buf, len);
	img->entry = base;
	img->end = base + image_size;
	free(buf);
}

/* --- device tree --- */

#define FDT_CHECK(x) do { if ((x) < 0) die_host("device tree: %s failed", #x); } while (0)

static void fdt_reg(void *fdt, uint64_t base, uint64_t size)
{
	fdt32_t reg[4] = { cpu_to_fdt32(base >> 32), cpu_to_fdt32(base),
			   cpu_to_fdt32(size >> 32), cpu_to_fdt32(size) };
	FDT_CHECK(fdt_property(fdt, "reg", reg, sizeof(reg)));
}

static void fdt_syscon_nodes(struct rv_board *b, void *fdt);

static void *build_fdt(struct rv_board *b, const char *bootargs, uint64_t initrd_start,
		       uint64_t initrd_end, size_t *size)
{
	struct vm *vm = b->vm;
	struct rv_cpu *m = b->cpu;
	void *fdt = calloc(1, FDT_MAX);
	char name[64];
	fdt32_t cells[MAX_HARTS * 4];
	const char *stdout_path = NULL;

	if (!fdt)
		die_host("out of memory");
	FDT_CHECK(fdt_create(fdt, FDT_MAX));
	FDT_CHECK(fdt_finish_reservemap(fdt));
	FDT_CHECK(fdt_begin_node(fdt, ""));
	FDT_CHECK(fdt_property_u32(fdt, "#address-cells", 2));
	FDT_CHECK(fdt_property_u32(fdt, "#size-cells", 2));
	FDT_CHECK(fdt_property_string(fdt, "compatible", "trevo,virt"));
	FDT_CHECK(fdt_property_string(fdt, "model", "Trevo RISC-V virtual machine"));

	for (int i = 0; i < vm->nr_desc; i++)
		if (!strcmp(vm->desc[i].compatible, "ns16550a")) {
			static char path[64];
			snprintf(path, sizeof(path), "/soc/%s@%llx", vm->desc[i].node_name,
				 (unsigned long long)vm->desc[i].base);
			stdout_path = path;
		}
	FDT_CHECK(fdt_begin_node(fdt, "chosen"));
	FDT_CHECK(fdt_property_string(fdt, "bootargs", bootargs ? bootargs : ""));
	if (stdout_path)
		FDT_CHECK(fdt_property_string(fdt, "stdout-path", stdout_path));
	{
		/* Seeds from the host's random source, as QEMU's virt board
		 * gives them: Linux credits rng-seed to its pool at once
		 * (drivers/of/fdt.c), so it never waits for entropy. */
		uint8_t seed[64];
		uint64_t kaslr;
		if (getrandom(seed, sizeof(seed), 0) == sizeof(seed) &&
		    getrandom(&kaslr, sizeof(kaslr), 0) == sizeof(kaslr)) {
			FDT_CHECK(fdt_property(fdt, "rng-seed", seed, sizeof(seed)));
			FDT_CHECK(fdt_property_u64(fdt, "kaslr-seed", kaslr));
		}
	}
	if (initrd_end > initrd_start) {
		FDT_CHECK(fdt_property_u64(fdt, "linux,initrd-start", initrd_start));
		FDT_CHECK(fdt_property_u64(fdt, "linux,initrd-end", initrd_end));
	}
	FDT_CHECK(fdt_end_node(fdt));

	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)m->ram_base);
	FDT_CHECK(fdt_begin_node(fdt, name));
	FDT_CHECK(fdt_property_string(fdt, "device_type", "memory"));
	fdt_reg(fdt, m->ram_base, m->ram_size);
	FDT_CHECK(fdt_end_node(fdt));

	FDT_CHECK(fdt_begin_node(fdt, "cpus"));
	FDT_CHECK(fdt_property_u32(fdt, "#address-cells", 1));
	FDT_CHECK(fdt_property_u32(fdt, "#size-cells", 0));
	FDT_CHECK(fdt_property_u32(fdt, "timebase-frequency", MTIME_HZ));
	for (int i = 0; i < m->nr_harts; i++) {
		snprintf(name, sizeof(name), "cpu@%d", i);
		FDT_CHECK(fdt_begin_node(fdt, name));
		FDT_CHECK(fdt_property_string(fdt, "device_type", "cpu"));
		FDT_CHECK(fdt_property_u32(fdt, "reg", i));
		FDT_CHECK(fdt_property_string(fdt, "status", "okay"));
		FDT_CHECK(fdt_property_string(fdt, "compatible", "riscv"));
		FDT_CHECK(fdt_property_string(fdt, "riscv,isa", "rv64imafdc_zicsr_zifencei"));
		FDT_CHECK(fdt_property_string(fdt, "mmu-type", "riscv,sv48"));
		FDT_CHECK(fdt_begin_node(fdt, "interrupt-controller"));
		FDT_CHECK(fdt_property_u32(fdt, "#interrupt-cells", 1));
		FDT_CHECK(fdt_property(fdt, "interrupt-controller", NULL, 0));
		FDT_CHECK(fdt_property_string(fdt, "compatible", "riscv,cpu-intc"));
		FDT_CHECK(fdt_property_u32(fdt, "phandle", BOARD_INTC_PHANDLE(i)));
		FDT_CHECK(fdt_end_node(fdt));
		FDT_CHECK(fdt_end_node(fdt));
	}
	FDT_CHECK(fdt_end_node(fdt));

	FDT_CHECK(fdt_begin_node(fdt, "soc"));
	FDT_CHECK(fdt_property_u32(fdt, "#address-cells", 2));
	FDT_CHECK(fdt_property_u32(fdt, "#size-cells", 2));
	FDT_CHECK(fdt_property_string(fdt, "compatible", "simple-bus"));
	FDT_CHECK(fdt_property(fdt, "ranges", NULL, 0));

	/* PLIC: contexts M and S of each hart (hwirq 11 and 9 of its intc) */
	if (b->plic) {
		static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
		snprintf(name, sizeof(name), "plic@%llx", BOARD_PLIC_BASE);
		FDT_CHECK(fdt_begin_node(fdt, name));
		FDT_CHECK(fdt_property(fdt, "compatible", plic_compat, sizeof(plic_compat)));
		fdt_reg(fdt, BOARD_PLIC_BASE, BOARD_PLIC_SIZE);
		FDT_CHECK(fdt_property_u32(fdt, "#address-cells", 0));
		FDT_CHECK(fdt_property_u32(fdt, "#interrupt-cells", 1));
		FDT_CHECK(fdt_property(fdt, "interrupt-controller", NULL, 0));
		FDT_CHECK(fdt_property_u32(fdt, "riscv,ndev", PLIC_NR_SOURCES));
		FDT_CHECK(fdt_property_u32(fdt, "phandle", BOARD_PLIC_PHANDLE));
		for (int i = 0; i < m->nr_harts; i++) {
			cells[4 * i + 0] = cpu_to_fdt32(BOARD_INTC_PHANDLE(i));
			cells[4 * i + 1] = cpu_to_fdt32(11);
			cells[4 * i + 2] = cpu_to_fdt32(BOARD_INTC_PHANDLE(i));
			cells[4 * i + 3] = cpu_to_fdt32(9);
		}
		FDT_CHECK(fdt_property(fdt, "interrupts-extended", cells,
				       m->nr_harts * 4 * sizeof(fdt32_t)));
		FDT_CHECK(fdt_end_node(fdt));
	}

	for (int i = 0; i < vm->nr_desc; i++) {
		const struct dev_desc *d = &vm->desc[i];
		size_t clen = d->compatible_len ? d->compatible_len : strlen(d->compatible) + 1;
		snprintf(name, sizeof(name), "%s@%llx", d->node_name, (unsigned long long)d->base);
		FDT_CHECK(fdt_begin_node(fdt, name));
		FDT_CHECK(fdt_property(fdt, "compatible", d->compatible, (int)clen));
		if (d->size)
			fdt_reg(fdt, d->base, d->size);
		if (d->irq >= 0) {
			FDT_CHECK(fdt_property_u32(fdt, "interrupts", d->irq));
			FDT_CHECK(fdt_property_u32(fdt, "interrupt-parent", BOARD_PLIC_PHANDLE));
		}
		if (d->phandle)
			FDT_CHECK(fdt_property_u32(fdt, "phandle", d->phandle));
		if (d->fdt_extra)
			d->fdt_extra(fdt, d->opaque);
		FDT_CHECK(fdt_end_node(fdt));
	}
	fdt_syscon_nodes(b, fdt);
	FDT_CHECK(fdt_end_node(fdt)); /* soc */
	FDT_CHECK(fdt_end_node(fdt)); /* root */
	FDT_CHECK(fdt_finish(fdt));
	*size = fdt_totalsize(fdt);
	return fdt;
}

/* --- reset ROM (boot flow of a real board) --- */

static void write_rom(struct vm *vm, uint64_t entry, uint64_t fdt_addr, uint64_t kernel)
{
	/* auipc t0,0; addi a2,t0,40; csrr a0,mhartid; ld a1,32(t0); ld t0,24(t0); jr t0 */
	static const uint32_t code[] = { 0x00000297, 0x02828613, 0xf1402573,
					 0x0202b583, 0x0182b283, 0x00028067 };
	uint64_t data[2] = { entry, fdt_addr };
	/* OpenSBI fw_dynamic_info: magic, version, next_addr, next_mode (S),
	 * options, boot_hart (-1: any) */
	uint64_t dyn[6] = { 0x4942534f, 2, kernel, 1, 0, ~0ULL };

	uint8_t rom[88];

	_Static_assert(sizeof(code) <= 24 && 40 + sizeof(dyn) <= sizeof(rom), "reset ROM layout");
	memset(rom, 0, sizeof(rom));
	memcpy(rom, code, sizeof(code));
	memcpy(rom + 24, data, sizeof(data));
	memcpy(rom + 40, dyn, sizeof(dyn));
	load_bytes(vm, "reset ROM", "", BOARD_ROM_BASE, rom, sizeof(rom));
}

/* HTIF (riscv-tests convention): tohost = 1 passes, (code << 1) | 1 fails. */
static void htif_store(void *opaque, uint64_t pa, unsigned size)
{
	struct rv_board *b = opaque;
	uint64_t v;

	if (!b->has_tohost || pa + size <= b->tohost || pa >= b->tohost + 8)
		return;
	if (gmem_read64(&b->vm->mem, b->tohost, &v) || !(v & 1))
		return;
	if (v == 1)
		vm_request_exit(b->vm, VM_POWEROFF, 0);
	else
		vm_request_exit(b->vm, VM_FAIL, (int)((v >> 1) & 0x7fffffff));
}

/* A syscon-poweroff or syscon-reboot node: writing value to the SiFive test
 * device (regmap) does it, as Linux's POWER_RESET_SYSCON drivers expect. */
static void fdt_syscon_node(void *fdt, const char *name, const char *compatible, uint32_t value)
{
	FDT_CHECK(fdt_begin_node(fdt, name));
	FDT_CHECK(fdt_property_string(fdt, "compatible", compatible));
	FDT_CHECK(fdt_property_u32(fdt, "regmap", BOARD_TEST_PHANDLE));
	FDT_CHECK(fdt_property_u32(fdt, "offset", 0));
	FDT_CHECK(fdt_property_u32(fdt, "value", value));
	FDT_CHECK(fdt_end_node(fdt));
}

/* The board placed the test device and gave it its phandle (create_board). */
static void fdt_syscon_nodes(struct rv_board *b, void *fdt)
{
	struct vm *vm = b->vm;

	for (int i = 0; i < vm->nr_desc; i++) {
		if (vm->desc[i].phandle != BOARD_TEST_PHANDLE)
			continue;
		fdt_syscon_node(fdt, "poweroff", "syscon-poweroff", SIFIVE_TEST_POWEROFF);
		fdt_syscon_node(fdt, "reboot", "syscon-reboot", SIFIVE_TEST_REBOOT);
		break;
	}
}

/* --- the board's ops ------------------------------------------------------ */

static void create_device(struct vm *vm, const char *model, uint64_t base, int irq)
{
	struct dev_params p = { .base = base, .irq = irq };

	if (vm_create_device(vm, model, &p))
		die("cannot create device %s", model);
}

static char *make_bootargs(const struct vm_config *cfg)
{
	const char *console = cfg->devices == DEVICES_VIRTIO ? "console=hvc0" : "console=ttyS0";
	const char *user = cfg->append ? cfg->append : "";
	char *s;

	if (strstr(user, "console="))
		console = "";
	if (asprintf(&s, "%s%s%s", console, *console && *user ? " " : "", user) < 0)
		die_host("out of memory");
	return s;
}

/* Where QEMU's virt board has it; the 64-bit window starts at the first
 * multiple of its size above RAM. */
static int create_pci_host(struct vm *vm)
{
	uint64_t ram_end = BOARD_RAM_BASE + vm->cfg->memory;
	struct pci_host_config pc = {
		.ecam_base = BOARD_PCI_ECAM_BASE,
		.nr_buses = BOARD_PCI_BUSES,
		.io_base = BOARD_PCI_IO_BASE,
		.io_size = BOARD_PCI_IO_SIZE,
		.mem_base = BOARD_PCI_MEM_BASE,
		.mem_size = BOARD_PCI_MEM_SIZE,
		.mem64_base = (ram_end + BOARD_PCI_MEM64_SIZE - 1) & ~(BOARD_PCI_MEM64_SIZE - 1),
		.mem64_size = BOARD_PCI_MEM64_SIZE,
		.irq_base = IRQ_PCI_INTA,
		.irq_parent = BOARD_PLIC_PHANDLE,
	};

	return pci_host_create(vm, &pc);
}

static int board_create(struct vm *vm)
{
	struct vm_config *cfg = vm->cfg;
	struct rv_board *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->vm = vm;
	b->para = cfg->sbi == SBI_MONITOR;
	vm->arch = b;
	if (b->para && cfg->firmware)
		die("--firmware: SBI in the monitor (para mode) runs no firmware");

	/* Region 0 is main RAM, the engine's fast paths assume it. */
	if (gmem_add_region(&vm->mem, BOARD_RAM_BASE, cfg->memory))
		die_host("cannot allocate %llu MiB of guest RAM", (unsigned long long)(cfg->memory >> 20));
	if (gmem_add_region(&vm->mem, BOARD_ROM_BASE, BOARD_ROM_SIZE))
		die_host("cannot allocate the boot ROM");
	if ((err = vm->engine->create(vm)))
		return err;
	b->cpu = rv_cpu_of(vm);

	vm->mmio_alloc_next = BOARD_VIRTIO_BASE;
	vm->mmio_alloc_end = BOARD_VIRTIO_BASE + BOARD_VIRTIO_SLOTS * 0x1000;
	vm->irq_alloc_next = IRQ_VIRTIO_FIRST;
	vm->irq_alloc_end = IRQ_VIRTIO_FIRST + BOARD_VIRTIO_SLOTS;

	b->plic = plic_create(b->cpu, BOARD_PLIC_BASE, PLIC_NR_SOURCES);
	if (!b->plic)
		die_host("cannot create the PLIC");
	if (!b->para && clint_create(b->cpu, BOARD_CLINT_BASE))
		die_host("cannot create the CLINT");
	create_device(vm, "sifive-test", BOARD_TEST_BASE, -1);
	for (int i = 0; i < vm->nr_desc; i++)
		if (vm->desc[i].base == BOARD_TEST_BASE)
			vm->desc[i].phandle = BOARD_TEST_PHANDLE;
	create_device(vm, "goldfish-rtc", BOARD_RTC_BASE, IRQ_RTC);
	create_device(vm, "pvpanic-mmio", BOARD_PVPANIC_BASE, -1);
	create_device(vm, "ns16550a", BOARD_UART_BASE, IRQ_UART);
	if (cfg->devices == DEVICES_REAL && (err = create_pci_host(vm)))
		return err;
	return 0;
}

/* What to boot: a bare firmware (tests), firmware + kernel (full), or a
 * kernel alone (para). Without options, the default guest. */
static int board_load(struct vm *vm)
{
	struct rv_board *b = vm->arch;
	struct vm_config *cfg = vm->cfg;
	const char *firmware = cfg->firmware, *kernel = cfg->kernel, *initrd = cfg->initrd;
	struct image fw = { 0 }, kimg = { 0 };
	uint64_t initrd_start = 0, initrd_end = 0;
	uint64_t ram_base = BOARD_RAM_BASE, ram_end = BOARD_RAM_BASE + cfg->memory;
	size_t fdt_size;
	void *fdt;
	char *bootargs;

	if (!kernel && (b->para || !firmware)) {
		kernel = guest_default_file("riscv", "Image");
		if (!kernel)
			die("no --kernel given and no default guest built (run `trevo guest build riscv` or `make guest`)");
		if (!initrd)
			initrd = guest_default_file("riscv", "initramfs.cpio.gz");
	}
	if (!b->para && !firmware)
		firmware = DEFAULT_FIRMWARE;

	if (firmware) {
		load_firmware(vm, firmware, &fw);
		if (fw.tohost && gmem_ptr(&vm->mem, fw.tohost, 8) && fw.tohost >= ram_base) {
			b->has_tohost = true;
			b->tohost = fw.tohost;
			b->fromhost = fw.fromhost;
			rv_watch_page(b->cpu, fw.tohost, htif_store, b);
		}
	}
	if (kernel) {
		load_kernel(vm, kernel, &kimg);
		if (firmware && fw.end > kimg.entry && fw.entry < kimg.end)
			die("firmware %s overlaps the kernel at %#llx", firmware,
			    (unsigned long long)kimg.entry);
	}

	/* The device tree goes at the top of RAM, the initrd below it. */
	b->fdt_addr = (ram_end - FDT_MAX) & ~0xfffULL;
	if (initrd) {
		size_t len;
		uint8_t *buf = read_image("initrd", initrd, &len);
		uint64_t low = kimg.end ? kimg.end : ram_base + BOARD_KERNEL_OFF;
		initrd_start = (b->fdt_addr - len) & ~0xfffULL;
		if (len > b->fdt_addr - low || initrd_start < low)
			die("initrd %s: %zu bytes do not fit in guest RAM with the kernel (--memory)",
			    initrd, len);
		load_bytes(vm, "initrd", initrd, initrd_start, buf, len);
		initrd_end = initrd_start + len;
		free(buf);
	}
	bootargs = make_bootargs(cfg);
	fdt = build_fdt(b, bootargs, initrd_start, initrd_end, &fdt_size);
	load_bytes(vm, "device tree", "", b->fdt_addr, fdt, fdt_size);
	free(fdt);
	free(bootargs);

	if (b->para) {
		b->entry = kimg.entry;
	} else {
		write_rom(vm, fw.entry, b->fdt_addr, kimg.entry);
		b->entry = BOARD_ROM_BASE;
	}
	return 0;
}

/* Loading waits for a reset unless the firmware is an ELF, which may have
 * an HTIF tohost that a running machine needs watched (board_load). */
static bool board_load_can_wait(struct vm *vm)
{
	unsigned char magic[4] = { 0 };
	FILE *f;

	if (!vm->cfg->firmware)
		return true;
	f = fopen(vm->cfg->firmware, "rb");
	if (!f)
		return false;  /* board_load says why */
	if (fread(magic, 1, 4, f) != 4)
		magic[0] = 0;
	fclose(f);
	return memcmp(magic, "\x7f" "ELF", 4) != 0;
}

/* Where the harts start, at power-on and after every reset: full mode,
 * every hart in M-mode at the reset ROM (it passes hartid and the device
 * tree to the firmware); para mode, hart 0 in S-mode at the kernel with
 * a0 = hartid, a1 = device tree, the others stopped until SBI HSM starts
 * them (SBI 2.0, chapter 9). */
static int board_reset(struct vm *vm)
{
	struct rv_board *b = vm->arch;
	struct vcpu_state st;
	int err;

	for (int i = 0; i < b->cpu->nr_harts; i++) {
		if ((err = vm->engine->get_vcpu(vm, i, &st)))
			return err;
		st.rv.pc = b->entry;
		if (b->para) {
			st.rv.run_state = i == 0 ? 0 : 2;
			st.rv.x[10] = 0;
			st.rv.x[11] = b->fdt_addr;
		}
		if ((err = vm->engine->set_vcpu(vm, i, &st)))
			return err;
	}
	plic_reset(b->plic);
	return 0;
}

/* The PLIC, then the timebase: mtime as the guest reads it (the harts'
 * timecmp values are in their vCPU state and mean nothing without it). */
static int board_state(struct vm *vm, struct vmstate *s)
{
	struct rv_board *b = vm->arch;
	uint64_t mtime = rv_mtime(b->cpu);
	int err = plic_state(b->plic, s);

	if (err)
		return err;
	vms_u64(s, &mtime);
	if (s->loading && !vms_error(s))
		rv_set_mtime(b->cpu, mtime);
	return vms_error(s);
}

static void board_destroy(struct vm *vm)
{
	struct rv_board *b = vm->arch;

	if (!b)
		return;
	pci_host_destroy(vm);
	plic_destroy(b->plic);
	free(b);
	vm->arch = NULL;
}

static const struct board_ops riscv_virt_board = {
	.name = "riscv-virt",
	.arch = VCPU_ARCH_RISCV64,
	.create = board_create,
	.load = board_load,
	.load_can_wait = board_load_can_wait,
	.reset = board_reset,
	.state = board_state,
	.destroy = board_destroy,
};
BOARD(riscv_virt_board)
