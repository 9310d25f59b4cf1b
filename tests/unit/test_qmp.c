/* The QMP server (src/host/qmp.c) without a running guest: request
 * dispatch through qmp_handle_request on a VM whose controller never runs
 * (query commands, negotiation, every kind of bad request, control calls on
 * a VM that has shut down), then the socket server itself: greeting, many
 * clients, events, a request over 64 KiB, a client that does not read,
 * SHUTDOWN delivered by qmp_stop, socket mode and stale files. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "host/json.h"
#include "host/qmp.h"
#include "host/qmp_session.h"
#include "vm.h"

#define CHECK_PREFIX "qmp-"
#include "check.h"

static struct vm_config cfg = { .cpus = 2 };
static struct vm vm = { .cfg = &cfg };

static void vm_init(void)
{
	pthread_mutex_init(&vm.ctl_lock, NULL);
	pthread_mutex_init(&vm.ctl_call_lock, NULL);
	pthread_cond_init(&vm.ctl_cond, NULL);
}

/* One request through the session; the reply parsed (NULL if it is not
 * exactly one JSON object on one line ending in \r\n). */
static struct json *ask(struct qmp_session *s, const char *text)
{
	struct json_writer w;
	struct json *v = NULL;
	char why[160];
	const char *t;

	jw_init(&w);
	qmp_handle_request(s, text, strlen(text), &w);
	t = jw_text(&w);
	if (t && w.len >= 2 && !strcmp(t + w.len - 2, "\r\n") && !memchr(t, '\n', w.len - 1)) {
		if (json_parse(t, w.len, NULL, &v, why, sizeof(why)) || v->type != JSON_OBJECT) {
			json_free(v);
			v = NULL;
		}
	}
	jw_free(&w);
	return v;
}

static bool str_is(const struct json *v, const char *s)
{
	return v && v->type == JSON_STRING && !strcmp(v->str, s);
}

/* The reply is an error of class cls (and, when want_id, echoes id 42). */
static bool is_error(struct json *r, const char *cls)
{
	const struct json *e = json_get(r, "error");
	bool ok = e && str_is(json_get(e, "class"), cls) && json_get(e, "desc") &&
		  json_get(e, "desc")->type == JSON_STRING && json_get(e, "desc")->len > 0 &&
		  !json_get(r, "return");
	if (!ok)
		printf("# wanted a %s error\n", cls);
	return ok;
}

static bool error_of(struct qmp_session *s, const char *req, const char *cls)
{
	struct json *r = ask(s, req);
	bool ok = r && is_error(r, cls);
	json_free(r);
	return ok;
}

static const struct json *ret_of(struct json *r)
{
	return r ? json_get(r, "return") : NULL;
}

static void test_negotiation(void)
{
	struct qmp_session s = { .vm = &vm };
	struct json_writer w;
	struct json *g = NULL, *r;
	char why[160];

	jw_init(&w);
	qmp_greeting(&w);
	CHECK("greeting-line", jw_text(&w) && w.len > 2 && !strcmp(jw_text(&w) + w.len - 2, "\r\n") &&
			       !json_parse(jw_text(&w), w.len, NULL, &g, why, sizeof(why)));
	{
		const struct json *q = json_get(g, "QMP"), *ver = json_get(q, "version"),
				  *qemu = json_get(ver, "qemu"), *caps = json_get(q, "capabilities");
		const struct json *maj = json_get(qemu, "major"), *min = json_get(qemu, "minor"),
				  *mic = json_get(qemu, "micro");
		CHECK("greeting-shape", maj && maj->type == JSON_INT && maj->i == TREVO_VERSION_MAJOR &&
					min && min->i == TREVO_VERSION_MINOR && mic &&
					mic->i == TREVO_VERSION_MICRO &&
					str_is(json_get(ver, "package"), "trevo " TREVO_VERSION) &&
					caps && caps->type == JSON_ARRAY && caps->n == 0);
	}
	json_free(g);
	jw_free(&w);

	r = ask(&s, "{\"execute\": \"query-status\", \"id\": 42}");
	CHECK("before-negotiation", r && is_error(r, "CommandNotFound") &&
				    json_get(r, "id") && json_get(r, "id")->i == 42 && !s.negotiated);
	json_free(r);
	CHECK("unknown-before-negotiation", error_of(&s, "{\"execute\": \"nope\"}", "CommandNotFound"));
	CHECK("caps-enable-unknown", error_of(&s, "{\"execute\": \"qmp_capabilities\", \"arguments\": "
					      "{\"enable\": [\"oob\"]}}", "GenericError") && !s.negotiated);
	CHECK("caps-enable-type", error_of(&s, "{\"execute\": \"qmp_capabilities\", \"arguments\": "
					   "{\"enable\": \"oob\"}}", "GenericError") && !s.negotiated);
	r = ask(&s, "{\"execute\": \"qmp_capabilities\", \"id\": \"a\\\"b\"}");
	CHECK("capabilities", ret_of(r) && ret_of(r)->type == JSON_OBJECT && ret_of(r)->n == 0 &&
			      str_is(json_get(r, "id"), "a\"b") && s.negotiated);
	json_free(r);
	CHECK("capabilities-twice", error_of(&s, "{\"execute\": \"qmp_capabilities\"}",
					     "CommandNotFound") && s.negotiated);
	r = ask(&s, "{\"execute\": \"query-status\"}");
	CHECK("no-id-no-echo", ret_of(r) && !json_get(r, "id"));
	json_free(r);
}

