#include "vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

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

int vm_mmio_read(struct vm *vm, uint64_t pa, unsigned size, uint64_t *val)
{
	const struct mmio_region *r = bus_find(&vm->mmio, pa, size);

	if (!r)
		return -1;
	*val = r->ops->read ? r->ops->read(r->opaque, pa - r->base, size) : 0;
	if (size < 8)
		*val &= (1ULL << (8 * size)) - 1;
	return 0;
}

int vm_mmio_write(struct vm *vm, uint64_t pa, unsigned size, uint64_t val)
{
	const struct mmio_region *r = bus_find(&vm->mmio, pa, size);

	if (!r)
		return -1;
	if (size < 8)
		val &= (1ULL << (8 * size)) - 1;
	if (r->ops->write)
		r->ops->write(r->opaque, pa - r->base, val, size);
	return 0;
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
	if (!vm->irq_alloc_first)
		vm->irq_alloc_first = vm->irq_alloc_next;
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
static const struct device_ops *models[MAX_MODELS];
static int nr_models;

void device_model_register(const struct device_ops *m)
{
	if (nr_models < MAX_MODELS)
		models[nr_models++] = m;
}

const struct device_ops *device_model_find(const char *name)
{
	for (int i = 0; i < nr_models; i++)
		if (!strcmp(models[i]->name, name))
			return models[i];
	return NULL;
}

#define MAX_ENGINES 8
static const struct engine_ops *engines[MAX_ENGINES];
static int nr_engines;
static const struct board_ops *boards[MAX_ENGINES];
static int nr_boards;

void engine_register(const struct engine_ops *e)
{
	if (nr_engines < MAX_ENGINES)
		engines[nr_engines++] = e;
}

const struct engine_ops *engine_find(const char *name)
{
	for (int i = 0; i < nr_engines; i++)
		if (!strcmp(engines[i]->name, name))
			return engines[i];
	return NULL;
}

void board_register(const struct board_ops *b)
{
	if (nr_boards < MAX_ENGINES)
		boards[nr_boards++] = b;
}

const struct board_ops *board_find(int arch)
{
	for (int i = 0; i < nr_boards; i++)
		if (boards[i]->arch == arch)
			return boards[i];
	return NULL;
}

int vm_create_device(struct vm *vm, const char *model, const struct dev_params *p)
{
	const struct device_ops *m = device_model_find(model);
	struct dev_params params;
	struct device *d;
	int n = 0, err;

	if (!m) {
		warn("no device model named %s in this build", model);
		return -ENOENT;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (!vm->devices_tail)
		vm->devices_tail = &vm->devices;
	for (struct device *o = vm->devices; o; o = o->next)
		n += o->ops == m;
	d->ops = m;
	snprintf(d->id, sizeof(d->id), "%s%d", m->name, n);
	params = *p;
	params.index = n;
	if ((err = m->create(vm, &params, &d->state))) {
		free(d);
		return err;
	}
	*vm->devices_tail = d;
	vm->devices_tail = &d->next;
	return 0;
}

struct device *vm_find_device(struct vm *vm, const char *id)
{
	for (struct device *d = vm->devices; d; d = d->next)
		if (!strcmp(d->id, id))
			return d;
	return NULL;
}

int vm_add_doorbell(struct vm *vm, const struct vm_doorbell *db)
{
	if (vm->nr_doorbells >= VM_MAX_DOORBELLS)
		return -ENOSPC;
	vm->doorbell[vm->nr_doorbells++] = *db;
	return 0;
}

/* Takes "key=VALUE" out of a comma-separated option string: *value gets a
 * copy of VALUE (NULL when absent), the result is the string without it.
 * Both are the caller's to free; NULL on out-of-memory. */
static char *take_option(const char *arg, const char *key, char **value)
{
	size_t klen = strlen(key);
	char *out = calloc(1, strlen(arg) + 1), *copy = strdup(arg), *tok, *save;

	*value = NULL;
	if (!out || !copy) {
		free(out);
		free(copy);
		return NULL;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, key, klen) && tok[klen] == '=') {
			free(*value);
			*value = strdup(tok + klen + 1);
			continue;
		}
		if (*out)
			strcat(out, ",");
		strcat(out, tok);
	}
	free(copy);
	return out;
}

