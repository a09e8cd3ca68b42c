// Batch publish on the HTTP API (issue 8): POST /api/publish with a JSON array, against a real
// herald-server, once on the embedded broker and once on a real redis-server that goes away.
// Each item travels the single publish's path; the answer lists each item's result in place.

#include "shared/JwtVerifier.h"
#include "shared/Limits.h"
#include "tests/common/RedisProcess.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTest>
#include <memory>

using namespace herald::test;

namespace {
const QByteArray kApiToken = "api-token-for-tests";
const QByteArray kJwtSecret = "jwt-secret-for-tests-0123456789abcdef";
constexpr int kWaitMs = 20000;

QJsonObject item(const QString& stream, const QJsonValue& data) {
    return {{QStringLiteral("stream"), stream}, {QStringLiteral("data"), data}};
}

QString codeOf(const QJsonValue& result) {
    return result.toObject()
        .value(QLatin1String("error"))
        .toObject()
        .value(QLatin1String("code"))
        .toString();
}

QList<QJsonObject> messagesOn(const WsClient& c, const QString& key) {
    QList<QJsonObject> out;
    for (const QJsonObject& m : c.eventsOf(QStringLiteral("message")))
        if (m.value(QLatin1String("stream")).toString() == key)
            out.append(m);
    return out;
}

// A history id "<ms>-<seq>" as a comparable pair; {-1, -1} for any other form.
std::pair<qint64, qint64> position(const QString& id) {
    static const QRegularExpression form(QStringLiteral("^(\\d+)-(\\d+)$"));
    const auto m = form.match(id);
    return m.hasMatch() ? std::pair{m.captured(1).toLongLong(), m.captured(2).toLongLong()}
                        : std::pair<qint64, qint64>{-1, -1};
}
} // namespace

class PublishBatchTest : public QObject {
    Q_OBJECT
    std::unique_ptr<ServerProcess> server_;

    struct Answer {
        int status = 0;
        QJsonArray results;
        QJsonObject error;
    };
    static Answer post(ServerProcess& to, const QByteArray& body,
                       const QByteArray& token = kApiToken) {
        const HttpResult r = httpPost(to.httpUrl(QStringLiteral("/api/publish")), body, token);
        const QJsonDocument doc = QJsonDocument::fromJson(r.body);
        return {r.status, doc.array(), doc.object().value(QLatin1String("error")).toObject()};
    }
    static Answer post(ServerProcess& to, const QJsonArray& items) {
        return post(to, QJsonDocument(items).toJson(QJsonDocument::Compact));
    }

    static std::unique_ptr<WsClient> subscriber(ServerProcess& on, const QString& path,
                                                const QStringList& streams) {
        auto c = std::make_unique<WsClient>();
        if (!c->open(on.wsUrl(path)))
            return nullptr;
        c->subscribe(streams);
        if (c->waitFor(QStringLiteral("subscribed"), kWaitMs).isEmpty())
            return nullptr;
        return c;
    }

private Q_SLOTS:
    void initTestCase() {
        server_ = std::make_unique<ServerProcess>(
            QStringList{QStringLiteral("--api-tokens"), QString::fromLatin1(kApiToken),
                        QStringLiteral("--jwt-secret"), QString::fromLatin1(kJwtSecret)});
        QString error;
        QVERIFY2(server_->start(&error), qPrintable(error));
    }

    void cleanupTestCase() { QCOMPARE(server_->stop(), 0); }

