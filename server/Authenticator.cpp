#include "server/Authenticator.h"

#include <QFile>
#include <QRegularExpression>

namespace herald {
namespace {

bool anyEquals(const QByteArrayList& tokens, const QByteArray& candidate) {
    // Every configured token is compared so the time taken does not say which one matched.
    bool match = false;
    for (const QByteArray& token : tokens)
        match = constantTimeEquals(token, candidate) || match;
    return match;
}

Error unauthorized(const QString& message) {
    return {ErrorCode::Unauthorized, message};
}

// "name:token" names an admin token; a bare token is "admin". The name is 1-64 of
// [A-Za-z0-9_.@-], so a token that itself contains ':' needs a name in front of it.
QPair<QString, QByteArray> splitAdminEntry(const QByteArray& entry) {
    static const QRegularExpression name(QStringLiteral("^[A-Za-z0-9_.@-]{1,64}$"));
    const qsizetype colon = entry.indexOf(':');
    if (colon > 0 && colon + 1 < entry.size() &&
        name.match(QString::fromUtf8(entry.left(colon))).hasMatch())
        return {QString::fromUtf8(entry.left(colon)), entry.mid(colon + 1)};
    return {QStringLiteral("admin"), entry};
}

} // namespace

std::optional<Endpoint> endpointForPath(const QString& path) {
    if (path == QLatin1String("/public"))
        return Endpoint::Public;
    if (path == QLatin1String("/private"))
        return Endpoint::Private;
    if (path == QLatin1String("/admin"))
        return Endpoint::Admin;
    return std::nullopt;
}

std::variant<Authenticator, QString> Authenticator::create(const Config& config) {
    JwtConfig jwt;
    jwt.hs256Secret = config.jwtSecret;
    jwt.algorithms = config.jwtAlgorithms;
    jwt.audience = config.jwtAudience;
    jwt.issuer = config.jwtIssuer;
    jwt.leewaySeconds = config.jwtLeewaySeconds;
    jwt.requireExp = config.jwtRequireExp;
    if (!config.jwtPublicKeyFile.isEmpty()) {
        QFile file(config.jwtPublicKeyFile);
        if (!file.open(QIODevice::ReadOnly))
            return QStringLiteral("cannot read jwt_public_key_file \"%1\": %2")
                .arg(config.jwtPublicKeyFile, file.errorString());
        jwt.publicKeyPem = file.readAll();
    }
    if (jwt.hs256Secret.isEmpty() && jwt.publicKeyPem.isEmpty() && jwt.algorithms.isEmpty())
        return Authenticator(config, JwtVerifier{});
    auto verifier = JwtVerifier::create(jwt);
    if (auto* error = std::get_if<QString>(&verifier))
        return QStringLiteral("JWT settings: ") + *error;
    return Authenticator(config, std::get<JwtVerifier>(std::move(verifier)));
}

Authenticator::Authenticator(const Config& config, JwtVerifier verifier)
    : apiTokens_(config.apiTokens)
    , devMode_(config.devMode)
    , verifier_(std::move(verifier)) {
    for (const QByteArray& entry : config.adminTokens) {
        const auto [name, token] = splitAdminEntry(entry);
        adminNames_.append(name);
        adminTokens_.append(token);
    }
}

std::optional<QString> Authenticator::adminName(const QByteArray& token) const {
    if (token.isEmpty())
        return std::nullopt;
    // Every configured token is compared so the time taken does not say which one matched.
    qsizetype found = -1;
    for (qsizetype i = 0; i < adminTokens_.size(); ++i)
        if (constantTimeEquals(adminTokens_[i], token) && found < 0)
            found = i;
    if (found < 0)
        return std::nullopt;
    return adminNames_[found];
}

bool Authenticator::isApiToken(const QByteArray& token) const {
    return !token.isEmpty() && (anyEquals(apiTokens_, token) || adminName(token).has_value());
}

bool Authenticator::devLoopback(const QHostAddress& peer) const {
    return devMode_ && peer.isLoopback();
}

std::variant<Identity, Error> Authenticator::authenticateClient(Endpoint endpoint,
                                                                const QUrlQuery& query,
                                                                const QByteArray& bearer,
                                                                const QHostAddress& peer,
                                                                qint64 nowSeconds) const {
    QByteArray token = bearer;
    for (const char* key : {"auth_header", "token"}) {
        if (token.isEmpty() && query.hasQueryItem(QLatin1String(key)))
            token = query.queryItemValue(QLatin1String(key), QUrl::FullyDecoded).toUtf8();
    }
    // "auth_header" may carry the whole header value: "Bearer <jwt>".
    if (token.startsWith("Bearer ") || token.startsWith("bearer "))
        token = token.mid(7).trimmed();

    switch (endpoint) {
    case Endpoint::Public:
        return Identity{};
    case Endpoint::Private: {
        if (token.isEmpty())
            return unauthorized(QStringLiteral("/private needs a token (?auth_header=, ?token= or "
                                               "Authorization: Bearer)"));
        if (!verifier_.enabled())
            return unauthorized(
                QStringLiteral("token authentication is not configured on this node"));
        auto claims = verifier_.verify(token, nowSeconds);
        if (auto* error = std::get_if<Error>(&claims))
            return *error;
        const JwtClaims& c = std::get<JwtClaims>(claims);
        if (!streams::isValidUserId(c.subject))
            return unauthorized(QStringLiteral("the token's \"sub\" is not a valid user id"));
        return Identity{Identity::Role::User, c.subject, c.expiresAt};
    }
    case Endpoint::Admin:
        if (auto name = adminName(token))
            return Identity{Identity::Role::Admin, *name, 0};
        if (devLoopback(peer))
            return Identity{Identity::Role::Admin, QStringLiteral("dev"), 0};
        if (adminTokens_.isEmpty())
            return unauthorized(QStringLiteral(
                "no admin token is configured on this node (set HERALD_ADMIN_TOKENS or "
                "--admin-tokens there, or run it with --dev and connect from the same machine)"));
        return unauthorized(token.isEmpty() ? QStringLiteral("/admin needs an admin token")
                                            : QStringLiteral("wrong admin token"));
    }
    return unauthorized(QStringLiteral("unknown endpoint"));
}

std::optional<Error> Authenticator::authorizeApi(const QByteArray& bearer,
                                                 const QHostAddress& peer) const {
    if (isApiToken(bearer) || devLoopback(peer))
        return std::nullopt;
    if (apiTokens_.isEmpty() && adminTokens_.isEmpty())
        return unauthorized(QStringLiteral("no API token is configured on this node (set "
                                           "HERALD_API_TOKENS, or run with --dev on loopback)"));
    return unauthorized(bearer.isEmpty()
                            ? QStringLiteral("missing \"Authorization: Bearer <api token>\"")
                            : QStringLiteral("wrong API token"));
}

} // namespace herald
