#include "server/Node.h"

#include "server/LocalBroker.h"
#include "server/RedisBroker.h"
#include "server/WorkerPool.h"
#include "shared/Limits.h"
#include "shared/Version.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QHostInfo>
#include <QLoggingCategory>
#include <QRandomGenerator>
#include <QTimer>

Q_LOGGING_CATEGORY(lcNode, "herald.node")

namespace herald {
namespace {

QString defaultNodeId() {
    QString host = QHostInfo::localHostName().section(QLatin1Char('.'), 0, 0);
    host.remove(QRegularExpression(QStringLiteral("[^A-Za-z0-9_:-]")));
    if (host.isEmpty())
        host = QStringLiteral("node");
    return host.left(40) + QLatin1Char('-') + QString::number(QCoreApplication::applicationPid());
}

} // namespace

std::variant<std::unique_ptr<Node>, QString> Node::create(Config config) {
    if (config.nodeId.isEmpty())
        config.nodeId = defaultNodeId();
    if (!streams::isValidName(config.nodeId))
        return QStringLiteral("node_id \"%1\" must be 1-128 of [A-Za-z0-9_:-]").arg(config.nodeId);
    std::unique_ptr<Broker> broker;
    if (config.redisUrl.isEmpty()) {
        if (!config.redisBridges.isEmpty())
            return QStringLiteral("redis_bridges needs redis_url");
        broker = std::make_unique<LocalBroker>();
    } else {
        auto bridges = parseBridges(config.redisBridges);
        if (auto* error = std::get_if<QString>(&bridges))
            return QStringLiteral("redis_bridges: ") + *error;
        auto bridgeList = std::get<QList<QPair<QString, QString>>>(bridges);
        if (RedisShards::isClusterUrl(config.redisUrl)) {
            auto seeds = RedisShards::parseClusterUrl(config.redisUrl);
            if (auto* error = std::get_if<QString>(&seeds))
                return QStringLiteral("redis_url: ") + *error;
            broker = std::make_unique<RedisBroker>(std::get<QList<RedisUrl>>(seeds),
                                                   config.redisPrefix.toUtf8(), bridgeList);
        } else {
            auto url = RedisUrl::parse(config.redisUrl);
            if (auto* error = std::get_if<QString>(&url))
                return QStringLiteral("redis_url: ") + *error;
            broker = std::make_unique<RedisBroker>(std::get<RedisUrl>(url),
                                                   config.redisPrefix.toUtf8(), bridgeList);
        }
    }
    auto auth = Authenticator::create(config);
    if (auto* error = std::get_if<QString>(&auth))
        return *error;
    std::optional<TlsCredentials> tls;
    if (config.tlsEnabled()) {
        auto loaded = TlsCredentials::load(config, QDateTime::currentDateTimeUtc());
        if (auto* error = std::get_if<QString>(&loaded))
            return *error;
        tls = std::get<TlsCredentials>(std::move(loaded));
    }
    return std::unique_ptr<Node>(new Node(std::move(config),
                                          std::get<Authenticator>(std::move(auth)),
                                          std::move(broker), std::move(tls)));
}

Node::Node(Config config, Authenticator auth, std::unique_ptr<Broker> broker,
           std::optional<TlsCredentials> tls)
    : config_(std::move(config))
    , auth_(std::move(auth))
    , broker_(std::move(broker)) {
    status_.startedAtMs = QDateTime::currentMSecsSinceEpoch();
    if (config_.workers > 0)
        workers_ = std::make_unique<WorkerPool>(config_.workers, config_.maxMessageBytes);
    hub_ = std::make_unique<Hub>(config_, config_.nodeId, *broker_, metrics_);
    presence_ = std::make_unique<Presence>(config_.nodeId, config_.heartbeatIntervalMs, *broker_,
                                           [this] { return selfInfo(); });
    connect(hub_.get(), &Hub::userArrived, presence_.get(), &Presence::userArrived);
    connect(hub_.get(), &Hub::userLeft, presence_.get(), &Presence::userLeft);
    hub_->router().setOnlineSource([this] {
        const Presence::Totals t = presence_->totals();
        return OnlineEvent{t.connections, t.users};
    });
    rateTimer_.setInterval(1000);
    connect(&rateTimer_, &QTimer::timeout, this, &Node::sampleRates);
    auto* redis = qobject_cast<RedisBroker*>(broker_.get());
    sticky_ = std::make_unique<StickyNotices>(config_.nodeId, *hub_, *broker_,
                                              redis ? &redis->shards() : nullptr,
                                              config_.redisPrefix.toUtf8() + "sticky");
    api_ = std::make_unique<HttpApi>(config_, *hub_, *broker_, *presence_, *sticky_, auth_, [this] {
        NodeStatus status = status_;
        if (workers_)
            status.workerConnections = workers_->connectionsPerWorker();
        return status;
    });
    gateway_ = std::make_unique<Gateway>(
        config_, *hub_, batcher_, workers_.get(), auth_,
        [this](const HttpRequest& request, HttpApi::Respond respond) {
            api_->handle(request, std::move(respond));
        },
        std::move(tls));
    audit_ = std::make_unique<Audit>(redis ? &redis->shards() : nullptr,
                                     config_.redisPrefix.toUtf8() + "audit");
    admin_ = std::make_unique<AdminService>(config_.nodeId, *hub_, *broker_, *presence_, *audit_,
                                            *sticky_, [this] { drain(); });
}

Node::~Node() {
    // Sessions hold sockets; close them before the gateway and broker go.
    admin_.reset();
    audit_.reset();
    gateway_.reset();
    api_.reset();
    sticky_.reset();
    presence_.reset();
    hub_.reset();
    workers_.reset();
}

cluster::NodeInfo Node::selfInfo() const {
    cluster::NodeInfo n;
    n.id = config_.nodeId;
    n.address = status_.address;
    n.version = QString::fromLatin1(kVersion);
    n.state = status_.state;
    n.startedAtMs = status_.startedAtMs;
    n.connections = hub_->clientCount(); // admins never count: see Hub::clientCount()
    n.users = hub_->uniqueUsers();
    n.subscriptions = hub_->router().subscriptionCount();
    n.streams = hub_->router().streamCount();
    n.messagesInPerSecond = messagesInRate_;
    n.deliveriesPerSecond = deliveriesRate_;
    n.brokerLagMs = presence_ ? presence_->brokerLagMs() : -1;
    return n;
}

void Node::sampleRates() {
    const double seconds = rateTimer_.interval() / 1000.0;
    messagesInRate_ = (metrics_.messagesIn - lastMessagesIn_) / seconds;
    deliveriesRate_ = (metrics_.deliveries - lastDeliveries_) / seconds;
    lastMessagesIn_ = metrics_.messagesIn;
    lastDeliveries_ = metrics_.deliveries;
}

bool Node::start(QString* error) {
    if (!gateway_->listen(error))
        return false;
    status_.address =
        gateway_->address().toString() + QLatin1Char(':') + QString::number(gateway_->port());
    presence_->start();
    rateTimer_.start();
    // Redis may be down at start: the node serves its own clients and /readyz says why.
    if (auto* redis = qobject_cast<RedisBroker*>(broker_.get()))
        redis->start();
    connect(broker_.get(), &Broker::readyChanged, this, [this](bool ready) {
        if (ready)
            qCInfo(lcNode).noquote()
                << broker_->describe() << "reachable: cluster delivery resumed";
        else
            qCWarning(lcNode).noquote()
                << broker_->describe()
                << "unreachable: serving this node's clients only; publishes answer 503";
    });
    // Without tokens the node serves clients but refuses every publisher and console; say so
    // at start (before the line that says it listens), where the operator looks, rather than only
    // in each refusal.
    if (config_.adminTokens.isEmpty() && !config_.devMode)
        qCWarning(lcNode).noquote()
            << (config_.apiTokens.isEmpty()
                    ? "no API or admin token is configured: the HTTP API and /admin (heraldctl, "
                      "herald-console) refuse every caller. Set api_tokens and admin_tokens "
                      "(--api-tokens / HERALD_API_TOKENS, --admin-tokens / HERALD_ADMIN_TOKENS), "
                      "or run with --dev to let loopback callers in without a token"
                    : "no admin token is configured: herald-console cannot connect. Set "
                      "admin_tokens (--admin-tokens / HERALD_ADMIN_TOKENS), or run with --dev to "
                      "let loopback callers in without a token");
    qCInfo(lcNode).noquote() << "herald-server" << kVersion << "node" << config_.nodeId
                             << "listening on" << listenUrl() << "broker:" << broker_->describe()
                             << (config_.devMode ? "(development mode: loopback needs no token)"
                                                 : "");
    return true;
}

QString Node::listenUrl() const {
    QHostAddress address = gateway_->address();
    if (address == QHostAddress::Any || address == QHostAddress::AnyIPv4)
        address = QHostAddress::LocalHost;
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
                             ? QLatin1Char('[') + address.toString() + QLatin1Char(']')
                             : address.toString();
    return QStringLiteral("%1://%2:%3")
        .arg(gateway_->isTls() ? QLatin1String("https") : QLatin1String("http"), host)
        .arg(gateway_->port());
}

void Node::terminate() {
    if (config_.shutdownDrainMs <= 0 || status_.state != cluster::NodeState::Serving)
        return shutdown();
    qCInfo(lcNode) << "SIGTERM: draining for" << config_.shutdownDrainMs << "ms before stopping";
    drainOver(config_.shutdownDrainMs);
    QTimer::singleShot(config_.shutdownDrainMs, this, &Node::shutdown);
    // Nobody left to move, the consoles included (the drain closes them last, with the same 1012
    // as the clients): no reason to wait for the rest of the period.
    if (hub_->openConnections() == 0)
        return shutdown();
    connect(hub_.get(), &Hub::openConnectionsChanged, this, [this](qint64 n) {
        if (n == 0)
            shutdown();
    });
}

void Node::drainOver(int periodMs) {
    if (status_.state != cluster::NodeState::Serving)
        return;
    status_.state = cluster::NodeState::Draining;
    gateway_->setDraining(true);
    // Clients first, admin consoles last (they may want to watch the drain).
    QList<quint64> order;
    QList<quint64> admins;
    for (quint64 id : hub_->sessionIds()) {
        const Session* s = hub_->session(id);
        (s && s->identity().role == Identity::Role::Admin ? admins : order).append(id);
    }
    order += admins;
    qCInfo(lcNode) << "draining:" << order.size() << "connections asked to reconnect elsewhere over"
                   << periodMs << "ms";
    if (order.isEmpty())
        return;
    // Connection i goes at i * period / n, so the others' load rises evenly, not in one step.
    const qint64 total = order.size();
    auto* timer = new QTimer(this);
    timer->setInterval(static_cast<int>(std::clamp<qint64>(periodMs / total, 10, 250)));
    auto started = std::make_shared<QElapsedTimer>();
    started->start();
    auto closed = std::make_shared<qint64>(0);
    auto step = [this, timer, order, total, periodMs, started, closed] {
        const qint64 due =
            periodMs <= 0 ? total : std::min(total, started->elapsed() * total / periodMs + 1);
        for (; *closed < due; ++*closed)
            if (Session* s = hub_->session(order[static_cast<qsizetype>(*closed)]))
                s->close(close_code::kServiceRestart,
                         QStringLiteral("node draining: reconnect to another node"));
        if (*closed >= total) {
            timer->stop();
            timer->deleteLater();
        }
    };
    connect(timer, &QTimer::timeout, this, step);
    timer->start();
    step();
}

void Node::shutdown() {
    if (status_.state == cluster::NodeState::Stopping ||
        status_.state == cluster::NodeState::Stopped)
        return;
    // A second signal during a SIGTERM drain, or the drain's end: stop now either way.
    status_.state = cluster::NodeState::Stopping;
    gateway_->stopAccepting();
    qCInfo(lcNode) << "stopping:" << hub_->openConnections()
                   << "connections asked to reconnect elsewhere";
    hub_->closeAll(close_code::kGoingAway, QStringLiteral("server shutting down"));
    // Stopped when every connection is gone, admin ones too (or the grace period is over) and the
    // cluster has been told (or the broker could not take it within a second).
    auto clientsGone = std::make_shared<bool>(hub_->openConnections() == 0);
    auto leaveSent = std::make_shared<bool>(false);
    auto maybeFinish = [this, clientsGone, leaveSent] {
        if (*clientsGone && *leaveSent && status_.state != cluster::NodeState::Stopped) {
            status_.state = cluster::NodeState::Stopped;
            Q_EMIT stopped();
        }
    };
    presence_->leave([leaveSent, maybeFinish] {
        *leaveSent = true;
        maybeFinish();
    });
    QTimer::singleShot(1000, this, [leaveSent, maybeFinish] {
        *leaveSent = true;
        maybeFinish();
    });
    connect(hub_.get(), &Hub::openConnectionsChanged, this, [clientsGone, maybeFinish](qint64 n) {
        if (n == 0) {
            *clientsGone = true;
            maybeFinish();
        }
    });
    QTimer::singleShot(config_.shutdownGraceMs, this, [clientsGone, maybeFinish] {
        *clientsGone = true;
        maybeFinish();
    });
}

} // namespace herald
