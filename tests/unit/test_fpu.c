/* rv_fpu_exec against reference vectors recorded on riscv64 (QEMU user mode,
 * tests/unit/gen/gen_fpu_vectors.c): result bits, fflags and illegal
 * encodings, one PASS/FAIL line per instruction. Plus the properties the
 * vectors cannot show: fflags accumulate, the host rounding mode is left at
 * round-to-nearest, and a timing line for the interpreter's budget. */
#include <fenv.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "riscv/fpu.h"

struct vec {
	uint32_t insn;
	uint8_t frm, kind, flags;   /* kind: 0 result in f4, 1 in x12, 2 illegal */
	uint64_t a, b, c, xin, out;
};

static const struct vec vecs[] = {
#include "fpu_vectors.h"
};

#define NV (sizeof vecs / sizeof vecs[0])

/* Mnemonic of an encoding, for grouping results. */
static const char *name_of(uint32_t insn, char *buf, size_t len)
{
	static const char *const fma[] = { "fmadd", "fmsub", "fnmsub", "fnmadd" };
	static const char *const cvt[] = { "w", "wu", "l", "lu" };
	unsigned opc = insn & 0x7f, fmt = (insn >> 25) & 3, f5 = insn >> 27;
	unsigned f3 = (insn >> 12) & 7, rs2 = (insn >> 20) & 31;
	const char *p = fmt == 0 ? "s" : fmt == 1 ? "d" : "?";
	if (opc != 0x53) {
		snprintf(buf, len, "%s.%s", opc >= 0x43 && opc <= 0x4f ? fma[(opc - 0x43) / 4] : "?", p);
		return buf;
	}
	switch (f5) {
	case 0: snprintf(buf, len, "fadd.%s", p); break;
	case 1: snprintf(buf, len, "fsub.%s", p); break;
	case 2: snprintf(buf, len, "fmul.%s", p); break;
	case 3: snprintf(buf, len, "fdiv.%s", p); break;
	case 0x0b: snprintf(buf, len, "fsqrt.%s", p); break;
	case 4: snprintf(buf, len, "fsgnj%s.%s", f3 == 0 ? "" : f3 == 1 ? "n" : f3 == 2 ? "x" : "?", p); break;
	case 5: snprintf(buf, len, "f%s.%s", f3 == 0 ? "min" : f3 == 1 ? "max" : "minmax?", p); break;
	case 8: snprintf(buf, len, "fcvt.%s.%s", p, fmt == 0 ? "d" : "s"); break;
	case 0x14: snprintf(buf, len, "f%s.%s", f3 == 0 ? "le" : f3 == 1 ? "lt" : f3 == 2 ? "eq" : "cmp?", p); break;
	case 0x18: snprintf(buf, len, "fcvt.%s.%s", rs2 < 4 ? cvt[rs2] : "?", p); break;
	case 0x1a: snprintf(buf, len, "fcvt.%s.%s", p, rs2 < 4 ? cvt[rs2] : "?"); break;
	case 0x1c: snprintf(buf, len, "%s", f3 == 0 ? (fmt ? "fmv.x.d" : "fmv.x.w") : f3 == 1 ? (fmt ? "fclass.d" : "fclass.s") : "fmvx?"); break;
	case 0x1e: snprintf(buf, len, "%s", fmt ? "fmv.d.x" : "fmv.w.x"); break;
	default: snprintf(buf, len, "op%02x.%s", f5, p); break;
	}
	return buf;
}

/* Run one vector; returns 0 on match, else writes why. */
static int run_vec(const struct vec *v, uint32_t fflags0, char *why, size_t len)
{
	struct rv_fpu fpu;
	uint64_t x[32];
	memset(&fpu, 0, sizeof fpu);
	memset(x, 0, sizeof x);
	fpu.f[1] = v->a;
	fpu.f[2] = v->b;
	fpu.f[3] = v->c;
	fpu.f[4] = 0x5a5a5a5a5a5a5a5aull;
	x[11] = v->xin;
	x[12] = 0xa5a5a5a5a5a5a5a5ull;
	fpu.frm = v->frm;
	fpu.fflags = fflags0;
	int rc = rv_fpu_exec(&fpu, x, v->insn);
	if (v->kind == 2) {
		if (rc != -1) {
			snprintf(why, len, "insn %08x frm %u: expected illegal, got %d", v->insn, v->frm, rc);
			return -1;
		}
		return 0;
	}
	uint64_t got = v->kind == 1 ? x[12] : fpu.f[4];
	if (rc != 0 || got != v->out || fpu.fflags != (v->flags | fflags0)) {
		snprintf(why, len, "insn %08x frm %u a %016llx b %016llx c %016llx x %016llx: "
			 "fflags %02x want %016llx/%02x, got %016llx/%02x rc %d", v->insn, v->frm,
			 (unsigned long long)v->a, (unsigned long long)v->b, (unsigned long long)v->c,
			 (unsigned long long)v->xin, fflags0, (unsigned long long)v->out, v->flags | fflags0,
			 (unsigned long long)got, fpu.fflags, rc);
		return -1;
	}
	if (fegetround() != FE_TONEAREST) {
		snprintf(why, len, "insn %08x left the host rounding mode changed", v->insn);
		return -1;
	}
	return 0;
}

