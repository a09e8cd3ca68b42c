#include "server/RedisConnection.h"

#include <hiredis/async.h>

#include <QHash>
#include <QHostAddress>
#include <QHostInfo>
#include <QPointer>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSocketNotifier>
#include <QUrl>
#include <algorithm>
#include <atomic>
#include <limits>
#include <utility>

namespace herald {

Q_LOGGING_CATEGORY(lcRedis, "herald.redis")

namespace {

// hiredis callbacks only carry a void*. They carry an attempt id, never a pointer: a context
// that outlives its RedisConnection (hiredis defers frees requested inside its callbacks) then
// finds nothing here instead of a dangling object.
thread_local QHash<quint64, RedisConnection*> t_live;

quint64 newAttemptId() {
    static std::atomic<quint64> last{0};
    return ++last;
}
void* toData(quint64 id) {
    return reinterpret_cast<void*>(static_cast<quintptr>(id));
}
quint64 fromData(const void* data) {
    return static_cast<quint64>(reinterpret_cast<quintptr>(data));
}

RedisReply convert(const redisReply* r) {
    using T = RedisReply::Type; // indexed by REDIS_REPLY_* (1..6)
    static constexpr T kTypes[] = {T::Nil, T::String, T::Array, T::Integer,
                                   T::Nil, T::Status, T::Error};
    RedisReply out;
    out.type = r->type >= 1 && r->type <= 6 ? kTypes[r->type] : T::Nil;
    if (out.type == T::Integer)
        out.integer = r->integer;
    for (size_t i = 0; out.type == T::Array && i < r->elements; ++i)
        out.elements.push_back(convert(r->element[i]));
    if ((out.type == T::String || out.type == T::Status || out.type == T::Error) && r->str)
        out.string = QByteArray(r->str, static_cast<qsizetype>(r->len));
    return out;
}

bool sendArgv(redisAsyncContext* ac, redisCallbackFn* fn, void* privdata,
              const QByteArrayList& argv) {
    std::vector<const char*> args;
    std::vector<size_t> lengths;
    for (const QByteArray& a : argv) {
        args.push_back(a.constData());
        lengths.push_back(static_cast<size_t>(a.size()));
    }
    return redisAsyncCommandArgv(ac, fn, privdata, static_cast<int>(args.size()), args.data(),
                                 lengths.data()) == REDIS_OK;
}

QByteArray element(const redisReply* r, size_t i) {
    const redisReply* e = r->element[i];
    return e->type == REDIS_REPLY_STRING ? QByteArray(e->str, static_cast<qsizetype>(e->len))
                                         : QByteArray();
}

} // namespace

std::variant<RedisUrl, QString> RedisUrl::parse(const QString& text) {
    const QString form = QStringLiteral("expected redis://[[user]:password@]host[:port][/db]");
    // Errors never echo the whole URL: it may hold a password.
    if (text.startsWith(QLatin1String("rediss://"), Qt::CaseInsensitive))
        return QStringLiteral("rediss:// (TLS) is not supported; use redis://, or a TLS proxy");
    if (!text.startsWith(QLatin1String("redis://"), Qt::CaseInsensitive))
        return QStringLiteral("redis URL must start with redis:// (%1)").arg(form);
    RedisUrl url;
    QString rest = text.mid(8);
    // The last '@' ends the user info, so an unencoded '@' in a password still works.
    if (const qsizetype at = rest.lastIndexOf(QLatin1Char('@')); at >= 0) {
        const QString info = rest.left(at);
        rest = rest.mid(at + 1);
        const qsizetype colon = info.indexOf(QLatin1Char(':'));
        url.username =
            QByteArray::fromPercentEncoding(colon >= 0 ? info.left(colon).toUtf8() : QByteArray());
        url.password = QByteArray::fromPercentEncoding(info.mid(colon + 1).toUtf8());
        if (url.password.isEmpty())
            return QStringLiteral("redis URL has an empty password (%1)").arg(form);
    }
    if (rest.contains(QLatin1Char('?')) || rest.contains(QLatin1Char('#')))
        return QStringLiteral("redis URL options (?...) are not supported (%1)").arg(form);
    const qsizetype slash = rest.indexOf(QLatin1Char('/'));
    const QString path = slash >= 0 ? rest.mid(slash + 1) : QString();
    // "[v6]" or a name without ':' or brackets, then an optional ":port".
    static const QRegularExpression hostPort(
        QStringLiteral(R"(^(?:\[([^\]]*)\]|([^:\[\]]*))(?::([^:]*))?$)"));
    const QRegularExpressionMatch m = hostPort.match(slash >= 0 ? rest.left(slash) : rest);
    if (!m.hasMatch())
        return rest.startsWith(QLatin1Char('['))
                   ? QStringLiteral("a bracketed redis host must be [IPv6] or [IPv6]:port")
                   : QStringLiteral(
                         "an IPv6 host must be written in brackets, e.g. redis://[::1]:6379");
    static const QRegularExpression hostName(QStringLiteral("^[A-Za-z0-9._-]+$"));
    const bool v6 = m.capturedStart(1) >= 0;
    url.host = m.captured(v6 ? 1 : 2);
    if (v6 && QHostAddress(url.host).protocol() != QAbstractSocket::IPv6Protocol)
        return QStringLiteral("\"%1\" in brackets is not an IPv6 address").arg(url.host);
    if (url.host.isEmpty())
        return QStringLiteral("redis URL has no host (%1)").arg(form);
    if (!v6 && !hostName.match(url.host).hasMatch())
        return QStringLiteral("\"%1\" is not a valid host name").arg(url.host);
    // Digits only: toInt() alone would also take "+1" or " 1".
    auto number = [](const QString& s, int min, int max, int* out) {
        bool ok = false;
        const int n = s.toInt(&ok);
        if (!ok || s.isEmpty() || !s.front().isDigit() || n < min || n > max)
            return false;
        *out = n;
        return true;
    };
    int port = url.port;
    if (m.capturedStart(3) >= 0 && !number(m.captured(3), 1, 65535, &port))
        return QStringLiteral("redis port must be 1-65535, got \"%1\"").arg(m.captured(3));
    url.port = static_cast<quint16>(port);
    if (!path.isEmpty() && !number(path, 0, std::numeric_limits<int>::max(), &url.db))
        return QStringLiteral("redis database must be a number such as /0, got \"/%1\"").arg(path);
    return url;
}

QString RedisUrl::endpoint() const {
    const QString h = host.contains(QLatin1Char(':'))
                          ? QString(QLatin1Char('[') + host + QLatin1Char(']'))
                          : host;
    return h + QLatin1Char(':') + QString::number(port) +
           (db != 0 ? QStringLiteral("/%1").arg(db) : QString());
}

QString RedisUrl::redacted() const {
    QString auth;
    if (!password.isEmpty())
        auth = QString::fromUtf8(QUrl::toPercentEncoding(QString::fromUtf8(username))) +
               QStringLiteral(":***@");
    return QStringLiteral("redis://") + auth + endpoint();
}

// Written for this class rather than using adapters/qt.h: that header needs moc run on a system
// header, defines static functions in every includer, and hides the context's lifetime, which
// this class must control (id lookups, deferred notifier deletion).
struct RedisGlue {
    static RedisConnection* of(const void* data) { return t_live.value(fromData(data)); }
    template <bool Write, bool On> static void toggle(void* d) {
        if (auto* c = of(d))
            c->setNotifier(Write, On);
    }
    // hiredis calls cleanup only when the context is about to be freed: the earliest sign of loss.
    static void cleanup(void* d) {
        if (auto* c = of(d))
            c->lose();
    }
    static void onConnect(const redisAsyncContext* ac, int status) {
        if (status != REDIS_OK)
            if (auto* c = of(ac->data))
                c->lose();
    }
    static void onDisconnect(const redisAsyncContext* ac, int) {
        if (auto* c = of(ac->data))
            c->lose();
    }
    // A NULL reply means the context is being freed; lose() answers the callbacks instead.
    static void onReply(redisAsyncContext* ac, void* reply, void* privdata) {
        if (reply)
            if (auto* c = of(ac->data))
                c->onReply(fromData(privdata), reply);
    }
    static void onPubSub(redisAsyncContext* ac, void* reply, void*) {
        if (reply)
            if (auto* c = of(ac->data))
                c->onPubSub(reply);
    }
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
        if (state_ == State::Connecting)
            fail(QStringLiteral("no answer within %1 ms").arg(connectTimeoutMs_), false);
    });
}

