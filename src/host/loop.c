#include "loop.h"
#include "seccomp.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct watch {
	int fd;
	loop_fd_fn fn;
	void *opaque;
	struct watch *next;
};

struct event_loop {
	int epfd;
	int stopfd;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	struct watch *watches;
};

struct event_loop *loop_create(void)
{
	struct event_loop *l = calloc(1, sizeof(*l));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->stopfd < 0) {
		free(l);
		return NULL;
	}
	ev.data.ptr = NULL;
	epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stopfd, &ev);
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

int loop_add_fd(struct event_loop *l, int fd, uint32_t events, loop_fd_fn fn, void *opaque)
{
	struct watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->fn = fn;
	w->opaque = opaque;
	ev.data.ptr = w;
	pthread_mutex_lock(&l->lock);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;
		pthread_mutex_unlock(&l->lock);
		free(w);
		return err;
	}
	w->next = l->watches;
	l->watches = w;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static struct watch *find_watch(struct event_loop *l, int fd, struct watch ***link)
{
	struct watch **pp;

	for (pp = &l->watches; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

int loop_mod_fd(struct event_loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	struct watch *w;
	int ret;

	pthread_mutex_lock(&l->lock);
	w = find_watch(l, fd, NULL);
	ev.data.ptr = w;
	ret = w ? epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) : -1;
	pthread_mutex_unlock(&l->lock);
	return ret < 0 ? -ENOENT : 0;
}

/* Removed watches are kept allocated until loop_stop: an epoll_wait batch
 * in flight may still name them. */
int loop_del_fd(struct event_loop *l, int fd)
{
	struct watch *w;

	pthread_mutex_lock(&l->lock);
	w = find_watch(l, fd, NULL);
	if (w) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		w->fn = NULL;
	}
	pthread_mutex_unlock(&l->lock);
	return w ? 0 : -ENOENT;
}

static void *loop_thread(void *arg)
{
	struct event_loop *l = arg;
	struct epoll_event evs[32];

	seccomp_enter(SECCOMP_EVENT_LOOP);
	for (;;) {
		int n = epoll_wait(l->epfd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			loop_fd_fn fn;
			if (!w)
				return NULL; /* stopfd */
			pthread_mutex_lock(&l->lock);
			fn = w->fn;
			pthread_mutex_unlock(&l->lock);
			if (fn)
				fn(w->opaque, evs[i].events);
		}
	}
	return NULL;
}

int loop_start(struct event_loop *l)
{
	if (pthread_create(&l->thread, NULL, loop_thread, l))
		return -EAGAIN;
	l->running = true;
	return 0;
}

void loop_stop(struct event_loop *l)
{
	uint64_t one = 1;

	if (!l || !l->running)
		return;
	if (write(l->stopfd, &one, sizeof(one)) < 0)
		warn("loop: cannot wake the I/O thread");
	pthread_join(l->thread, NULL);
	l->running = false;
}

void loop_destroy(struct event_loop *l)
{
	if (!l)
		return;
	loop_stop(l);
	while (l->watches) {
		struct watch *next = l->watches->next;
		free(l->watches);
		l->watches = next;
	}
	close(l->epfd);
	close(l->stopfd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
