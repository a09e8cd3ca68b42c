// Sticky system notices (issue 9, item 6) with real processes: a broadcast with a ttl reaches
// every connection opened while it is active, right after the welcome, on every node (also one
// started later, which reads them from Redis); a withdrawal (admin or HTTP) or the ttl ends it,
// and connections still open are told "withdrawn". One node on its embedded broker, and nodes
// sharing a real redis-server.

#include "tests/common/RedisProcess.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>
#include <memory>

using namespace herald::test;

namespace {
const QByteArray kApiToken = "sticky-test-api-token";

QStringList nodeArgs(const QString& id, const QString& redisUrl = {}) {
    QStringList args{QStringLiteral("--node-id"),
                     id,
                     QStringLiteral("--api-tokens"),
                     QString::fromLatin1(kApiToken),
                     QStringLiteral("--admin-tokens"),
                     QStringLiteral("ops:ops-secret"),
                     QStringLiteral("--heartbeat-interval"),
                     QStringLiteral("300ms")};
    if (!redisUrl.isEmpty())
        args += {QStringLiteral("--redis-url"), redisUrl};
    return args;
}

QString str(const QJsonObject& o, const char* key) {
    return o.value(QLatin1String(key)).toString();
}
QString titleOf(const QJsonObject& systemEvent) {
    return str(systemEvent.value(QLatin1String("data")).toObject(), "title");
}

// What a fresh /public connection receives before the answer to its first ping: the sticky
// notices come right after the welcome, before anything the client asks for.
QList<QJsonObject> greeting(ServerProcess& node) {
    WsClient c;
    if (!c.open(node.wsUrl(QStringLiteral("/public"))))
        return {QJsonObject{{QStringLiteral("event"), QStringLiteral("no connection")}}};
    c.send(R"({"event":"ping"})");
    if (c.waitFor(QStringLiteral("pong")).isEmpty())
        return {QJsonObject{{QStringLiteral("event"), QStringLiteral("no pong")}}};
    QList<QJsonObject> got = c.events();
    got.removeLast(); // the pong
    return got;
}
// The titles of the system events of a greeting that starts with the welcome ({"?"} if not).
QStringList stickyTitles(ServerProcess& node) {
    const QList<QJsonObject> events = greeting(node);
    if (events.isEmpty() || str(events.first(), "event") != QLatin1String("welcome"))
        return {QStringLiteral("?")};
    QStringList titles;
    for (qsizetype i = 1; i < events.size(); ++i)
        titles.append(str(events[i], "event") == QLatin1String("system") ? titleOf(events[i])
                                                                         : QStringLiteral("?"));
    return titles;
}

HttpResult broadcastOver(ServerProcess& node, const QByteArray& body) {
    return httpPost(node.httpUrl(QStringLiteral("/api/broadcast")), body, kApiToken);
}
QJsonArray listed(ServerProcess& node) {
    return httpGet(node.httpUrl(QStringLiteral("/api/broadcast")), kApiToken)
        .json()
        .value(QLatin1String("sticky"))
        .toArray();
}
bool withdrawnSeen(const WsClient& c, const QString& id) {
    for (const QJsonObject& e : c.eventsOf(QStringLiteral("withdrawn")))
        if (str(e, "id") == id)
            return true;
    return false;
}
} // namespace

class StickyTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<ServerProcess> single_;
    std::unique_ptr<RedisProcess> redis_;
    std::unique_ptr<ServerProcess> n1_, n2_, n3_;

    std::unique_ptr<WsClient> admin(ServerProcess& on) {
        auto c = std::make_unique<WsClient>();
        return c->open(on.wsUrl(QStringLiteral("/admin?token=ops-secret"))) ? std::move(c)
                                                                            : nullptr;
    }
    std::unique_ptr<WsClient> client(ServerProcess& on) {
        auto c = std::make_unique<WsClient>();
        return c->open(on.wsUrl(QStringLiteral("/public"))) ? std::move(c) : nullptr;
    }

