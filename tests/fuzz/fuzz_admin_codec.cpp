// libFuzzer target: the admin protocol codec (shared/Admin.h) in both directions: commands a
// console sends to /admin (a node decodes them from anyone holding an admin connection) and the
// events a node sends back (the console and heraldctl decode them). Whatever the bytes: a value
// or a named error, and a value survives encode + decode unchanged.

#include "tests/fuzz/FuzzSupport.h"

#include "shared/Admin.h"
#include "shared/Codec.h"

using namespace herald;

namespace {

using AnyEvent = std::variant<admin::AdminEvent, ServerMessage>;

QByteArray encodeEvent(const AnyEvent& event) {
    if (const auto* adminEvent = std::get_if<admin::AdminEvent>(&event))
        return admin::encode(*adminEvent);
    return codec::encode(std::get<ServerMessage>(event));
}

const auto encodeCommand = [](const admin::AdminCommand& c) { return admin::encode(c); };

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const QByteArrayView input = fuzz::bytes(data, size);
    fuzz::requireRoundTrip(admin::decodeCommand(input), &admin::decodeCommand, encodeCommand,
                           "admin::decodeCommand", input);
    fuzz::requireRoundTrip(admin::decodeEvent(input), &admin::decodeEvent, &encodeEvent,
                           "admin::decodeEvent", input);
    return 0;
}
