/* trevo-bench: the workloads of `trevo bench` (bench/bench.py) inside Linux,
 * built for the riscv64 guest, the x86-64 guest and the host itself (the
 * native column), from the one source.
 *
 *   trevo-bench serve [console]
 *                          the line protocol of bench/bench.py on stdin and
 *                          stdout: "TREVO-WORK READY", then for each line
 *                          "NAME UNITS [ARG]" one line
 *                          "R NAME UNITS CHECKSUM AMOUNT" (or "E why");
 *                          "quit" ends it. The host times each command.
 *                          With "console" (in a guest, where init gives
 *                          trevo.run no terminal) on the active console.
 *   trevo-bench [SCALE]    the older one-shot form for bench/boot.py: a
 *                          fixed amount of integer and floating-point work,
 *                          timed by the guest's clock, one line
 *                          TREVO-BENCH int=<s> fp=<s> total=<s> check=<hex>
 *
 * The CPU and memory workloads are guest/workloads.h (shared with the
 * bare-metal guests); the operating-system ones are here. Every one returns
 * a checksum that the host can recompute, so a wrong result fails the bench.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "workloads.h"

#define BLOCK 4096
/* The disk the host prepares (bench.py): block b holds the 64-bit words
 * (b << 16) | j, j = 0..511; reads check every word. */
#define DISK_READ_BLOCKS 4096	/* the first 16 MiB are read */
#define DISK_WRITE_OFFSET (16u << 20)
#define DISK_WRITE_BYTES (16u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *disk_path(const char *arg)
{
	static const char *const candidates[] = { "/dev/vda", "/dev/sda" };

	if (arg && *arg)
		return arg;
	for (unsigned i = 0; i < 2; i++)
		if (access(candidates[i], R_OK) == 0)
			return candidates[i];
	return NULL;
}

/* syscall: UNITS getpid system calls (through syscall(2), which no libc
 * caches); the checksum counts those that returned our pid. */
static int os_syscall(uint64_t n, uint64_t *check)
{
	long pid = getpid();

	*check = 0;
	for (uint64_t i = 0; i < n; i++)
		*check += syscall(SYS_getpid) == pid;
	return 0;
}

/* pipe: UNITS one-byte round trips with a child through two pipes; the
 * child returns each byte plus one, the checksum is their sum. */
static int os_pipe(uint64_t n, uint64_t *check)
{
	int to[2], from[2], st;
	pid_t pid;

	if (pipe(to) || pipe(from))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		unsigned char c;

		close(to[1]);
		close(from[0]);
		while (read(to[0], &c, 1) == 1) {
			c++;
			if (write(from[1], &c, 1) != 1)
				break;
		}
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	*check = 0;
	for (uint64_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)i;

		if (write(to[1], &c, 1) != 1 || read(from[0], &c, 1) != 1)
			break;
		*check += c;
	}
	close(to[1]);
	close(from[0]);
	waitpid(pid, &st, 0);
	return 0;
}

/* forkexec: UNITS times fork and exec this program again as
 * "trevo-bench exit K", which exits with K = i % 251; the checksum is the
 * sum of the statuses the parent collected. */
static int os_forkexec(uint64_t n, uint64_t *check)
{
	*check = 0;
	for (uint64_t i = 0; i < n; i++) {
		char arg[8];
		pid_t pid;
		int st;

		snprintf(arg, sizeof(arg), "%u", (unsigned)(i % 251));
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			char *argv[] = { "trevo-bench", "exit", arg, NULL };

			execv("/proc/self/exe", argv);
			_exit(255);
		}
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st))
			*check += WEXITSTATUS(st);
	}
	return 0;
}

/* pagefault: UNITS MiB of fresh anonymous memory, one write per 4 KiB page
 * (one page fault each), read back; the checksum is the sum of the bytes. */
static int os_pagefault(uint64_t n, uint64_t *check, uint64_t *amount)
{
	size_t len = (size_t)n << 20, pages = len / BLOCK;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	for (size_t i = 0; i < pages; i++)
		p[i * BLOCK] = (unsigned char)(i * 7 + 1);
	*check = 0;
	for (size_t i = 0; i < pages; i++)
		*check += p[i * BLOCK];
	munmap(p, len);
	*amount = pages;
	return 0;
}

static void *aligned_buffer(size_t len)
{
	void *p = NULL;

	return posix_memalign(&p, BLOCK, len) ? NULL : p;
}

