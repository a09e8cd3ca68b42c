#pragma once

// What every libFuzzer target of tests/fuzz checks. A broken contract aborts with a message:
// libFuzzer keeps the input as a crash artifact, and <name>_replay fails on it.

#include "shared/Errors.h"

#include <QByteArray>
#include <QByteArrayView>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <variant>

// The entry point libFuzzer (or FuzzReplay.cpp) calls with each input.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace herald::fuzz {

inline QByteArrayView bytes(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), static_cast<qsizetype>(size)};
}

[[noreturn]] inline void fail(const char* what, const char* how, QByteArrayView input) {
    std::fprintf(stderr, "fuzz contract broken: %s: %s\ninput (%lld bytes, hex): %s\n", what, how,
                 static_cast<long long>(input.size()), input.toByteArray().toHex().constData());
    std::abort();
}

inline void require(bool ok, const char* what, const char* how, QByteArrayView input) {
    if (!ok)
        fail(what, how, input);
}

// An error a client or operator may see: a known code and a message saying why.
inline void requireNamedError(const Error& error, const char* what, QByteArrayView input) {
    require(allErrorCodes().contains(error.code) && !error.message.isEmpty(), what,
            "an error without a known code or a message", input);
}

// A strict decoder's contract on one input: a value or a named error; a value encodes to bytes
// that decode to the same value. Returns the value, if there was one, for further checks.
template <class T, class Decode, class Encode>
std::optional<T> requireRoundTrip(const std::variant<T, Error>& decoded, Decode decode,
                                  Encode encode, const char* what, QByteArrayView input) {
    if (const Error* error = std::get_if<Error>(&decoded)) {
        requireNamedError(*error, what, input);
        return std::nullopt;
    }
    const T& value = std::get<T>(decoded);
    const QByteArray encoded = encode(value);
    const std::variant<T, Error> again = decode(QByteArrayView(encoded));
    require(std::holds_alternative<T>(again) && std::get<T>(again) == value, what,
            "decode(encode(value)) is not the value", input);
    return value;
}

} // namespace herald::fuzz
