#pragma once

#include "shared/Admin.h"

#include <QList>
#include <QObject>
#include <functional>

namespace herald {

class RedisShards;

// The admin audit log: who broadcast, drained or disconnected what, and when. Kept in Redis
// (LPUSH <prefix>audit, trimmed to kMaxEntries, shared by every node and surviving restarts)
// when the node has one, else in memory (bounded the same way). Never blocks: reads answer
// through a callback.
class Audit : public QObject {
    Q_OBJECT
public:
    static constexpr int kMaxEntries = 10000;
    using Entries = QList<admin::AuditEntry>;

    // `redis` is the command connection, or nullptr for an in-memory log.
    Audit(RedisShards* redis, QByteArray key, QObject* parent = nullptr);

    void record(const admin::AuditEntry& entry);
    // At most `limit` entries, newest first.
    void read(int limit, std::function<void(Entries)> done);

    static QByteArray encode(const admin::AuditEntry& entry);
    static std::optional<admin::AuditEntry> decode(const QByteArray& json);

private:
    void remember(const admin::AuditEntry& entry);
    Entries newest(int limit) const;

    RedisShards* redis_;
    QByteArray key_;
    Entries memory_; // newest first; with Redis, only what Redis could not take
};

} // namespace herald
