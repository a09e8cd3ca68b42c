#pragma once

#include "server/HistoryPolicy.h"
#include "shared/Cluster.h"
#include "shared/Errors.h"

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QString>
#include <functional>
#include <optional>
#include <variant>

namespace herald {

// One message of a stream's history: its position (shared/StreamIds.h) and its data as stored
// (checked by the reader: anyone with Redis access can write there).
struct HistoryEntry {
    QString id;
    QByteArray dataJson;
};

// What a history read found after a position.
struct HistoryRead {
    std::optional<Error> error; // the read itself failed (broker unreachable, ...)
    // Every message after the position is in `entries` (the position is still kept, or is the
    // newest one trimmed). False when older messages are gone, or the stream is unknown.
    bool complete = false;
    QString lastId;              // the stream's newest id ("" when it has none)
    QList<HistoryEntry> entries; // after the position, oldest first, at most the limit asked
};

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

    // Streams with history. publishKept appends `dataJson` to the stream's history, trimmed to
    // `retention`, and publishes it in one step (nothing can come between), with an envelope
    // carrying the new id and the previous one; `done` gets the new id or the error (the
    // embedded broker answers inside the call, as its publish() does; Redis never does).
    using KeptDone = std::function<void(std::variant<QString, Error>)>;
    virtual void publishKept(const QString& key, const Retention& retention,
                             const QByteArray& dataJson, const QString& origin, KeptDone done) = 0;
    // Reads what `key` keeps after position `after` (at most `limit` entries; "" asks only for
    // the newest id, and is complete). `done` is called once, never inside the call.
    using ReadDone = std::function<void(HistoryRead)>;
    virtual void readHistory(const QString& key, const QString& after, int limit,
                             ReadDone done) = 0;
    // True once the subscription to `key` is in place (messages published from now on arrive).
    virtual bool isLive(const QString& key) const = 0;
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
    // The subscription to `key` is in place: after subscribe(), and again after every reconnect
    // (what was published while it was not may be missing).
    void keyLive(const QString& key);

protected:
    void deliver(const QString& key, const QByteArray& payload) {
        if (key == cluster::kControlKey)
            Q_EMIT controlArrived(payload);
        else
            Q_EMIT dataArrived(key, payload);
    }
};

} // namespace herald
