#include "vm.h"

#include <stdio.h>
#include <string.h>

int bus_add(struct bus *b, uint64_t base, uint64_t size, const struct mmio_ops *ops,
	    void *opaque, const char *name)
{
	if (b->nr >= BUS_MAX_REGIONS || size == 0 || base > UINT64_MAX - (size - 1))
		return -EINVAL;
	for (int i = 0; i < b->nr; i++) {
		const struct mmio_region *r = &b->region[i];
		if (base < r->base + r->size && r->base < base + size) {
			warn("%s: MMIO window %#llx+%#llx overlaps %s", name,
			     (unsigned long long)base, (unsigned long long)size, r->name);
			return -EBUSY;
		}
	}
	b->region[b->nr++] = (struct mmio_region){ base, size, ops, opaque, name };
	return 0;
}

const struct mmio_region *bus_find(const struct bus *b, uint64_t addr, unsigned len)
{
	for (int i = 0; i < b->nr; i++) {
		const struct mmio_region *r = &b->region[i];
		if (addr >= r->base && addr - r->base < r->size && len <= r->size - (addr - r->base))
			return r;
	}
	return NULL;
}

int vm_add_mmio(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		void *opaque, const char *name)
{
	return bus_add(&vm->mmio, base, size, ops, opaque, name);
}

int vm_add_pio(struct vm *vm, uint16_t port, uint16_t size, const struct mmio_ops *ops,
	       void *opaque, const char *name)
{
	return bus_add(&vm->pio, port, size, ops, opaque, name);
}

int vm_alloc_mmio(struct vm *vm, uint64_t size, uint64_t *base)
{
	uint64_t b = (vm->mmio_alloc_next + size - 1) & ~(size - 1);

	if (size == 0 || b < vm->mmio_alloc_next || b + size > vm->mmio_alloc_end)
		return -ENOSPC;
	vm->mmio_alloc_next = b + size;
	*base = b;
	return 0;
}

int vm_alloc_irq(struct vm *vm)
{
	if (vm->irq_alloc_next >= vm->irq_alloc_end)
		return -ENOSPC;
	return vm->irq_alloc_next++;
}

struct irq_line vm_irq_line(struct vm *vm, unsigned irq)
{
	return (struct irq_line){ vm->set_irq, vm->irq_ctx, irq };
}

int vm_describe(struct vm *vm, const struct dev_desc *d)
{
	if (vm->nr_desc >= VM_MAX_DESC)
		return -ENOSPC;
	vm->desc[vm->nr_desc++] = *d;
	return 0;
}

#define MAX_MODELS 64
static const struct device_model *models[MAX_MODELS];
static int nr_models;

void device_model_register(const struct device_model *m)
{
	if (nr_models < MAX_MODELS)
		models[nr_models++] = m;
}

const struct device_model *device_model_find(const char *name)
{
	for (int i = 0; i < nr_models; i++)
		if (!strcmp(models[i]->name, name))
			return models[i];
	return NULL;
}

int vm_create_device(struct vm *vm, const char *model, const struct dev_params *p)
{
	const struct device_model *m = device_model_find(model);

	if (!m) {
		warn("no device model named %s in this build", model);
		return -ENOENT;
	}
	return m->create(vm, p);
}

/* Each user device is one virtio-mmio slot; the device model allocates its
 * window and interrupt itself (base 0, irq -1). */
int vm_create_user_devices(struct vm *vm)
{
	const struct vm_config *c = vm->cfg;
	int err;

	for (int i = 0; i < c->nr_disks; i++) {
		struct dev_params p = { .irq = -1, .arg = c->disks[i] };
		if ((err = vm_create_device(vm, "virtio-blk", &p)))
			return err;
	}
	for (int i = 0; i < c->nr_nets; i++) {
		struct dev_params p = { .irq = -1, .arg = c->nets[i] };
		if ((err = vm_create_device(vm, "virtio-net", &p)))
			return err;
	}
	return 0;
}

void vm_request_exit(struct vm *vm, enum vm_exit why, int code)
{
	int expected = VM_RUNNING;

	if (atomic_compare_exchange_strong(&vm->exit_reason, &expected, (int)why))
		atomic_store(&vm->exit_code, code);
	if (vm->kick)
		vm->kick(vm);
}
