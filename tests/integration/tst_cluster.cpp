// Cluster mode with real processes: one redis-server and three herald-server nodes started by
// the test, real WebSocket clients, real nginx in front. Exactly-once delivery across nodes,
// bridges, cluster totals, a Redis outage and a node killed with SIGKILL.

#include "shared/JwtVerifier.h"
#include "tests/common/NginxProcess.h"
#include "tests/common/RedisProcess.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>
#include <csignal>
#include <memory>

using namespace herald::test;

namespace {
const QByteArray kApiToken = "cluster-api-token";
const QByteArray kJwtSecret = "cluster-jwt-secret-0123456789abcdef";
constexpr int kHeartbeatMs = 500;

QByteArray jwtFor(const QString& user) {
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    return herald::mintHs256({{QStringLiteral("sub"), user}, {QStringLiteral("exp"), now + 3600}},
                             kJwtSecret);
}

QJsonObject totalsOf(ServerProcess& node) {
    return httpGet(node.httpUrl(QStringLiteral("/api/cluster")), kApiToken)
        .json()
        .value(QLatin1String("totals"))
        .toObject();
}

} // namespace

class ClusterTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<RedisProcess> redis_;
    std::vector<std::unique_ptr<ServerProcess>> nodes_;
    // U1: two connections on node 1, one on node 2; U2: one on node 2.
    std::unique_ptr<WsClient> u1a_, u1b_, u1c_, u2_;

    ServerProcess& node(int i) { return *nodes_.at(static_cast<size_t>(i - 1)); }

    HttpResult publishVia(ServerProcess& via, const QJsonObject& body) {
        return httpPost(via.httpUrl(QStringLiteral("/api/publish")),
                        QJsonDocument(body).toJson(QJsonDocument::Compact), kApiToken);
    }

    std::unique_ptr<WsClient> privateClient(ServerProcess& on, const QString& user,
                                            const QStringList& streams) {
        auto c = std::make_unique<WsClient>();
        if (!c->open(
                on.wsUrl(QStringLiteral("/private?token=") + QString::fromLatin1(jwtFor(user)))))
            return nullptr;
        c->subscribe(streams);
        if (c->waitFor(QStringLiteral("subscribed")).isEmpty())
            return nullptr;
        return c;
    }

    // Waits until every listed client has the marker message on `stream`, which proves that
    // anything published before it has been fanned out to them too.
    bool flushed(const QList<WsClient*>& clients, ServerProcess& via, const QString& stream) {
        const QString marker = QString::number(QDateTime::currentMSecsSinceEpoch());
        if (publishVia(via, {{QStringLiteral("stream"), stream}, {QStringLiteral("data"), marker}})
                .status != 200)
            return false;
        return QTest::qWaitFor(
            [&] {
                for (WsClient* c : clients) {
                    bool seen = false;
                    for (const QJsonObject& e : c->eventsOf(QStringLiteral("message")))
                        seen = seen || e.value(QLatin1String("data")).toString() == marker;
                    if (!seen)
                        return false;
                }
                return true;
            },
            15000);
    }

