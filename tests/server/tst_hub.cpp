// The Hub and Session logic without sockets: a recording transport stands in for QWebSocket
// (the transport seam) and a recording broker checks the reference-counted subscriptions.

#include "server/Hub.h"
#include "shared/Bus.h"
#include "shared/Limits.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace herald;

namespace {

struct FakeTransport final : ClientTransport {
    QList<Frame> frames;
    int pings = 0;
    int closeCode = 0;
    qint64 pending = 0;
    void send(const Frame& frame) override { frames.append(frame); }
    void ping() override { ++pings; }
    void close(int code, const QString&) override { closeCode = code; }
    qint64 pendingBytes() const override { return pending; }

    QList<QJsonObject> events(const QString& name) const {
        QList<QJsonObject> out;
        for (const Frame& f : frames) {
            const QJsonObject o = QJsonDocument::fromJson(f.payload().toByteArray()).object();
            if (o.value(QLatin1String("event")).toString() == name)
                out.append(o);
        }
        return out;
    }
};

class RecordingBroker final : public Broker {
public:
    void arrive(const QString& key, const QByteArray& payload) { deliver(key, payload); }
    QHash<QString, int> subscribes;
    QHash<QString, int> unsubscribes;
    QSet<QString> active;
    void subscribe(const QString& key) override {
        ++subscribes[key];
        active.insert(key);
        // Confirmed on the next pass, as Redis would.
        QMetaObject::invokeMethod(
            this,
            [this, key] {
                if (active.contains(key))
                    Q_EMIT keyLive(key);
            },
            Qt::QueuedConnection);
    }
    bool isLive(const QString& key) const override { return active.contains(key); }
    // History is tested with the embedded broker (tst_history); this one keeps none.
    void publishKept(const QString&, const Retention&, const QByteArray&, const QString&,
                     KeptDone done) override {
        done(Error{ErrorCode::Unavailable, QStringLiteral("no history here")});
    }
    void readHistory(const QString&, const QString&, int, ReadDone done) override {
        done(HistoryRead{
            Error{ErrorCode::Unavailable, QStringLiteral("no history here")}, false, {}, {}});
    }
    void unsubscribe(const QString& key) override {
        ++unsubscribes[key];
        active.remove(key);
    }
    bool down = false; // the cluster link is gone: publishes fail
    bool hung = false; // the broker never answers (a frozen Redis)
    void publish(const QString& key, const QByteArray& payload, PublishDone done) override {
        if (hung)
            return;
        if (down) {
            QMetaObject::invokeMethod(
                this,
                [done] {
                    done(Error{ErrorCode::Unavailable, QStringLiteral("redis unreachable")});
                },
                Qt::QueuedConnection);
            return;
        }
        if (active.contains(key))
            QMetaObject::invokeMethod(
                this, [this, key, payload] { deliver(key, payload); }, Qt::QueuedConnection);
        done(std::nullopt);
    }
    bool isReady() const override { return true; }
    QString describe() const override { return QStringLiteral("recording"); }
};

struct Client {
    Session* session;
    FakeTransport* transport;
};

} // namespace

class HubTest : public QObject {
    Q_OBJECT
private:
    Config config_;
    Metrics metrics_;
    std::unique_ptr<RecordingBroker> broker_;
    std::unique_ptr<Hub> hub_;

    Client attach(Identity identity = {}) {
        auto transport = std::make_unique<FakeTransport>();
        FakeTransport* raw = transport.get();
        return {hub_->attach(std::move(identity), std::move(transport)), raw};
    }
    static Identity user(const QString& id) { return {Identity::Role::User, id, 0}; }
    void send(Client c, const QByteArray& json) { c.session->onText(json, hub_->nowMs()); }
    void publish(const QString& key, const QByteArray& data) {
        hub_->publisher().publish(*streams::parseRoutingKey(key), data, {});
    }

private Q_SLOTS:
    void init() {
        config_ = Config{};
        config_.history.clear(); // no stream keeps history with this broker
        config_.maxSubscriptions = 3;
        config_.maxOutboundBytes = 1000;
        metrics_ = Metrics{};
        broker_ = std::make_unique<RecordingBroker>();
        hub_ = std::make_unique<Hub>(config_, QStringLiteral("n1"), *broker_, metrics_);
    }
    void cleanup() {
        hub_.reset();
        broker_.reset();
    }

