// Admin connections (the console, `heraldctl tail` with an admin token) are never counted as
// connections or users, with real processes: a single node on its embedded broker, then two
// nodes sharing a real redis-server. With consoles open, the `online` stream, /api/cluster,
// /metrics, the admin snapshot (what the console's node table and audience preview are made of)
// and broadcast delivery reports count the client connections only.

#include "shared/JwtVerifier.h"
#include "tests/common/RedisProcess.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QDateTime>
#include <QJsonArray>
#include <QTest>
#include <memory>

using namespace herald::test;

namespace {
const QByteArray kApiToken = "counts-test-api-token";
const QByteArray kJwtSecret = "counts-test-jwt-secret-0123456789abcdef";
constexpr int kWaitMs = 15000; // heartbeats every 300 ms; generous for a loaded machine

QStringList nodeArgs(const QString& id, const QString& redisUrl = {}) {
    QStringList args{QStringLiteral("--node-id"),
                     id,
                     QStringLiteral("--api-tokens"),
                     QString::fromLatin1(kApiToken),
                     QStringLiteral("--admin-tokens"),
                     QStringLiteral("ops:ops-secret"),
                     QStringLiteral("--jwt-secret"),
                     QString::fromLatin1(kJwtSecret),
                     QStringLiteral("--heartbeat-interval"),
                     QStringLiteral("300ms")};
    if (!redisUrl.isEmpty())
        args += {QStringLiteral("--redis-url"), redisUrl};
    return args;
}

qint64 num(const QJsonObject& o, const char* key) {
    return o.value(QLatin1String(key)).toInteger(-1);
}
QJsonObject obj(const QJsonObject& o, const char* key) {
    return o.value(QLatin1String(key)).toObject();
}

QJsonObject apiCluster(ServerProcess& node) {
    return httpGet(node.httpUrl(QStringLiteral("/api/cluster")), kApiToken).json();
}

// `field` of the row of node `id` in a snapshot or /api/cluster's "nodes" (-1 when absent).
qint64 rowOf(const QJsonObject& snapshot, const QString& id, const char* field) {
    for (const QJsonValue& n : snapshot.value(QLatin1String("nodes")).toArray())
        if (n.toObject().value(QLatin1String("id")).toString() == id)
            return num(n.toObject(), field);
    return -1;
}

qint64 metric(ServerProcess& node, const QByteArray& name) {
    const QByteArray text = httpGet(node.httpUrl(QStringLiteral("/metrics"))).body;
    for (const QByteArray& line : text.split('\n'))
        if (line.startsWith(QByteArray(name + ' ')))
            return line.mid(name.size() + 1).toLongLong();
    return -1;
}

QJsonObject latest(const WsClient& c, const QString& event) {
    const QList<QJsonObject> all = c.eventsOf(event);
    return all.isEmpty() ? QJsonObject{} : all.last();
}

} // namespace

class AdminCountsTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<ServerProcess> solo_;
    std::unique_ptr<RedisProcess> redis_;
    std::unique_ptr<ServerProcess> n1_, n2_;
    std::vector<std::unique_ptr<WsClient>> open_; // closed at the end of each test function

    WsClient* connect(ServerProcess& on, const QString& pathAndQuery) {
        auto c = std::make_unique<WsClient>();
        if (!c->open(on.wsUrl(pathAndQuery)))
            return nullptr;
        open_.push_back(std::move(c));
        return open_.back().get();
    }
    WsClient* admin(ServerProcess& on) {
        return connect(on, QStringLiteral("/admin?token=ops-secret"));
    }
    WsClient* user(ServerProcess& on, const QString& name) {
        const qint64 now = QDateTime::currentSecsSinceEpoch();
        const QByteArray jwt = herald::mintHs256(
            {{QStringLiteral("sub"), name}, {QStringLiteral("exp"), now + 3600}}, kJwtSecret);
        return connect(on, QStringLiteral("/private?token=") + QString::fromLatin1(jwt));
    }
    WsClient* anonymous(ServerProcess& on) { return connect(on, QStringLiteral("/public")); }

    // Sends a broadcast from `a` and returns the newest report naming every node in `nodes`.
    QJsonObject broadcast(WsClient& a, const QString& id, const QString& kind, const QString& value,
                          const QStringList& nodes) {
        a.sendJson({{QStringLiteral("event"), QStringLiteral("broadcast")},
                    {QStringLiteral("id"), id},
                    {QStringLiteral("target"),
                     QJsonObject{{QStringLiteral("kind"), kind}, {QStringLiteral("value"), value}}},
                    {QStringLiteral("title"), id},
                    {QStringLiteral("body"), QStringLiteral("counts")},
                    {QStringLiteral("level"), QStringLiteral("info")}});
        QJsonObject found;
        (void)QTest::qWaitFor(
            [&] {
                for (const QJsonObject& e : a.eventsOf(QStringLiteral("broadcast-report"))) {
                    bool all = e.value(QLatin1String("id")).toString() == id;
                    for (const QString& n : nodes)
                        all = all && obj(e, "nodes").contains(n);
                    if (all)
                        found = e;
                }
                return !found.isEmpty();
            },
            kWaitMs);
        return found;
    }

