// No message lost: stream history, resume with `since` on another node, retention, producers
// publishing with history straight into Redis, and a node that misses pub/sub messages filling
// the gap from history. Real redis-server, real herald-server nodes, real WebSocket clients.

#include "tests/common/RedisProcess.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTest>
#include <memory>

using namespace herald::test;

namespace {
constexpr char kApiToken[] = "resume-api-token";
constexpr int kWaitMs = 20000;
} // namespace

class ResumeTest : public QObject {
    Q_OBJECT

    std::unique_ptr<RedisProcess> redis_;
    std::vector<std::unique_ptr<ServerProcess>> nodes_;

    ServerProcess& node(int i) { return *nodes_.at(i - 1); }

    HttpResult publish(ServerProcess& via, const QString& stream, const QJsonValue& data) {
        return httpPost(via.httpUrl(QStringLiteral("/api/publish")),
                        QJsonDocument(QJsonObject{{QStringLiteral("stream"), stream},
                                                  {QStringLiteral("data"), data}})
                            .toJson(QJsonDocument::Compact),
                        kApiToken);
    }

    // Opens a client on `on` and subscribes (with `since` when given); waits for the answer.
    std::unique_ptr<WsClient> subscriber(ServerProcess& on, const QString& stream,
                                         const QString& since = {}) {
        auto c = std::make_unique<WsClient>();
        if (!c->open(on.wsUrl(QStringLiteral("/public"))))
            return nullptr;
        QJsonObject request{{QStringLiteral("event"), QStringLiteral("subscribe")},
                            {QStringLiteral("streams"), QJsonArray{stream}}};
        if (!since.isNull())
            request.insert(QStringLiteral("since"), QJsonObject{{stream, since}});
        c->sendJson(request);
        if (c->waitFor(QStringLiteral("subscribed"), kWaitMs).isEmpty())
            return nullptr;
        return c;
    }

    static QList<int> numbers(const WsClient& c, const QString& key) {
        QList<int> out;
        for (const QJsonObject& m : c.eventsOf(QStringLiteral("message")))
            if (m.value(QLatin1String("stream")).toString() == key)
                out.append(m.value(QLatin1String("data")).toInt());
        return out;
    }
    static QList<int> range(int from, int to) {
        QList<int> out;
        for (int i = from; i <= to; ++i)
            out.append(i);
        return out;
    }
    static QString lastId(const WsClient& c) {
        const auto messages = c.eventsOf(QStringLiteral("message"));
        return messages.isEmpty() ? QString()
                                  : messages.last().value(QLatin1String("id")).toString();
    }
    static QJsonObject subscribedOf(const WsClient& c) {
        return c.eventsOf(QStringLiteral("subscribed")).value(0);
    }

    int redisCli(const QStringList& args, QByteArray* out = nullptr) {
        QProcess cli;
        cli.start(QStringLiteral("redis-cli"),
                  QStringList{QStringLiteral("-p"), QString::number(redis_->port())} + args);
        if (!cli.waitForFinished(kWaitMs))
            return -1;
        if (out)
            *out = cli.readAllStandardOutput();
        return cli.exitCode();
    }

private Q_SLOTS:
    void initTestCase() {
        if (QStandardPaths::findExecutable(QStringLiteral("redis-cli")).isEmpty())
            QFAIL("redis-cli is missing: install redis-tools (packaging/bootstrap.sh)");
        redis_ = std::make_unique<RedisProcess>();
        QString error;
        QVERIFY2(redis_->start(&error), qPrintable(error));
        for (int i = 1; i <= 2; ++i) {
            nodes_.push_back(std::make_unique<ServerProcess>(QStringList{
                QStringLiteral("--redis-url"), redis_->url(), QStringLiteral("--node-id"),
                QStringLiteral("n%1").arg(i), QStringLiteral("--api-tokens"),
                QString::fromLatin1(kApiToken), QStringLiteral("--history"),
                QStringLiteral("public.*:500:1h,public.short:10:1h,public.live:0:1s")}));
            QVERIFY2(nodes_.back()->start(&error), qPrintable(error));
        }
        for (int i = 1; i <= 2; ++i)
            QTRY_VERIFY_WITH_TIMEOUT(
                httpGet(node(i).httpUrl(QStringLiteral("/readyz"))).status == 200, kWaitMs);
    }

    void cleanupTestCase() {
        for (auto& n : nodes_)
            n->stop();
        if (redis_)
            redis_->stop();
    }

    void resumeOnAnotherNodeGetsExactlyWhatWasMissed() {
        auto first = subscriber(node(1), QStringLiteral("news"));
        QVERIFY(first);
        QCOMPARE(publish(node(1), QStringLiteral("news"), 0).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*first, QStringLiteral("public.news")).size(), 1,
                                  kWaitMs);
        const QString seen = lastId(*first);
        QVERIFY2(QRegularExpression(QStringLiteral("^\\d+-\\d+$")).match(seen).hasMatch(),
                 qPrintable(seen));
        first.reset(); // gone: a network blip, a node killed, a deploy

