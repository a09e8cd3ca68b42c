// libFuzzer target: the client protocol codec (shared/Codec.h) in both directions, the producer
// request bodies of the HTTP API, and the stream rules (shared/Streams.h) that the names a
// decoder let through meet next. Whatever the bytes: every decoder returns a value or a named
// error, a value survives encode + decode unchanged, and a stream that resolves has a routing
// key that parses back to the same stream.

#include "tests/fuzz/FuzzSupport.h"

#include "shared/Codec.h"
#include "shared/Streams.h"

using namespace herald;

namespace {

// A resolved stream's routing key names it exactly ("online" is a feed, not a routing key).
void checkStream(const streams::Resolved& resolved, QByteArrayView input) {
    if (const Error* error = std::get_if<Error>(&resolved)) {
        fuzz::requireNamedError(*error, "stream resolution", input);
        return;
    }
    const streams::StreamRef& ref = std::get<streams::StreamRef>(resolved);
    if (ref.kind == streams::Kind::Online) {
        fuzz::require(ref.routingKey() == streams::kOnlineKey, "stream resolution",
                      "the online feed has another key", input);
        return;
    }
    fuzz::require(streams::parseRoutingKey(ref.routingKey()) == ref, "stream resolution",
                  "routing key does not parse back to the stream", input);
}

const auto encodeClient = [](const ClientMessage& m) { return codec::encode(m); };
const auto encodeServer = [](const ServerMessage& m) { return codec::encode(m); };
const auto encodePublish = [](const PublishRequest& r) { return codec::encode(r); };
const auto encodeBroadcast = [](const BroadcastRequest& r) { return codec::encode(r); };

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const QByteArrayView input = fuzz::bytes(data, size);

    const auto client =
        fuzz::requireRoundTrip(codec::decodeClientMessage(input), &codec::decodeClientMessage,
                               encodeClient, "decodeClientMessage", input);
    if (client) {
        const QStringList* names = nullptr;
        if (const auto* subscribe = std::get_if<SubscribeRequest>(&*client))
            names = &subscribe->streams;
        else if (const auto* unsubscribe = std::get_if<UnsubscribeRequest>(&*client))
            names = &unsubscribe->streams;
        // As an anonymous connection and as user "u1" would ask for them.
        for (const QString& name : names ? *names : QStringList()) {
            checkStream(streams::resolveForSubscriber(name, QString()), input);
            checkStream(streams::resolveForSubscriber(name, QStringLiteral("u1")), input);
        }
    }

    fuzz::requireRoundTrip(codec::decodeServerMessage(input), &codec::decodeServerMessage,
                           encodeServer, "decodeServerMessage", input);

    const auto publish =
        fuzz::requireRoundTrip(codec::decodePublishRequest(input), &codec::decodePublishRequest,
                               encodePublish, "decodePublishRequest", input);
    if (publish)
        checkStream(streams::resolveForPublisher(publish->stream, publish->user), input);

    fuzz::requireRoundTrip(codec::decodeBroadcastRequest(input), &codec::decodeBroadcastRequest,
                           encodeBroadcast, "decodeBroadcastRequest", input);
    return 0;
}
