/* Trevo's CPU benchmark: a bare-metal, deterministic, CPU-bound program
 * (M-mode, no OS) that mixes integer arithmetic, branches, loads and stores
 * over arrays, multiply/divide and double-precision floating point. It runs
 * a fixed amount of work, then prints the number of instructions it retired
 * (minstret delta) and a checksum of its results on the UART, and powers
 * off. The checksum lets bench/cpu.sh check that trevo and QEMU computed
 * the same thing. */
#include <stdint.h>

#define UART ((volatile uint8_t *)0x10000000)

static void putc_uart(char c)
{
	while (!(UART[5] & 0x20))
		;
	UART[0] = (uint8_t)c;
}

static void puts_uart(const char *s)
{
	while (*s)
		putc_uart(*s++);
}

static void putu(uint64_t v)
{
	char buf[24];
	int i = 0;
	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putc_uart(buf[--i]);
}

static void puthex(uint64_t v)
{
	puts_uart("0x");
	for (int s = 60; s >= 0; s -= 4)
		putc_uart("0123456789abcdef"[(v >> s) & 15]);
}

static inline uint64_t rdinstret(void)
{
	uint64_t v;
	__asm__ volatile("csrr %0, minstret" : "=r"(v));
	return v;
}

#define N_INT 8192
#define N_FP 2048
static uint64_t arr[N_INT];
static uint32_t idx[N_INT];
static double vec[N_FP];

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* integer: arithmetic, data-dependent branches, multiply/divide, a
 * dependent load chain through idx[] */
static uint64_t work_int(uint64_t seed, int rounds)
{
	uint64_t s = seed, sum = 0;
	for (int i = 0; i < N_INT; i++) {
		arr[i] = xorshift(&s);
		idx[i] = (uint32_t)(xorshift(&s) % N_INT);
	}
	for (int r = 0; r < rounds; r++) {
		uint64_t prev = arr[N_INT - 1];
		for (int i = 0; i < N_INT; i++) {
			uint64_t x = arr[i];
			if (x & 1)
				sum += x / ((uint64_t)i | 1);
			else if (x & 2)
				sum -= x % 13;
			else
				sum ^= x * 0x9e3779b97f4a7c15ULL;
			x = x * 3 + (prev >> 7) + (uint64_t)i;
			arr[i] = x;
			prev = x;
		}
		uint32_t j = (uint32_t)r % N_INT;
		for (int k = 0; k < N_INT / 4; k++) {
			j = idx[j];
			sum += arr[j] >> (k & 31);
		}
		/* signed division and remainders */
		int64_t a = (int64_t)sum;
		for (int k = 1; k < 64; k++)
			a = a / (k - 32 ? k - 32 : 1) + a % (k + 7);
		sum += (uint64_t)a;
	}
	return sum;
}

/* double precision: multiply-add chains, division, square root, compares */
static uint64_t work_fp(int rounds)
{
	double acc = 0.0;
	for (int i = 0; i < N_FP; i++)
		vec[i] = (double)(i + 1) * 0.001;
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < N_FP; i++) {
			double v = vec[i];
			v = v * 1.0000001 + 0.5 / (double)(i + r + 1);
			if (v > 100.0)
				v = __builtin_sqrt(v);
			vec[i] = v;
			acc += v * v - acc * 1e-9;
		}
	}
	union { double d; uint64_t u; } c = { .d = acc };
	return c.u;
}

/* a small sort: loads, stores and unpredictable branches */
static uint64_t work_sort(uint64_t seed, int rounds)
{
	uint64_t s = seed, sum = 0;
	for (int r = 0; r < rounds; r++) {
		uint32_t *a = idx;
		int n = 512;
		for (int i = 0; i < n; i++)
			a[i] = (uint32_t)xorshift(&s);
		for (int i = 1; i < n; i++) {
			uint32_t v = a[i];
			int j = i - 1;
			while (j >= 0 && a[j] > v) {
				a[j + 1] = a[j];
				j--;
			}
			a[j + 1] = v;
		}
		sum += a[0] + a[n / 2] + a[n - 1];
	}
	return sum;
}

int main(void)
{
	uint64_t t0 = rdinstret();
	uint64_t sum = 0;
	for (int rep = 0; rep < 180; rep++) {
		sum += work_int(0x1234567 + (uint64_t)rep, 24);
		sum ^= work_fp(24);
		sum += work_sort(0x9876 + (uint64_t)rep, 12);
	}
	uint64_t t1 = rdinstret();
	puts_uart("cpu: instret=");
	putu(t1 - t0);
	puts_uart(" checksum=");
	puthex(sum);
	puts_uart("\n");
	return 0;
}
