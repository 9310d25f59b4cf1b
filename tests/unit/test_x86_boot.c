/* The x86 boot path without KVM: boot_params, command line, e820, page
 * tables and ACPI tables written by x86_boot_load into a RAM array, the host
 * unpacking of bzImage payloads, and the one-line exit on bad input. */
#include <elf.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "unit_vm.h"
#include "vm.h"
#include "x86/x86.h"

#define CHECK_PREFIX "x86-boot-"
#include "check.h"

/* The bad-input cases end a child process with die(): what it allocated
 * stays allocated, as in trevo itself. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}


static char tmpdir[] = "/tmp/trevo-x86-boot-XXXXXX";

static const char *write_tmp(const char *name, const void *buf, size_t len)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ & 3];
	FILE *f;

	snprintf(p, 256, "%s/%s", tmpdir, name);
	f = fopen(p, "wb");
	if (!f || fwrite(buf, 1, len, f) != len)
		abort();
	fclose(f);
	return p;
}

static uint32_t rd32(struct vm *vm, uint64_t gpa)
{
	uint32_t v = 0;
	gmem_read32(&vm->mem, gpa, &v);
	return v;
}

static uint64_t rd64(struct vm *vm, uint64_t gpa)
{
	uint64_t v = 0;
	gmem_read64(&vm->mem, gpa, &v);
	return v;
}

static uint8_t sum(struct vm *vm, uint64_t gpa, uint32_t len)
{
	uint8_t *p = gmem_ptr(&vm->mem, gpa, len), s = 0;
	if (!p)
		return 1;
	while (len--)
		s += *p++;
	return s;
}

static void vm_init(struct vm *vm, struct vm_config *cfg, uint64_t mem)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	cfg->memory = mem;
	if (gmem_add_region(&vm->mem, 0, mem))
		abort();
}

/* A fake bzImage: one setup sector, the header fields the loader reads,
 * and a payload that is not compressed (left to the guest). */
static size_t make_bzimage(uint8_t *img, size_t payload)
{
	size_t len = 2 * 512 + payload;

	memset(img, 0, len);
	img[0x1f1] = 1;                             /* setup_sects */
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	img[0x201] = 0x66;                          /* header ends at 0x268 */
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f;
	img[0x207] = 0x02;                          /* protocol 2.15 */
	img[0x211] = 0x01;                          /* LOADED_HIGH */
	img[0x236] = 0x01;                          /* XLF_KERNEL_64 */
	img[0x238] = 0xff;
	img[0x239] = 0x07;                          /* cmdline_size 2047 */
	img[0x262] = 0x10;                          /* init_size 1 MiB */
	img[0x25a] = 0x10;                          /* pref_address 1 MiB */
	for (size_t i = 0; i < payload; i++)
		img[1024 + i] = (uint8_t)(i * 7);
	return len;
}

static bool has_bytes(const uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(p + i, s, n))
			return true;
	return false;
}

/* The DSDT carries the virtio-mmio window as an LNRO0005 device; where
 * acpica-tools is installed, iasl must decompile it without errors. */
static void test_dsdt(struct vm *vm, uint64_t fadt)
{
	uint64_t dsdt = fadt ? rd64(vm, fadt + 140) : 0;
	uint32_t len = dsdt ? rd32(vm, dsdt + 4) : 0;
	const uint8_t *t = dsdt ? gmem_ptr(&vm->mem, dsdt, len) : NULL;
	char cmd[512];
	const char *path;
	int rc;

	CHECK("dsdt", t && sum(vm, dsdt, len) == 0 && has_bytes(t, len, "_S5_") &&
			      has_bytes(t, len, "LNRO0005") && has_bytes(t, len, "_SB_"));
	if (!t)
		return;
	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		printf("SKIP x86-boot-dsdt-iasl: iasl (acpica-tools) not installed\n");
		return;
	}
	path = write_tmp("dsdt.aml", t, len);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -d dsdt.aml >iasl.log 2>&1 && grep -q 'LNRO0005' dsdt.dsl && "
		 "grep -q 'Memory32Fixed (ReadWrite,' dsdt.dsl && grep -q '0xD0000000' dsdt.dsl && "
		 "grep -q 'Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive' dsdt.dsl && "
		 "grep -q '_S5_' dsdt.dsl && grep -q '0xD0001000' dsdt.dsl && grep -q 'QEMU0001' dsdt.dsl && "
		 "! grep -qi 'error' iasl.log", tmpdir);
	(void)path;
	rc = system(cmd);
	CHECK("dsdt-iasl", rc == 0);
}

