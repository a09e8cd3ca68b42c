#pragma once

#include "server/Broker.h"
#include "server/Config.h"
#include "server/MessageIds.h"
#include "server/Metrics.h"
#include "shared/Messages.h"
#include "shared/Streams.h"

#include <QObject>
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
    // The one answer to a publish: the broker's, or a timeout's if the broker hangs (a frozen
    // Redis); `answered` tells whether it came already.
    struct Answer {
        std::function<void(const QString& id, std::optional<Error>)> finish;
        std::shared_ptr<bool> answered;
    };
    Answer answerOnce(const QString& key, Done done);
    void armTimeout(const Answer& answer);
    void publishPayload(const QString& key, const QString& id, const QByteArray& payload,
                        Done done);

    const Config& config_;
    QString nodeId_;
    MessageIds& ids_;
    Broker& broker_;
    Router& router_;
    Metrics& metrics_;
};

} // namespace herald
