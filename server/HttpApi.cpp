#include "server/HttpApi.h"

#include "server/Broker.h"
#include "server/Hub.h"
#include "server/Presence.h"
#include "server/Publisher.h"
#include "server/StickyNotices.h"
#include "shared/Bus.h"
#include "shared/Cluster.h"
#include "shared/Codec.h"
#include "shared/Version.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace herald {
namespace {

QByteArray toJson(const QJsonObject& o) {
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

// Publish failures map to HTTP statuses by error kind.
int statusFor(ErrorCode code) {
    switch (code) {
    case ErrorCode::BadJson:
    case ErrorCode::BadRequest:
    case ErrorCode::BadStream:
    case ErrorCode::UnknownEvent:
        return 400;
    case ErrorCode::Unauthorized:
        return 401;
    case ErrorCode::Forbidden:
        return 403;
    case ErrorCode::NotFound:
        return 404;
    case ErrorCode::TooLarge:
        return 413;
    case ErrorCode::Unavailable:
        return 503;
    default:
        return 500;
    }
}

// A publish's answer: its id and routing key.
QJsonObject publishAnswer(const PublishResult& result) {
    return {{QStringLiteral("id"), result.id}, {QStringLiteral("stream"), result.routingKey}};
}

// An error as HTTP answers carry it: {"error":{"code","message"}}.
QJsonObject errorObject(const Error& error) {
    return {
        {QStringLiteral("error"), QJsonObject{{QStringLiteral("code"), errorCodeName(error.code)},
                                              {QStringLiteral("message"), error.message}}}};
}

QByteArray contentTypeFor(const QString& path) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("html"))
        return "text/html; charset=utf-8";
    if (suffix == QLatin1String("js"))
        return "text/javascript; charset=utf-8";
    if (suffix == QLatin1String("css"))
        return "text/css; charset=utf-8";
    if (suffix == QLatin1String("svg"))
        return "image/svg+xml";
    if (suffix == QLatin1String("png"))
        return "image/png";
    if (suffix == QLatin1String("json"))
        return "application/json";
    return "application/octet-stream";
}

struct Route {
    const char* method;
    const char* path;
    void (HttpApi::*async)(const HttpRequest&, HttpApi::Respond) = nullptr;
};

} // namespace

HttpApi::HttpApi(const Config& config, Hub& hub, Broker& broker, Presence& presence,
                 StickyNotices& sticky, const Authenticator& auth,
                 std::function<NodeStatus()> status)
    : config_(config)
    , hub_(hub)
    , broker_(broker)
    , presence_(presence)
    , sticky_(sticky)
    , auth_(auth)
    , status_(std::move(status)) {}

