/* The host I/O event loop: one thread that waits on file descriptors
 * (terminal, tap, eventfds of device back ends) and calls their handlers, so
 * that device I/O stays off the vCPU threads (STYLE.md lesson 5). */
#ifndef TREVO_LOOP_H
#define TREVO_LOOP_H

#include "../common.h"

struct event_loop;

/* events: EPOLLIN / EPOLLOUT bits as returned by epoll. */
typedef void (*loop_fd_fn)(void *opaque, uint32_t events);

struct event_loop *loop_create(void);
/* Add or remove a watched fd; callable from any thread. */
int loop_add_fd(struct event_loop *l, int fd, uint32_t events, loop_fd_fn fn, void *opaque);
int loop_mod_fd(struct event_loop *l, int fd, uint32_t events);
int loop_del_fd(struct event_loop *l, int fd);
/* Start the loop thread. */
int loop_start(struct event_loop *l);
/* Stop and join the thread (handlers no longer run afterwards). */
void loop_stop(struct event_loop *l);
/* Stop it if running, then free it and every watch (removed ones too). */
void loop_destroy(struct event_loop *l);

#endif
