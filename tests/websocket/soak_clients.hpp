#pragma once
// The client side of the soak test, run in a forked child process so that the server's
// process holds only the server's sockets (10,000 connections need 10,000 descriptors on each
// side) and its memory is the server's. Plain blocking POSIX sockets with receive and send
// timeouts, no gale: nothing of the parent's loop is touched after fork().
//
// Protocol on the control socket (one line per step):
//   child  -> "open N"      N upgrades answered with 101 (then waits for the broadcast)
//   child  -> "received N"  N connections got exactly the broadcast payload
//   child  -> "closed N"    N connections got a close frame with `expected_code`, answered it,
//                           and saw the server end the TCP connection
// On a failure the child writes "error <what>" and exits with status 1.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gale::websocket::test::soak {

struct ClientFailure {
    std::string what;
};

inline void send_all(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t count = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (count <= 0) {
            throw ClientFailure{"send failed"};
        }
        sent += static_cast<std::size_t>(count);
    }
}

inline std::string receive_exactly(int fd, std::size_t size) {
    std::string data(size, '\0');
    std::size_t received = 0;
    while (received < size) {
        const ssize_t count = ::recv(fd, data.data() + received, size - received, 0);
        if (count <= 0) {
            throw ClientFailure{"connection ended or timed out while reading a frame"};
        }
        received += static_cast<std::size_t>(count);
    }
    return data;
}

inline int connect_blocking(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw ClientFailure{"socket() failed (descriptor limit?)"};
    }
    // Bounded blocking: a server that stops answering fails the child, it never hangs.
    timeval timeout{60, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        throw ClientFailure{"connect failed"};
    }
    return fd;
}

// The 101's head, read byte by byte so that nothing after it is consumed.
inline std::string read_response_head(int fd) {
    std::string head;
    while (head.size() < 4096 && !head.ends_with("\r\n\r\n")) {
        head += receive_exactly(fd, 1);
    }
    return head;
}

inline int upgrade(std::uint16_t port, const std::string& path) {
    const int fd = connect_blocking(port);
    send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                     "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n");
    if (!read_response_head(fd).starts_with("HTTP/1.1 101 ")) {
        ::close(fd);
        throw ClientFailure{"the upgrade was not answered with 101"};
    }
    return fd;
}

// One unmasked frame from the server (payloads below 64 KiB).
struct Frame {
    int opcode = 0;
    std::string payload;
};

inline Frame read_frame(int fd) {
    const std::string header = receive_exactly(fd, 2);
    Frame frame;
    frame.opcode = static_cast<std::uint8_t>(header[0]) & 0x0F;
    std::size_t length = static_cast<std::uint8_t>(header[1]) & 0x7F;
    if (length == 126) {
        const std::string extended = receive_exactly(fd, 2);
        length = (std::size_t{static_cast<std::uint8_t>(extended[0])} << 8) |
                 static_cast<std::uint8_t>(extended[1]);
    } else if (length == 127) {
        throw ClientFailure{"unexpected 64-bit frame length"};
    }
    frame.payload = receive_exactly(fd, length);
    return frame;
}

// A masked close frame with `code` (mask key 1 2 3 4).
inline std::string close_frame(int code) {
    const char key[4] = {1, 2, 3, 4};
    std::string frame = {'\x88', '\x82', key[0], key[1], key[2], key[3]};
    frame += static_cast<char>(((code >> 8) & 0xFF) ^ key[0]);
    frame += static_cast<char>((code & 0xFF) ^ key[1]);
    return frame;
}

// Reads the close frame, answers it, and waits for the server's end of the connection.
inline bool close_handshake(int fd, int expected_code) {
    const Frame frame = read_frame(fd);
    if (frame.opcode != 0x8 || frame.payload.size() < 2) {
        return false;
    }
    const int code = (static_cast<std::uint8_t>(frame.payload[0]) << 8) |
                     static_cast<std::uint8_t>(frame.payload[1]);
    send_all(fd, close_frame(code));
    char byte;
    return code == expected_code && ::recv(fd, &byte, 1, 0) == 0;
}

// The child's whole job (see the file comment); returns the exit status.
inline int run_clients(int control, std::uint16_t port, const std::string& path, int count,
                       const std::string& payload, int expected_code) {
    std::vector<int> sockets;
    try {
        for (int index = 0; index < count; ++index) {
            sockets.push_back(upgrade(port, path));
        }
        send_all(control, "open " + std::to_string(sockets.size()) + "\n");
        int received = 0;
        for (int fd : sockets) {
            const Frame frame = read_frame(fd);
            received += frame.opcode == 0x1 && frame.payload == payload;
        }
        send_all(control, "received " + std::to_string(received) + "\n");
        int closed = 0;
        for (int fd : sockets) {
            closed += close_handshake(fd, expected_code);
            ::close(fd);
        }
        send_all(control, "closed " + std::to_string(closed) + "\n");
        return 0;
    } catch (const ClientFailure& failure) {
        const std::string line =
            "error " + failure.what + " after " + std::to_string(sockets.size()) + " connections\n";
        static_cast<void>(::send(control, line.data(), line.size(), MSG_NOSIGNAL));
        return 1;
    }
}

}  // namespace gale::websocket::test::soak
