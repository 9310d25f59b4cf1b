/* The RISC-V virt board: builds the machine for --mode full and --mode para,
 * loads firmware, kernel and initrd, describes everything in a device tree
 * and runs the harts round-robin in this thread. */
#include <elf.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../host/console.h"
#include "../host/loop.h"
#include "../machine.h"
#include "board.h"
#include "cache.h"
#include "decode.h"

#define DEFAULT_FIRMWARE "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
/* instructions per hart before the others get their turn and timers are
 * looked at */
#define SLICE 20000
#define FDT_MAX (64 * 1024)

/* --- loading images --- */

struct image {
	uint64_t entry;
	uint64_t end;        /* highest byte loaded + 1 */
	uint64_t tohost, fromhost;
};

static void load_bytes(struct vm *vm, const char *what, const char *path, uint64_t gpa,
		       const void *data, uint64_t len)
{
	if (gmem_write(&vm->mem, gpa, data, len))
		die("%s %s: does not fit in guest RAM (%llu bytes at %#llx; --memory is %llu MiB)",
		    what, path, (unsigned long long)len, (unsigned long long)gpa,
		    (unsigned long long)(vm->cfg->memory >> 20));
}

static void elf_symbols(const uint8_t *buf, size_t len, const Elf64_Ehdr *eh, struct image *img)
{
	const Elf64_Shdr *sh;

	if (!eh->e_shoff || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff > len || (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len - eh->e_shoff)
		return;
	sh = (const Elf64_Shdr *)(buf + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strsh;
		const Elf64_Sym *syms;
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		strsh = &sh[sh[i].sh_link];
		if (sh[i].sh_offset > len || sh[i].sh_size > len - sh[i].sh_offset ||
		    strsh->sh_offset > len || strsh->sh_size > len - strsh->sh_offset)
			return;
		syms = (const Elf64_Sym *)(buf + sh[i].sh_offset);
		for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); k++) {
			const char *name;
			if (syms[k].st_name >= strsh->sh_size)
				continue;
			name = (const char *)buf + strsh->sh_offset + syms[k].st_name;
			if (strnlen(name, strsh->sh_size - syms[k].st_name) == strsh->sh_size - syms[k].st_name)
				continue;
			if (!strcmp(name, "tohost"))
				img->tohost = syms[k].st_value;
			else if (!strcmp(name, "fromhost"))
				img->fromhost = syms[k].st_value;
		}
	}
}

static void load_elf(struct vm *vm, const char *what, const char *path, const uint8_t *buf,
		     size_t len, struct image *img)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	const Elf64_Phdr *ph;
	int loaded = 0;

	if (len < sizeof(*eh) || buf[EI_CLASS] != ELFCLASS64 || buf[EI_DATA] != ELFDATA2LSB)
		die("%s %s: not a 64-bit little-endian ELF file", what, path);
	if (eh->e_machine != EM_RISCV)
		die("%s %s: ELF file for another architecture (e_machine %u, not RISC-V)", what, path,
		    eh->e_machine);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		die("%s %s: corrupt ELF program headers", what, path);
	ph = (const Elf64_Phdr *)(buf + eh->e_phoff);
	img->end = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > len ||
		    ph[i].p_filesz > len - ph[i].p_offset)
			die("%s %s: corrupt ELF segment %d (truncated file?)", what, path, i);
		if (!gmem_ptr(&vm->mem, ph[i].p_paddr, ph[i].p_memsz))
			die("%s %s: segment %d (%#llx, %llu bytes) does not fit in guest RAM", what,
			    path, i, (unsigned long long)ph[i].p_paddr,
			    (unsigned long long)ph[i].p_memsz);
		load_bytes(vm, what, path, ph[i].p_paddr, buf + ph[i].p_offset, ph[i].p_filesz);
		memset(gmem_ptr(&vm->mem, ph[i].p_paddr + ph[i].p_filesz,
				ph[i].p_memsz - ph[i].p_filesz), 0, ph[i].p_memsz - ph[i].p_filesz);
		if (ph[i].p_paddr + ph[i].p_memsz > img->end)
			img->end = ph[i].p_paddr + ph[i].p_memsz;
		loaded++;
	}
	if (!loaded)
		die("%s %s: ELF file has nothing to load", what, path);
	img->entry = eh->e_entry;
	elf_symbols(buf, len, eh, img);
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

