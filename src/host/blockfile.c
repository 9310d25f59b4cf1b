/* Disk back ends: a raw image file (or block device), or a network block
 * device through libnbd (nbd://HOST[:PORT]/EXPORT, nbd+unix:///EXPORT?
 * socket=PATH; the NBD URI specification), whose flush, trim and write
 * zeroes are passed through as NBD_CMD_FLUSH, TRIM and WRITE_ZEROES.
 * libnbd's synchronous calls run its state machine on the calling thread
 * (poll, send, recv on the one socket), which is the device's worker. */
#include "blockfile.h"

#include <fcntl.h>
#include <libnbd.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct blockfile {
	int fd;
	struct nbd_handle *nbd;      /* NULL: a file */
	uint64_t size;
	bool readonly;
	bool can_flush, can_trim, can_zero;
};

bool blockfile_is_nbd(const char *path)
{
	return !strncmp(path, "nbd://", 6) || !strncmp(path, "nbd+unix://", 11);
}

static int nbd_errno(void)
{
	int e = nbd_get_errno();

	debug("nbd: %s", nbd_get_error() ? nbd_get_error() : "?");
	return e ? -e : -EIO;
}

static struct blockfile *nbd_open(const char *uri, bool readonly, int *err)
{
	struct blockfile *b = calloc(1, sizeof(*b));
	int64_t size;

	if (!b || !(b->nbd = nbd_create())) {
		free(b);
		*err = -ENOMEM;
		return NULL;
	}
	b->fd = -1;
	/* Only the URIs of the NBD URI spec's two schemes (TLS ones are not
	 * built in here), nothing that would run a program. */
	if (nbd_set_uri_allow_transports(b->nbd, LIBNBD_ALLOW_TRANSPORT_TCP |
					 LIBNBD_ALLOW_TRANSPORT_UNIX) ||
	    nbd_set_uri_allow_tls(b->nbd, LIBNBD_TLS_DISABLE) ||
	    nbd_connect_uri(b->nbd, uri) || (size = nbd_get_size(b->nbd)) < 0) {
		*err = nbd_errno();
		nbd_close(b->nbd);
		free(b);
		return NULL;
	}
	b->size = (uint64_t)size;
	b->readonly = readonly || nbd_is_read_only(b->nbd) == 1;
	b->can_flush = nbd_can_flush(b->nbd) == 1;
	b->can_trim = nbd_can_trim(b->nbd) == 1;
	b->can_zero = nbd_can_zero(b->nbd) == 1;
	return b;
}

struct blockfile *blockfile_open(const char *path, bool readonly, int *err)
{
	struct blockfile *b;
	struct stat st;
	int fd;

	if (blockfile_is_nbd(path))
		return nbd_open(path, readonly, err);
	fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
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
		if (b->nbd) {
			if (b->can_flush && !b->readonly)
				nbd_flush(b->nbd, 0);
			nbd_shutdown(b->nbd, 0);
			nbd_close(b->nbd);
		} else {
			close(b->fd);
		}
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
	while (b->nbd && cnt) {
		/* One NBD command per buffer (the server bounds a request at
		 * 32 MiB, more than any one iovec a device builds). */
		int r = write ? nbd_pwrite(b->nbd, iov->iov_base, iov->iov_len, off, 0)
			      : nbd_pread(b->nbd, iov->iov_base, iov->iov_len, off, 0);
		if (r < 0) {
			ret = nbd_errno();
			break;
		}
		off += iov->iov_len;
		iov++;
		cnt--;
	}
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
	if (b->nbd)
		return !b->can_flush || nbd_flush(b->nbd, 0) == 0 ? 0 : nbd_errno();
	return fdatasync(b->fd) < 0 ? -errno : 0;
}

static int write_zero_bytes(struct blockfile *b, uint64_t off, uint64_t len)
{
	static const uint8_t zero[64 * 1024];

	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		ssize_t r;
		if (b->nbd) {
			if (nbd_pwrite(b->nbd, zero, n, off, 0) < 0)
				return nbd_errno();
			off += n;
			len -= n;
			continue;
		}
		r = pwrite(b->fd, zero, n, (off_t)off);
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
	if (b->nbd) {
		/* NBD_CMD_TRIM is advisory; zeroes must be left, as virtio-blk
		 * and this function promise, so the range is zeroed as well
		 * where the server cannot punch holes that read as zero. */
		if (b->can_zero && nbd_zero(b->nbd, len, off, 0) == 0)
			return 0;
		if (b->can_trim)
			nbd_trim(b->nbd, len, off, 0);
		return write_zero_bytes(b, off, len);
	}
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	return write_zero_bytes(b, off, len);
}

int blockfile_write_zeroes(struct blockfile *b, uint64_t off, uint64_t len)
{
	if (b->readonly)
		return -EROFS;
	if (b->nbd)
		return b->can_zero && nbd_zero(b->nbd, len, off, 0) == 0 ? 0 :
		       write_zero_bytes(b, off, len);
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
