// haproxy in TCP mode (packaging/haproxy/herald.cfg as shipped, on loopback ports) in front of
// two real herald-server nodes sharing a real redis-server: new clients spread over both nodes,
// the HTTP API passes through, a broadcast reaches every client, and a drained node gets no new
// clients once haproxy's health check has seen its /readyz answer 503.

#include "tests/common/HaproxyProcess.h"
#include "tests/common/RedisProcess.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QJsonDocument>
#include <QTest>
#include <memory>
#include <vector>

using namespace herald::test;

namespace {
const QByteArray kApiToken = "haproxy-api-token";
const QString kAdminToken = QStringLiteral("haproxy-admin-token");

QString nodeOf(const WsClient& c) {
    return c.events().isEmpty() ? QString()
                                : c.events().first().value(QLatin1String("node")).toString();
}
} // namespace

class HaproxyTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<RedisProcess> redis_;
    std::vector<std::unique_ptr<ServerProcess>> nodes_;
    std::unique_ptr<HaproxyProcess> haproxy_;
    std::vector<std::unique_ptr<WsClient>> clients_;

    QUrl viaHaproxy(const QString& path, const QString& scheme = QStringLiteral("ws")) const {
        return QUrl(
            QStringLiteral("%1://127.0.0.1:%2%3").arg(scheme).arg(haproxy_->port()).arg(path));
    }

    // Opens `count` clients through haproxy, one after the other (each is welcomed before the
    // next connects, so leastconn sees the previous one), and returns how many landed where.
    QMap<QString, int> connectThroughHaproxy(int count) {
        QMap<QString, int> landed;
        for (int i = 0; i < count; ++i) {
            auto c = std::make_unique<WsClient>();
            if (!c->open(viaHaproxy(QStringLiteral("/public"))) || nodeOf(*c).isEmpty())
                return {};
            landed[nodeOf(*c)]++;
            clients_.push_back(std::move(c));
        }
        return landed;
    }

    // Broadcasts through haproxy and checks every open client receives it, exactly once.
    bool broadcastReachesAllOpenClients(const QString& title) {
        const HttpResult r =
            httpPost(viaHaproxy(QStringLiteral("/api/broadcast"), QStringLiteral("http")),
                     QJsonDocument(QJsonObject{{QStringLiteral("title"), title}})
                         .toJson(QJsonDocument::Compact),
                     kApiToken);
        if (r.status != 200) {
            qWarning("broadcast answered %d: %s", r.status, r.body.constData());
            return false;
        }
        const QString id = r.json().value(QLatin1String("id")).toString();
        auto copies = [&id](const WsClient& c) {
            int n = 0;
            for (const QJsonObject& e : c.eventsOf(QStringLiteral("system")))
                n += e.value(QLatin1String("id")).toString() == id;
            return n;
        };
        for (const auto& c : clients_) {
            if (!c->isOpen())
                continue;
            if (!QTest::qWaitFor([&] { return copies(*c) > 0; }, 15000) || copies(*c) != 1) {
                qWarning("a client on %s got broadcast %s %d times", qPrintable(nodeOf(*c)),
                         qPrintable(id), copies(*c));
                return false;
            }
        }
        return true;
    }

