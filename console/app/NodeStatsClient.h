#pragma once

#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QObject>
#include <QTimer>
#include <QUrl>

namespace herald::console {

// Polls a node's /api/cluster once a second and sends system broadcasts through /api/broadcast.
// (The full console moves to the /admin WebSocket; this is the first, HTTP-only step.)
class NodeStatsClient : public QObject {
    Q_OBJECT
public:
    NodeStatsClient(QUrl server, QByteArray token, QObject* parent = nullptr);

    void start();
    void broadcast(const QString& title, const QString& body, const QString& level);

    const QJsonObject& lastSnapshot() const { return snapshot_; }
    QUrl server() const { return server_; }

Q_SIGNALS:
    void snapshot(const QJsonObject& cluster);
    // Empty text: reachable again.
    void problem(const QString& text);
    void broadcastDone(bool ok, const QString& text);

private:
    void poll();
    QNetworkRequest request(const QString& path) const;

    QUrl server_;
    QByteArray token_;
    QNetworkAccessManager network_;
    QTimer timer_;
    QJsonObject snapshot_;
    bool inFlight_ = false;
};

} // namespace herald::console
