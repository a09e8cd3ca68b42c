// The /admin endpoint with real processes: a single node on its embedded broker, then two nodes
// sharing a real redis-server. Snapshots, broadcast with delivery reports, streams, drain,
// disconnect and the audit log, seen from real WebSocket clients.

#include "shared/JwtVerifier.h"
#include "tests/common/RedisProcess.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpSocket>
#include <QTest>
#include <memory>

using namespace herald::test;

namespace {
const QByteArray kApiToken = "admin-test-api-token";
const QString kAdminTokens = QStringLiteral("ops:ops-secret,bare-secret");
const QByteArray kJwtSecret = "admin-test-jwt-secret-0123456789abcdef";

QByteArray jwtFor(const QString& user) {
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    return herald::mintHs256({{QStringLiteral("sub"), user}, {QStringLiteral("exp"), now + 3600}},
                             kJwtSecret);
}

QStringList nodeArgs(const QString& id, const QString& redisUrl = {}) {
    QStringList args{QStringLiteral("--node-id"),
                     id,
                     QStringLiteral("--api-tokens"),
                     QString::fromLatin1(kApiToken),
                     QStringLiteral("--admin-tokens"),
                     kAdminTokens,
                     QStringLiteral("--jwt-secret"),
                     QString::fromLatin1(kJwtSecret),
                     QStringLiteral("--heartbeat-interval"),
                     QStringLiteral("300ms"),
                     QStringLiteral("--drain-period"),
                     QStringLiteral("1s")};
    if (!redisUrl.isEmpty())
        args += {QStringLiteral("--redis-url"), redisUrl};
    return args;
}

QJsonObject apiCluster(ServerProcess& node) {
    return httpGet(node.httpUrl(QStringLiteral("/api/cluster")), kApiToken).json();
}

QString str(const QJsonObject& o, const char* key) {
    return o.value(QLatin1String(key)).toString();
}
qint64 num(const QJsonObject& o, const char* key) {
    return o.value(QLatin1String(key)).toInteger();
}

// The latest event of a kind (or {}), e.g. the newest cluster snapshot.
QJsonObject latest(const WsClient& c, const QString& event) {
    const QList<QJsonObject> all = c.eventsOf(event);
    return all.isEmpty() ? QJsonObject{} : all.last();
}

// Snapshot rows by node id.
QHash<QString, QJsonObject> rowsOf(const QJsonObject& snapshot) {
    QHash<QString, QJsonObject> rows;
    for (const QJsonValue& n : snapshot.value(QLatin1String("nodes")).toArray())
        rows.insert(str(n.toObject(), "id"), n.toObject());
    return rows;
}

// The newest broadcast-report for `requestId` that names every one of `nodes`, or {}.
QJsonObject reportFor(const WsClient& c, const QString& requestId, const QStringList& nodes) {
    QJsonObject found;
    for (const QJsonObject& e : c.eventsOf(QStringLiteral("broadcast-report"))) {
        if (str(e, "id") != requestId)
            continue;
        const QJsonObject byNode = e.value(QLatin1String("nodes")).toObject();
        bool all = true;
        for (const QString& n : nodes)
            all = all && byNode.contains(n);
        if (all)
            found = e;
    }
    return found;
}

int systemEvents(const WsClient& c, const QString& title) {
    int n = 0;
    for (const QJsonObject& e : c.eventsOf(QStringLiteral("system")))
        n += str(e.value(QLatin1String("data")).toObject(), "title") == title;
    return n;
}

QJsonObject broadcastJson(const QString& id, const QString& kind, const QString& value,
                          const QString& title) {
    return {{QStringLiteral("event"), QStringLiteral("broadcast")},
            {QStringLiteral("id"), id},
            {QStringLiteral("target"),
             QJsonObject{{QStringLiteral("kind"), kind}, {QStringLiteral("value"), value}}},
            {QStringLiteral("title"), title},
            {QStringLiteral("body"), QString(QStringLiteral("body of ") + title)},
            {QStringLiteral("level"), QStringLiteral("warning")}};
}
// Qt's WebSocket client turns close codes 1012-2999 into 1002, so the drain's 1012 is read the
// way a browser would: a raw RFC 6455 client that returns the close code the server sent.
class RawWs {
public:
    bool open(const QUrl& url) {
        socket_.connectToHost(QHostAddress::LocalHost, static_cast<quint16>(url.port()));
        if (!socket_.waitForConnected(5000))
            return false;
        socket_.write(
            "GET " + url.path(QUrl::FullyEncoded).toLatin1() + "?" +
            url.query(QUrl::FullyEncoded).toLatin1() +
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        return QTest::qWaitFor(
                   [this] {
                       buffer_ += socket_.readAll();
                       const qsizetype end = buffer_.indexOf("\r\n\r\n");
                       if (end < 0)
                           return false;
                       upgraded_ = buffer_.startsWith("HTTP/1.1 101");
                       buffer_.remove(0, end + 4);
                       return true;
                   },
                   5000) &&
               upgraded_;
    }
    // The close code the server sent, or -1 while none has arrived (does not wait).
    int pollClose() {
        buffer_ += socket_.readAll();
        while (code_ < 0 && buffer_.size() >= 4) {
            const auto byte = [this](qsizetype i) {
                return static_cast<int>(static_cast<uchar>(buffer_[i]));
            };
            const qsizetype header =
                (byte(1) & 0x7f) == 126 ? 4 : 2; // every frame here is < 64 KiB
            const qsizetype length = header == 4 ? (byte(2) << 8 | byte(3)) : (byte(1) & 0x7f);
            if (buffer_.size() < header + length)
                break;
            if ((byte(0) & 0x0f) == 0x8 && length >= 2)
                code_ = byte(header) << 8 | byte(header + 1);
            buffer_.remove(0, header + length);
        }
        return code_;
    }
    int closeCode(int timeoutMs = 10000) {
        (void)QTest::qWaitFor([this] { return pollClose() >= 0; }, timeoutMs);
        return code_;
    }

private:
    QTcpSocket socket_;
    QByteArray buffer_;
    bool upgraded_ = false;
    int code_ = -1;
};

} // namespace

class AdminTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<ServerProcess> single_;
    std::unique_ptr<RedisProcess> redis_;
    std::unique_ptr<ServerProcess> n1_, n2_;