static void test_queries(void)
{
	struct qmp_session s = { .vm = &vm, .negotiated = true };
	const struct json *v;
	struct json *r;

	atomic_store(&vm.run_state, VM_STATE_PRELAUNCH);
	r = ask(&s, "{\"execute\": \"query-status\"}");
	v = ret_of(r);
	CHECK("status-prelaunch", v && str_is(json_get(v, "status"), "prelaunch") &&
				  json_get(v, "running") && !json_get(v, "running")->b &&
				  json_get(v, "singlestep") && json_get(v, "singlestep")->type == JSON_BOOL &&
				  !json_get(v, "singlestep")->b);
	json_free(r);
	atomic_store(&vm.run_state, VM_STATE_RUNNING);
	r = ask(&s, "{\"execute\": \"query-status\"}");
	v = ret_of(r);
	CHECK("status-running", v && str_is(json_get(v, "status"), "running") &&
				json_get(v, "running")->b);
	json_free(r);
	atomic_store(&vm.run_state, VM_STATE_PAUSED);
	r = ask(&s, "{\"execute\": \"query-status\"}");
	v = ret_of(r);
	CHECK("status-paused", v && str_is(json_get(v, "status"), "paused") &&
			       !json_get(v, "running")->b);
	json_free(r);
	atomic_store(&vm.run_state, VM_STATE_RUNNING);

	r = ask(&s, "{\"execute\": \"query-version\"}");
	v = ret_of(r);
	CHECK("version", v && json_get(json_get(v, "qemu"), "minor") &&
			 json_get(json_get(v, "qemu"), "minor")->i == TREVO_VERSION_MINOR &&
			 str_is(json_get(v, "package"), "trevo " TREVO_VERSION));
	json_free(r);

	/* A machine without a migration thread (no engine here): refused
	 * with a reason, and query-migrate has nothing to say. */
	r = ask(&s, "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"tcp:127.0.0.1:1\"}}");
	CHECK("migrate-unavailable", is_error(r, "GenericError"));
	json_free(r);
	r = ask(&s, "{\"execute\": \"query-migrate\"}");
	v = ret_of(r);
	CHECK("query-migrate-none", v && v->type == JSON_OBJECT && v->n == 0);
	json_free(r);
	r = ask(&s, "{\"execute\": \"migrate\"}");
	CHECK("migrate-no-uri", is_error(r, "GenericError"));
	json_free(r);

	r = ask(&s, "{\"execute\": \"query-commands\"}");
	v = ret_of(r);
	{
		static const char *want[] = { "qmp_capabilities", "query-status", "stop", "cont",
					      "system_reset", "quit", "query-cpus-fast",
					      "query-version", "query-commands", "query-stats",
					      "snapshot-save", "migrate", "query-migrate",
					      "migrate_cancel", "migrate-set-parameters",
					      "query-migrate-parameters" };
		int found = 0;
		for (size_t k = 0; v && v->type == JSON_ARRAY && k < v->n; k++)
			for (size_t j = 0; j < sizeof(want) / sizeof(want[0]); j++)
				found += str_is(json_get(v->item[k], "name"), want[j]);
		CHECK("commands", v && v->n == 16 && found == 16);
	}
	json_free(r);

	r = ask(&s, "{\"execute\": \"query-cpus-fast\"}");
	v = ret_of(r);
	CHECK("cpus-fast", v && v->type == JSON_ARRAY && v->n == 2 &&
			   json_get(v->item[1], "cpu-index")->i == 1 &&
			   str_is(json_get(v->item[1], "qom-path"), "/machine/cpu/1") &&
			   json_get(v->item[1], "thread-id")->type == JSON_INT &&
			   str_is(json_get(v->item[0], "target"), "riscv64") &&
			   json_get(v->item[0], "props")->type == JSON_OBJECT);
	json_free(r);

	r = ask(&s, "{\"execute\": \"query-stats\"}");
	v = ret_of(r);
	{
		int vcpus = 0, vms = 0, resets = 0;
		for (size_t k = 0; v && v->type == JSON_ARRAY && k < v->n; k++) {
			const struct json *e = v->item[k], *st = json_get(e, "stats");
			if (!str_is(json_get(e, "provider"), "trevo") || !st || st->type != JSON_ARRAY)
				break;
			vcpus += str_is(json_get(e, "target"), "vcpu") &&
				 str_is(json_get(e, "qom-path"), vcpus ? "/machine/cpu/1" : "/machine/cpu/0");
			if (str_is(json_get(e, "target"), "vm") && str_is(json_get(e, "qom-path"), "/machine")) {
				vms++;
				for (size_t j = 0; j < st->n; j++)
					resets += str_is(json_get(st->item[j], "name"), "resets") &&
						  json_get(st->item[j], "value")->type == JSON_INT;
			}
		}
		CHECK("stats-all", v && v->n == 3 && vcpus == 2 && vms == 1 && resets == 1);
	}
	json_free(r);
	r = ask(&s, "{\"execute\": \"query-stats\", \"arguments\": {\"target\": \"vcpu\"}}");
	v = ret_of(r);
	CHECK("stats-filter", v && v->n == 2 && str_is(json_get(v->item[0], "target"), "vcpu") &&
			      str_is(json_get(v->item[1], "target"), "vcpu"));
	json_free(r);
	r = ask(&s, "{\"execute\": \"query-stats\", \"arguments\": {\"target\": \"device\"}}");
	CHECK("stats-filter-empty", ret_of(r) && ret_of(r)->type == JSON_ARRAY && ret_of(r)->n == 0);
	json_free(r);
	CHECK("stats-bad-target", error_of(&s, "{\"execute\": \"query-stats\", \"arguments\": "
					   "{\"target\": \"cryptodev\"}}", "GenericError"));
	CHECK("stats-target-nul", error_of(&s, "{\"execute\": \"query-stats\", \"arguments\": "
					   "{\"target\": \"vm\\u0000\"}}", "GenericError"));
	CHECK("stats-target-type", error_of(&s, "{\"execute\": \"query-stats\", \"arguments\": "
					    "{\"target\": 5}}", "GenericError"));
	CHECK("stats-unknown-arg", error_of(&s, "{\"execute\": \"query-stats\", \"arguments\": "
					    "{\"providers\": []}}", "GenericError"));
}