    void oneBadItemDoesNotFailTheOthers() {
        auto watcher = subscriber(*server_, QStringLiteral("/public"), {QStringLiteral("mixed")});
        QVERIFY(watcher);
        const qint64 now = QDateTime::currentSecsSinceEpoch();
        const QByteArray jwt = herald::mintHs256(
            {{QStringLiteral("sub"), QStringLiteral("alice")}, {QStringLiteral("exp"), now + 600}},
            kJwtSecret);
        auto alice = subscriber(*server_, QStringLiteral("/private?token=") + jwt,
                                {QStringLiteral("private.inbox")});
        QVERIFY(alice);

        QJsonObject forAlice = item(QStringLiteral("inbox"), QJsonObject{{"to", "alice"}});
        forAlice.insert(QStringLiteral("user"), QStringLiteral("alice"));
        const Answer a = post(*server_, QJsonArray{item(QStringLiteral("mixed"), 1),
                                                   item(QStringLiteral("no spaces"), 2),
                                                   QJsonObject{{"stream", "mixed"}}, // no data
                                                   42, item(QStringLiteral("system"), 3), forAlice,
                                                   item(QStringLiteral("mixed"), 4)});
        QCOMPARE(a.status, 200);
        QCOMPARE(a.results.size(), 7);
        const QStringList codes{codeOf(a.results[0]), codeOf(a.results[1]), codeOf(a.results[2]),
                                codeOf(a.results[3]), codeOf(a.results[4]), codeOf(a.results[5]),
                                codeOf(a.results[6])};
        QCOMPARE(codes, (QStringList{
                            {}, "bad_stream", "bad_request", "bad_request", "bad_stream", {}, {}}));
        QCOMPARE(a.results[0].toObject().value(QLatin1String("stream")).toString(),
                 QStringLiteral("public.mixed"));
        QCOMPARE(a.results[5].toObject().value(QLatin1String("stream")).toString(),
                 QStringLiteral("private.alice.inbox"));

        // Exactly the good items arrived, with the ids the answer gave, and nothing else.
        QTRY_COMPARE_WITH_TIMEOUT(messagesOn(*watcher, QStringLiteral("public.mixed")).size(), 2,
                                  kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(messagesOn(*alice, QStringLiteral("private.alice.inbox")).size(),
                                  1, kWaitMs);
        const auto mixed = messagesOn(*watcher, QStringLiteral("public.mixed"));
        QCOMPARE(mixed[0].value(QLatin1String("id")), a.results[0].toObject().value("id"));
        QCOMPARE(mixed[1].value(QLatin1String("id")), a.results[6].toObject().value("id"));
        QCOMPARE(mixed[1].value(QLatin1String("data")).toInt(), 4);
        QCOMPARE(messagesOn(*alice, QStringLiteral("private.alice.inbox"))[0].value("id"),
                 a.results[5].toObject().value("id"));
        QCOMPARE(watcher->eventsOf(QStringLiteral("message")).size(), 2);
    }

    void itemsReachSubscribersInOrder() {
        auto watcher = subscriber(*server_, QStringLiteral("/public"),
                                  {QStringLiteral("ordered"), QStringLiteral("other")});
        QVERIFY(watcher);
        QJsonArray items;
        for (int i = 0; i < 300; ++i)
            items.append(item(i % 3 ? QStringLiteral("ordered") : QStringLiteral("other"), i));
        const Answer a = post(*server_, items);
        QCOMPARE(a.status, 200);
        QCOMPARE(a.results.size(), 300);
        QTRY_COMPARE_WITH_TIMEOUT(watcher->eventsOf(QStringLiteral("message")).size(), 300,
                                  kWaitMs);
        const auto got = watcher->eventsOf(QStringLiteral("message"));
        for (int i = 0; i < 300; ++i) {
            QCOMPARE(got[i].value(QLatin1String("data")).toInt(), i);
            QCOMPARE(got[i].value(QLatin1String("id")), a.results[i].toObject().value("id"));
        }
        // Kept streams (the default history rule): ids are positions, increasing in batch order.
        const auto ordered = messagesOn(*watcher, QStringLiteral("public.ordered"));
        for (qsizetype i = 1; i < ordered.size(); ++i)
            QVERIFY2(position(ordered[i - 1].value("id").toString()) <
                         position(ordered[i].value("id").toString()),
                     qPrintable(ordered[i].value("id").toString()));
    }

    void batchSizeIsLimited() {
        auto watcher = subscriber(*server_, QStringLiteral("/public"), {QStringLiteral("limit")});
        QVERIFY(watcher);
        QJsonArray full;
        for (int i = 0; i < herald::kMaxPublishBatchItems; ++i)
            full.append(item(QStringLiteral("limit"), i));
        const Answer ok = post(*server_, full);
        QCOMPARE(ok.status, 200);
        QCOMPARE(ok.results.size(), herald::kMaxPublishBatchItems);
        for (const QJsonValue& r : ok.results)
            QVERIFY(!r.toObject().value(QLatin1String("id")).toString().isEmpty());
        QTRY_COMPARE_WITH_TIMEOUT(watcher->eventsOf(QStringLiteral("message")).size(),
                                  herald::kMaxPublishBatchItems, kWaitMs);

        full.append(item(QStringLiteral("limit"), -1));
        const Answer over = post(*server_, full);
        QCOMPARE(over.status, 413);
        QCOMPARE(over.error.value(QLatin1String("code")).toString(), QStringLiteral("too_large"));
        // Nothing of the refused batch was published: the next message is a marker.
        QCOMPARE(post(*server_, QJsonArray{item(QStringLiteral("limit"), "marker")}).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(watcher->eventsOf(QStringLiteral("message")).size(),
                                  herald::kMaxPublishBatchItems + 1, kWaitMs);
        QCOMPARE(watcher->eventsOf(QStringLiteral("message")).last().value("data").toString(),
                 QStringLiteral("marker"));
    }

    void malformedBodies() {
        const Answer cut = post(*server_, R"([{"stream":"x","data":1},)");
        QCOMPARE(cut.status, 400);
        QCOMPARE(cut.error.value(QLatin1String("code")).toString(), QStringLiteral("bad_json"));
        QVERIFY(!cut.error.value(QLatin1String("message")).toString().isEmpty());
        QCOMPARE(post(*server_, "  [1, 2").status, 400);
        // An empty batch publishes nothing and fails nothing.
        const HttpResult empty =
            httpPost(server_->httpUrl(QStringLiteral("/api/publish")), " [ ] ", kApiToken);
        QCOMPARE(empty.status, 200);
        QCOMPARE(empty.body, QByteArray("[]"));
        // The credential and method rules are the single publish's.
        QCOMPARE(post(*server_, R"([{"stream":"x","data":1}])", {}).status, 401);
        QCOMPARE(post(*server_, R"([{"stream":"x","data":1}])", "wrong").status, 401);
        // An object is still a single publish, answered with an object.
        const HttpResult single = httpPost(server_->httpUrl(QStringLiteral("/api/publish")),
                                           R"({"stream":"x","data":1})", kApiToken);
        QCOMPARE(single.status, 200);
        QVERIFY(single.json().contains(QLatin1String("id")));
    }

    void outageIsAllOrNothingPerItem() {
        // The single publish's outage rules, item by item: a kept stream's item fails and reaches
        // nobody; a live-only stream's item fails and still reaches this node's connections.
        RedisProcess redis;
        QString error;
        QVERIFY2(redis.start(&error), qPrintable(error));
        ServerProcess node({QStringLiteral("--redis-url"), redis.url(),
                            QStringLiteral("--api-tokens"), QString::fromLatin1(kApiToken),
                            QStringLiteral("--history"),
                            QStringLiteral("public.*:100:1h,public.live:0:1s")});
        QVERIFY2(node.start(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(httpGet(node.httpUrl(QStringLiteral("/readyz"))).status == 200,
                                 kWaitMs);
        auto watcher = subscriber(node, QStringLiteral("/public"),
                                  {QStringLiteral("kept"), QStringLiteral("live")});
        QVERIFY(watcher);
        const Answer before = post(
            node, QJsonArray{item(QStringLiteral("kept"), 1), item(QStringLiteral("live"), 1)});
        QCOMPARE(before.status, 200);
        QVERIFY(position(before.results[0].toObject().value("id").toString()).first > 0);
        QTRY_COMPARE_WITH_TIMEOUT(watcher->eventsOf(QStringLiteral("message")).size(), 2, kWaitMs);

        redis.stop();
        QTRY_VERIFY_WITH_TIMEOUT(httpGet(node.httpUrl(QStringLiteral("/readyz"))).status == 503,
                                 kWaitMs);
        const Answer during =
            post(node, QJsonArray{item(QStringLiteral("kept"), 2), item(QStringLiteral("live"), 2),
                                  item(QStringLiteral("bad name"), 2)});
        QCOMPARE(during.status, 200);
        QCOMPARE(codeOf(during.results[0]), QStringLiteral("unavailable"));
        QCOMPARE(codeOf(during.results[1]), QStringLiteral("unavailable"));
        QCOMPARE(codeOf(during.results[2]), QStringLiteral("bad_stream"));
        QVERIFY(during.results[1]
                    .toObject()
                    .value("error")
                    .toObject()
                    .value("message")
                    .toString()
                    .contains(QLatin1String("this node's connections only")));
        QTRY_COMPARE_WITH_TIMEOUT(messagesOn(*watcher, QStringLiteral("public.live")).size(), 2,
                                  kWaitMs);

        QVERIFY2(redis.restart(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(httpGet(node.httpUrl(QStringLiteral("/readyz"))).status == 200,
                                 kWaitMs);
        QCOMPARE(post(node, QJsonArray{item(QStringLiteral("kept"), 3)}).status, 200);
        QTRY_COMPARE_WITH_TIMEOUT(messagesOn(*watcher, QStringLiteral("public.kept")).size(), 2,
                                  kWaitMs);
        const auto kept = messagesOn(*watcher, QStringLiteral("public.kept"));
        QCOMPARE(kept[0].value("data").toInt(), 1);
        QCOMPARE(kept[1].value("data").toInt(), 3); // item 2 reached nobody
        QCOMPARE(node.stop(), 0);
    }
};

QTEST_GUILESS_MAIN(PublishBatchTest)
#include "tst_publish_batch.moc"
