#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <cstdint>
#include <optional>

// RFC 6455 for the server side, apart from any socket: the handshake key, wire-ready server
// frames (unmasked, so one encoding serves every recipient) and an incremental decoder of client
// frames that enforces masking, fragmentation rules, control-frame limits, UTF-8 and sizes.
namespace herald::ws {

enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key.
QByteArray acceptKey(QByteArrayView clientKey);
// A key is valid when it is base64 of exactly 16 bytes (RFC 6455 4.2.1 item 5).
bool isValidClientKey(QByteArrayView clientKey);
// The 101 response to a validated upgrade request.
QByteArray handshakeResponse(QByteArrayView clientKey);

// One complete, unfragmented server frame: header + payload, ready for the wire.
QByteArray encodeFrame(Opcode opcode, QByteArrayView payload);
// A close frame with a status code and a reason (cut to fit a control frame, on a UTF-8
// boundary).
QByteArray encodeClose(int code, QByteArrayView reasonUtf8);
// The payload of a frame built by encodeFrame (server frames are never masked).
QByteArrayView framePayload(QByteArrayView frame);

bool isValidUtf8(QByteArrayView bytes);

// Close codes a peer may send (RFC 6455 7.4.1 and 7.4.2).
bool isValidCloseCode(int code);

// What the decoder found; `payload` is valid until the next call of next().
struct Event {
    enum class Kind { None, Text, Binary, Ping, Pong, Close, Error };
    Kind kind = Kind::None;
    QByteArray payload;  // message (Text/Binary), application data (Ping/Pong), reason (Close)
    int closeCode = 0;   // Close: the peer's code (1005 when it sent none); Error: ours to send
    const char* error{}; // Error: why, for the close reason
};

// Client -> server frames, fed as they arrive. After an Error event the connection must be
// closed with that event's code; the decoder yields nothing more.
class FrameDecoder {
public:
    explicit FrameDecoder(qint64 maxMessageBytes)
        : maxMessageBytes_(maxMessageBytes) {}

    void feed(QByteArrayView bytes) {
        if (!failed_) // after an error or a close frame, input is read and dropped
            buffer_.append(bytes.data(), bytes.size());
    }
    // The next complete event, or Kind::None when more bytes are needed.
    Event next();
    // Bytes received and not yet decoded (a slow or partial frame).
    qint64 buffered() const { return buffer_.size() - offset_; }

private:
    Event fail(int code, const char* why);
    void compact();

    QByteArray buffer_;
    qsizetype offset_ = 0;
    QByteArray message_; // the fragments of a message so far
    std::optional<Opcode> messageOpcode_;
    qint64 maxMessageBytes_;
    bool failed_ = false;
};

} // namespace herald::ws