private Q_SLOTS:
    void initTestCase() {
        QString error;
        single_ = std::make_unique<ServerProcess>(nodeArgs(QStringLiteral("solo")));
        QVERIFY2(single_->start(&error), qPrintable(error));
        redis_ = std::make_unique<RedisProcess>();
        QVERIFY2(redis_->start(&error), qPrintable(error));
        n1_ = std::make_unique<ServerProcess>(nodeArgs(QStringLiteral("n1"), redis_->url()));
        n2_ = std::make_unique<ServerProcess>(nodeArgs(QStringLiteral("n2"), redis_->url()));
        QVERIFY2(n1_->start(&error), qPrintable(error));
        QVERIFY2(n2_->start(&error), qPrintable(error));
        for (ServerProcess* n : {n1_.get(), n2_.get()})
            QTRY_VERIFY_WITH_TIMEOUT(httpGet(n->httpUrl(QStringLiteral("/api/cluster")), kApiToken)
                                             .json()
                                             .value(QLatin1String("totals"))
                                             .toObject()
                                             .value(QLatin1String("nodes"))
                                             .toInteger() == 2,
                                     15000);
    }

    void cleanupTestCase() {
        single_.reset();
        n3_.reset();
        n1_.reset();
        n2_.reset();
        redis_.reset();
    }

    // ---- one node, embedded broker ----

    void embeddedStickyOverHttp() {
        QCOMPARE(stickyTitles(*single_), QStringList{});
        auto open = client(*single_);
        QVERIFY(open);
        const HttpResult sent =
            broadcastOver(*single_, R"({"title":"Maintenance","body":"at 22:00","ttl":"2h"})");
        QCOMPARE(sent.status, 200);
        const QString id = str(sent.json(), "id");
        const qint64 expiresAt = sent.json().value(QLatin1String("expires_at")).toInteger();
        QVERIFY(expiresAt > QDateTime::currentMSecsSinceEpoch() + 7'100'000);
        // The open connection gets it live, with its expiry; a new one right after the welcome.
        const QJsonObject live = open->waitFor(QStringLiteral("system"));
        QCOMPARE(str(live, "id"), id);
        QCOMPARE(live.value(QLatin1String("expires_at")).toInteger(), expiresAt);
        const QList<QJsonObject> greeted = greeting(*single_);
        QCOMPARE(greeted.size(), 2);
        QCOMPARE(str(greeted[1], "id"), id);
        QCOMPARE(greeted[1].value(QLatin1String("expires_at")).toInteger(), expiresAt);
        QCOMPARE(str(greeted[1].value(QLatin1String("data")).toObject(), "body"),
                 QStringLiteral("at 22:00"));
        QCOMPARE(listed(*single_).size(), 1);
        QCOMPARE(str(listed(*single_).first().toObject(), "id"), id);
        // Withdrawn over HTTP: open connections are told, new ones do not get it.
        const HttpResult gone =
            httpDelete(single_->httpUrl(QStringLiteral("/api/broadcast/") + id), kApiToken);
        QCOMPARE(gone.status, 200);
        QTRY_VERIFY_WITH_TIMEOUT(withdrawnSeen(*open, id), 10000);
        QCOMPARE(stickyTitles(*single_), QStringList{});
        QCOMPARE(listed(*single_).size(), 0);
        QCOMPARE(
            httpDelete(single_->httpUrl(QStringLiteral("/api/broadcast/") + id), kApiToken).status,
            404);
        QCOMPARE(httpDelete(single_->httpUrl(QStringLiteral("/api/broadcast/") + id)).status, 401);
    }

    void badTtlsAndLimits() {
        for (const QByteArray& body :
             {QByteArray(R"({"title":"T","ttl":"forever"})"),
              QByteArray(R"({"title":"T","ttl":"8d"})"), QByteArray(R"({"title":"T","ttl":-5})"),
              QByteArray(R"({"title":"T","ttl":[1]})")}) {
            const HttpResult r = broadcastOver(*single_, body);
            QCOMPARE(r.status, 400);
            QVERIFY2(r.body.contains("\\\"ttl\\\""), r.body.constData());
        }
        auto a = admin(*single_);
        QVERIFY(a);
        int from = static_cast<int>(a->events().size());
        a->send(R"({"event":"broadcast","id":"b1","title":"T","ttl":"2 hours"})");
        QJsonObject error = a->waitFor(QStringLiteral("error"), 10000, from);
        QCOMPARE(str(error, "code"), QStringLiteral("bad_request"));
        QVERIFY(str(error, "message").contains(QLatin1String("\"ttl\"")));
        from = static_cast<int>(a->events().size());
        a->send(R"({"event":"broadcast","id":"b2","title":"T","ttl":"1h",)"
                R"("target":{"kind":"stream","value":"news"}})");
        error = a->waitFor(QStringLiteral("error"), 10000, from);
        QCOMPARE(str(error, "code"), QStringLiteral("bad_request"));
        QVERIFY(str(error, "message").contains(QLatin1String("target all")));
        from = static_cast<int>(a->events().size());
        a->send(R"({"event":"withdraw","id":"nothing-like-it"})");
        QCOMPARE(str(a->waitFor(QStringLiteral("error"), 10000, from), "code"),
                 QStringLiteral("not_found"));
        // At most 20 active: the 21st is refused and says why.
        QStringList ids;
        for (int i = 0; i < 20; ++i) {
            const HttpResult r = broadcastOver(
                *single_, QStringLiteral(R"({"title":"n%1","ttl":"1h"})").arg(i).toUtf8());
            QCOMPARE(r.status, 200);
            ids.append(str(r.json(), "id"));
        }
        const HttpResult refused = broadcastOver(*single_, R"({"title":"one more","ttl":"1h"})");
        QCOMPARE(refused.status, 400);
        QVERIFY2(refused.body.contains("withdraw one first"), refused.body.constData());
        QCOMPARE(stickyTitles(*single_).size(), 20);
        for (const QString& id : ids)
            QCOMPARE(httpDelete(single_->httpUrl(QStringLiteral("/api/broadcast/") + id), kApiToken)
                         .status,
                     200);
        QCOMPARE(stickyTitles(*single_), QStringList{});
    }

    // ---- nodes over Redis ----

    void clusterStickyFromTheOtherNodeAndALaterNode() {
        auto a1 = admin(*n1_);
        auto a2 = admin(*n2_);
        auto open1 = client(*n1_);
        auto open2 = client(*n2_);
        QVERIFY(a1 && a2 && open1 && open2);
        a1->send(R"({"event":"broadcast","id":"s1","title":"Maintenance","body":"at 22:00",)"
                 R"("level":"warning","ttl":"1h"})");
        QVERIFY(!a1->waitFor(QStringLiteral("ack")).isEmpty());
        const QString id = str(open2->waitFor(QStringLiteral("system")), "id");
        QVERIFY(!id.isEmpty());
        // Both nodes give it to new connections, right after the welcome.
        QCOMPARE(stickyTitles(*n2_), QStringList{QStringLiteral("Maintenance")});
        QCOMPARE(stickyTitles(*n1_), QStringList{QStringLiteral("Maintenance")});
        // The consoles are sent the list (on every change), not the notice itself on connect.
        QTRY_VERIFY_WITH_TIMEOUT(!a2->eventsOf(QStringLiteral("sticky")).isEmpty() &&
                                     str(a2->eventsOf(QStringLiteral("sticky"))
                                             .last()
                                             .value(QLatin1String("notices"))
                                             .toArray()
                                             .first()
                                             .toObject(),
                                         "id") == id,
                                 10000);
        auto lateAdmin = admin(*n2_);
        QVERIFY(lateAdmin);
        QVERIFY(lateAdmin->eventsOf(QStringLiteral("system")).isEmpty());
        QCOMPARE(lateAdmin->waitFor(QStringLiteral("sticky"))
                     .value(QLatin1String("notices"))
                     .toArray()
                     .size(),
                 1);
        // A node started afterwards reads it from Redis.
        QString error;
        n3_ = std::make_unique<ServerProcess>(nodeArgs(QStringLiteral("n3"), redis_->url()));
        QVERIFY2(n3_->start(&error), qPrintable(error));
        QTRY_COMPARE_WITH_TIMEOUT(stickyTitles(*n3_), QStringList{QStringLiteral("Maintenance")},
                                  10000);
        auto open3 = client(*n3_);
        QVERIFY(open3);
        // Withdrawn by the admin on n2: every node stops giving it, open connections are told.
        const int from = static_cast<int>(a2->events().size());
        a2->sendJson(
            {{QStringLiteral("event"), QStringLiteral("withdraw")}, {QStringLiteral("id"), id}});
        const QJsonObject ack = a2->waitFor(QStringLiteral("ack"), 10000, from);
        QCOMPARE(str(ack, "what"), QStringLiteral("withdraw"));
        QCOMPARE(str(ack, "id"), id);
        for (WsClient* c : {open1.get(), open2.get(), open3.get()})
            QTRY_VERIFY_WITH_TIMEOUT(withdrawnSeen(*c, id), 10000);
        for (ServerProcess* n : {n1_.get(), n2_.get(), n3_.get()}) {
            QCOMPARE(stickyTitles(*n), QStringList{});
            QCOMPARE(listed(*n).size(), 0);
        }
        // In the audit log, with who did it.
        a2->sendJson(
            {{QStringLiteral("event"), QStringLiteral("audit")}, {QStringLiteral("limit"), 5}});
        const QJsonObject newest = a2->waitFor(QStringLiteral("audit"))
                                       .value(QLatin1String("entries"))
                                       .toArray()
                                       .first()
                                       .toObject();
        QCOMPARE(str(newest, "action"), QStringLiteral("withdraw"));
        QCOMPARE(str(newest, "who"), QStringLiteral("ops"));
        QCOMPARE(str(newest, "target"), id);
        QCOMPARE(str(newest, "detail"), QStringLiteral("Maintenance"));
    }

    void clusterHttpStickyLapsesAndHttpWithdraw() {
        auto open1 = client(*n1_);
        QVERIFY(open1);
        // A short one over HTTP on n2: n1 gives it, then neither does after its ttl.
        const HttpResult sent = broadcastOver(*n2_, R"({"title":"Short","ttl":"2s"})");
        QCOMPARE(sent.status, 200);
        const HttpResult other = broadcastOver(*n2_, R"({"title":"Long","ttl":"10m"})");
        QCOMPARE(other.status, 200);
        const QString longId = str(other.json(), "id");
        const QJsonObject live = open1->waitFor(QStringLiteral("system"));
        QCOMPARE(titleOf(live), QStringLiteral("Short"));
        QCOMPARE(live.value(QLatin1String("expires_at")).toInteger(),
                 sent.json().value(QLatin1String("expires_at")).toInteger());
        QTRY_COMPARE_WITH_TIMEOUT(stickyTitles(*n1_), QStringList{QStringLiteral("Long")}, 15000);
        QTRY_COMPARE_WITH_TIMEOUT(stickyTitles(*n2_), QStringList{QStringLiteral("Long")}, 15000);
        QTRY_COMPARE_WITH_TIMEOUT(listed(*n1_).size(), 1, 10000);
        // Withdrawn over HTTP on n1 (it was sent on n2).
        QCOMPARE(
            httpDelete(n1_->httpUrl(QStringLiteral("/api/broadcast/") + longId), kApiToken).status,
            200);
        QTRY_VERIFY_WITH_TIMEOUT(withdrawnSeen(*open1, longId), 10000);
        QCOMPARE(stickyTitles(*n2_), QStringList{});
        QCOMPARE(stickyTitles(*n1_), QStringList{});
    }

    // Redis is where the nodes agree: one that comes back without its data (no persistence here)
    // no longer has the notice, and each node, reading the hash after the reconnect, drops it and
    // tells its open connections.
    void aRedisThatForgetsMakesTheNodesForget() {
        const HttpResult sent = broadcastOver(*n1_, R"({"title":"Forgotten","ttl":"1h"})");
        QCOMPARE(sent.status, 200);
        const QString id = str(sent.json(), "id");
        QTRY_COMPARE_WITH_TIMEOUT(stickyTitles(*n2_), QStringList{QStringLiteral("Forgotten")},
                                  10000);
        auto open2 = client(*n2_);
        QVERIFY(open2);
        QString error;
        QVERIFY2(redis_->restart(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(withdrawnSeen(*open2, id), 20000);
        for (ServerProcess* n : {n1_.get(), n2_.get()}) {
            QTRY_COMPARE_WITH_TIMEOUT(listed(*n).size(), 0, 20000);
            QCOMPARE(stickyTitles(*n), QStringList{});
        }
    }
};

QTEST_MAIN(StickyTest)
#include "tst_sticky.moc"
