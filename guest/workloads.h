/* The CPU and memory workloads of `trevo bench` (bench/bench.py), written
 * once and built three ways: into trevo-bench (guest/bench.c: Linux on
 * riscv64 and on the host), into the bare-metal RISC-V guest (bench/bare.c,
 * S-mode under SBI) and into the flat x86-64 guest for --mode hw. So this
 * file uses no library at all: no libc, no libm (sqrt is the IEEE-exact
 * instruction), and every build uses -ffp-contract=off so that floating
 * point rounds identically on riscv64 and x86-64.
 *
 * Each workload runs in units of identical work; its checksum is the sum
 * of the units' results, so that N units must give exactly N times the
 * result of one, which the host's own native run establishes (bench.py).
 * `amount` is what the figure counts: operations, bytes, loads.
 */
#ifndef TREVO_WORKLOADS_H
#define TREVO_WORKLOADS_H

#include <stdint.h>

/* The x86-64 bare guest builds with -DWORK_INT_ONLY_REGS: the non-FP
 * workloads then stay off the SSE registers (no vectorised zeroing), so
 * they run on a KVM that cannot execute SSE (one that emulates every
 * instruction in software); the FP workload needs SSE2 and says so by
 * failing there. */
#ifdef WORK_INT_ONLY_REGS
#define WORK_INT_CODE __attribute__((noinline, target("general-regs-only")))
#else
#define WORK_INT_CODE __attribute__((noinline))
#endif

#define WORK_MEM_BYTES (8u << 20)	/* beyond L2 on every host we know */

static uint64_t work_mem[WORK_MEM_BYTES / 8];

/* Integer unit: a sieve over 64 Ki numbers and 20,000 xorshift-driven
 * insertions into an open-addressing table; amount = 1 unit. */
static WORK_INT_CODE uint64_t work_int_unit(void)
{
	enum { N = 1 << 16, TABLE = 1 << 12, INSERTS = 20000 };
	static uint8_t composite[N];
	static uint32_t table[TABLE];
	uint64_t x = 88172645463325252ull, sum = 0;
	unsigned i, j;

	for (i = 0; i < N; i++)
		composite[i] = 0;
	for (i = 2; i < N; i++) {
		if (composite[i])
			continue;
		sum += i;
		for (j = 2 * i; j < N; j += i)
			composite[j] = 1;
	}
	for (i = 0; i < TABLE; i++)
		table[i] = 0;
	for (i = 0; i < INSERTS; i++) {
		uint32_t h;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		h = (uint32_t)(x * 0x9e3779b97f4a7c15ull >> 52);
		while (table[h % TABLE] && table[h % TABLE] != (uint32_t)x)
			h++;
		table[h % TABLE] = (uint32_t)x;
		sum += h % 1021 + x / ((x & 0xff) + 1) % 7;
		if ((i & 0x7ff) == 0)
			for (j = 0; j < TABLE; j++)
				table[j] = 0;
	}
	return sum;
}

/* Floating-point unit: a 64x48 Mandelbrot set (at most 64 iterations a
 * point) and 600 steps of a 5-body gravity loop; the checksum is the bit
 * pattern of the result. */
static __attribute__((noinline)) uint64_t work_fp_unit(void)
{
	enum { W = 64, H = 48, ITER = 64, BODIES = 5, STEPS = 600 };
	double pos[BODIES][3], vel[BODIES][3], mass[BODIES], acc = 0;
	union { double d; uint64_t u; } bits;
	int x, y, i, j, k, step;

	for (y = 0; y < H; y++) {
		for (x = 0; x < W; x++) {
			double cr = -2.0 + 2.5 * x / W, ci = -1.25 + 2.5 * y / H;
			double zr = 0, zi = 0;
			int n;

			for (n = 0; n < ITER && zr * zr + zi * zi < 4.0; n++) {
				double t = zr * zr - zi * zi + cr;

				zi = 2 * zr * zi + ci;
				zr = t;
			}
			acc += n;
		}
	}
	for (i = 0; i < BODIES; i++) {
		mass[i] = 1.0 + i;
		for (k = 0; k < 3; k++) {
			pos[i][k] = (i * 3 + k) * 1.5 - 10.0;
			vel[i][k] = ((i + k) % 3) * 0.25 - 0.25;
		}
	}
	for (step = 0; step < STEPS; step++) {
		for (i = 0; i < BODIES; i++) {
			for (j = i + 1; j < BODIES; j++) {
				double d[3], r2 = 0.01, f;

				for (k = 0; k < 3; k++) {
					d[k] = pos[j][k] - pos[i][k];
					r2 += d[k] * d[k];
				}
				f = 0.001 / (r2 * __builtin_sqrt(r2));
				for (k = 0; k < 3; k++) {
					vel[i][k] += d[k] * f * mass[j];
					vel[j][k] -= d[k] * f * mass[i];
				}
			}
		}
		for (i = 0; i < BODIES; i++)
			for (k = 0; k < 3; k++)
				pos[i][k] += 0.01 * vel[i][k];
	}
	for (i = 0; i < BODIES; i++)
		acc += pos[i][0] + pos[i][1] * 3 + pos[i][2] * 7;
	bits.d = acc;
	return bits.u;
}

