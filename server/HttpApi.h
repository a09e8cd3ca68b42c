#pragma once

#include "server/Authenticator.h"
#include "server/HttpConnection.h"
#include "shared/Cluster.h"
#include "shared/Messages.h"
#include "shared/Streams.h"

#include <QDateTime>
#include <functional>
#include <variant>
#include <vector>

namespace herald {

class Hub;
class Broker;
class Presence;
class StickyNotices;

// What /api/cluster, /readyz and /metrics report about the node, supplied by the Node.
struct NodeStatus {
    cluster::NodeState state = cluster::NodeState::Serving;
    QString address;
    qint64 startedAtMs = 0;
    std::vector<qint64> workerConnections; // open connections per worker thread (none: no workers)
};

// The HTTP side of the port: the publish API, health and readiness, metrics and the demo page.
class HttpApi {
public:
    using Respond = std::function<void(HttpResponse)>;

    HttpApi(const Config& config, Hub& hub, Broker& broker, Presence& presence,
            StickyNotices& sticky, const Authenticator& auth, std::function<NodeStatus()> status);

    void handle(const HttpRequest& request, Respond respond);

    // This node's figures as served on /api/cluster (also used by the admin endpoint).
    QJsonObject nodeSnapshot() const;

private:
    // A publish, validated and ready for the Publisher.
    struct Prepared {
        streams::StreamRef stream;
        QByteArray data; // compact JSON
    };
    std::variant<Prepared, Error> prepare(const PublishRequest& publish) const;
    void publish(const HttpRequest& request, Respond respond);
    void publishBatch(const HttpRequest& request, Respond respond);
    void broadcast(const HttpRequest& request, Respond respond);
    void stickyBroadcast(const BroadcastRequest& request, Respond respond);
    void withdraw(const QString& id, Respond respond);
    HttpResponse stickyList() const;
    HttpResponse cluster() const;
    HttpResponse metrics() const;
    HttpResponse readiness() const;
    HttpResponse staticFile(const QString& path) const;

    const Config& config_;
    Hub& hub_;
    Broker& broker_;
    Presence& presence_;
    StickyNotices& sticky_;
    const Authenticator& auth_;
    std::function<NodeStatus()> status_;
};

} // namespace herald