    void welcomesWithIdentity() {
        const Client c = attach(user(QStringLiteral("u1")));
        const QJsonObject welcome = c.transport->events(QStringLiteral("welcome")).value(0);
        QCOMPARE(welcome.value(QLatin1String("node")).toString(), QStringLiteral("n1"));
        QCOMPARE(welcome.value(QLatin1String("user")).toString(), QStringLiteral("u1"));
        QCOMPARE(hub_->clientCount(), 1);
        QCOMPARE(hub_->uniqueUsers(), 1);
    }

    void frameEncodedOnceAndSharedByRecipients() {
        const Client a = attach();
        const Client b = attach();
        send(a, R"({"event":"subscribe","streams":["news"]})");
        send(b, R"({"event":"subscribe","streams":["public.news"]})");
        publish(QStringLiteral("public.news"), R"({"n":1})");
        QTRY_COMPARE(a.transport->events(QStringLiteral("message")).size(), 1);
        QCOMPARE(b.transport->events(QStringLiteral("message")).size(), 1);
        // The same wire bytes, not two encodings.
        QCOMPARE(a.transport->frames.last().bytes().constData(),
                 b.transport->frames.last().bytes().constData());
        QCOMPARE(a.transport->events(QStringLiteral("message"))
                     .first()
                     .value(QLatin1String("data"))
                     .toObject()
                     .value(QLatin1String("n"))
                     .toInt(),
                 1);
    }

    void brokerSubscriptionsAreReferenceCounted() {
        const Client a = attach();
        const Client b = attach();
        send(a, R"({"event":"subscribe","streams":["x"]})");
        send(b, R"({"event":"subscribe","streams":["x"]})");
        QCOMPARE(broker_->subscribes.value(QStringLiteral("public.x")), 1);
        // Answered once the broker confirmed the subscription (the next pass here).
        QCOMPARE(b.transport->events(QStringLiteral("subscribed")).size(), 0);
        QTRY_COMPARE(b.transport->events(QStringLiteral("subscribed")).size(), 1);
        QCOMPARE(a.transport->events(QStringLiteral("subscribed")).size(), 1);
        send(a, R"({"event":"unsubscribe","streams":["x"]})");
        QCOMPARE(broker_->unsubscribes.value(QStringLiteral("public.x")), 0);
        QCOMPARE(hub_->router().streamCount(), 1);
        hub_->detach(b.session->id());
        QCOMPARE(broker_->unsubscribes.value(QStringLiteral("public.x")), 1);
        // Empty index entries are gone, as in Redis's pubsub.c.
        QCOMPARE(hub_->router().streamCount(), 0);
        QCOMPARE(hub_->router().subscriptionCount(), 0);
        // "online" is local: never subscribed on the broker.
        send(a, R"({"event":"subscribe","streams":["online"]})");
        QVERIFY(!broker_->subscribes.contains(QStringLiteral("online")));
    }

    void privateStreamsAreIsolated() {
        const Client alice = attach(user(QStringLiteral("alice")));
        const Client bob = attach(user(QStringLiteral("bob")));
        send(alice, R"({"event":"subscribe","streams":["private.bob.inbox","private.inbox"]})");
        send(bob, R"({"event":"subscribe","streams":["private.inbox"]})");
        QCOMPARE(alice.transport->events(QStringLiteral("error"))
                     .value(0)
                     .value(QLatin1String("code"))
                     .toString(),
                 QStringLiteral("forbidden"));
        publish(QStringLiteral("private.bob.inbox"), "1");
        publish(QStringLiteral("private.alice.inbox"), "2");
        QTRY_COMPARE(alice.transport->events(QStringLiteral("message")).size(), 1);
        QCOMPARE(bob.transport->events(QStringLiteral("message")).size(), 1);
        QCOMPARE(alice.transport->events(QStringLiteral("message"))
                     .first()
                     .value(QLatin1String("data"))
                     .toInt(),
                 2);
        QCOMPARE(metrics_.errors.value(ErrorCode::Forbidden), 1);
    }

