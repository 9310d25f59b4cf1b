/* trevo-io: the guest side of bench/io.sh. Runs inside the guest (static
 * RISC-V binary on a small ext2 "tools" disk) and measures, with the guest's
 * CLOCK_MONOTONIC:
 *
 *   seq-write MB/s   1 MiB O_DIRECT writes over the first SIZE MiB of DEV
 *   seq-read  MB/s   1 MiB O_DIRECT reads of the same range
 *   rand-read IOPS   4 KiB O_DIRECT reads at random aligned offsets, 2 s
 *   tcp       MB/s   SIZE MiB sent to HOST:PORT (a sink on the host)
 *
 * and prints one line TREVO-IO key=value ... that the host script parses.
 * usage: trevo-io DEV SIZE_MB [HOST PORT]
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

static double seq(const char *dev, long mb, int write_it, char *buf)
{
	int fd = open(dev, (write_it ? O_WRONLY : O_RDONLY) | O_DIRECT);
	double t0, t;

	if (fd < 0) {
		perror(dev);
		return -1;
	}
	t0 = now();
	for (long i = 0; i < mb; i++) {
		ssize_t n = write_it ? pwrite(fd, buf, 1 << 20, (off_t)i << 20)
				     : pread(fd, buf, 1 << 20, (off_t)i << 20);
		if (n != 1 << 20) {
			perror(write_it ? "write" : "read");
			close(fd);
			return -1;
		}
	}
	if (write_it)
		fdatasync(fd);
	t = now() - t0;
	close(fd);
	return mb / t;
}

static double rand_read(const char *dev, long mb, char *buf)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	uint64_t x = 0x9e3779b97f4a7c15ull, blocks = (uint64_t)mb << 8, n = 0;
	double t0, t;

	if (fd < 0)
		return -1;
	t0 = now();
	do {
		for (int i = 0; i < 64; i++, n++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (pread(fd, buf, 4096, (off_t)((x % blocks) << 12)) != 4096) {
				close(fd);
				return -1;
			}
		}
		t = now() - t0;
	} while (t < 2.0);
	close(fd);
	return n / t;
}

static double tcp_send(const char *host, int port, long mb, char *buf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	double t0, t;

	if (s < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
	    connect(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		return -1;
	}
	t0 = now();
	for (long i = 0; i < mb * 16; i++) {
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
	}
	shutdown(s, SHUT_WR);
	while (read(s, buf, 4096) > 0)  /* the sink closes after counting */
		;
	t = now() - t0;
	close(s);
	return mb / t;
}

int main(int argc, char **argv)
{
	char *buf;
	long mb;
	double w, r, iops, tcp = -1;

	if (argc < 3) {
		fprintf(stderr, "usage: trevo-io DEV SIZE_MB [HOST PORT]\n");
		return 2;
	}
	mb = atol(argv[2]);
	if (posix_memalign((void **)&buf, 4096, 1 << 20))
		return 1;
	memset(buf, 0x5a, 1 << 20);
	w = seq(argv[1], mb, 1, buf);
	r = seq(argv[1], mb, 0, buf);
	iops = rand_read(argv[1], mb, buf);
	if (argc >= 5)
		tcp = tcp_send(argv[3], atoi(argv[4]), mb, buf);
	printf("TREVO-IO seq_write_mbs=%.1f seq_read_mbs=%.1f rand_read_iops=%.0f tcp_mbs=%.1f\n",
	       w, r, iops, tcp);
	return 0;
}
