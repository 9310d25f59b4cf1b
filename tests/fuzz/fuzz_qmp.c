/* libFuzzer target for QMP command dispatch (src/host/qmp.c's
 * qmp_handle_request, past the JSON parser that fuzz_qmp_json covers):
 * one session fed a sequence of requests (the input split at newlines),
 * negotiated or not, against a VM whose control plane is modelled here
 * (run state, pause/resume/reset/quit, stats with hostile names) and whose
 * snapshot and migration calls are recorded instead of writing files or
 * opening sockets. Every request must get exactly one reply line, "\r\n"
 * ended, that parses as an object with either "return" or an "error" with
 * a class and a non-empty desc, and that echoes the request's "id"
 * verbatim; before negotiation only qmp_capabilities may succeed; the
 * snapshot and migration calls must get NUL-terminated strings as long as
 * the JSON string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/json.h"
#include "host/qmp_session.h"
#include "migrate/migration.h"
#include "migrate/snapshot.h"
#include "stats.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm_config cfg = { .cpus = 3 };
static struct vm vm = { .cfg = &cfg };
static enum vm_run_state state;

/* ---- the control plane (vmrun.c's, modelled) ---------------------------- */

enum vm_run_state vm_get_run_state(struct vm *v) { (void)v; return state; }
const char *vm_run_state_name(enum vm_run_state st)
{
	static const char *const names[] = { "prelaunch", "running", "paused", "shutdown" };

	return (unsigned)st < 4 ? names[st] : "internal-error";
}
static int change(enum vm_run_state to)
{
	if (state == VM_STATE_SHUTDOWN)
		return -EBUSY;
	state = to;
	return 0;
}
int vm_pause(struct vm *v) { (void)v; return change(VM_STATE_PAUSED); }
int vm_resume(struct vm *v) { (void)v; return change(VM_STATE_RUNNING); }
int vm_system_reset(struct vm *v) { (void)v; return change(state); }
void vm_quit(struct vm *v) { (void)v; state = VM_STATE_SHUTDOWN; }
int vm_call_paused(struct vm *v, int (*fn)(struct vm *v, void *arg), void *arg)
{
	return state == VM_STATE_SHUTDOWN ? -EBUSY : fn(v, arg);
}
int vm_nr_vcpus(struct vm *v) { return v->cfg->cpus; }
int vm_vcpu_thread_id(struct vm *v, int cpu)
{
	if (cpu < 0 || cpu >= v->cfg->cpus)
		abort();
	return 1000 + cpu;
}
const char *vm_arch_name(struct vm *v) { (void)v; return "riscv64"; }

/* Names that need escaping on their way into the reply. */
void vm_collect_stats(struct vm *v, void (*begin)(void *ctx, const char *target, const char *path),
		      const struct stats_sink *s)
{
	(void)v;
	begin(s->ctx, "vm", "/machine");
	stats_put(s, "exits", 7);
	begin(s->ctx, "vcpu", "/machine/unattached/device[0]");
	stats_put(s, "insns", UINT64_MAX);
	begin(s->ctx, "device", "/machine/peripheral/\"odd\\\n\x01\xff");
	stats_put(s, "bytes\t\"x\"", 0);
}

/* A string from the client: NUL-terminated where its JSON length ends. */
static void checked_string(const char *s)
{
	if (!s || !*s)
		abort();
	(void)strlen(s);
}

int snapshot_save(struct vm *v, const char *file, bool raw, char *why, size_t why_len)
{
	(void)v;
	(void)raw;
	checked_string(file);
	if (file[0] == '/') {
		snprintf(why, why_len, "%s: cannot write here \"%s\"", file, file);
		return -EACCES;
	}
	return 0;
}

