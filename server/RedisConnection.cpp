#include "server/RedisConnection.h"

#include "server/RedisTls.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <QHostAddress>
#include <QHostInfo>
#include <QPointer>
#include <QRandomGenerator>
#include <QSslSocket>
#include <QTcpSocket>
#include <utility>

namespace herald {

Q_LOGGING_CATEGORY(lcRedis, "herald.redis")

namespace {

// Replies are parsed in slices of this size, so the reply budget is checked as data arrives
// rather than after whatever Qt buffered in one go.
constexpr qint64 kReadSlice = 64 * 1024;

QByteArray element(const RedisReply& r, size_t i) {
    const RedisReply& e = r.elements[i];
    return e.type == RedisReply::Type::String ? e.string : QByteArray();
}

// A silently dead peer (host gone, no RST) is noticed within ~30 s without traffic, as with
// hiredis's redisEnableKeepAlive: SO_KEEPALIVE alone would wait two hours.
void enableKeepAlive(QAbstractSocket& socket) {
    socket.setSocketOption(QAbstractSocket::KeepAliveOption, 1);
    socket.setSocketOption(QAbstractSocket::LowDelayOption, 1); // writes are batched already
    const int fd = static_cast<int>(socket.socketDescriptor());
    for (const auto& [option, value] :
         {std::pair{TCP_KEEPIDLE, 15}, std::pair{TCP_KEEPINTVL, 5}, std::pair{TCP_KEEPCNT, 3}})
        ::setsockopt(fd, IPPROTO_TCP, option, &value, sizeof value);
}

} // namespace

// Deleting a QAbstractSocket from inside one of its own signals is undefined behaviour (Qt
// touches it after the emit), and a reply callback may stop or even delete this connection.
// Every slot connected to socket_ holds one of these; closeSocket() defers deletion meanwhile.
struct RedisConnection::SocketSignal {
    explicit SocketSignal(RedisConnection* c)
        : self(c) {
        ++c->inSocketSignal_;
    }
    ~SocketSignal() {
        if (self)
            --self->inSocketSignal_;
    }
    QPointer<RedisConnection> self;
};

RedisConnection::RedisConnection(RedisUrl url, QString name, QObject* parent)
    : QObject(parent)
    , url_(std::move(url))
    , name_(std::move(name))
    , retryTimer_(this)
    , attemptTimer_(this) {
    retryTimer_.setSingleShot(true);
    attemptTimer_.setSingleShot(true);
    connect(&retryTimer_, &QTimer::timeout, this, [this] {
        if (running_)
            connectNow();
    });
    connect(&attemptTimer_, &QTimer::timeout, this, [this] {
        if (state_ != State::Connecting)
            return;
        // A plain Redis reads a TLS ClientHello as the start of a command and waits for more.
        const bool handshaking = url_.tls && socket_ && !transportUp_ &&
                                 socket_->state() == QAbstractSocket::ConnectedState;
        fail((handshaking ? QStringLiteral("no TLS handshake within %1 ms (not a TLS port?)")
                          : QStringLiteral("no answer within %1 ms"))
                 .arg(connectTimeoutMs_));
    });
}

RedisConnection::~RedisConnection() {
    running_ = false;
    closeSocket(true);
}

QString RedisConnection::label() const {
    return (url_.tls ? QStringLiteral("rediss ") : QStringLiteral("redis ")) + url_.endpoint() +
           (name_.isEmpty() ? QString() : QString(QStringLiteral(" (") + name_ + QLatin1Char(')')));
}

void RedisConnection::start() {
    if (running_)
        return;
    running_ = true;
    backoffMs_ = initialBackoffMs_;
    failures_ = 0;
    downSince_.start();
    if (url_.tls && !url_.verifyPeer)
        qCWarning(lcRedis).noquote()
            << label()
            << "TLS CERTIFICATE VERIFICATION IS OFF (verify=none): anyone on the network path "
               "can impersonate Redis and read or change this node's traffic";
    connectNow();
}

void RedisConnection::stop() {
    running_ = false;
    retryTimer_.stop();
    attemptTimer_.stop();
    closeSocket();
    state_ = State::Disconnected;
    answerLater(takePending(), QStringLiteral("redis connection stopped"), true);
}

void RedisConnection::connectNow() {
    state_ = State::Connecting;
    const quint64 attempt = ++attempt_;
    attemptTimer_.start(connectTimeoutMs_);
    if (QHostAddress literal; literal.setAddress(url_.host)) {
        openSocket(literal);
        return;
    }
    // Resolved off the event loop; an IPv4 address is preferred, as Redis often binds only it.
    QHostInfo::lookupHost(url_.host, this, [this, attempt](const QHostInfo& info) {
        if (attempt != attempt_ || state_ != State::Connecting)
            return;
        const QList<QHostAddress> all = info.addresses();
        if (info.error() != QHostInfo::NoError || all.isEmpty()) {
            fail(QStringLiteral("cannot resolve %1: %2").arg(url_.host, info.errorString()));
            return;
        }
        const auto v4 = std::find_if(all.begin(), all.end(), [](const QHostAddress& a) {
            return a.protocol() == QAbstractSocket::IPv4Protocol;
        });
        openSocket(v4 != all.end() ? *v4 : all.first());
    });
}

void RedisConnection::openSocket(const QHostAddress& address) {
    QSslSocket* tls = nullptr;
    if (url_.tls) {
        auto config = redisTlsConfiguration(url_);
        if (const auto* error = std::get_if<QString>(&config))
            return fail(*error);
        tls = new QSslSocket(this);
        tls->setSslConfiguration(std::get<QSslConfiguration>(config));
        socket_ = tls;
        connect(tls, &QSslSocket::encrypted, this, &RedisConnection::onConnected);
        connect(tls, &QSslSocket::sslErrors, this, [this](const QList<QSslError>& errors) {
            for (const QSslError& e : errors)
                tlsErrors_.append(e.errorString());
        });
    } else {
        socket_ = new QTcpSocket(this);
        connect(socket_, &QAbstractSocket::connected, this, &RedisConnection::onConnected);
    }
    reader_ = std::make_unique<RedisReplyReader>(maxReplyBytes_);
    connect(socket_, &QIODevice::readyRead, this, &RedisConnection::onReadable);
    connect(socket_, &QAbstractSocket::errorOccurred, this, &RedisConnection::onSocketError);
    connect(socket_, &QAbstractSocket::disconnected, this, [this] {
        const SocketSignal scope(this);
        fail(QStringLiteral("connection closed by redis"));
    });
    // Queued in out_ until the transport is up, then written as one pipelined batch. PING last
    // proves the server serves us (no NOAUTH, not LOADING) before anyone relies on it.
    sendHandshake();
    // The peer name (not the address) is what the certificate must match, and the SNI sent.
    if (tls)
        tls->connectToHostEncrypted(address.toString(), url_.port, url_.host);
    else
        socket_->connectToHost(address, url_.port);
}

void RedisConnection::onConnected() {
    const SocketSignal scope(this);
    transportUp_ = true;
    enableKeepAlive(*socket_);
    flush();
}

void RedisConnection::onSocketError() {
    const SocketSignal scope(this);
    const QAbstractSocket::SocketError error = socket_->error();
    QString what = socket_->errorString();
    if (error == QAbstractSocket::RemoteHostClosedError) {
        what = QStringLiteral("connection closed by redis");
        // The usual first-hour mistakes show up as exactly this.
        if (state_ == State::Connecting)
            what += url_.tls ? QStringLiteral(" before it answered (not a TLS port? or it wants a "
                                              "client certificate: cert= and key=)")
                             : QStringLiteral(" before it answered (a TLS port? then use "
                                              "rediss://)");
    } else if (!tlsErrors_.isEmpty()) {
        what = QStringLiteral("TLS handshake with %1 failed: %2")
                   .arg(url_.host, tlsErrors_.join(QLatin1String("; ")));
    } else if (error == QAbstractSocket::SslHandshakeFailedError ||
               error == QAbstractSocket::SslInternalError ||
               error == QAbstractSocket::SslInvalidUserDataError) {
        what = QStringLiteral("TLS: ") + what;
    }
    fail(what);
}

void RedisConnection::sendHandshake() {
    QList<QByteArrayList> steps;
    if (!url_.password.isEmpty())
        steps.append(url_.username.isEmpty()
                         ? QByteArrayList{"AUTH", url_.password}
                         : QByteArrayList{"AUTH", url_.username, url_.password});
    if (url_.db != 0)
        steps.append({"SELECT", QByteArray::number(url_.db)});
    steps.append({"PING"});
    const quint64 attempt = attempt_;
    for (qsizetype i = 0; i < steps.size(); ++i) {
        const bool last = i + 1 == steps.size();
        const QByteArray verb = steps[i].first();
        write(steps[i]);
        pending_.push_back([this, attempt, last, verb](const RedisReply& r) {
            if (attempt != attempt_ || state_ != State::Connecting)
                return;
            if (r.isError())
                fail(QString::fromLatin1(verb) + QStringLiteral(" failed: ") + r.errorText());
            else if (last)
                replaySubscriptions();
        });
    }
}

void RedisConnection::replaySubscriptions() {
    subscriptionsLive_ = true;
    awaitingChannels_ = channels_;
    awaitingPatterns_ = patterns_;
    if (!channels_.isEmpty())
        sendSubscription("SUBSCRIBE", channels_);
    if (!patterns_.isEmpty())
        sendSubscription("PSUBSCRIBE", patterns_);
    for (const QByteArray& channel : std::as_const(shardChannels_))
        sendSubscription("SSUBSCRIBE", {channel});
    // Ready only once Redis confirmed every replayed name: a publish after ready() is then seen.
    if (awaitingChannels_.isEmpty() && awaitingPatterns_.isEmpty())
        becomeReady();
}

void RedisConnection::becomeReady() {
    attemptTimer_.stop();
    state_ = State::Ready;
    backoffMs_ = initialBackoffMs_;
    if (!everReady_ || failures_ == 0)
        qCInfo(lcRedis).noquote() << label() << "connected";
    else
        qCInfo(lcRedis).noquote() << label()
                                  << QStringLiteral(
                                         "connection restored after %1 s (%2 failed attempts)")
                                         .arg(downSince_.elapsed() / 1000.0, 0, 'f', 1)
                                         .arg(failures_);
    everReady_ = true;
    failures_ = 0;
    lastLoggedError_.clear();
    Q_EMIT ready();
}

void RedisConnection::fail(const QString& what) {
    const bool wasReady = state_ == State::Ready;
    const QString reason =
        (wasReady ? QStringLiteral("connection lost: ") : QStringLiteral("cannot connect: ")) +
        what;
    closeSocket();
    attemptTimer_.stop();
    state_ = State::Disconnected;
    lastError_ = reason;
    if (failures_++ == 0 && wasReady)
        downSince_.start();
    const int delay = running_ ? nextDelayMs() : 0;
    if (running_)
        retryTimer_.start(delay);
    // One warning per change, not per retry: a long outage retries every ~5 s quietly.
    if (wasReady || reason != lastLoggedError_) {
        qCWarning(lcRedis).noquote()
            << label() << reason << QStringLiteral("- retrying with backoff");
        lastLoggedError_ = reason;
    } else {
        qCDebug(lcRedis).noquote()
            << label() << reason << QStringLiteral("- retry in %1 ms").arg(delay);
    }
    // Callers may be inside a socket slot or a reply callback: down() and the error replies go
    // out queued, in order.
    QMetaObject::invokeMethod(
        this, [this, reason] { Q_EMIT down(reason); }, Qt::QueuedConnection);
    answerLater(takePending(), QStringLiteral("redis ") + reason, true);
}

void RedisConnection::closeSocket(bool destroying) {
    if (QAbstractSocket* socket = std::exchange(socket_, nullptr)) {
        socket->disconnect(this); // abort() emits nothing at us any more
        socket->abort();
        if (destroying && inSocketSignal_ == 0) {
            delete socket;
        } else {
            socket->setParent(nullptr); // must outlive this object if a callback deletes it
            socket->deleteLater();
        }
    }
    reader_.reset(); // a half-read reply may be large: release it now
    out_.clear();
    transportUp_ = false;
    tlsErrors_.clear();
    subscriptionsLive_ = false;
    pubsubContext_ = false;
    awaitingChannels_.clear();
    awaitingPatterns_.clear();
    confirmedChannels_.clear();
    confirmedPatterns_.clear();
    confirmedShardChannels_.clear();
}

int RedisConnection::nextDelayMs() {
    const int base = backoffMs_;
    backoffMs_ = std::min(maxBackoffMs_, backoffMs_ * 2);
    const double jitter = 0.75 + 0.5 * QRandomGenerator::global()->generateDouble(); // +-25%
    return std::max(1, static_cast<int>(base * jitter));
}

std::vector<RedisConnection::Reply> RedisConnection::takePending() {
    std::vector<Reply> out(std::make_move_iterator(pending_.begin()),
                           std::make_move_iterator(pending_.end()));
    pending_.clear();
    return out;
}

void RedisConnection::answerLater(std::vector<Reply> callbacks, const QString& text, bool sent) {
    if (std::none_of(callbacks.begin(), callbacks.end(), [](const Reply& r) { return bool(r); }))
        return;
    QMetaObject::invokeMethod(
        this,
        [callbacks = std::move(callbacks), text, sent]() mutable {
            const std::vector<Reply> list =
                std::move(callbacks); // safe even if a callback deletes us
            RedisReply reply = RedisReply::localError(text);
            reply.maybeExecuted = sent;
            for (const Reply& done : list)
                if (done)
                    done(reply);
        },
        Qt::QueuedConnection);
}

bool RedisConnection::write(const QByteArrayList& argv) {
    std::vector<const char*> args;
    std::vector<size_t> lengths;
    for (const QByteArray& a : argv) {
        args.push_back(a.constData());
        lengths.push_back(static_cast<size_t>(a.size()));
    }
    char* formatted = nullptr;
    const int length = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()),
                                              args.data(), lengths.data());
    if (length < 0)
        return false;
    out_.append(formatted, length);
    redisFreeCommand(formatted);
    // Everything issued during this event-loop pass goes out in one write (pipelining).
    if (!flushQueued_) {
        flushQueued_ = true;
        QMetaObject::invokeMethod(this, &RedisConnection::flush, Qt::QueuedConnection);
    }
    return true;
}

