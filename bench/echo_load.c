/*
 * echo_load: load generator for the echo benchmark (raw epoll, one thread).
 *
 * Opens CONNECTIONS connections to 127.0.0.1:PORT; each sends a SIZE-byte message, waits
 * for all of it to come back, and sends the next (ping-pong). After a WARMUP-second warm-up
 * it counts completed round trips for SECONDS seconds and prints one JSON line:
 *   {"messages": N, "seconds": S, "rate": N/S, "errors": E}
 *
 *   echo_load PORT CONNECTIONS SIZE SECONDS [WARMUP]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (double)time.tv_sec + (double)time.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: echo_load PORT CONNECTIONS SIZE SECONDS [WARMUP]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int connections = atoi(argv[2]);
    int size = atoi(argv[3]);
    double seconds = atof(argv[4]);
    double warmup = argc > 5 ? atof(argv[5]) : 1.0;
    char *message = malloc((size_t)size);
    memset(message, 'm', (size_t)size);
    int *pending = calloc((size_t)connections + 1024, sizeof(int)); /* bytes still to come back, by fd */
    int epoll = epoll_create1(0);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    for (int i = 0; i < connections; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
            perror("connect");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
        send(fd, message, (size_t)size, MSG_NOSIGNAL);
        pending[fd] = size;
    }
    struct epoll_event events[256];
    static char buffer[65536];
    long long messages = 0, errors = 0;
    double start = now_seconds();
    double measure_from = start + warmup;
    double end = measure_from + seconds;
    int measuring = 0;
    while (1) {
        double now = now_seconds();
        if (!measuring && now >= measure_from) {
            measuring = 1;
            messages = 0;
        }
        if (now >= end) {
            break;
        }
        int count = epoll_wait(epoll, events, 256, 100);
        for (int i = 0; i < count; ++i) {
            int fd = events[i].data.fd;
            ssize_t received = recv(fd, buffer, sizeof buffer, 0);
            if (received <= 0) {
                ++errors;
                epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
                continue;
            }
            pending[fd] -= (int)received;
            if (pending[fd] <= 0) {
                ++messages;
                pending[fd] = size;
                send(fd, message, (size_t)size, MSG_NOSIGNAL);
            }
        }
    }
    printf("{\"messages\": %lld, \"seconds\": %.3f, \"rate\": %.1f, \"errors\": %lld}\n", messages,
           seconds, (double)messages / seconds, errors);
    return 0;
}