    void adminsMayWatchAnyStream() {
        const Client admin = attach({Identity::Role::Admin, {}, 0});
        send(admin, R"({"event":"subscribe","streams":["private.bob.inbox"]})");
        QTRY_COMPARE(admin.transport->events(QStringLiteral("subscribed")).size(), 1);
        const Client anonymous = attach();
        send(anonymous, R"({"event":"subscribe","streams":["private.bob.inbox"]})");
        QCOMPARE(anonymous.transport->events(QStringLiteral("error")).size(), 1);
    }

    void subscriptionLimit() {
        const Client c = attach();
        send(c, R"({"event":"subscribe","streams":["a","b","c","d"]})");
        const auto errors = c.transport->events(QStringLiteral("error"));
        QCOMPARE(errors.size(), 1);
        QCOMPARE(errors.first().value(QLatin1String("code")).toString(),
                 QStringLiteral("too_many_subscriptions"));
        QCOMPARE(errors.first().value(QLatin1String("stream")).toString(), QStringLiteral("d"));
        // Re-subscribing to a held stream is not a new subscription.
        send(c, R"({"event":"subscribe","streams":["a"]})");
        QCOMPARE(c.transport->events(QStringLiteral("error")).size(), 1);
    }

    void slowConsumerIsClosedAndCounted() {
        const Client slow = attach();
        const Client fast = attach();
        send(slow, R"({"event":"subscribe","streams":["x"]})");
        send(fast, R"({"event":"subscribe","streams":["x"]})");
        QTRY_COMPARE(slow.transport->events(QStringLiteral("subscribed")).size(), 1);
        slow.transport->pending = config_.maxOutboundBytes + 1;
        publish(QStringLiteral("public.x"), "1");
        QTRY_COMPARE(fast.transport->events(QStringLiteral("message")).size(), 1);
        QCOMPARE(slow.transport->closeCode, close_code::kSlowConsumer);
        QCOMPARE(slow.transport->events(QStringLiteral("message")).size(), 0);
        QCOMPARE(metrics_.drops, 1);
    }

    void systemNoticeReachesEveryone() {
        const Client a = attach();
        const Client b = attach(user(QStringLiteral("u")));
        hub_->publisher().broadcast({QStringLiteral("T"), QStringLiteral("B"), Level::Warning}, {});
        QTRY_COMPARE(a.transport->events(QStringLiteral("system")).size(), 1);
        QCOMPARE(b.transport->events(QStringLiteral("system")).size(), 1);
        QCOMPARE(a.transport->events(QStringLiteral("system"))
                     .first()
                     .value(QLatin1String("data"))
                     .toObject()
                     .value(QLatin1String("level"))
                     .toString(),
                 QStringLiteral("warning"));
    }

    void plainPayloadsFromOtherServicesAndMalformedOnes() {
        const Client c = attach();
        send(c, R"({"event":"subscribe","streams":["x"]})");
        QTRY_COMPARE(c.transport->events(QStringLiteral("subscribed")).size(), 1);
        broker_->arrive(QStringLiteral("public.x"), R"({"from":"elsewhere"})");
        broker_->arrive(QStringLiteral("public.x"), "not json");
        const auto messages = c.transport->events(QStringLiteral("message"));
        QCOMPARE(messages.size(), 1);
        QVERIFY(!messages.first().value(QLatin1String("id")).toString().isEmpty());
        QCOMPARE(metrics_.errors.value(ErrorCode::BadJson), 1);
    }

    void brokerOutageDeliversLocallyAndFailsLoudly() {
        const Client c = attach();
        send(c, R"({"event":"subscribe","streams":["x"]})");
        broker_->down = true;
        std::optional<PublishResult> result;
        hub_->publisher().publish(*streams::parseRoutingKey(QStringLiteral("public.x")), "1",
                                  [&](const PublishResult& r) { result = r; });
        QTRY_VERIFY(result.has_value());
        QVERIFY(result->error.has_value());
        QCOMPARE(result->error->code, ErrorCode::Unavailable);
        QVERIFY(result->error->message.contains(QStringLiteral("this node's connections only")));
        QCOMPARE(c.transport->events(QStringLiteral("message")).size(), 1);
        QCOMPARE(metrics_.errors.value(ErrorCode::Unavailable), 1);
    }