/* Open the disk for direct I/O (the guest's page cache out of the way);
 * a host file system without O_DIRECT (tmpfs) falls back to buffered. */
static int disk_open(const char *arg, int flags)
{
	const char *path = disk_path(arg);
	int fd;

	if (!path)
		return -ENOENT;
	fd = open(path, flags | O_DIRECT);
	if (fd < 0 && errno == EINVAL)
		fd = open(path, flags);
	return fd < 0 ? -errno : fd;
}

/* Check one block read from the prepared area; the number of good words. */
static uint64_t block_good(const uint64_t *w, uint64_t b)
{
	uint64_t good = 0;

	for (unsigned j = 0; j < BLOCK / 8; j++)
		good += w[j] == ((b << 16) | j);
	return good;
}

/* diskread: UNITS MiB read in order (1 MiB requests) from the prepared
 * 16 MiB, wrapping; the checksum is the number of words that matched. */
static int os_diskread(uint64_t n, const char *arg, uint64_t *check, uint64_t *amount)
{
	size_t chunk = 1 << 20;
	uint64_t *buf = aligned_buffer(chunk);
	int fd = disk_open(arg, O_RDONLY);

	if (fd < 0 || !buf) {
		free(buf);
		return fd < 0 ? fd : -ENOMEM;
	}
	*check = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t first = (i % (DISK_READ_BLOCKS * BLOCK / chunk)) * (chunk / BLOCK);

		if (pread(fd, buf, chunk, first * BLOCK) != (ssize_t)chunk)
			break;
		for (uint64_t b = 0; b < chunk / BLOCK; b++)
			*check += block_good(buf + b * (BLOCK / 8), first + b);
	}
	close(fd);
	free(buf);
	*amount = n * chunk;
	return 0;
}

/* diskrand: UNITS reads of one 4 KiB block at xorshift-chosen places in
 * the prepared 16 MiB; the checksum is the matching words plus the sum of
 * the block numbers (bench.py draws the same sequence). */
static int os_diskrand(uint64_t n, const char *arg, uint64_t *check, uint64_t *amount)
{
	uint64_t *buf = aligned_buffer(BLOCK), x = 0x9e3779b97f4a7c15ull;
	int fd = disk_open(arg, O_RDONLY);

	if (fd < 0 || !buf) {
		free(buf);
		return fd < 0 ? fd : -ENOMEM;
	}
	*check = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t b;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b = x % DISK_READ_BLOCKS;
		if (pread(fd, buf, BLOCK, b * BLOCK) != BLOCK)
			break;
		*check += block_good(buf, b) + b;
	}
	close(fd);
	free(buf);
	*amount = n;
	return 0;
}

/* diskwrite: UNITS MiB written in order (1 MiB requests) after the first
 * 16 MiB, wrapping within 16 MiB, then fdatasync; word j of block b holds
 * ~((b << 16) | j), which bench.py checks in the image file afterwards. The
 * checksum is the bytes written. */
static int os_diskwrite(uint64_t n, const char *arg, uint64_t *check, uint64_t *amount)
{
	size_t chunk = 1 << 20;
	uint64_t *buf = aligned_buffer(chunk);
	int fd = disk_open(arg, O_WRONLY);

	if (fd < 0 || !buf) {
		free(buf);
		return fd < 0 ? fd : -ENOMEM;
	}
	*check = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t first = (DISK_WRITE_OFFSET + (i % (DISK_WRITE_BYTES / chunk)) * chunk) / BLOCK;

		for (uint64_t b = 0; b < chunk / BLOCK; b++)
			for (unsigned j = 0; j < BLOCK / 8; j++)
				buf[b * (BLOCK / 8) + j] = ~(((first + b) << 16) | j);
		if (pwrite(fd, buf, chunk, first * BLOCK) != (ssize_t)chunk)
			break;
		*check += chunk;
	}
	if (fdatasync(fd))
		*check = 0;
	close(fd);
	free(buf);
	*amount = n * chunk;
	return 0;
}

/* tcp: UNITS MiB to ARG = HOST:PORT; the bytes are i * 131 mod 251 for
 * the i-th byte. The host's server answers with the count and FNV-1a hash
 * it saw (16 hex digits each, then a newline); that hash is our checksum. */
