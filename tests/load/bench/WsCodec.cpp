#include "WsCodec.h"

#include <cstring>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/random.h>

namespace bench {
namespace {
constexpr uint64_t kMaxMessage = 64ull << 20; // the tool never expects more than this

std::string base64(const unsigned char* data, size_t len) {
    std::string out(4 * ((len + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, int(len));
    out.resize(size_t(n));
    return out;
}
} // namespace

Rng::Rng() {
    if (getrandom(&state_, sizeof state_, 0) != sizeof state_ || state_ == 0)
        state_ = 0x9e3779b97f4a7c15ull;
}

uint64_t Rng::next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
}

std::string makeHandshakeKey(Rng& rng) {
    unsigned char nonce[16];
    const uint64_t a = rng.next(), b = rng.next();
    std::memcpy(nonce, &a, 8);
    std::memcpy(nonce + 8, &b, 8);
    return base64(nonce, sizeof nonce);
}

std::string expectedAccept(std::string_view key) {
    std::string input(key);
    input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
    return base64(digest, sizeof digest);
}

void appendClientFrame(std::string& out, Opcode opcode, std::string_view payload, uint32_t mask) {
    out += char(0x80 | opcode);
    const size_t len = payload.size();
    if (len < 126) {
        out += char(0x80 | len);
    } else if (len <= 0xffff) {
        out += char(0x80 | 126);
        out += char(len >> 8);
        out += char(len & 0xff);
    } else {
        out += char(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out += char((uint64_t(len) >> shift) & 0xff);
    }
    unsigned char key[4];
    std::memcpy(key, &mask, 4);
    out.append(reinterpret_cast<const char*>(key), 4);
    const size_t start = out.size();
    out.append(payload);
    for (size_t i = 0; i < len; ++i)
        out[start + i] = char(out[start + i] ^ key[i & 3]);
}

void appendCloseFrame(std::string& out, uint16_t code, uint32_t mask) {
    const char body[2] = {char(code >> 8), char(code & 0xff)};
    appendClientFrame(out, kClose, std::string_view(body, 2), mask);
}

long FrameReader::feed(const char* data, size_t len, FrameSink& sink) {
    const auto* p = reinterpret_cast<const unsigned char*>(data);
    size_t pos = 0;
    while (len - pos >= 2) {
        const unsigned char b0 = p[pos], b1 = p[pos + 1];
        const bool fin = b0 & 0x80;
        const auto opcode = Opcode(b0 & 0x0f);
        if (b0 & 0x70) {
            error_ = "reserved bits set (no extension was negotiated)";
            return -1;
        }
        if (b1 & 0x80) {
            error_ = "masked server frame";
            return -1;
        }
        uint64_t payloadLen = b1 & 0x7f;
        size_t header = 2;
        if (payloadLen == 126) {
            if (len - pos < 4)
                break;
            payloadLen = (uint64_t(p[pos + 2]) << 8) | p[pos + 3];
            header = 4;
        } else if (payloadLen == 127) {
            if (len - pos < 10)
                break;
            payloadLen = 0;
            for (int i = 0; i < 8; ++i)
                payloadLen = (payloadLen << 8) | p[pos + 2 + size_t(i)];
            header = 10;
        }
        const bool control = opcode & 0x08;
        if (control && (!fin || payloadLen > 125)) {
            error_ = "fragmented or oversized control frame";
            return -1;
        }
        if (!control && opcode != kContinuation && opcode != kText && opcode != kBinary) {
            error_ = "unknown opcode";
            return -1;
        }
        if (payloadLen > kMaxMessage) {
            error_ = "frame larger than the tool accepts";
            return -1;
        }
        if (len - pos < header + payloadLen)
            break;
        const std::string_view payload(data + pos + header, size_t(payloadLen));
        pos += header + size_t(payloadLen);

        if (control) {
            sink.onFrame(opcode, payload);
            if (sink.stopped())
                return long(pos);
        } else if (opcode == kContinuation) {
            if (!inFragmented_) {
                error_ = "continuation frame without a message to continue";
                return -1;
            }
            fragments_.append(payload);
            if (fragments_.size() > kMaxMessage) {
                error_ = "message larger than the tool accepts";
                return -1;
            }
            if (fin) {
                inFragmented_ = false;
                const std::string whole = std::move(fragments_);
                fragments_.clear();
                sink.onFrame(fragmentOpcode_, whole);
                if (sink.stopped())
                    return long(pos);
            }
        } else {
            if (inFragmented_) {
                error_ = "new data frame inside a fragmented message";
                return -1;
            }
            if (fin) {
                sink.onFrame(opcode, payload);
                if (sink.stopped())
                    return long(pos);
            } else {
                inFragmented_ = true;
                fragmentOpcode_ = opcode;
                fragments_.assign(payload);
            }
        }
    }
    return long(pos);
}

} // namespace bench