#define MAX_GROUPS 128

int main(void)
{
	struct { char name[24]; unsigned n, bad; char why[320]; } g[MAX_GROUPS];
	unsigned ng = 0, total_bad = 0;
	int failed = 0;
	char name[24], why[320];

	for (size_t i = 0; i < NV; i++) {
		unsigned k;
		name_of(vecs[i].insn, name, sizeof name);
		if (vecs[i].kind == 2)
			snprintf(name, sizeof name, "illegal");
		for (k = 0; k < ng && strcmp(g[k].name, name); k++)
			;
		if (k == ng) {
			if (ng == MAX_GROUPS)
				return 2;
			snprintf(g[k].name, sizeof g[k].name, "%s", name);
			g[k].n = g[k].bad = 0;
			ng++;
		}
		g[k].n++;
		/* Once from clear fflags, once with flags already set: rv_fpu_exec
		 * may leave host flags behind that fflags already holds. */
		if (run_vec(&vecs[i], 0, why, sizeof why) ||
		    run_vec(&vecs[i], (uint32_t)(i * 7 % 32), why, sizeof why)) {
			if (!g[k].bad++)
				memcpy(g[k].why, why, sizeof why);
			total_bad++;
		}
	}
	for (unsigned k = 0; k < ng; k++) {
		if (g[k].bad) {
			printf("FAIL fpu_%s: %u of %u vectors wrong, first: %s\n", g[k].name, g[k].bad, g[k].n, g[k].why);
			failed = 1;
		} else {
			printf("PASS fpu_%s (%u vectors)\n", g[k].name, g[k].n);
		}
	}
	printf("# fpu: %zu of %zu reference vectors match\n", NV - total_bad, (size_t)NV);

	/* fflags accumulate: an exact operation keeps earlier flags. */
	{
		struct rv_fpu fpu;
		uint64_t x[32] = { 0 };
		memset(&fpu, 0, sizeof fpu);
		fpu.fflags = 0x1f;
		fpu.f[1] = 0x3ff0000000000000ull;
		fpu.f[2] = 0x3ff0000000000000ull;
		int rc = rv_fpu_exec(&fpu, x, 0x02208253);   /* fadd.d f4, f1, f2, rne */
		if (rc || fpu.fflags != 0x1f || fpu.f[4] != 0x4000000000000000ull) {
			printf("FAIL fpu_fflags_accumulate: rc %d fflags %x f4 %llx\n", rc, fpu.fflags,
			       (unsigned long long)fpu.f[4]);
			failed = 1;
		} else {
			printf("PASS fpu_fflags_accumulate\n");
		}
	}

	/* Cost per instruction, for the interpreter's budget (not a test). */
	{
		struct rv_fpu fpu;
		uint64_t x[32] = { 0 };
		struct timespec t0, t1;
		memset(&fpu, 0, sizeof fpu);
		fpu.f[1] = 0x3ff0000000000001ull;
		fpu.f[2] = 0x3fb999999999999aull;
		/* clear: fflags reset before each instruction, so the flags must be
		 * read back from the host (the slow path). */
		static const struct { const char *n; uint32_t insn; int clear; } bench[] = {
			{ "fadd.d rne", 0x02208253, 0 }, { "fadd.d rtz", 0x02209253, 0 },
			{ "fmadd.d rne", 0x1a208243, 0 }, { "fadd.d rmm", 0x0220c253, 0 },
			{ "fcvt.w.d", 0xc2008653, 0 }, { "fle.d", 0xa2208653, 0 },
			{ "fdiv.d", 0x1a208253, 0 }, { "fsqrt.d", 0x5a008253, 0 },
			{ "fcvt.s.d", 0x40108253, 0 }, { "fcvt.d.l", 0xd2258253, 0 },
			{ "fmul.s (unboxed: NaN)", 0x10208253, 0 }, { "fmin.d", 0x2a208253, 0 },
			{ "fadd.d rne, fflags clear", 0x02208253, 1 },
		};
		for (unsigned b = 0; b < sizeof bench / sizeof bench[0]; b++) {
			const unsigned iters = 400000;
			double best = 1e9;
			/* Best of several rounds: the machine is shared. */
			for (int round = 0; round < 7; round++) {
				clock_gettime(CLOCK_MONOTONIC, &t0);
				for (unsigned i = 0; i < iters; i++) {
					if (bench[b].clear)
						fpu.fflags = 0;
					rv_fpu_exec(&fpu, x, bench[b].insn);
					fpu.f[1] = 0x3ff0000000000001ull;
				}
				clock_gettime(CLOCK_MONOTONIC, &t1);
				double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / iters;
				if (ns < best)
					best = ns;
			}
			printf("# fpu bench %s: %.1f ns/insn\n", bench[b].n, best);
		}
	}
	return failed;
}
