#include "server/WsCodec.h"

#include <QCryptographicHash>
#include <cstring>

namespace herald::ws {
namespace {

constexpr char kGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr int kMaxControlPayload = 125;

std::uint8_t byteAt(const QByteArray& b, qsizetype i) {
    return static_cast<std::uint8_t>(b[i]);
}

// Length of the header an encoded frame of `payloadSize` bytes needs.
int headerSize(qsizetype payloadSize) {
    return payloadSize < 126 ? 2 : payloadSize <= 0xFFFF ? 4 : 10;
}

} // namespace

QByteArray acceptKey(QByteArrayView clientKey) {
    QCryptographicHash sha1(QCryptographicHash::Sha1);
    sha1.addData(clientKey);
    sha1.addData(QByteArrayView(kGuid, sizeof(kGuid) - 1));
    return sha1.result().toBase64();
}

bool isValidClientKey(QByteArrayView clientKey) {
    if (clientKey.size() != 24)
        return false;
    const auto decoded = QByteArray::fromBase64Encoding(clientKey.toByteArray(),
                                                        QByteArray::AbortOnBase64DecodingErrors);
    return decoded.decodingStatus == QByteArray::Base64DecodingStatus::Ok &&
           decoded.decoded.size() == 16;
}

QByteArray handshakeResponse(QByteArrayView clientKey) {
    QByteArray out("HTTP/1.1 101 Switching Protocols\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: ");
    out += acceptKey(clientKey);
    out += "\r\n\r\n";
    return out;
}

QByteArray encodeFrame(Opcode opcode, QByteArrayView payload) {
    const qsizetype size = payload.size();
    QByteArray out;
    out.reserve(headerSize(size) + size);
    out.append(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
    if (size < 126) {
        out.append(static_cast<char>(size));
    } else if (size <= 0xFFFF) {
        out.append(static_cast<char>(126));
        out.append(static_cast<char>((size >> 8) & 0xFF));
        out.append(static_cast<char>(size & 0xFF));
    } else {
        out.append(static_cast<char>(127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.append(static_cast<char>((static_cast<quint64>(size) >> shift) & 0xFF));
    }
    out.append(payload.data(), size);
    return out;
}

QByteArray encodeClose(int code, QByteArrayView reasonUtf8) {
    QByteArrayView reason = reasonUtf8.first(std::min<qsizetype>(reasonUtf8.size(), 123));
    // Never cut inside a multi-byte character: drop continuation bytes and their lead byte.
    while (reason.size() < reasonUtf8.size() && !reason.isEmpty() &&
           (static_cast<std::uint8_t>(reasonUtf8[reason.size()]) & 0xC0) == 0x80)
        reason.chop(1);
    QByteArray payload;
    payload.append(static_cast<char>((code >> 8) & 0xFF));
    payload.append(static_cast<char>(code & 0xFF));
    payload.append(reason.data(), reason.size());
    return encodeFrame(Opcode::Close, payload);
}

QByteArrayView framePayload(QByteArrayView frame) {
    if (frame.size() < 2)
        return {};
    const int len7 = static_cast<std::uint8_t>(frame[1]) & 0x7F;
    const int header = len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
    return frame.size() < header ? QByteArrayView() : frame.sliced(header);
}

bool isValidUtf8(QByteArrayView bytes) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
    const auto* end = p + bytes.size();
    while (p < end) {
        // ASCII runs are the common case: skip eight bytes at a time while all are < 0x80.
        while (end - p >= 8) {
            std::uint64_t word;
            std::memcpy(&word, p, 8);
            if (word & 0x8080808080808080ULL)
                break;
            p += 8;
        }
        if (p == end)
            break;
        const std::uint8_t c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int extra;
        std::uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false; // continuation byte as a lead, overlong 2-byte lead, or over U+10FFFF
        }
        if (end - p <= extra)
            return false;
        for (int i = 1; i <= extra; ++i) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        const bool overlong = (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000);
        const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        if (overlong || surrogate || cp > 0x10FFFF)
            return false;
        p += extra + 1;
    }
    return true;
}

bool isValidCloseCode(int code) {
    if (code >= 3000 && code <= 4999)
        return true; // registered and private use
    switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
        return true;
    default:
        return false; // 1004-1006 and 1015 are reserved; never sent on the wire
    }
}

Event FrameDecoder::fail(int code, const char* why) {
    failed_ = true;
    buffer_.clear();
    offset_ = 0;
    message_.clear();
    Event e;
    e.kind = Event::Kind::Error;
    e.closeCode = code;
    e.error = why;
    return e;
}

void FrameDecoder::compact() {
    if (offset_ == buffer_.size()) {
        buffer_.clear();
        offset_ = 0;
    } else if (offset_ > 4096 && offset_ * 2 > buffer_.size()) {
        buffer_.remove(0, offset_);
        offset_ = 0;
    }
}

Event FrameDecoder::next() {
    if (failed_)
        return {};
    for (;;) {
        const qsizetype available = buffer_.size() - offset_;
        if (available < 2)
            return {};
        const std::uint8_t b0 = byteAt(buffer_, offset_);
        const std::uint8_t b1 = byteAt(buffer_, offset_ + 1);
        const bool fin = b0 & 0x80;
        const auto opcode = static_cast<Opcode>(b0 & 0x0F);
        if (b0 & 0x70)
            return fail(1002, "reserved bits set (no extension was negotiated)");
        const bool control = (b0 & 0x08) != 0;
        switch (opcode) {
        case Opcode::Continuation:
        case Opcode::Text:
        case Opcode::Binary:
        case Opcode::Close:
        case Opcode::Ping:
        case Opcode::Pong:
            break;
        default:
            return fail(1002, "unknown opcode");
        }
        if (!(b1 & 0x80))
            return fail(1002, "client frames must be masked");
        quint64 length = b1 & 0x7F;
        qsizetype header = 2;
        if (length == 126) {
            if (available < 4)
                return {};
            length = (quint64(byteAt(buffer_, offset_ + 2)) << 8) | byteAt(buffer_, offset_ + 3);
            header = 4;
        } else if (length == 127) {
            if (available < 10)
                return {};
            length = 0;
            for (int i = 0; i < 8; ++i)
                length = (length << 8) | byteAt(buffer_, offset_ + 2 + i);
            if (length >> 63)
                return fail(1002, "frame length over 2^63");
            header = 10;
        }
        if (control && (!fin || length > kMaxControlPayload))
            return fail(1002, "control frames must be whole and at most 125 bytes");
        if (!control) {
            if (opcode == Opcode::Continuation && !messageOpcode_)
                return fail(1002, "continuation frame without a message to continue");
            if (opcode != Opcode::Continuation && messageOpcode_)
                return fail(1002, "new message before the previous one was finished");
            if (length > quint64(maxMessageBytes_) ||
                quint64(message_.size()) + length > quint64(maxMessageBytes_))
                return fail(1009, "message too large");
        }
        header += 4; // the masking key
        if (quint64(available) < quint64(header) + length)
            return {};

        const char* mask = buffer_.constData() + offset_ + header - 4;
        const char* data = buffer_.constData() + offset_ + header;
        const auto size = static_cast<qsizetype>(length);
        QByteArray payload(size, Qt::Uninitialized);
        char* out = payload.data();
        for (qsizetype i = 0; i < size; ++i)
            out[i] = static_cast<char>(data[i] ^ mask[i & 3]);
        offset_ += header + size;
        compact();

        Event e;
        switch (opcode) {
        case Opcode::Ping:
        case Opcode::Pong:
            e.kind = opcode == Opcode::Ping ? Event::Kind::Ping : Event::Kind::Pong;
            e.payload = std::move(payload);
            return e;
        case Opcode::Close:
            if (size == 1)
                return fail(1002, "close frame with a one-byte payload");
            e.kind = Event::Kind::Close;
            e.closeCode = 1005;
            if (size >= 2) {
                e.closeCode = (std::uint8_t(payload[0]) << 8) | std::uint8_t(payload[1]);
                if (!isValidCloseCode(e.closeCode))
                    return fail(1002, "invalid close code");
                e.payload = payload.sliced(2);
                if (!isValidUtf8(e.payload))
                    return fail(1007, "close reason is not valid UTF-8");
            }
            failed_ = true; // nothing may follow a close frame
            return e;
        default:
            break;
        }
        if (opcode != Opcode::Continuation)
            messageOpcode_ = opcode;
        if (!fin) {
            message_.append(payload);
            continue;
        }
        if (message_.isEmpty()) {
            e.payload = std::move(payload);
        } else {
            message_.append(payload);
            e.payload = std::move(message_);
            message_ = QByteArray();
        }
        const Opcode kind = *messageOpcode_;
        messageOpcode_.reset();
        if (kind == Opcode::Text && !isValidUtf8(e.payload))
            return fail(1007, "text message is not valid UTF-8");
        e.kind = kind == Opcode::Text ? Event::Kind::Text : Event::Kind::Binary;
        return e;
    }
}

} // namespace herald::ws
