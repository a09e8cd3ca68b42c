#include "console/app/NodeStatsClient.h"

#include "shared/Codec.h"

#include <QJsonDocument>
#include <QNetworkReply>

namespace herald::console {
namespace {
QString errorText(QNetworkReply* reply) {
    const QJsonObject error = QJsonDocument::fromJson(reply->readAll()).object().value(QLatin1String("error")).toObject();
    if (!error.isEmpty())
        return error.value(QLatin1String("code")).toString() + QStringLiteral(": ") + error.value(QLatin1String("message")).toString();
    return reply->errorString();
}
} // namespace

NodeStatsClient::NodeStatsClient(QUrl server, QByteArray token, QObject* parent)
    : QObject(parent)
    , server_(std::move(server))
    , token_(std::move(token)) {
    timer_.setInterval(1000);
    connect(&timer_, &QTimer::timeout, this, &NodeStatsClient::poll);
    network_.setTransferTimeout(3000);
}

void NodeStatsClient::start() {
    poll();
    timer_.start();
}

QNetworkRequest NodeStatsClient::request(const QString& path) const {
    QUrl url = server_;
    url.setPath(path);
    QNetworkRequest r(url);
    r.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    if (!token_.isEmpty())
        r.setRawHeader("Authorization", "Bearer " + token_);
    return r;
}

void NodeStatsClient::poll() {
    if (inFlight_)
        return; // a slow node must not pile up requests
    inFlight_ = true;
    QNetworkReply* reply = network_.get(request(QStringLiteral("/api/cluster")));
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        reply->deleteLater();
        inFlight_ = false;
        if (reply->error() != QNetworkReply::NoError) {
            Q_EMIT problem(QStringLiteral("%1: %2").arg(server_.toString(), errorText(reply)));
            return;
        }
        snapshot_ = QJsonDocument::fromJson(reply->readAll()).object();
        Q_EMIT problem({});
        Q_EMIT snapshot(snapshot_);
    });
}

void NodeStatsClient::broadcast(const QString& title, const QString& body, const QString& level) {
    SystemNotice notice{title, body, Level::Info};
    levelFromName(level, &notice.level);
    QNetworkReply* reply = network_.post(request(QStringLiteral("/api/broadcast")), codec::encode(BroadcastRequest{notice}));
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        reply->deleteLater();
        if (reply->error() != QNetworkReply::NoError) {
            Q_EMIT broadcastDone(false, errorText(reply));
            return;
        }
        Q_EMIT broadcastDone(true, QJsonDocument::fromJson(reply->readAll()).object().value(QLatin1String("id")).toString());
    });
}

} // namespace herald::console
