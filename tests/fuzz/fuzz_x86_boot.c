/* libFuzzer target for the x86-64 kernel loaders a user's --kernel file
 * reaches (src/x86/boot.c and the host-side unpacker src/x86/unpack.c,
 * both included whole): the vmlinux ELF loader, the bzImage setup header
 * with its payload (xz, gzip, zstd or left to the guest), and the unpacked
 * ELF inside it. A bad file must end in die() (one line, exit 2), never a
 * crash or a write outside guest RAM. Here die() returns to the harness by
 * longjmp, and what the loaders allocated before it is freed by the
 * harness (trevo itself exits: nothing leaks there either), so that the
 * leak checker still sees any leak of a successful load. */
#include <elf.h>
#include <lzma.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "x86/x86.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static jmp_buf died;
static void *owned[64];

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
		abort();  /* more live allocations than a load makes */
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

#define die(...) fuzz_die()
#define malloc fuzz_malloc
#define calloc fuzz_calloc
#define free fuzz_free
#include "x86/boot.c"
#include "x86/unpack.c"
#undef die
#undef malloc
#undef calloc
#undef free

#define RAM (32 * MiB)

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
	cfg.kernel = "fuzz";
	cfg.append = "console=ttyS0";
	if (gmem_add_region(&vm.mem, 0, RAM))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x86_boot boot;
	uint8_t *img;

	if (size < 1)
		return 0;
	fresh_vm();
	/* A copy of exactly the file's size, so that ASan sees any read past
	 * its end. */
	img = malloc(size - 1);
	memcpy(img, data + 1, size - 1);
	memset(owned, 0, sizeof(owned));
	if (!setjmp(died)) {
		switch (data[0] % 3) {
		case 0:
			load_bzimage(&vm, img, size - 1, 1, &boot);
			break;
		case 1:
			load_elf(&vm, img, size - 1, 1, &boot);
			break;
		case 2: {
			uint8_t *out;
			size_t out_len;
			if (x86_unpack_payload(img, size - 1, &out, &out_len) == 0) {
				load_elf_segments(&vm, out, out_len, "fuzz", &boot.entry);
				fuzz_free(out);
			}
			break;
		}
		}
		/* A load that succeeded keeps nothing of its own. */
		for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
			if (owned[i])
				abort();
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
			free(owned[i]);
	}
	free(img);
	return 0;
}
