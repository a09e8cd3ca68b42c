#include "shared/Bus.h"

#include "shared/JsonNumbers.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace herald::bus {
namespace {
constexpr char kEnvelopeMark = '\x1e';

// JSON-encodes a string (quotes and escapes) the same way QJsonDocument would.
QByteArray jsonString(const QString& s) {
    const QByteArray array = QJsonDocument(QJsonArray{s}).toJson(QJsonDocument::Compact);
    return array.mid(1, array.size() - 2);
}
} // namespace

std::variant<QByteArray, Error> compactJsonValue(const QByteArray& json) {
    // QJsonDocument only holds objects and arrays: wrap so that scalars validate too.
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson('[' + json + ']', &err);
    if (err.error != QJsonParseError::NoError || doc.array().size() != 1)
        return Error{ErrorCode::BadJson,
                     QStringLiteral("payload is not one JSON value: %1").arg(err.errorString())};
    const QByteArray wrapped = doc.toJson(QJsonDocument::Compact);
    return wrapped.mid(1, wrapped.size() - 2);
}

QByteArray encodeEnvelope(const Message& m) {
    QJsonObject header{{QStringLiteral("id"), m.id},
                       {QStringLiteral("origin"), m.origin},
                       {QStringLiteral("ts"), m.publishedMs}};
    if (m.hasPrev)
        header.insert(QStringLiteral("prev"), m.prev);
    return kEnvelopeMark + QJsonDocument(header).toJson(QJsonDocument::Compact) + '\n' + m.dataJson;
}

std::variant<Message, Error> decode(const QByteArray& payload) {
    Message m;
    QByteArray data = payload;
    if (payload.startsWith(kEnvelopeMark)) {
        const qsizetype newline = payload.indexOf('\n');
        if (newline < 0)
            return Error{ErrorCode::BadRequest, QStringLiteral("envelope without data")};
        const QJsonDocument header = QJsonDocument::fromJson(payload.mid(1, newline - 1));
        if (!header.isObject() || !header.object().value(QLatin1String("id")).isString())
            return Error{ErrorCode::BadRequest, QStringLiteral("envelope header is malformed")};
        const QJsonObject h = header.object();
        m.id = h.value(QLatin1String("id")).toString();
        m.origin = h.value(QLatin1String("origin")).toString();
        const QJsonValue prev = h.value(QLatin1String("prev"));
        m.hasPrev = prev.isString();
        m.prev = prev.toString();
        m.publishedMs = saturatingInteger(h.value(QLatin1String("ts")).toDouble());
        // Validated even from Herald's own nodes: anyone with Redis access can publish, and a
        // frame spliced from bad JSON would break every client that receives it.
        data = payload.mid(newline + 1);
    }
    auto compact = compactJsonValue(data);
    if (auto* e = std::get_if<Error>(&compact))
        return *e;
    m.dataJson = std::get<QByteArray>(compact);
    return m;
}

QByteArray encodeMessageFrame(const QString& routingKey, const QString& id,
                              const QByteArray& dataJson) {
    QByteArray frame;
    frame.reserve(dataJson.size() + routingKey.size() + id.size() + 48);
    frame += R"({"event":"message","stream":)";
    frame += jsonString(routingKey);
    frame += R"(,"id":)";
    frame += jsonString(id);
    frame += R"(,"data":)";
    frame += dataJson;
    frame += '}';
    return frame;
}

} // namespace herald::bus