/* One --disk or --net: the model the user chose (key=..., one of the
 * names), or the default of the machine. */
static int create_user_device(struct vm *vm, const char *arg, const char *what, const char *key,
			      const char *const names[2], const char *const models[2], int dflt)
{
	char *value, *rest = take_option(arg ? arg : "", key, &value);
	struct dev_params p = { .irq = -1 };
	int which = dflt, err;

	if (!rest)
		return -ENOMEM;
	if (value) {
		for (which = 0; which < 2 && strcmp(value, names[which]); which++)
			;
		if (which == 2) {
			warn("bad %s %s: %s=%s (%s or %s)", what, arg, key, value, names[0], names[1]);
			free(value);
			free(rest);
			return -EINVAL;
		}
	}
	p.arg = rest;
	err = vm_create_device(vm, models[which], &p);
	free(value);
	free(rest);
	return err;
}

/* The user's disks and network cards (--disk, --net) on every board, and
 * with the virtio device family (--devices virtio, the para preset) the
 * guest console on virtio-console (hvc0) and a virtio-rng. With the real
 * family on a board with a PCI bus (full mode), disks are AHCI and network
 * cards e1000. --disk F,if=virtio|ahci and --net ...,model=virtio|e1000
 * choose per device. */
int vm_create_user_devices(struct vm *vm)
{
	static const char *const disk_if[2] = { "virtio", "ahci" };
	static const char *const disk_model[2] = { "virtio-blk", "ahci" };
	static const char *const net_if[2] = { "virtio", "e1000" };
	static const char *const net_model[2] = { "virtio-net", "e1000" };
	const struct vm_config *c = vm->cfg;
	bool real = c->devices == DEVICES_REAL && vm->pci;
	int err;

	if (c->devices == DEVICES_VIRTIO) {
		struct dev_params p = { .irq = -1 };
		if ((err = vm_create_device(vm, "virtio-console", &p)) ||
		    (err = vm_create_device(vm, "virtio-rng", &p)))
			return err;
	}
	for (int i = 0; i < c->nr_disks; i++)
		if ((err = create_user_device(vm, c->disks[i], "--disk", "if", disk_if, disk_model,
					      real ? 1 : 0)))
			return err;
	for (int i = 0; i < c->nr_nets; i++)
		if ((err = create_user_device(vm, c->nets[i], "--net", "model", net_if, net_model,
					      real ? 1 : 0)))
			return err;
	return 0;
}

int vm_load_blob(struct vm *vm, const char *what, const char *path, uint64_t gpa,
		 const void *data, uint64_t len)
{
	struct vm_blob *b;

	if (!gmem_ptr(&vm->mem, gpa, len ? len : 1)) {
		warn("%s %s: does not fit in guest RAM (%llu bytes at %#llx; --memory is %llu MiB)",
		     what, path ? path : "", (unsigned long long)len, (unsigned long long)gpa,
		     (unsigned long long)(vm->cfg->memory >> 20));
		return -E2BIG;
	}
	b = calloc(1, sizeof(*b));
	if (!b || !(b->data = malloc(len ? len : 1))) {
		free(b);
		return -ENOMEM;
	}
	memcpy(b->data, data, len);
	b->gpa = gpa;
	b->len = len;
	b->next = vm->blobs;
	vm->blobs = b;
	/* A restore replaces all of RAM: the image is only kept for a reset. */
	if (!vm->restore)
		gmem_write(&vm->mem, gpa, data, len);
	return 0;
}

/* ---- requests from the guest and the devices ------------------------ */

void vm_kick(struct vm *vm)
{
	if (vm->engine && vm->engine->kick)
		vm->engine->kick(vm);
	else if (vm->kick)
		vm->kick(vm);
}

static void wake_controller(struct vm *vm)
{
	pthread_mutex_lock(&vm->ctl_lock);
	pthread_cond_broadcast(&vm->ctl_cond);
	pthread_mutex_unlock(&vm->ctl_lock);
}

void vm_request_exit(struct vm *vm, enum vm_exit why, int code)
{
	int expected = VM_RUNNING;

	if (atomic_compare_exchange_strong(&vm->exit_reason, &expected, (int)why))
		atomic_store(&vm->exit_code, code);
	vm_kick(vm);
	if (vm->engine)
		wake_controller(vm);
}
