#pragma once

#include "server/AdminService.h"
#include "server/Audit.h"
#include "server/Authenticator.h"
#include "server/Broker.h"
#include "server/Config.h"
#include "server/Gateway.h"
#include "server/HttpApi.h"
#include "server/Hub.h"
#include "server/Metrics.h"
#include "server/Presence.h"
#include "server/StickyNotices.h"
#include "server/WorkerPool.h"
#include "shared/Cluster.h"

#include <QObject>
#include <QTimer>
#include <memory>

namespace herald {

// The composition root of one herald-server process: builds the parts from a Config, starts
// listening, and runs the graceful stop. Holds no protocol logic of its own.
class Node : public QObject {
    Q_OBJECT
public:
    // Fails with a readable message for settings that only show themselves when used (keys).
    static std::variant<std::unique_ptr<Node>, QString> create(Config config);
    ~Node() override;

    bool start(QString* error);
    // Stops accepting, asks clients to go elsewhere (close 1001), and emits stopped() when all
    // are gone or the grace period is over.
    void shutdown();
    // SIGTERM/SIGINT: drain for shutdown_drain first when it is set, then shutdown().
    void terminate();

    // An admin's drain: stop taking WebSockets, report "draining" (heartbeats, /readyz 503) and
    // close every client with 1012 spread evenly over drain_period; the node keeps running.
    void drain() { drainOver(config_.drainPeriodMs); }
    // SIGHUP: new connections get the certificate now in tls_cert/tls_key/tls_ca; open ones
    // stay as they are. Bad files are logged and the current certificate stays in use.
    void reloadTls() { gateway_->reloadTls(); }

    QString listenUrl() const;
    Hub& hub() { return *hub_; }

Q_SIGNALS:
    void stopped();

private:
    void drainOver(int periodMs);
    Node(Config config, Authenticator auth, std::unique_ptr<Broker> broker,
         std::optional<TlsCredentials> tls);
    cluster::NodeInfo selfInfo() const;
    void sampleRates();

    Config config_;
    Authenticator auth_;
    Metrics metrics_;
    NodeStatus status_;
    std::unique_ptr<Broker> broker_;
    WriteBatcher batcher_; // before hub_: the sessions' queues refer to it until they go
    std::unique_ptr<WorkerPool> workers_; // before hub_: likewise, with `workers` set
    std::unique_ptr<Hub> hub_;
    std::unique_ptr<Presence> presence_;
    QTimer rateTimer_;
    qint64 lastMessagesIn_ = 0;
    qint64 lastDeliveries_ = 0;
    double messagesInRate_ = 0;
    double deliveriesRate_ = 0;
    std::unique_ptr<StickyNotices> sticky_;
    std::unique_ptr<HttpApi> api_;
    std::unique_ptr<Gateway> gateway_;
    std::unique_ptr<Audit> audit_;
    std::unique_ptr<AdminService> admin_;
};

} // namespace herald
