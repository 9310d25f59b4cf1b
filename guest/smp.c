/* trevo-smp: guest-side checks and workloads for several harts (issue #14).
 *
 *   trevo-smp clock SECONDS    on every online hart, a pinned process calls
 *                              clock_gettime (vDSO) as fast as it can and
 *                              checks CLOCK_MONOTONIC never goes back
 *   trevo-smp stress SECONDS   on every online hart, a pinned process forks,
 *                              execs /bin/true and sends bytes through pipes
 *   trevo-smp par N CMD ARG... runs N copies of CMD at once and reports the
 *                              wall time until the last one ends
 *
 * Each prints one line "TREVO-SMP <what> ... ok" (exit 0) or
 * "TREVO-SMP <what> FAIL: why" (exit 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Per child: its count, in memory shared with the parent. */
static uint64_t *counts;

static int clock_child(int cpu, double seconds)
{
	struct timespec last = { 0, 0 }, t, r;
	struct timeval tv;
	double end;
	uint64_t n = 0;

	pin(cpu);
	end = now() + seconds;
	for (;;) {
		for (int k = 0; k < 256; k++) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			clock_gettime(CLOCK_REALTIME, &r);
			gettimeofday(&tv, NULL);
			if (t.tv_sec < last.tv_sec ||
			    (t.tv_sec == last.tv_sec && t.tv_nsec < last.tv_nsec)) {
				printf("TREVO-SMP clock FAIL: CLOCK_MONOTONIC went back on cpu %d"
				       " (%ld.%09ld after %ld.%09ld)\n", cpu, (long)t.tv_sec,
				       t.tv_nsec, (long)last.tv_sec, last.tv_nsec);
				return 1;
			}
			last = t;
			n += 3;
		}
		counts[cpu] = n;
		if (t.tv_sec + t.tv_nsec / 1e9 >= end)
			return 0;
	}
}

static int stress_child(int cpu, double seconds)
{
	double end;
	uint64_t n = 0;

	pin(cpu);
	end = now() + seconds;
	while (now() < end) {
		int p[2], st;
		char buf[512], back[512];
		pid_t pid;

		if (pipe(p))
			return 1;
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			/* echo through the pipe, then exec */
			ssize_t got = read(p[0], back, sizeof(back));
			if (got != (ssize_t)sizeof(back) || write(p[1], back, got) != got)
				_exit(3);
			execl("/bin/true", "true", (char *)NULL);
			_exit(4);
		}
		for (unsigned i = 0; i < sizeof(buf); i++)
			buf[i] = (char)(i * 7 + n);
		if (write(p[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return 1;
		/* the child reads first, so wait for it to write back */
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			printf("TREVO-SMP stress FAIL: child on cpu %d status %#x\n", cpu, st);
			return 1;
		}
		if (read(p[0], back, sizeof(back)) != (ssize_t)sizeof(back) ||
		    memcmp(buf, back, sizeof(buf))) {
			printf("TREVO-SMP stress FAIL: pipe data differs on cpu %d\n", cpu);
			return 1;
		}
		close(p[0]);
		close(p[1]);
		counts[cpu] = ++n;
	}
	return 0;
}

/* One pinned child per online hart, each running fn; 0 if all succeed. */
static int on_every_hart(const char *what, int (*fn)(int, double), double seconds)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), bad = 0;
	pid_t pids[64];
	uint64_t total = 0;

	if (ncpu < 1 || ncpu > 64)
		ncpu = 1;
	counts = mmap(NULL, 64 * sizeof(*counts), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED) {
		printf("TREVO-SMP %s FAIL: mmap\n", what);
		return 1;
	}
	fflush(stdout);
	for (int c = 0; c < ncpu; c++) {
		pids[c] = fork();
		if (pids[c] == 0) {
			int r = fn(c, seconds);
			fflush(stdout);
			_exit(r);
		}
	}
	for (int c = 0; c < ncpu; c++) {
		int st = 0;

		if (pids[c] < 0) {
			bad = 1;
			continue;
		}
		while (waitpid(pids[c], &st, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(st)) {
			printf("TREVO-SMP %s FAIL: the process on cpu %d died of signal %d\n",
			       what, c, WTERMSIG(st));
			bad = 1;
		} else if (WEXITSTATUS(st)) {
			bad = 1;
		}
		total += counts[c];
	}
	if (bad)
		return 1;
	if (total == 0) {
		printf("TREVO-SMP %s FAIL: no work done\n", what);
		return 1;
	}
	printf("TREVO-SMP %s harts=%d count=%llu ok\n", what, ncpu, (unsigned long long)total);
	return 0;
}

static int par(int n, char **argv)
{
	double t0 = now();
	int bad = 0;

	for (int k = 0; k < n; k++) {
		pid_t pid = fork();
		if (pid == 0) {
			execv(argv[0], argv);
			_exit(127);
		}
		if (pid < 0)
			bad = 1;
	}
	for (;;) {
		int st;
		pid_t pid = wait(&st);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			bad = 1;
	}
	if (bad) {
		printf("TREVO-SMP par FAIL: a copy of %s failed\n", argv[0]);
		return 1;
	}
	printf("TREVO-SMP par n=%d seconds=%.3f ok\n", n, now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "clock"))
		return on_every_hart("clock", clock_child, atof(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "stress"))
		return on_every_hart("stress", stress_child, atof(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "par") && atoi(argv[2]) > 0)
		return par(atoi(argv[2]), argv + 3);
	fprintf(stderr, "usage: trevo-smp clock SECONDS | stress SECONDS | par N CMD [ARG...]\n");
	return 2;
}
