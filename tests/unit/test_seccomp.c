/* The sandbox (src/host/seccomp.c): a thread that confined itself may do
 * its kind's work, and the first call outside its list ends the process
 * with status 159 and a message naming the call and the thread kind. Each
 * case runs in a forked child, since a filter is for good. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/seccomp.h"

static int failures;

#define CHECK(name, cond)                                                        \
	do {                                                                     \
		if (cond)                                                        \
			printf("PASS seccomp-%s\n", name);                       \
		else {                                                           \
			printf("FAIL seccomp-%s: %s (line %d)\n", name, #cond,   \
			       __LINE__);                                        \
			failures++;                                              \
		}                                                                \
	} while (0)

/* Run fn(kind) in a child with the sandbox on; its status and stderr. */
static int in_child(void (*fn)(enum seccomp_thread), enum seccomp_thread kind, bool on,
		    char *err, size_t errlen)
{
	int pfd[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		seccomp_setup(on);
		fn(kind);
		_exit(0);
	}
	close(pfd[1]);
	while (got < (ssize_t)errlen - 1 && (n = read(pfd[0], err + got, errlen - 1 - got)) > 0)
		got += n;
	err[got] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* socket() is the first thing an escaped device model would want. */
static void make_socket(enum seccomp_thread kind)
{
	seccomp_enter(kind);
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

/* Its own work: a blk worker reads and writes its image. */
static void blk_work(enum seccomp_thread kind)
{
	char buf[16] = "x";
	int fd = open("/dev/null", O_RDWR);

	seccomp_enter(kind);
	/* /dev/null refuses fdatasync with EINVAL: allowed, not trapped. */
	if (pwrite(fd, buf, 1, 0) != 1 || pread(fd, buf, 1, 0) < 0 || fdatasync(fd) < 0)
		buf[0] = 0;
	free(malloc(1 << 20));  /* malloc's mmap, without PROT_EXEC */
	_exit(0);
}

static void *thread_body(void *arg)
{
	(void)arg;
	seccomp_enter(SECCOMP_QMP);
	syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	return NULL;
}

/* A thread confines itself alone: the main thread is not affected until
 * the other one trips. */
static void two_threads(enum seccomp_thread kind)
{
	pthread_t t;

	(void)kind;
	pthread_create(&t, NULL, thread_body, NULL);
	pthread_join(t, NULL);
	_exit(0);
}

static void main_exec_mapping(enum seccomp_thread kind)
{
	seccomp_enter(kind);
	syscall(SYS_mmap, NULL, 4096, 7 /* PROT_READ|WRITE|EXEC */, 0x22 /* PRIVATE|ANON */, -1, 0);
	_exit(0);
}

int main(void)
{
	char err[1024];
	int st;

	st = in_child(make_socket, SECCOMP_BLK_WORKER, true, err, sizeof(err));
	CHECK("blk-socket-killed", st == 159);
	CHECK("blk-socket-message", strstr(err, "seccomp:") && strstr(err, "socket") &&
		     strstr(err, "disk worker"));
	st = in_child(make_socket, SECCOMP_VCPU_INTERP, true, err, sizeof(err));
	CHECK("vcpu-socket-killed", st == 159 && strstr(err, "vCPU (interp)"));
	st = in_child(make_socket, SECCOMP_NET_WORKER, true, err, sizeof(err));
	CHECK("net-socket-allowed", st == 0);
	st = in_child(make_socket, SECCOMP_BLK_WORKER, false, err, sizeof(err));
	CHECK("off-allows", st == 0 && !strstr(err, "seccomp"));
	st = in_child(blk_work, SECCOMP_BLK_WORKER, true, err, sizeof(err));
	CHECK("blk-own-work", st == 0);
	st = in_child(two_threads, SECCOMP_MAIN, true, err, sizeof(err));
	CHECK("thread-own-list", st == 159 && strstr(err, "socket") && strstr(err, "QMP"));
	st = in_child(main_exec_mapping, SECCOMP_MAIN, true, err, sizeof(err));
#if defined(__SANITIZE_ADDRESS__)
	(void)st;
	printf("SKIP seccomp-no-exec-mmap: the sanitizer build allows any mmap\n");
#else
	CHECK("no-exec-mmap", st == 159 && strstr(err, "mmap"));
#endif
	return failures ? 1 : 0;
}
