#include "server/Audit.h"

#include "server/RedisShards.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QPointer>

Q_LOGGING_CATEGORY(lcAudit, "herald.audit")

namespace herald {

Audit::Audit(RedisShards* redis, QByteArray key, QObject* parent)
    : QObject(parent)
    , redis_(redis)
    , key_(std::move(key)) {}

QByteArray Audit::encode(const admin::AuditEntry& e) {
    return QJsonDocument(QJsonObject{{QStringLiteral("at_ms"), e.atMs},
                                     {QStringLiteral("who"), e.who},
                                     {QStringLiteral("action"), e.action},
                                     {QStringLiteral("target"), e.target},
                                     {QStringLiteral("detail"), e.detail}})
        .toJson(QJsonDocument::Compact);
}

std::optional<admin::AuditEntry> Audit::decode(const QByteArray& json) {
    const QJsonDocument doc = QJsonDocument::fromJson(json);
    if (!doc.isObject())
        return std::nullopt;
    const QJsonObject o = doc.object();
    return admin::AuditEntry{
        o.value(QLatin1String("at_ms")).toInteger(), o.value(QLatin1String("who")).toString(),
        o.value(QLatin1String("action")).toString(), o.value(QLatin1String("target")).toString(),
        o.value(QLatin1String("detail")).toString()};
}

void Audit::remember(const admin::AuditEntry& entry) {
    memory_.prepend(entry);
    if (memory_.size() > kMaxEntries)
        memory_.resize(kMaxEntries);
}

Audit::Entries Audit::newest(int limit) const {
    return memory_.mid(0, limit);
}

void Audit::record(const admin::AuditEntry& entry) {
    qCInfo(lcAudit).noquote() << entry.who << entry.action << entry.target << entry.detail;
    if (!redis_)
        return remember(entry);
    QPointer<Audit> self(this);
    redis_->command(key_, {"LPUSH", key_, encode(entry)}, [self, entry](const RedisReply& reply) {
        if (!self || !reply.isError())
            return;
        // Not lost: kept here and served by this node until it restarts.
        qCWarning(lcAudit).noquote()
            << "redis refused the audit entry (" << reply.errorText() << "); kept in memory";
        self->remember(entry);
    });
    redis_->command(key_, {"LTRIM", key_, "0", QByteArray::number(kMaxEntries - 1)});
}

void Audit::read(int limit, std::function<void(Entries)> done) {
    if (!redis_)
        return done(newest(limit));
    QPointer<Audit> self(this);
    redis_->command(key_, {"LRANGE", key_, "0", QByteArray::number(limit - 1)},
                    [self, limit, done = std::move(done)](const RedisReply& reply) {
                        if (!self)
                            return;
                        Entries entries;
                        if (!reply.isError()) {
                            for (const RedisReply& item : reply.elements)
                                if (auto e = decode(item.string))
                                    entries.append(*e);
                        }
                        // Entries Redis could not take, merged in by time.
                        entries += self->newest(limit);
                        std::stable_sort(
                            entries.begin(), entries.end(),
                            [](const auto& a, const auto& b) { return a.atMs > b.atMs; });
                        done(entries.mid(0, limit));
                    });
}

} // namespace herald
