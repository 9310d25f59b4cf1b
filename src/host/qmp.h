/* The management socket: QMP, the QEMU Machine Protocol (qemu-qmp-ref(7)),
 * so that QEMU's clients and habits carry over. The server runs on a thread
 * of its own and drives the VM through the control calls of vm.h. */
#ifndef TREVO_QMP_H
#define TREVO_QMP_H

struct vm;

/* spec: "unix:PATH[,server][,nowait]" (socket mode 0600). Starts the QMP
 * thread and installs vm->event. 0, or prints one line and returns -errno. */
int qmp_start(struct vm *vm, const char *spec);
/* Send what is queued (the SHUTDOWN event), close every client, join the
 * thread, remove the socket. Safe to call without qmp_start. */
void qmp_stop(struct vm *vm);

/* `trevo qmp SOCKET COMMAND [key=value ...]`: one command, the reply as
 * JSON on stdout. argv[0] is SOCKET. Returns the exit status. */
int qmp_client_main(int argc, char **argv);

#endif
