#include "common.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void term_restore(void) __attribute__((weak));

static void vmsg(const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* The terminal may be in raw mode: start on a fresh line. */
	fprintf(stderr, "trevo: %s\n", buf);
}

static void __attribute__((noreturn)) vdie(int status, const char *fmt, va_list ap)
{
	if (term_restore)
		term_restore();
	vmsg(fmt, ap);
	exit(status);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdie(EXIT_USAGE, fmt, ap);
}

void die_host(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdie(EXIT_HOST, fmt, ap);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void debug(const char *fmt, ...)
{
	static int enabled = -1;
	va_list ap;
	if (enabled < 0)
		enabled = getenv("TREVO_DEBUG") != NULL;
	if (!enabled)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mult = KiB; end++; break;
	case 'm': case 'M': mult = MiB; end++; break;
	case 'g': case 'G': mult = GiB; end++; break;
	case 't': case 'T': mult = 1024 * GiB; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end == 'i' && mult != 1)
		end++;
	if ((*end == 'B' || *end == 'b') && end[1] == '\0')
		end++;
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *p;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	p = malloc(st.st_size ? st.st_size : 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, p + done, st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			free(p);
			close(fd);
			return err;
		}
		done += n;
	}
	close(fd);
	*buf = p;
	*len = done;
	return 0;
}

uint64_t host_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

const char *guest_default_file(const char *arch, const char *name)
{
	static char paths[3][PATH_MAX];
	static int next;
	char self[PATH_MAX], *dir;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *out = paths[next++ % 3];

	if (n < 0)
		return NULL;
	self[n] = '\0';
	dir = dirname(self);
	snprintf(out, PATH_MAX, "%s/guest/%s/%s", dir, arch, name);
	if (access(out, R_OK) == 0)
		return out;
	snprintf(out, PATH_MAX, "%s/../guest/%s/%s", dir, arch, name);
	if (access(out, R_OK) == 0)
		return out;
	return NULL;
}
