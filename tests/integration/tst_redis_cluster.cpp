// Herald on a real Redis Cluster: 3 masters with a replica each (redis-server --cluster-enabled,
// joined by redis-cli --cluster create), two herald-server nodes given the cluster's seeds.
// Streams are sharded channels spread over the masters; the seed scenario delivers exactly; the
// online totals are right; and a master killed with SIGKILL, replaced by its replica, loses
// nothing for clients that resume.

#include "shared/JwtVerifier.h"
#include "tests/common/RedisClusterProcess.h"
#include "tests/common/ResumingClient.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QSet>
#include <QTest>
#include <memory>

using namespace herald::test;

namespace {
const QByteArray kApiToken = "redis-cluster-api-token";
const QByteArray kJwtSecret = "redis-cluster-jwt-secret-0123456789abcdef";
constexpr int kHeartbeatMs = 500;

QByteArray jwtFor(const QString& user) {
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    return herald::mintHs256({{QStringLiteral("sub"), user}, {QStringLiteral("exp"), now + 3600}},
                             kJwtSecret);
}

} // namespace

class RedisClusterTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<RedisClusterProcess> redis_;
    std::vector<std::unique_ptr<ServerProcess>> nodes_;
    // The seed scenario: U1 with two connections on node 1 and one on node 2; U2 on node 2.
    std::unique_ptr<WsClient> u1a_, u1b_, u1c_, u2_;

    ServerProcess& node(int i) { return *nodes_.at(static_cast<size_t>(i - 1)); }

    HttpResult publish(ServerProcess& via, const QJsonObject& body) {
        return httpPost(via.httpUrl(QStringLiteral("/api/publish")),
                        QJsonDocument(body).toJson(QJsonDocument::Compact), kApiToken);
    }
    HttpResult publish(ServerProcess& via, const QString& stream, const QJsonValue& data) {
        return publish(via, {{QStringLiteral("stream"), stream}, {QStringLiteral("data"), data}});
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

    // Shard channels of the stream keys, as each master lists them.
    QSet<QString> shardChannelsOn(quint16 port) {
        const QString text = RedisClusterProcess::cli(port, {QStringLiteral("PUBSUB"),
                                                             QStringLiteral("SHARDCHANNELS"),
                                                             QStringLiteral("herald:public.*")});
        QSet<QString> out;
        for (const QString& line : text.split(QLatin1Char('\n'), Qt::SkipEmptyParts))
            out.insert(line.trimmed());
        return out;
    }

private Q_SLOTS:
    void initTestCase() {
        redis_ = std::make_unique<RedisClusterProcess>(3, 1);
        QString error;
        QVERIFY2(redis_->start(&error), qPrintable(error));
        for (int i = 1; i <= 2; ++i) {
            nodes_.push_back(std::make_unique<ServerProcess>(QStringList{
                QStringLiteral("--redis-url"), redis_->url(), QStringLiteral("--node-id"),
                QStringLiteral("n%1").arg(i), QStringLiteral("--api-tokens"),
                QString::fromLatin1(kApiToken), QStringLiteral("--jwt-secret"),
                QString::fromLatin1(kJwtSecret), QStringLiteral("--heartbeat-interval"),
                QStringLiteral("%1ms").arg(kHeartbeatMs)}));
            QVERIFY2(nodes_.back()->start(&error), qPrintable(error));
        }
        for (int i = 1; i <= 2; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(
                httpGet(node(i).httpUrl(QStringLiteral("/readyz"))).status == 200, 20000);
        u1a_ = privateClient(node(1), QStringLiteral("u1"), {QStringLiteral("promotional")});
        u1b_ = privateClient(node(1), QStringLiteral("u1"), {QStringLiteral("promotional")});
        u1c_ = privateClient(node(2), QStringLiteral("u1"), {QStringLiteral("promotional")});
        u2_ = privateClient(node(2), QStringLiteral("u2"), {QStringLiteral("private.order")});
        QVERIFY(u1a_ && u1b_ && u1c_ && u2_);
    }

    void cleanupTestCase() {
        for (auto& n : nodes_)
            n->stop();
        redis_.reset();
    }

    void statusNamesTheCluster() {
        const QByteArray cluster =
            httpGet(node(1).httpUrl(QStringLiteral("/api/cluster")), kApiToken).body;
        QVERIFY2(cluster.contains("\"broker\":\"redis-cluster 127.0.0.1:") &&
                     cluster.contains("(3 masters)\""),
                 cluster.constData());
    }

    void seedScenarioDeliversExactly() {
        const HttpResult r = publish(node(2), QStringLiteral("public.promotional"),
                                     QJsonObject{{QStringLiteral("sale"), 50}});
        QCOMPARE(r.status, 200);
        QCOMPARE(publish(node(1), {{QStringLiteral("stream"), QStringLiteral("order")},
                                   {QStringLiteral("user"), QStringLiteral("u2")},
                                   {QStringLiteral("data"), QStringLiteral("shipped")}})
                     .status,
                 200);
        for (WsClient* c : {u1a_.get(), u1b_.get(), u1c_.get()})
            QTRY_COMPARE_WITH_TIMEOUT(c->messagesOn(QStringLiteral("public.promotional")), 1,
                                      15000);
        QTRY_COMPARE_WITH_TIMEOUT(u2_->messagesOn(QStringLiteral("private.u2.order")), 1, 15000);
        // A marker after both proves nothing more is on its way.
        QCOMPARE(publish(node(1), QStringLiteral("public.promotional"), QStringLiteral("m")).status,
                 200);
        for (WsClient* c : {u1a_.get(), u1b_.get(), u1c_.get()}) {
            QTRY_COMPARE_WITH_TIMEOUT(c->messagesOn(QStringLiteral("public.promotional")), 2,
                                      15000);
            QCOMPARE(c->eventsOf(QStringLiteral("message"))
                         .first()
                         .value(QLatin1String("id"))
                         .toString(),
                     r.json().value(QLatin1String("id")).toString());
            QCOMPARE(c->messagesOn(QStringLiteral("private.u2.order")), 0);
        }
        QCOMPARE(u2_->messagesOn(QStringLiteral("public.promotional")), 0);
        QCOMPARE(u2_->messagesOn(QStringLiteral("private.u2.order")), 1);
    }

    void streamsAreShardedOverTheMasters() {
        // 30 streams: each master serves some of them, and each stream's channel is on the
        // master of its slot, as a sharded channel (no classic channel for it anywhere).
        WsClient c;
        QVERIFY(c.open(node(1).wsUrl(QStringLiteral("/public"))));
        QStringList streams;
        for (int i = 0; i < 30; ++i)
            streams.append(QStringLiteral("spread%1").arg(i));
        c.subscribe(streams);
        QVERIFY(!c.waitFor(QStringLiteral("subscribed")).isEmpty());
        const QList<quint16> masters = redis_->masters();
        QCOMPARE(masters.size(), 3);
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (const QString& s : streams) {
                    const QString channel = QStringLiteral("herald:public.") + s;
                    if (!shardChannelsOn(redis_->masterOf(channel)).contains(channel))
                        return false;
                }
                return true;
            }(),
            15000);
        for (const quint16 m : masters)
            QVERIFY2(!shardChannelsOn(m).isEmpty(), "a master serves none of 30 streams");
        QVERIFY(!RedisClusterProcess::cli(masters.first(),
                                          {QStringLiteral("PUBSUB"), QStringLiteral("CHANNELS"),
                                           QStringLiteral("herald:public.*")})
                     .contains(QLatin1String("spread")));
        // Each stream's history lives on the master of its channel's slot.
        QCOMPARE(publish(node(2), QStringLiteral("public.spread7"), 7).status, 200);
        const quint16 home = redis_->masterOf(QStringLiteral("herald:public.spread7"));
        QCOMPARE(
            RedisClusterProcess::cli(
                home, {QStringLiteral("XLEN"), QStringLiteral("{herald:public.spread7}:history")}),
            QStringLiteral("1"));
    }

    void totalsAreRight() {
        for (int i = 1; i <= 2; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(clusterTotalsAre(node(i), kApiToken, 4, 2, 2), 15000);
    }

    void liveSlotMigrationMovesTheStream() {
        // A stream's slot is migrated to another master by hand, as redis-cli --cluster reshard
        // does (IMPORTING/MIGRATING, MIGRATE of its history key, SETSLOT NODE), while publishes
        // go on: the nodes follow ASK and MOVED, move their sharded subscription when Redis
        // drops it, and resuming clients get every acknowledged message once.
        const QString stream = QStringLiteral("migrating");
        const QString channel = QStringLiteral("herald:public.") + stream;
        const QString historyKey = QLatin1Char('{') + channel + QStringLiteral("}:history");
        std::vector<std::unique_ptr<ResumingClient>> clients;
        for (int n = 1; n <= 2; ++n) {
            clients.push_back(
                std::make_unique<ResumingClient>(node(n).wsUrl(QStringLiteral("/public")), stream));
            clients.back()->start();
        }
        QTRY_VERIFY_WITH_TIMEOUT(clients[0]->subscribedOnce() && clients[1]->subscribedOnce(),
                                 20000);
        const quint16 from = redis_->masterOf(channel);
        quint16 to = 0;
        for (const quint16 m : redis_->masters())
            if (m != from && to == 0)
                to = m;
        QVERIFY(from != 0 && to != 0);
        auto cli = [](quint16 port, const QStringList& args) {
            return RedisClusterProcess::cli(port, args);
        };
        const QString slot =
            cli(from, {QStringLiteral("CLUSTER"), QStringLiteral("KEYSLOT"), channel});
        const QString fromId = cli(from, {QStringLiteral("CLUSTER"), QStringLiteral("MYID")});
        const QString toId = cli(to, {QStringLiteral("CLUSTER"), QStringLiteral("MYID")});

        QList<int> acked;
        int value = 0;
        auto publishSome = [&](int count) {
            for (int i = 0; i < count; ++i, ++value)
                if (publish(node(1 + value % 2), QStringLiteral("public.") + stream, value)
                        .status == 200)
                    acked.append(value);
        };
        publishSome(5);
        QCOMPARE(cli(to, {QStringLiteral("CLUSTER"), QStringLiteral("SETSLOT"), slot,
                          QStringLiteral("IMPORTING"), fromId}),
                 QStringLiteral("OK"));
        QCOMPARE(cli(from, {QStringLiteral("CLUSTER"), QStringLiteral("SETSLOT"), slot,
                            QStringLiteral("MIGRATING"), toId}),
                 QStringLiteral("OK"));
        publishSome(3); // the key is still on the old master: served there
        QCOMPARE(cli(from, {QStringLiteral("MIGRATE"), QStringLiteral("127.0.0.1"),
                            QString::number(to), QString(), QStringLiteral("0"),
                            QStringLiteral("5000"), QStringLiteral("KEYS"), historyKey}),
                 QStringLiteral("OK"));
        publishSome(3); // the key has moved: the old master answers ASK
        for (const quint16 port : {to, from})
            QCOMPARE(cli(port, {QStringLiteral("CLUSTER"), QStringLiteral("SETSLOT"), slot,
                                QStringLiteral("NODE"), toId}),
                     QStringLiteral("OK"));
        for (const quint16 port : redis_->masters())
            cli(port, {QStringLiteral("CLUSTER"), QStringLiteral("SETSLOT"), slot,
                       QStringLiteral("NODE"), toId});
        publishSome(5);                // MOVED, then straight to the new master
        QCOMPARE(acked.size(), value); // nothing was refused on the way
        for (const auto& c : clients) {
            QTRY_VERIFY_WITH_TIMEOUT(c->received().size() >= acked.size(), 20000);
            QList<int> got;
            for (const auto& [id, data] : c->received())
                got.append(data);
            QCOMPARE(got, acked); // all of them, once, in order
        }
        // Both nodes are subscribed on the new master now, and no longer on the old one.
        QTRY_COMPARE_WITH_TIMEOUT(
            cli(to, {QStringLiteral("PUBSUB"), QStringLiteral("SHARDNUMSUB"), channel})
                .split(QLatin1Char('\n'))
                .value(1)
                .trimmed(),
            QStringLiteral("2"), 15000);
        QCOMPARE(cli(from, {QStringLiteral("PUBSUB"), QStringLiteral("SHARDNUMSUB"), channel})
                     .split(QLatin1Char('\n'))
                     .value(1)
                     .trimmed(),
                 QStringLiteral("0"));
        for (int n = 1; n <= 2; ++n)
            QVERIFY(node(n).output().contains(
                QLatin1String("redis cluster: slot map changed, 1 slot(s) served elsewhere")));
        for (auto& c : clients)
            c->stop();
    }

    void masterFailoverLosesNothingForResumingClients() {
        // Streams spread over all masters; one of their masters is killed while publishes go on.
        QStringList streams;
        for (int i = 0; i < 9; ++i)
            streams.append(QStringLiteral("fo%1").arg(i));
        std::vector<std::unique_ptr<ResumingClient>> clients;
        for (const QString& s : streams)
            for (int n = 1; n <= 2; ++n) {
                clients.push_back(
                    std::make_unique<ResumingClient>(node(n).wsUrl(QStringLiteral("/public")), s));
                clients.back()->start();
            }
        QTRY_VERIFY_WITH_TIMEOUT(std::all_of(clients.begin(), clients.end(),
                                             [](const auto& c) { return c->subscribedOnce(); }),
                                 20000);
        // The victim serves the cluster control channel (heartbeats) too, so the online totals
        // are tested through the failover as well.
        const quint16 victim = redis_->masterOf(QStringLiteral("herald:cluster"));
        QVERIFY(victim != 0);
        QString victimStream;
        for (const QString& s : streams)
            if (victimStream.isEmpty() &&
                redis_->masterOf(QStringLiteral("herald:public.") + s) == victim)
                victimStream = s;
        QVERIFY2(!victimStream.isEmpty(), "no stream on the control channel's master");
        const qint64 connections = 4 + qint64(clients.size()); // anonymous ones: no users
        for (int i = 1; i <= 2; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(clusterTotalsAre(node(i), kApiToken, connections, 2, 2),
                                     15000);

        QHash<QString, QList<int>> acked; // stream -> data values answered 200
        int refused = 0;
        int refusedElsewhere = 0; // streams on the masters that kept running
        QString lastRefusal;
        QSet<QString> victimStreams;
        for (const QString& s : streams)
            if (redis_->masterOf(QStringLiteral("herald:public.") + s) == victim)
                victimStreams.insert(s);
        int value = 0;
        auto publishRound = [&] {
            for (const QString& s : streams) {
                const int v = value++;
                const HttpResult r = publish(node(1 + v % 2), QStringLiteral("public.") + s, v);
                if (r.status == 200)
                    acked[s].append(v);
                else if (!victimStreams.contains(s))
                    ++refusedElsewhere, lastRefusal = QString::fromUtf8(r.body);
                else
                    ++refused;
            }
        };
        for (int i = 0; i < 5; ++i)
            publishRound();
        QElapsedTimer failover;
        failover.start();
        redis_->kill(victim);
        // Publishing goes on; the victim's streams are refused until its replica serves them.
        const int before = acked.value(victimStream).size();
        QElapsedTimer waited;
        waited.start();
        int totalsWrong = 0; // samples of /api/cluster during the failover that were off
        while (acked.value(victimStream).size() <= before + 2 && waited.elapsed() < 30000) {
            publishRound();
            for (int i = 1; i <= 2; ++i)
                totalsWrong += !clusterTotalsAre(node(i), kApiToken, connections, 2, 2);
            QTest::qWait(100);
        }
        if (acked.value(victimStream).size() <= before + 2)
            qWarning().noquote() << "node 1 said:" << node(1).output().right(6000)
                                 << "\nlast refusal:" << lastRefusal << "\nthe cluster:"
                                 << RedisClusterProcess::cli(
                                        redis_->masters().value(0),
                                        {QStringLiteral("CLUSTER"), QStringLiteral("NODES")});
        QVERIFY2(acked.value(victimStream).size() > before + 2,
                 qPrintable(QStringLiteral("%1 publishes refused").arg(refused)));
        qInfo("victim's streams published again %lld ms after the kill (%d publishes refused "
              "meanwhile)",
              failover.elapsed(), refused);
        for (int i = 0; i < 5; ++i)
            publishRound();
        // Every client has every acknowledged message of its stream, once, in order.
        for (const auto& c : clients) {
            const QList<int> want = acked.value(c->routingKey().mid(7));
            QTRY_VERIFY_WITH_TIMEOUT(c->received().size() >= want.size(), 30000);
            QList<int> got;
            for (const auto& [id, data] : c->received())
                got.append(data);
            QList<int> gotAcked;
            for (int v : got)
                if (want.contains(v))
                    gotAcked.append(v);
            QVERIFY2(gotAcked == want, qPrintable(QStringLiteral("%1: got %2 of %3 acked")
                                                      .arg(c->routingKey())
                                                      .arg(gotAcked.size())
                                                      .arg(want.size())));
            QCOMPARE(QSet<int>(got.begin(), got.end()).size(), got.size()); // no duplicate
        }
        for (int i = 1; i <= 2; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(
                httpGet(node(i).httpUrl(QStringLiteral("/readyz"))).status == 200, 20000);
        // Only the failed master's streams were refused: the others kept publishing.
        QVERIFY2(
            refusedElsewhere == 0,
            qPrintable(
                QStringLiteral("%1 refused elsewhere: %2").arg(refusedElsewhere).arg(lastRefusal)));
        // The totals never moved: a node that cannot hear the control channel does not expire
        // the others (Presence::deaf), and nothing else changed.
        QCOMPARE(totalsWrong, 0);
        for (int i = 1; i <= 2; ++i)
            QVERIFY(clusterTotalsAre(node(i), kApiToken, connections, 2, 2));
        for (auto& c : clients)
            c->stop();
    }
};

QTEST_GUILESS_MAIN(RedisClusterTest)
#include "tst_redis_cluster.moc"
