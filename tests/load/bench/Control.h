// Coordinator <-> worker messages over a SOCK_SEQPACKET socketpair: one datagram per message,
// "verb key=value key=value" (values carry no spaces).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace bench {

struct ControlMessage {
    std::string verb;
    std::map<std::string, std::string, std::less<>> fields;

    ControlMessage& set(const std::string& key, const std::string& value);
    ControlMessage& set(const std::string& key, int64_t value);
    int64_t number(std::string_view key, int64_t fallback = 0) const;
    std::string text(std::string_view key) const;

    std::string encode() const;
    static ControlMessage decode(std::string_view datagram);
};

// Sends one message; false if the other side is gone.
bool sendControl(int fd, const ControlMessage& message);
// Reads one message if there is one (non-blocking); false if none or the other side is gone
// (then *gone is set).
bool receiveControl(int fd, ControlMessage* out, bool* gone);

} // namespace bench
