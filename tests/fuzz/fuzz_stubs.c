/* What the virtio core and the device files link against but the
 * single-function fuzz targets never reach: the transport (devices are
 * never plugged here) and the model registry. */
#include "dev/virtio-transport.h"

static int stub_plug(struct virtio_dev *d, const struct dev_params *p)
{
	(void)d;
	(void)p;
	return -ENOSYS;
}

const struct virtio_transport_ops virtio_mmio_transport = {
	.name = "none",
	.plug = stub_plug,
};

void device_model_register(const struct device_ops *m)
{
	(void)m;
}

/* The device threads confine themselves; the fuzz targets run no sandbox. */
#include "host/seccomp.h"
void seccomp_enter(enum seccomp_thread kind)
{
	(void)kind;
}
