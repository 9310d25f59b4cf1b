/* trevo-bench: a fixed amount of CPU-bound work inside the guest, for the
 * boot benchmark (bench/boot.sh). Integer part: a sieve of Eratosthenes and
 * an xorshift-driven insertion into a hash table; floating-point part: a
 * Mandelbrot set and a small n-body step loop. Both parts are sized so that
 * QEMU's TCG takes a fraction of a second; the result is a checksum so that
 * the compiler cannot drop the work, and a line
 *
 *     TREVO-BENCH int=<s> fp=<s> total=<s> check=<hex>
 *
 * with times measured by CLOCK_MONOTONIC inside the guest. An optional
 * argument sets how many times the work is done (default 5).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t int_work(void)
{
	enum { N = 1 << 20, TABLE = 1 << 16 };
	static uint8_t composite[N];
	static uint32_t table[TABLE];
	uint64_t x = 88172645463325252ull, sum = 0;
	unsigned i, j;

	memset(composite, 0, sizeof(composite));
	for (i = 2; i < N; i++) {
		if (composite[i])
			continue;
		sum += i;
		for (j = 2 * i; j < N; j += i)
			composite[j] = 1;
	}
	memset(table, 0, sizeof(table));
	for (i = 0; i < 1000000; i++) {
		uint32_t h;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		h = (uint32_t)(x * 0x9e3779b97f4a7c15ull >> 48);
		while (table[h % TABLE] && table[h % TABLE] != (uint32_t)x)
			h++;
		table[h % TABLE] = (uint32_t)x;
		sum += h % 1021 + x / ((x & 0xff) + 1) % 7;
		if ((i & 0x3fff) == 0)
			memset(table, 0, sizeof(table));
	}
	return sum;
}

static double fp_work(void)
{
	enum { W = 192, H = 128, ITER = 200, BODIES = 5 };
	double pos[BODIES][3], vel[BODIES][3], mass[BODIES], acc = 0;
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
			pos[i][k] = sin(i * 1.7 + k) * 10;
			vel[i][k] = cos(i * 0.3 + k);
		}
	}
	for (step = 0; step < 40000; step++) {
		for (i = 0; i < BODIES; i++) {
			for (j = i + 1; j < BODIES; j++) {
				double d[3], r2 = 0.01, f;

				for (k = 0; k < 3; k++) {
					d[k] = pos[j][k] - pos[i][k];
					r2 += d[k] * d[k];
				}
				f = 0.001 / (r2 * sqrt(r2));
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
	return acc;
}

int main(int argc, char **argv)
{
	int scale = argc > 1 ? atoi(argv[1]) : 5, r;
	uint64_t isum = 0;
	double fsum = 0, t0, t1, t2;

	if (scale < 1)
		scale = 1;
	t0 = now();
	for (r = 0; r < scale; r++)
		isum += int_work();
	t1 = now();
	for (r = 0; r < scale; r++)
		fsum += fp_work();
	t2 = now();
	printf("TREVO-BENCH int=%.3f fp=%.3f total=%.3f check=%llx\n", t1 - t0, t2 - t1, t2 - t0,
	       (unsigned long long)(isum ^ (uint64_t)(int64_t)fsum));
	return 0;
}
