/* Helpers of the network card tests (test_e1000, test_virtio_devs). */
#ifndef TREVO_TESTS_UNIT_NET_H
#define TREVO_TESTS_UNIT_NET_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

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