#define FDT_CHECK(x) do { if ((x) < 0) die("device tree: %s failed", #x); } while (0)

static void fdt_reg(void *fdt, uint64_t base, uint64_t size)
{
	fdt32_t reg[4] = { cpu_to_fdt32(base >> 32), cpu_to_fdt32(base),
			   cpu_to_fdt32(size >> 32), cpu_to_fdt32(size) };
	FDT_CHECK(fdt_property(fdt, "reg", reg, sizeof(reg)));
}

static void *build_fdt(struct rv_machine *m, const char *bootargs, uint64_t initrd_start,
		       uint64_t initrd_end, size_t *size)
{
	struct vm *vm = m->vm;
	void *fdt = calloc(1, FDT_MAX);
	char name[64];
	fdt32_t cells[MAX_HARTS * 4];
	const char *stdout_path = NULL;

	if (!fdt)
		die("out of memory");
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
	if (m->plic) {
		static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
		snprintf(name, sizeof(name), "plic@%llx", BOARD_PLIC_BASE);
		FDT_CHECK(fdt_begin_node(fdt, name));
		FDT_CHECK(fdt_property(fdt, "compatible", plic_compat, sizeof(plic_compat)));
		fdt_reg(fdt, BOARD_PLIC_BASE, BOARD_PLIC_SIZE);
		FDT_CHECK(fdt_property_u32(fdt, "#address-cells", 0));
		FDT_CHECK(fdt_property_u32(fdt, "#interrupt-cells", 1));
		FDT_CHECK(fdt_property(fdt, "interrupt-controller", NULL, 0));
		FDT_CHECK(fdt_property_u32(fdt, "riscv,ndev", PLIC_NR_SOURCES - 1));
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
		if (d->fdt_extra)
			d->fdt_extra(fdt, d->opaque);
		FDT_CHECK(fdt_end_node(fdt));
	}
	board_fdt_extra_nodes(m, fdt);
	FDT_CHECK(fdt_end_node(fdt)); /* soc */
	FDT_CHECK(fdt_end_node(fdt)); /* root */
	FDT_CHECK(fdt_finish(fdt));
	*size = fdt_totalsize(fdt);
	return fdt;
}

/* --- reset ROM (boot flow of a real board) --- */

static void write_rom(struct rv_machine *m, uint64_t entry, uint64_t fdt_addr, uint64_t kernel)
{
	/* auipc t0,0; addi a2,t0,40; csrr a0,mhartid; ld a1,32(t0); ld t0,24(t0); jr t0 */
	static const uint32_t code[] = { 0x00000297, 0x02828613, 0xf1402573,
					 0x0202b583, 0x0182b283, 0x00028067 };
	uint64_t data[2] = { entry, fdt_addr };
	/* OpenSBI fw_dynamic_info: magic, version, next_addr, next_mode (S),
	 * options, boot_hart (-1: any) */
	uint64_t dyn[6] = { 0x4942534f, 2, kernel, 1, 0, ~0ULL };

	memcpy(m->rom, code, sizeof(code));
	memcpy(m->rom + 24, data, sizeof(data));
	memcpy(m->rom + 40, dyn, sizeof(dyn));
}

/* --- physical accesses outside RAM --- */

int board_mmio_read(struct rv_machine *m, uint64_t pa, unsigned size, uint64_t *val)
{
	const struct mmio_region *r = bus_find(&m->vm->mmio, pa, size);

	if (!r)
		return -1;
	*val = r->ops->read ? r->ops->read(r->opaque, pa - r->base, size) : 0;
	if (size < 8)
		*val &= (1ULL << (8 * size)) - 1;
	return 0;
}