private Q_SLOTS:
    void initTestCase() {
        redis_ = std::make_unique<RedisProcess>();
        QString error;
        QVERIFY2(redis_->start(&error), qPrintable(error));
        for (int i = 1; i <= 2; ++i) {
            nodes_.push_back(std::make_unique<ServerProcess>(QStringList{
                QStringLiteral("--redis-url"), redis_->url(), QStringLiteral("--node-id"),
                QStringLiteral("n%1").arg(i), QStringLiteral("--api-tokens"),
                QString::fromLatin1(kApiToken), QStringLiteral("--admin-tokens"),
                QStringLiteral("ops:") + kAdminToken, QStringLiteral("--heartbeat-interval"),
                QStringLiteral("500ms"), QStringLiteral("--drain-period"), QStringLiteral("2s")}));
            QVERIFY2(nodes_.back()->start(&error), qPrintable(error));
        }
        for (auto& n : nodes_)
            QTRY_VERIFY_WITH_TIMEOUT(httpGet(n->httpUrl(QStringLiteral("/readyz"))).status == 200,
                                     15000);
        haproxy_ =
            std::make_unique<HaproxyProcess>(QList<quint16>{nodes_[0]->port(), nodes_[1]->port()});
        QVERIFY2(haproxy_->start(&error), qPrintable(error));
        // Both servers pass haproxy's /readyz check.
        QTRY_VERIFY_WITH_TIMEOUT(
            haproxy_->serverStates().value(QStringLiteral("n1")) == QLatin1String("UP") &&
                haproxy_->serverStates().value(QStringLiteral("n2")) == QLatin1String("UP"),
            20000);
    }

    void cleanupTestCase() {
        clients_.clear();
        if (haproxy_)
            haproxy_->stop();
        for (auto& n : nodes_)
            n->stop();
        if (redis_)
            redis_->stop();
    }

    void clientsSpreadOverBothNodes() {
        const QMap<QString, int> landed = connectThroughHaproxy(6);
        QVERIFY2(!landed.isEmpty(), qPrintable(haproxy_->output()));
        // leastconn with connections opened one by one: an even split.
        QCOMPARE(landed.value(QStringLiteral("n1")), 3);
        QCOMPARE(landed.value(QStringLiteral("n2")), 3);
        // Each node counts its own clients: haproxy handed the connections over whole.
        for (int i = 0; i < 2; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(
                httpGet(nodes_[static_cast<size_t>(i)]->httpUrl(QStringLiteral("/metrics")))
                    .body.contains("herald_connections 3\n"),
                10000);
    }

    void broadcastThroughHaproxyReachesEveryClient() {
        QVERIFY(broadcastReachesAllOpenClients(QStringLiteral("Through haproxy")));
    }

    void drainedNodeReceivesNoNewClients() {
        ServerProcess& n1 = *nodes_[0];
        auto admin = std::make_unique<WsClient>();
        QVERIFY(admin->open(n1.wsUrl(QStringLiteral("/admin?token=") + kAdminToken)));
        admin->sendJson({{QStringLiteral("event"), QStringLiteral("drain")},
                         {QStringLiteral("node"), QStringLiteral("n1")}});
        QCOMPARE(admin->waitFor(QStringLiteral("ack")).value(QLatin1String("what")).toString(),
                 QStringLiteral("drain"));
        QTRY_COMPARE_WITH_TIMEOUT(httpGet(n1.httpUrl(QStringLiteral("/readyz"))).status, 503,
                                  10000);
        // haproxy's check (every 2 s, down after 2 failures) takes n1 out of rotation.
        QTRY_VERIFY_WITH_TIMEOUT(
            haproxy_->serverStates().value(QStringLiteral("n1")).startsWith(QLatin1String("DOWN")),
            20000);
        QCOMPARE(haproxy_->serverStates().value(QStringLiteral("n2")), QStringLiteral("UP"));

        // n1 asks its clients to go (over the 2 s drain period); n2's stay.
        for (const auto& c : clients_) {
            if (nodeOf(*c) == QLatin1String("n1"))
                QVERIFY(c->waitForClosed(15000));
            else
                QVERIFY(c->isOpen());
        }
        // Reconnecting clients, and new ones, all land on n2.
        const QMap<QString, int> landed = connectThroughHaproxy(6);
        QVERIFY2(!landed.isEmpty(), qPrintable(haproxy_->output()));
        QCOMPARE(landed.value(QStringLiteral("n1")), 0);
        QCOMPARE(landed.value(QStringLiteral("n2")), 6);
        QVERIFY(broadcastReachesAllOpenClients(QStringLiteral("After the drain")));
        int open = 0;
        for (const auto& c : clients_)
            open += c->isOpen();
        QCOMPARE(open, 9); // n2's 3 from before, and 6 new
    }
};

QTEST_GUILESS_MAIN(HaproxyTest)
#include "tst_haproxy.moc"
