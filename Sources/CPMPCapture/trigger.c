// The dump trigger: its handler (signal context) adds 1 to an eventfd, which the trigger's thread reads.

#include "internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static _Atomic int trigger_fd = -1;
static struct sigaction trigger_previous;
static int trigger_signo;

PMP_SIGNAL_SAFE static void trigger_handler(int signo) {
    (void)signo;
    int saved_errno = errno;
    int fd = atomic_load_explicit(&trigger_fd, memory_order_acquire);
    if (fd >= 0) {
        uint64_t one = 1;
        ssize_t ignored = write(fd, &one, sizeof one);  // an eventfd: signals coalesce into its counter
        (void)ignored;
    }
    errno = saved_errno;
}

int pmp_trigger_install(int signo, int fd) {
    if (trigger_signo != 0) return -EALREADY;
    atomic_store_explicit(&trigger_fd, fd, memory_order_release);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = trigger_handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(signo, &action, &trigger_previous) != 0) return -errno;
    trigger_signo = signo;
    return 0;
}

int pmp_trigger_uninstall(int signo) {
    if (trigger_signo != signo) return -EINVAL;
    if (sigaction(signo, &trigger_previous, NULL) != 0) return -errno;
    trigger_signo = 0;
    atomic_store_explicit(&trigger_fd, -1, memory_order_release);
    return 0;
}
