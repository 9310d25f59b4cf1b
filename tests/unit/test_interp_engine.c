/* The engine contract (src/engine.h) for the "interp" engine, driven
 * directly without the controller: a state set is read back identical, a
 * guest counting in RAM stops advancing while paused and goes on after
 * resume, reset puts the harts back to power-on, bad states are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "stats.h"
#include "vm.h"

#define CHECK_PREFIX "interp-engine-"
#include "check.h"

#define RAM_BASE 0x80000000ULL
#define COUNTER_OFF 0x100

/* auipc t0,0; li t1,0; 1: addi t1,t1,1; sd t1,0x100(t0); j 1b */
static const uint32_t counting_loop[] = { 0x00000297, 0x00000313, 0x00130313, 0x1062b023,
					  0xff9ff06f };

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static uint64_t counter(struct vm *vm)
{
	uint64_t v = 0;
	gmem_read64(&vm->mem, RAM_BASE + COUNTER_OFF, &v);
	return v;
}

static uint64_t seen_instructions;
static void put(void *ctx, const char *name, uint64_t value)
{
	(void)ctx;
	if (!strcmp(name, "instructions"))
		seen_instructions = value;
}

int main(void)
{
	struct vm_config cfg = { .engine = "interp", .cpus = 2, .memory = 16 * MiB };
	static struct vm vm;
	const struct engine_ops *e = engine_find("interp");
	struct vcpu_state st, back;
	uint64_t c1, c2, c3;

	vm.cfg = &cfg;
	CHECK("registered", e && e->arch == VCPU_ARCH_RISCV64);
	if (!e)
		return 1;
	vm.engine = e;
	if (gmem_add_region(&vm.mem, RAM_BASE, cfg.memory) || e->create(&vm)) {
		printf("FAIL interp-engine-create\n");
		return 1;
	}
	gmem_write(&vm.mem, RAM_BASE, counting_loop, sizeof(counting_loop));

	/* set, then get: the very same state comes back */
	CHECK("get", e->get_vcpu(&vm, 0, &st) == 0 && st.arch == VCPU_ARCH_RISCV64 &&
			     st.version == VCPU_STATE_VERSION && st.rv.priv == 3);
	st.rv.pc = RAM_BASE;
	for (int i = 1; i < 32; i++)
		st.rv.x[i] = 0x1111111111111111ULL * (uint64_t)(i % 15);
	st.rv.f[3] = 0xffffffff3f800000ULL;
	st.rv.frm = 2;
	st.rv.mscratch = 0xdeadbeef;
	st.rv.timecmp = 12345;
	CHECK("set", e->set_vcpu(&vm, 0, &st) == 0);
	CHECK("set-get-identical", e->get_vcpu(&vm, 0, &back) == 0 && !memcmp(&st, &back, sizeof(st)));

	/* hostile states are refused */
	back.rv.priv = 2;
	CHECK("refuse-priv", e->set_vcpu(&vm, 0, &back) == -EINVAL);
	back.rv.priv = 3;
	back.arch = VCPU_ARCH_X86_64;
	CHECK("refuse-arch", e->set_vcpu(&vm, 0, &back) == -EINVAL);
	CHECK("refuse-cpu", e->set_vcpu(&vm, 7, &st) == -EINVAL);

	/* hart 1 stays stopped; hart 0 counts */
	e->get_vcpu(&vm, 1, &back);
	back.rv.run_state = 2;
	e->set_vcpu(&vm, 1, &back);
	CHECK("start", e->start(&vm) == 0);
	sleep_ms(100);
	c1 = counter(&vm);
	CHECK("counts", c1 > 1000);

	atomic_store(&vm.pause_req, 1);
	e->pause(&vm);
	c1 = counter(&vm);
	sleep_ms(200);
	c2 = counter(&vm);
	CHECK("paused-still", c1 == c2);
	CHECK("paused-state", e->get_vcpu(&vm, 0, &back) == 0 && back.rv.pc >= RAM_BASE &&
				      back.rv.pc < RAM_BASE + sizeof(counting_loop) &&
				      back.rv.x[6] == c2);
	e->vcpu_stats(&vm, 0, &(struct stats_sink){ put, NULL });
	CHECK("stats-instructions", seen_instructions > 3 * c2);
	CHECK("thread-id", e->vcpu_thread_id(&vm, 0) > 0);

	atomic_store(&vm.pause_req, 0);
	e->resume(&vm);
	sleep_ms(100);
	c3 = counter(&vm);
	CHECK("resumed-counts", c3 > c2);

	/* Live migration's dirty log: the counting store marks its page once
	 * armed, again after the bitmap was fetched (re-armed), DMA marks its
	 * pages, untouched pages stay clean. */
	{
		uint64_t words = (cfg.memory / 4096 + 63) / 64, *map = calloc(words, 8);
		uint64_t n1, n2, n3;
		atomic_store(&vm.pause_req, 1);
		e->pause(&vm);
		CHECK("dirty-start", gmem_dirty_start(&vm.mem) == 0 && e->dirty_log(&vm, true) == 0);
		atomic_store(&vm.pause_req, 0);
		e->resume(&vm);
		sleep_ms(50);
		atomic_store(&vm.pause_req, 1);
		e->pause(&vm);
		e->dirty_sync(&vm);
		n1 = gmem_dirty_fetch(&vm.mem, 0, map);
		CHECK("dirty-store-marked", map[0] & 1);
		CHECK("dirty-untouched-clean", n1 == 1 && !(map[0] & (1ULL << 5)));
		memset(map, 0, words * 8);
		e->dirty_sync(&vm);
		n2 = gmem_dirty_fetch(&vm.mem, 0, map);
		CHECK("dirty-fetch-clears", n2 == 0);
		atomic_store(&vm.pause_req, 0);
		e->resume(&vm);
		sleep_ms(50);
		gmem_write32(&vm.mem, RAM_BASE + 7 * 4096 + 12, 0x1234);
		atomic_store(&vm.pause_req, 1);
		e->pause(&vm);
		e->dirty_sync(&vm);
		n3 = gmem_dirty_fetch(&vm.mem, 0, map);
		CHECK("dirty-rearmed", (map[0] & 1) && counter(&vm) > c3);
		CHECK("dirty-dma-marked", n3 == 2 && (map[0] & (1ULL << 7)));
		CHECK("dirty-stop", e->dirty_log(&vm, false) == 0);
		gmem_dirty_stop(&vm.mem);
		memset(map, 0, words * 8);
		gmem_write32(&vm.mem, RAM_BASE + 9 * 4096, 1);
		CHECK("dirty-off-no-marks", gmem_dirty_fetch(&vm.mem, 0, map) == 0);
		free(map);
		atomic_store(&vm.pause_req, 0);
		e->resume(&vm);
	}

	/* reset: power-on state (M-mode, pc 0, registers zero) */
	atomic_store(&vm.pause_req, 1);
	e->pause(&vm);
	e->reset(&vm);
	CHECK("reset", e->get_vcpu(&vm, 0, &back) == 0 && back.rv.pc == 0 && back.rv.priv == 3 &&
			       back.rv.x[6] == 0 && back.rv.mscratch == 0 && back.rv.instret == 0);
	/* code invalidation is queued for the hart thread, even while parked */
	e->invalidate_code(&vm, RAM_BASE, 4096);
	e->destroy(&vm);
	CHECK("destroy", vm.engine_state == NULL);
	gmem_free(&vm.mem);
	return failures ? 1 : 0;
}