    void hungBrokerIsAnsweredByTheTimeout() {
        config_.publishTimeoutMs = 100;
        hub_ = std::make_unique<Hub>(config_, QStringLiteral("n1"), *broker_, metrics_);
        broker_->hung = true;
        int answers = 0;
        std::optional<PublishResult> result;
        hub_->publisher().publish(*streams::parseRoutingKey(QStringLiteral("public.x")), "1",
                                  [&](const PublishResult& r) {
                                      ++answers;
                                      result = r;
                                  });
        QTRY_VERIFY(result.has_value());
        QCOMPARE(result->error->code, ErrorCode::Unavailable);
        QVERIFY(result->error->message.contains(QStringLiteral("did not confirm")));
        QCOMPARE(answers, 1);
    }

    void onlineCountsAndUniqueUsers() {
        const Client watcher = attach();
        send(watcher, R"({"event":"subscribe","streams":["online"]})");
        QCOMPARE(watcher.transport->events(QStringLiteral("online"))
                     .last()
                     .value(QLatin1String("connections"))
                     .toInt(),
                 1);
        const Client u1 = attach(user(QStringLiteral("u1")));
        attach(user(QStringLiteral("u1")));
        QCOMPARE(hub_->uniqueUsers(), 1);
        QTRY_COMPARE(watcher.transport->events(QStringLiteral("online"))
                         .last()
                         .value(QLatin1String("connections"))
                         .toInt(),
                     3);
        QCOMPARE(watcher.transport->events(QStringLiteral("online"))
                     .last()
                     .value(QLatin1String("users"))
                     .toInt(),
                 1);
        hub_->detach(u1.session->id());
        QCOMPARE(hub_->uniqueUsers(), 1);
    }

    void adminsAreNotCounted() {
        const Client watcher = attach();
        const Client admin = attach({Identity::Role::Admin, QStringLiteral("ops"), 0});
        attach({Identity::Role::Admin, QStringLiteral("alice"), 0});
        const Client alice = attach(user(QStringLiteral("alice")));
        QCOMPARE(hub_->clientCount(), 2);
        QCOMPARE(hub_->adminCount(), 2);
        QCOMPARE(hub_->openConnections(), 4);
        QCOMPARE(hub_->uniqueUsers(), 1); // an admin named like a user is not that user
        send(watcher, R"({"event":"subscribe","streams":["online"]})");
        const QJsonObject online = watcher.transport->events(QStringLiteral("online")).last();
        QCOMPARE(online.value(QLatin1String("connections")).toInt(), 2);
        QCOMPARE(online.value(QLatin1String("users")).toInt(), 1);
        // Admins get what is sent to everyone but are not counted as having taken it.
        const Frame frame = Frame::text(R"({"event":"pong"})");
        QCOMPARE(hub_->sendToAll(frame), 2);
        QCOMPARE(hub_->sendWhere([](const Session&) { return true; }, frame), 2);
        QCOMPARE(admin.transport->events(QStringLiteral("pong")).size(), 2);
        QCOMPARE(alice.transport->events(QStringLiteral("pong")).size(), 2);
        QCOMPARE(hub_->sendToAdmins(frame), 2);
    }

    void keepaliveThenIdleTimeout() {
        config_.keepaliveIntervalMs = 100;
        config_.idleTimeoutMs = 400;
        hub_ = std::make_unique<Hub>(config_, QStringLiteral("n1"), *broker_, metrics_);
        const Client quiet = attach();
        QTRY_VERIFY(quiet.transport->pings > 0);
        QTRY_COMPARE(quiet.transport->closeCode, close_code::kIdleTimeout);
    }

    void expiredTokenClosesTheSession() {
        config_.keepaliveIntervalMs = 200;
        config_.idleTimeoutMs = 60000;
        hub_ = std::make_unique<Hub>(config_, QStringLiteral("n1"), *broker_, metrics_);
        const Client c = attach(
            {Identity::Role::User, QStringLiteral("u"), QDateTime::currentSecsSinceEpoch() - 3600});
        QTRY_COMPARE(c.transport->closeCode, close_code::kUnauthorized);
        QCOMPARE(c.transport->events(QStringLiteral("error"))
                     .last()
                     .value(QLatin1String("code"))
                     .toString(),
                 QStringLiteral("unauthorized"));
    }
};

QTEST_GUILESS_MAIN(HubTest)
#include "tst_hub.moc"
