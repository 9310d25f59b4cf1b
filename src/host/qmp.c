/* The QMP server (qemu-qmp-ref(7); the QMP specification in QEMU's
 * docs/interop/qmp-spec) and the `trevo qmp` client.
 *
 * Threads: one QMP thread polls the listening socket and every client,
 * reads requests and answers them, calling the blocking control calls of
 * vm.h without holding any lock of ours. Events come from the controller
 * thread (vm->event), possibly while the QMP thread waits inside vm_pause:
 * they are queued on each client under srv->lock and written at once.
 * Sockets are non-blocking and each client's output is bounded, so a client
 * that does not read loses its connection instead of stalling the VM. */
#include "qmp.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../common.h"
#include "../migrate/migration.h"
#include "../migrate/snapshot.h"
#include "../stats.h"
#include "../vm.h"
#include "json.h"
#include "qmp_session.h"
#include "seccomp.h"

/* ---- requests ----------------------------------------------------------- */

struct qmp_error {
	const char *cls;              /* NULL: no error */
	char desc[256];
};

static void set_error(struct qmp_error *e, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(struct qmp_error *e, const char *cls, const char *fmt, ...)
{
	va_list ap;

	e->cls = cls;
	va_start(ap, fmt);
	vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
	va_end(ap);
}

/* A name from the client, as a JSON string (it may hold anything),
 * shortened to fit an error message. */
static const char *quoted(char *buf, size_t size, const char *s, size_t len)
{
	struct json_writer w;

	jw_init(&w);
	jw_string_len(&w, s, len > 100 ? 100 : len);
	snprintf(buf, size, "%s%s", jw_text(&w) ? jw_text(&w) : "\"?\"", len > 100 ? "..." : "");
	jw_free(&w);
	return buf;
}

#define GENERIC "GenericError"
#define NOT_FOUND "CommandNotFound"

struct qmp_arg {
	const char *name;
	enum json_type type;
};

struct qmp_command {
	const char *name;
	/* Writes the "return" value to ret, or sets e. */
	void (*run)(struct qmp_session *s, const struct json *args, struct json_writer *ret,
		    struct qmp_error *e);
	struct qmp_arg args[3];       /* every argument is optional */
};

static void empty_return(struct json_writer *ret)
{
	jw_object_begin(ret);
	jw_object_end(ret);
}

static void cmd_capabilities(struct qmp_session *s, const struct json *args,
			     struct json_writer *ret, struct qmp_error *e)
{
	const struct json *enable = json_get(args, "enable");

	/* The greeting offers no capability (no "oob"), so none can be
	 * enabled (qmp-spec: capabilities negotiation). */
	if (enable && enable->n) {
		const struct json *c = enable->item[0];
		set_error(e, GENERIC, "capability '%s' is not offered",
			  c->type == JSON_STRING ? c->str : "?");
		return;
	}
	s->negotiated = true;
	empty_return(ret);
}

static void cmd_query_status(struct qmp_session *s, const struct json *args,
			     struct json_writer *ret, struct qmp_error *e)
{
	enum vm_run_state st = vm_get_run_state(s->vm);

	(void)args;
	(void)e;
	jw_object_begin(ret);
	jw_key(ret, "running");
	jw_bool(ret, st == VM_STATE_RUNNING);
	jw_key(ret, "singlestep");
	jw_bool(ret, false);
	jw_key(ret, "status");
	jw_string(ret, vm_run_state_name(st));
	jw_object_end(ret);
}

/* stop, cont, system_reset: blocking calls, made with no lock held. */
static void control_result(int err, struct json_writer *ret, struct qmp_error *e)
{
	if (err == -EBUSY)
		set_error(e, GENERIC, "the VM is shutting down");
	else if (err)
		set_error(e, GENERIC, "failed: %s", strerror(-err));
	else
		empty_return(ret);
}

static void cmd_stop(struct qmp_session *s, const struct json *args, struct json_writer *ret,
		     struct qmp_error *e)
{
	(void)args;
	control_result(vm_pause(s->vm), ret, e);
}

static void cmd_cont(struct qmp_session *s, const struct json *args, struct json_writer *ret,
		     struct qmp_error *e)
{
	(void)args;
	control_result(vm_resume(s->vm), ret, e);
}

static void cmd_system_reset(struct qmp_session *s, const struct json *args,
			     struct json_writer *ret, struct qmp_error *e)
{
	(void)args;
	control_result(vm_system_reset(s->vm), ret, e);
}

static void cmd_quit(struct qmp_session *s, const struct json *args, struct json_writer *ret,
		     struct qmp_error *e)
{
	(void)args;
	(void)e;
	/* The caller sends the reply first, then calls vm_quit (as QEMU). */
	s->quit = true;
	empty_return(ret);
}

/* Enter the section where engine state may be read; false once the VM
 * has shut down (its engine is about to be freed). */
static bool vm_enter(struct qmp_session *s, struct qmp_error *e)
{
	if (s->guard) {
		pthread_mutex_lock(&s->guard->lock);
		if (!s->guard->vm_gone)
			return true;
		pthread_mutex_unlock(&s->guard->lock);
	} else if (vm_get_run_state(s->vm) != VM_STATE_SHUTDOWN) {
		return true;
	}
	set_error(e, GENERIC, "the VM has shut down");
	return false;
}

static void vm_leave(struct qmp_session *s)
{
	if (s->guard)
		pthread_mutex_unlock(&s->guard->lock);
}

static void cmd_query_cpus_fast(struct qmp_session *s, const struct json *args,
				struct json_writer *ret, struct qmp_error *e)
{
	char path[48];

	(void)args;
	if (!vm_enter(s, e))
		return;
	jw_array_begin(ret);
	for (int i = 0; i < vm_nr_vcpus(s->vm); i++) {
		snprintf(path, sizeof(path), "/machine/cpu/%d", i);
		jw_object_begin(ret);
		jw_key(ret, "cpu-index");
		jw_int(ret, i);
		jw_key(ret, "qom-path");
		jw_string(ret, path);
		jw_key(ret, "thread-id");
		jw_int(ret, vm_vcpu_thread_id(s->vm, i));
		jw_key(ret, "target");
		jw_string(ret, vm_arch_name(s->vm));
		/* One socket, one thread per core: the topology Trevo builds. */
		jw_key(ret, "props");
		jw_object_begin(ret);
		jw_key(ret, "core-id");
		jw_int(ret, i);
		jw_key(ret, "socket-id");
		jw_int(ret, 0);
		jw_key(ret, "thread-id");
		jw_int(ret, 0);
		jw_object_end(ret);
		jw_object_end(ret);
	}
	jw_array_end(ret);
	vm_leave(s);
}

static void cmd_query_version(struct qmp_session *s, const struct json *args,
			      struct json_writer *ret, struct qmp_error *e);
static void cmd_query_commands(struct qmp_session *s, const struct json *args,
			       struct json_writer *ret, struct qmp_error *e);

struct stats_ctx {
	struct json_writer *w;
	const char *target;           /* filter, or NULL */
	bool open, active;
};

static void stats_close(struct stats_ctx *c)
{
	if (c->open) {
		jw_array_end(c->w);
		jw_object_end(c->w);
		c->open = false;
	}
}

static void stats_begin(void *ctx, const char *target, const char *path)
{
	struct stats_ctx *c = ctx;

	stats_close(c);
	c->active = !c->target || !strcmp(c->target, target);
	if (!c->active)
		return;
	jw_object_begin(c->w);
	jw_key(c->w, "provider");
	jw_string(c->w, "trevo");
	jw_key(c->w, "target");
	jw_string(c->w, target);
	jw_key(c->w, "qom-path");
	jw_string(c->w, path);
	jw_key(c->w, "stats");
	jw_array_begin(c->w);
	c->open = true;
}

static void stats_value(void *ctx, const char *name, uint64_t value)
{
	struct stats_ctx *c = ctx;

	if (!c->active)
		return;
	jw_object_begin(c->w);
	jw_key(c->w, "name");
	jw_string(c->w, name);
	jw_key(c->w, "value");
	jw_uint(c->w, value);
	jw_object_end(c->w);
}

static void cmd_query_stats(struct qmp_session *s, const struct json *args,
			    struct json_writer *ret, struct qmp_error *e)
{
	const struct json *target = json_get(args, "target");
	struct stats_ctx c = { .w = ret };
	struct stats_sink sink = { stats_value, &c };

	if (target) {
		if (strlen(target->str) != target->len || (strcmp(target->str, "vm") &&
		    strcmp(target->str, "vcpu") && strcmp(target->str, "device"))) {
			set_error(e, GENERIC, "'target' must be \"vm\", \"vcpu\" or \"device\"");
			return;
		}
		c.target = target->str;
	}
	if (!vm_enter(s, e))
		return;
	jw_array_begin(ret);
	vm_collect_stats(s->vm, stats_begin, &sink);
	stats_close(&c);
	jw_array_end(ret);
	vm_leave(s);
}

/* snapshot-save file=F [stop=true] [raw=true]: written with the machine
 * standing still; it then goes on (or stays stopped with stop). */
struct snapshot_call {
	const char *file;
	bool raw;
	char why[300];
};

static int snapshot_call(struct vm *vm, void *arg)
{
	struct snapshot_call *c = arg;

	return snapshot_save(vm, c->file, c->raw, c->why, sizeof(c->why));
}

static void cmd_snapshot_save(struct qmp_session *s, const struct json *args,
			      struct json_writer *ret, struct qmp_error *e)
{
	const struct json *file = json_get(args, "file"), *stop = json_get(args, "stop");
	const struct json *raw = json_get(args, "raw");
	struct snapshot_call c = { .why = "" };
	int err;

	if (!file || !file->len || strlen(file->str) != file->len) {
		set_error(e, GENERIC, "snapshot-save needs a 'file'");
		return;
	}
	c.file = file->str;
	c.raw = raw && raw->b;
	if (stop && stop->b && (err = vm_pause(s->vm))) {
		control_result(err, ret, e);
		return;
	}
	err = vm_call_paused(s->vm, snapshot_call, &c);
	if (err && c.why[0])
		set_error(e, GENERIC, "snapshot: %s", c.why);
	else
		control_result(err, ret, e);
}

/* Live migration (qemu-qmp-ref(7): migrate, query-migrate, migrate_cancel,
 * migrate-set-parameters, query-migrate-parameters). migrate returns at
 * once; its progress and outcome are query-migrate's. */
static void cmd_migrate(struct qmp_session *s, const struct json *args,
			struct json_writer *ret, struct qmp_error *e)
{
	const struct json *uri = json_get(args, "uri");
	char why[300];

	if (!uri || !uri->len || strlen(uri->str) != uri->len) {
		set_error(e, GENERIC, "migrate needs a 'uri' (tcp:HOST:PORT or unix:PATH)");
		return;
	}
	if (!vm_enter(s, e))
		return;
	if (migration_start(s->vm, uri->str, why, sizeof(why)))
		set_error(e, GENERIC, "migrate: %s", why);
	else
		empty_return(ret);
	vm_leave(s);
}

static void cmd_query_migrate(struct qmp_session *s, const struct json *args,
			      struct json_writer *ret, struct qmp_error *e)
{
	(void)args;
	/* Under the guard: the migration's state goes with the VM. */
	if (!vm_enter(s, e))
		return;
	migration_info(s->vm, ret);
	vm_leave(s);
}

static void cmd_migrate_cancel(struct qmp_session *s, const struct json *args,
			       struct json_writer *ret, struct qmp_error *e)
{
	(void)args;
	if (!vm_enter(s, e))
		return;
	migration_cancel(s->vm);
	empty_return(ret);
	vm_leave(s);
}

static void cmd_migrate_set_parameters(struct qmp_session *s, const struct json *args,
				       struct json_writer *ret, struct qmp_error *e)
{
	const struct json *dl = json_get(args, "downtime-limit"), *bw = json_get(args, "max-bandwidth");
	char why[200];

	if ((dl && dl->i < 0) || (bw && bw->i < 0)) {
		set_error(e, GENERIC, "migrate-set-parameters: values must not be negative");
		return;
	}
	if (!vm_enter(s, e))
		return;
	if (migration_set_parameters(s->vm, dl ? dl->i : -1, bw ? bw->i : -1, why, sizeof(why)))
		set_error(e, GENERIC, "migrate-set-parameters: %s", why);
	else
		empty_return(ret);
	vm_leave(s);
}

static void cmd_query_migrate_parameters(struct qmp_session *s, const struct json *args,
					 struct json_writer *ret, struct qmp_error *e)
{
	(void)args;
	if (!vm_enter(s, e))
		return;
	migration_parameters(s->vm, ret);
	vm_leave(s);
}

static const struct qmp_command commands[] = {
	{ "qmp_capabilities", cmd_capabilities, { { "enable", JSON_ARRAY } } },
	{ "query-status", cmd_query_status, { { 0 } } },
	{ "stop", cmd_stop, { { 0 } } },
	{ "cont", cmd_cont, { { 0 } } },
	{ "system_reset", cmd_system_reset, { { 0 } } },
	{ "quit", cmd_quit, { { 0 } } },
	{ "query-cpus-fast", cmd_query_cpus_fast, { { 0 } } },
	{ "query-version", cmd_query_version, { { 0 } } },
	{ "query-commands", cmd_query_commands, { { 0 } } },
	{ "query-stats", cmd_query_stats, { { "target", JSON_STRING } } },
	{ "snapshot-save", cmd_snapshot_save,
	  { { "file", JSON_STRING }, { "stop", JSON_BOOL }, { "raw", JSON_BOOL } } },
	{ "migrate", cmd_migrate, { { "uri", JSON_STRING } } },
	{ "query-migrate", cmd_query_migrate, { { 0 } } },
	{ "migrate_cancel", cmd_migrate_cancel, { { 0 } } },
	{ "migrate-set-parameters", cmd_migrate_set_parameters,
	  { { "downtime-limit", JSON_INT }, { "max-bandwidth", JSON_INT } } },
	{ "query-migrate-parameters", cmd_query_migrate_parameters, { { 0 } } },
};

static void write_version(struct json_writer *w)
{
	jw_object_begin(w);
	jw_key(w, "qemu");
	jw_object_begin(w);
	jw_key(w, "major");
	jw_int(w, TREVO_VERSION_MAJOR);
	jw_key(w, "minor");
	jw_int(w, TREVO_VERSION_MINOR);
	jw_key(w, "micro");
	jw_int(w, TREVO_VERSION_MICRO);
	jw_object_end(w);
	jw_key(w, "package");
	jw_string(w, "trevo " TREVO_VERSION);
	jw_object_end(w);
}

static void cmd_query_version(struct qmp_session *s, const struct json *args,
			      struct json_writer *ret, struct qmp_error *e)
{
	(void)s;
	(void)args;
	(void)e;
	write_version(ret);
}

static void cmd_query_commands(struct qmp_session *s, const struct json *args,
			       struct json_writer *ret, struct qmp_error *e)
{
	(void)s;
	(void)args;
	(void)e;
	jw_array_begin(ret);
	for (size_t k = 0; k < ARRAY_SIZE(commands); k++) {
		jw_object_begin(ret);
		jw_key(ret, "name");
		jw_string(ret, commands[k].name);
		jw_object_end(ret);
	}
	jw_array_end(ret);
}

void qmp_greeting(struct json_writer *w)
{
	jw_object_begin(w);
	jw_key(w, "QMP");
	jw_object_begin(w);
	jw_key(w, "version");
	write_version(w);
	jw_key(w, "capabilities");
	jw_array_begin(w);
	jw_array_end(w);
	jw_object_end(w);
	jw_object_end(w);
	jw_raw(w, "\r\n");
}

static bool member_is(const struct json_member *m, const char *name)
{
	return m->key_len == strlen(name) && !memcmp(m->key, name, m->key_len);
}

/* The arguments against the command's table: an object, known names,
 * the right types (qmp-spec: "arguments" is a json-object). */
static void check_args(const struct qmp_command *c, const struct json *args,
		       struct qmp_error *e)
{
	if (!args)
		return;
	if (args->type != JSON_OBJECT) {
		set_error(e, GENERIC, "'arguments' must be an object");
		return;
	}
	for (size_t k = 0; k < args->n; k++) {
		const struct json_member *m = &args->member[k];
		const struct qmp_arg *a = NULL;
		for (size_t j = 0; j < ARRAY_SIZE(c->args) && c->args[j].name; j++)
			if (member_is(m, c->args[j].name))
				a = &c->args[j];
		if (!a) {
			char q[128];
			set_error(e, GENERIC, "%s has no argument %s", c->name,
				  quoted(q, sizeof(q), m->key, m->key_len));
			return;
		}
		if (m->value->type != a->type) {
			set_error(e, GENERIC, "argument '%s' of %s must be %s %s, not %s", a->name,
				  c->name, a->type == JSON_ARRAY || a->type == JSON_OBJECT ? "an" : "a",
				  json_type_name(a->type), json_type_name(m->value->type));
			return;
		}
		if (a->type == JSON_ARRAY && !strcmp(a->name, "enable")) {
			for (size_t j = 0; j < m->value->n; j++) {
				if (m->value->item[j]->type != JSON_STRING) {
					set_error(e, GENERIC, "'enable' must list strings");
					return;
				}
			}
		}
	}
}

static const struct qmp_command *find_command(const struct json *name)
{
	for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
		if (strlen(commands[k].name) == name->len && !strcmp(commands[k].name, name->str))
			return &commands[k];
	return NULL;
}

/* Interpret a parsed request; the return value goes to ret, an error to e. */
static void dispatch(struct qmp_session *s, const struct json *req, struct json_writer *ret,
		     struct qmp_error *e)
{
	const struct json *exec = NULL, *args = NULL;
	const struct qmp_command *c;

	if (req->type != JSON_OBJECT) {
		set_error(e, GENERIC, "a request must be a JSON object, not %s",
			  json_type_name(req->type));
		return;
	}
	for (size_t k = 0; k < req->n; k++) {
		const struct json_member *m = &req->member[k];
		if (member_is(m, "execute")) {
			exec = m->value;
		} else if (member_is(m, "arguments")) {
			args = m->value;
		} else if (!member_is(m, "id")) {
			/* exec-oob included: out-of-band execution is not offered. */
			char q[128];
			set_error(e, GENERIC, "unexpected member %s in a request (execute, "
					      "arguments, id)", quoted(q, sizeof(q), m->key, m->key_len));
			return;
		}
	}
	if (!exec) {
		set_error(e, GENERIC, "the request has no 'execute'");
		return;
	}
	if (exec->type != JSON_STRING) {
		set_error(e, GENERIC, "'execute' must be a string");
		return;
	}
	c = find_command(exec);
	/* qmp-spec: before negotiation every other command is unknown, and
	 * after it qmp_capabilities is. */
	if (!s->negotiated && (!c || c->run != cmd_capabilities)) {
		set_error(e, NOT_FOUND, "capabilities negotiation first: send qmp_capabilities");
		return;
	}
	if (s->negotiated && c && c->run == cmd_capabilities) {
		set_error(e, NOT_FOUND, "capabilities are negotiated already");
		return;
	}
	if (!c) {
		char q[128];
		set_error(e, NOT_FOUND, "no command %s", quoted(q, sizeof(q), exec->str, exec->len));
		return;
	}
	check_args(c, args, e);
	if (e->cls)
		return;
	c->run(s, args, ret, e);
}

void qmp_handle_request(struct qmp_session *s, const char *text, size_t len,
			struct json_writer *reply)
{
	struct json_limits lim = { JSON_DEFAULT_DEPTH, QMP_MAX_REQUEST };
	struct qmp_error e = { 0 };
	struct json_writer ret, out;
	struct json *req = NULL;
	const struct json *id = NULL;
	char why[160];
	int err;

	jw_init(&ret);
	err = json_parse(text, len, &lim, &req, why, sizeof(why));
	if (err == -ENOMEM)
		set_error(&e, GENERIC, "out of memory");
	else if (err)
		set_error(&e, GENERIC, "JSON parse error: %s", why);
	else
		dispatch(s, req, &ret, &e);
	if (req)
		id = json_get(req, "id");
	if (!e.cls && !jw_text(&ret))
		set_error(&e, GENERIC, "reply too large or too deep");

	jw_init(&out);
	jw_object_begin(&out);
	if (e.cls) {
		s->quit = false;
		jw_key(&out, "error");
		jw_object_begin(&out);
		jw_key(&out, "class");
		jw_string(&out, e.cls);
		jw_key(&out, "desc");
		jw_string(&out, e.desc);
		jw_object_end(&out);
	} else {
		jw_key(&out, "return");
		jw_verbatim(&out, jw_text(&ret));
	}
	if (id) {
		jw_key(&out, "id");
		jw_value(&out, id);
	}
	jw_object_end(&out);
	jw_raw(&out, "\r\n");
	/* Every request gets a reply, even one the writer could not build. */
	jw_raw(reply, jw_text(&out) ? jw_text(&out)
				    : "{\"error\": {\"class\": \"GenericError\", "
				      "\"desc\": \"the reply could not be built\"}}\r\n");
	jw_free(&out);
	jw_free(&ret);
	json_free(req);
}

/* ---- the server ----------------------------------------------------------- */

#define QMP_MAX_CLIENTS 64
#define QMP_MAX_OUTPUT (1 * MiB)     /* queued for one client, then it is dropped */
#define QMP_FLUSH_MS 1000            /* qmp_stop: time left to deliver what is queued */

struct qmp_client {
	int fd;
	struct qmp_session sess;
	/* Input: only the QMP thread touches it. */
	char in[QMP_MAX_REQUEST];
	size_t in_len, scan, start;
	int depth;
	bool in_string, escaped;
	/* Output: under srv->lock. */
	char *out;
	size_t out_len, out_cap;
	bool events;                 /* past negotiation */
	bool dead;                   /* to be closed */
	bool closing;                /* close once out is written */
};

struct qmp_server {
	struct vm *vm;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, wake[2];
	pthread_t thread;
	_Atomic bool stopping;
	pthread_mutex_t lock;        /* client table and their output */
	struct qmp_client *client[QMP_MAX_CLIENTS];
	struct qmp_guard guard;
};

static void wake_thread(struct qmp_server *srv)
{
	char b = 1;
	ssize_t r = write(srv->wake[1], &b, 1);
	(void)r;   /* full pipe: a wake-up is pending anyway */
}

/* Under srv->lock. */
static void client_flush(struct qmp_client *c)
{
	while (c->out_len && !c->dead) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = true;
			break;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	if (!c->out_len && c->closing)
		c->dead = true;
}

/* Under srv->lock: queue and try to write at once. */
static void client_send(struct qmp_client *c, const char *text, size_t len)
{
	if (c->dead || !text)
		return;
	if (len > QMP_MAX_OUTPUT - c->out_len) {
		debug("qmp: client %d reads too slowly; dropped", c->fd);
		c->dead = true;
		return;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *o;
		while (cap < c->out_len + len)
			cap *= 2;
		if (!(o = realloc(c->out, cap))) {
			c->dead = true;
			return;
		}
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out_len += len;
	client_flush(c);
}

/* vm->event, on the controller thread. */
static void qmp_event(void *opaque, const char *name, const char *data)
{
	struct qmp_server *srv = opaque;
	struct json *d = NULL;
	struct json_writer w;
	struct timeval tv;
	char why[80];

	if (!strcmp(name, "SHUTDOWN")) {
		/* From here on vm.c frees the engine: no more stats reads. */
		pthread_mutex_lock(&srv->guard.lock);
		srv->guard.vm_gone = true;
		pthread_mutex_unlock(&srv->guard.lock);
	}
	gettimeofday(&tv, NULL);
	if (data && json_parse(data, strlen(data), NULL, &d, why, sizeof(why)))
		warn("qmp: event %s: bad data (%s)", name, why);
	jw_init(&w);
	jw_object_begin(&w);
	jw_key(&w, "timestamp");
	jw_object_begin(&w);
	jw_key(&w, "seconds");
	jw_int(&w, tv.tv_sec);
	jw_key(&w, "microseconds");
	jw_int(&w, tv.tv_usec);
	jw_object_end(&w);
	jw_key(&w, "event");
	jw_string(&w, name);
	if (d) {
		jw_key(&w, "data");
		jw_value(&w, d);
	}
	jw_object_end(&w);
	jw_raw(&w, "\r\n");
	json_free(d);

	pthread_mutex_lock(&srv->lock);
	for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
		struct qmp_client *c = srv->client[i];
		if (c && c->events)
			client_send(c, jw_text(&w), w.len);
	}
	pthread_mutex_unlock(&srv->lock);
	jw_free(&w);
	/* What could not be written now waits for POLLOUT on the QMP thread. */
	wake_thread(srv);
}

static void client_accept(struct qmp_server *srv)
{
	struct qmp_client *c;
	struct json_writer w;
	int fd, slot = -1;

	fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;   /* gone already, or out of descriptors: try later */
	for (int i = 0; i < QMP_MAX_CLIENTS && slot < 0; i++)
		if (!srv->client[i])
			slot = i;
	if (slot < 0 || !(c = calloc(1, sizeof(*c)))) {
		debug("qmp: too many clients; connection refused");
		close(fd);
		return;
	}
	c->fd = fd;
	c->sess.vm = srv->vm;
	c->sess.guard = &srv->guard;
	jw_init(&w);
	qmp_greeting(&w);
	pthread_mutex_lock(&srv->lock);
	srv->client[slot] = c;
	client_send(c, jw_text(&w), w.len);
	pthread_mutex_unlock(&srv->lock);
	jw_free(&w);
}

static void client_free(struct qmp_client *c)
{
	close(c->fd);
	free(c->out);
	free(c);
}

/* Answer one complete request and drop it from the input. */
static void client_request(struct qmp_server *srv, struct qmp_client *c, size_t end)
{
	struct json_writer w;
	bool quit;

	jw_init(&w);
	qmp_handle_request(&c->sess, c->in + c->start, end - c->start, &w);
	quit = c->sess.quit;
	c->sess.quit = false;
	pthread_mutex_lock(&srv->lock);
	client_send(c, jw_text(&w), w.len);
	c->events = c->sess.negotiated;
	pthread_mutex_unlock(&srv->lock);
	jw_free(&w);
	if (quit)
		vm_quit(srv->vm);   /* the reply went out first */
	memmove(c->in, c->in + end, c->in_len - end);
	c->in_len -= end;
	c->scan = c->start = 0;
	c->depth = 0;
	c->in_string = c->escaped = false;
}

/* Find where requests end in the input: a top-level value is complete when
 * its brackets balance (so requests need no line end, as with QEMU), and a
 * line end outside any bracket ends whatever came before (a bare token or
 * garbage). A raw line end inside a string cannot be JSON: it ends the
 * request too, so that one bad line costs one error reply. */
static void client_scan(struct qmp_server *srv, struct qmp_client *c)
{
	while (c->scan < c->in_len && !c->closing) {
		char ch = c->in[c->scan++];
		bool done = false;

		if (c->in_string) {
			if (c->escaped)
				c->escaped = false;
			else if (ch == '\\')
				c->escaped = true;
			else if (ch == '"')
				c->in_string = false;
			else if (ch == '\n')
				done = true;
		} else if (c->depth == 0 && c->start == c->scan - 1 &&
			   (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')) {
			c->start = c->scan;   /* blanks between requests */
		} else if (ch == '"') {
			c->in_string = true;
		} else if (ch == '{' || ch == '[') {
			c->depth++;
		} else if (ch == '}' || ch == ']') {
			done = --c->depth <= 0;
		} else if (ch == '\n') {
			done = c->depth == 0;
		}
		if (done)
			client_request(srv, c, c->scan);
	}
	if (c->start) {
		/* Drop the blanks before the pending request. */
		memmove(c->in, c->in + c->start, c->in_len - c->start);
		c->in_len -= c->start;
		c->scan -= c->start;
		c->start = 0;
	}
	if (c->in_len == sizeof(c->in) && !c->closing) {
		/* A request longer than QMP_MAX_REQUEST: refuse it and hang up,
		 * as there is no telling where the next one would start. */
		struct json_writer w;
		jw_init(&w);
		jw_object_begin(&w);
		jw_key(&w, "error");
		jw_object_begin(&w);
		jw_key(&w, "class");
		jw_string(&w, GENERIC);
		jw_key(&w, "desc");
		jw_string(&w, "request longer than 65536 bytes; closing the connection");
		jw_object_end(&w);
		jw_object_end(&w);
		jw_raw(&w, "\r\n");
		pthread_mutex_lock(&srv->lock);
		c->closing = true;
		client_send(c, jw_text(&w), w.len);
		pthread_mutex_unlock(&srv->lock);
		jw_free(&w);
	}
}

static void client_read(struct qmp_server *srv, struct qmp_client *c)
{
	ssize_t n;

	if (c->closing)
		return;
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		/* Gone, maybe mid-request: what it sent unfinished is dropped. */
		pthread_mutex_lock(&srv->lock);
		c->dead = true;
		pthread_mutex_unlock(&srv->lock);
		return;
	}
	c->in_len += (size_t)n;
	client_scan(srv, c);
}

static void reap_clients(struct qmp_server *srv)
{
	for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
		struct qmp_client *c;
		pthread_mutex_lock(&srv->lock);
		c = srv->client[i];
		if (c && c->dead)
			srv->client[i] = NULL;
		else
			c = NULL;
		pthread_mutex_unlock(&srv->lock);
		if (c)
			client_free(c);
	}
}

