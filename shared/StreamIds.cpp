#include "shared/StreamIds.h"

namespace herald::streamid {
namespace {

std::optional<quint64> number(QStringView digits) {
    // Digits only: toULongLong would also take "+1" or " 1", which no position is written as.
    if (digits.isEmpty() || digits.size() > 20)
        return std::nullopt;
    for (QChar c : digits)
        if (c < QLatin1Char('0') || c > QLatin1Char('9'))
            return std::nullopt;
    bool ok = false;
    const quint64 value = digits.toULongLong(&ok);
    return ok ? std::optional<quint64>(value) : std::nullopt;
}

} // namespace

std::optional<Position> parse(QStringView id) {
    const qsizetype dash = id.indexOf(QLatin1Char('-'));
    if (dash < 0)
        return std::nullopt;
    const auto ms = number(id.left(dash));
    const auto seq = number(id.mid(dash + 1));
    if (!ms || !seq)
        return std::nullopt;
    return Position{*ms, *seq};
}

QString format(const Position& position) {
    return QString::number(position.ms) + QLatin1Char('-') + QString::number(position.seq);
}

} // namespace herald::streamid