int migration_start(struct vm *v, const char *uri, char *why, size_t why_len)
{
	(void)v;
	checked_string(uri);
	if (strncmp(uri, "tcp:", 4) && strncmp(uri, "unix:", 5)) {
		snprintf(why, why_len, "bad uri %s", uri);
		return -EINVAL;
	}
	return 0;
}
void migration_cancel(struct vm *v) { (void)v; }
void migration_info(struct vm *v, struct json_writer *w)
{
	(void)v;
	jw_object_begin(w);
	jw_key(w, "status");
	jw_string(w, "none");
	jw_object_end(w);
}
int migration_set_parameters(struct vm *v, int64_t downtime_limit_ms, int64_t max_bandwidth,
			     char *why, size_t why_len)
{
	(void)v;
	if (downtime_limit_ms < -1 || max_bandwidth < -1) {
		snprintf(why, why_len, "negative: %lld %lld", (long long)downtime_limit_ms,
			 (long long)max_bandwidth);
		return -EINVAL;
	}
	return 0;
}
void migration_parameters(struct vm *v, struct json_writer *w)
{
	(void)v;
	jw_object_begin(w);
	jw_key(w, "downtime-limit");
	jw_int(w, 300);
	jw_object_end(w);
}

#include "host/seccomp.h"
void seccomp_enter(enum seccomp_thread kind) { (void)kind; }

/* ---- the checks ----------------------------------------------------------- */

static char *value_text(const struct json *v)
{
	struct json_writer w;
	char *t;

	jw_init(&w);
	jw_value(&w, v);
	t = jw_text(&w) ? strdup(jw_text(&w)) : NULL;
	jw_free(&w);
	return t;
}

static void one(struct qmp_session *s, const char *req, size_t len)
{
	struct json_limits lim = { JSON_DEFAULT_DEPTH, QMP_MAX_REQUEST };
	struct json_writer w;
	struct json *r = NULL, *q = NULL;
	const struct json *err, *ret, *id, *rid, *exec;
	bool negotiated = s->negotiated;
	char why[160];
	const char *t;

	jw_init(&w);
	qmp_handle_request(s, req, len, &w);
	t = jw_text(&w);
	if (!t || w.len < 2 || strcmp(t + w.len - 2, "\r\n") || memchr(t, '\n', w.len - 1))
		abort();
	if (json_parse(t, w.len, NULL, &r, why, sizeof(why)) || r->type != JSON_OBJECT)
		abort();
	err = json_get(r, "error");
	ret = json_get(r, "return");
	if (!!err == !!ret)
		abort();
	if (err) {
		const struct json *cls = json_get(err, "class"), *desc = json_get(err, "desc");
		if (!cls || cls->type != JSON_STRING || !cls->len || !desc ||
		    desc->type != JSON_STRING || !desc->len)
			abort();
	}
	/* The id comes back as it was; a request that does not parse has none. */
	if (!json_parse(req, len, &lim, &q, why, sizeof(why))) {
		id = q->type == JSON_OBJECT ? json_get(q, "id") : NULL;
		rid = json_get(r, "id");
		if (!!id != !!rid)
			abort();
		if (id) {
			char *a = value_text(id), *b = value_text(rid);
			if (!a || !b || strcmp(a, b))
				abort();
			free(a);
			free(b);
		}
		exec = q->type == JSON_OBJECT ? json_get(q, "execute") : NULL;
		if (ret && !negotiated &&
		    (!exec || exec->type != JSON_STRING || strcmp(exec->str, "qmp_capabilities")))
			abort();
	} else if (ret || json_get(r, "id")) {
		abort();
	}
	if (s->quit) {  /* the server sends the reply, then quits */
		vm_quit(s->vm);
		s->quit = false;
	}
	json_free(q);
	json_free(r);
	jw_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp_session s = { .vm = &vm };
	const char *p, *end, *nl;

	if (size < 1)
		return 0;
	s.negotiated = data[0] & 1;
	state = (enum vm_run_state)(data[0] >> 1 & 3);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		one(&s, p, (size_t)(nl - p));
	}
	return 0;
}