/* qmp_stop: give queued output (the SHUTDOWN event) a bounded time. */
static void final_flush(struct qmp_server *srv)
{
	uint64_t deadline = host_ns() + QMP_FLUSH_MS * 1000000ULL;

	for (;;) {
		struct pollfd pfd[QMP_MAX_CLIENTS];
		int n = 0;
		uint64_t now = host_ns();

		pthread_mutex_lock(&srv->lock);
		for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
			struct qmp_client *c = srv->client[i];
			if (c && !c->dead && c->out_len) {
				client_flush(c);
				if (!c->dead && c->out_len)
					pfd[n++] = (struct pollfd){ .fd = c->fd, .events = POLLOUT };
			}
		}
		pthread_mutex_unlock(&srv->lock);
		if (!n || now >= deadline)
			return;
		poll(pfd, n, (int)((deadline - now) / 1000000 + 1));
	}
}

static void *qmp_thread(void *opaque)
{
	struct qmp_server *srv = opaque;
	/* wake, listener, clients */
	struct pollfd pfd[2 + QMP_MAX_CLIENTS];
	struct qmp_client *polled[QMP_MAX_CLIENTS];

	seccomp_enter(SECCOMP_QMP);
	while (!atomic_load(&srv->stopping)) {
		int n = 2;

		pfd[0] = (struct pollfd){ .fd = srv->wake[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = srv->listen_fd, .events = POLLIN };
		pthread_mutex_lock(&srv->lock);
		for (int i = 0; i < QMP_MAX_CLIENTS; i++) {
			struct qmp_client *c = srv->client[i];
			if (!c || c->dead)
				continue;
			polled[n - 2] = c;
			pfd[n++] = (struct pollfd){
				.fd = c->fd,
				.events = (short)((c->closing ? 0 : POLLIN) | (c->out_len ? POLLOUT : 0)),
			};
		}
		pthread_mutex_unlock(&srv->lock);
		if (poll(pfd, n, -1) < 0)
			continue;   /* EINTR */
		if (pfd[0].revents & POLLIN) {
			char b[64];
			while (read(srv->wake[0], b, sizeof(b)) > 0)
				;
		}
		if (atomic_load(&srv->stopping))
			break;
		for (int k = 2; k < n; k++) {
			struct qmp_client *c = polled[k - 2];
			if (pfd[k].revents & POLLOUT) {
				pthread_mutex_lock(&srv->lock);
				client_flush(c);
				pthread_mutex_unlock(&srv->lock);
			}
			if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (c->closing && (pfd[k].revents & (POLLHUP | POLLERR))) {
					pthread_mutex_lock(&srv->lock);
					c->dead = true;
					pthread_mutex_unlock(&srv->lock);
				}
				client_read(srv, c);
			}
		}
		if (pfd[1].revents & POLLIN)
			client_accept(srv);
		reap_clients(srv);
	}
	final_flush(srv);
	return NULL;
}

