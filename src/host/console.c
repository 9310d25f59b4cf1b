/* The host side of the guest console: stdio (the user's terminal in raw
 * mode, or whatever pipes drive trevo), a pty, or a unix socket.
 *
 * Input is read on the event loop thread into a ring; the receiving device
 * pulls it with console_read() and is told of new bytes through rx_ready(),
 * which is always called without the console lock held, so a device may call
 * console_read() from inside it (lock order: device -> console). When the
 * ring is full the input fd is taken out of the loop until the device makes
 * room: the host side is flow-controlled and no byte is lost. */
#include "console.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../vm.h"
#include "loop.h"
#include "seccomp.h"

#define RING_SIZE 4096
#define CTRL_A 0x01
/* One-shot: each wake-up is re-armed only when there is room for more, so a
 * full ring stops the wake-ups, hang-ups included (which epoll reports even
 * for an fd watched for nothing). */
#define INPUT_EVENTS (EPOLLIN | EPOLLONESHOT)

enum console_kind { CON_STDIO, CON_PTY, CON_UNIX };

struct console {
	struct vm *vm;
	enum console_kind kind;
	int in_fd, out_fd;        /* -1 when absent (unix: no client yet) */
	int listen_fd;            /* unix: the listening socket */
	int pty_slave_fd;         /* pty: kept open so the master never hangs up */
	char *path;               /* unix: socket path, unlinked on destroy */
	bool watching;            /* in_fd is registered with the loop */
	bool paused;              /* ... but not re-armed: the ring is full */
	bool escape;              /* stdio: the previous byte was Ctrl-A */

	/* Non-pollable stdin (a regular file): a reader thread instead of the
	 * loop, since epoll refuses regular files. */
	pthread_t reader;
	bool has_reader, stopping;
	pthread_cond_t room;

	pthread_mutex_t lock;     /* ring, receiver, fds */
	uint8_t ring[RING_SIZE];
	size_t head, count;
	void (*rx_ready)(void *opaque);
	void *rx_opaque;
	pthread_mutex_t out_lock; /* keeps one console_write's bytes together */
};

/* --- terminal mode ---------------------------------------------------- */

static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

void term_restore(void)
{
	/* tcsetattr is async-signal-safe: this runs from signal handlers too. */
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

static void term_signal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void term_atexit(void)
{
	term_restore();
}

/* Raw input as a serial line sees it: no echo, no line editing, no signals
 * (Ctrl-C goes to the guest), no CR/NL translation. Output processing stays
 * on so Trevo's own messages start at the left margin. */
static void term_make_raw(void)
{
	static bool handlers_installed;
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return;
	raw = saved_termios;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	termios_saved = 1;
	if (!handlers_installed) {
		struct sigaction sa = { .sa_handler = term_signal };
		sigemptyset(&sa.sa_mask);
		atexit(term_atexit);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		handlers_installed = true;
	}
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
		termios_saved = 0;
		warn("console: cannot put the terminal in raw mode: %s", strerror(errno));
	}
}

/* --- input ------------------------------------------------------------ */

static void ring_put(struct console *c, uint8_t b)
{
	if (c->count < RING_SIZE) {
		c->ring[(c->head + c->count) % RING_SIZE] = b;
		c->count++;
	}
}

/* Stdio escapes (as in QEMU): Ctrl-A X quits, Ctrl-A Ctrl-A is one Ctrl-A,
 * Ctrl-A followed by anything else passes both bytes. Called with the lock
 * held; the caller has made sure there is room for two bytes per input. */
static void console_input(struct console *c, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = buf[i];

		if (c->kind != CON_STDIO) {
			ring_put(c, b);
			continue;
		}
		if (c->escape) {
			c->escape = false;
			if (b == 'x' || b == 'X') {
				term_restore();
				vm_request_exit(c->vm, VM_QUIT, 0);
				continue;
			}
			ring_put(c, CTRL_A);
			if (b != CTRL_A)
				ring_put(c, b);
		} else if (b == CTRL_A) {
			c->escape = true;
		} else {
			ring_put(c, b);
		}
	}
}

static void notify_receiver(struct console *c)
{
	void (*fn)(void *);
	void *opaque;

	pthread_mutex_lock(&c->lock);
	fn = c->rx_ready;
	opaque = c->rx_opaque;
	pthread_mutex_unlock(&c->lock);
	if (fn)
		fn(opaque);
}

static void console_unwatch_locked(struct console *c)
{
	if (c->watching && c->vm->loop)
		loop_del_fd(c->vm->loop, c->in_fd);
	c->watching = false;
	c->paused = false;
}