    std::unique_ptr<WsClient> admin(ServerProcess& on,
                                    const QString& token = QStringLiteral("ops-secret")) {
        auto c = std::make_unique<WsClient>();
        return c->open(on.wsUrl(QStringLiteral("/admin?token=") + token)) ? std::move(c) : nullptr;
    }

    std::unique_ptr<WsClient> user(ServerProcess& on, const QString& name,
                                   const QStringList& streams = {}) {
        auto c = std::make_unique<WsClient>();
        if (!c->open(
                on.wsUrl(QStringLiteral("/private?token=") + QString::fromLatin1(jwtFor(name)))))
            return nullptr;
        if (!streams.isEmpty()) {
            c->subscribe(streams);
            if (c->waitFor(QStringLiteral("subscribed")).isEmpty())
                return nullptr;
        }
        return c;
    }

    // Sends a broadcast and waits for its ack and a report naming every node in `nodes`.
    QJsonObject broadcastAndReport(WsClient& a, const QString& id, const QString& kind,
                                   const QString& value, const QString& title,
                                   const QStringList& nodes) {
        a.sendJson(broadcastJson(id, kind, value, title));
        QJsonObject report;
        (void)QTest::qWaitFor([&] { return !(report = reportFor(a, id, nodes)).isEmpty(); }, 10000);
        qsizetype ackAt = -1, reportAt = -1; // the ack comes first, at once
        for (qsizetype i = a.events().size() - 1; i >= 0; --i)
            if (str(a.events()[i], "id") == id)
                (str(a.events()[i], "event") == QLatin1String("ack") ? ackAt : reportAt) = i;
        return ackAt >= 0 && ackAt < reportAt ? report : QJsonObject{};
    }

