#include "blockfile.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct blockfile {
	int fd;
	uint64_t size;
	bool readonly;
};

struct blockfile *blockfile_open(const char *path, bool readonly, int *err)
{
	struct blockfile *b;
	struct stat st;
	int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);

	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		*err = fstat(fd, &st) < 0 ? -errno : -EINVAL;
		close(fd);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	b->fd = fd;
	b->readonly = readonly;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);
		b->size = end > 0 ? (uint64_t)end : 0;
	} else {
		b->size = (uint64_t)st.st_size;
	}
	return b;
}

void blockfile_close(struct blockfile *b)
{
	if (b) {
		close(b->fd);
		free(b);
	}
}

uint64_t blockfile_size(const struct blockfile *b)
{
	return b->size;
}

bool blockfile_readonly(const struct blockfile *b)
{
	return b->readonly;
}

/* Advance an iovec array past n bytes (after a short transfer). */
static void iov_skip(struct iovec **iov, int *cnt, size_t n)
{
	while (*cnt && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt && n) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

static int transfer(struct blockfile *b, const struct iovec *iov0, int cnt, uint64_t off,
		    bool write)
{
	struct iovec local[64], *iov = local;
	struct iovec *heap = NULL;
	int ret = 0;

	if (cnt > (int)ARRAY_SIZE(local)) {
		heap = malloc(cnt * sizeof(*heap));
		if (!heap)
			return -ENOMEM;
		iov = heap;
	}
	memcpy(iov, iov0, cnt * sizeof(*iov));
	while (cnt) {
		int n = cnt > IOV_MAX ? IOV_MAX : cnt;
		ssize_t r = write ? pwritev(b->fd, iov, n, (off_t)off)
				  : preadv(b->fd, iov, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (r == 0) {
			ret = -EIO;  /* end of file inside the request */
			break;
		}
		off += (uint64_t)r;
		iov_skip(&iov, &cnt, (size_t)r);
	}
	free(heap);
	return ret;
}

int blockfile_preadv(struct blockfile *b, const struct iovec *iov, int cnt, uint64_t off)
{
	return transfer(b, iov, cnt, off, false);
}

int blockfile_pwritev(struct blockfile *b, const struct iovec *iov, int cnt, uint64_t off)
{
	if (b->readonly)
		return -EROFS;
	return transfer(b, iov, cnt, off, true);
}

int blockfile_flush(struct blockfile *b)
{
	if (b->readonly)
		return 0;
	return fdatasync(b->fd) < 0 ? -errno : 0;
}

static int write_zero_bytes(struct blockfile *b, uint64_t off, uint64_t len)
{
	static const uint8_t zero[64 * 1024];

	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		ssize_t r = pwrite(b->fd, zero, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

int blockfile_discard(struct blockfile *b, uint64_t off, uint64_t len)
{
	if (b->readonly)
		return -EROFS;
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	return write_zero_bytes(b, off, len);
}

int blockfile_write_zeroes(struct blockfile *b, uint64_t off, uint64_t len)
{
	if (b->readonly)
		return -EROFS;
	if (fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	return write_zero_bytes(b, off, len);
}

int blockfile_parse_spec(const char *who, const char *spec, char **path, bool *readonly)
{
	char *s, *opt, *save;

	*readonly = false;
	if (!spec || !*spec || *spec == ',') {
		warn("%s: --disk needs a file name (FILE[,readonly])", who);
		return -EINVAL;
	}
	s = strdup(spec);
	if (!s)
		return -ENOMEM;
	*path = strtok_r(s, ",", &save);
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (!strcmp(opt, "readonly") || !strcmp(opt, "ro")) {
			*readonly = true;
		} else {
			warn("%s: unknown option '%s' in --disk %s (FILE[,readonly])", who, opt, spec);
			free(s);
			return -EINVAL;
		}
	}
	return 0;
}
