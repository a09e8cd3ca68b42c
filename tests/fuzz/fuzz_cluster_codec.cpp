// libFuzzer target: what arrives from the broker. Anyone who can publish on Redis reaches these
// decoders: the cluster control channel (shared/Cluster.h) and the data channels' payloads,
// plain JSON or Herald's envelope (shared/Bus.h). Whatever the bytes: a control message is
// dropped or decodes to one whose encoding is stable; a payload is a named error or a message
// whose data is compact JSON, whose envelope decodes back to it, and whose spliced client frame
// is the same "message" event the codec reads.

#include "tests/fuzz/FuzzSupport.h"

#include "shared/Bus.h"
#include "shared/Cluster.h"
#include "shared/Codec.h"

#include <QJsonArray>
#include <QJsonDocument>

using namespace herald;

namespace {

void checkControl(QByteArrayView input) {
    const std::optional<cluster::ControlMessage> message = cluster::decode(input.toByteArray());
    if (!message)
        return;
    const QByteArray encoded = cluster::encode(*message);
    const std::optional<cluster::ControlMessage> again = cluster::decode(encoded);
    fuzz::require(again.has_value() && cluster::encode(*again) == encoded, "cluster::decode",
                  "encode(decode(encode(message))) differs from encode(message)", input);
}

// The one JSON value of compact JSON text, as the codec would hold it.
QJsonValue valueOf(const QByteArray& json) {
    return QJsonDocument::fromJson('[' + json + ']').array().at(0);
}

void checkPayload(QByteArrayView input) {
    const auto decoded = bus::decode(input.toByteArray());
    if (const Error* error = std::get_if<Error>(&decoded)) {
        fuzz::requireNamedError(*error, "bus::decode", input);
        return;
    }
    const bus::Message& m = std::get<bus::Message>(decoded);
    const auto compact = bus::compactJsonValue(m.dataJson);
    fuzz::require(std::holds_alternative<QByteArray>(compact) &&
                      std::get<QByteArray>(compact) == m.dataJson,
                  "bus::decode", "the data is not compact JSON", input);

    const auto again = bus::decode(bus::encodeEnvelope(m));
    const bus::Message* m2 = std::get_if<bus::Message>(&again);
    fuzz::require(m2 && m2->id == m.id && m2->origin == m.origin &&
                      m2->publishedMs == m.publishedMs && m2->dataJson == m.dataJson &&
                      m2->hasPrev == m.hasPrev && m2->prev == m.prev,
                  "bus::decode", "decode(encodeEnvelope(message)) is not the message", input);

    // The hand-spliced frame against the codec, with strings from the input in every field.
    const QByteArray frame = bus::encodeMessageFrame(m.origin, m.id, m.dataJson);
    const auto event = codec::decodeServerMessage(frame);
    const auto* message = std::get_if<MessageEvent>(std::get_if<ServerMessage>(&event));
    fuzz::require(message && message->stream == m.origin && message->id == m.id &&
                      message->data == valueOf(m.dataJson),
                  "bus::encodeMessageFrame", "the frame is not the codec's message event", input);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const QByteArrayView input = fuzz::bytes(data, size);
    checkControl(input);
    checkPayload(input);
    return 0;
}