int board_mmio_write(struct rv_machine *m, uint64_t pa, unsigned size, uint64_t val)
{
	const struct mmio_region *r = bus_find(&m->vm->mmio, pa, size);

	if (!r)
		return -1;
	if (r->ops->write)
		r->ops->write(r->opaque, pa - r->base, size < 8 ? val & ((1ULL << (8 * size)) - 1) : val, size);
	return 0;
}

/* HTIF (riscv-tests convention): tohost = 1 passes, (code << 1) | 1 fails. */
void board_htif_store(struct rv_machine *m, uint64_t pa, unsigned size)
{
	uint64_t v;

	(void)size;
	if (!m->has_tohost || pa + size <= m->tohost || pa >= m->tohost + 8)
		return;
	if (gmem_read64(&m->vm->mem, m->tohost, &v) || !(v & 1))
		return;
	if (v == 1)
		vm_request_exit(m->vm, VM_POWEROFF, 0);
	else
		vm_request_exit(m->vm, VM_FAIL, (int)((v >> 1) & 0x7fffffff));
}

/* --- idle and kick --- */

static void board_kick(struct vm *vm)
{
	struct rv_machine *m = vm->arch;

	pthread_mutex_lock(&m->idle_lock);
	atomic_store(&m->kicked, 1);
	pthread_cond_signal(&m->idle_cond);
	pthread_mutex_unlock(&m->idle_lock);
}

static void idle_wait(struct rv_machine *m, uint64_t deadline_ticks)
{
	struct timespec ts;
	uint64_t now = board_mtime(m), wait_ns;

	if (deadline_ticks <= now)
		return;
	wait_ns = deadline_ticks == UINT64_MAX ? 100000000ULL
					      : (deadline_ticks - now) * (1000000000ULL / MTIME_HZ);
	if (wait_ns > 100000000ULL)
		wait_ns = 100000000ULL;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (ts.tv_nsec + wait_ns) / 1000000000ULL;
	ts.tv_nsec = (ts.tv_nsec + wait_ns) % 1000000000ULL;
	pthread_mutex_lock(&m->idle_lock);
	while (!atomic_load(&m->kicked) && !vm_should_stop(m->vm)) {
		if (pthread_cond_timedwait(&m->idle_cond, &m->idle_lock, &ts))
			break;
	}
	atomic_store(&m->kicked, 0);
	pthread_mutex_unlock(&m->idle_lock);
}

static void run_harts(struct rv_machine *m)
{
	uint64_t limit = m->vm->cfg->max_insns, executed = 0;

	while (!vm_should_stop(m->vm)) {
		bool any = false;
		uint64_t deadline;

		for (int i = 0; i < m->nr_harts; i++) {
			struct hart *h = m->harts[i];
			int st = atomic_load(&h->state);
			if (st == HART_WFI && (atomic_load(&h->mip) & h->mie))
				atomic_store(&h->state, st = HART_RUNNING);
			if (st != HART_RUNNING)
				continue;
			hart_run(h, SLICE);
			executed += SLICE - h->budget;
			any = true;
		}
		deadline = clint_update_timers(m);
		if (limit && executed >= limit) {
			warn("instruction limit (%llu) reached", (unsigned long long)limit);
			vm_request_exit(m->vm, VM_FAIL, 3);
		}
		if (!any)
			idle_wait(m, deadline);
	}
}

/* --- the machine --- */

static void create_device(struct vm *vm, const char *model, uint64_t base, int irq)
{
	struct dev_params p = { .base = base, .irq = irq };

	if (vm_create_device(vm, model, &p))
		die("cannot create device %s", model);
}

