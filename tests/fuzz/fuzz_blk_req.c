/* libFuzzer target for virtio-blk's request parser (src/dev/virtio-blk.c,
 * included whole to reach blk_handle): header, data, status and the
 * discard/write-zeroes range lists a guest hands over, against a 32 KiB
 * image in a memfd, read-write or read-only as the input chooses. Nothing
 * may reach outside the request's buffers or the image. */
#include "../../src/dev/virtio-blk.c"

#include <sys/mman.h>


#define IMAGE_SECTORS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vblk *open_disk(bool ro)
{
	struct vblk *b = calloc(1, sizeof(*b));
	static struct virtio_dev vdev;
	static struct guest_mem mem;
	char path[64];
	int err, fd = memfd_create("trevo-fuzz-disk", 0);

	if (!b || fd < 0 || ftruncate(fd, IMAGE_SECTORS * SECTOR))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	b->file = blockfile_open(path, ro, &err);
	if (!b->file)
		abort();
	b->sectors = IMAGE_SECTORS;
	memcpy(b->id, "fuzz", 4);
	vdev.mem = &mem;
	b->vdev = &vdev;
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vblk *disk[2];
	static struct virtq_req req;
	uint8_t *out, *in;
	size_t out_len, in_len, cut;

	if (!disk[0]) {
		disk[0] = open_disk(false);
		disk[1] = open_disk(true);
	}
	if (size < 4)
		return 0;
	/* data[0]: disk; data[1..2]: writable length; data[3]: where the
	 * readable part is split; the rest: the readable bytes. */
	in_len = (size_t)(data[1] | data[2] << 8) % 40000;
	cut = data[3];
	out_len = size - 4;
	out = malloc(out_len + 1);
	in = malloc(in_len + 1);
	memcpy(out, data + 4, out_len);
	memset(in, 0xee, in_len);
	req.nr_out = req.nr_in = 0;
	req.out_len = out_len;
	req.in_len = in_len;
	if (cut > out_len)
		cut = out_len;
	if (cut)
		req.seg[req.nr_out++] = (struct virtq_seg){ 0x1000, (uint32_t)cut, out };
	if (out_len - cut)
		req.seg[req.nr_out++] = (struct virtq_seg){ 0x2000, (uint32_t)(out_len - cut), out + cut };
	if (in_len > 1) {
		req.seg[req.nr_out + req.nr_in++] = (struct virtq_seg){ 0x10000, (uint32_t)(in_len - 1), in };
		req.seg[req.nr_out + req.nr_in++] = (struct virtq_seg){ 0x20000, 1, in + in_len - 1 };
	} else if (in_len == 1) {
		req.seg[req.nr_out + req.nr_in++] = (struct virtq_seg){ 0x20000, 1, in };
	}
	{
		struct blk_counts c = { 0 };
		(void)blk_handle(disk[data[0] & 1], &req, &c);
	}
	free(out);
	free(in);
	return 0;
}
