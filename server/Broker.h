#pragma once

#include "shared/Cluster.h"
#include "shared/Errors.h"

#include <QByteArray>
#include <QObject>
#include <QString>
#include <functional>
#include <optional>

namespace herald {

// The node's link to every other node. Keys are routing keys ("public.x", "private.u.x",
// "system"); payloads are bus payloads (shared/Bus.h). The caller reference-counts: subscribe()
// is called when a key gets its first local subscriber and unsubscribe() when it loses its last.
class Broker : public QObject {
    Q_OBJECT
public:
    // Called once with nullopt when the payload is on its way to every node, or with the error
    // that kept it from leaving this node (publishes are never dropped silently).
    using PublishDone = std::function<void(std::optional<Error>)>;

    using QObject::QObject;
    ~Broker() override = default;

    virtual void subscribe(const QString& key) = 0;
    virtual void unsubscribe(const QString& key) = 0;
    virtual void publish(const QString& key, const QByteArray& payload, PublishDone done) = 0;
    // False while the broker cannot deliver to the cluster (e.g. Redis unreachable).
    virtual bool isReady() const = 0;
    virtual QString describe() const = 0;
    // Why the broker is not ready (e.g. "cannot connect: TLS handshake ... failed: ..."), for
    // /readyz; empty when ready or unknown.
    virtual QString problem() const { return {}; }

Q_SIGNALS:
    // What arrives is routed by key to the one component that wants it (emitted once per
    // subscribed key, this node's own publishes included): streams and "system" to the router,
    void dataArrived(const QString& key, const QByteArray& payload);
    // and the cluster control channel (heartbeats, admin orders) to presence.
    void controlArrived(const QByteArray& payload);
    void readyChanged(bool ready);

protected:
    void deliver(const QString& key, const QByteArray& payload) {
        if (key == cluster::kControlKey)
            Q_EMIT controlArrived(payload);
        else
            Q_EMIT dataArrived(key, payload);
    }
};

} // namespace herald
