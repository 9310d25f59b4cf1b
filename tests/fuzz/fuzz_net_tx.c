/* libFuzzer target for virtio-net's transmit path: the virtio_net_hdr and
 * frame a guest hands over, through checksum offload and TCPv4
 * segmentation (src/dev/virtio-net.c, included whole to reach its static
 * functions). Every frame that reaches the back end must lie inside the
 * device's buffers; ASan checks the rest. */
#include "../../src/dev/virtio-net.c"

/* The back ends virtio-net.c links against but this target never reaches
 * (device creation); fuzz_stubs.c has the rest. */
struct net_backend *tap_open(const char *name) { (void)name; return NULL; }
struct net_backend *slirp_open(const char *o) { (void)o; return NULL; }

static size_t sent_frames;

static int fake_send(struct net_backend *b, const struct iovec *iov, int cnt)
{
	volatile uint8_t sink = 0;

	(void)b;
	for (int i = 0; i < cnt; i++)
		if (iov[i].iov_len)  /* touch both ends: ASan checks them */
			sink ^= ((uint8_t *)iov[i].iov_base)[0] ^
				((uint8_t *)iov[i].iov_base)[iov[i].iov_len - 1];
	sent_frames++;
	return 0;
}

static const struct net_backend_ops fake_ops = { .send = fake_send };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vnet *n;
	static struct net_backend be = { .ops = &fake_ops };
	static struct virtq_req req;
	uint8_t *copy;

	if (!n) {
		n = calloc(1, sizeof(*n));
		n->be = &be;
	}
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	/* The guest's buffer: split in two readable segments at a point the
	 * input chooses, as a driver may. */
	req.nr_out = 0;
	req.nr_in = 0;
	req.out_len = size;
	req.in_len = 0;
	if (size) {
		size_t cut = data[0] % (size + 1);
		if (cut)
			req.seg[req.nr_out++] = (struct virtq_seg){ 0x1000, (uint32_t)cut, copy };
		if (size - cut)
			req.seg[req.nr_out++] =
				(struct virtq_seg){ 0x9000, (uint32_t)(size - cut), copy + cut };
	}
	{
		struct net_counts c = { 0 };
		net_send_request(n, &req, &c);
		/* Each request is sent (as one or more frames) or dropped. */
		if (c.dropped > 1 || (c.dropped && c.frames))
			abort();
	}
	free(copy);
	return 0;
}
