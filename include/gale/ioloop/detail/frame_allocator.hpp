#pragma once
// Per-thread free-list allocator for coroutine frames, and for the other small blocks that
// live for one request (request handlers, receive buffers).
//
// Frames are allocated and freed at a high rate (one per Task). Sizes are rounded up to a
// 64-byte class and freed frames are kept in a small per-thread list per class, so the
// common case is a pointer pop. Sanitizer builds bypass the cache so use-after-free of a
// frame is still caught.

#include <cstddef>

namespace gale::detail {

void* allocate_frame(std::size_t size);
void deallocate_frame(void* pointer, std::size_t size) noexcept;

}  // namespace gale::detail