void RedisConnection::flush() {
    flushQueued_ = false;
    if (socket_ && transportUp_ && !out_.isEmpty())
        socket_->write(std::exchange(out_, {}));
}

void RedisConnection::command(const QByteArrayList& argv, Reply done) {
    const char* refusal = argv.isEmpty() ? "empty redis command"
                          : (pubsubContext_ || !channels_.isEmpty() || !patterns_.isEmpty() ||
                             !shardChannels_.isEmpty())
                              ? "redis connection is in subscriber mode"
                          : (state_ != State::Ready || !write(argv)) ? "redis not connected"
                                                                     : nullptr;
    if (refusal)
        return answerLater({std::move(done)}, QString::fromLatin1(refusal));
    pending_.push_back(std::move(done));
}

void RedisConnection::onReadable() {
    const SocketSignal scope(this);
    const quint64 attempt = attempt_;
    while (socket_ && socket_->bytesAvailable() > 0) {
        reader_->feed(socket_->read(kReadSlice));
        while (std::optional<RedisReply> reply = reader_->next()) {
            dispatch(std::move(*reply));
            // A callback may have deleted this, stopped it, or failed and restarted it.
            if (!scope.self || attempt != attempt_ || !socket_)
                return;
        }
        if (reader_->failed())
            return fail(reader_->error());
    }
}