    // Sends {"event": event, "limit": limit} and returns `field` of the answer (same event name).
    QJsonArray ask(WsClient& a, const QString& event, int limit, const char* field) {
        const int from = static_cast<int>(a.events().size());
        a.sendJson({{QStringLiteral("event"), event}, {QStringLiteral("limit"), limit}});
        return a.waitFor(event, 10000, from).value(QLatin1String(field)).toArray();
    }
    QJsonArray streamsVia(WsClient& a, int limit) {
        return ask(a, QStringLiteral("streams"), limit, "streams");
    }
    QJsonArray auditVia(WsClient& a) { return ask(a, QStringLiteral("audit"), 50, "entries"); }

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
            QTRY_VERIFY_WITH_TIMEOUT(apiCluster(*n)
                                             .value(QLatin1String("totals"))
                                             .toObject()
                                             .value(QLatin1String("nodes"))
                                             .toInteger() == 2,
                                     15000);
    }

    void cleanupTestCase() {
        single_.reset(); // each stops its process
        n1_.reset();
        n2_.reset();
        redis_.reset();
    }

    // ---- single node, embedded broker ----

    void wrongAdminTokenIsRefusedWith4001() {
        for (const QString& token :
             {QStringLiteral("nope"), QStringLiteral("ops"), QStringLiteral("ops:ops-secret")}) {
            WsClient c;
            QVERIFY(!c.open(single_->wsUrl(QStringLiteral("/admin?token=") + token)));
            QVERIFY(c.waitForClosed());
            QCOMPARE(c.closeCode(), 4001);
            QVERIFY2(c.closeReason().contains(QLatin1String("wrong admin token")),
                     qPrintable(c.closeReason()));
        }
        // Named and bare tokens both work; the welcome names the admin.
        auto named = admin(*single_);
        auto bare = admin(*single_, QStringLiteral("bare-secret"));
        QVERIFY(named && bare);
        QCOMPARE(str(named->events().first(), "user"), QStringLiteral("ops"));
        QCOMPARE(str(bare->events().first(), "user"), QStringLiteral("admin"));
        // The first snapshot comes right after the welcome, not a second later.
        QVERIFY(!named->waitFor(QStringLiteral("cluster")).isEmpty());
        QCOMPARE(str(named->events().at(1), "event"), QStringLiteral("cluster"));
        // Admin sessions are not users: they do not count as online users.
        QTRY_COMPARE(num(apiCluster(*single_).value(QLatin1String("totals")).toObject(), "users"),
                     0);
        // Unknown and malformed admin commands get the normal error event.
        named->send(R"({"event":"explode"})");
        QCOMPARE(str(named->waitFor(QStringLiteral("error")), "code"),
                 QStringLiteral("unknown_event"));
        const int from = static_cast<int>(named->events().size());
        named->send(R"({"event":"drain"})");
        QCOMPARE(str(named->waitFor(QStringLiteral("error"), 10000, from), "code"),
                 QStringLiteral("bad_request"));
        named->send(R"({"event":"ping"})");
        QVERIFY(!named->waitFor(QStringLiteral("pong")).isEmpty());
    }

    void singleNodeSnapshotMatchesApiCluster() {
        auto a = admin(*single_);
        auto u = user(*single_, QStringLiteral("alice"), {QStringLiteral("news")});
        QVERIFY(a && u);
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                const QJsonObject snap = latest(*a, QStringLiteral("cluster"));
                const QJsonObject api = apiCluster(*single_);
                const QJsonObject totals = snap.value(QLatin1String("totals")).toObject();
                const QJsonObject apiTotals = api.value(QLatin1String("totals")).toObject();
                const auto rows = rowsOf(snap);
                return totals == apiTotals && num(totals, "connections") == 1 &&
                       num(totals, "users") == 1 && rows.size() == 1 &&
                       num(rows.value(QStringLiteral("solo")), "connections") == 1 &&
                       num(rows.value(QStringLiteral("solo")), "subscriptions") ==
                           num(api.value(QLatin1String("node")).toObject(), "subscriptions") &&
                       str(rows.value(QStringLiteral("solo")), "state") ==
                           QLatin1String("serving") &&
                       num(rows.value(QStringLiteral("solo")), "started_at_ms") > 0;
            }(),
            10000);
    }

    void singleNodeBroadcastTargets() {
        auto a = admin(*single_);
        auto alice = user(*single_, QStringLiteral("alice"), {QStringLiteral("news")});
        auto bob = user(*single_, QStringLiteral("bob"));
        QVERIFY(a && alice && bob);
        QJsonObject r = broadcastAndReport(*a, QStringLiteral("s1"), QStringLiteral("stream"),
                                           QStringLiteral("news"), QStringLiteral("to news"),
                                           {QStringLiteral("solo")});
        QCOMPARE(num(r.value(QLatin1String("nodes")).toObject(), "solo"), 1);
        QCOMPARE(num(r, "delivered"), 1);
        QVERIFY(!str(r, "message_id").isEmpty());
        QTRY_COMPARE(systemEvents(*alice, QStringLiteral("to news")), 1);
        r = broadcastAndReport(*a, QStringLiteral("s2"), QStringLiteral("user"),
                               QStringLiteral("bob"), QStringLiteral("to bob"),
                               {QStringLiteral("solo")});
        QCOMPARE(num(r, "delivered"), 1);
        QTRY_COMPARE(systemEvents(*bob, QStringLiteral("to bob")), 1);
        r = broadcastAndReport(*a, QStringLiteral("s3"), QStringLiteral("all"), QString(),
                               QStringLiteral("to all"), {QStringLiteral("solo")});
        QVERIFY(num(r, "delivered") >= 2); // alice, bob (and any other client still open)
        QTRY_COMPARE(systemEvents(*bob, QStringLiteral("to all")), 1);
        QCOMPARE(systemEvents(*alice, QStringLiteral("to bob")), 0);
        QCOMPARE(systemEvents(*bob, QStringLiteral("to news")), 0);
        // A bad target is an error, not an ack.
        a->sendJson(broadcastJson(QStringLiteral("s4"), QStringLiteral("node"),
                                  QStringLiteral("nowhere"), QStringLiteral("x")));
        QCOMPARE(str(a->waitFor(QStringLiteral("error")), "code"), QStringLiteral("not_found"));
    }

    void singleNodeAuditInMemory() {
        auto a = admin(*single_, QStringLiteral("bare-secret"));
        QVERIFY(a);
        const QJsonArray entries = auditVia(*a);
        QVERIFY(entries.size() >= 3);
        const QJsonObject newest = entries.first().toObject();
        QCOMPARE(str(newest, "action"), QStringLiteral("broadcast"));
        QCOMPARE(str(newest, "who"), QStringLiteral("ops"));
        QCOMPARE(str(newest, "target"), QStringLiteral("all"));
        QCOMPARE(str(newest, "detail"), QStringLiteral("to all"));
        QVERIFY(num(newest, "at_ms") >= num(entries.at(1).toObject(), "at_ms"));
        QCOMPARE(str(entries.at(2).toObject(), "target"), QStringLiteral("stream:public.news"));
    }

    // ---- two nodes over Redis ----

    void clusterSnapshotListsBothNodes() {
        auto a = admin(*n1_);
        auto u1 = user(*n1_, QStringLiteral("carol"));
        auto u2 = user(*n2_, QStringLiteral("carol"));
        auto u3 = user(*n2_, QStringLiteral("dave"));
        QVERIFY(a && u1 && u2 && u3);
        // 3 connections (the admin is not counted), 2 users (carol on both nodes counts once).
        const bool converged = QTest::qWaitFor(
            [&] {
                const QJsonObject snap = latest(*a, QStringLiteral("cluster"));
                const QJsonObject api = apiCluster(*n1_);
                const auto rows = rowsOf(snap);
                const auto apiRows = rowsOf(api);
                const QJsonObject totals = snap.value(QLatin1String("totals")).toObject();
                return totals == api.value(QLatin1String("totals")).toObject() &&
                       num(totals, "connections") == 3 && num(totals, "users") == 2 &&
                       num(totals, "nodes") == 2 && rows.size() == 2 &&
                       num(rows.value(QStringLiteral("n1")), "connections") == 1 &&
                       num(rows.value(QStringLiteral("n2")), "connections") == 2 &&
                       num(rows.value(QStringLiteral("n2")), "users") ==
                           num(apiRows.value(QStringLiteral("n2")), "users") &&
                       str(rows.value(QStringLiteral("n2")), "address") ==
                           str(apiRows.value(QStringLiteral("n2")), "address");
            },
            15000);
        const QByteArray seen =
            QJsonDocument(latest(*a, QStringLiteral("cluster"))).toJson(QJsonDocument::Compact) +
            QByteArray("\n") + QJsonDocument(apiCluster(*n1_)).toJson(QJsonDocument::Compact);
        QVERIFY2(converged, seen.constData());
    }

    void broadcastAcrossNodesReportsPerNode() {
        auto a = admin(*n1_);
        auto watcher = user(*n2_, QStringLiteral("erin"), {QStringLiteral("alerts")});
        auto c1 = user(*n1_, QStringLiteral("frank"));
        auto c2a = user(*n2_, QStringLiteral("frank"));
        auto other = user(*n2_, QStringLiteral("gina"));
        QVERIFY(a && watcher && c1 && c2a && other);
        const QStringList both{QStringLiteral("n1"), QStringLiteral("n2")};

        QJsonObject r = broadcastAndReport(*a, QStringLiteral("c1"), QStringLiteral("stream"),
                                           QStringLiteral("alerts"), QStringLiteral("alert"), both);
        QVERIFY2(!r.isEmpty(), "no report naming both nodes");
        QVERIFY(num(r.value(QLatin1String("nodes")).toObject(), "n2") >= 1);
        QCOMPARE(num(r.value(QLatin1String("nodes")).toObject(), "n1"), 0);
        QTRY_COMPARE(systemEvents(*watcher, QStringLiteral("alert")), 1);
        QCOMPARE(str(watcher->eventsOf(QStringLiteral("system")).first(), "id"),
                 str(r, "message_id"));

        r = broadcastAndReport(*a, QStringLiteral("c2"), QStringLiteral("user"),
                               QStringLiteral("frank"), QStringLiteral("hi frank"), both);
        QCOMPARE(num(r.value(QLatin1String("nodes")).toObject(), "n1"), 1);
        QCOMPARE(num(r.value(QLatin1String("nodes")).toObject(), "n2"), 1);
        QTRY_VERIFY(systemEvents(*c1, QStringLiteral("hi frank")) == 1 &&
                    systemEvents(*c2a, QStringLiteral("hi frank")) == 1);

        r = broadcastAndReport(*a, QStringLiteral("c3"), QStringLiteral("node"),
                               QStringLiteral("n2"), QStringLiteral("n2 only"), both);
        QCOMPARE(num(r.value(QLatin1String("nodes")).toObject(), "n1"), 0);
        QVERIFY(num(r.value(QLatin1String("nodes")).toObject(), "n2") >= 3);
        QTRY_VERIFY(systemEvents(*other, QStringLiteral("n2 only")) == 1 &&
                    systemEvents(*watcher, QStringLiteral("n2 only")) == 1);

        // Flush: an "all" broadcast reaches everyone after the earlier ones.
        r = broadcastAndReport(*a, QStringLiteral("c4"), QStringLiteral("all"), QString(),
                               QStringLiteral("flush"), both);
        QVERIFY(!r.isEmpty());
        QTRY_VERIFY(systemEvents(*c1, QStringLiteral("flush")) == 1 &&
                    systemEvents(*other, QStringLiteral("flush")) == 1);
        QCOMPARE(systemEvents(*c1, QStringLiteral("n2 only")), 0);
        QCOMPARE(systemEvents(*other, QStringLiteral("hi frank")) +
                     systemEvents(*other, QStringLiteral("alert")),
                 0);
        QCOMPARE(systemEvents(*c1, QStringLiteral("alert")), 0);
    }

    void streamsReportSumsAcrossNodes() {
        auto a = admin(*n2_);
        auto x1 = user(*n1_, QStringLiteral("hank"),
                       {QStringLiteral("sports"), QStringLiteral("weather")});
        auto x2 = user(*n2_, QStringLiteral("ivy"), {QStringLiteral("sports")});
        auto x3 = user(*n2_, QStringLiteral("jack"), {QStringLiteral("sports")});
        QVERIFY(a && x1 && x2 && x3);
        QJsonArray list = streamsVia(*a, 2);
        QCOMPARE(list.size(), 2);
        QCOMPARE(str(list.first().toObject(), "stream"), QStringLiteral("public.sports"));
        QCOMPARE(num(list.first().toObject(), "subscribers"), 3);
        list = streamsVia(*a, 100);
        bool weather = false;
        for (const QJsonValue& v : list)
            weather = weather || (str(v.toObject(), "stream") == QLatin1String("public.weather") &&
                                  num(v.toObject(), "subscribers") == 1);
        QVERIFY(weather);
    }

    void disconnectClosesTheUserEverywhere() {
        auto a = admin(*n2_);
        auto k1 = user(*n1_, QStringLiteral("kim"));
        auto k2 = user(*n2_, QStringLiteral("kim"));
        auto bystander = user(*n1_, QStringLiteral("lee"));
        QVERIFY(a && k1 && k2 && bystander);
        a->sendJson({{QStringLiteral("event"), QStringLiteral("disconnect")},
                     {QStringLiteral("user"), QStringLiteral("kim")}});
        QCOMPARE(str(a->waitFor(QStringLiteral("ack")), "what"), QStringLiteral("disconnect"));
        for (WsClient* c : {k1.get(), k2.get()}) {
            QVERIFY(c->waitForClosed());
            QCOMPARE(c->closeCode(), 4003);
            QVERIFY(c->closeReason().contains(QLatin1String("administrator")));
        }
        bystander->send(R"({"event":"ping"})");
        QVERIFY(!bystander->waitFor(QStringLiteral("pong")).isEmpty());
    }

    void drainClosesClientsAndReportsDraining() {
        auto a = admin(*n1_);
        // Three clients on n2, closed over the 1 s drain period: at about 0, 1/3 and 2/3 s.
        RawWs onN2, second, third;
        QVERIFY(onN2.open(n2_->wsUrl(QStringLiteral("/private?token=") +
                                     QString::fromLatin1(jwtFor(QStringLiteral("mia"))))));
        QVERIFY(second.open(n2_->wsUrl(QStringLiteral("/public"))));
        QVERIFY(third.open(n2_->wsUrl(QStringLiteral("/public"))));
        auto onN1 = user(*n1_, QStringLiteral("ned"));
        QVERIFY(a && onN1);
        QCOMPARE(httpGet(n2_->httpUrl(QStringLiteral("/readyz"))).status, 200);
        a->sendJson({{QStringLiteral("event"), QStringLiteral("drain")},
                     {QStringLiteral("node"), QStringLiteral("n2")}});
        QCOMPARE(str(a->waitFor(QStringLiteral("ack")), "what"), QStringLiteral("drain"));
        QElapsedTimer sinceAck;
        sinceAck.start();
        QList<RawWs*> open{&onN2, &second, &third};
        QList<qint64> closedAt;
        QList<int> codes;
        QVERIFY(QTest::qWaitFor(
            [&] {
                for (qsizetype i = open.size() - 1; i >= 0; --i) {
                    if (open[i]->pollClose() >= 0) {
                        codes.append(open[i]->pollClose());
                        closedAt.append(sinceAck.elapsed());
                        open.removeAt(i);
                    }
                }
                return open.isEmpty();
            },
            10000));
        QCOMPARE(codes, (QList<int>{1012, 1012, 1012}));
        QVERIFY2(closedAt.first() < 500 && closedAt.last() >= 400,
                 qPrintable(QStringLiteral("closed at %1 ms and %2 ms")
                                .arg(closedAt.first())
                                .arg(closedAt.last())));
        QTRY_COMPARE(httpGet(n2_->httpUrl(QStringLiteral("/readyz"))).status, 503);
        QTRY_VERIFY_WITH_TIMEOUT(
            str(rowsOf(latest(*a, QStringLiteral("cluster"))).value(QStringLiteral("n2")),
                "state") == QLatin1String("draining"),
            10000);
        // Empty and refusing new clients (1012), still in the cluster; node 1 is untouched.
        QTRY_VERIFY_WITH_TIMEOUT(
            num(rowsOf(latest(*a, QStringLiteral("cluster"))).value(QStringLiteral("n2")),
                "connections") == 0,
            10000);
        RawWs late;
        QVERIFY(late.open(n2_->wsUrl(QStringLiteral("/public"))));
        QCOMPARE(late.closeCode(), 1012);
        QVERIFY(onN1->isOpen());
        QCOMPARE(httpGet(n1_->httpUrl(QStringLiteral("/readyz"))).status, 200);
    }

    void auditIsSharedAndSurvivesRestart() {
        auto check = [](const QJsonArray& entries) {
            QStringList actions;
            for (const QJsonValue& v : entries) {
                const QJsonObject e = v.toObject();
                if (str(e, "who") == QLatin1String("ops"))
                    actions.append(str(e, "action") + QLatin1Char(' ') + str(e, "target"));
            }
            return actions.contains(QStringLiteral("drain n2")) &&
                   actions.contains(QStringLiteral("disconnect kim")) &&
                   actions.contains(QStringLiteral("broadcast stream:public.alerts")) &&
                   actions.indexOf(QStringLiteral("drain n2")) <
                       actions.indexOf(QStringLiteral("disconnect kim"));
        };
        {
            auto a = admin(*n1_);
            QVERIFY(a);
            QVERIFY(check(auditVia(*a)));
        }
        QCOMPARE(n1_->stop(), 0);
        n1_ = std::make_unique<ServerProcess>(nodeArgs(QStringLiteral("n1"), redis_->url()));
        QString error;
        QVERIFY2(n1_->start(&error), qPrintable(error));
        auto a = admin(*n1_, QStringLiteral("bare-secret"));
        QVERIFY(a);
        QVERIFY(check(auditVia(*a)));
    }
};

QTEST_GUILESS_MAIN(AdminTest)
#include "tst_admin.moc"
