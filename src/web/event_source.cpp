#include <gale/web/event_source.hpp>
#include <gale/web/request_handler.hpp>

#include <charconv>
#include <cstdint>
#include <utility>

namespace gale::web {

namespace {

constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";

// Refuses what would end a field early: a line break would let the value inject fields.
void check_field(std::string_view field, std::string_view value) {
    if (value.find_first_of("\r\n") != std::string_view::npos) {
        throw EventStreamError("server-sent event " + std::string(field) +
                               " contains a line break: " + std::string(value.substr(0, 64)));
    }
}

// Calls `line` for each line of `text`, split at LF, CR or CRLF (what clients split at).
template <class Function>
void for_each_line(std::string_view text, Function&& line) {
    std::size_t start = 0;
    while (true) {
        std::size_t end = text.find_first_of("\r\n", start);
        if (end == std::string_view::npos) {
            line(text.substr(start));
            return;
        }
        line(text.substr(start, end - start));
        start = end + 1;
        if (text[end] == '\r' && start < text.size() && text[start] == '\n') {
            ++start;
        }
    }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ':';
    if (!value.empty()) {
        out += ' ';  // one space after the colon is dropped by the client
        out += value;
    }
    out += '\n';
}

}  // namespace

void append_event(std::string& out, const ServerSentEvent& event) {
    check_field("event type", event.event);
    if (event.id) {
        check_field("id", *event.id);
        if (event.id->find('\0') != std::string::npos) {
            throw EventStreamError("server-sent event id contains NUL (clients ignore it)");
        }
    }
    if (event.retry) {
        if (event.retry->count() < 0) {
            throw EventStreamError("server-sent event retry is negative: " +
                                   std::to_string(event.retry->count()) + " ms");
        }
        append_field(out, "retry", std::to_string(event.retry->count()));
    }
    if (!event.event.empty()) {
        append_field(out, "event", event.event);
    }
    if (event.id) {
        append_field(out, "id", *event.id);
    }
    for_each_line(event.data, [&out](std::string_view line) { append_field(out, "data", line); });
    out += '\n';
}

std::string format_event(const ServerSentEvent& event) {
    std::string out;
    out.reserve(event.data.size() + event.event.size() + 32);
    append_event(out, event);
    return out;
}

std::string format_comment(std::string_view text) {
    std::string out;
    for_each_line(text, [&out](std::string_view line) { append_field(out, "", line); });
    out += '\n';
    return out;
}

// --- EventSource ------------------------------------------------------------------------------

std::optional<std::string> EventSource::last_event_id() const {
    auto value = handler_.request().headers().get("last-event-id");
    if (!value) {
        return std::nullopt;
    }
    return std::string(*value);
}

Task<void> EventSource::start(std::optional<std::chrono::milliseconds> retry) {
    if (started_) {
        co_return;
    }
    started_ = true;
    handler_.set_header("Content-Type", "text/event-stream; charset=utf-8");
    handler_.set_header("Cache-Control", "no-cache");
    handler_.set_header("X-Accel-Buffering", "no");
    std::string head;
    if (retry) {
        // A retry field alone dispatches nothing: the data is empty, so no event fires.
        append_field(head, "retry", std::to_string(retry->count()));
        head += '\n';
    }
    co_await write_and_flush(std::move(head));
}

Task<void> EventSource::send(ServerSentEvent event) {
    std::string text = format_event(event);  // throws before anything is sent
    if (!started_) {
        co_await start();
    }
    co_await write_and_flush(std::move(text));
    ++events_sent_;
}

Task<void> EventSource::send_data(std::string data, std::string id) {
    ServerSentEvent event;
    event.data = std::move(data);
    if (!id.empty()) {
        event.id = std::move(id);
    }
    co_await send(std::move(event));
}

Task<void> EventSource::send_comment(std::string text) {
    if (!started_) {
        co_await start();
    }
    co_await write_and_flush(format_comment(text));
}

Task<void> EventSource::write_and_flush(std::string text) {
    if (!text.empty()) {
        handler_.write(std::string_view(text));
    }
    co_await handler_.flush();
}

// --- EventStreamParser ------------------------------------------------------------------------

std::vector<ServerSentEvent> EventStreamParser::feed(std::string_view bytes) {
    std::vector<ServerSentEvent> events;
    if (at_stream_start_) {
        // The BOM may arrive split across calls: hold back a prefix of it until it is decided.
        std::size_t held = line_.size();
        line_.append(bytes.substr(0, byte_order_mark.size() - held));
        bytes.remove_prefix(line_.size() - held);
        if (byte_order_mark.starts_with(line_) && line_.size() < byte_order_mark.size()) {
            return events;
        }
        at_stream_start_ = false;
        std::string start = std::exchange(line_, {});
        if (start == byte_order_mark) {
            start.clear();
        }
        auto earlier = feed(start);
        auto later = feed(bytes);
        earlier.insert(earlier.end(), std::make_move_iterator(later.begin()),
                       std::make_move_iterator(later.end()));
        return earlier;
    }
    while (!bytes.empty()) {
        if (after_cr_ && bytes.front() == '\n') {
            bytes.remove_prefix(1);  // the LF of a CRLF split across calls
        }
        after_cr_ = false;
        std::size_t end = bytes.find_first_of("\r\n");
        if (end == std::string_view::npos) {
            check_size(line_.size() + bytes.size());
            line_.append(bytes);
            break;
        }
        check_size(line_.size() + end);
        std::string_view line = bytes.substr(0, end);
        if (!line_.empty()) {
            line_.append(line);
            line = line_;
        }
        bool crlf = bytes[end] == '\r' && end + 1 < bytes.size() && bytes[end + 1] == '\n';
        after_cr_ = bytes[end] == '\r' && end + 1 == bytes.size();
        bytes.remove_prefix(end + (crlf ? 2 : 1));
        process_line(line, events);
        line_.clear();
    }
    return events;
}

void EventStreamParser::check_size(std::size_t pending) const {
    if (pending + data_.size() > max_event_size_) {
        throw EventStreamError("server-sent event exceeds the limit of " +
                               std::to_string(max_event_size_) + " bytes");
    }
}

void EventStreamParser::process_line(std::string_view line, std::vector<ServerSentEvent>& events) {
    if (line.empty()) {
        dispatch(events);
        return;
    }
    if (line.front() == ':') {
        ++comments_seen_;
        return;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
        process_field(line, {});
        return;
    }
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
    }
    process_field(line.substr(0, colon), value);
}

