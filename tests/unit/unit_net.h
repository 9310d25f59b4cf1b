/* Helpers of the network card tests (test_e1000, test_virtio_devs,
 * test_netoffload). */
#ifndef TREVO_TESTS_UNIT_NET_H
#define TREVO_TESTS_UNIT_NET_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

/* Big-endian fields of the frames the tests build and check */
static inline unsigned unit_be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static inline uint32_t unit_be32(const uint8_t *p) { return (uint32_t)unit_be16(p) << 16 | unit_be16(p + 2); }
static inline void unit_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The Internet checksum's folded sum (RFC 1071), written here on purpose:
 * the tests must not trust the code under test (src/dev/netoffload.c).
 * 0xffff over a region holding its own correct checksum. */
static inline uint32_t unit_sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* Read from a host socket until want bytes came, it closed, or nothing
 * arrived for ms milliseconds; returns how many came. */
static inline size_t unit_read_all(int fd, uint8_t *buf, size_t want, int ms)
{
	size_t n = 0;

	while (fd >= 0 && n < want) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;
		if (poll(&pf, 1, ms) <= 0 || (r = read(fd, buf + n, want - n)) <= 0)
			break;
		n += (size_t)r;
	}
	return n;
}

#endif