static void test_bad_requests(void)
{
	struct qmp_session s = { .vm = &vm, .negotiated = true };
	struct json *r;
	char *big;

	r = ask(&s, "{\"execute\": \"query-status\",}");
	CHECK("malformed", r && is_error(r, "GenericError") && !json_get(r, "id"));
	json_free(r);
	CHECK("garbage", error_of(&s, "hello", "GenericError"));
	CHECK("not-object", error_of(&s, "[1, 2]", "GenericError") &&
			    error_of(&s, "\"query-status\"", "GenericError") &&
			    error_of(&s, "17", "GenericError"));
	CHECK("no-execute", error_of(&s, "{\"arguments\": {}}", "GenericError"));
	CHECK("execute-type", error_of(&s, "{\"execute\": 1}", "GenericError") &&
			      error_of(&s, "{\"execute\": [\"stop\"]}", "GenericError"));
	CHECK("arguments-type", error_of(&s, "{\"execute\": \"query-status\", \"arguments\": []}",
					 "GenericError"));
	CHECK("unknown-member", error_of(&s, "{\"execute\": \"query-status\", \"x\": 1}", "GenericError") &&
				error_of(&s, "{\"exec-oob\": \"query-status\"}", "GenericError"));
	CHECK("unknown-argument", error_of(&s, "{\"execute\": \"query-status\", \"arguments\": "
					   "{\"verbose\": true}}", "GenericError"));
	CHECK("unknown-command", error_of(&s, "{\"execute\": \"human-monitor-command\"}",
					  "CommandNotFound") &&
				 error_of(&s, "{\"execute\": \"stop\\u0000x\"}", "CommandNotFound"));
	CHECK("duplicate-member", error_of(&s, "{\"execute\": \"stop\", \"execute\": \"cont\"}",
					   "GenericError"));
	CHECK("deep-nesting", error_of(&s, "{\"execute\": \"query-status\", \"id\": "
				       "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
				       "GenericError"));
	{
		/* The deepest id a request can carry comes back whole. */
		char req[256];
		int n = snprintf(req, sizeof(req), "{\"execute\": \"query-version\", \"id\": ");
		for (int i = 0; i < JSON_DEFAULT_DEPTH - 1; i++)
			req[n++] = '[';
		for (int i = 0; i < JSON_DEFAULT_DEPTH - 1; i++)
			req[n++] = ']';
		snprintf(req + n, sizeof(req) - n, "}");
		r = ask(&s, req);
		CHECK("deepest-id-echoed", ret_of(r) && json_get(r, "id") &&
					   json_get(r, "id")->type == JSON_ARRAY);
		json_free(r);
	}
	CHECK("invalid-utf8", error_of(&s, "{\"execute\": \"\xff\"}", "GenericError"));
	r = ask(&s, "{\"execute\": \"nope\", \"id\": {\"a\": [1, \"\\u00e9\"]}}");
	CHECK("complex-id-echoed", r && is_error(r, "CommandNotFound") &&
				   json_get(json_get(r, "id"), "a") &&
				   str_is(json_get(json_get(r, "id"), "a")->item[1], "\xc3\xa9"));
	json_free(r);
	/* The command name comes back escaped in the description. */
	r = ask(&s, "{\"execute\": \"a\\nb\\u0001\"}");
	CHECK("name-escaped", r && is_error(r, "CommandNotFound"));
	json_free(r);
	big = malloc(QMP_MAX_REQUEST + 100);
	if (big) {
		memset(big, ' ', QMP_MAX_REQUEST + 99);
		memcpy(big, "{\"execute\": \"query-status\"}", 27);
		big[QMP_MAX_REQUEST + 99] = 0;
		CHECK("over-64k", error_of(&s, big, "GenericError"));
		free(big);
	}
	r = ask(&s, "{\"execute\": \"quit\", \"arguments\": {\"now\": 1}}");
	CHECK("quit-bad-arg", r && is_error(r, "GenericError") && !s.quit);
	json_free(r);
}

