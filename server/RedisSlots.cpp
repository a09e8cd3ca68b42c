#include "server/RedisSlots.h"

#include <array>

namespace herald::redisslots {
namespace {

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), the checksum Redis Cluster specifies.
constexpr std::array<quint16, 256> makeTable() {
    std::array<quint16, 256> table{};
    for (int i = 0; i < 256; ++i) {
        quint16 crc = quint16(i << 8);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 0x8000) ? quint16((crc << 1) ^ 0x1021) : quint16(crc << 1);
        table[size_t(i)] = crc;
    }
    return table;
}
constexpr std::array<quint16, 256> kTable = makeTable();

quint16 crc16(QByteArrayView data) {
    quint16 crc = 0;
    for (const char c : data)
        crc = quint16((crc << 8) ^ kTable[size_t(((crc >> 8) ^ quint8(c)) & 0xff)]);
    return crc;
}

// "host:port" (the host may itself hold colons: IPv6) -> parts; false when malformed.
bool splitEndpoint(QByteArrayView text, QString* host, quint16* port) {
    const qsizetype colon = text.lastIndexOf(':');
    if (colon <= 0)
        return false;
    bool ok = false;
    const uint value = text.sliced(colon + 1).toByteArray().toUInt(&ok);
    if (!ok || value == 0 || value > 65535)
        return false;
    *host = QString::fromUtf8(text.first(colon));
    *port = quint16(value);
    return true;
}

} // namespace

int keySlot(QByteArrayView key) {
    const qsizetype open = key.indexOf('{');
    if (open >= 0) {
        const qsizetype close = key.sliced(open + 1).indexOf('}');
        if (close > 0) // "{}" is not a tag: the whole key counts
            return crc16(key.sliced(open + 1, close)) % kSlotCount;
    }
    return crc16(key) % kSlotCount;
}

std::variant<QList<SlotRange>, QString> parseClusterSlots(const RedisReply& reply,
                                                          const QString& replyHost) {
    if (reply.isError())
        return QStringLiteral("CLUSTER SLOTS failed: ") + reply.errorText();
    if (reply.type != RedisReply::Type::Array)
        return QStringLiteral("CLUSTER SLOTS: not an array");
    QList<SlotRange> out;
    for (const RedisReply& range : reply.elements) {
        // [first, last, [host, port, id, ...] (the master), [replica]...]
        if (range.type != RedisReply::Type::Array || range.elements.size() < 3 ||
            range.elements[0].type != RedisReply::Type::Integer ||
            range.elements[1].type != RedisReply::Type::Integer)
            return QStringLiteral("CLUSTER SLOTS: malformed range");
        const RedisReply& master = range.elements[2];
        if (master.type != RedisReply::Type::Array || master.elements.size() < 2 ||
            master.elements[0].type != RedisReply::Type::String ||
            master.elements[1].type != RedisReply::Type::Integer)
            return QStringLiteral("CLUSTER SLOTS: malformed master");
        SlotRange r;
        r.first = int(range.elements[0].integer);
        r.last = int(range.elements[1].integer);
        if (r.first < 0 || r.last >= kSlotCount || r.first > r.last)
            return QStringLiteral("CLUSTER SLOTS: range %1-%2 out of bounds")
                .arg(r.first)
                .arg(r.last);
        const qint64 port = master.elements[1].integer;
        if (port <= 0 || port > 65535)
            return QStringLiteral("CLUSTER SLOTS: bad port %1").arg(port);
        r.host = master.elements[0].string.isEmpty() || master.elements[0].string == "?"
                     ? replyHost
                     : QString::fromUtf8(master.elements[0].string);
        r.port = quint16(port);
        out.append(r);
    }
    return out;
}

std::optional<Redirect> parseRedirect(QByteArrayView errorText) {
    Redirect r;
    QByteArrayView rest;
    if (errorText.startsWith("MOVED ")) {
        rest = errorText.sliced(6);
    } else if (errorText.startsWith("ASK ")) {
        r.ask = true;
        rest = errorText.sliced(4);
    } else {
        return std::nullopt;
    }
    const qsizetype space = rest.indexOf(' ');
    if (space <= 0)
        return std::nullopt;
    bool ok = false;
    const int slot = rest.first(space).toByteArray().toInt(&ok);
    if (!ok || slot < 0 || slot >= kSlotCount)
        return std::nullopt;
    r.slot = slot;
    if (!splitEndpoint(rest.sliced(space + 1).toByteArray().trimmed(), &r.host, &r.port))
        return std::nullopt;
    return r;
}

QString endpointOf(const QString& host, quint16 port) {
    return (host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') : host) +
           QLatin1Char(':') + QString::number(port);
}

} // namespace herald::redisslots
