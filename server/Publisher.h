#pragma once

#include "server/Broker.h"
#include "server/Config.h"
#include "server/MessageIds.h"
#include "server/Metrics.h"
#include "shared/Messages.h"
#include "shared/Streams.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

namespace herald {

class Router;

struct PublishResult {
    QString id;
    QString routingKey;
    std::optional<Error> error;
};

// Producers' side: gives every message its id, wraps it in the bus envelope and hands it to the
// broker, answering each publish exactly once (confirmed, refused, or timed out on a hung
// broker). During an outage this node's own subscribers still get the message.
class Publisher : public QObject {
    Q_OBJECT
public:
    using Done = std::function<void(const PublishResult&)>;

    Publisher(const Config& config, QString nodeId, MessageIds& ids, Broker& broker, Router& router,
              Metrics& metrics, QObject* parent = nullptr);

    void publish(const streams::StreamRef& stream, const QByteArray& dataJson, Done done);
    void broadcast(const SystemNotice& notice, Done done);

private:
    // A publish waiting for the broker's answer. Answered exactly once, by the broker or by the
    // deadline if the broker hangs (a frozen Redis): `done` is empty afterwards.
    struct Outstanding {
        QString key;
        Done done;
    };
    std::shared_ptr<Outstanding> open(const QString& key, Done done);
    void answer(Outstanding& publish, const QString& id, std::optional<Error> error);
    // Gives `publish` publish_timeout to be answered. One timer for all: every publish has the
    // same timeout, so their deadlines come in order. The queue keeps each publish (so that one
    // whose callback a broker lost is still answered), but an answered one holds no callback any
    // more. A timer per publish cost a QObject and a timer registration each, and kept the
    // caller's callback for the whole timeout.
    void watch(const std::shared_ptr<Outstanding>& publish);
    void expire();
    void publishPayload(const QString& key, const QString& id, const QByteArray& payload,
                        Done done);

    struct Deadline {
        qint64 atMs;
        std::shared_ptr<Outstanding> publish;
    };
    const Config& config_;
    QString nodeId_;
    MessageIds& ids_;
    Broker& broker_;
    Router& router_;
    Metrics& metrics_;
    std::deque<Deadline> deadlines_;
    QTimer deadlineTimer_;
    QElapsedTimer clock_;
};

} // namespace herald