static void test_control_when_shut_down(void)
{
	struct qmp_guard guard = { .vm_gone = true };
	struct qmp_session s = { .vm = &vm, .negotiated = true };
	struct json *r;
	uint64_t t0;

	pthread_mutex_init(&guard.lock, NULL);
	atomic_store(&vm.run_state, VM_STATE_SHUTDOWN);
	t0 = host_ns();
	CHECK("stop-shutdown", error_of(&s, "{\"execute\": \"stop\"}", "GenericError"));
	CHECK("cont-shutdown", error_of(&s, "{\"execute\": \"cont\"}", "GenericError"));
	CHECK("reset-shutdown", error_of(&s, "{\"execute\": \"system_reset\"}", "GenericError"));
	CHECK("control-returns-at-once", host_ns() - t0 < 1000000000ULL);
	r = ask(&s, "{\"execute\": \"query-status\"}");
	CHECK("status-shutdown", ret_of(r) && str_is(json_get(ret_of(r), "status"), "shutdown"));
	json_free(r);
	CHECK("stats-after-shutdown", error_of(&s, "{\"execute\": \"query-stats\"}", "GenericError"));
	s.guard = &guard;
	atomic_store(&vm.run_state, VM_STATE_RUNNING);
	CHECK("guard-stats", error_of(&s, "{\"execute\": \"query-stats\"}", "GenericError"));
	CHECK("guard-cpus", error_of(&s, "{\"execute\": \"query-cpus-fast\"}", "GenericError"));
	guard.vm_gone = false;
	r = ask(&s, "{\"execute\": \"query-cpus-fast\"}");
	CHECK("guard-open", ret_of(r) && ret_of(r)->n == 2);
	json_free(r);
	r = ask(&s, "{\"execute\": \"quit\", \"id\": 1}");
	CHECK("quit-flag", ret_of(r) && s.quit && json_get(r, "id"));
	json_free(r);
	pthread_mutex_destroy(&guard.lock);
}

