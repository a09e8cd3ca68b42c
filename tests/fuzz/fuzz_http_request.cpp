// libFuzzer target: the HTTP request parser (server/HttpRequestParser.h), the first thing every
// connection meets. Whatever the bytes: the parser asks for more, yields a request, or names an
// error with an HTTP status of 400, 413 or 431; it never consumes more than it was given, a
// request respects the head and body limits, and an upgrade has a method and a path.

#include "tests/fuzz/FuzzSupport.h"

#include "server/HttpRequestParser.h"

using namespace herald;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const QByteArrayView input = fuzz::bytes(data, size);
    constexpr qint64 kHead = 2048;
    constexpr qint64 kBody = 1024;
    HttpRequestParser parser({kHead, kBody}, QHostAddress::LocalHost);
    QByteArrayView rest = input;
    for (int round = 0; round < 64 && !rest.isEmpty(); ++round) {
        const HttpRequestParser::Result r = parser.parse(rest);
        using Kind = HttpRequestParser::Result::Kind;
        fuzz::require(r.consumed >= 0 && r.consumed <= rest.size(), "HttpRequestParser",
                      "consumed more than it was given", input);
        rest = rest.sliced(r.consumed);
        if (r.kind == Kind::Error) {
            fuzz::require(r.status == 400 || r.status == 413 || r.status == 431,
                          "HttpRequestParser", "an error status other than 400, 413, 431", input);
            fuzz::requireNamedError(r.error, "HttpRequestParser", input);
            break;
        }
        if (r.kind == Kind::Request || r.kind == Kind::Upgrade) {
            fuzz::require(r.request.body.size() <= kBody, "HttpRequestParser",
                          "a body over the limit", input);
            fuzz::require(!r.request.method.isEmpty(), "HttpRequestParser",
                          "a request without a method", input);
            if (r.kind == Kind::Upgrade)
                break; // the rest belongs to the new protocol
            continue;
        }
        if (r.consumed == 0)
            break; // needs more than there is
    }
    return 0;
}