static void test_bzimage(void)
{
	static uint8_t img[1024 + 8192];
	struct vm_config cfg = { .append = "console=ttyS0 quiet" };
	struct vm vm;
	struct x86_boot boot;
	char cmdline[256] = { 0 };
	uint64_t rsdp, xsdt, madt = 0, fadt = 0;
	uint32_t n;
	bool e820_ok = false;

	vm_init(&vm, &cfg, 64 * MiB);
	cfg.kernel = write_tmp("bzImage", img, make_bzimage(img, 8192));
	/* Lines 5 and 6 as the devices would get them from vm_alloc_irq. */
	vm.irq_alloc_next = 5;
	vm.irq_alloc_end = 16;
	if (vm_alloc_irq(&vm) != 5 || vm_alloc_irq(&vm) != 6)
		abort();
	vm_describe(&vm, &(struct dev_desc){ .node_name = "virtio_mmio", .compatible = "virtio,mmio",
					     .base = 0xd0000000, .size = 0x1000, .irq = 5 });
	vm_describe(&vm, &(struct dev_desc){ .node_name = "virtio_mmio", .compatible = "virtio,mmio",
					     .base = 0xd0001000, .size = 0x1000, .irq = 6 });
	vm_describe(&vm, &(struct dev_desc){ .node_name = "pvpanic", .compatible = "qemu,pvpanic-mmio",
					     .base = 0xd0002000, .size = 0x1000, .irq = -1 });
	x86_boot_load(&vm, 2, &boot);
	CHECK("bz-entry", boot.entry == X86_KERNEL_ADDR + 0x200 && boot.rsi == X86_BOOT_PARAMS &&
				  !boot.flat);
	CHECK("bz-payload", !memcmp(gmem_ptr(&vm.mem, X86_KERNEL_ADDR, 8192), img + 1024, 8192));
	CHECK("bz-loader", *(uint8_t *)gmem_ptr(&vm.mem, X86_BOOT_PARAMS + 0x210, 1) == 0xff);
	CHECK("bz-header-copied", rd32(&vm, X86_BOOT_PARAMS + 0x202) == 0x53726448);
	gmem_read(&vm.mem, rd32(&vm, X86_BOOT_PARAMS + 0x228), cmdline, sizeof(cmdline) - 1);
	CHECK("bz-cmdline", !strcmp(cmdline, "console=ttyS0 quiet virtio_mmio.device=4K@0xd0000000:5 "
					     "virtio_mmio.device=4K@0xd0001000:6"));
	n = *(uint8_t *)gmem_ptr(&vm.mem, X86_BOOT_PARAMS + 0x1e8, 1);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = rd64(&vm, X86_BOOT_PARAMS + 0x2d0 + i * 20);
		uint64_t s = rd64(&vm, X86_BOOT_PARAMS + 0x2d0 + i * 20 + 8);
		if (a == 0x100000 && s == 63 * MiB && rd32(&vm, X86_BOOT_PARAMS + 0x2d0 + i * 20 + 16) == 1)
			e820_ok = true;
	}
	CHECK("bz-e820", n == 4 && e820_ok);
	CHECK("page-tables", rd64(&vm, X86_PML4_ADDR) == (X86_PDPT_ADDR | 3) &&
				     rd64(&vm, X86_PD_ADDR + 8) == (2 * MiB | 0x83) &&
				     rd64(&vm, X86_PD_ADDR + 3 * 4096 + 511 * 8) ==
					     ((4 * GiB - 2 * MiB) | 0x83));

	rsdp = rd64(&vm, X86_BOOT_PARAMS + 0x70);
	CHECK("acpi-rsdp", rsdp == X86_ACPI_ADDR && !memcmp(gmem_ptr(&vm.mem, rsdp, 8), "RSD PTR ", 8) &&
				   sum(&vm, rsdp, 20) == 0 && sum(&vm, rsdp, 36) == 0);
	xsdt = rd64(&vm, rsdp + 24);
	CHECK("acpi-xsdt", !memcmp(gmem_ptr(&vm.mem, xsdt, 4), "XSDT", 4) &&
				   sum(&vm, xsdt, rd32(&vm, xsdt + 4)) == 0);
	for (uint32_t off = 36; off < rd32(&vm, xsdt + 4); off += 8) {
		uint64_t t = rd64(&vm, xsdt + off);
		if (!memcmp(gmem_ptr(&vm.mem, t, 4), "APIC", 4))
			madt = t;
		if (!memcmp(gmem_ptr(&vm.mem, t, 4), "FACP", 4))
			fadt = t;
	}
	CHECK("acpi-fadt", fadt && sum(&vm, fadt, rd32(&vm, fadt + 4)) == 0 &&
				   (rd32(&vm, fadt + 112) & (1u << 20)) &&
				   rd64(&vm, fadt + 244 + 4) == X86_ACPI_SLEEP_CTL &&
				   sum(&vm, rd32(&vm, fadt + 40), rd32(&vm, rd32(&vm, fadt + 40) + 4)) == 0);
	if (madt) {
		uint32_t len = rd32(&vm, madt + 4), lapics = 0;
		bool level5 = false, ioapic = false;
		uint8_t *t = gmem_ptr(&vm.mem, madt, len);
		for (uint32_t off = 44; t && off + 2 <= len && t[off + 1]; off += t[off + 1]) {
			if (t[off] == 0)
				lapics++;
			if (t[off] == 1 && rd32(&vm, madt + off + 4) == X86_IOAPIC_ADDR)
				ioapic = true;
			if (t[off] == 2 && t[off + 3] == 5 && (t[off + 8] | t[off + 9] << 8) == 0xd)
				level5 = true;
		}
		CHECK("acpi-madt", sum(&vm, madt, len) == 0 && lapics == 2 && ioapic && level5);
	} else {
		CHECK("acpi-madt", madt != 0);
	}
	test_dsdt(&vm, fadt);
	unit_vm_free(&vm);
}

