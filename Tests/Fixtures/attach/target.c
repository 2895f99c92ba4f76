// A target for dumps from outside: N threads, thread i blocked (in a condition wait, a pipe read, a sleep or
// an epoll_wait) at recursion depth 3 + i % 8; a ticker thread that records the time of every tick in a
// shared file; and a tracer mode that holds another process traced.
//
//   target --threads N [--ticker FILE]     prints "ready PID" once every thread waits at its depth
//   target --trace PID                     seizes PID, prints "tracing", sleeps until killed
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_cond_t arrived = PTHREAD_COND_INITIALIZER;
static int waiting = 0;
static int pipes[2];
static int poller;

struct ticks {
    volatile unsigned long count;
    volatile long long at[1 << 20];  // CLOCK_MONOTONIC ns of each tick, a ring
};

__attribute__((noinline)) static void block(int kind) {
    pthread_mutex_lock(&lock);
    waiting++;
    pthread_cond_signal(&arrived);
    if (kind != 0) pthread_mutex_unlock(&lock);
    switch (kind) {
    case 0:
        for (;;) pthread_cond_wait(&never, &lock);
    case 1: {
        char byte;
        for (;;) (void)!read(pipes[0], &byte, 1);
    }
    case 2:
        for (;;) sleep(1000);
    default: {
        struct epoll_event event;
        for (;;) epoll_wait(poller, &event, 1, -1);
    }
    }
}

__attribute__((noinline)) static int descend(int depth, int kind) {
    volatile int keep = depth;
    if (depth > 0) keep += descend(depth - 1, kind);
    else block(kind);
    return keep;  // not a tail call: every level keeps its frame
}

static void *worker(void *argument) {
    long index = (long)argument;
    descend(3 + (int)(index % 8), (int)(index % 4));
    return NULL;
}

static struct ticks *ticks;

static long long now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000 + now.tv_nsec;
}

static void *ticker(void *unused) {
    (void)unused;
    pthread_setname_np(pthread_self(), "ticker");
    for (;;) {
        unsigned long n = ticks->count;
        ticks->at[n % (1 << 20)] = now_ns();
        ticks->count = n + 1;
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int threads = 100;
    const char *tickFile = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--ticker") == 0) tickFile = argv[i + 1];
        else if (strcmp(argv[i], "--trace") == 0) {
            pid_t target = atoi(argv[i + 1]);
            if (ptrace(PTRACE_SEIZE, target, 0, 0) != 0) { perror("seize"); return 1; }
            printf("tracing\n");
            fflush(stdout);
            for (;;) pause();
        }
    }
    if (pipe(pipes) != 0) return 1;
    poller = epoll_create1(0);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, 64 * 1024);
    for (long i = 0; i < threads; i++) {
        pthread_t thread;
        if (pthread_create(&thread, &attributes, worker, (void *)i) != 0) { perror("pthread_create"); return 1; }
    }
    pthread_mutex_lock(&lock);
    while (waiting < threads) pthread_cond_wait(&arrived, &lock);
    pthread_mutex_unlock(&lock);
    if (tickFile) {
        int fd = open(tickFile, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || ftruncate(fd, sizeof(struct ticks)) != 0) return 1;
        ticks = mmap(NULL, sizeof(struct ticks), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        pthread_t thread;
        pthread_create(&thread, NULL, ticker, NULL);
    }
    printf("ready %d\n", getpid());
    fflush(stdout);
    for (;;) pause();
}