void HttpApi::handle(const HttpRequest& request, Respond respond) {
    hub_.metrics().httpRequests++;
    const QString& path = request.path;
    const bool get = request.method == "GET" || request.method == "HEAD";
    const bool post = request.method == "POST";
    auto methodNotAllowed = [&](const char* allow) {
        HttpResponse r = HttpResponse::error(
            405, {ErrorCode::BadRequest,
                  QStringLiteral("use %1 for %2").arg(QLatin1String(allow), path)});
        r.headers.append(qMakePair(QByteArray("Allow"), QByteArray(allow)));
        respond(r);
    };

    // /api/broadcast/<id>: one sticky notice, withdrawn with DELETE.
    const QLatin1String noticePrefix("/api/broadcast/");
    const bool notice = path.startsWith(noticePrefix) && path.size() > noticePrefix.size();
    if (path == QLatin1String("/api/publish") || path == QLatin1String("/api/broadcast") ||
        notice) {
        const bool del = request.method == "DELETE";
        if (notice ? !del : path == QLatin1String("/api/publish") ? !post : !(post || get))
            return methodNotAllowed(notice                                  ? "DELETE"
                                    : path == QLatin1String("/api/publish") ? "POST"
                                                                            : "GET, POST");
        if (auto denied = auth_.authorizeApi(request.bearerToken(), request.peer)) {
            hub_.metrics().countError(denied->code);
            HttpResponse r = HttpResponse::error(401, *denied);
            r.headers.append(qMakePair(QByteArray("WWW-Authenticate"), QByteArray("Bearer")));
            return respond(r);
        }
        if (notice)
            return withdraw(path.mid(noticePrefix.size()), std::move(respond));
        if (path == QLatin1String("/api/publish"))
            return publish(request, std::move(respond));
        if (get)
            return respond(stickyList());
        return broadcast(request, std::move(respond));
    }
    if (!get) {
        if (path == QLatin1String("/api/cluster") || path == QLatin1String("/healthz") ||
            path == QLatin1String("/readyz") || path == QLatin1String("/metrics") ||
            path == QLatin1String("/"))
            return methodNotAllowed("GET");
        return respond(HttpResponse::error(
            404, {ErrorCode::NotFound, QStringLiteral("no resource at %1").arg(path)}));
    }
    if (path == QLatin1String("/healthz"))
        return respond(HttpResponse::json(200, R"({"status":"ok"})"));
    if (path == QLatin1String("/readyz"))
        return respond(readiness());
    if (path == QLatin1String("/metrics"))
        return respond(metrics());
    if (path == QLatin1String("/api/cluster")) {
        if (auto denied = auth_.authorizeApi(request.bearerToken(), request.peer)) {
            hub_.metrics().countError(denied->code);
            HttpResponse r = HttpResponse::error(401, *denied);
            r.headers.append(qMakePair(QByteArray("WWW-Authenticate"), QByteArray("Bearer")));
            return respond(r);
        }
        return respond(cluster());
    }
    if (endpointForPath(path)) {
        return respond(HttpResponse::error(
            426, {ErrorCode::BadRequest, QStringLiteral("%1 is a WebSocket endpoint").arg(path)}));
    }
    respond(staticFile(path == QLatin1String("/") ? QStringLiteral("/index.html") : path));
}

std::variant<HttpApi::Prepared, Error> HttpApi::prepare(const PublishRequest& publish) const {
    auto resolved = streams::resolveForPublisher(publish.stream, publish.user);
    if (auto* error = std::get_if<Error>(&resolved))
        return *error;
    const auto& stream = std::get<streams::StreamRef>(resolved);
    if (stream.kind == streams::Kind::System)
        return Error{ErrorCode::BadStream,
                     QStringLiteral("use /api/broadcast for system messages")};
    // The data as compact JSON: serialised once here, then carried as bytes to every frame.
    const QByteArray data = QJsonDocument(QJsonArray{publish.data}).toJson(QJsonDocument::Compact);
    return Prepared{stream, data.mid(1, data.size() - 2)};
}

void HttpApi::publish(const HttpRequest& request, Respond respond) {
    if (codec::isPublishBatch(request.body))
        return publishBatch(request, std::move(respond));
    auto decoded = codec::decodePublishRequest(request.body);
    auto prepared = std::holds_alternative<Error>(decoded)
                        ? std::variant<Prepared, Error>(std::get<Error>(decoded))
                        : prepare(std::get<PublishRequest>(decoded));
    if (auto* error = std::get_if<Error>(&prepared)) {
        hub_.metrics().countError(error->code);
        return respond(HttpResponse::error(statusFor(error->code), *error));
    }
    const Prepared& p = std::get<Prepared>(prepared);
    hub_.publisher().publish(p.stream, p.data, [respond](const PublishResult& result) {
        if (result.error)
            return respond(HttpResponse::error(statusFor(result.error->code), *result.error));
        respond(HttpResponse::json(200, toJson(publishAnswer(result))));
    });
}

