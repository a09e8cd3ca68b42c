#pragma once

#include <QHash>
#include <QList>
#include <QPair>
#include <QSet>
#include <QString>

namespace herald {

class Session;

// Two-way subscription index, stream -> sessions and session -> streams, as Redis's pubsub.c
// keeps it: entries are erased when they become empty, so memory follows live subscriptions and
// a disconnect costs O(its subscriptions), never O(all sessions).
class Fanout {
public:
    // True when `key` had no subscriber before (the caller then subscribes the broker).
    bool add(Session* session, const QString& key);
    // True when `key` has no subscriber left (the caller then unsubscribes the broker).
    bool remove(Session* session, const QString& key);
    // Drops every subscription of `session`; returns the keys that became empty.
    QStringList removeAll(Session* session);

    const QSet<Session*>& subscribers(const QString& key) const;
    bool isSubscribed(Session* session, const QString& key) const;
    int subscriptionCount(Session* session) const;
    QStringList keysOf(Session* session) const;

    qsizetype streamCount() const { return byKey_.size(); }
    // Every key with its number of subscribers, in no order.
    QList<QPair<QString, qint64>> counts() const;
    qint64 totalSubscriptions() const { return total_; }

private:
    QHash<QString, QSet<Session*>> byKey_;
    // A list, not a set: a connection has a few streams (at most max_subscriptions), and Qt 6's
    // smallest QSet<QString> allocates room for 48 entries, about 1.3 KB per connection.
    QHash<Session*, QList<QString>> bySession_;
    qint64 total_ = 0;
};

} // namespace herald
