/* Host-side decompression of a bzImage's payload (the compressed vmlinux
 * ELF that the kernel's own decompressor would unpack in the guest). Doing
 * it here is much faster than in the guest, and decisive where KVM is slow.
 * The payload ends with the uncompressed size as 32-bit little endian (the
 * kernel's "size_append", scripts/Makefile.lib); xz, gzip and zstd payloads
 * are unpacked, others are left to the guest's decompressor. */
#include "x86.h"

#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define UNPACK_MAX (512 * MiB)

static int unpack_xz(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;

	/* The kernel's xz streams use CRC32 only, and a 64 MiB dictionary at
	 * most; the memory limit just bounds a corrupt header. */
	if (lzma_stream_decoder(&s, 256 * MiB, 0) != LZMA_OK)
		return -ENOMEM;
	s.next_in = in;
	s.avail_in = len;
	s.next_out = out;
	s.avail_out = out_len;
	r = lzma_code(&s, LZMA_FINISH);
	lzma_end(&s);
	if ((r != LZMA_STREAM_END && r != LZMA_OK) || s.total_out != out_len)
		return -EINVAL;
	return 0;
}

static int unpack_gzip(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	z_stream s;
	int r;

	memset(&s, 0, sizeof(s));
	if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	s.next_in = (uint8_t *)in;
	s.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	s.next_out = out;
	s.avail_out = (uInt)out_len;
	r = inflate(&s, Z_FINISH);
	inflateEnd(&s);
	if (r != Z_STREAM_END || s.total_out != out_len)
		return -EINVAL;
	return 0;
}

static int unpack_zstd(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	size_t n = ZSTD_decompress(out, out_len, in, len);

	if (ZSTD_isError(n) || n != out_len)
		return -EINVAL;
	return 0;
}

int x86_unpack_payload(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	int (*unpack)(const uint8_t *, size_t, uint8_t *, size_t);
	size_t size;
	uint8_t *buf;
	int err;

	if (len < 16)
		return -EINVAL;
	if (!memcmp(in, "\xfd" "7zXZ\0", 6))
		unpack = unpack_xz;
	else if (in[0] == 0x1f && in[1] == 0x8b)
		unpack = unpack_gzip;
	else if (!memcmp(in, "\x28\xb5\x2f\xfd", 4))
		unpack = unpack_zstd;
	else
		return -EOPNOTSUPP;
	size = in[len - 4] | in[len - 3] << 8 | in[len - 2] << 16 | (size_t)in[len - 1] << 24;
	if (size < 64 || size > UNPACK_MAX)
		return -EINVAL;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	/* The size trailer is not part of the compressed stream. */
	err = unpack(in, len - 4, buf, size);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = size;
	return 0;
}