/* "unix:PATH[,server][,nowait]": the path and whether to wait for a first
 * client before the guest starts (QEMU's server without nowait does). */
static int parse_spec(const char *spec, char *path, size_t path_size, bool *wait)
{
	const char *p, *comma;
	bool server = false, nowait = false;
	size_t n;

	if (strncmp(spec, "unix:", 5)) {
		warn("qmp: --qmp %s: only unix:PATH sockets", spec);
		return -EINVAL;
	}
	p = spec + 5;
	comma = strchr(p, ',');
	n = comma ? (size_t)(comma - p) : strlen(p);
	if (n == 0 || n >= path_size) {
		warn("qmp: --qmp %s: %s", spec, n ? "path too long for a unix socket" : "no path");
		return n ? -ENAMETOOLONG : -EINVAL;
	}
	memcpy(path, p, n);
	path[n] = 0;
	while (comma) {
		const char *opt = comma + 1;
		comma = strchr(opt, ',');
		n = comma ? (size_t)(comma - opt) : strlen(opt);
		if ((n == 6 && !strncmp(opt, "server", 6)) || (n == 9 && !strncmp(opt, "server=on", 9)))
			server = true;
		else if ((n == 6 && !strncmp(opt, "nowait", 6)) || (n == 8 && !strncmp(opt, "wait=off", 8)))
			nowait = true;
		else if (n == 7 && !strncmp(opt, "wait=on", 7))
			nowait = false;
		else {
			warn("qmp: --qmp %s: unknown option '%.*s' (server, nowait)", spec, (int)n, opt);
			return -EINVAL;
		}
	}
	*wait = server && !nowait;
	return 0;
}