static void client_close_locked(struct console *c)
{
	console_unwatch_locked(c);
	if (c->in_fd >= 0)
		close(c->in_fd);
	c->in_fd = c->out_fd = -1;
}

/* Loop thread: the input fd is readable (or hung up). */
static void console_on_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[RING_SIZE / 2];
	size_t room;
	ssize_t n;
	int fd, err;

	(void)events;
	pthread_mutex_lock(&c->lock);
	if (!c->watching || c->in_fd < 0) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	/* Two ring bytes per input byte at most (Ctrl-A + byte). */
	room = (RING_SIZE - c->count) / 2;
	if (room == 0) {
		c->paused = true;  /* console_read re-arms */
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (room > sizeof(buf))
		room = sizeof(buf);
	fd = c->in_fd;
	pthread_mutex_unlock(&c->lock);
	/* Read without the lock: a vCPU pulling input must never wait on a
	 * read that blocks. Only this thread adds to the ring or changes
	 * in_fd, so room and fd stay valid. */
	n = read(fd, buf, room);
	err = errno;
	pthread_mutex_lock(&c->lock);
	if (n < 0 && (err == EINTR || err == EAGAIN)) {
		loop_mod_fd(c->vm->loop, fd, INPUT_EVENTS);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (n <= 0) {
		/* End of input. Stdio: the guest runs on without input (tests
		 * pipe a script and close). Unix: the client left; wait for the
		 * next one. Pty: keep our slave, so this does not happen. */
		if (c->kind == CON_UNIX)
			client_close_locked(c);
		else
			console_unwatch_locked(c);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	console_input(c, buf, (size_t)n);
	if (RING_SIZE - c->count >= 2)
		loop_mod_fd(c->vm->loop, fd, INPUT_EVENTS);
	else
		c->paused = true;
	pthread_mutex_unlock(&c->lock);
	notify_receiver(c);
}

/* Reader thread for a stdin that epoll cannot watch (a regular file). */
static void *console_reader(void *opaque)
{
	struct console *c = opaque;
	uint8_t buf[256];

	seccomp_enter(SECCOMP_CONSOLE_READER);
	for (;;) {
		ssize_t n;

		pthread_mutex_lock(&c->lock);
		while (!c->stopping && RING_SIZE - c->count < 2 * sizeof(buf))
			pthread_cond_wait(&c->room, &c->lock);
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			return NULL;
		}
		pthread_mutex_unlock(&c->lock);
		n = read(c->in_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		pthread_mutex_lock(&c->lock);
		console_input(c, buf, (size_t)n);
		pthread_mutex_unlock(&c->lock);
		notify_receiver(c);
	}
}

size_t console_read(struct console *c, uint8_t *buf, size_t max)
{
	size_t n = 0;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	while (n < max && c->count) {
		buf[n++] = c->ring[c->head];
		c->head = (c->head + 1) % RING_SIZE;
		c->count--;
	}
	if (n && c->paused && c->vm->loop) {
		loop_mod_fd(c->vm->loop, c->in_fd, INPUT_EVENTS);
		c->paused = false;
	}
	if (n && c->has_reader)
		pthread_cond_signal(&c->room);
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t console_pending(struct console *c)
{
	size_t n;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void console_set_receiver(struct console *c, void (*rx_ready)(void *opaque), void *opaque)
{
	bool have;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->rx_ready = rx_ready;
	c->rx_opaque = opaque;
	have = c->count > 0;
	pthread_mutex_unlock(&c->lock);
	/* Input typed before the device existed. */
	if (have && rx_ready)
		rx_ready(opaque);
}

void console_clear_receiver(struct console *c, void *opaque)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->rx_opaque == opaque) {
		c->rx_ready = NULL;
		c->rx_opaque = NULL;
	}
	pthread_mutex_unlock(&c->lock);
}

/* --- output ----------------------------------------------------------- */

void console_write(struct console *c, const uint8_t *buf, size_t len)
{
	int fd;

	if (!c || !len)
		return;
	pthread_mutex_lock(&c->out_lock);
	/* A socket client may leave (and its fd be closed) on the loop thread:
	 * hold the lock across the write. Those fds are non-blocking, so this
	 * is short; stdio's fds never change. */
	if (c->kind != CON_STDIO)
		pthread_mutex_lock(&c->lock);
	fd = c->out_fd;
	while (len && fd >= 0) {
		ssize_t n = write(fd, buf, len);

		if (n > 0) {
			buf += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			/* Stdio readers (a terminal, a test harness) are waited
			 * for, briefly; a pty or socket nobody drains drops
			 * output as a serial line with no listener would. */
			if (c->kind == CON_STDIO ? poll(&p, 1, 1000) > 0 : false)
				continue;
		}
		break;  /* EPIPE, EIO, reader stuck: drop the rest */
	}
	if (c->kind != CON_STDIO)
		pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&c->out_lock);
}

/* --- back ends ---------------------------------------------------------- */

static int console_watch(struct console *c)
{
	int err;

	if (!c->vm->loop)
		return -EINVAL;
	err = loop_add_fd(c->vm->loop, c->in_fd, INPUT_EVENTS, console_on_input, c);
	if (!err)
		c->watching = true;
	return err;
}

static int console_open_stdio(struct console *c)
{
	int err;

	c->in_fd = STDIN_FILENO;
	c->out_fd = STDOUT_FILENO;
	term_make_raw();
	err = console_watch(c);
	if (err == -EPERM) {
		/* A regular file: epoll cannot watch it. */
		if (pthread_create(&c->reader, NULL, console_reader, c)) {
			warn("console: cannot start the stdin reader");
			return -EAGAIN;
		}
		c->has_reader = true;
		return 0;
	}
	if (err)
		warn("console: cannot watch stdin: %s", strerror(-err));
	/* A closed or odd stdin is no reason to refuse to run the guest. */
	return 0;
}

static int console_open_pty(struct console *c)
{
	struct termios t;
	const char *name;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0 || grantpt(m) || unlockpt(m) || !(name = ptsname(m))) {
		warn("console: cannot open a pty: %s", strerror(errno));
		if (m >= 0)
			close(m);
		return -errno;
	}
	c->pty_slave_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (c->pty_slave_fd >= 0 && tcgetattr(c->pty_slave_fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(c->pty_slave_fd, TCSANOW, &t);
	}
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
	c->in_fd = c->out_fd = m;
	fprintf(stderr, "trevo: console on %s\n", name);
	return console_watch(c);
}

/* Loop thread: a client knocks. One at a time; others are turned away. */
static void console_on_accept(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (fd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->in_fd >= 0) {
		pthread_mutex_unlock(&c->lock);
		close(fd);
		return;
	}
	c->in_fd = c->out_fd = fd;
	if (console_watch(c))
		client_close_locked(c);
	pthread_mutex_unlock(&c->lock);
}

static int console_open_unix(struct console *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int err;

	if (strlen(path) == 0 || strlen(path) >= sizeof(sa.sun_path)) {
		warn("console: bad unix socket path '%s'", path);
		return -EINVAL;
	}
	if (!c->vm->loop) {
		warn("console: unix sockets need the event loop");
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	/* A stale socket from an earlier run; never remove anything else. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->listen_fd, 1) < 0) {
		err = -errno;
		warn("console: cannot listen on %s: %s", path, strerror(errno));
		return err;
	}
	c->path = strdup(path);
	return loop_add_fd(c->vm->loop, c->listen_fd, EPOLLIN, console_on_accept, c);
}

struct console *console_create(struct vm *vm, const char *spec)
{
	struct console *c;
	int err;

	if (!spec)
		spec = "stdio";
	if (strcmp(spec, "stdio") && strcmp(spec, "pty") && strncmp(spec, "unix:", 5)) {
		warn("console: unknown console '%s' (stdio, pty or unix:PATH)", spec);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->vm = vm;
	c->in_fd = c->out_fd = c->listen_fd = c->pty_slave_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->out_lock, NULL);
	pthread_cond_init(&c->room, NULL);
	/* A reader that went away must not kill trevo: writes get EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(spec, "stdio")) {
		c->kind = CON_STDIO;
		err = console_open_stdio(c);
	} else if (!strcmp(spec, "pty")) {
		c->kind = CON_PTY;
		err = console_open_pty(c);
	} else {
		c->kind = CON_UNIX;
		err = console_open_unix(c, spec + 5);
	}
	if (err) {
		console_destroy(c);
		return NULL;
	}
	return c;
}

/* Call after loop_stop(), or at least when no device uses the console. */
void console_destroy(struct console *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->room);
	console_unwatch_locked(c);
	pthread_mutex_unlock(&c->lock);
	if (c->has_reader)
		pthread_join(c->reader, NULL);
	if (c->listen_fd >= 0) {
		if (c->vm->loop)
			loop_del_fd(c->vm->loop, c->listen_fd);
		close(c->listen_fd);
	}
	if (c->kind != CON_STDIO && c->in_fd >= 0)
		close(c->in_fd);
	if (c->pty_slave_fd >= 0)
		close(c->pty_slave_fd);
	if (c->path)
		unlink(c->path);
	if (c->kind == CON_STDIO) {
		term_restore();
		termios_saved = 0;  /* the terminal is no longer ours */
	}
	free(c->path);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->out_lock);
	pthread_cond_destroy(&c->room);
	free(c);
}
