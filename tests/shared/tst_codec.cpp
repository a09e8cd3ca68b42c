// The protocol codec: every decoder error maps to a named code with a readable message, and
// every message type survives an encode/decode round trip.

#include "shared/Codec.h"
#include "shared/JsonNumbers.h"
#include "shared/Limits.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <limits>

using namespace herald;

Q_DECLARE_METATYPE(herald::ErrorCode)

class CodecTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void clientErrors_data() {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<ErrorCode>("code");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("empty") << QByteArray() << ErrorCode::BadJson << "malformed JSON";
        QTest::newRow("truncated")
            << QByteArray(R"({"event":"ping")") << ErrorCode::BadJson << "offset";
        QTest::newRow("trailing garbage")
            << QByteArray(R"({"event":"ping"} x)") << ErrorCode::BadJson << "malformed";
        QTest::newRow("array") << QByteArray("[1]") << ErrorCode::BadRequest << "object";
        QTest::newRow("no event") << QByteArray("{}") << ErrorCode::BadRequest << "\"event\"";
        QTest::newRow("event not string")
            << QByteArray(R"({"event":5})") << ErrorCode::BadRequest << "string";
        QTest::newRow("unknown event")
            << QByteArray(R"({"event":"dance"})") << ErrorCode::UnknownEvent << "dance";
        QTest::newRow("no streams")
            << QByteArray(R"({"event":"subscribe"})") << ErrorCode::BadRequest << "streams";
        QTest::newRow("streams not array") << QByteArray(R"({"event":"subscribe","streams":"a"})")
                                           << ErrorCode::BadRequest << "array";
        QTest::newRow("streams empty") << QByteArray(R"({"event":"unsubscribe","streams":[]})")
                                       << ErrorCode::BadRequest << "empty";
        QTest::newRow("stream not string") << QByteArray(R"({"event":"subscribe","streams":[1]})")
                                           << ErrorCode::BadRequest << "strings";
        QTest::newRow("since not object")
            << QByteArray(R"({"event":"subscribe","streams":["a"],"since":[]})")
            << ErrorCode::BadRequest << "since";
        QTest::newRow("since id not string")
            << QByteArray(R"({"event":"subscribe","streams":["a"],"since":{"a":1}})")
            << ErrorCode::BadRequest << "since";
    }
    void clientErrors() {
        QFETCH(QByteArray, json);
        QFETCH(ErrorCode, code);
        QFETCH(QString, mentions);
        const auto decoded = codec::decodeClientMessage(json);
        QVERIFY(std::holds_alternative<Error>(decoded));
        const Error& e = std::get<Error>(decoded);
        QCOMPARE(errorCodeName(e.code), errorCodeName(code));
        QVERIFY2(e.message.contains(mentions), qPrintable(e.message));
    }

    void clientRoundTrip() {
        const QList<ClientMessage> messages = {
            SubscribeRequest{{QStringLiteral("a"), QStringLiteral("private.b")},
                             {{QStringLiteral("a"), QStringLiteral("id-1")}}},
            UnsubscribeRequest{{QStringLiteral("a")}},
            PingRequest{},
        };
        for (const ClientMessage& m : messages) {
            const auto decoded = codec::decodeClientMessage(codec::encode(m));
            QVERIFY(std::holds_alternative<ClientMessage>(decoded));
            QVERIFY(std::get<ClientMessage>(decoded) == m);
        }
    }

    void duplicateStreamsCollapse() {
        const auto decoded =
            codec::decodeClientMessage(R"({"event":"subscribe","streams":["a","a","b"]})");
        const auto& request = std::get<SubscribeRequest>(std::get<ClientMessage>(decoded));
        QCOMPARE(request.streams, (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
    }

    void serverRoundTrip() {
        const QList<ServerMessage> messages = {
            WelcomeEvent{QStringLiteral("n1"), QStringLiteral("s1"), QStringLiteral("u1"), 1},
            WelcomeEvent{QStringLiteral("n1"), QStringLiteral("s2"), QString(), 1},
            SubscribedEvent{{QStringLiteral("public.a")}, {}, {}},
            SubscribedEvent{
                {QStringLiteral("public.a"), QStringLiteral("public.b")},
                {{QStringLiteral("public.a"), QStringLiteral("17-0")},
                 {QStringLiteral("public.b"), QString()}},
                {{QStringLiteral("public.a"), true}, {QStringLiteral("public.b"), false}}},
            UnsubscribedEvent{{QStringLiteral("public.a")}},
            MessageEvent{QStringLiteral("public.a"), QStringLiteral("id"),
                         QJsonObject{{QStringLiteral("k"), 1}}},
            SystemEvent{QStringLiteral("id"),
                        {QStringLiteral("T"), QStringLiteral("B"), Level::Critical}},
            SystemEvent{QStringLiteral("id"),
                        {QStringLiteral("T"), QStringLiteral("B"), Level::Info},
                        1795386060000},
            WithdrawnEvent{QStringLiteral("id")},
            OnlineEvent{12, 7},
            ErrorEvent{{ErrorCode::Forbidden, QStringLiteral("no")}, QStringLiteral("private.x.y")},
            PongEvent{},
        };
        for (const ServerMessage& m : messages) {
            const QByteArray json = codec::encode(m);
            const auto decoded = codec::decodeServerMessage(json);
            QVERIFY2(std::holds_alternative<ServerMessage>(decoded), json.constData());
            QVERIFY2(std::get<ServerMessage>(decoded) == m, json.constData());
        }
        // Anonymous is null on the wire, not an empty string.
        QVERIFY(codec::encode(WelcomeEvent{QStringLiteral("n"), QStringLiteral("s"), {}, 1})
                    .contains(R"("user":null)"));
    }

    // A broadcast's "ttl": a duration string or whole seconds; anything else is said plainly.
    void broadcastTtl() {
        const auto sticky = codec::decodeBroadcastRequest(R"({"title":"T","ttl":"2h"})");
        QCOMPARE(std::get<BroadcastRequest>(sticky).ttlMs, 7'200'000);
        QVERIFY(codec::encode(std::get<BroadcastRequest>(sticky)).contains(R"("ttl":"2h")"));
        const auto seconds = codec::decodeBroadcastRequest(R"({"title":"T","ttl":90})");
        QCOMPARE(std::get<BroadcastRequest>(seconds).ttlMs, 90'000);
        QCOMPARE(
            std::get<BroadcastRequest>(codec::decodeBroadcastRequest(R"({"title":"T"})")).ttlMs, 0);
        for (const char* bad : {R"({"title":"T","ttl":"2 hours"})", R"({"title":"T","ttl":"8d"})",
                                R"({"title":"T","ttl":0})", R"({"title":"T","ttl":1.5})",
                                R"({"title":"T","ttl":true})", R"({"title":"T","ttl":"0s"})"}) {
            const auto decoded = codec::decodeBroadcastRequest(bad);
            QVERIFY2(std::holds_alternative<Error>(decoded), bad);
            QCOMPARE(std::get<Error>(decoded).code, ErrorCode::BadRequest);
            QVERIFY2(std::get<Error>(decoded).message.contains(QLatin1String("\"ttl\"")), bad);
        }
    }

    // A count too large for qint64 saturates instead of being cast (undefined behaviour).
    void onlineCountsSaturate() {
        const auto decoded =
            codec::decodeServerMessage(R"({"event":"online","connections":1e300,"users":1e19})");
        QVERIFY(std::holds_alternative<ServerMessage>(decoded));
        const auto* online = std::get_if<OnlineEvent>(&std::get<ServerMessage>(decoded));
        QVERIFY(online);
        QCOMPARE(online->connections, std::numeric_limits<qint64>::max());
        QCOMPARE(online->users, std::numeric_limits<qint64>::max());
    }

    void saturatingIntegers() {
        constexpr qint64 kMax = std::numeric_limits<qint64>::max();
        constexpr qint64 kMin = std::numeric_limits<qint64>::min();
        QCOMPARE(saturatingInteger(1.9), qint64(1));
        QCOMPARE(saturatingInteger(-1.9), qint64(-1));
        QCOMPARE(saturatingInteger(9007199254740992.0), qint64(9007199254740992));
        QCOMPARE(saturatingInteger(9223372036854774784.0), qint64(9223372036854774784)); // < 2^63
        QCOMPARE(saturatingInteger(9223372036854775808.0), kMax);                        // 2^63
        QCOMPARE(saturatingInteger(-9223372036854775808.0), kMin);                       // -2^63
        QCOMPARE(saturatingInteger(-1e300), kMin);
        QCOMPARE(saturatingInteger(std::numeric_limits<double>::infinity()), kMax);
        QCOMPARE(saturatingInteger(std::numeric_limits<double>::quiet_NaN()), qint64(0));
    }

    void everyErrorCodeHasAStableName() {
        QSet<QString> names;
        for (ErrorCode code : allErrorCodes()) {
            const QString name = errorCodeName(code);
            QVERIFY(!names.contains(name));
            names.insert(name);
            ErrorCode back{};
            QVERIFY(errorCodeFromName(name, &back));
            QCOMPARE(back, code);
        }
        QCOMPARE(errorCodeName(ErrorCode::Forbidden), QStringLiteral("forbidden"));
        QCOMPARE(errorCodeName(ErrorCode::TooLarge), QStringLiteral("too_large"));
        QCOMPARE(errorCodeName(ErrorCode::BadRequest), QStringLiteral("bad_request"));
        ErrorCode unused{};
        QVERIFY(!errorCodeFromName(QStringLiteral("nope"), &unused));
    }

    void publishRequests_data() {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("object data")
            << QByteArray(R"({"stream":"a","data":{"x":1}})") << true << "";
        QTest::newRow("null data") << QByteArray(R"({"stream":"a","data":null})") << true << "";
        QTest::newRow("with user")
            << QByteArray(R"({"stream":"a","user":"u","data":1})") << true << "";
        QTest::newRow("no data") << QByteArray(R"({"stream":"a"})") << false << "data";
        QTest::newRow("no stream") << QByteArray(R"({"data":1})") << false << "stream";
        QTest::newRow("user not string")
            << QByteArray(R"({"stream":"a","user":1,"data":1})") << false << "user";
        QTest::newRow("not json") << QByteArray("stream=a") << false << "malformed";
    }
    void publishRequests() {
        QFETCH(QByteArray, json);
        QFETCH(bool, ok);
        QFETCH(QString, mentions);
        const auto decoded = codec::decodePublishRequest(json);
        QCOMPARE(std::holds_alternative<PublishRequest>(decoded), ok);
        if (!ok)
            QVERIFY(std::get<Error>(decoded).message.contains(mentions));
        else
            QVERIFY(codec::decodePublishRequest(codec::encode(std::get<PublishRequest>(decoded))) ==
                    decoded);
    }

    void publishBatches() {
        QVERIFY(codec::isPublishBatch(" \n[{}]"));
        QVERIFY(!codec::isPublishBatch(R"({"stream":"a","data":[1]})"));
        QVERIFY(!codec::isPublishBatch(""));
        const auto decoded =
            codec::decodePublishBatch(R"([{"stream":"a","data":1}, 7, {"stream":"b"},
                                          {"stream":"c","user":"u","data":[2]}])");
        const auto& items = std::get<QList<codec::Decoded<PublishRequest>>>(decoded);
        QCOMPARE(items.size(), 4); // each item on its own, in order
        QCOMPARE(std::get<PublishRequest>(items[0]).stream, QStringLiteral("a"));
        QCOMPARE(std::get<Error>(items[1]).code, ErrorCode::BadRequest);
        QVERIFY(std::get<Error>(items[2]).message.contains(QLatin1String("data")));
        QCOMPARE(std::get<PublishRequest>(items[3]).user, QStringLiteral("u"));
        QCOMPARE(std::get<Error>(codec::decodePublishBatch("[1,")).code, ErrorCode::BadJson);
        QCOMPARE(std::get<Error>(codec::decodePublishBatch("{}")).code, ErrorCode::BadRequest);
        QByteArray full = "[" + QByteArray("1,").repeated(kMaxPublishBatchItems - 1) + "1]";
        QCOMPARE(
            std::get<QList<codec::Decoded<PublishRequest>>>(codec::decodePublishBatch(full)).size(),
            kMaxPublishBatchItems);
        full.insert(1, "1,");
        QCOMPARE(std::get<Error>(codec::decodePublishBatch(full)).code, ErrorCode::TooLarge);
    }

    void broadcastRequests_data() {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<bool>("ok");
        QTest::newRow("body only") << QByteArray(R"({"body":"hello"})") << true;
        QTest::newRow("title and level")
            << QByteArray(R"({"title":"t","level":"warning"})") << true;
        QTest::newRow("neither") << QByteArray(R"({"level":"info"})") << false;
        QTest::newRow("blank") << QByteArray(R"({"title":"  ","body":""})") << false;
        QTest::newRow("bad level") << QByteArray(R"({"body":"b","level":"panic"})") << false;
        QTest::newRow("title not string") << QByteArray(R"({"title":3})") << false;
        QTest::newRow("title too long")
            << QByteArray(R"({"title":")" + QByteArray(codec::kMaxTitleLength + 1, 't') + R"("})")
            << false;
        QTest::newRow("body too long")
            << QByteArray(R"({"body":")" + QByteArray(codec::kMaxBodyLength + 1, 'b') + R"("})")
            << false;
    }
    void broadcastRequests() {
        QFETCH(QByteArray, json);
        QFETCH(bool, ok);
        const auto decoded = codec::decodeBroadcastRequest(json);
        QCOMPARE(std::holds_alternative<BroadcastRequest>(decoded), ok);
        if (!ok)
            QCOMPARE(std::get<Error>(decoded).code, ErrorCode::BadRequest);
    }

    void httpErrorShape() {
        const QJsonObject o =
            QJsonDocument::fromJson(
                codec::encodeHttpError({ErrorCode::TooLarge, QStringLiteral("big")}))
                .object();
        QCOMPARE(o.value(QLatin1String("error")).toObject().value(QLatin1String("code")).toString(),
                 QStringLiteral("too_large"));
        QCOMPARE(
            o.value(QLatin1String("error")).toObject().value(QLatin1String("message")).toString(),
            QStringLiteral("big"));
    }
};

QTEST_APPLESS_MAIN(CodecTest)
#include "tst_codec.moc"
