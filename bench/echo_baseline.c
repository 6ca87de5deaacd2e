/*
 * echo_baseline: the hand-written ceiling for the echo benchmark.
 *
 * One thread, one epoll (level-triggered), non-blocking sockets: read what is there, write
 * it back, nothing else. No buffering beyond one read (a partial write is finished with a
 * blocking-style retry loop, which never happens with the benchmark's small messages).
 *
 *   echo_baseline PORT        listens on 127.0.0.1:PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void on_signal(int signal_number) { (void)signal_number; stopping = 1; }

static void write_all(int fd, const char *data, ssize_t length) {
    while (length > 0) {
        ssize_t written = send(fd, data, (size_t)length, MSG_NOSIGNAL);
        if (written < 0 && errno != EAGAIN && errno != EINTR) {
            return;
        }
        if (written > 0) {
            data += written;
            length -= written;
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: echo_baseline PORT\n");
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)atoi(argv[1]));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(listener, 4096) != 0) {
        perror("bind/listen");
        return 1;
    }
    int epoll = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    struct epoll_event events[256];
    static char buffer[65536];
    while (!stopping) {
        int count = epoll_wait(epoll, events, 256, 200);
        for (int i = 0; i < count; ++i) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                int client;
                while ((client = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event client_event = {.events = EPOLLIN, .data.fd = client};
                    epoll_ctl(epoll, EPOLL_CTL_ADD, client, &client_event);
                }
                continue;
            }
            ssize_t received = recv(fd, buffer, sizeof buffer, 0);
            if (received > 0) {
                write_all(fd, buffer, received);
            } else if (received == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(fd);
            }
        }
    }
    return 0;
}