RedisConnection::~RedisConnection() {
    running_ = false;
    detachContext(true);
}

QString RedisConnection::label() const {
    return QStringLiteral("redis ") + url_.endpoint() +
           (name_.isEmpty() ? QString() : QString(QStringLiteral(" (") + name_ + QLatin1Char(')')));
}

void RedisConnection::start() {
    if (running_)
        return;
    running_ = true;
    backoffMs_ = initialBackoffMs_;
    failures_ = 0;
    downSince_.start();
    connectNow();
}

void RedisConnection::stop() {
    running_ = false;
    retryTimer_.stop();
    attemptTimer_.stop();
    detachContext(true);
    state_ = State::Disconnected;
    answerLater(takePending(), QStringLiteral("redis connection stopped"));
}

void RedisConnection::connectNow() {
    state_ = State::Connecting;
    attempt_ = newAttemptId();
    attemptTimer_.start(connectTimeoutMs_);
    if (QHostAddress literal; literal.setAddress(url_.host)) {
        openContext(literal);
        return;
    }
    // hiredis would resolve with a blocking getaddrinfo(); Qt resolves off the event loop.
    const quint64 attempt = attempt_;
    QHostInfo::lookupHost(url_.host, this, [this, attempt](const QHostInfo& info) {
        if (attempt != attempt_ || state_ != State::Connecting)
            return;
        const QList<QHostAddress> all = info.addresses();
        if (info.error() != QHostInfo::NoError || all.isEmpty()) {
            fail(QStringLiteral("cannot resolve %1: %2").arg(url_.host, info.errorString()), false);
            return;
        }
        const auto v4 = std::find_if(all.begin(), all.end(), [](const QHostAddress& a) {
            return a.protocol() == QAbstractSocket::IPv4Protocol;
        });
        openContext(v4 != all.end() ? *v4 : all.first());
    });
}

