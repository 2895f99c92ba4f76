// The least a capture of N threads can cost on this machine: N threads parked in pause(), each sent one
// queued signal whose handler only reads its CPU clock and counts, the last one waking the sender, as a
// capture does without a stack walk. For each line on stdin it runs one round and prints its milliseconds.
//
//     cc -O2 -pthread -o signal-floor tools/signal-floor.c && ./signal-floor 1000
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pid_t *tids;
static _Atomic int started;
static _Atomic unsigned answered;
static _Atomic unsigned target;

static void handler(int signo, siginfo_t *info, void *context) {
    (void)signo, (void)info, (void)context;
    struct timespec cpu;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    if (atomic_fetch_add(&answered, 1) + 1 == atomic_load(&target)) {
        syscall(SYS_futex, &answered, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

static void *parked(void *index) {
    tids[(long)index] = (pid_t)syscall(SYS_gettid);
    atomic_fetch_add(&started, 1);
    for (;;) pause();
    return NULL;
}

static double milliseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    long count = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
    if (count < 1 || count > 100000) {
        fprintf(stderr, "usage: signal-floor [THREADS (1-100000, default 1000)]\n");
        return 2;
    }
    tids = calloc((size_t)count, sizeof *tids);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGPROF, &action, NULL);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, 1 << 16);
    for (long i = 0; i < count; i++) {
        pthread_t thread;
        if (pthread_create(&thread, &attributes, parked, (void *)i) != 0) {
            perror("signal-floor: pthread_create");
            return 1;
        }
    }
    while (atomic_load(&started) < count) usleep(1000);
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
        unsigned before = atomic_load(&answered);
        atomic_store(&target, before + (unsigned)count);
        double start = milliseconds();
        for (long i = 0; i < count; i++) {
            siginfo_t info;
            memset(&info, 0, sizeof info);
            info.si_signo = SIGPROF;
            info.si_code = SI_QUEUE;
            info.si_pid = getpid();
            info.si_uid = getuid();
            syscall(SYS_rt_tgsigqueueinfo, getpid(), tids[i], SIGPROF, &info);
        }
        for (;;) {
            unsigned now = atomic_load(&answered);
            if (now - before >= (unsigned)count) break;
            syscall(SYS_futex, &answered, FUTEX_WAIT_PRIVATE, now, NULL, NULL, 0);
        }
        printf("%.3f\n", milliseconds() - start);
        fflush(stdout);
    }
    return 0;
}