        for (int i = 1; i <= 100; ++i)
            QCOMPARE(publish(node(2), QStringLiteral("news"), i).status, 200);

        auto again = subscriber(node(2), QStringLiteral("news"), seen);
        QVERIFY(again);
        const QJsonObject answer = subscribedOf(*again);
        QCOMPARE(
            answer.value(QLatin1String("recovered")).toObject().value(QLatin1String("public.news")),
            QJsonValue(true));
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*again, QStringLiteral("public.news")).size(), 100,
                                  kWaitMs);
        QCOMPARE(numbers(*again, QStringLiteral("public.news")), range(1, 100));
        // The position in the answer is the newest id, the one the replay ends with.
        QCOMPARE(answer.value(QLatin1String("positions"))
                     .toObject()
                     .value(QLatin1String("public.news"))
                     .toString(),
                 lastId(*again));
        // Then live, with no gap and no duplicate.
        QCOMPARE(publish(node(1), QStringLiteral("news"), 101).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*again, QStringLiteral("public.news")), range(1, 101),
                                  kWaitMs);
    }

    void positionLetsAQuietClientResume() {
        // Subscribed, nothing arrived, gone: the answer's position is where to resume from.
        auto quiet = subscriber(node(1), QStringLiteral("quiet"));
        QVERIFY(quiet);
        const QString position = subscribedOf(*quiet)
                                     .value(QLatin1String("positions"))
                                     .toObject()
                                     .value(QLatin1String("public.quiet"))
                                     .toString(QStringLiteral("missing"));
        QCOMPARE(position, QString()); // nothing was ever published to it
        QVERIFY(numbers(*quiet, QStringLiteral("public.quiet")).isEmpty());
        quiet.reset();
        for (int i = 1; i <= 3; ++i)
            QCOMPARE(publish(node(1), QStringLiteral("quiet"), i).status, 200);
        auto later = subscriber(node(2), QStringLiteral("quiet"));
        QVERIFY(later);
        const QString now = subscribedOf(*later)
                                .value(QLatin1String("positions"))
                                .toObject()
                                .value(QLatin1String("public.quiet"))
                                .toString();
        QVERIFY(!now.isEmpty());
        later.reset();
        QCOMPARE(publish(node(2), QStringLiteral("quiet"), 4).status, 200);
        auto resumed = subscriber(node(1), QStringLiteral("quiet"), now);
        QVERIFY(resumed);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*resumed, QStringLiteral("public.quiet")), QList<int>{4},
                                  kWaitMs);
        QCOMPARE(subscribedOf(*resumed)
                     .value(QLatin1String("recovered"))
                     .toObject()
                     .value(QLatin1String("public.quiet")),
                 QJsonValue(true));
    }

    void positionOlderThanTheRetentionIsNotRecovered() {
        auto c = subscriber(node(1), QStringLiteral("short"));
        QVERIFY(c);
        QCOMPARE(publish(node(1), QStringLiteral("short"), 0).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*c, QStringLiteral("public.short")).size(), 1, kWaitMs);
        const QString old = lastId(*c);
        c.reset();
        for (int i = 1; i <= 300; ++i)
            QCOMPARE(publish(node(2), QStringLiteral("short"), i).status, 200);
        auto late = subscriber(node(2), QStringLiteral("short"), old);
        QVERIFY(late);
        QCOMPARE(subscribedOf(*late)
                     .value(QLatin1String("recovered"))
                     .toObject()
                     .value(QLatin1String("public.short")),
                 QJsonValue(false));
        // What is still kept is replayed, in order, up to the newest.
        QTRY_VERIFY_WITH_TIMEOUT(!numbers(*late, QStringLiteral("public.short")).isEmpty() &&
                                     numbers(*late, QStringLiteral("public.short")).last() == 300,
                                 kWaitMs);
        const QList<int> kept = numbers(*late, QStringLiteral("public.short"));
        QVERIFY2(kept.size() >= 10 && kept.size() < 300, qPrintable(QString::number(kept.size())));
        QCOMPARE(kept, range(300 - int(kept.size()) + 1, 300));
        QVERIFY(httpGet(node(2).httpUrl(QStringLiteral("/metrics")))
                    .body.contains("herald_resumes_incomplete_total 1"));
    }

    void sinceThatIsNoPositionIsNotRecovered() {
        for (const QString& bogus :
             {QStringLiteral("not-an-id"), QStringLiteral("99999999999999-0")}) {
            auto c = subscriber(node(1), QStringLiteral("news"), bogus);
            QVERIFY(c);
            QCOMPARE(subscribedOf(*c)
                         .value(QLatin1String("recovered"))
                         .toObject()
                         .value(QLatin1String("public.news")),
                     QJsonValue(false));
        }
        // A stream that keeps no history cannot recover either, and says so.
        auto live = subscriber(node(1), QStringLiteral("live"), QStringLiteral("1-0"));
        QVERIFY(live);
        const QJsonObject answer = subscribedOf(*live);
        QCOMPARE(
            answer.value(QLatin1String("recovered")).toObject().value(QLatin1String("public.live")),
            QJsonValue(false));
        QVERIFY(!answer.value(QLatin1String("positions"))
                     .toObject()
                     .contains(QLatin1String("public.live")));
    }

    void producersPublishWithHistoryStraightIntoRedis() {
        auto c = subscriber(node(2), QStringLiteral("direct"));
        QVERIFY(c);
        const QString start = subscribedOf(*c)
                                  .value(QLatin1String("positions"))
                                  .toObject()
                                  .value(QLatin1String("public.direct"))
                                  .toString();
        // A resume racing a producer: 200 publishes by FCALL while a second client resumes
        // from the position before them. Both must end with all 200, in order, once each.
        QProcess producer;
        producer.start(QStringLiteral("/bin/sh"),
                       {QStringLiteral("-c"),
                        QStringLiteral("for i in $(seq 1 200); do redis-cli -p %1 FCALL "
                                       "herald_publish 1 '{herald:public.direct}:history' $i "
                                       ">/dev/null || exit 1; done")
                            .arg(redis_->port())});
        QVERIFY(producer.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(numbers(*c, QStringLiteral("public.direct")).size() >= 20,
                                 kWaitMs);
        auto resumer = subscriber(node(1), QStringLiteral("direct"), start);
        QVERIFY(resumer);
        QVERIFY(producer.waitForFinished(60000));
        QCOMPARE(producer.exitCode(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*c, QStringLiteral("public.direct")), range(1, 200),
                                  kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*resumer, QStringLiteral("public.direct")), range(1, 200),
                                  kWaitMs);
        // A plain PUBLISH still works, live only.
        QCOMPARE(redisCli({QStringLiteral("PUBLISH"), QStringLiteral("herald:public.direct"),
                           QStringLiteral("201")}),
                 0);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*resumer, QStringLiteral("public.direct")), range(1, 201),
                                  kWaitMs);
    }

    void nodeThatMissesPubSubFillsTheGap() {
        auto on1 = subscriber(node(1), QStringLiteral("gap"));
        auto on2 = subscriber(node(2), QStringLiteral("gap"));
        QVERIFY(on1 && on2);
        QCOMPARE(publish(node(1), QStringLiteral("gap"), 1).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*on2, QStringLiteral("public.gap")), QList<int>{1},
                                  kWaitMs);
        // Cut every node's subscriber link: messages published until they resubscribe never
        // reach them on pub/sub. Publishing goes on through the command links.
        QByteArray killed;
        QCOMPARE(redisCli({QStringLiteral("CLIENT"), QStringLiteral("KILL"), QStringLiteral("TYPE"),
                           QStringLiteral("pubsub")},
                          &killed),
                 0);
        QVERIFY2(killed.trimmed().toInt() >= 2, killed.constData());
        for (int i = 2; i <= 60; ++i)
            QCOMPARE(publish(node(1), QStringLiteral("gap"), i).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*on1, QStringLiteral("public.gap")), range(1, 60),
                                  kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*on2, QStringLiteral("public.gap")), range(1, 60),
                                  kWaitMs);
        QCOMPARE(publish(node(2), QStringLiteral("gap"), 61).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*on1, QStringLiteral("public.gap")), range(1, 61),
                                  kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*on2, QStringLiteral("public.gap")), range(1, 61),
                                  kWaitMs);
    }

    void embeddedNodeResumesTheSameWay() {
        ServerProcess single({QStringLiteral("--api-tokens"), QString::fromLatin1(kApiToken)});
        QString error;
        QVERIFY2(single.start(&error), qPrintable(error));
        auto c = subscriber(single, QStringLiteral("solo"));
        QVERIFY(c);
        for (int i = 1; i <= 5; ++i)
            QCOMPARE(publish(single, QStringLiteral("solo"), i).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*c, QStringLiteral("public.solo")), range(1, 5), kWaitMs);
        const QString seen = lastId(*c);
        c.reset();
        for (int i = 6; i <= 10; ++i)
            QCOMPARE(publish(single, QStringLiteral("solo"), i).status, 200);
        auto again = subscriber(single, QStringLiteral("solo"), seen);
        QVERIFY(again);
        QCOMPARE(subscribedOf(*again)
                     .value(QLatin1String("recovered"))
                     .toObject()
                     .value(QLatin1String("public.solo")),
                 QJsonValue(true));
        QTRY_COMPARE_WITH_TIMEOUT(numbers(*again, QStringLiteral("public.solo")), range(6, 10),
                                  kWaitMs);
    }
};

QTEST_MAIN(ResumeTest)
#include "tst_resume.moc"