void RedisConnection::openContext(const QHostAddress& address) {
    const QByteArray ip = address.toString().toLatin1();
    redisAsyncContext* ac = redisAsyncConnect(ip.constData(), url_.port);
    if (!ac || ac->c.err) {
        const QString error =
            ac ? QString::fromLocal8Bit(ac->c.errstr) : QStringLiteral("out of memory");
        if (ac)
            redisAsyncFree(ac);
        fail(error, false);
        return;
    }
    ac_ = ac;
    t_live.insert(attempt_, this);
    ac->data = toData(attempt_);
    redisEnableKeepAlive(&ac->c); // a silently dead peer is noticed without traffic
    const int fd = ac->c.fd;
    readNotifier_ = new QSocketNotifier(fd, QSocketNotifier::Read);
    writeNotifier_ = new QSocketNotifier(fd, QSocketNotifier::Write);
    readNotifier_->setEnabled(false);
    writeNotifier_->setEnabled(false);
    connect(readNotifier_, &QSocketNotifier::activated, this, [this] { dispatch(false); });
    connect(writeNotifier_, &QSocketNotifier::activated, this, [this] { dispatch(true); });
    ac->ev.data = toData(attempt_);
    ac->ev.addRead = &RedisGlue::toggle<false, true>;
    ac->ev.delRead = &RedisGlue::toggle<false, false>;
    ac->ev.addWrite = &RedisGlue::toggle<true, true>;
    ac->ev.delWrite = &RedisGlue::toggle<true, false>;
    ac->ev.cleanup = &RedisGlue::cleanup;
    // Setting the connect callback arms the write notifier: writability means "connected".
    redisAsyncSetConnectCallback(ac, &RedisGlue::onConnect);
    redisAsyncSetDisconnectCallback(ac, &RedisGlue::onDisconnect);
    sendHandshake();
}

