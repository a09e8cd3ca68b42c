// Two herald-server nodes on one redis-server that speaks only TLS and requires client
// certificates (made by the test with openssl): a message published on one node reaches a
// client of the other, also after a Redis restart; a node given the wrong CA stays up, keeps
// retrying, logs why and says why on /readyz.

#include "tests/common/RedisProcess.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>
#include <memory>

using namespace herald::test;

namespace {
const QByteArray kApiToken = "cluster-tls-api-token";

QStringList nodeArgs(const QString& id, const QString& redisUrl) {
    return {QStringLiteral("--redis-url"),
            redisUrl,
            QStringLiteral("--node-id"),
            id,
            QStringLiteral("--api-tokens"),
            QString::fromLatin1(kApiToken),
            QStringLiteral("--heartbeat-interval"),
            QStringLiteral("500ms")};
}

int countData(const WsClient& c, const QString& stream, const QString& data) {
    int n = 0;
    for (const QJsonObject& e : c.eventsOf(QStringLiteral("message")))
        n += e.value(QLatin1String("stream")).toString() == stream &&
             e.value(QLatin1String("data")).toString() == data;
    return n;
}
} // namespace

class ClusterTlsTest : public QObject {
    Q_OBJECT
    std::unique_ptr<RedisProcess> redis_;
    std::unique_ptr<ServerProcess> n1_, n2_;

    bool ready(ServerProcess& node) {
        return httpGet(node.httpUrl(QStringLiteral("/readyz"))).status == 200;
    }
    int publish(ServerProcess& via, const QString& stream, const QString& data) {
        const QJsonObject body{{QStringLiteral("stream"), stream}, {QStringLiteral("data"), data}};
        return httpPost(via.httpUrl(QStringLiteral("/api/publish")),
                        QJsonDocument(body).toJson(QJsonDocument::Compact), kApiToken)
            .status;
    }

private Q_SLOTS:
    void initTestCase() {
        redis_ = std::make_unique<RedisProcess>(QStringList{}, RedisTls::ClientCertificate);
        QString error;
        QVERIFY2(redis_->start(&error), qPrintable(error));
        QVERIFY(redis_->url().startsWith(QLatin1String("rediss://")));
        n1_ = std::make_unique<ServerProcess>(nodeArgs(QStringLiteral("n1"), redis_->url()));
        n2_ = std::make_unique<ServerProcess>(nodeArgs(QStringLiteral("n2"), redis_->url()));
        QVERIFY2(n1_->start(&error), qPrintable(error));
        QVERIFY2(n2_->start(&error), qPrintable(error));
        QTRY_VERIFY2_WITH_TIMEOUT(ready(*n1_) && ready(*n2_), qPrintable(n1_->output()), 20000);
    }

    void cleanupTestCase() {
        n1_->stop();
        n2_->stop();
        redis_->stop();
    }

    void aMessageCrossesNodesOverTls() {
        WsClient onTwo, onOne;
        QVERIFY(onTwo.open(n2_->wsUrl(QStringLiteral("/public"))));
        QVERIFY(onOne.open(n1_->wsUrl(QStringLiteral("/public"))));
        onTwo.subscribe({QStringLiteral("news")});
        onOne.subscribe({QStringLiteral("news")});
        QVERIFY(!onTwo.waitFor(QStringLiteral("subscribed")).isEmpty());
        QVERIFY(!onOne.waitFor(QStringLiteral("subscribed")).isEmpty());
        // n2's subscription reaches Redis asynchronously: publish until the first one lands.
        QTRY_VERIFY_WITH_TIMEOUT(
            publish(*n1_, QStringLiteral("public.news"), QStringLiteral("probe")) == 200 &&
                countData(onTwo, QStringLiteral("public.news"), QStringLiteral("probe")) > 0,
            15000);
        QCOMPARE(publish(*n1_, QStringLiteral("public.news"), QStringLiteral("over-tls")), 200);
        QTRY_COMPARE_WITH_TIMEOUT(
            countData(onTwo, QStringLiteral("public.news"), QStringLiteral("over-tls")), 1, 15000);
        QTRY_COMPARE_WITH_TIMEOUT(
            countData(onOne, QStringLiteral("public.news"), QStringLiteral("over-tls")), 1, 15000);

        // Subscriptions are replayed over a new TLS session after a Redis restart.
        QString error;
        QVERIFY2(redis_->restart(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(ready(*n1_) && ready(*n2_), 20000);
        QCOMPARE(publish(*n1_, QStringLiteral("public.news"), QStringLiteral("after-restart")),
                 200);
        QTRY_COMPARE_WITH_TIMEOUT(
            countData(onTwo, QStringLiteral("public.news"), QStringLiteral("after-restart")), 1,
            15000);
        QCOMPARE(countData(onTwo, QStringLiteral("public.news"), QStringLiteral("over-tls")), 1);
        // Closed here: Qt 6.4's QWebSocket destructor leaks its close reason (LeakSanitizer).
        for (WsClient* c : {&onTwo, &onOne}) {
            c->socket().close();
            QVERIFY(c->waitForClosed());
        }
    }

    void aWrongCaIsExplainedAndRetried() {
        const QString url =
            QStringLiteral("rediss://127.0.0.1:%1?ca=%2&cert=%3&key=%4")
                .arg(redis_->port())
                .arg(redis_->otherCaFile(), redis_->clientCertFile(), redis_->clientKeyFile());
        ServerProcess n3(nodeArgs(QStringLiteral("n3"), url));
        QString error;
        QVERIFY2(n3.start(&error), qPrintable(error)); // serves its own clients meanwhile
        HttpResult readyz;
        QTRY_VERIFY_WITH_TIMEOUT((readyz = httpGet(n3.httpUrl(QStringLiteral("/readyz"))))
                                     .body.contains("TLS handshake"),
                                 15000);
        QCOMPARE(readyz.status, 503);
        const QString problems = QString::fromUtf8(
            QJsonDocument(readyz.json().value(QLatin1String("problems")).toArray()).toJson());
        QVERIFY2(problems.contains(QLatin1String("cannot connect: TLS handshake with 127.0.0.1 "
                                                 "failed: ")) &&
                     problems.contains(QLatin1String("certificate")),
                 qPrintable(problems));
        QTRY_VERIFY_WITH_TIMEOUT(
            n3.output().contains(QLatin1String("cannot connect: TLS handshake")), 10000);
        // Alive (the retries themselves are counted in tst_redis_tls) and not ready.
        QCOMPARE(n3.process().state(), QProcess::Running);
        QCOMPARE(httpGet(n3.httpUrl(QStringLiteral("/healthz"))).status, 200);
        QCOMPARE(httpGet(n3.httpUrl(QStringLiteral("/readyz"))).status, 503);
        QVERIFY(ready(*n1_) && ready(*n2_));
    }
};

QTEST_GUILESS_MAIN(ClusterTlsTest)
#include "tst_cluster_tls.moc"