static int os_tcp(uint64_t n, const char *arg, uint64_t *check, uint64_t *amount)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64], reply[40];
	const char *colon = arg ? strrchr(arg, ':') : NULL;
	static unsigned char buf[1 << 16];
	uint64_t total = n << 20, sent = 0, got_n = 0, got_hash = 0;
	size_t r = 0;
	int fd;

	if (!colon || (size_t)(colon - arg) >= sizeof(host))
		return -EINVAL;
	memcpy(host, arg, colon - arg);
	host[colon - arg] = 0;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(fd);
		return e;
	}
	while (sent < total) {
		size_t len = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)((sent + i) * 131 % 251);
		w = write(fd, buf, len);
		if (w <= 0)
			break;
		sent += w;
	}
	shutdown(fd, SHUT_WR);
	while (r < sizeof(reply) - 1) {
		ssize_t k = read(fd, reply + r, sizeof(reply) - 1 - r);

		if (k <= 0)
			break;
		r += k;
	}
	reply[r] = 0;
	close(fd);
	if (sscanf(reply, "%16lx %16lx", &got_n, &got_hash) != 2 || got_n != sent)
		return -EIO;
	*check = got_hash;
	*amount = sent;
	return 0;
}

static int serve_one(const char *name, uint64_t units, const char *arg, uint64_t *check,
		     uint64_t *amount)
{
	*amount = units;
	if (!strcmp(name, "syscall"))
		return os_syscall(units, check);
	if (!strcmp(name, "pipe"))
		return os_pipe(units, check);
	if (!strcmp(name, "forkexec"))
		return os_forkexec(units, check);
	if (!strcmp(name, "pagefault"))
		return os_pagefault(units, check, amount);
	if (!strcmp(name, "diskread"))
		return os_diskread(units, arg, check, amount);
	if (!strcmp(name, "diskrand"))
		return os_diskrand(units, arg, check, amount);
	if (!strcmp(name, "diskwrite"))
		return os_diskwrite(units, arg, check, amount);
	if (!strcmp(name, "tcp"))
		return os_tcp(units, arg, check, amount);
	return work_run(name, units, check, amount) ? -ENOSYS : 0;
}

/* The console the kernel writes to (the last of
 * /sys/class/tty/console/active), as stdin and stdout. */
static void use_console(void)
{
	char buf[256], path[300], *name;
	int fd = open("/sys/class/tty/console/active", O_RDONLY);
	ssize_t n = 0;

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	name = strrchr(buf, ' ');
	name = name ? name + 1 : buf;
	snprintf(path, sizeof(path), "/dev/%s", *name ? name : "console");
	fd = open(path, O_RDWR | O_NOCTTY);
	if (fd < 0)
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (fd > 1)
			close(fd);
	}
}

static int serve(int console)
{
	char line[256];
	struct termios t;

	if (console)
		use_console();

	/* On a console tty: no echo of the commands into the results. */
	if (tcgetattr(0, &t) == 0) {
		t.c_lflag &= ~(ECHO | ECHONL);
		tcsetattr(0, TCSANOW, &t);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TREVO-WORK READY\n");
	while (fgets(line, sizeof(line), stdin)) {
		char name[32], arg[128] = "";
		unsigned long long units;
		uint64_t check = 0, amount = 0;
		int k = sscanf(line, "%31s %llu %127s", name, &units, arg), e;

		if (k >= 1 && !strcmp(name, "quit"))
			break;
		if (k < 2) {
			if (k >= 1)
				printf("E bad command\n");
			continue;
		}
		e = serve_one(name, units, k == 3 ? arg : NULL, &check, &amount);
		if (e)
			printf("E %s: %s\n", name, strerror(-e));
		else
			printf("R %s %llu %llx %llu\n", name, units, (unsigned long long)check,
			       (unsigned long long)amount);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int scale, r;
	uint64_t isum = 0, fsum = 0, check, amount;
	double t0, t1, t2;

	if (argc > 1 && !strcmp(argv[1], "serve"))
		return serve(argc > 2 && !strcmp(argv[2], "console"));
	if (argc > 2 && !strcmp(argv[1], "exit"))
		return atoi(argv[2]);
	scale = argc > 1 ? atoi(argv[1]) : 5;
	if (scale < 1)
		scale = 1;
	t0 = now();
	for (r = 0; r < scale; r++) {
		work_run("int", 40, &check, &amount);
		isum += check;
	}
	t1 = now();
	for (r = 0; r < scale; r++) {
		work_run("fp", 40, &check, &amount);
		fsum += check;
	}
	t2 = now();
	printf("TREVO-BENCH int=%.3f fp=%.3f total=%.3f check=%llx\n", t1 - t0, t2 - t1, t2 - t0,
	       (unsigned long long)(isum ^ fsum));
	return 0;
}
