/* --cpu-trace's host side (apart from translate.c: Capstone's x86 header
 * names its own x86_reg, as emit.h does). */
#include <stdio.h>

#include <capstone/capstone.h>

#include "jit.h"

/* Opened once before the threads enter seccomp: Capstone sorts its tables
 * with glibc's qsort at its first decoding, and qsort asks sysinfo, a call
 * vCPU threads may not make. */
static csh cs;
static cs_insn *one;   /* the one decoded instruction, reused: no allocation
			* (and no heap trimming's file reads) under seccomp */
static bool cs_ready;

void jit_trace_init(void)
{
	/* one instruction decoded here builds Capstone's lookup tables */
	static const uint8_t warm[] = { 0x48, 0x89, 0xc3, 0xc3 };  /* mov rbx,rax; ret */
	const uint8_t *p = warm;
	size_t size = sizeof(warm);
	uint64_t addr = 0;

	if (cs_ready || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return;
	one = cs_malloc(cs);
	if (!one) {
		cs_close(&cs);
		return;
	}
	while (cs_disasm_iter(cs, &p, &size, &addr, one))
		;
	cs_ready = true;
}

/* --cpu-trace: the host code of a block, disassembled by Capstone at
 * the address it runs at (its bytes are read through the writable view);
 * the raw bytes where Capstone cannot decode them. */
void jit_trace_host(const uint8_t *code, size_t len, uint64_t addr)
{
	const uint8_t *p = code;
	size_t size = len;

	if (cs_ready)
		while (cs_disasm_iter(cs, &p, &size, &addr, one))
			fprintf(stderr, "jit:   %#llx  %s %s\n", (unsigned long long)one->address,
				one->mnemonic, one->op_str);
	if (size) {
		fprintf(stderr, "jit:   host bytes from +%#zx:", len - size);
		for (size_t k = 0; k < size; k++)
			fprintf(stderr, "%s%02x", k % 32 ? "" : "\njit:   ", p[k]);
		fprintf(stderr, "\n");
	}
}