/* ---- the socket server ------------------------------------------------ */

static char sock_path[108];

struct conn {
	int fd;
	char buf[256 * 1024];
	size_t len;
};

static int conn_open(struct conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	c->len = 0;
	strcpy(sa.sun_path, sock_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

/* The next line as parsed JSON (waits up to ms); NULL on timeout, EOF or
 * bad JSON. *eof is set when the server closed the connection. */
static struct json *conn_line(struct conn *c, int ms, bool *eof)
{
	uint64_t deadline = host_ns() + (uint64_t)ms * 1000000;

	if (eof)
		*eof = false;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		uint64_t now = host_ns();
		ssize_t n;
		if (nl) {
			struct json *v = NULL;
			char why[160];
			size_t l = (size_t)(nl - c->buf) + 1;
			if (json_parse(c->buf, l, NULL, &v, why, sizeof(why)))
				v = NULL;
			memmove(c->buf, c->buf + l, c->len - l);
			c->len -= l;
			return v;
		}
		if (now >= deadline || poll(&p, 1, (int)((deadline - now) / 1000000) + 1) <= 0)
			return NULL;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n <= 0) {
			if (eof)
				*eof = true;
			return NULL;
		}
		c->len += (size_t)n;
	}
}

static void conn_send(struct conn *c, const char *s)
{
	size_t len = strlen(s);
	while (len) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Send one request, return the next non-event reply. */
static struct json *conn_ask(struct conn *c, const char *s)
{
	conn_send(c, s);
	for (;;) {
		struct json *r = conn_line(c, 5000, NULL);
		if (!r || !json_get(r, "event"))
			return r;
		json_free(r);
	}
}

static bool negotiate(struct conn *c)
{
	struct json *g = conn_line(c, 5000, NULL), *r;
	bool ok = g && json_get(g, "QMP");

	json_free(g);
	if (!ok)
		return false;
	r = conn_ask(c, "{\"execute\": \"qmp_capabilities\"}\n");
	ok = ret_of(r) != NULL;
	json_free(r);
	return ok;
}

static bool status_ok(struct conn *c)
{
	struct json *r = conn_ask(c, "{\"execute\": \"query-status\"}\n");
	bool ok = ret_of(r) && str_is(json_get(ret_of(r), "status"), "running");
	json_free(r);
	return ok;
}

#define FLOOD 20000
#define FLOOD_BATCH 1000
static uint64_t flood_done;
static _Atomic int readers_min;   /* events every reader has so far */

/* The controller's side: many events in batches, each batch once the
 * readers have the one before it (so only the client that does not read
 * falls behind, and by more than its output bound). */
static void *flood(void *arg)
{
	(void)arg;
	for (int b = 0; b < FLOOD / FLOOD_BATCH; b++) {
		uint64_t until = host_ns() + 10000000000ULL;
		while (atomic_load(&readers_min) < (b - 1) * FLOOD_BATCH && host_ns() < until)
			usleep(1000);
		for (int i = 0; i < FLOOD_BATCH; i++)
			vm.event(vm.event_opaque, "RESUME", NULL);
	}
	flood_done = host_ns();
	return NULL;
}

/* Read what is there; count the complete lines that are event name. */
static int read_events(struct conn *c, const char *name)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	int count = 0;
	char *nl;

	if (n > 0)
		c->len += (size_t)n;
	while ((nl = memchr(c->buf, '\n', c->len))) {
		size_t l = (size_t)(nl - c->buf) + 1;
		struct json *v = NULL;
		char why[160];
		if (!json_parse(c->buf, l, NULL, &v, why, sizeof(why)))
			count += str_is(json_get(v, "event"), name);
		json_free(v);
		memmove(c->buf, c->buf + l, c->len - l);
		c->len -= l;
	}
	return count;
}