void HttpApi::publishBatch(const HttpRequest& request, Respond respond) {
    auto decoded = codec::decodePublishBatch(request.body);
    if (auto* error = std::get_if<Error>(&decoded)) {
        hub_.metrics().countError(error->code);
        return respond(HttpResponse::error(statusFor(error->code), *error));
    }
    const auto& items = std::get<QList<codec::Decoded<PublishRequest>>>(decoded);
    // Every item is one publish through the Publisher, as a single one would be (ids, history,
    // broker acks, the outage rules), all issued at once and in order, so the broker keeps their
    // order; the answer waits for the last of them and lists each item's result in place.
    struct Batch {
        QJsonArray results;
        qsizetype pending;
        Respond respond;
    };
    auto batch = std::make_shared<Batch>(Batch{{}, items.size(), std::move(respond)});
    for (qsizetype i = 0; i < items.size(); ++i)
        batch->results.append(QJsonValue());
    auto settle = [batch](qsizetype i, const QJsonObject& result) {
        batch->results[i] = result;
        if (--batch->pending == 0)
            batch->respond(HttpResponse::json(
                200, QJsonDocument(batch->results).toJson(QJsonDocument::Compact)));
    };
    if (items.isEmpty())
        return batch->respond(HttpResponse::json(200, "[]"));
    for (qsizetype i = 0; i < items.size(); ++i) {
        auto prepared = std::holds_alternative<Error>(items[i])
                            ? std::variant<Prepared, Error>(std::get<Error>(items[i]))
                            : prepare(std::get<PublishRequest>(items[i]));
        if (auto* error = std::get_if<Error>(&prepared)) {
            hub_.metrics().countError(error->code);
            settle(i, errorObject(*error));
            continue;
        }
        const Prepared& p = std::get<Prepared>(prepared);
        hub_.publisher().publish(p.stream, p.data, [settle, i](const PublishResult& result) {
            settle(i, result.error ? errorObject(*result.error) : publishAnswer(result));
        });
    }
}

void HttpApi::broadcast(const HttpRequest& request, Respond respond) {
    auto decoded = codec::decodeBroadcastRequest(request.body);
    if (auto* error = std::get_if<Error>(&decoded)) {
        hub_.metrics().countError(error->code);
        return respond(HttpResponse::error(statusFor(error->code), *error));
    }
    if (std::get<BroadcastRequest>(decoded).ttlMs > 0)
        return stickyBroadcast(std::get<BroadcastRequest>(decoded), std::move(respond));
    hub_.publisher().broadcast(
        std::get<BroadcastRequest>(decoded).notice, [respond](const PublishResult& result) {
            if (result.error)
                return respond(HttpResponse::error(statusFor(result.error->code), *result.error));
            respond(HttpResponse::json(200, toJson(publishAnswer(result))));
        });
}

void HttpApi::stickyBroadcast(const BroadcastRequest& request, Respond respond) {
    // The admin protocol's path (cluster channel), so every node keeps it for new connections.
    const cluster::AdminBroadcast order{hub_.newMessageId(),
                                        hub_.nodeId(),
                                        {},
                                        cluster::TargetKind::All,
                                        {},
                                        request.notice,
                                        QDateTime::currentMSecsSinceEpoch() + request.ttlMs};
    sticky_.publish(order, [&metrics = hub_.metrics(), respond, order](std::optional<Error> error) {
        if (error) {
            metrics.countError(error->code);
            return respond(HttpResponse::error(statusFor(error->code), *error));
        }
        metrics.published++;
        respond(
            HttpResponse::json(200, toJson({{QStringLiteral("id"), order.messageId},
                                            {QStringLiteral("stream"), QStringLiteral("system")},
                                            {QStringLiteral("expires_at"), order.expiresAtMs}})));
    });
}

void HttpApi::withdraw(const QString& id, Respond respond) {
    sticky_.withdraw(id, [&metrics = hub_.metrics(), respond, id](std::optional<Error> error) {
        if (error) {
            metrics.countError(error->code);
            return respond(HttpResponse::error(statusFor(error->code), *error));
        }
        respond(HttpResponse::json(
            200, toJson({{QStringLiteral("id"), id}, {QStringLiteral("withdrawn"), true}})));
    });
}

HttpResponse HttpApi::stickyList() const {
    QJsonArray list;
    for (const StickyNotice& n : sticky_.active())
        list.append(QJsonObject{{QStringLiteral("id"), n.id},
                                {QStringLiteral("title"), n.notice.title},
                                {QStringLiteral("body"), n.notice.body},
                                {QStringLiteral("level"), levelName(n.notice.level)},
                                {QStringLiteral("expires_at"), n.expiresAtMs}});
    return HttpResponse::json(200, toJson({{QStringLiteral("sticky"), list}}));
}