static char *make_bootargs(const struct vm_config *cfg)
{
	const char *console = cfg->mode == MODE_PARA ? "console=hvc0" : "console=ttyS0";
	const char *user = cfg->append ? cfg->append : "";
	char *s;

	if (strstr(user, "console="))
		console = "";
	if (asprintf(&s, "%s%s%s", console, *console && *user ? " " : "", user) < 0)
		die("out of memory");
	return s;
}

int riscv_machine_run(struct vm *vm)
{
	struct vm_config *cfg = vm->cfg;
	struct rv_machine *m = calloc(1, sizeof(*m));
	const char *firmware = cfg->firmware, *kernel = cfg->kernel, *initrd = cfg->initrd;
	struct image fw = { 0 }, kimg = { 0 };
	uint64_t fdt_addr, initrd_start = 0, initrd_end = 0, entry;
	size_t fdt_size;
	void *fdt;
	char *bootargs;
	int status = 0, why;

	if (!m)
		die("out of memory");
	m->vm = vm;
	m->para = cfg->mode == MODE_PARA;
	vm->arch = m;
	pthread_mutex_init(&m->idle_lock, NULL);
	pthread_mutex_init(&m->dma_lock, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&m->idle_cond, &ca);
	}

	/* What to boot: a bare firmware (tests), firmware + kernel (full),
	 * or a kernel alone (para). Without options, the default guest. */
	if (m->para && firmware)
		die("--firmware: para mode runs no firmware (SBI is served by trevo)");
	if (!kernel && (m->para || !firmware)) {
		kernel = guest_default_file("riscv", "Image");
		if (!kernel)
			die("no --kernel given and no default guest built (run `trevo guest build riscv` or `make guest`)");
		if (!initrd)
			initrd = guest_default_file("riscv", "initramfs.cpio.gz");
	}
	if (!m->para && !firmware)
		firmware = DEFAULT_FIRMWARE;

	if (gmem_add_region(&vm->mem, BOARD_RAM_BASE, cfg->memory))
		die("cannot allocate %llu MiB of guest RAM", (unsigned long long)(cfg->memory >> 20));
	if (gmem_add_region(&vm->mem, BOARD_ROM_BASE, BOARD_ROM_SIZE))
		die("cannot allocate the boot ROM");
	m->ram = vm->mem.region[0].host;
	m->ram_base = BOARD_RAM_BASE;
	m->ram_size = cfg->memory;
	m->rom = vm->mem.region[1].host;
	m->page_flags = calloc(m->ram_size >> 12, 1);
	m->blocks = code_cache_create(m);
	if (!m->page_flags || !m->blocks)
		die("out of memory");
	vm->mem.on_dma_write = code_note_dma;
	vm->mem.on_dma_write_opaque = m;
	m->mtime_origin_ns = host_ns();

	m->nr_harts = cfg->cpus;
	for (int i = 0; i < m->nr_harts; i++) {
		m->harts[i] = aligned_alloc(64, (sizeof(struct hart) + 63) & ~63UL);
		if (!m->harts[i])
			die("out of memory");
		hart_init(m->harts[i], m, i, m->para);
	}

	vm->kick = board_kick;
	vm->mmio_alloc_next = BOARD_VIRTIO_BASE;
	vm->mmio_alloc_end = BOARD_VIRTIO_BASE + BOARD_VIRTIO_SLOTS * 0x1000;
	vm->irq_alloc_next = IRQ_VIRTIO_FIRST;
	vm->irq_alloc_end = IRQ_VIRTIO_FIRST + BOARD_VIRTIO_SLOTS;

	/* devices */
	m->plic = plic_create(m, BOARD_PLIC_BASE, PLIC_NR_SOURCES);
	if (!m->plic)
		die("cannot create the PLIC");
	vm->set_irq = plic_set_irq;
	vm->irq_ctx = m->plic;
	if (!m->para && clint_create(m, BOARD_CLINT_BASE))
		die("cannot create the CLINT");
	create_device(vm, "sifive-test", BOARD_TEST_BASE, -1);
	create_device(vm, "goldfish-rtc", BOARD_RTC_BASE, IRQ_RTC);
	create_device(vm, "pvpanic-mmio", BOARD_PVPANIC_BASE, -1);
	create_device(vm, "ns16550a", BOARD_UART_BASE, IRQ_UART);
	/* virtio-console and virtio-rng of the para preset: vm_create_user_devices */
	if (vm_create_user_devices(vm))
		exit(EXIT_USAGE);

	/* images */
	if (firmware) {
		load_firmware(vm, firmware, &fw);
		if (fw.tohost && gmem_ptr(&vm->mem, fw.tohost, 8) && fw.tohost >= m->ram_base) {
			m->has_tohost = true;
			m->tohost = fw.tohost;
			m->fromhost = fw.fromhost;
			m->page_flags[(fw.tohost - m->ram_base) >> 12] |= PAGE_WATCH;
		}
	}
	if (kernel) {
		load_kernel(vm, kernel, &kimg);
		if (firmware && fw.end > kimg.entry && fw.entry < kimg.end)
			die("firmware %s overlaps the kernel at %#llx", firmware,
			    (unsigned long long)kimg.entry);
	}

	/* The device tree goes at the top of RAM, the initrd below it. */
	fdt_addr = (m->ram_base + m->ram_size - FDT_MAX) & ~0xfffULL;
	if (initrd) {
		size_t len;
		uint8_t *buf = read_image("initrd", initrd, &len);
		uint64_t low = kimg.end ? kimg.end : m->ram_base + BOARD_KERNEL_OFF;
		initrd_start = (fdt_addr - len) & ~0xfffULL;
		if (len > fdt_addr - low || initrd_start < low)
			die("initrd %s: %zu bytes do not fit in guest RAM with the kernel (--memory)",
			    initrd, len);
		load_bytes(vm, "initrd", initrd, initrd_start, buf, len);
		initrd_end = initrd_start + len;
		free(buf);
	}
	bootargs = make_bootargs(cfg);
	fdt = build_fdt(m, bootargs, initrd_start, initrd_end, &fdt_size);
	load_bytes(vm, "device tree", "", fdt_addr, fdt, fdt_size);
	free(fdt);
	free(bootargs);

	if (m->para) {
		entry = kimg.entry;
		for (int i = 0; i < m->nr_harts; i++)
			atomic_store(&m->harts[i]->state, i == 0 ? HART_RUNNING : HART_STOPPED);
		m->harts[0]->pc = entry;
		m->harts[0]->x[10] = 0;
		m->harts[0]->x[11] = fdt_addr;
	} else {
		write_rom(m, fw.entry, fdt_addr, kimg.entry);
		for (int i = 0; i < m->nr_harts; i++)
			m->harts[i]->pc = BOARD_ROM_BASE;
	}

	if (loop_start(vm->loop))
		die("cannot start the I/O thread");
	run_harts(m);

	why = atomic_load(&vm->exit_reason);
	switch (why) {
	case VM_FAIL:
		status = atomic_load(&vm->exit_code);
		if (status == 0)
			status = 1;
		break;
	case VM_REBOOT:
		warn("guest requested a reboot; stopping");
		status = 0;
		break;
	default:
		status = 0;
	}
	loop_stop(vm->loop);
	term_restore();
	return status;
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

void board_fdt_extra_nodes(struct rv_machine *m, void *fdt)
{
	struct vm *vm = m->vm;

	for (int i = 0; i < vm->nr_desc; i++) {
		if (strncmp(vm->desc[i].compatible, "sifive,test", 11))
			continue;
		fdt_syscon_node(fdt, "poweroff", "syscon-poweroff", SIFIVE_TEST_POWEROFF);
		fdt_syscon_node(fdt, "reboot", "syscon-reboot", SIFIVE_TEST_REBOOT);
		break;
	}
}