private Q_SLOTS:
    void initTestCase() {
        QString error;
        solo_ = std::make_unique<ServerProcess>(nodeArgs(QStringLiteral("solo")));
        QVERIFY2(solo_->start(&error), qPrintable(error));
        redis_ = std::make_unique<RedisProcess>();
        QVERIFY2(redis_->start(&error), qPrintable(error));
        n1_ = std::make_unique<ServerProcess>(nodeArgs(QStringLiteral("n1"), redis_->url()));
        n2_ = std::make_unique<ServerProcess>(nodeArgs(QStringLiteral("n2"), redis_->url()));
        QVERIFY2(n1_->start(&error), qPrintable(error));
        QVERIFY2(n2_->start(&error), qPrintable(error));
        for (ServerProcess* n : {n1_.get(), n2_.get()})
            QTRY_COMPARE_WITH_TIMEOUT(num(obj(apiCluster(*n), "totals"), "nodes"), 2, kWaitMs);
    }
    void cleanup() { open_.clear(); }
    void cleanupTestCase() {
        open_.clear();
        solo_.reset(); // each stops its process
        n1_.reset();
        n2_.reset();
        redis_.reset();
    }

    void singleNodeCountsClientsOnly() {
        // Two consoles, then two clients: alice (a user, watching "online") and an anonymous one.
        WsClient* a1 = admin(*solo_);
        WsClient* a2 = admin(*solo_);
        WsClient* anon = anonymous(*solo_);
        WsClient* alice = user(*solo_, QStringLiteral("alice"));
        QVERIFY(a1 && a2 && anon && alice);
        alice->subscribe({QStringLiteral("online")});
        QVERIFY(!alice->waitFor(QStringLiteral("online")).isEmpty());

        QTRY_COMPARE_WITH_TIMEOUT(num(latest(*alice, QStringLiteral("online")), "connections"), 2,
                                  kWaitMs);
        QCOMPARE(num(latest(*alice, QStringLiteral("online")), "users"), 1);

        QTRY_COMPARE_WITH_TIMEOUT(num(obj(apiCluster(*solo_), "totals"), "connections"), 2,
                                  kWaitMs);
        const QJsonObject api = apiCluster(*solo_);
        QCOMPARE(num(obj(api, "totals"), "users"), 1);
        QCOMPARE(num(obj(api, "node"), "connections"), 2);
        QCOMPARE(num(obj(api, "node"), "users"), 1);
        QCOMPARE(rowOf(api, QStringLiteral("solo"), "connections"), 2);

        // The console's node table, totals and audience preview come from this snapshot.
        QTRY_COMPARE_WITH_TIMEOUT(
            num(obj(latest(*a1, QStringLiteral("cluster")), "totals"), "connections"), 2, kWaitMs);
        QCOMPARE(
            rowOf(latest(*a1, QStringLiteral("cluster")), QStringLiteral("solo"), "connections"),
            2);
        QCOMPARE(num(obj(latest(*a1, QStringLiteral("cluster")), "totals"), "users"), 1);

        QCOMPARE(metric(*solo_, "herald_connections"), 2);
        QCOMPARE(metric(*solo_, "herald_cluster_connections"), 2);
        QCOMPARE(metric(*solo_, "herald_users"), 1);
        QCOMPARE(metric(*solo_, "herald_admin_connections"), 2);

        // Delivery reports count the clients that took the notice, not the consoles.
        const QStringList solo{QStringLiteral("solo")};
        QJsonObject r = broadcast(*a1, QStringLiteral("all"), QStringLiteral("all"), {}, solo);
        QCOMPARE(num(r, "delivered"), 2);
        QTRY_VERIFY(!alice->eventsOf(QStringLiteral("system")).isEmpty() &&
                    !anon->eventsOf(QStringLiteral("system")).isEmpty());
        r = broadcast(*a1, QStringLiteral("node"), QStringLiteral("node"), QStringLiteral("solo"),
                      solo);
        QCOMPARE(num(obj(r, "nodes"), "solo"), 2);
        // An admin token's name is not a user id: "ops" has no connection.
        r = broadcast(*a1, QStringLiteral("user"), QStringLiteral("user"), QStringLiteral("ops"),
                      solo);
        QCOMPARE(num(r, "delivered"), 0);
    }

    void clusterCountsClientsOnly() {
        // n1: two consoles, carol and an anonymous client; n2: one console, carol and dave.
        WsClient* a1 = admin(*n1_);
        WsClient* a1b = admin(*n1_);
        WsClient* a2 = admin(*n2_);
        WsClient* carol1 = user(*n1_, QStringLiteral("carol"));
        WsClient* anon1 = anonymous(*n1_);
        WsClient* carol2 = user(*n2_, QStringLiteral("carol"));
        WsClient* dave2 = user(*n2_, QStringLiteral("dave"));
        QVERIFY(a1 && a1b && a2 && carol1 && anon1 && carol2 && dave2);
        dave2->subscribe({QStringLiteral("online")});
        QVERIFY(!dave2->waitFor(QStringLiteral("online")).isEmpty());

        // 4 client connections, 2 users (carol on both nodes counts once), 2 per node.
        QTRY_COMPARE_WITH_TIMEOUT(num(latest(*dave2, QStringLiteral("online")), "connections"), 4,
                                  kWaitMs);
        QCOMPARE(num(latest(*dave2, QStringLiteral("online")), "users"), 2);

        for (ServerProcess* n : {n1_.get(), n2_.get()}) {
            QTRY_COMPARE_WITH_TIMEOUT(num(obj(apiCluster(*n), "totals"), "connections"), 4,
                                      kWaitMs);
            const QJsonObject api = apiCluster(*n);
            QCOMPARE(num(obj(api, "totals"), "users"), 2);
            QCOMPARE(num(obj(api, "node"), "connections"), 2);
            QTRY_COMPARE_WITH_TIMEOUT(rowOf(apiCluster(*n), QStringLiteral("n1"), "connections"), 2,
                                      kWaitMs);
            QTRY_COMPARE_WITH_TIMEOUT(rowOf(apiCluster(*n), QStringLiteral("n2"), "connections"), 2,
                                      kWaitMs);
            QCOMPARE(metric(*n, "herald_cluster_connections"), 4);
            QCOMPARE(metric(*n, "herald_connections"), 2);
        }
        QCOMPARE(metric(*n1_, "herald_admin_connections"), 2);
        QCOMPARE(metric(*n2_, "herald_admin_connections"), 1);

        for (WsClient* a : {a1, a2}) {
            QTRY_COMPARE_WITH_TIMEOUT(
                num(obj(latest(*a, QStringLiteral("cluster")), "totals"), "connections"), 4,
                kWaitMs);
            const QJsonObject snap = latest(*a, QStringLiteral("cluster"));
            QCOMPARE(num(obj(snap, "totals"), "users"), 2);
            QCOMPARE(rowOf(snap, QStringLiteral("n1"), "connections"), 2);
            QCOMPARE(rowOf(snap, QStringLiteral("n2"), "connections"), 2);
        }

        const QStringList both{QStringLiteral("n1"), QStringLiteral("n2")};
        QJsonObject r = broadcast(*a1, QStringLiteral("c-all"), QStringLiteral("all"), {}, both);
        QCOMPARE(num(obj(r, "nodes"), "n1"), 2);
        QCOMPARE(num(obj(r, "nodes"), "n2"), 2);
        QCOMPARE(num(r, "delivered"), 4);
        r = broadcast(*a1, QStringLiteral("c-node"), QStringLiteral("node"), QStringLiteral("n1"),
                      both);
        QCOMPARE(num(obj(r, "nodes"), "n1"), 2);
        QCOMPARE(num(obj(r, "nodes"), "n2"), 0);
        r = broadcast(*a2, QStringLiteral("c-system"), QStringLiteral("stream"),
                      QStringLiteral("system"), both);
        QCOMPARE(num(r, "delivered"), 4);

        // A stream's audience: its client subscribers, not the console tailing it.
        WsClient reader;
        QVERIFY(reader.open(n1_->wsUrl(QStringLiteral("/public"))));
        reader.subscribe({QStringLiteral("promo")});
        QVERIFY(!reader.waitFor(QStringLiteral("subscribed"), kWaitMs).isEmpty());
        const int answered = int(a1->eventsOf(QStringLiteral("subscribed")).size());
        a1->subscribe({QStringLiteral("public.promo")});
        QTRY_COMPARE_WITH_TIMEOUT(int(a1->eventsOf(QStringLiteral("subscribed")).size()),
                                  answered + 1, kWaitMs);
        r = broadcast(*a1, QStringLiteral("c-stream"), QStringLiteral("stream"),
                      QStringLiteral("public.promo"), both);
        QCOMPARE(num(r, "delivered"), 1);
        QTRY_VERIFY_WITH_TIMEOUT(!reader.eventsOf(QStringLiteral("system")).isEmpty(), kWaitMs);
        // The streams report (the console's audience preview), asked again until it is fresh.
        auto promoSubscribers = [&] {
            const qsizetype before = a1->eventsOf(QStringLiteral("streams")).size();
            a1->sendJson({{QStringLiteral("event"), QStringLiteral("streams")}});
            if (!QTest::qWaitFor(
                    [&] { return a1->eventsOf(QStringLiteral("streams")).size() > before; },
                    kWaitMs))
                return qint64(-2);
            qint64 found = -1;
            const QJsonArray rows = a1->eventsOf(QStringLiteral("streams"))
                                        .last()
                                        .value(QLatin1String("streams"))
                                        .toArray();
            for (const QJsonValue& row : rows)
                if (row.toObject().value(QLatin1String("stream")).toString() ==
                    QLatin1String("public.promo"))
                    found = row.toObject().value(QLatin1String("subscribers")).toInteger();
            return found;
        };
        QTRY_COMPARE_WITH_TIMEOUT(promoSubscribers(), qint64(1), kWaitMs);
    }
};

QTEST_GUILESS_MAIN(AdminCountsTest)
#include "tst_admin_counts.moc"