QJsonObject HttpApi::nodeSnapshot() const {
    const NodeStatus status = status_();
    const Metrics& m = hub_.metrics();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    return {
        {QStringLiteral("id"), hub_.nodeId()},
        {QStringLiteral("address"), status.address},
        {QStringLiteral("version"), QLatin1String(kVersion)},
        {QStringLiteral("state"), cluster::nodeStateName(status.state)},
        {QStringLiteral("started_at"),
         QDateTime::fromMSecsSinceEpoch(status.startedAtMs).toUTC().toString(Qt::ISODate)},
        {QStringLiteral("uptime_seconds"), (now - status.startedAtMs) / 1000},
        {QStringLiteral("connections"), hub_.clientCount()},
        {QStringLiteral("users"), hub_.uniqueUsers()},
        {QStringLiteral("streams"), static_cast<qint64>(hub_.router().streamCount())},
        {QStringLiteral("subscriptions"), hub_.router().subscriptionCount()},
        {QStringLiteral("messages_in"), m.messagesIn},
        {QStringLiteral("published"), m.published},
        {QStringLiteral("deliveries"), m.deliveries},
        {QStringLiteral("drops"), m.drops},
        {QStringLiteral("broker"), broker_.describe()},
        {QStringLiteral("broker_ready"), broker_.isReady()},
        {QStringLiteral("broker_lag_ms"), presence_.brokerLagMs()},
    };
}

HttpResponse HttpApi::cluster() const {
    const Presence::Totals t = presence_.totals();
    QJsonArray nodes;
    for (const cluster::NodeInfo& n : presence_.liveNodes())
        nodes.append(cluster::toJson(n));
    const QJsonObject totals{{QStringLiteral("connections"), t.connections},
                             {QStringLiteral("users"), t.users},
                             {QStringLiteral("nodes"), t.nodes}};
    return HttpResponse::json(200, toJson({{QStringLiteral("node"), nodeSnapshot()},
                                           {QStringLiteral("totals"), totals},
                                           {QStringLiteral("nodes"), nodes}}));
}

HttpResponse HttpApi::metrics() const {
    Gauges g;
    g.connections = hub_.clientCount();
    g.adminConnections = hub_.adminCount();
    g.users = hub_.uniqueUsers();
    g.streams = hub_.router().streamCount();
    g.subscriptions = hub_.router().subscriptionCount();
    const Presence::Totals t = presence_.totals();
    g.clusterConnections = t.connections;
    g.clusterUsers = t.users;
    g.clusterNodes = t.nodes;
    g.brokerReady = broker_.isReady();
    const NodeStatus status = status_();
    g.uptimeSeconds = (QDateTime::currentMSecsSinceEpoch() - status.startedAtMs) / 1000;
    g.workerConnections = status.workerConnections;
    HttpResponse r;
    r.contentType = "text/plain; version=0.0.4; charset=utf-8";
    r.body = renderPrometheus(hub_.metrics(), g, hub_.nodeId());
    return r;
}

HttpResponse HttpApi::readiness() const {
    const NodeStatus status = status_();
    QStringList problems;
    if (status.state != cluster::NodeState::Serving)
        problems.append(QStringLiteral("node is %1").arg(cluster::nodeStateName(status.state)));
    if (!broker_.isReady()) {
        const QString why = broker_.problem();
        problems.append(QStringLiteral("broker (%1) unreachable").arg(broker_.describe()) +
                        (why.isEmpty() ? QString() : QStringLiteral(": ") + why));
    } else if (const qint64 overdue = presence_.heartbeatOverdueMs())
        problems.append(QStringLiteral("broker (%1) has not returned this node's heartbeat for %2 "
                                       "ms (hung?)")
                            .arg(broker_.describe())
                            .arg(overdue));
    if (problems.isEmpty())
        return HttpResponse::json(200, R"({"ready":true})");
    return HttpResponse::json(
        503, toJson({{QStringLiteral("ready"), false},
                     {QStringLiteral("problems"), QJsonArray::fromStringList(problems)}}));
}

HttpResponse HttpApi::staticFile(const QString& path) const {
    const QString clean = QDir::cleanPath(path);
    const QString root = config_.webRoot.isEmpty() ? QStringLiteral(":/web") : config_.webRoot;
    QFile file(root + clean);
    if (clean.contains(QLatin1String("..")) || !file.open(QIODevice::ReadOnly) ||
        QFileInfo(file).isDir())
        return HttpResponse::error(
            404, {ErrorCode::NotFound, QStringLiteral("no resource at %1").arg(path)});
    HttpResponse r;
    r.contentType = contentTypeFor(clean);
    r.body = file.readAll();
    return r;
}

} // namespace herald
