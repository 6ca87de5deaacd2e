// The stream's output queue: gathering, partial sends, and the rule that bytes a send in
// flight refers to never move, whatever is queued meanwhile.
#include <catch2/catch.hpp>

#include "../../src/ioloop/write_queue.hpp"

#include <string>
#include <vector>

namespace {

using gale::detail::WriteQueue;

std::string gathered(const iovec* vectors, std::size_t count) {
    std::string text;
    for (std::size_t i = 0; i < count; ++i) {
        text.append(static_cast<const char*>(vectors[i].iov_base), vectors[i].iov_len);
    }
    return text;
}

}  // namespace

TEST_CASE("WriteQueue: small writes coalesce into one chunk", "[write_queue]") {
    WriteQueue queue;
    queue.push(std::string_view("HTTP/1.1 200 OK\r\n"));
    queue.push(std::string_view("Content-Length: 2\r\n\r\n"));
    queue.push(std::string("hi"));
    iovec vectors[WriteQueue::max_iovecs];
    std::size_t count = queue.gather(vectors);
    CHECK(count == 1);
    CHECK(gathered(vectors, count) == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    CHECK(queue.size() == 40);
}

// Pipelined responses: a full chunk is not reallocated (and copied); the next one has room
// for twice as much, at least 1 KiB, up to the coalescing limit.
TEST_CASE("WriteQueue: a full chunk is followed, not grown", "[write_queue]") {
    WriteQueue queue;
    std::string expected;
    const char* first_bytes = nullptr;
    for (int i = 0; i < 200; ++i) {
        std::string response(150, static_cast<char>('a' + i % 26));
        queue.push(std::string_view(response));
        expected += response;
        iovec vectors[WriteQueue::max_iovecs];
        std::size_t count = queue.gather(vectors);
        queue.consume(0);  // unfreezes: nothing was sent
        if (first_bytes == nullptr) {
            first_bytes = static_cast<const char*>(vectors[0].iov_base);
        }
        CHECK(vectors[0].iov_base == first_bytes);  // never moved by a later write
        if (i == 15) {
            CHECK(count <= 4);  // sixteen responses: a few chunks, not one per response
        }
    }
    iovec vectors[WriteQueue::max_iovecs];
    std::size_t count = queue.gather(vectors);
    CHECK(count <= 7);  // 30 KB: 150 bytes, then 1, 2, 4, 8 and 16 KiB chunks at most
    CHECK(gathered(vectors, count) == expected);
    CHECK(queue.size() == expected.size());
}

TEST_CASE("WriteQueue: frozen bytes stay put while many chunks are queued behind them",
          "[write_queue]") {
    WriteQueue queue;
    queue.push(std::string("tiny"));  // short enough for the small-string buffer
    iovec vectors[WriteQueue::max_iovecs];
    REQUIRE(queue.gather(vectors) == 1);
    const void* in_flight = vectors[0].iov_base;
    std::vector<std::shared_ptr<const std::string>> frames;
    for (int i = 0; i < 200; ++i) {  // grows the chunk vector many times
        auto frame = std::make_shared<const std::string>("frame " + std::to_string(i));
        frames.push_back(frame);
        queue.push(frame);
        queue.push(std::string("x"));
    }
    CHECK(vectors[0].iov_base == in_flight);
    CHECK(std::string(static_cast<const char*>(in_flight), 4) == "tiny");
    queue.consume(4);
    std::size_t count = queue.gather(vectors);
    CHECK(count == WriteQueue::max_iovecs);
    CHECK(gathered(vectors, 2) == "frame 0x");
}

TEST_CASE("WriteQueue: partial sends resume mid-chunk", "[write_queue]") {
    WriteQueue queue;
    queue.push(std::string(100, 'a'));
    queue.push(std::make_shared<const std::string>(50, 'b'));
    iovec vectors[WriteQueue::max_iovecs];
    REQUIRE(queue.gather(vectors) == 2);
    queue.consume(120);
    CHECK(queue.size() == 30);
    std::size_t count = queue.gather(vectors);
    CHECK(gathered(vectors, count) == std::string(30, 'b'));
    queue.consume(30);
    CHECK(queue.empty());
    CHECK(queue.gather(vectors) == 0);
}

TEST_CASE("WriteQueue: dropping keeps only what a send in flight reads", "[write_queue]") {
    WriteQueue queue;
    queue.push(std::string(40, 'a'));
    iovec vectors[WriteQueue::max_iovecs];
    REQUIRE(queue.gather(vectors) == 1);
    queue.push(std::make_shared<const std::string>(10, 'b'));
    queue.push(std::string(20, 'c'));
    queue.drop_unfrozen();
    CHECK(queue.size() == 40);
    queue.consume(40);
    CHECK(queue.empty());
    queue.push(std::string_view("after"));
    std::size_t count = queue.gather(vectors);
    CHECK(gathered(vectors, count) == "after");
}

TEST_CASE("WriteQueue: storage kept for reuse, or released when the queue empties",
          "[write_queue]") {
    WriteQueue queue;
    iovec vectors[WriteQueue::max_iovecs];
    const std::string response(100, 'r');
    queue.push(std::string_view(response));
    REQUIRE(queue.gather(vectors) == 1);
    queue.consume(response.size());
    CHECK(queue.empty());
    CHECK(queue.retained_bytes() > response.size());  // the spare and the slots stay

    queue.set_release_when_empty(true);  // frees at once what an empty queue holds, but a slot
    CHECK(queue.retained_bytes() <= 64);
    queue.push(std::string_view(response));
    queue.push(std::make_shared<const std::string>("shared"));
    REQUIRE(queue.gather(vectors) == 2);
    queue.consume(response.size());  // one chunk still queued: nothing released yet
    CHECK(queue.retained_bytes() > 0);
    queue.consume(6);
    CHECK(queue.empty());
    CHECK(queue.retained_bytes() <= 64);
}
