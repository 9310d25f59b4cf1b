/* libFuzzer target for the RISC-V image loaders a user's --firmware and
 * --kernel files reach (src/riscv/board.c, included whole): the ELF loader
 * with its program headers and symbol table (tohost/fromhost), and the
 * Linux Image header. As in fuzz_x86_boot, die() returns to the harness by
 * longjmp and the harness frees what the loader held at that moment; the
 * board's other parts (PLIC, CLINT, PCI, the CPU) are never reached and
 * are stubbed. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static jmp_buf died;
static void *owned[16];

static void fuzz_die(void)
{
	longjmp(died, 1);
}
static void *own(void *p)
{
	for (size_t i = 0; p && i < ARRAY_SIZE(owned); i++)
		if (!owned[i]) {
			owned[i] = p;
			return p;
		}
	if (p)
		abort();
	return p;
}
static void *fuzz_malloc(size_t n) { return own(malloc(n)); }
static void *fuzz_calloc(size_t n, size_t m) { return own(calloc(n, m)); }
static void fuzz_free(void *p)
{
	for (size_t i = 0; p && i < ARRAY_SIZE(owned); i++)
		if (owned[i] == p)
			owned[i] = NULL;
	free(p);
}

static int fuzz_read_file(const char *path, uint8_t **buf, size_t *len)
{
	int err = read_file(path, buf, len);

	if (!err)
		own(*buf);
	return err;
}

#define read_file fuzz_read_file
#define die(...) fuzz_die()
#define die_host(...) fuzz_die()
#define exit(x) fuzz_die()
#define malloc fuzz_malloc
#define calloc fuzz_calloc
#define free fuzz_free
#include "riscv/board.c"
#undef read_file
#undef die
#undef die_host
#undef exit
#undef malloc
#undef calloc
#undef free

/* The rest of the board, never reached by the loaders. */
struct plic *plic_create(struct rv_cpu *cpu, uint64_t base, unsigned n) { (void)cpu; (void)base; (void)n; abort(); }
void plic_reset(struct plic *p) { (void)p; abort(); }
int plic_state(struct plic *p, struct vmstate *s) { (void)p; (void)s; abort(); }
void plic_destroy(struct plic *p) { (void)p; abort(); }
int clint_create(struct rv_cpu *cpu, uint64_t base) { (void)cpu; (void)base; abort(); }
struct rv_cpu *rv_cpu_of(struct vm *vm) { (void)vm; abort(); }
uint64_t rv_mtime(struct rv_cpu *m) { (void)m; abort(); }
void rv_set_mtime(struct rv_cpu *m, uint64_t now) { (void)m; (void)now; abort(); }
void rv_watch_page(struct rv_cpu *m, uint64_t pa, void (*fn)(void *, uint64_t, unsigned), void *o)
{
	(void)m; (void)pa; (void)fn; (void)o;
	abort();
}
int pci_host_create(struct vm *vm, const struct pci_host_config *c) { (void)vm; (void)c; abort(); }
void pci_host_destroy(struct vm *vm) { (void)vm; abort(); }

#define RAM (16 * MiB)

static struct vm_config cfg;
static struct vm vm;

static void fresh_vm(void)
{
	while (vm.blobs) {
		struct vm_blob *b = vm.blobs;
		vm.blobs = b->next;
		free(b->data);
		free(b);
	}
	gmem_free(&vm.mem);
	memset(&vm, 0, sizeof(vm));
	vm.cfg = &cfg;
	cfg.memory = RAM;
	if (gmem_add_region(&vm.mem, BOARD_RAM_BASE, RAM))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image img = { 0 };
	char path[64];
	uint8_t *buf;
	volatile int fd = -1;  /* set after setjmp, read after longjmp */

	if (size < 1)
		return 0;
	fresh_vm();
	buf = malloc(size - 1);  /* exactly the file: ASan sees reads past it */
	memcpy(buf, data + 1, size - 1);
	memset(owned, 0, sizeof(owned));
	if (!setjmp(died)) {
		switch (data[0] % 3) {
		case 0:
			load_elf(&vm, "kernel", "fuzz", buf, size - 1, &img);
			if (img.end > BOARD_RAM_BASE + RAM)
				abort();
			break;
		case 1:
		case 2:  /* through the file, as --kernel / --firmware */
			fd = memfd_create("image", MFD_CLOEXEC);
			if (fd < 0 || write(fd, buf, size - 1) != (ssize_t)(size - 1))
				abort();
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			if (data[0] % 3 == 1)
				load_kernel(&vm, path, &img);
			else
				load_firmware(&vm, path, &img);
			break;
		}
		for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
			if (owned[i])
				abort();
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
			free(owned[i]);
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return 0;
}
