/* One QMP conversation without its socket: a request text in, a reply
 * line out. The server (qmp.c) runs one per client; the unit tests call it
 * directly. */
#ifndef TREVO_QMP_SESSION_H
#define TREVO_QMP_SESSION_H

#include <pthread.h>

#include "json.h"

struct vm;

/* Guards the calls that read engine and device state (query-stats,
 * query-cpus-fast): the SHUTDOWN event sets vm_gone under the lock, after
 * which vm.c tears the engine down and those calls must not run. */
struct qmp_guard {
	pthread_mutex_t lock;
	bool vm_gone;
};

struct qmp_session {
	struct vm *vm;
	struct qmp_guard *guard;      /* NULL: no locking (tests) */
	bool negotiated;              /* qmp_capabilities done: commands and events */
	bool quit;                    /* quit answered: send the reply, then vm_quit */
};

/* Requests longer than this are refused and the connection closed. */
#define QMP_MAX_REQUEST (64 * 1024)

/* The greeting line, "\r\n" included. */
void qmp_greeting(struct json_writer *w);
/* Answer one request (a JSON text, len bytes): the reply line, "\r\n"
 * included, is appended to reply. Never fails on what the client sent. */
void qmp_handle_request(struct qmp_session *s, const char *text, size_t len,
			struct json_writer *reply);

#endif