static void test_server(void)
{
	struct conn *c = calloc(24, sizeof(*c));
	struct stat st;
	struct json *r = NULL;
	bool eof, ok;
	int fd;

	if (!c)
		return;
	snprintf(sock_path, sizeof(sock_path), "/tmp/trevo-test-qmp-%d.sock", (int)getpid());
	fprintf(stderr, "(expected errors follow)\n");
	/* A stale socket file from a dead server is replaced. */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		strcpy(sa.sun_path, sock_path);
		unlink(sock_path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ok = fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
	}
	atomic_store(&vm.run_state, VM_STATE_RUNNING);
	CHECK("start-over-stale", ok && qmp_start(&vm, "unix:/nonexistent-dir/x.sock") < 0);
	{
		char spec[160];
		snprintf(spec, sizeof(spec), "unix:%s,server,nowait", sock_path);
		CHECK("start", qmp_start(&vm, spec) == 0 && vm.event);
		CHECK("second-server-refused", qmp_start(&(struct vm){ .cfg = &cfg }, spec) == -EADDRINUSE);
	}
	CHECK("bad-spec", qmp_start(&(struct vm){ .cfg = &cfg }, "unix:/tmp/x,bogus") == -EINVAL &&
			  qmp_start(&(struct vm){ .cfg = &cfg }, "tcp:1234") == -EINVAL);
	CHECK("socket-mode-0600", !stat(sock_path, &st) && S_ISSOCK(st.st_mode) &&
				  (st.st_mode & 0777) == 0600);

	/* 20 clients at once, each negotiated and answered. */
	ok = true;
	for (int i = 0; i < 20; i++)
		ok = ok && !conn_open(&c[i]) && negotiate(&c[i]);
	for (int i = 0; i < 20; i++)
		ok = ok && status_ok(&c[i]);
	CHECK("twenty-clients", ok);

	/* An event reaches every negotiated client, not the others. */
	CHECK("un-negotiated-open", !conn_open(&c[20]) && (r = conn_line(&c[20], 5000, NULL)) &&
				    json_get(r, "QMP"));
	json_free(r);
	vm.event(vm.event_opaque, "RESET", "{\"guest\": true, \"reason\": \"guest-reset\"}");
	vm.event(vm.event_opaque, "STOP", NULL);
	ok = true;
	for (int i = 0; i < 20; i++) {
		struct json *e1 = conn_line(&c[i], 5000, NULL), *e2 = conn_line(&c[i], 5000, NULL);
		const struct json *ts = json_get(e1, "timestamp");
		ok = ok && str_is(json_get(e1, "event"), "RESET") &&
		     json_get(json_get(e1, "data"), "guest") && json_get(json_get(e1, "data"), "guest")->b &&
		     ts && json_get(ts, "seconds") && json_get(ts, "seconds")->i > 1600000000 &&
		     json_get(ts, "microseconds") && json_get(ts, "microseconds")->i < 1000000 &&
		     str_is(json_get(e2, "event"), "STOP") && !json_get(e2, "data");
		json_free(e1);
		json_free(e2);
	}
	CHECK("events-to-all", ok);
	r = conn_line(&c[20], 300, NULL);
	CHECK("no-events-before-negotiation", !r);
	json_free(r);

	/* Requests without line ends, two in one write, split across writes. */
	conn_send(&c[0], "{\"execute\": \"query-status\", \"id\": 1}{\"execute\":");
	r = conn_line(&c[0], 5000, NULL);
	ok = ret_of(r) && json_get(r, "id")->i == 1;
	json_free(r);
	usleep(50000);
	r = conn_ask(&c[0], " \"query-version\", \"id\": 2}");
	CHECK("framing", ok && ret_of(r) && json_get(r, "id")->i == 2);
	json_free(r);
	r = conn_ask(&c[0], "garbage\n");
	CHECK("garbage-line", r && is_error(r, "GenericError") && status_ok(&c[0]));
	json_free(r);
	/* A raw line end in a string ends that request with an error; what
	 * follows on the line is more garbage (more errors), then all is well. */
	r = conn_ask(&c[0], "{\"execute\": \"query-status\", \"x\": \"a\nb\"}\n");
	ok = r && is_error(r, "GenericError");
	json_free(r);
	while ((r = conn_line(&c[0], 300, NULL))) {
		ok = ok && is_error(r, "GenericError");
		json_free(r);
	}
	CHECK("newline-in-string", ok && status_ok(&c[0]));

	/* Over 64 KiB without an end: an error, then the connection closes. */
	{
		char *big = malloc(70 * 1024 + 1);
		if (big) {
			memset(big, ' ', 70 * 1024);
			big[0] = '[';
			big[70 * 1024] = 0;
			conn_send(&c[1], big);
			free(big);
		}
		r = conn_line(&c[1], 5000, NULL);
		ok = r && is_error(r, "GenericError");
		json_free(r);
		r = conn_line(&c[1], 5000, &eof);
		CHECK("over-64k-closes", ok && !r && eof);
		json_free(r);
	}
	/* A client that hangs up mid-request leaves nothing behind. */
	conn_send(&c[2], "{\"execute\": \"query-st");
	close(c[2].fd);
	c[2].fd = -1;
	CHECK("hangup-mid-request", status_ok(&c[3]));

	/* A client that never reads: while the controller floods events, it
	 * is dropped and the others, which read, get every one; emitting never
	 * blocks on it. */
	{
		int rcv = 4096, got[20] = { 0 };
		uint64_t t0 = host_ns(), flood_ns, deadline = t0 + 30000000000ULL;
		pthread_t t;
		bool all = false;
		setsockopt(c[4].fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		pthread_create(&t, NULL, flood, NULL);
		while (!all && host_ns() < deadline) {
			struct pollfd p[15];
			for (int i = 5; i < 20; i++)
				p[i - 5] = (struct pollfd){ .fd = c[i].fd, .events = POLLIN };
			poll(p, 15, 100);
			all = true;
			int least = FLOOD;
			for (int i = 5; i < 20; i++) {
				if (p[i - 5].revents & POLLIN)
					got[i] += read_events(&c[i], "RESUME");
				all = all && got[i] == FLOOD;
				least = got[i] < least ? got[i] : least;
			}
			atomic_store(&readers_min, least);
		}
		pthread_join(t, NULL);
		flood_ns = flood_done - t0;
		CHECK("readers-get-every-event", all);
		{
			size_t n = 0;
			for (;;) {
				r = conn_line(&c[4], 2000, &eof);
				if (!r)
					break;
				n++;
				json_free(r);
			}
			CHECK("slow-client-dropped", eof && n < FLOOD && flood_ns < 20000000000ULL);
		}
		CHECK("after-slow-client", status_ok(&c[5]));
	}

	/* qmp_stop delivers the pending SHUTDOWN event, then closes. */
	vm.event(vm.event_opaque, "SHUTDOWN", "{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
	qmp_stop(&vm);
	ok = true;
	for (int i = 6; i < 20; i++) {
		r = conn_line(&c[i], 2000, &eof);
		ok = ok && r && str_is(json_get(r, "event"), "SHUTDOWN") &&
		     str_is(json_get(json_get(r, "data"), "reason"), "host-qmp-quit");
		json_free(r);
		r = conn_line(&c[i], 2000, &eof);
		ok = ok && !r && eof;
		json_free(r);
	}
	CHECK("shutdown-delivered-then-closed", ok);
	CHECK("socket-removed", stat(sock_path, &st) && errno == ENOENT && vm.event == NULL);
	qmp_stop(&vm);   /* idempotent, and fine without a server */
	for (int i = 0; i < 21; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	free(c);

	/* A regular file where the socket should go is not removed. */
	fd = open(sock_path, O_CREAT | O_WRONLY, 0600);
	{
		char spec[160];
		snprintf(spec, sizeof(spec), "unix:%s", sock_path);
		CHECK("not-a-socket-kept", fd >= 0 && qmp_start(&vm, spec) == -EEXIST &&
					   !stat(sock_path, &st) && S_ISREG(st.st_mode));
	}
	close(fd);
	unlink(sock_path);
}

int main(void)
{
	vm_init();
	test_negotiation();
	test_queries();
	test_bad_requests();
	test_control_when_shut_down();
	test_server();
	return failures ? 1 : 0;
}
