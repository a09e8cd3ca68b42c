// libFuzzer target: the WebSocket frame decoder (server/WsCodec.h), fed whatever a client sends
// after the handshake, split at an input-chosen point so partial frames are exercised. Whatever
// the bytes: every event is a valid one (text is UTF-8, control payloads fit 125 bytes, a close
// code is one a peer may send), an error carries a close code of ours and ends the stream, and
// feeding the same bytes in one piece or in two gives the same events.

#include "tests/fuzz/FuzzSupport.h"

#include "server/WsCodec.h"

#include <QList>

using namespace herald;

namespace {

constexpr qint64 kMaxMessage = 4096;

struct Seen {
    int kind;
    QByteArray payload;
    int code;
    bool operator==(const Seen&) const = default;
};

QList<Seen> decodeInPieces(QByteArrayView input, qsizetype split, QByteArrayView original) {
    ws::FrameDecoder decoder(kMaxMessage);
    QList<Seen> events;
    auto drain = [&] {
        for (ws::Event e = decoder.next(); e.kind != ws::Event::Kind::None; e = decoder.next()) {
            events.append({int(e.kind), e.payload, e.closeCode});
            switch (e.kind) {
            case ws::Event::Kind::Text:
                fuzz::require(ws::isValidUtf8(e.payload) && e.payload.size() <= kMaxMessage,
                              "FrameDecoder", "a text message that is not UTF-8 or too large",
                              original);
                break;
            case ws::Event::Kind::Binary:
                fuzz::require(e.payload.size() <= kMaxMessage, "FrameDecoder",
                              "a binary message over the limit", original);
                break;
            case ws::Event::Kind::Ping:
            case ws::Event::Kind::Pong:
                fuzz::require(e.payload.size() <= 125, "FrameDecoder",
                              "a control payload over 125 bytes", original);
                break;
            case ws::Event::Kind::Close:
                fuzz::require(e.closeCode == 1005 || ws::isValidCloseCode(e.closeCode),
                              "FrameDecoder", "a close code a peer may not send", original);
                break;
            case ws::Event::Kind::Error:
                fuzz::require(e.closeCode == 1002 || e.closeCode == 1007 || e.closeCode == 1009,
                              "FrameDecoder", "an error without 1002, 1007 or 1009", original);
                fuzz::require(e.error && *e.error, "FrameDecoder", "an error without a reason",
                              original);
                break;
            case ws::Event::Kind::None:
                break;
            }
        }
    };
    decoder.feed(input.first(split));
    drain();
    decoder.feed(input.sliced(split));
    drain();
    // Nothing may follow an error or a close.
    for (qsizetype i = 0; i + 1 < events.size(); ++i)
        fuzz::require(events[i].kind != int(ws::Event::Kind::Error) &&
                          events[i].kind != int(ws::Event::Kind::Close),
                      "FrameDecoder", "an event after an error or a close", original);
    return events;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const QByteArrayView input = fuzz::bytes(data, size);
    if (input.isEmpty())
        return 0;
    // The first byte chooses where the stream is cut in two.
    const QByteArrayView stream = input.sliced(1);
    const qsizetype split = stream.isEmpty() ? 0 : std::uint8_t(input[0]) % (stream.size() + 1);
    const QList<Seen> whole = decodeInPieces(stream, stream.size(), input);
    const QList<Seen> pieces = decodeInPieces(stream, split, input);
    fuzz::require(whole == pieces, "FrameDecoder", "events depend on how the bytes were cut",
                  input);
    return 0;
}