static void test_flat(void)
{
	static const uint8_t code[] = { 0xf4, 0xeb, 0xfd };  /* hlt; jmp */
	struct vm_config cfg = { 0 };
	struct vm vm;
	struct x86_boot boot;

	vm_init(&vm, &cfg, 16 * MiB);
	cfg.kernel = write_tmp("flat.bin", code, sizeof(code));
	x86_boot_load(&vm, 1, &boot);
	CHECK("flat", boot.flat && boot.entry == X86_KERNEL_ADDR &&
			      !memcmp(gmem_ptr(&vm.mem, X86_KERNEL_ADDR, 3), code, 3));
	unit_vm_free(&vm);
}

static size_t make_elf(uint8_t *buf)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));

	memset(buf, 0, 4096);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_machine = EM_X86_64;
	eh->e_entry = 0x1000000;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_offset = 1024;
	ph->p_vaddr = 0xffffffff81000000ULL;
	ph->p_paddr = 0x1000000;
	ph->p_filesz = 1024;
	ph->p_memsz = 8192;
	memset(buf + 1024, 0xab, 1024);
	return 2048;
}

static void test_elf(void)
{
	static uint8_t elf[4096];
	struct vm_config cfg = { .append = "quiet" };
	struct vm vm;
	struct x86_boot boot;
	size_t len = make_elf(elf);
	char cmdline[64] = { 0 };

	vm_init(&vm, &cfg, 64 * MiB);
	cfg.kernel = write_tmp("vmlinux", elf, len);
	x86_boot_load(&vm, 1, &boot);
	CHECK("elf", !boot.flat && boot.entry == 0x1000000 && boot.rsi == X86_BOOT_PARAMS &&
			     *(uint8_t *)gmem_ptr(&vm.mem, 0x1000000 + 1023, 1) == 0xab &&
			     rd32(&vm, X86_BOOT_PARAMS + 0x202) == 0x53726448);
	gmem_read(&vm.mem, rd32(&vm, X86_BOOT_PARAMS + 0x228), cmdline, sizeof(cmdline) - 1);
	CHECK("console-added", !strcmp(cmdline, "console=ttyS0 quiet"));
	unit_vm_free(&vm);
}