void RedisConnection::dispatch(RedisReply&& reply) {
    // Redis answers in order, and every command precedes the first SUBSCRIBE on a connection
    // (command() refuses a subscriber), so a reply with no command left is a pub/sub push.
    if (!pending_.empty()) {
        const Reply done = std::move(pending_.front());
        pending_.pop_front();
        if (done)
            done(reply); // may delete this: touch nothing after
    } else if (pubsubContext_ && reply.isError()) {
        Q_EMIT subscriptionRefused(reply.errorText());
    } else if (pubsubContext_) {
        onPubSub(reply);
    } else {
        fail(QStringLiteral("protocol error: a reply with no command waiting for it"));
    }
}

void RedisConnection::changeSubscription(QSet<QByteArray>& set, const char* verb,
                                         const QByteArray& name, bool add) {
    if (add == set.contains(name))
        return; // already in the wanted state
    if (add) {
        set.insert(name);
    } else {
        set.remove(name);
        // Only the set being changed: a name may be both a channel and a shard channel.
        if (&set == &channels_)
            confirmedChannels_.remove(name);
        else if (&set == &patterns_)
            confirmedPatterns_.remove(name);
        else
            confirmedShardChannels_.remove(name);
    }
    // Before the replay the set alone is enough: the replay sends it.
    if (subscriptionsLive_ && socket_)
        sendSubscription(verb, {name});
}

