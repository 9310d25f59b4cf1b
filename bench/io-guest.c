/* trevo-io: the guest side of bench/io.sh. Runs inside the guest (static
 * RISC-V binary on a small ext2 "tools" disk) and measures, with the guest's
 * CLOCK_MONOTONIC, each test for at least SECS seconds:
 *
 *   write  MB/s   1 MiB O_DIRECT writes, passes over the first SIZE MiB of
 *                 DEV, then fdatasync (inside the timed span)
 *   read   MB/s   1 MiB O_DIRECT reads, passes over the same range
 *   rand   IOPS   4 KiB O_DIRECT reads at random aligned offsets in it
 *   tcp    MB/s   64 KiB writes to HOST:PORT (a sink on the host), until
 *                 the sink has counted all of it and closed
 *
 * Before and after each test it prints a line on the console,
 *   TREVO-IO-PHASE NAME begin          and
 *   TREVO-IO-PHASE NAME end bytes=N secs=T
 * so that the host can read the VMM's CPU time around it, and at the end
 * one line TREVO-IO key=value ... that the host script parses.
 * usage: trevo-io DEV SIZE_MB SECS [HOST PORT]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void phase_begin(const char *name)
{
	printf("TREVO-IO-PHASE %s begin\n", name);
	fflush(stdout);
}

static void phase_end(const char *name, uint64_t bytes, double secs)
{
	printf("TREVO-IO-PHASE %s end bytes=%llu secs=%.3f\n", name, (unsigned long long)bytes, secs);
	fflush(stdout);
	/* outside the timed spans: time for the host to read its counters
	 * before the next test starts or the guest powers off */
	usleep(300000);
}

/* MB/s of 1 MiB transfers over [0, mb) MiB, pass after pass, for at
 * least secs. */
static double seq(const char *dev, long mb, double secs, int write_it, char *buf)
{
	const char *name = write_it ? "write" : "read";
	int fd = open(dev, (write_it ? O_WRONLY : O_RDONLY) | O_DIRECT);
	uint64_t n = 0;
	double t0, t;

	if (fd < 0) {
		perror(dev);
		return -1;
	}
	phase_begin(name);
	t0 = now();
	do {
		off_t off = (off_t)(n % (uint64_t)mb) << 20;
		ssize_t r = write_it ? pwrite(fd, buf, 1 << 20, off) : pread(fd, buf, 1 << 20, off);
		if (r != 1 << 20) {
			perror(name);
			close(fd);
			return -1;
		}
		n++;
	} while (now() - t0 < secs);
	if (write_it && fdatasync(fd)) {
		perror("fdatasync");
		close(fd);
		return -1;
	}
	t = now() - t0;
	close(fd);
	phase_end(name, n << 20, t);
	return n / t;
}

static double rand_read(const char *dev, long mb, double secs, char *buf)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	uint64_t x = 0x9e3779b97f4a7c15ull, blocks = (uint64_t)mb << 8, n = 0;
	double t0, t;

	if (fd < 0)
		return -1;
	phase_begin("rand");
	t0 = now();
	do {
		for (int i = 0; i < 64; i++, n++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (pread(fd, buf, 4096, (off_t)((x % blocks) << 12)) != 4096) {
				perror("rand");
				close(fd);
				return -1;
			}
		}
		t = now() - t0;
	} while (t < secs);
	close(fd);
	phase_end("rand", n << 12, t);
	return n / t;
}

static double tcp_send(const char *host, int port, double secs, char *buf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	uint64_t sent = 0;
	double t0, t;

	if (s < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    connect(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		return -1;
	}
	phase_begin("tcp");
	t0 = now();
	do {
		for (int i = 0; i < 16; i++) {
			size_t off = 0;
			while (off < 65536) {
				ssize_t n = write(s, buf + off, 65536 - off);
				if (n <= 0) {
					perror("send");
					close(s);
					return -1;
				}
				off += (size_t)n;
			}
			sent += 65536;
		}
	} while (now() - t0 < secs);
	shutdown(s, SHUT_WR);
	while (read(s, buf, 4096) > 0)  /* the sink closes after counting */
		;
	t = now() - t0;
	close(s);
	phase_end("tcp", sent, t);
	return sent / 1048576.0 / t;
}

int main(int argc, char **argv)
{
	char *buf;
	long mb;
	double secs, w, r, iops, tcp = -1;

	if (argc < 4) {
		fprintf(stderr, "usage: trevo-io DEV SIZE_MB SECS [HOST PORT]\n");
		return 2;
	}
	mb = atol(argv[2]);
	secs = atof(argv[3]);
	if (mb < 1 || secs <= 0) {
		fprintf(stderr, "trevo-io: bad SIZE_MB or SECS\n");
		return 2;
	}
	if (posix_memalign((void **)&buf, 4096, 1 << 20))
		return 1;
	memset(buf, 0x5a, 1 << 20);
	w = seq(argv[1], mb, secs, 1, buf);
	r = seq(argv[1], mb, secs, 0, buf);
	iops = rand_read(argv[1], mb, secs, buf);
	if (argc >= 6)
		tcp = tcp_send(argv[4], atoi(argv[5]), secs, buf);
	printf("TREVO-IO seq_write_mbs=%.1f seq_read_mbs=%.1f rand_read_iops=%.0f tcp_mbs=%.1f\n",
	       w, r, iops, tcp);
	return 0;
}