/* A socket file left by a process that is gone is replaced; a live server
 * or a file of another kind is not ours to remove. */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		warn("qmp: %s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		warn("qmp: %s: another server is listening there", path);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT) {
		r = -errno;
		warn("qmp: cannot remove the stale socket %s: %s", path, strerror(-r));
		return r;
	}
	return 0;
}

int qmp_start(struct vm *vm, const char *spec)
{
	struct qmp_server *srv;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sigset_t all, old;
	mode_t mask;
	bool wait;
	int err;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->vm = vm;
	srv->listen_fd = srv->wake[0] = srv->wake[1] = -1;
	if ((err = parse_spec(spec, srv->path, sizeof(srv->path), &wait)))
		goto fail;
	memcpy(sa.sun_path, srv->path, strlen(srv->path) + 1);
	if ((err = clear_stale(srv->path, &sa)))
		goto fail;
	if (pipe2(srv->wake, O_NONBLOCK | O_CLOEXEC)) {
		err = -errno;
		warn("qmp: pipe: %s", strerror(-err));
		goto fail;
	}
	srv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0) {
		err = -errno;
		warn("qmp: socket: %s", strerror(-err));
		goto fail;
	}
	/* The socket file is created with mode 0600 from the start, never
	 * wider: bind follows the umask (unix(7)). The umask is per process;
	 * no thread that creates files runs yet (vCPUs and I/O start later). */
	mask = umask(0177);
	err = bind(srv->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(mask);
	if (err || listen(srv->listen_fd, 32)) {
		err = err ? err : -errno;
		warn("qmp: %s: %s", srv->path, strerror(-err));
		goto fail;
	}
	if (wait) {
		struct pollfd p = { .fd = srv->listen_fd, .events = POLLIN };
		warn("qmp: waiting for a client on %s", srv->path);
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	}
	pthread_mutex_init(&srv->lock, NULL);
	pthread_mutex_init(&srv->guard.lock, NULL);
	vm->event_opaque = srv;
	vm->event = qmp_event;
	/* Signals stay with the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&srv->thread, NULL, qmp_thread, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		vm->event = NULL;
		vm->event_opaque = NULL;
		unlink(srv->path);
		warn("qmp: cannot start its thread: %s", strerror(-err));
		goto fail;
	}
	return 0;
fail:
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->wake[0] >= 0) {
		close(srv->wake[0]);
		close(srv->wake[1]);
	}
	free(srv);
	return err;
}

void qmp_stop(struct vm *vm)
{
	struct qmp_server *srv;

	if (vm->event != qmp_event)
		return;
	srv = vm->event_opaque;
	atomic_store(&srv->stopping, true);
	wake_thread(srv);
	pthread_join(srv->thread, NULL);
	vm->event = NULL;
	vm->event_opaque = NULL;
	for (int i = 0; i < QMP_MAX_CLIENTS; i++)
		if (srv->client[i])
			client_free(srv->client[i]);
	close(srv->listen_fd);
	unlink(srv->path);
	close(srv->wake[0]);
	close(srv->wake[1]);
	pthread_mutex_destroy(&srv->lock);
	pthread_mutex_destroy(&srv->guard.lock);
	free(srv);
}

/* ---- trevo qmp SOCKET COMMAND [key=value ...] ------------------------------- */

#define CLIENT_TIMEOUT_S 30
#define CLIENT_MAX_LINE (4 * MiB)

struct line_reader {
	int fd;
	char *buf;
	size_t len, cap;
};

/* The next line (without its line end) into *line, valid until the next
 * call. 0, -EPIPE at end of stream, -E2BIG, or -errno. */
static int read_line(struct line_reader *r, char **line, size_t *line_len, size_t *consumed)
{
	memmove(r->buf, r->buf + *consumed, r->len - *consumed);
	r->len -= *consumed;
	*consumed = 0;
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		ssize_t n;
		if (nl) {
			*line = r->buf;
			*line_len = (size_t)(nl - r->buf);
			*consumed = *line_len + 1;
			return 0;
		}
		if (r->len == r->cap) {
			char *b;
			if (r->cap >= CLIENT_MAX_LINE)
				return -E2BIG;
			if (!(b = realloc(r->buf, r->cap * 2)))
				return -ENOMEM;
			r->buf = b;
			r->cap *= 2;
		}
		n = recv(r->fd, r->buf + r->len, r->cap - r->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -EPIPE;
		r->len += (size_t)n;
	}
}

static int send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The next message that is not an event, parsed. 0 or -errno. */
static int read_reply(struct line_reader *r, size_t *consumed, struct json **out)
{
	for (;;) {
		char *line = NULL, why[160];
		size_t len = 0;
		int err = read_line(r, &line, &len, consumed);
		if (err)
			return err;
		if (json_parse(line, len, NULL, out, why, sizeof(why)))
			return -EBADMSG;
		if ((*out)->type == JSON_OBJECT && !json_get(*out, "event"))
			return 0;
		json_free(*out);
		*out = NULL;
	}
}

/* key=value: true/false/null are JSON literals, an integer a number,
 * anything else a string. */
static void put_argument(struct json_writer *w, const char *value)
{
	char *end;
	long long v;

	if (!strcmp(value, "true") || !strcmp(value, "false")) {
		jw_bool(w, value[0] == 't');
		return;
	}
	if (!strcmp(value, "null")) {
		jw_null(w);
		return;
	}
	errno = 0;
	v = strtoll(value, &end, 10);
	if (*value && *end == 0 && errno == 0 && (value[0] == '-' || (value[0] >= '0' && value[0] <= '9'))) {
		jw_int(w, v);
		return;
	}
	jw_string(w, value);
}

static int client_fail(const char *sock, const char *what, int err)
{
	warn("qmp: %s: %s: %s", sock, what,
	     err == -EPIPE ? "connection closed" : err == -EBADMSG ? "not JSON" : strerror(-err));
	return EXIT_USAGE;
}

int qmp_client_main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tmo = { .tv_sec = CLIENT_TIMEOUT_S };
	struct line_reader r = { .fd = -1 };
	struct json *msg = NULL;
	struct json_writer w;
	const char *sock, *path, *negotiate = "{\"execute\": \"qmp_capabilities\"}\n";
	const struct json *ret, *err_obj;
	size_t consumed = 0;
	int status = EXIT_USAGE, err;

	if (argc < 2) {
		warn("usage: trevo qmp SOCKET COMMAND [key=value ...]");
		return EXIT_USAGE;
	}
	sock = argv[0];
	path = strncmp(sock, "unix:", 5) ? sock : sock + 5;
	for (int i = 2; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i]) {
			warn("qmp: argument '%s' is not key=value", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (strlen(path) >= sizeof(sa.sun_path) || !*path) {
		warn("qmp: %s: not a usable socket path", sock);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r.fd < 0 || connect(r.fd, (struct sockaddr *)&sa, sizeof(sa))) {
		warn("qmp: %s: %s", sock, strerror(errno));
		if (r.fd >= 0)
			close(r.fd);
		return EXIT_USAGE;
	}
	setsockopt(r.fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	setsockopt(r.fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
	r.cap = 4096;
	if (!(r.buf = malloc(r.cap))) {
		close(r.fd);
		return EXIT_USAGE;
	}
	jw_init(&w);

	/* The greeting, then capabilities negotiation (qmp-spec). */
	if ((err = read_reply(&r, &consumed, &msg)) || !json_get(msg, "QMP")) {
		status = client_fail(sock, "greeting", err ? err : -EBADMSG);
		goto out;
	}
	json_free(msg);
	msg = NULL;
	if ((err = send_all(r.fd, negotiate, strlen(negotiate))) ||
	    (err = read_reply(&r, &consumed, &msg))) {
		status = client_fail(sock, "qmp_capabilities", err);
		goto out;
	}
	if (!json_get(msg, "return"))
		goto reply;   /* an error: reported below */
	json_free(msg);
	msg = NULL;

	jw_object_begin(&w);
	jw_key(&w, "execute");
	jw_string(&w, argv[1]);
	if (argc > 2) {
		jw_key(&w, "arguments");
		jw_object_begin(&w);
		for (int i = 2; i < argc; i++) {
			char *eq = strchr(argv[i], '=');
			*eq = 0;
			jw_key(&w, argv[i]);
			*eq = '=';
			put_argument(&w, eq + 1);
		}
		jw_object_end(&w);
	}
	jw_key(&w, "id");
	jw_string(&w, "trevo-qmp");
	jw_object_end(&w);
	jw_raw(&w, "\n");
	if (!jw_text(&w)) {
		warn("qmp: cannot build the request");
		goto out;
	}
	if ((err = send_all(r.fd, jw_text(&w), w.len)) || (err = read_reply(&r, &consumed, &msg))) {
		status = client_fail(sock, argv[1], err);
		goto out;
	}
reply:
	if ((ret = json_get(msg, "return"))) {
		struct json_writer o;
		jw_init(&o);
		jw_value(&o, ret);
		if (jw_text(&o)) {
			printf("%s\n", jw_text(&o));
			status = fflush(stdout) ? EXIT_USAGE : 0;
		}
		jw_free(&o);
	} else if ((err_obj = json_get(msg, "error"))) {
		const struct json *cls = json_get(err_obj, "class"), *desc = json_get(err_obj, "desc");
		warn("qmp: %s: %s", cls && cls->type == JSON_STRING ? cls->str : "?",
		     desc && desc->type == JSON_STRING ? desc->str : "?");
		status = 1;
	} else {
		status = client_fail(sock, argv[1], -EBADMSG);
	}
out:
	json_free(msg);
	jw_free(&w);
	free(r.buf);
	close(r.fd);
	return status;
}