void RedisConnection::sendSubscription(const QByteArray& verb, const QSet<QByteArray>& names) {
    pubsubContext_ = true;
    write(QByteArrayList{verb} + names.values());
}

void RedisConnection::onPubSub(const RedisReply& r) {
    if (r.type != RedisReply::Type::Array || r.elements.size() < 3)
        return;
    const QByteArray kind = element(r, 0);
    if (kind == "message") {
        const QByteArray channel = element(r, 1);
        if (channels_.contains(channel)) // drops stragglers that raced an unsubscribe
            Q_EMIT message(channel, element(r, 2), QByteArray());
    } else if (kind == "smessage") {
        const QByteArray channel = element(r, 1);
        if (shardChannels_.contains(channel))
            Q_EMIT message(channel, element(r, 2), QByteArray());
    } else if (kind == "ssubscribe") {
        const QByteArray channel = element(r, 1);
        if (shardChannels_.contains(channel)) {
            confirmedShardChannels_.insert(channel);
            Q_EMIT shardSubscriptionConfirmed(channel);
        }
    } else if (kind == "sunsubscribe") {
        // Either the answer to our SUNSUBSCRIBE (the channel is gone from the set), or Redis
        // dropping the subscription because the slot is served elsewhere now.
        const QByteArray channel = element(r, 1);
        if (shardChannels_.contains(channel) && confirmedShardChannels_.remove(channel))
            Q_EMIT shardSubscriptionLost(channel);
    } else if (kind == "pmessage" && r.elements.size() >= 4) {
        const QByteArray pattern = element(r, 1);
        if (patterns_.contains(pattern))
            Q_EMIT message(element(r, 2), element(r, 3), pattern);
    } else if (kind == "subscribe" || kind == "psubscribe") {
        const bool channel = kind == "subscribe";
        const QByteArray name = element(r, 1);
        (channel ? awaitingChannels_ : awaitingPatterns_).remove(name);
        // A confirmation that raced an unsubscribe is not a subscription any more.
        if ((channel ? channels_ : patterns_).contains(name)) {
            (channel ? confirmedChannels_ : confirmedPatterns_).insert(name);
            Q_EMIT subscriptionConfirmed(name, !channel);
        }
        if (state_ == State::Connecting && subscriptionsLive_ && awaitingChannels_.isEmpty() &&
            awaitingPatterns_.isEmpty())
            becomeReady();
    }
}

} // namespace herald