static void test_unpack(void)
{
	static uint8_t plain[64 * 1024], packed[80 * 1024];
	uint8_t *out;
	size_t out_len, n;
	z_stream z;

	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i % 251);
	memcpy(plain, ELFMAG, SELFMAG);

	/* xz */
	n = 0;
	CHECK("unpack-xz-encode", lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, plain, sizeof(plain),
							  packed, &n, sizeof(packed) - 4) == LZMA_OK);
	memcpy(packed + n, &(uint32_t){ sizeof(plain) }, 4);
	CHECK("unpack-xz", x86_unpack_payload(packed, n + 4, &out, &out_len) == 0 &&
				   out_len == sizeof(plain) && !memcmp(out, plain, sizeof(plain)));
	if (out_len == sizeof(plain))
		free(out);
	packed[n / 2] ^= 0x55;
	CHECK("unpack-xz-corrupt", x86_unpack_payload(packed, n + 4, &out, &out_len) == -EINVAL);

	/* gzip */
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	z.next_in = plain;
	z.avail_in = sizeof(plain);
	z.next_out = packed;
	z.avail_out = sizeof(packed) - 4;
	deflate(&z, Z_FINISH);
	n = z.total_out;
	deflateEnd(&z);
	memcpy(packed + n, &(uint32_t){ sizeof(plain) }, 4);
	out_len = 0;
	CHECK("unpack-gzip", x86_unpack_payload(packed, n + 4, &out, &out_len) == 0 &&
				     out_len == sizeof(plain) && !memcmp(out, plain, sizeof(plain)));
	if (out_len == sizeof(plain))
		free(out);

	/* zstd, with a lying size trailer */
	n = ZSTD_compress(packed, sizeof(packed) - 4, plain, sizeof(plain), 3);
	memcpy(packed + n, &(uint32_t){ sizeof(plain) }, 4);
	out_len = 0;
	CHECK("unpack-zstd", x86_unpack_payload(packed, n + 4, &out, &out_len) == 0 &&
				     out_len == sizeof(plain) && !memcmp(out, plain, sizeof(plain)));
	if (out_len == sizeof(plain))
		free(out);
	memcpy(packed + n, &(uint32_t){ sizeof(plain) + 1 }, 4);
	CHECK("unpack-size-mismatch", x86_unpack_payload(packed, n + 4, &out, &out_len) == -EINVAL);
	CHECK("unpack-unknown", x86_unpack_payload(plain + 100, 1000, &out, &out_len) == -EOPNOTSUPP);
}

/* Bad input ends the process with status 2 and one line: run it in a child. */
static int load_in_child(const char *kernel, uint64_t mem)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* static, as in main.c: a loader that exits on bad input
		 * leaves what hangs off the VM reachable, not leaked. */
		static struct vm_config cfg;
		static struct vm vm;
		struct x86_boot boot;
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		vm_init(&vm, &cfg, mem);
		cfg.kernel = kernel;
		x86_boot_load(&vm, 1, &boot);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_bad_input(void)
{
	static uint8_t img[1024 + 8192], elf[4096];
	size_t len = make_bzimage(img, 8192);

	CHECK("missing-kernel", load_in_child("/nonexistent/kernel", 16 * MiB) == EXIT_USAGE);
	CHECK("empty-kernel", load_in_child(write_tmp("empty", "", 0), 16 * MiB) == EXIT_USAGE);
	img[0x202] = 'X';
	CHECK("no-hdrs", load_in_child(write_tmp("nohdr", img, len), 16 * MiB) == EXIT_USAGE);
	img[0x202] = 'H';
	img[0x206] = 0x0b;  /* protocol 2.11: no 64-bit entry */
	CHECK("old-protocol", load_in_child(write_tmp("old", img, len), 16 * MiB) == EXIT_USAGE);
	img[0x206] = 0x0f;
	img[0x263] = 0x10;  /* init_size 256 MiB + 1 MiB */
	CHECK("too-small-memory", load_in_child(write_tmp("big", img, len), 16 * MiB) == EXIT_USAGE);
	CHECK("truncated", load_in_child(write_tmp("trunc", img, 600), 16 * MiB) == EXIT_USAGE);
	len = make_elf(elf);
	((Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr)))->p_filesz = 1 << 20;  /* past the file */
	CHECK("elf-corrupt", load_in_child(write_tmp("badelf", elf, len), 64 * MiB) == EXIT_USAGE);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("SKIP x86-boot: no temporary directory\n");
		return 0;
	}
	test_bzimage();
	test_flat();
	test_elf();
	test_unpack();
	test_bad_input();
	fflush(stdout);
	if (getenv("KEEP_TMP"))
		printf("kept %s\n", tmpdir);
	else if (fork() == 0)
		execlp("rm", "rm", "-rf", tmpdir, (char *)NULL);
	wait(NULL);
	return failures ? 1 : 0;
}