void EventStreamParser::process_field(std::string_view name, std::string_view value) {
    if (name == "data") {
        check_size(value.size() + 1);
        data_.append(value);
        data_ += '\n';
    } else if (name == "event") {
        event_type_.assign(value);
    } else if (name == "id") {
        if (value.find('\0') == std::string_view::npos) {
            last_event_id_.assign(value);
        }
    } else if (name == "retry") {
        std::uint64_t milliseconds = 0;
        auto [end, error] =
            std::from_chars(value.data(), value.data() + value.size(), milliseconds);
        // from_chars takes neither signs nor spaces: the value must be all digits.
        if (!value.empty() && error == std::errc() && end == value.data() + value.size()) {
            reconnection_time_ = std::chrono::milliseconds(milliseconds);
        }
    }
    // Other field names are ignored, as browsers do.
}

void EventStreamParser::dispatch(std::vector<ServerSentEvent>& events) {
    if (data_.empty()) {
        event_type_.clear();
        return;
    }
    data_.pop_back();  // the LF after the last data line
    ServerSentEvent event;
    event.data = std::exchange(data_, {});
    event.event = std::exchange(event_type_, {});
    if (!last_event_id_.empty()) {
        event.id = last_event_id_;
    }
    events.push_back(std::move(event));
}

}  // namespace gale::web