void RedisConnection::dispatch(bool write) {
    // The slot may free the context (and even this object); keep nothing across the call.
    QPointer<RedisConnection> self(this);
    ++dispatching_;
    if (ac_)
        write ? redisAsyncHandleWrite(ac_) : redisAsyncHandleRead(ac_);
    if (self)
        --dispatching_;
}

void RedisConnection::setNotifier(bool write, bool enabled) {
    if (QSocketNotifier* n = write ? writeNotifier_ : readNotifier_)
        n->setEnabled(enabled);
}

void RedisConnection::sendHandshake() {
    // Pipelined; hiredis holds them until the socket connects. PING last proves the server
    // serves us (no NOAUTH, not LOADING) before anyone relies on it.
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
        Reply check = [this, attempt, last, verb](const RedisReply& r) {
            if (attempt != attempt_ || state_ != State::Connecting)
                return;
            if (r.isError())
                fail(QString::fromLatin1(verb) + QStringLiteral(" failed: ") + r.errorText(),
                     false);
            else if (last)
                replaySubscriptions();
        };
        if (!send(steps[i], check))
            return fail(QStringLiteral("cannot queue the handshake"), false);
    }
}

void RedisConnection::replaySubscriptions() {
    subscriptionsLive_ = true;
    awaitingChannels_ = channels_;
    awaitingPatterns_ = patterns_;
    if ((!channels_.isEmpty() && !sendSubscription("SUBSCRIBE", channels_)) ||
        (!patterns_.isEmpty() && !sendSubscription("PSUBSCRIBE", patterns_)))
        return fail(QStringLiteral("cannot queue the subscription replay"), false);
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

void RedisConnection::lose() {
    // Called from inside hiredis while the context is still valid: read its error now.
    QString error = QStringLiteral("connection closed");
    if (ac_ && ac_->c.err)
        error = QString::fromLocal8Bit(ac_->c.errstr);
    fail(error, true);
}

void RedisConnection::fail(const QString& what, bool hiredisFreesContext) {
    const bool wasReady = state_ == State::Ready;
    const QString reason =
        (wasReady ? QStringLiteral("connection lost: ") : QStringLiteral("cannot connect: ")) +
        what;
    detachContext(!hiredisFreesContext);
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
    // Never call out from inside hiredis: down() and the error replies go out queued, in order.
    QMetaObject::invokeMethod(
        this, [this, reason] { Q_EMIT down(reason); }, Qt::QueuedConnection);
    answerLater(takePending(), QStringLiteral("redis ") + reason);
}

void RedisConnection::detachContext(bool freeIt) {
    t_live.remove(attempt_); // from here on hiredis callbacks for this context find nobody
    for (QSocketNotifier** n : {&readNotifier_, &writeNotifier_}) {
        if (!*n)
            continue;
        (*n)->setEnabled(false); // before hiredis closes the fd
        if (dispatching_)
            (*n)->deleteLater(); // may be the very notifier whose signal is running
        else
            delete *n;
        *n = nullptr;
    }
    subscriptionsLive_ = false;
    pubsubContext_ = false;
    awaitingChannels_.clear();
    awaitingPatterns_.clear();
    redisAsyncContext* ac = std::exchange(ac_, nullptr);
    if (ac && freeIt)
        redisAsyncFree(ac); // inside a hiredis callback this is deferred by hiredis itself
}

int RedisConnection::nextDelayMs() {
    const int base = backoffMs_;
    backoffMs_ = std::min(maxBackoffMs_, backoffMs_ * 2);
    const double jitter = 0.75 + 0.5 * QRandomGenerator::global()->generateDouble(); // +-25%
    return std::max(1, static_cast<int>(base * jitter));
}

std::vector<RedisConnection::Reply> RedisConnection::takePending() {
    std::vector<Reply> out;
    for (auto& entry : std::exchange(pending_, {}))
        out.push_back(std::move(entry.second));
    return out;
}

void RedisConnection::answerLater(std::vector<Reply> callbacks, const QString& text) {
    if (std::none_of(callbacks.begin(), callbacks.end(), [](const Reply& r) { return bool(r); }))
        return;
    QMetaObject::invokeMethod(
        this,
        [callbacks = std::move(callbacks), text]() mutable {
            const std::vector<Reply> list =
                std::move(callbacks); // safe even if a callback deletes us
            for (const Reply& done : list)
                if (done)
                    done(RedisReply::localError(text));
        },
        Qt::QueuedConnection);
}

bool RedisConnection::send(const QByteArrayList& argv, Reply& done) {
    const quint64 id = done ? ++nextCommandId_ : 0;
    if (!sendArgv(ac_, done ? &RedisGlue::onReply : nullptr, toData(id), argv))
        return false;
    if (done)
        pending_.emplace(id, std::move(done));
    return true;
}

void RedisConnection::command(const QByteArrayList& argv, Reply done) {
    const char* refusal = argv.isEmpty() ? "empty redis command"
                          : (pubsubContext_ || !channels_.isEmpty() || !patterns_.isEmpty())
                              ? "redis connection is in subscriber mode"
                          : (state_ != State::Ready || !send(argv, done)) ? "redis not connected"
                                                                          : nullptr;
    if (refusal)
        answerLater({std::move(done)}, QString::fromLatin1(refusal));
}

void RedisConnection::onReply(quint64 commandId, const void* reply) {
    const auto it = pending_.find(commandId);
    if (it == pending_.end())
        return;
    const Reply done = std::move(it->second);
    pending_.erase(it);
    done(convert(static_cast<const redisReply*>(reply))); // may delete this: touch nothing after
}

void RedisConnection::changeSubscription(QSet<QByteArray>& set, const char* verb,
                                         const QByteArray& name, bool add) {
    if (add == set.contains(name))
        return; // already in the wanted state
    if (add)
        set.insert(name);
    else
        set.remove(name);
    // Before the replay the set alone is enough: the replay sends it.
    if (subscriptionsLive_ && ac_)
        sendSubscription(verb, {name});
}

bool RedisConnection::sendSubscription(const QByteArray& verb, const QSet<QByteArray>& names) {
    pubsubContext_ = true;
    // hiredis refuses UNSUBSCRIBE on a context with no subscription left; nothing to undo then.
    return sendArgv(ac_, &RedisGlue::onPubSub, nullptr, QByteArrayList{verb} + names.values());
}

void RedisConnection::onPubSub(const void* reply) {
    const auto* r = static_cast<const redisReply*>(reply);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return;
    const QByteArray kind = element(r, 0);
    if (kind == "message") {
        const QByteArray channel = element(r, 1);
        if (channels_.contains(channel)) // drops stragglers that raced an unsubscribe
            Q_EMIT message(channel, element(r, 2), QByteArray());
    } else if (kind == "pmessage" && r->elements >= 4) {
        const QByteArray pattern = element(r, 1);
        if (patterns_.contains(pattern))
            Q_EMIT message(element(r, 2), element(r, 3), pattern);
    } else if (kind == "subscribe" || kind == "psubscribe") {
        (kind == "subscribe" ? awaitingChannels_ : awaitingPatterns_).remove(element(r, 1));
        if (state_ == State::Connecting && subscriptionsLive_ && awaitingChannels_.isEmpty() &&
            awaitingPatterns_.isEmpty())
            becomeReady();
    }
}

} // namespace herald
