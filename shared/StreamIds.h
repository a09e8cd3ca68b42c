#pragma once

#include <QString>
#include <QStringView>
#include <compare>
#include <optional>

// Positions in a stream's history: "<ms>-<seq>", the form of Redis stream entry ids, used the
// same way by the embedded broker. Ordered by (ms, seq), so "later" is a comparison, not a
// string order ("9-0" < "10-0"). Ids of streams that keep no history have another form (see
// server/MessageIds.h) and never parse as a position.
namespace herald::streamid {

struct Position {
    quint64 ms = 0;
    quint64 seq = 0;
    auto operator<=>(const Position&) const = default;
};

// nullopt for anything but two decimal numbers joined by '-'.
std::optional<Position> parse(QStringView id);
QString format(const Position& position);

} // namespace herald::streamid
