// Non-blocking TCP sockets on loopback, each bound to one of several source addresses
// (127.0.0.1..127.0.0.N): one source address has ~28k ephemeral ports towards one server port.
#pragma once

#include <cstdint>
#include <netinet/in.h>
#include <string>

namespace bench {

struct Endpoint {
    sockaddr_in addr{};
    std::string hostPort; // "127.0.0.1:8080", for Host headers and messages
};

// "host:port" with a dotted IPv4 host; false if it is not one.
bool parseEndpoint(const std::string& text, Endpoint* out);

// The i-th source address of `count`: 127.0.0.1 + (i % count), in host byte order.
uint32_t sourceAddress(uint64_t i, int count);

// A socket connecting (non-blocking) from `sourceIp` (host order) to `to`; -1 and errno set if
// the connect failed at once. TCP_NODELAY is on: the tool sends small frames it wants out now.
int connectFrom(const Endpoint& to, uint32_t sourceIp);

// Raises RLIMIT_NOFILE to its hard limit; returns the new soft limit.
long raiseFileLimit();

} // namespace bench
