// Who a caller is: named and bare admin tokens, API tokens, development mode on loopback, JWTs.

#include "server/Authenticator.h"

#include <QDateTime>
#include <QTest>

using namespace herald;

namespace {
QUrlQuery tokenQuery(const QString& token) {
    QUrlQuery q;
    q.addQueryItem(QStringLiteral("token"), token);
    return q;
}
const QHostAddress kRemote(QStringLiteral("10.1.2.3"));
} // namespace

class AuthenticatorTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void namedAndBareAdminTokens() {
        Config config;
        config.adminTokens = {"alice:secret-a", "bare-token"};
        config.apiTokens = {"api-1"};
        const auto auth = std::get<Authenticator>(Authenticator::create(config));
        const auto alice = auth.authenticateClient(
            Endpoint::Admin, tokenQuery(QStringLiteral("secret-a")), {}, kRemote, 0);
        QCOMPARE(std::get<Identity>(alice).role, Identity::Role::Admin);
        QCOMPARE(std::get<Identity>(alice).user, QStringLiteral("alice"));
        const auto bare = auth.authenticateClient(Endpoint::Admin, {}, "bare-token", kRemote, 0);
        QCOMPARE(std::get<Identity>(bare).user, QStringLiteral("admin"));
        // The name is not part of the secret.
        const auto byWhole = auth.authenticateClient(
            Endpoint::Admin, tokenQuery(QStringLiteral("alice:secret-a")), {}, kRemote, 0);
        QCOMPARE(std::get<Error>(byWhole).code, ErrorCode::Unauthorized);
        // An API token is not an admin token; an admin token works for the API.
        QVERIFY(std::holds_alternative<Error>(
            auth.authenticateClient(Endpoint::Admin, {}, "api-1", kRemote, 0)));
        QVERIFY(!auth.authorizeApi("secret-a", kRemote).has_value());
        QVERIFY(!auth.authorizeApi("api-1", kRemote).has_value());
        QCOMPARE(auth.authorizeApi("nope", kRemote)->code, ErrorCode::Unauthorized);
        QVERIFY(auth.authorizeApi({}, kRemote)->message.contains(QStringLiteral("Authorization")));
    }

    void developmentModeOnlyOnLoopback() {
        Config config;
        config.devMode = true;
        const auto auth = std::get<Authenticator>(Authenticator::create(config));
        QVERIFY(!auth.authorizeApi({}, QHostAddress::LocalHost).has_value());
        QVERIFY(auth.authorizeApi({}, kRemote).has_value());
        QVERIFY(std::holds_alternative<Identity>(
            auth.authenticateClient(Endpoint::Admin, {}, {}, QHostAddress::LocalHost, 0)));
        QVERIFY(std::holds_alternative<Error>(
            auth.authenticateClient(Endpoint::Admin, {}, {}, kRemote, 0)));
    }

    void privateEndpointTakesAJwtFromAnyPlace() {
        Config config;
        config.jwtSecret = "0123456789abcdef0123456789abcdef";
        const auto auth = std::get<Authenticator>(Authenticator::create(config));
        const qint64 now = QDateTime::currentSecsSinceEpoch();
        const QByteArray jwt = mintHs256(
            {{QStringLiteral("sub"), QStringLiteral("u42")}, {QStringLiteral("exp"), now + 60}},
            config.jwtSecret);
        QUrlQuery header;
        header.addQueryItem(QStringLiteral("auth_header"),
                            QStringLiteral("Bearer ") + QString::fromLatin1(jwt));
        for (const auto& [query, bearer] :
             {std::pair{tokenQuery(QString::fromLatin1(jwt)), QByteArray()},
              std::pair{header, QByteArray()}, std::pair{QUrlQuery(), jwt}}) {
            const auto who =
                auth.authenticateClient(Endpoint::Private, query, bearer, kRemote, now);
            QCOMPARE(std::get<Identity>(who).user, QStringLiteral("u42"));
            QCOMPARE(std::get<Identity>(who).expiresAt, now + 60);
        }
        QVERIFY(std::get<Error>(auth.authenticateClient(Endpoint::Private, {}, {}, kRemote, now))
                    .message.contains(QStringLiteral("needs a token")));
        QVERIFY(std::holds_alternative<Identity>(
            auth.authenticateClient(Endpoint::Public, {}, {}, kRemote, now)));
    }

    void badJwtSettingsAreRefusedAtStart() {
        Config config;
        config.jwtPublicKeyFile = QStringLiteral("/nonexistent/key.pem");
        QVERIFY(std::get<QString>(Authenticator::create(config))
                    .contains(QStringLiteral("jwt_public_key_file")));
        Config none;
        none.jwtAlgorithms = {QStringLiteral("none")};
        QVERIFY(std::holds_alternative<QString>(Authenticator::create(none)));
    }
};

QTEST_GUILESS_MAIN(AuthenticatorTest)
#include "tst_authenticator.moc"
