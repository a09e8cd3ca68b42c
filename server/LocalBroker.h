#pragma once

#include "server/Broker.h"

#include <QHash>

namespace herald {

// The embedded broker of a single node: a publish is delivered back to this node on the next
// event-loop pass (never re-entrantly), and only for keys somebody subscribed to.
class LocalBroker final : public Broker {
    Q_OBJECT
public:
    using Broker::Broker;

    void subscribe(const QString& key) override;
    void unsubscribe(const QString& key) override;
    void publish(const QString& key, const QByteArray& payload, PublishDone done) override;
    bool isReady() const override { return true; }
    QString describe() const override { return QStringLiteral("embedded"); }

private:
    QHash<QString, int> subscribed_;
};

} // namespace herald