private Q_SLOTS:
    void initTestCase() {
        redis_ = std::make_unique<RedisProcess>();
        QString error;
        QVERIFY2(redis_->start(&error), qPrintable(error));
        for (int i = 1; i <= 3; ++i) {
            nodes_.push_back(std::make_unique<ServerProcess>(QStringList{
                QStringLiteral("--redis-url"), redis_->url(), QStringLiteral("--node-id"),
                QStringLiteral("n%1").arg(i), QStringLiteral("--api-tokens"),
                QString::fromLatin1(kApiToken), QStringLiteral("--jwt-secret"),
                QString::fromLatin1(kJwtSecret), QStringLiteral("--heartbeat-interval"),
                QStringLiteral("%1ms").arg(kHeartbeatMs), QStringLiteral("--redis-bridges"),
                QStringLiteral("change-notifier=public.config"), QStringLiteral("--history"),
                QStringLiteral("public.*:100:1h,private.*:100:1h,public.live:0:1s")}));
            QVERIFY2(nodes_.back()->start(&error), qPrintable(error));
        }
        for (int i = 1; i <= 3; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(
                httpGet(node(i).httpUrl(QStringLiteral("/readyz"))).status == 200, 15000);
        u1a_ = privateClient(node(1), QStringLiteral("u1"), {QStringLiteral("promotional")});
        u1b_ = privateClient(node(1), QStringLiteral("u1"), {QStringLiteral("promotional")});
        u1c_ = privateClient(node(2), QStringLiteral("u1"), {QStringLiteral("promotional")});
        u2_ = privateClient(node(2), QStringLiteral("u2"), {QStringLiteral("private.order")});
        QVERIFY(u1a_ && u1b_ && u1c_ && u2_);
    }

    void cleanupTestCase() {
        for (auto& n : nodes_)
            n->stop();
        redis_->stop();
    }

    void publishOnOneNodeReachesEachConnectionOnceEverywhere() {
        const HttpResult r = publishVia(
            node(3), {{QStringLiteral("stream"), QStringLiteral("public.promotional")},
                      {QStringLiteral("data"), QJsonObject{{QStringLiteral("sale"), 50}}}});
        QCOMPARE(r.status, 200);
        QVERIFY(flushed({u1a_.get(), u1b_.get(), u1c_.get()}, node(3),
                        QStringLiteral("public.promotional")));
        for (WsClient* c : {u1a_.get(), u1b_.get(), u1c_.get()}) {
            QCOMPARE(c->messagesOn(QStringLiteral("public.promotional")),
                     2); // the message and the marker
            QCOMPARE(c->eventsOf(QStringLiteral("message"))
                         .first()
                         .value(QLatin1String("id"))
                         .toString(),
                     r.json().value(QLatin1String("id")).toString()); // the same id on every node
        }
        QCOMPARE(u2_->messagesOn(QStringLiteral("public.promotional")), 0);

        QCOMPARE(publishVia(node(3), {{QStringLiteral("stream"), QStringLiteral("order")},
                                      {QStringLiteral("user"), QStringLiteral("u2")},
                                      {QStringLiteral("data"), QStringLiteral("shipped")}})
                     .status,
                 200);
        QVERIFY(flushed({u2_.get()}, node(1), QStringLiteral("private.u2.order")));
        QCOMPARE(u2_->messagesOn(QStringLiteral("private.u2.order")), 2);
        for (WsClient* c : {u1a_.get(), u1b_.get(), u1c_.get()})
            QCOMPARE(c->messagesOn(QStringLiteral("private.u2.order")), 0);
    }

    void rawRedisPublishesAndBridgesArrive() {
        auto watcher = std::make_unique<WsClient>();
        QVERIFY(watcher->open(node(1).wsUrl(QStringLiteral("/public"))));
        watcher->subscribe({QStringLiteral("config"), QStringLiteral("promotional")});
        QVERIFY(!watcher->waitFor(QStringLiteral("subscribed")).isEmpty());
        // Subscriptions reach Redis asynchronously: retry the raw publish until it is delivered.
        auto rawPublish = [this](const QString& channel, const QString& payload) {
            QProcess cli;
            cli.start(QStringLiteral("redis-cli"),
                      {QStringLiteral("-p"), QString::number(redis_->port()),
                       QStringLiteral("PUBLISH"), channel, payload});
            return cli.waitForFinished(10000) && cli.exitCode() == 0;
        };
        QTRY_VERIFY_WITH_TIMEOUT(
            (rawPublish(QStringLiteral("change-notifier"), QStringLiteral(R"({"feature":"on"})")),
             watcher->messagesOn(QStringLiteral("public.config")) > 0),
            15000);
        const QJsonObject bridged = watcher->eventsOf(QStringLiteral("message")).first();
        QCOMPARE(bridged.value(QLatin1String("data"))
                     .toObject()
                     .value(QLatin1String("feature"))
                     .toString(),
                 QStringLiteral("on"));
        QVERIFY(rawPublish(QStringLiteral("herald:public.promotional"),
                           QStringLiteral(R"({"raw":true})")));
        QTRY_VERIFY(watcher->messagesOn(QStringLiteral("public.promotional")) == 1);
    }

    void totalsAreTrueOnEveryNode() {
        // 4 connections; u1 on two nodes counts once.
        for (int i = 1; i <= 3; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(clusterTotalsAre(node(i), kApiToken, 4, 2, 3), 15000);
        const QJsonObject cluster =
            httpGet(node(3).httpUrl(QStringLiteral("/api/cluster")), kApiToken).json();
        QCOMPARE(cluster.value(QLatin1String("nodes")).toArray().size(), 3);
        const QByteArray metrics = httpGet(node(2).httpUrl(QStringLiteral("/metrics"))).body;
        QVERIFY(metrics.contains("herald_cluster_connections 4\n"));
        QVERIFY(metrics.contains("herald_cluster_users 2\n"));
        QVERIFY(metrics.contains("herald_connections 2\n"));
    }

    void nginxSpreadsClientsAndBroadcastReachesAll() {
        NginxProcess nginx({node(1).port(), node(2).port(), node(3).port()});
        QString error;
        QVERIFY2(nginx.start(&error), qPrintable(error));
        std::vector<std::unique_ptr<WsClient>> clients;
        QSet<QString> landed;
        for (int i = 0; i < 3; ++i) {
            clients.push_back(std::make_unique<WsClient>());
            QVERIFY(clients.back()->open(
                QUrl(QStringLiteral("ws://127.0.0.1:%1/public").arg(nginx.port()))));
            landed.insert(clients.back()->events().first().value(QLatin1String("node")).toString());
        }
        QCOMPARE(landed.size(), 3);
        const HttpResult r =
            httpPost(QUrl(QStringLiteral("http://127.0.0.1:%1/api/broadcast").arg(nginx.port())),
                     R"({"title":"Through nginx","body":"to every node"})", kApiToken);
        QCOMPARE(r.status, 200);
        for (auto& c : clients)
            QCOMPARE(c->waitFor(QStringLiteral("system")).value(QLatin1String("id")).toString(),
                     r.json().value(QLatin1String("id")).toString());
    }

    void redisOutageKeepsNodesServingAndRecovers() {
        // "outage" keeps history, "live" (public.live:0) does not.
        const QStringList streams{QStringLiteral("outage"), QStringLiteral("live")};
        auto local = std::make_unique<WsClient>();
        QVERIFY(local->open(node(1).wsUrl(QStringLiteral("/public"))));
        local->subscribe(streams);
        auto remote = std::make_unique<WsClient>();
        QVERIFY(remote->open(node(2).wsUrl(QStringLiteral("/public"))));
        remote->subscribe(streams);
        QVERIFY(!local->waitFor(QStringLiteral("subscribed")).isEmpty() &&
                !remote->waitFor(QStringLiteral("subscribed")).isEmpty());

        redis_->stop();
        QTRY_VERIFY_WITH_TIMEOUT(httpGet(node(1).httpUrl(QStringLiteral("/readyz"))).status == 503,
                                 15000);
        // Publishes fail loudly. A stream without history still reaches this node's own
        // subscribers; one with history reaches nobody, since a message some clients saw but
        // history never had would break every resume after it.
        for (const QString& stream : streams) {
            const HttpResult during = publishVia(
                node(1), {{QStringLiteral("stream"), stream}, {QStringLiteral("data"), 1}});
            QCOMPARE(during.status, 503);
            QCOMPARE(during.json()
                         .value(QLatin1String("error"))
                         .toObject()
                         .value(QLatin1String("code"))
                         .toString(),
                     QStringLiteral("unavailable"));
        }
        QTRY_COMPARE(local->messagesOn(QStringLiteral("public.live")), 1);
        QVERIFY(local->isOpen() && remote->isOpen() && u1a_->isOpen());
        local->send(R"({"event":"ping"})");
        QVERIFY(!local->waitFor(QStringLiteral("pong")).isEmpty());
        QCOMPARE(local->messagesOn(QStringLiteral("public.outage")), 0);

        QString error;
        QVERIFY2(redis_->restart(&error), qPrintable(error));
        for (int i = 1; i <= 3; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(
                httpGet(node(i).httpUrl(QStringLiteral("/readyz"))).status == 200, 20000);
        for (const QString& stream : streams)
            QVERIFY(
                flushed({local.get(), remote.get()}, node(3), QStringLiteral("public.") + stream));
        // Nothing from the outage leaked late: each has the marker only (local: and its own).
        QCOMPARE(remote->messagesOn(QStringLiteral("public.live")), 1);
        QCOMPARE(remote->messagesOn(QStringLiteral("public.outage")), 1);
        QCOMPARE(local->messagesOn(QStringLiteral("public.live")), 2);
        QCOMPARE(local->messagesOn(QStringLiteral("public.outage")), 1);
        // 4 long-lived clients + these two; u1 counts once.
        for (int i = 1; i <= 3; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(clusterTotalsAre(node(i), kApiToken, 6, 2, 3), 20000);
    }

    void hungRedisMakesNodesNotReady() {
        // SIGSTOP: the TCP connection stays up, so only the missing heartbeat echo can tell.
        redis_->freeze();
        QTRY_VERIFY_WITH_TIMEOUT(httpGet(node(1).httpUrl(QStringLiteral("/readyz"))).status == 503,
                                 15000);
        const HttpResult ready = httpGet(node(1).httpUrl(QStringLiteral("/readyz")));
        QVERIFY2(ready.body.contains("heartbeat"), ready.body.constData());
        QCOMPARE(httpGet(node(1).httpUrl(QStringLiteral("/healthz"))).status, 200); // alive
        redis_->thaw();
        for (int i = 1; i <= 3; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(
                httpGet(node(i).httpUrl(QStringLiteral("/readyz"))).status == 200, 20000);
    }

    void cleanlyStoppedNodeLeavesAtOnce() {
        ServerProcess extra({QStringLiteral("--redis-url"), redis_->url(),
                             QStringLiteral("--node-id"), QStringLiteral("n4"),
                             QStringLiteral("--api-tokens"), QString::fromLatin1(kApiToken),
                             QStringLiteral("--heartbeat-interval"), QStringLiteral("5s")});
        QString error;
        QVERIFY2(extra.start(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(totalsOf(node(1)).value(QLatin1String("nodes")).toInteger() == 4,
                                 15000);
        QCOMPARE(extra.stop(), 0);
        // With a 5 s heartbeat, expiry would take 15 s: the leave message removes it well before.
        QTRY_VERIFY_WITH_TIMEOUT(totalsOf(node(1)).value(QLatin1String("nodes")).toInteger() == 3,
                                 5000);
    }

    void killedNodeLeavesTheTotals() {
        for (int i : {1, 3})
            QTRY_VERIFY_WITH_TIMEOUT(clusterTotalsAre(node(i), kApiToken, 4, 2, 3), 20000);
        ::kill(static_cast<pid_t>(node(2).process().processId()), SIGKILL);
        QElapsedTimer since;
        since.start();
        // Node 2 held u1c and u2: 2 connections and user u2 go; u1 stays (node 1).
        QTRY_VERIFY_WITH_TIMEOUT(clusterTotalsAre(node(1), kApiToken, 2, 1, 2) &&
                                     clusterTotalsAre(node(3), kApiToken, 2, 1, 2),
                                 15000);
        qInfo("totals converged %lld ms after SIGKILL (heartbeat %d ms)", since.elapsed(),
              kHeartbeatMs);
        // 3 missed intervals, plus the expiry check's granularity and polling on a busy machine.
        QVERIFY2(since.elapsed() < 3 * kHeartbeatMs + 2500,
                 qPrintable(QString::number(since.elapsed())));
    }
};

QTEST_GUILESS_MAIN(ClusterTest)
#include "tst_cluster.moc"