/* Memory bandwidth unit: write then read back all of work_mem, 64 bits at
 * a time; amount = bytes moved (2 x 8 MiB). */
static WORK_INT_CODE uint64_t work_membw_unit(void)
{
	volatile uint64_t *m = work_mem;
	uint64_t sum = 0, i, n = WORK_MEM_BYTES / 8;

	for (i = 0; i < n; i++)
		m[i] = i * 0x9e3779b97f4a7c15ull;
	for (i = 0; i < n; i += 4)
		sum += m[i] ^ m[i + 1] ^ m[i + 2] ^ m[i + 3];
	return sum;
}

/* Memory latency: a pointer chase through one random cycle over work_mem
 * (Sattolo's shuffle, 1 Mi entries of 8 bytes), built on first use; a unit
 * is 256 Ki dependent loads. */
#define WORK_CHASE_ENTRIES (WORK_MEM_BYTES / 8)
#define WORK_CHASE_LOADS (1u << 18)
static int work_chase_built;

static WORK_INT_CODE void work_chase_build(void)
{
	uint64_t x = 0x2545f4914f6cdd1dull, i, j, t;

	for (i = 0; i < WORK_CHASE_ENTRIES; i++)
		work_mem[i] = i;
	for (i = WORK_CHASE_ENTRIES - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = x % i;
		t = work_mem[i];
		work_mem[i] = work_mem[j];
		work_mem[j] = t;
	}
	work_chase_built = 1;
}

static WORK_INT_CODE uint64_t work_memlat_unit(void)
{
	uint64_t p = 0, sum = 0;
	unsigned i;

	if (!work_chase_built)
		work_chase_build();
	for (i = 0; i < WORK_CHASE_LOADS; i++) {
		p = work_mem[p];
		sum += p;
	}
	return sum;
}

/* Not a workload: a loop of known length, bench.py's probe of how fast an
 * engine runs plain instructions (where KVM is emulated in software, it
 * shows here); amount = iterations. */
static WORK_INT_CODE uint64_t work_spin(uint64_t n)
{
	uint64_t i, s = 0;

	for (i = 0; i < n; i++) {
		s += i ^ (s >> 3);
		__asm__ volatile("" : "+r"(s));
	}
	return s;
}

/* Run UNITS units of workload NAME; 0 and the checksum and amount, or -1
 * for a name this build does not know. */
static WORK_INT_CODE int work_run(const char *name, uint64_t units, uint64_t *check, uint64_t *amount)
{
	static const struct {
		const char *name;
		uint64_t (*unit)(void);
		uint64_t amount;
	} table[] = {
		{ "int", work_int_unit, 1 },
		{ "fp", work_fp_unit, 1 },
		{ "membw", work_membw_unit, 2ull * WORK_MEM_BYTES },
		{ "memlat", work_memlat_unit, WORK_CHASE_LOADS },
	};
	unsigned t;

	if (name[0] == 's' && name[1] == 'p' && name[2] == 'i' && name[3] == 'n' && !name[4]) {
		*check = work_spin(units);
		*amount = units;
		return 0;
	}
	for (t = 0; t < sizeof(table) / sizeof(table[0]); t++) {
		const char *a = table[t].name, *b = name;
		uint64_t u, sum = 0;

		while (*a && *a == *b)
			a++, b++;
		if (*a || *b)
			continue;
		if (table[t].unit == work_memlat_unit && !work_chase_built)
			work_chase_build();	/* set-up is not part of the figure */
		for (u = 0; u < units; u++)
			sum += table[t].unit();
		*check = sum;
		*amount = units * table[t].amount;
		return 0;
	}
	return -1;
}

#endif
