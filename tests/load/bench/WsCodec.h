// The client side of RFC 6455, just what a load generator needs: the opening handshake's key and
// expected accept value, masked client frames, and an incremental reader of server frames that
// reassembles fragmented messages and passes control frames through as they come.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bench {

enum Opcode : uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
};

// A cheap source of masking keys and handshake nonces. RFC 6455 asks browsers for unpredictable
// masks to protect intermediaries from scripts; a load generator on loopback has no such script,
// so xorshift seeded from the kernel is enough.
class Rng {
public:
    Rng();
    uint64_t next();

private:
    uint64_t state_;
};

std::string makeHandshakeKey(Rng& rng);
// base64(SHA-1(key + GUID)), the Sec-WebSocket-Accept a conforming server answers.
std::string expectedAccept(std::string_view key);

// Appends one masked client frame (FIN set).
void appendClientFrame(std::string& out, Opcode opcode, std::string_view payload, uint32_t mask);
void appendCloseFrame(std::string& out, uint16_t code, uint32_t mask);

class FrameSink {
public:
    virtual ~FrameSink() = default;
    // A whole message (text/binary, fragments joined) or a control frame.
    virtual void onFrame(Opcode opcode, std::string_view payload) = 0;
    // True once the sink wants no more frames (it closed): feed() stops there.
    virtual bool stopped() const = 0;
};

class FrameReader {
public:
    // Consumes the complete frames at the front of data and returns how many bytes they took;
    // the caller keeps the rest for the next call. -1: a protocol violation (error() says which).
    long feed(const char* data, size_t len, FrameSink& sink);
    const char* error() const { return error_; }

private:
    std::string fragments_;
    Opcode fragmentOpcode_ = kContinuation;
    bool inFragmented_ = false;
    const char* error_ = "";
};

} // namespace bench
